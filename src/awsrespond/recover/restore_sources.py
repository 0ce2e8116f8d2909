"""Where a destroyed resource can come back from: EBS snapshots, AMIs, AWS Backup recovery points, and
earlier S3 object versions - each only from before the incident window (a later one may be the attacker's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import describe_error, error_code
from awsrespond.contain.actions.base import TAG_CASE
from awsrespond.recover.actions.restore import TAG_REPLACES
from awsrespond.timeutil import coerce_instant, iso

SourceKind = Literal["ebs-snapshot", "ami", "backup-recovery-point", "s3-object-version"]


class RestoreSource(BaseModel):
    """One thing a destroyed resource can be restored from."""

    model_config = ConfigDict(extra="forbid")

    kind: SourceKind
    id: str
    created: datetime | None
    detail: str
    size_gib: int | None = None
    command: str | None = None


@dataclass
class Lookup:
    """Sources found, sources rejected (and why), and the calls that failed (named, with the console)."""

    sources: list[RestoreSource] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _failed(operation: str, region: str, exc: ClientError | BotoCoreError, console: str) -> str:
    said = " ".join(describe_error(exc).split())  # an endpoint may answer with a whole HTML page
    return f"{operation} in {region} failed ({said[:200]}); check in the console: {console}"


def ec2_console(region: str, page: str) -> str:
    return f"https://{region}.console.aws.amazon.com/ec2/home?region={region}#{page}"


def volume_snapshots(factory: ClientFactory, region: str, volume_id: str, before: datetime) -> Lookup:
    """Completed snapshots of the volume started before ``before``, newest first (the tool's own excluded)."""
    found = Lookup()
    try:
        pages = factory.client("ec2", region).get_paginator("describe_snapshots").paginate(
            OwnerIds=["self"], Filters=[{"Name": "volume-id", "Values": [volume_id]}])
        snapshots = [s for page in pages for s in page.get("Snapshots", [])]
    except (ClientError, BotoCoreError) as exc:
        found.errors.append(_failed("ec2:DescribeSnapshots", region, exc, ec2_console(region, "Snapshots:")))
        return found
    good: list[tuple[datetime, dict[str, Any]]] = []
    for snapshot in snapshots:
        started = coerce_instant(snapshot.get("StartTime"))
        tags = {t.get("Key"): t.get("Value") for t in snapshot.get("Tags") or []}
        label = f"{snapshot['SnapshotId']} (started {iso(started)}, {snapshot.get('State')})"
        if TAG_CASE in tags:
            found.rejected.append(f"{label}: awsrespond's own evidence snapshot")
        elif snapshot.get("State") != "completed":
            found.rejected.append(f"{label}: not completed")
        elif started is None or not started < before:
            found.rejected.append(f"{label}: started inside the incident window (it may hold the attacker's changes)")
        else:
            good.append((started, snapshot))
    for started, snapshot in sorted(good, key=lambda p: p[0], reverse=True):
        found.sources.append(RestoreSource(
            kind="ebs-snapshot", id=snapshot["SnapshotId"], created=started, size_gib=snapshot.get("VolumeSize"),
            detail=f"snapshot of {volume_id}, {snapshot.get('VolumeSize')} GiB"
                   + (f", {snapshot['Description']!r}" if snapshot.get("Description") else ""),
            command=f"aws ec2 create-volume --region {region} --snapshot-id {snapshot['SnapshotId']} "
                    "--availability-zone <AZ>"))
    return found


def volume_exists(factory: ClientFactory, region: str, volume_id: str) -> bool:
    try:
        factory.client("ec2", region).describe_volumes(VolumeIds=[volume_id])
    except ClientError as exc:
        if error_code(exc) == "InvalidVolume.NotFound":
            return False
        raise
    return True


def earlier_restores(factory: ClientFactory, region: str, volume_id: str) -> list[str]:
    """Volumes an earlier ``recover restore`` made for this one (tagged awsrespond:replaces), still there."""
    volumes = factory.client("ec2", region).describe_volumes(
        Filters=[{"Name": f"tag:{TAG_REPLACES}", "Values": [volume_id]}]).get("Volumes", [])
    return sorted(v["VolumeId"] for v in volumes if v.get("State") not in ("deleting", "deleted", "error"))


def first_zone(factory: ClientFactory, region: str) -> str | None:
    zones = factory.client("ec2", region).describe_availability_zones(
        Filters=[{"Name": "state", "Values": ["available"]}]).get("AvailabilityZones", [])
    names = sorted(z["ZoneName"] for z in zones if z.get("ZoneName"))
    return names[0] if names else None


def backup_console(region: str) -> str:
    return f"https://{region}.console.aws.amazon.com/backup/home?region={region}#/resources"


def recovery_points(factory: ClientFactory, region: str, resource_arn: str, before: datetime) -> Lookup:
    """AWS Backup recovery points of the resource, completed before ``before``."""
    found = Lookup()
    try:
        pages = factory.client("backup", region).get_paginator("list_recovery_points_by_resource").paginate(
            ResourceArn=resource_arn)
        points = [p for page in pages for p in page.get("RecoveryPoints", [])]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return found  # AWS Backup never protected it
        found.errors.append(_failed("backup:ListRecoveryPointsByResource", region, exc, backup_console(region)))
        return found
    except BotoCoreError as exc:
        found.errors.append(_failed("backup:ListRecoveryPointsByResource", region, exc, backup_console(region)))
        return found
    for point in points:
        created = coerce_instant(point.get("CreationDate"))
        arn, vault = str(point.get("RecoveryPointArn")), str(point.get("BackupVaultName"))
        label = f"{arn} (created {iso(created)}, {point.get('Status')})"
        if point.get("Status") != "COMPLETED":
            found.rejected.append(f"{label}: not completed")
        elif created is None or not created < before:
            found.rejected.append(f"{label}: created inside the incident window")
        else:
            found.sources.append(RestoreSource(
                kind="backup-recovery-point", id=arn, created=created,
                detail=f"AWS Backup recovery point in vault {vault}",
                command=(f"aws backup get-recovery-point-restore-metadata --region {region} --backup-vault-name "
                         f"{vault} --recovery-point-arn {arn} > metadata.json; aws backup start-restore-job "
                         f"--region {region} --recovery-point-arn {arn} --iam-role-arn <restore role ARN> "
                         "--metadata file://metadata.json")))
    found.sources.sort(key=lambda s: s.created or datetime.min, reverse=True)
    return found


def instance_images(factory: ClientFactory, region: str, instance: dict[str, Any], before: datetime) -> Lookup:
    """AMIs to relaunch a terminated instance from: the image it ran, and the account's own images of it,
    created before ``before``."""
    found = Lookup()
    ec2 = factory.client("ec2", region)
    instance_id = str(instance["instance_id"])
    images: list[dict[str, Any]] = []
    try:
        if instance.get("image_id"):
            images += ec2.describe_images(Owners=["self"], Filters=[
                {"Name": "image-id", "Values": [str(instance["image_id"])]}]).get("Images", [])
        images += ec2.describe_images(Owners=["self"], Filters=[
            {"Name": "source-instance-id", "Values": [instance_id]}]).get("Images", [])
    except (ClientError, BotoCoreError) as exc:
        found.errors.append(_failed("ec2:DescribeImages", region, exc, ec2_console(region, "Images:")))
        return found
    seen: set[str] = set()
    for image in images:
        if image["ImageId"] in seen:
            continue
        seen.add(image["ImageId"])
        created = coerce_instant(image.get("CreationDate"))
        if image.get("State") != "available" or created is None or not created < before:
            found.rejected.append(f"{image['ImageId']} ({image.get('State')}, created {iso(created)}): not an "
                                  "available image from before the incident window")
            continue
        launch = f"aws ec2 run-instances --region {region} --image-id {image['ImageId']}"
        if instance.get("instance_type"):
            launch += f" --instance-type {instance['instance_type']}"
        if instance.get("subnet_id"):
            launch += f" --subnet-id {instance['subnet_id']}"
        found.sources.append(RestoreSource(
            kind="ami", id=image["ImageId"], created=created,
            detail=f"image {image.get('Name') or ''} of {instance_id}".replace("  ", " "),
            command=launch + " (add its security groups, key pair and instance profile as they were)"))
    found.sources.sort(key=lambda s: s.created or datetime.min, reverse=True)
    return found


def bucket_versioning(factory: ClientFactory, region: str, bucket: str) -> str:
    return str(factory.client("s3", region).get_bucket_versioning(Bucket=bucket).get("Status") or "never enabled")


def object_version_before(factory: ClientFactory, region: str, bucket: str, key: str, when: datetime,
                          made_by_attacker: set[str]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the version that was current just before ``when``, the current version or delete marker).

    CloudTrail times have whole seconds: a version of the same second counts as before only when its id
    is known not to be the attacker's (their PutObject's response named the version it made).
    """
    pages = factory.client("s3", region).get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
    versions: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for page in pages:
        for kind in ("Versions", "DeleteMarkers"):
            for item in page.get(kind, []):
                if item.get("Key") != key:
                    continue
                entry = {**item, "delete_marker": kind == "DeleteMarkers"}
                if item.get("IsLatest"):
                    current = entry
                if kind == "Versions":
                    versions.append(entry)
    second = when.replace(microsecond=0)
    earlier = []
    for version in versions:
        modified = coerce_instant(version.get("LastModified"))
        if modified is None or version.get("VersionId") in made_by_attacker:
            continue
        if modified.replace(microsecond=0) < second or (made_by_attacker and modified.replace(microsecond=0) == second):
            earlier.append((modified, version))
    chosen = max(earlier, key=lambda p: p[0])[1] if earlier else None
    return chosen, current
