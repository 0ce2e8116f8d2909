"""Attacker network and launch artefacts: key pairs, launch templates, security groups and their
rules, Elastic IPs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from awsrespond.aws.errors import error_code
from awsrespond.case.redact import redact
from awsrespond.contain.actions.base import Action, ActionContext, ActionError, register
from awsrespond.contain.model import Step

WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


def _ignore(exc: ClientError, *codes: str) -> None:
    if error_code(exc) not in codes:
        raise exc


def describe_key_pair(ctx: ActionContext, region: str, name: str) -> dict[str, Any] | None:
    try:
        response = ctx.client("ec2", region).describe_key_pairs(KeyNames=[name], IncludePublicKey=True)
    except ClientError as exc:
        _ignore(exc, "InvalidKeyPair.NotFound")
        return None
    pairs: list[dict[str, Any]] = response.get("KeyPairs", [])
    return pairs[0] if pairs else None


@register
class DeleteKeyPair(Action):
    name = "ec2.delete-key-pair"
    title = "Delete a key pair the attacker created or imported (public key kept as evidence)"
    resource_type = "AWS::EC2::KeyPair"
    permissions = ("ec2:DescribeKeyPairs", "ec2:DeleteKeyPair")
    reversible = False
    how_to_undo = "re-import the public key kept as evidence (ImportKeyPair) - never useful in a response"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"exists": describe_key_pair(ctx, step.target.region, step.target.id) is not None}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        pair = describe_key_pair(ctx, step.target.region, step.target.id) or {}
        return [ctx.evidence(step, "ec2", "DescribeKeyPairs", pair)]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        ctx.client("ec2", step.target.region).delete_key_pair(KeyName=step.target.id)
        return {"deleted": step.target.id}


def describe_launch_template(ctx: ActionContext, region: str, template_id: str) -> dict[str, Any] | None:
    try:
        response = ctx.client("ec2", region).describe_launch_templates(LaunchTemplateIds=[template_id])
    except ClientError as exc:
        _ignore(exc, "InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateId.Malformed",
                "InvalidLaunchTemplateName.NotFoundException")
        return None
    templates: list[dict[str, Any]] = response.get("LaunchTemplates", [])
    return templates[0] if templates else None


@register
class DeleteLaunchTemplate(Action):
    name = "ec2.delete-launch-template"
    title = "Delete a launch template the attacker created (versions kept as evidence, user data hashed)"
    resource_type = "AWS::EC2::LaunchTemplate"
    permissions = ("ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions", "ec2:DeleteLaunchTemplate")
    reversible = False
    how_to_undo = "a deleted launch template cannot be restored; its versions are kept as evidence"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"exists": describe_launch_template(ctx, step.target.region, step.target.id) is not None}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        client = ctx.client("ec2", step.target.region)
        versions = client.describe_launch_template_versions(LaunchTemplateId=step.target.id)
        # UserData is a secret key for the evidence store too; redacted here so it never leaves memory.
        return [ctx.evidence(step, "ec2", "DescribeLaunchTemplateVersions", redact(versions))]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        ctx.client("ec2", step.target.region).delete_launch_template(LaunchTemplateId=step.target.id)
        return {"deleted": step.target.id}


def _rule(ctx: ActionContext, region: str, rule_id: str) -> dict[str, Any] | None:
    try:
        response = ctx.client("ec2", region).describe_security_group_rules(SecurityGroupRuleIds=[rule_id])
    except ClientError as exc:
        _ignore(exc, "InvalidSecurityGroupRuleId.NotFound", "InvalidSecurityGroupRuleId.Malformed")
        return None
    for rule in response.get("SecurityGroupRules", []):
        if rule.get("SecurityGroupRuleId") == rule_id:
            found: dict[str, Any] = rule
            return found
    return None


def rule_permission(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The IpPermissions entry that re-creates a security group rule (for undo)."""
    perm: dict[str, Any] = {"IpProtocol": rule.get("IpProtocol")}
    if rule.get("IpProtocol") != "-1":
        perm["FromPort"] = rule.get("FromPort")
        perm["ToPort"] = rule.get("ToPort")
    description = {"Description": rule["Description"]} if rule.get("Description") else {}
    if rule.get("CidrIpv4"):
        perm["IpRanges"] = [{"CidrIp": rule["CidrIpv4"], **description}]
    elif rule.get("CidrIpv6"):
        perm["Ipv6Ranges"] = [{"CidrIpv6": rule["CidrIpv6"], **description}]
    elif rule.get("PrefixListId"):
        perm["PrefixListIds"] = [{"PrefixListId": rule["PrefixListId"], **description}]
    elif rule.get("ReferencedGroupInfo"):
        perm["UserIdGroupPairs"] = [{"GroupId": rule["ReferencedGroupInfo"].get("GroupId"), **description}]
    return perm


def _same_permission(perm: Mapping[str, Any], group: Mapping[str, Any]) -> bool:
    """Whether the group still (or again) allows what ``perm`` allows."""
    for have in group.get("IpPermissions") or []:
        if have.get("IpProtocol") != perm.get("IpProtocol"):
            continue
        if perm.get("IpProtocol") != "-1" and (have.get("FromPort"), have.get("ToPort")) != (
                perm.get("FromPort"), perm.get("ToPort")):
            continue
        for key, field in (("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6"), ("PrefixListIds", "PrefixListId"),
                           ("UserIdGroupPairs", "GroupId")):
            wanted = {r.get(field) for r in perm.get(key) or []}
            if wanted and wanted <= {r.get(field) for r in have.get(key) or []}:
                return True
    return False


