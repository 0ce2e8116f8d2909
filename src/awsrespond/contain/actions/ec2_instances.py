"""EC2 instance actions: evidence (description, console output, volume snapshots), termination
protection, terminate and stop (DESIGN.md 3.9 d/e, 3.12, 3.14, 3.16).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from awsrespond.aws.errors import error_code
from awsrespond.contain import ec2_reads
from awsrespond.contain.actions.base import TAG_CASE, TAG_PLAN, TAG_STEP, Action, ActionContext, register
from awsrespond.contain.model import Step

TAG_VOLUME = "awsrespond:volume"
TAG_INSTANCE = "awsrespond:instance"
# Console output is unavailable on some instance types and while an instance boots: recorded, not fatal.
CONSOLE_UNAVAILABLE = frozenset({"UnsupportedOperation", "InvalidParameterValue", "OperationNotPermitted",
                                 "IncorrectInstanceState", "InvalidInstanceID.NotFound"})
_SAFE_PART = re.compile(r"[^A-Za-z0-9._-]+")  # as the case's evidence store names files
RUNNING = ["pending", "running"]
TERMINABLE = ["pending", "running", "stopping", "stopped"]


def describe_instance(ctx: ActionContext, region: str, instance_id: str) -> dict[str, Any] | None:
    """The instance's description, or None when EC2 no longer knows it."""
    return ec2_reads.describe_instance(ctx.client("ec2", region), instance_id)


def instance_state(inst: Mapping[str, Any] | None) -> str | None:
    return None if inst is None else str((inst.get("State") or {}).get("Name") or "") or None


def termination_protection(client: Any, instance_id: str) -> bool:
    response = client.describe_instance_attribute(InstanceId=instance_id, Attribute="disableApiTermination")
    return bool((response.get("DisableApiTermination") or {}).get("Value"))


