"""Restore actions: a new EBS volume from an earlier snapshot, an earlier S3 object version made current."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from awsrespond.aws.errors import error_code
from awsrespond.contain.actions.base import TAG_CASE, TAG_PLAN, TAG_STEP, Action, ActionContext, ActionError, register
from awsrespond.contain.model import Step

TAG_RESTORED_FROM = "awsrespond:restored-from"
TAG_REPLACES = "awsrespond:replaces"
_GONE_VOLUME = frozenset({"deleting", "deleted", "error"})


def _step_volume_filters(ctx: ActionContext, step: Step) -> list[dict[str, Any]]:
    return [{"Name": f"tag:{TAG_CASE}", "Values": [ctx.plan.case_id]},
            {"Name": f"tag:{TAG_PLAN}", "Values": [ctx.plan.plan_id]},
            {"Name": f"tag:{TAG_STEP}", "Values": [step.id]}]


def find_step_volume(ctx: ActionContext, step: Step) -> dict[str, Any] | None:
    """The volume this step created (by its case, plan and step tags), unless it is being deleted."""
    client = ctx.client("ec2", step.target.region)
    volumes = client.describe_volumes(Filters=_step_volume_filters(ctx, step)).get("Volumes", [])
    live = sorted((v for v in volumes if v.get("State") not in _GONE_VOLUME), key=lambda v: str(v["VolumeId"]))
    return live[0] if live else None


def restored_volume_tags(ctx: ActionContext, step: Step) -> list[dict[str, str]]:
    """The old volume's own tags (not AWS's or ours), then the case's and where it came from."""
    old = step.params.get("tags") or {}
    kept = [{"Key": str(k), "Value": str(v)} for k, v in sorted(old.items())
            if not str(k).startswith(("aws:", "awsrespond:"))]
    return [*kept[:40], *ctx.tags(step), {"Key": TAG_RESTORED_FROM, "Value": str(step.params["snapshot_id"])},
            {"Key": TAG_REPLACES, "Value": step.target.id}]


@register
class CreateVolumeFromSnapshot(Action):
    name = "ec2.create-volume-from-snapshot"
    title = "Restore a deleted EBS volume: a new volume from its snapshot taken before the incident"
    resource_type = "AWS::EC2::Volume"
    permissions = ("ec2:CreateVolume", "ec2:CreateTags", "ec2:DescribeVolumes", "ec2:DescribeSnapshots")
    reversible = True
    how_to_undo = "delete the new volume (only while it is not attached)"
    undo_permissions = ("ec2:DeleteVolume", "ec2:DescribeVolumes")
    idempotent = False

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        client = ctx.client("ec2", step.target.region)
        snapshot_id = str(step.params["snapshot_id"])
        try:
            snapshots = client.describe_snapshots(SnapshotIds=[snapshot_id]).get("Snapshots", [])
        except ClientError as exc:
            if error_code(exc) != "InvalidSnapshot.NotFound":
                raise
            snapshots = []
        volume = find_step_volume(ctx, step)
        return {"restored": volume is not None, "volume": volume["VolumeId"] if volume else None,
                "snapshot_state": snapshots[0].get("State") if snapshots else "missing"}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        client = ctx.client("ec2", step.target.region)
        response = client.describe_snapshots(SnapshotIds=[str(step.params["snapshot_id"])])
        return [ctx.evidence(step, "ec2", "DescribeSnapshots", response)]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        params = step.params
        request: dict[str, Any] = {
            "SnapshotId": params["snapshot_id"], "AvailabilityZone": params["availability_zone"],
            "TagSpecifications": [{"ResourceType": "volume", "Tags": restored_volume_tags(ctx, step)}],
        }
        for key, name in (("size", "Size"), ("volume_type", "VolumeType"), ("iops", "Iops"),
                          ("throughput", "Throughput")):
            if params.get(key):
                request[name] = params[key]
        response = ctx.client("ec2", step.target.region).create_volume(**request)
        return {"volume": response["VolumeId"], "snapshot": params["snapshot_id"],
                "availability_zone": response.get("AvailabilityZone"), "replaces": step.target.id}

    def reconcile(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        volume = find_step_volume(ctx, step)
        if volume is None:
            return None
        return {"volume": volume["VolumeId"], "snapshot": step.params["snapshot_id"],
                "availability_zone": volume.get("AvailabilityZone"), "replaces": step.target.id,
                "reconciled": "tagged volume found"}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        volume = find_step_volume(ctx, step)
        if volume is None:
            raise ActionError(f"no volume tagged for step {step.id} remains")
        if result.get("volume") and volume["VolumeId"] != result["volume"]:
            raise ActionError(f"the tagged volume {volume['VolumeId']} is not the one this step made "
                              f"({result['volume']}); left alone")
        attached = [a.get("InstanceId") for a in volume.get("Attachments") or [] if a.get("InstanceId")]
        if attached:
            raise ActionError(f"volume {volume['VolumeId']} is attached to {', '.join(attached)}: detach it "
                              "first (undo never detaches a volume someone is using)")
        ctx.client("ec2", step.target.region).delete_volume(VolumeId=volume["VolumeId"])
        return {"deleted": volume["VolumeId"]}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"restored": False}


def _head(client: Any, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
    """HeadObject; None when the key (or version) is absent or its newest version is a delete marker."""
    try:
        extra = {"VersionId": version_id} if version_id else {}
        response: dict[str, Any] = client.head_object(Bucket=bucket, Key=key, **extra)
        return response
    except ClientError as exc:
        # A delete marker answers 404 (NoSuchKey) or 405 (MethodNotAllowed) to HEAD.
        if error_code(exc) in ("404", "NoSuchKey", "NoSuchVersion", "405", "MethodNotAllowed", "400"):
            return None
        raise


@register
class RestoreObjectVersion(Action):
    name = "s3.restore-object-version"
    title = "Make the object's version from before the incident current again (CopyObject of that version)"
    resource_type = "AWS::S3::Object"
    permissions = ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:ListBucketVersions")
    reversible = True
    how_to_undo = "delete the version the restore made (DeleteObject with its VersionId)"
    undo_permissions = ("s3:DeleteObjectVersion", "s3:GetObjectVersion", "s3:GetObject")

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        client = ctx.client("s3", step.target.region)
        bucket, key, version = str(step.params["bucket"]), str(step.params["key"]), str(step.params["version_id"])
        source = _head(client, bucket, key, version)
        current = _head(client, bucket, key)
        same = bool(source and current and (
            current.get("VersionId") == version
            or (current.get("ETag") == source.get("ETag") and current.get("ContentLength") == source.get(
                "ContentLength"))))
        return {"source_exists": source is not None, "current_is_source": same,
                "current_version": current.get("VersionId") if current else None}

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        bucket, key, version = str(step.params["bucket"]), str(step.params["key"]), str(step.params["version_id"])
        response = ctx.client("s3", step.target.region).copy_object(
            Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key, "VersionId": version},
            MetadataDirective="COPY", TaggingDirective="COPY")
        return {"new_version_id": response.get("VersionId"), "restored_version": version, "bucket": bucket,
                "key": key}

    def verify(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
        state = self.observe(ctx, step)
        made = result.get("new_version_id")
        return bool(state["current_is_source"] or (made and state["current_version"] == made)), state

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        made = result.get("new_version_id")
        if not made:
            raise ActionError("the restore's new version id is not in the journal (unversioned bucket?)")
        ctx.client("s3", step.target.region).delete_object(
            Bucket=str(step.params["bucket"]), Key=str(step.params["key"]), VersionId=str(made))
        return {"deleted_version": made}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"current_is_source": False}
