"""Recipes for what the attacker leaves around compute: key pairs, launch templates, security groups
and their rules, Elastic IPs, Lambda functions, shared snapshots and AMIs.

Snapshots and AMIs are never deleted (they may be evidence or backups): shared ones are unshared.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from awsrespond.aws.errors import error_code
from awsrespond.contain.actions.ec2_network import WORLD_CIDRS, rule_permission
from awsrespond.contain.model import Phase
from awsrespond.contain.planner.builder import PlanBuilder, PlanContext, Subject, Treatment, recipe
from awsrespond.contain.planner.recipes.compute import never_touch, own_artefact

SHARED_RULES = {"AWS::EC2::Snapshot": "ec2-snapshot-shared", "AWS::EC2::Image": "ec2-image-shared"}
NOT_UNDOABLE = "deleting it cannot be undone: delete it by hand or re-plan with --suspect-as-attacker"


def _describe(pctx: PlanContext, region: str, operation: str, key: str, missing: tuple[str, ...],
              **params: Any) -> dict[str, Any] | None:
    try:
        response = getattr(pctx.client("ec2", region), operation)(**params)
    except ClientError as exc:
        if error_code(exc) not in missing:
            raise
        return None
    found: list[dict[str, Any]] = response.get(key, [])
    return found[0] if found else None


def _guard(pctx: PlanContext, builder: PlanBuilder, subject: Subject, found: dict[str, Any] | None) -> bool:
    """False (and a skip) when the resource is gone, the tool's own, or never to be touched."""
    if found is None:
        builder.skip(subject, "no longer exists")
        return False
    if own_artefact(found) or never_touch(pctx, subject.target.id, subject.target.arn):
        builder.skip(subject, "the tool's own artefact or on the never-touch list: not touched")
        return False
    return True