def attached_volumes(inst: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(volume id, device name) of every EBS volume in the instance's block device mappings."""
    out: list[tuple[str, str]] = []
    for mapping in inst.get("BlockDeviceMappings") or []:
        volume = (mapping.get("Ebs") or {}).get("VolumeId")
        if volume:
            out.append((str(volume), str(mapping.get("DeviceName") or "")))
    return out


def _state_and_protection(ctx: ActionContext, step: Step) -> dict[str, Any]:
    client = ctx.client("ec2", step.target.region)
    state = instance_state(describe_instance(ctx, step.target.region, step.target.id))
    protection: bool | None = None
    if state not in (None, "terminated", "shutting-down"):
        protection = termination_protection(client, step.target.id)
    return {"state": state, "termination_protection": protection}


def _evidence_path(ctx: ActionContext, step: Step, operation: str, suffix: str) -> Path:
    # Mirrors EvidenceStore.put's naming, to tell whether this step's capture already happened.
    name = f"ec2.{operation}." + _SAFE_PART.sub("_", f"contain.{step.id}.{suffix}")[:120]
    return ctx.case.root / "evidence" / _SAFE_PART.sub("_", step.target.region) / f"{name}.json"


@register
class CaptureInstance(Action):
    name = "ec2.capture-instance"
    title = "Keep the instance's description, console output and a hash of its user data"
    resource_type = "AWS::EC2::Instance"
    permissions = ("ec2:DescribeInstances", "ec2:GetConsoleOutput", "ec2:DescribeInstanceAttribute")
    reversible = False
    how_to_undo = "nothing to undo: read-only"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        state = instance_state(describe_instance(ctx, step.target.region, step.target.id))
        captured = _evidence_path(ctx, step, "DescribeInstances", step.target.id).exists()
        return {"exists": state is not None, "captured": captured}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        return []  # the whole step is evidence: see apply

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        region, instance_id = step.target.region, step.target.id
        client = ctx.client("ec2", region)
        try:
            console: dict[str, Any] = client.get_console_output(InstanceId=instance_id)
            console_note = "captured"
        except ClientError as exc:
            if error_code(exc) not in CONSOLE_UNAVAILABLE:
                raise
            console, console_note = {"unavailable": error_code(exc)}, f"unavailable ({error_code(exc)})"
        ctx.evidence(step, "ec2", "GetConsoleOutput", console, suffix=instance_id)
        user_data = client.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
        # DESIGN.md 3.16: user data often carries secrets; only its hash is kept.
        digest = _user_data_digest((user_data.get("UserData") or {}).get("Value"))
        ctx.evidence(step, "ec2", "DescribeInstanceAttribute",
                     {"InstanceId": instance_id, "Attribute": "userData", "UserDataSha256": digest},
                     suffix=f"{instance_id}.userData")
        description = client.describe_instances(InstanceIds=[instance_id])
        # Written last: its presence is what observe() reads as "captured".
        ref = ctx.evidence(step, "ec2", "DescribeInstances", description, suffix=instance_id)
        return {"evidence": ref.file, "console_output": console_note, "user_data_sha256": digest}


def _user_data_digest(value: Any) -> str | None:
    if not value:
        return None
    try:
        raw = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raw = str(value).encode()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _snapshot_filters(ctx: ActionContext, step: Step) -> list[dict[str, Any]]:
    return [{"Name": f"tag:{TAG_CASE}", "Values": [ctx.plan.case_id]},
            {"Name": f"tag:{TAG_PLAN}", "Values": [ctx.plan.plan_id]},
            {"Name": f"tag:{TAG_STEP}", "Values": [step.id]},
            {"Name": f"tag:{TAG_VOLUME}", "Values": [step.target.id]}]


def find_step_snapshot(ctx: ActionContext, step: Step) -> str | None:
    """The snapshot this step made (by its tags), in any state but error."""
    client = ctx.client("ec2", step.target.region)
    response = client.describe_snapshots(OwnerIds=["self"], Filters=_snapshot_filters(ctx, step))
    found = sorted(s["SnapshotId"] for s in response.get("Snapshots", []) if s.get("State") != "error")
    return found[0] if found else None


@register
class SnapshotVolume(Action):
    name = "ec2.snapshot-volume"
    title = "Snapshot an EBS volume as evidence, tagged with the case and step"
    resource_type = "AWS::EC2::Volume"
    permissions = ("ec2:CreateSnapshot", "ec2:CreateTags", "ec2:DescribeSnapshots", "ec2:DescribeVolumes")
    reversible = False
    how_to_undo = "evidence is never removed by undo (delete the snapshot by hand once the case is closed)"
    idempotent = False

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        client = ctx.client("ec2", step.target.region)
        try:
            volumes = client.describe_volumes(VolumeIds=[step.target.id]).get("Volumes", [])
        except ClientError as exc:
            if error_code(exc) != "InvalidVolume.NotFound":
                raise
            volumes = []
        attached = sorted(a.get("InstanceId") for a in (volumes[0].get("Attachments") or [])
                          if a.get("InstanceId")) if volumes else []
        snapshot = find_step_snapshot(ctx, step)
        return {"exists": bool(volumes), "attached_to": attached[0] if attached else None,
                "snapshot": snapshot, "snapshot_taken": snapshot is not None}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        client = ctx.client("ec2", step.target.region)
        response = client.describe_volumes(VolumeIds=[step.target.id])
        return [ctx.evidence(step, "ec2", "DescribeVolumes", response)]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        instance = str(step.params.get("instance") or "")
        tags = [*ctx.tags(step), {"Key": TAG_VOLUME, "Value": step.target.id}]
        if instance:
            tags.append({"Key": TAG_INSTANCE, "Value": instance})
        response = ctx.client("ec2", step.target.region).create_snapshot(
            VolumeId=step.target.id,
            Description=f"awsrespond evidence: case {ctx.plan.case_id} step {step.id} volume {step.target.id}",
            TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}],
        )
        return {"snapshot": response["SnapshotId"], "volume": step.target.id, "instance": instance or None}

    def verify(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
        # The snapshot id cannot be in the plan: a snapshot tagged for this step must exist.
        state = self.observe(ctx, step)
        return state["snapshot"] is not None, state

    def reconcile(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        snapshot = find_step_snapshot(ctx, step)
        if snapshot is None:
            return None
        return {"snapshot": snapshot, "volume": step.target.id, "reconciled": "tagged snapshot found"}


@register
class DisableTerminationProtection(Action):
    name = "ec2.disable-termination-protection"
    title = "Turn off termination protection (attackers turn it on to resist cleanup)"
    resource_type = "AWS::EC2::Instance"
    permissions = ("ec2:DescribeInstances", "ec2:DescribeInstanceAttribute", "ec2:ModifyInstanceAttribute")
    reversible = True
    how_to_undo = "ModifyInstanceAttribute DisableApiTermination=true"
    undo_permissions = ("ec2:ModifyInstanceAttribute",)

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return _state_and_protection(ctx, step)

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        ctx.client("ec2", step.target.region).modify_instance_attribute(
            InstanceId=step.target.id, DisableApiTermination={"Value": False})
        return {"previous": True}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        ctx.client("ec2", step.target.region).modify_instance_attribute(
            InstanceId=step.target.id, DisableApiTermination={"Value": True})
        return {"termination_protection": True}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"termination_protection": True}


@register
class TerminateInstance(Action):
    name = "ec2.terminate-instance"
    title = "Terminate the instance (after its evidence)"
    resource_type = "AWS::EC2::Instance"
    permissions = ("ec2:DescribeInstances", "ec2:DescribeInstanceAttribute", "ec2:TerminateInstances")
    reversible = False
    how_to_undo = "a terminated instance cannot come back; its volume snapshots are kept as evidence"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return _state_and_protection(ctx, step)

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        response = ctx.client("ec2", step.target.region).describe_instances(InstanceIds=[step.target.id])
        return [ctx.evidence(step, "ec2", "DescribeInstances", response, suffix=f"{step.target.id}.before")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        response = ctx.client("ec2", step.target.region).terminate_instances(InstanceIds=[step.target.id])
        changes = response.get("TerminatingInstances", [])
        return {"previous_state": (changes[0].get("PreviousState") or {}).get("Name") if changes else None,
                "current_state": (changes[0].get("CurrentState") or {}).get("Name") if changes else None}


@register
class StopInstance(Action):
    name = "ec2.stop-instance"
    title = "Stop the instance (reversible quarantine)"
    resource_type = "AWS::EC2::Instance"
    permissions = ("ec2:DescribeInstances", "ec2:DescribeInstanceAttribute", "ec2:StopInstances")
    reversible = True
    how_to_undo = "StartInstances (gives a suspect instance its network and credentials back)"
    undo_permissions = ("ec2:StartInstances",)
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"state": instance_state(describe_instance(ctx, step.target.region, step.target.id))}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        response = ctx.client("ec2", step.target.region).describe_instances(InstanceIds=[step.target.id])
        return [ctx.evidence(step, "ec2", "DescribeInstances", response, suffix=f"{step.target.id}.before")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        response = ctx.client("ec2", step.target.region).stop_instances(InstanceIds=[step.target.id])
        changes = response.get("StoppingInstances", [])
        return {"previous_state": (changes[0].get("PreviousState") or {}).get("Name") if changes else None}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        ctx.client("ec2", step.target.region).start_instances(InstanceIds=[step.target.id])
        return {"started": True}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"state": {"$in": RUNNING}}