def describe_group(ctx: ActionContext, region: str, group_id: str) -> dict[str, Any] | None:
    try:
        response = ctx.client("ec2", region).describe_security_groups(GroupIds=[group_id])
    except ClientError as exc:
        _ignore(exc, "InvalidGroup.NotFound", "InvalidGroupId.Malformed")
        return None
    groups: list[dict[str, Any]] = response.get("SecurityGroups", [])
    return groups[0] if groups else None


@register
class RevokeSecurityGroupRule(Action):
    name = "ec2.revoke-security-group-rule"
    title = "Revoke an ingress rule the attacker added (by rule id)"
    resource_type = "AWS::EC2::SecurityGroupIngress"
    permissions = ("ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupIngress")
    reversible = True
    how_to_undo = "AuthorizeSecurityGroupIngress with the revoked rule, kept in the journal (gets a new rule id)"
    undo_permissions = ("ec2:AuthorizeSecurityGroupIngress",)
    cuts_attacker_access = True

    def _group_id(self, step: Step) -> str:
        group = str(step.params.get("group") or "")
        if not group:
            raise ActionError("step has no params.group (the rule's security group id)")
        return group

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        rule = _rule(ctx, step.target.region, step.target.id)
        allowed = False
        saved = step.params.get("permission")
        if isinstance(saved, Mapping):
            group = describe_group(ctx, step.target.region, self._group_id(step))
            allowed = group is not None and _same_permission(saved, group)
        return {"exists": rule is not None, "allowed": allowed or rule is not None}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        return [ctx.evidence(step, "ec2", "DescribeSecurityGroupRules",
                             _rule(ctx, step.target.region, step.target.id) or {})]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        rule = _rule(ctx, step.target.region, step.target.id)
        if rule is None:
            raise ActionError(f"rule {step.target.id} is gone")
        if rule.get("IsEgress"):
            raise ActionError(f"rule {step.target.id} is an egress rule; this action revokes ingress rules")
        ctx.client("ec2", step.target.region).revoke_security_group_ingress(
            GroupId=self._group_id(step), SecurityGroupRuleIds=[step.target.id])
        return {"group": self._group_id(step), "permission": rule_permission(rule)}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        permission = result.get("permission")
        if not isinstance(permission, Mapping):
            raise ActionError("the journal holds no revoked rule to re-authorize")
        response = ctx.client("ec2", step.target.region).authorize_security_group_ingress(
            GroupId=self._group_id(step), IpPermissions=[dict(permission)])
        return {"new_rule_ids": [r.get("SecurityGroupRuleId") for r in response.get("SecurityGroupRules", [])]}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"allowed": True}


@register
class DeleteSecurityGroup(Action):
    name = "ec2.delete-security-group"
    title = "Delete a security group the attacker created, once no network interface uses it"
    resource_type = "AWS::EC2::SecurityGroup"
    permissions = ("ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances",
                   "ec2:DeleteSecurityGroup")
    reversible = False
    how_to_undo = "a deleted security group cannot be restored; its rules are kept as evidence"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        group = describe_group(ctx, step.target.region, step.target.id)
        if group is None:
            return {"exists": False, "in_use": 0}
        client = ctx.client("ec2", step.target.region)
        interfaces = client.describe_network_interfaces(
            Filters=[{"Name": "group-id", "Values": [step.target.id]}]).get("NetworkInterfaces", [])
        owners = sorted({str((eni.get("Attachment") or {}).get("InstanceId")) for eni in interfaces
                         if (eni.get("Attachment") or {}).get("InstanceId")})
        # A terminated instance's interface is gone on AWS; an emulator may still list it.
        gone = set()
        if owners:
            reservations = client.describe_instances(InstanceIds=owners).get("Reservations", [])
            gone = {i["InstanceId"] for r in reservations for i in r.get("Instances", [])
                    if (i.get("State") or {}).get("Name") == "terminated"}
        in_use = [eni for eni in interfaces if (eni.get("Attachment") or {}).get("InstanceId") not in gone]
        return {"exists": True, "in_use": len(in_use)}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        group = describe_group(ctx, step.target.region, step.target.id) or {}
        return [ctx.evidence(step, "ec2", "DescribeSecurityGroups", group)]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        ctx.client("ec2", step.target.region).delete_security_group(GroupId=step.target.id)
        return {"deleted": step.target.id}


def describe_address(ctx: ActionContext, region: str, address_id: str) -> dict[str, Any] | None:
    key = {"AllocationIds": [address_id]} if address_id.startswith("eipalloc-") else {"PublicIps": [address_id]}
    try:
        response = ctx.client("ec2", region).describe_addresses(**key)
    except ClientError as exc:
        _ignore(exc, "InvalidAllocationID.NotFound", "InvalidAddress.NotFound")
        return None
    addresses: list[dict[str, Any]] = response.get("Addresses", [])
    return addresses[0] if addresses else None


@register
class ReleaseAddress(Action):
    name = "ec2.release-address"
    title = "Release an Elastic IP the attacker allocated (once disassociated)"
    resource_type = "AWS::EC2::EIP"
    permissions = ("ec2:DescribeAddresses", "ec2:ReleaseAddress")
    reversible = False
    how_to_undo = "a released address is returned to AWS's pool"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        address = describe_address(ctx, step.target.region, step.target.id)
        return {"exists": address is not None,
                "associated": bool(address and (address.get("AssociationId") or address.get("InstanceId")))}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        address = describe_address(ctx, step.target.region, step.target.id) or {}
        return [ctx.evidence(step, "ec2", "DescribeAddresses", address)]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        client = ctx.client("ec2", step.target.region)
        if step.target.id.startswith("eipalloc-"):
            client.release_address(AllocationId=step.target.id)
        else:
            client.release_address(PublicIp=step.target.id)
        return {"released": step.target.id}
