"""Recipes for instances and what relaunches them: spot requests, Auto Scaling groups, fleets.

Per instance: evidence (description, console output, a snapshot of every attached volume) in the
evidence phase; then, in the destroy phase, termination protection off and terminate (attacker-created)
or stop (suspect). Capacity that relaunches instances is stopped first (DESIGN.md 3.11): recipes link
what they can see with ``after``, and ``ORDERING`` links what other recipes add.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from awsrespond.aws.errors import error_code
from awsrespond.contain import ec2_reads
from awsrespond.contain.actions.base import TAG_CASE
from awsrespond.contain.actions.ec2_capacity import FLEET_GONE, SPOT_DONE, SPOT_LIVE
from awsrespond.contain.actions.ec2_instances import RUNNING, TERMINABLE, attached_volumes
from awsrespond.contain.model import Phase, Target
from awsrespond.contain.planner.builder import PlanBuilder, PlanContext, Subject, Treatment, recipe

INSTANCE = "AWS::EC2::Instance"
SPOT_REQUEST = "AWS::EC2::SpotInstanceRequest"
ASG = "AWS::AutoScaling::AutoScalingGroup"
GONE = ("shutting-down", "terminated")
RELAUNCHERS = ("ec2.cancel-spot-request", "autoscaling.scale-to-zero", "ec2.delete-fleet", "ec2.modify-fleet-capacity",
               "ec2.cancel-spot-fleet", "ec2.modify-spot-fleet-capacity")

# (later action, earlier action, scope): applied by the planner after every recipe ran.
ORDERING: list[tuple[str, str, str]] = [
    *((later, earlier, "region") for later in ("ec2.terminate-instance", "ec2.stop-instance")
      for earlier in RELAUNCHERS),
    ("ec2.terminate-instance", "ec2.disable-termination-protection", "region"),
    ("autoscaling.delete-group", "autoscaling.scale-to-zero", "region"),
    ("autoscaling.delete-group", "ec2.terminate-instance", "region"),
    ("ec2.delete-fleet", "ec2.modify-fleet-capacity", "region"),
    ("ec2.delete-security-group", "ec2.terminate-instance", "region"),
    ("ec2.delete-security-group", "ec2.revoke-security-group-rule", "region"),
    ("ec2.delete-launch-template", "autoscaling.delete-group", "region"),
    ("ec2.delete-launch-template", "ec2.delete-fleet", "region"),
    ("ec2.delete-launch-template", "ec2.cancel-spot-fleet", "region"),
    ("ec2.release-address", "ec2.terminate-instance", "region"),
]


def tags_of(resource: Mapping[str, Any]) -> dict[str, str]:
    raw = resource.get("Tags") or resource.get("TagSet") or []
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    return {str(t.get("Key")): str(t.get("Value")) for t in raw if isinstance(t, Mapping)}


def own_artefact(resource: Mapping[str, Any]) -> bool:
    return TAG_CASE in tags_of(resource)


def never_touch(pctx: PlanContext, *names: str | None) -> bool:
    never = set(pctx.options.get("never_touch", []) or [])
    return any(n in never for n in names if n)


def describe_instance(pctx: PlanContext, region: str, instance_id: str) -> dict[str, Any] | None:
    return ec2_reads.describe_instance(pctx.client("ec2", region), instance_id)


def _relauncher_steps(builder: PlanBuilder, inst: Mapping[str, Any], region: str) -> list[str]:
    tags = tags_of(inst)
    owners = [inst.get("SpotInstanceRequestId"), tags.get("aws:autoscaling:groupName"),
              tags.get("aws:ec2:fleet-id"), tags.get("aws:ec2spot:fleet-request-id")]
    return [s.id for owner in owners if owner for action in RELAUNCHERS
            for s in builder.find(action, target_id=str(owner), region=region)]


def plan_instance(pctx: PlanContext, builder: PlanBuilder, subject: Subject, instance_id: str, region: str,
                  treatment: Treatment, *, after: Iterable[str] = (), why: Iterable[str] = (),
                  reason: str = "", evidence_only: bool = False) -> None:
    """Evidence, then terminate (REMOVE) or stop (QUARANTINE) one instance, read live."""
    inst = describe_instance(pctx, region, instance_id)
    label = f"instance {instance_id} ({region})"
    if inst is None:
        builder.note(f"{label}: no longer exists; nothing to contain")
        return
    state = str((inst.get("State") or {}).get("Name") or "")
    if state in GONE:
        if subject.target.type == INSTANCE and subject.target.id == instance_id:
            builder.skip(subject, "already terminated")
        else:
            builder.note(f"{label}: already terminated")
        return
    profile = str((inst.get("IamInstanceProfile") or {}).get("Arn") or "")
    if own_artefact(inst) or never_touch(pctx, instance_id, profile):
        builder.skip(subject, f"{label} is the tool's own artefact or on the never-touch list: not touched")
        return
    why = sorted(set(why) | set(subject.finding_ids))
    target = Target(type=INSTANCE, id=instance_id, region=region,
                    arn=pctx.arn("ec2", f"instance/{instance_id}", region))
    evidence = [builder.add(Phase.EVIDENCE, "ec2.capture-instance", target, expect={"exists": True},
                            post={"exists": True, "captured": True}, why=why, reason=reason or "evidence first")]
    for volume, device in attached_volumes(inst):
        evidence.append(builder.add(
            Phase.EVIDENCE, "ec2.snapshot-volume", Target(type="AWS::EC2::Volume", id=volume, region=region),
            expect={"exists": True, "snapshot_taken": False}, post={"snapshot_taken": True},
            params={"instance": instance_id}, why=why, reason=f"evidence of {instance_id} ({device})"))
    if evidence_only:
        return
    if treatment is Treatment.NEUTRALISE:
        builder.skip(subject, f"{label} is legitimate: evidence kept, not stopped; its role's sessions are "
                              "revoked by the IAM steps")
        return
    first = [*evidence, *after, *_relauncher_steps(builder, inst, region)]
    if treatment is Treatment.QUARANTINE:
        if state not in RUNNING:
            builder.note(f"{label} is {state}: evidence planned, nothing to stop")
            return
        spot = " (a one-time spot instance cannot be stopped: EC2 refuses)" if inst.get("InstanceLifecycle") else ""
        builder.add(Phase.DESTROY, "ec2.stop-instance", target, expect={"state": {"$in": RUNNING}},
                    post={"state": {"$in": ["stopping", "stopped"]}}, why=why,
                    reason=f"suspect: stopped, reversibly{spot}", after=first)
        return
    protection = pctx.client("ec2", region).describe_instance_attribute(
        InstanceId=instance_id, Attribute="disableApiTermination")
    if (protection.get("DisableApiTermination") or {}).get("Value"):
        first.append(builder.add(
            Phase.DESTROY, "ec2.disable-termination-protection", target,
            expect={"state": {"$in": TERMINABLE}, "termination_protection": True},
            post={"termination_protection": False}, why=why, after=first,
            reason="termination protection is on (DESIGN.md 3.14)"))
    builder.add(Phase.DESTROY, "ec2.terminate-instance", target,
                expect={"state": {"$in": TERMINABLE}, "termination_protection": False},
                post={"state": {"$in": list(GONE)}}, why=why, after=first, reason=reason or "attacker-created")


def _member_treatment(pctx: PlanContext, instance_id: str, region: str, fallback: Treatment) -> Treatment | None:
    """None when the instance is a subject itself: its own recipe plans it."""
    return None if pctx.subject(INSTANCE, instance_id, region) is not None else fallback


@recipe(INSTANCE)
def instance(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    region = subject.target.region
    inst = describe_instance(pctx, region, subject.target.id)
    spot_id = str(inst.get("SpotInstanceRequestId") or "") if inst else ""
    if inst is not None and subject.treatment is Treatment.REMOVE and spot_id \
            and pctx.subject(SPOT_REQUEST, spot_id, region) is None:
        # The attacker's instance came from a spot request nobody else plans: cancel it first.
        _cancel_spot(pctx, builder, subject, spot_id, region, why=subject.finding_ids)
    group = tags_of(inst or {}).get("aws:autoscaling:groupName")
    if group and pctx.subject(ASG, group, region) is None:
        builder.note(f"instance {subject.target.id} belongs to Auto Scaling group {group}, which the plan does "
                     "not scale to zero: the group may replace it")
    plan_instance(pctx, builder, subject, subject.target.id, region, subject.treatment)


def _spot_request(pctx: PlanContext, region: str, request_id: str) -> dict[str, Any] | None:
    return ec2_reads.describe_spot_request(pctx.client("ec2", region), request_id)


def _cancel_spot(pctx: PlanContext, builder: PlanBuilder, subject: Subject, request_id: str, region: str,
                 *, why: Iterable[str]) -> str | None:
    request = _spot_request(pctx, region, request_id)
    if request is None or request.get("State") in SPOT_DONE:
        return None
    target = Target(type=SPOT_REQUEST, id=request_id, region=region,
                    arn=pctx.arn("ec2", f"spot-instances-request/{request_id}", region))
    return builder.add(Phase.DESTROY, "ec2.cancel-spot-request", target, expect={"state": {"$in": SPOT_LIVE}},
                       post={"state": {"$in": SPOT_DONE}}, why=why,
                       reason=f"{request.get('Type') or 'spot'} request: cancelled before its instances")


@recipe(SPOT_REQUEST)
def spot_request(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    region, request_id = subject.target.region, subject.target.id
    request = _spot_request(pctx, region, request_id)
    if request is not None and own_artefact(request):
        builder.skip(subject, "the tool's own artefact")
        return
    instances = {str(request.get("InstanceId"))} if request and request.get("InstanceId") else set()
    for item in pctx.inventory(SPOT_REQUEST):
        launched = (item.get("data") or {}).get("instance_id")
        if item.get("id") == request_id and item.get("region") == region and launched:
            instances.add(str(launched))
    if subject.treatment is not Treatment.REMOVE:
        builder.skip(subject, "cancelling a spot request cannot be undone: cancel by hand or re-plan with "
                              "--suspect-as-attacker")
        for instance_id in sorted(instances):
            treatment = _member_treatment(pctx, instance_id, region, Treatment.QUARANTINE)
            if treatment is not None:
                plan_instance(pctx, builder, subject, instance_id, region, treatment,
                              reason=f"launched by suspect spot request {request_id}")
        return
    cancel = _cancel_spot(pctx, builder, subject, request_id, region, why=subject.finding_ids)
    if cancel is None:
        builder.note(f"spot request {request_id} ({region}) is already closed or cancelled")
    for instance_id in sorted(instances):
        treatment = _member_treatment(pctx, instance_id, region, Treatment.REMOVE)
        if treatment is not None:
            plan_instance(pctx, builder, subject, instance_id, region, treatment, after=[cancel] if cancel else [],
                          reason=f"launched by attacker spot request {request_id}")
        else:
            for step in builder.find("ec2.terminate-instance", target_id=instance_id, region=region) + \
                    builder.find("ec2.stop-instance", target_id=instance_id, region=region):
                if cancel:
                    step.after = sorted(set(step.after) | {cancel})


def _members(pctx: PlanContext, builder: PlanBuilder, subject: Subject, ids: Iterable[str], treatment: Treatment,
             first: list[str], reason: str) -> None:
    region = subject.target.region
    for instance_id in sorted(set(ids)):
        member = _member_treatment(pctx, instance_id, region, treatment)
        if member is not None:
            plan_instance(pctx, builder, subject, instance_id, region, member, after=first, reason=reason)


@recipe(ASG)
def autoscaling_group(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    region, name = subject.target.region, subject.target.id
    groups = pctx.client("autoscaling", region).describe_auto_scaling_groups(
        AutoScalingGroupNames=[name]).get("AutoScalingGroups", [])
    group = next((g for g in groups if g.get("AutoScalingGroupName") == name), None)
    if group is None:
        builder.skip(subject, "the group no longer exists")
        return
    if own_artefact(group) or never_touch(pctx, name, group.get("AutoScalingGroupARN")):
        builder.skip(subject, "the tool's own artefact or on the never-touch list")
        return
    if subject.treatment is Treatment.NEUTRALISE:
        builder.skip(subject, "a legitimate group is not scaled down by the plan: review its changes by hand")
        return
    members = [str(i["InstanceId"]) for i in group.get("Instances") or []]
    why = subject.finding_ids
    # Scaling in terminates the members: their evidence comes first (evidence phase).
    for instance_id in members:
        if pctx.subject(INSTANCE, instance_id, region) is None:
            plan_instance(pctx, builder, subject, instance_id, region, subject.treatment, evidence_only=True,
                          reason=f"member of Auto Scaling group {name}: evidence before scaling in")
    scale = builder.add(Phase.DESTROY, "autoscaling.scale-to-zero", subject.target, expect={"exists": True},
                        post={"min_size": 0, "max_size": 0, "desired_capacity": 0}, why=why,
                        reason="stops relaunching before its instances are touched")
    if subject.treatment is Treatment.QUARANTINE:
        builder.note(f"scaling Auto Scaling group {name} to zero terminates its instances (their volumes are "
                     "snapshotted first); undo restores the capacity with new instances")
        return
    _members(pctx, builder, subject, members, Treatment.REMOVE, [scale], f"member of attacker group {name}")
    terminates = [s.id for m in members for s in builder.find("ec2.terminate-instance", target_id=m, region=region)]
    builder.add(Phase.DESTROY, "autoscaling.delete-group", subject.target,
                expect={"exists": True, "desired_capacity": 0}, post={"exists": False}, why=why,
                after=[scale, *terminates], reason="attacker-created, once its instances are gone")


def _fleet_instances(pctx: PlanContext, subject: Subject) -> list[str]:
    client = pctx.client("ec2", subject.target.region)
    if subject.target.type == "AWS::EC2::EC2Fleet":
        response = client.describe_fleet_instances(FleetId=subject.target.id)
    else:
        response = client.describe_spot_fleet_instances(SpotFleetRequestId=subject.target.id)
    return [str(i["InstanceId"]) for i in response.get("ActiveInstances", []) if i.get("InstanceId")]


@recipe("AWS::EC2::EC2Fleet", "AWS::EC2::SpotFleet")
def fleet(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    region, fleet_id = subject.target.region, subject.target.id
    client = pctx.client("ec2", region)
    ec2_fleet = subject.target.type == "AWS::EC2::EC2Fleet"
    try:
        if ec2_fleet:
            found = client.describe_fleets(FleetIds=[fleet_id]).get("Fleets", [])
            state = found[0].get("FleetState") if found else None
            capacity = ((found[0].get("TargetCapacitySpecification") or {}).get("TotalTargetCapacity")
                        if found else None)
        else:
            found = client.describe_spot_fleet_requests(SpotFleetRequestIds=[fleet_id]).get(
                "SpotFleetRequestConfigs", [])
            state = found[0].get("SpotFleetRequestState") if found else None
            capacity = (found[0].get("SpotFleetRequestConfig") or {}).get("TargetCapacity") if found else None
    except ClientError as exc:
        if "NotFound" not in error_code(exc):
            raise
        found, state, capacity = [], None, None
    if not found or state in FLEET_GONE:
        builder.skip(subject, "the fleet is already deleted or cancelled")
        return
    if own_artefact(found[0]):
        builder.skip(subject, "the tool's own artefact")
        return
    if subject.treatment is Treatment.NEUTRALISE:
        builder.skip(subject, "a legitimate fleet is not changed by the plan: review it by hand")
        return
    members = _fleet_instances(pctx, subject)
    why = subject.finding_ids
    if subject.treatment is Treatment.QUARANTINE:
        action = "ec2.modify-fleet-capacity" if ec2_fleet else "ec2.modify-spot-fleet-capacity"
        first = builder.add(Phase.DESTROY, action, subject.target, expect={"target_capacity": capacity},
                            post={"target_capacity": 0}, why=why, reason="suspect: capacity to zero, reversibly")
        _members(pctx, builder, subject, members, Treatment.QUARANTINE, [first], f"member of suspect fleet {fleet_id}")
        return
    live = ["active", "submitted", "modifying"]
    action = "ec2.delete-fleet" if ec2_fleet else "ec2.cancel-spot-fleet"
    gone = [s for s in FLEET_GONE if s is None or s.startswith("deleted" if ec2_fleet else "cancelled")]
    first = builder.add(Phase.DESTROY, action, subject.target, expect={"state": {"$in": live}},
                        post={"state": {"$in": gone}}, why=why,
                        reason="attacker-created: stopped without terminating; instances follow after evidence")
    _members(pctx, builder, subject, members, Treatment.REMOVE, [first], f"member of attacker fleet {fleet_id}")