@recipe("AWS::EC2::KeyPair")
def key_pair(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    found = _describe(pctx, subject.target.region, "describe_key_pairs", "KeyPairs", ("InvalidKeyPair.NotFound",),
                      KeyNames=[subject.target.id])
    if not _guard(pctx, builder, subject, found):
        return
    if subject.treatment is not Treatment.REMOVE:
        builder.skip(subject, f"key pair kept: {NOT_UNDOABLE}")
        return
    builder.add(Phase.DESTROY, "ec2.delete-key-pair", subject.target, expect={"exists": True},
                post={"exists": False}, why=subject.finding_ids, reason="attacker-created key pair")


@recipe("AWS::EC2::LaunchTemplate")
def launch_template(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    found = _describe(pctx, subject.target.region, "describe_launch_templates", "LaunchTemplates",
                      ("InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateId.Malformed"),
                      LaunchTemplateIds=[subject.target.id])
    if not _guard(pctx, builder, subject, found):
        return
    if subject.treatment is not Treatment.REMOVE:
        builder.skip(subject, f"launch template kept: {NOT_UNDOABLE}")
        return
    builder.add(Phase.DESTROY, "ec2.delete-launch-template", subject.target, expect={"exists": True},
                post={"exists": False}, why=subject.finding_ids,
                reason="attacker-created launch template (after the groups and fleets that use it)")


def _group_users(pctx: PlanContext, region: str, group_id: str) -> list[str]:
    interfaces = pctx.client("ec2", region).describe_network_interfaces(
        Filters=[{"Name": "group-id", "Values": [group_id]}]).get("NetworkInterfaces", [])
    return sorted({str((eni.get("Attachment") or {}).get("InstanceId") or eni.get("NetworkInterfaceId"))
                   for eni in interfaces})


@recipe("AWS::EC2::SecurityGroup")
def security_group(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    region = subject.target.region
    found = _describe(pctx, region, "describe_security_groups", "SecurityGroups",
                      ("InvalidGroup.NotFound", "InvalidGroupId.Malformed"), GroupIds=[subject.target.id])
    if not _guard(pctx, builder, subject, found):
        return
    assert found is not None
    if subject.treatment is not Treatment.REMOVE:
        builder.skip(subject, "security group kept: only ingress rules attributed to the attacker are revoked "
                              "(their own subjects); a posture finding alone changes nothing")
        return
    if found.get("GroupName") == "default":
        builder.skip(subject, "a VPC's default security group cannot be deleted")
        return
    users = _group_users(pctx, region, subject.target.id)
    removed = {u for u in users if (s := pctx.subject("AWS::EC2::Instance", u, region)) is not None
               and s.treatment is Treatment.REMOVE}
    removed |= {s.target.id for s in builder.find("ec2.terminate-instance", region=region)}
    others = [u for u in users if u not in removed]
    if others:
        builder.note(f"security group {subject.target.id} ({region}) is also used by {', '.join(others)}: its "
                     "delete step will be refused as stale until nothing uses it")
    after = [s.id for u in users for s in builder.find("ec2.terminate-instance", target_id=u, region=region)]
    builder.add(Phase.DESTROY, "ec2.delete-security-group", subject.target, expect={"exists": True, "in_use": 0},
                post={"exists": False}, why=subject.finding_ids, after=after,
                reason="attacker-created, once no network interface uses it")


@recipe("AWS::EC2::SecurityGroupIngress")
def security_group_rule(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    region = subject.target.region
    rule = _describe(pctx, region, "describe_security_group_rules", "SecurityGroupRules",
                     ("InvalidSecurityGroupRuleId.NotFound", "InvalidSecurityGroupRuleId.Malformed"),
                     SecurityGroupRuleIds=[subject.target.id])
    if rule is None:
        builder.skip(subject, "the rule is already gone")
        return
    group_id = str(rule.get("GroupId"))
    group = pctx.subject("AWS::EC2::SecurityGroup", group_id, region)
    if group is not None and group.treatment is Treatment.REMOVE:
        builder.skip(subject, f"removed with its security group {group_id}", covered_by=group.target)
        return
    if rule.get("IsEgress"):
        builder.skip(subject, "egress rules are not revoked by this version: review it by hand")
        return
    world = rule.get("CidrIpv4") in WORLD_CIDRS or rule.get("CidrIpv6") in WORLD_CIDRS
    if subject.treatment is Treatment.NEUTRALISE or (subject.treatment is Treatment.QUARANTINE and not world):
        builder.skip(subject, "rule kept: only attacker-added rules, or suspect world-open ones, are revoked")
        return
    builder.add(Phase.DESTROY, "ec2.revoke-security-group-rule", subject.target, expect={"exists": True},
                post={"exists": False, "allowed": False}, why=subject.finding_ids,
                params={"group": group_id, "permission": rule_permission(rule)},
                reason="world-open ingress rule" if world else "ingress rule the attacker added")


@recipe("AWS::EC2::EIP")
def elastic_ip(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    region, address_id = subject.target.region, subject.target.id
    key = {"AllocationIds": [address_id]} if address_id.startswith("eipalloc-") else {"PublicIps": [address_id]}
    found = _describe(pctx, region, "describe_addresses", "Addresses",
                      ("InvalidAllocationID.NotFound", "InvalidAddress.NotFound"), **key)
    if not _guard(pctx, builder, subject, found):
        return
    assert found is not None
    if subject.treatment is not Treatment.REMOVE:
        builder.skip(subject, f"address kept: releasing an address cannot be undone; {NOT_UNDOABLE}")
        return
    instance_id = found.get("InstanceId")
    after: list[str] = []
    if instance_id:
        instance = pctx.subject("AWS::EC2::Instance", str(instance_id), region)
        after = [s.id for s in builder.find("ec2.terminate-instance", target_id=str(instance_id), region=region)]
        if not after and (instance is None or instance.treatment is not Treatment.REMOVE):
            builder.skip(subject, f"associated with instance {instance_id}, which the plan does not terminate: "
                                  "disassociate and release it by hand")
            return
    elif found.get("AssociationId"):
        builder.skip(subject, "associated with a network interface: disassociate and release it by hand")
        return
    builder.add(Phase.DESTROY, "ec2.release-address", subject.target, expect={"exists": True, "associated": False},
                post={"exists": False}, why=subject.finding_ids, after=after,
                reason="attacker-allocated address, once its instance is terminated")


@recipe("AWS::Lambda::Function")
def function(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    try:
        found: dict[str, Any] | None = pctx.client("lambda", subject.target.region).get_function(
            FunctionName=subject.target.id)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        found = None
    if not _guard(pctx, builder, subject, found):
        return
    why = subject.finding_ids
    if subject.treatment is Treatment.REMOVE:
        builder.add(Phase.DESTROY, "lambda.delete-function", subject.target, expect={"exists": True},
                    post={"exists": False}, why=why, reason="attacker-created (configuration and code location kept)")
    elif subject.treatment is Treatment.QUARANTINE:
        builder.add(Phase.DESTROY, "lambda.set-concurrency-zero", subject.target, expect={"exists": True},
                    post={"reserved_concurrency": 0}, why=why, reason="suspect: cannot run, reversibly")
    else:
        builder.skip(subject, "a legitimate function is not changed: review its code and triggers by hand")
        return
    builder.note("Lambda triggers (event source mappings, function URLs, schedules) are not removed by the plan: "
                 "they fail once the function is gone or throttled")


def _sharing(pctx: PlanContext, subject: Subject) -> tuple[bool, list[str]] | None:
    client = pctx.client("ec2", subject.target.region)
    try:
        if subject.target.type == "AWS::EC2::Snapshot":
            perms = client.describe_snapshot_attribute(SnapshotId=subject.target.id,
                                                       Attribute="createVolumePermission")["CreateVolumePermissions"]
        else:
            perms = client.describe_image_attribute(ImageId=subject.target.id,
                                                    Attribute="launchPermission")["LaunchPermissions"]
    except ClientError as exc:
        if error_code(exc) not in ("InvalidSnapshot.NotFound", "InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"):
            raise
        return None
    return (any(p.get("Group") == "all" for p in perms),
            sorted({str(p["UserId"]) for p in perms if p.get("UserId")}))


@recipe("AWS::EC2::Snapshot", "AWS::EC2::Image")
def snapshot_or_image(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    kind = "snapshot" if subject.target.type == "AWS::EC2::Snapshot" else "AMI"
    shared = [f for f in subject.findings if f.rule == SHARED_RULES[subject.target.type]]
    if subject.target.type == "AWS::EC2::Snapshot":
        found = _describe(pctx, subject.target.region, "describe_snapshots", "Snapshots",
                          ("InvalidSnapshot.NotFound",), SnapshotIds=[subject.target.id])
    else:
        found = _describe(pctx, subject.target.region, "describe_images", "Images",
                          ("InvalidAMIID.NotFound", "InvalidAMIID.Malformed"), ImageIds=[subject.target.id])
    if not _guard(pctx, builder, subject, found):
        return
    assert found is not None
    sharing = _sharing(pctx, subject)
    if not shared or sharing is None:
        builder.skip(subject, f"{kind} kept, never deleted (it may be evidence or a backup); it is not shared")
        return
    public, accounts = sharing
    known = set(pctx.options.get("known_accounts", []) or []) | {pctx.account_id}
    flagged = {str(a) for f in shared for a in f.details.get("outside_accounts") or []}
    remove = sorted(a for a in accounts if a in flagged or a not in known)
    if not public and not remove:
        builder.skip(subject, f"{kind} is no longer shared outside the account")
        return
    keep = [a for a in accounts if a not in remove]
    action = "ec2.unshare-snapshot" if kind == "snapshot" else "ec2.unshare-image"
    builder.add(Phase.DESTROY, action, subject.target, expect={"public": public, "shared_with": accounts},
                post={"public": False, "shared_with": keep}, params={"public": public, "accounts": remove},
                why=subject.finding_ids, reason=f"shared {'publicly' if public else 'with outside accounts'}")
    if subject.treatment is Treatment.REMOVE:
        builder.note(f"attacker-created {kind} {subject.target.id} ({subject.target.region}) is unshared, not "
                     f"deleted: it may hold what the attacker took; delete it by hand once the case is closed")
