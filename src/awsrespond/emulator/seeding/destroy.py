"""What the attacker destroys: a legitimate data volume (with its earlier snapshot) deleted in the window.

The baseline gets a detached EBS data volume in the primary region and a snapshot of it, both before
T; the attacker deletes the volume with the CI key (DeleteVolume, recorded like every other call).
The ground truth lists the volume in ``destroyed`` with the snapshot it can be restored from.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import error_code
from awsrespond.emulator.seeding.actor import Actor
from awsrespond.emulator.seeding.ec2_records import ec2_response, epoch_ms
from awsrespond.emulator.seeding.ground_truth import Destroyed, SeededScenario
from awsrespond.emulator.seeding.run import Run


def _tag_set(tags: dict[str, str]) -> dict[str, Any]:
    return {"items": [{"key": k, "value": v} for k, v in tags.items()]}


def seed_data_volume(run: Run, admin: Actor) -> None:
    """The baseline's data volume and its snapshot (before T), when the scenario has one."""
    spec = run.scenario.baseline.data_volume
    if spec is None:
        return
    zone = f"{run.primary}a"
    tags = {"Name": spec.name, "Environment": "production"}
    params: dict[str, Any] = {
        "AvailabilityZone": zone, "Size": spec.size_gib, "VolumeType": spec.volume_type,
        "TagSpecifications": [{"ResourceType": "volume", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
    }
    request: dict[str, Any] = {"size": spec.size_gib, "zone": zone, "volumeType": spec.volume_type, "encrypted": False,
                               "tagSpecificationSet": {"items": [{"resourceType": "volume",
                                                                  "tags": _tag_set(tags)["items"]}]}}
    if spec.iops:
        params["Iops"] = request["iops"] = spec.iops
    volume = admin.call(
        "ec2", run.primary, "CreateVolume", params, request=request,
        response=lambda r: ec2_response(
            volumeId=r["VolumeId"], size=r.get("Size"), zone=r.get("AvailabilityZone"), status="creating",
            createTime=epoch_ms(r.get("CreateTime")), volumeType=r.get("VolumeType"), iops=r.get("Iops"),
            encrypted=False, tagSet=_tag_set(tags),
        ),
    )
    volume_id = volume["VolumeId"]
    description = f"nightly backup of {spec.name}"
    snapshot = admin.call(
        "ec2", run.primary, "CreateSnapshot", {"VolumeId": volume_id, "Description": description},
        response=lambda r: ec2_response(
            snapshotId=r["SnapshotId"], volumeId=r["VolumeId"], status="pending",
            startTime=epoch_ms(r.get("StartTime")), progress="", ownerId=run.account_id,
            volumeSize=r.get("VolumeSize"), encrypted=False, description=description,
        ),
    )
    run.legit("AWS::EC2::Snapshot", snapshot["SnapshotId"], run.primary, description)
    run.data_volumes[volume_id] = Destroyed(
        type="AWS::EC2::Volume", id=volume_id, region=run.primary, name=spec.name, event_name="DeleteVolume",
        availability_zone=zone, restore_from=snapshot["SnapshotId"], tags=tags,
    )


def delete_volumes(run: Run, actor: Actor) -> None:
    """The attacker deletes the baseline's data volume (when the scenario says so)."""
    if not run.scenario.attacker.delete_volumes:
        return
    for volume_id, destroyed in run.data_volumes.items():
        actor.call("ec2", destroyed.region, "DeleteVolume", {"VolumeId": volume_id},
                   response=lambda r: ec2_response(_return=True))
        run.destroyed.append(destroyed)


def check_destroyed(factory: ClientFactory, seeded: SeededScenario) -> list[str]:
    """Each destroyed volume is gone, and the snapshot it can be restored from is there, from before T."""
    problems: list[str] = []
    for item in seeded.destroyed:
        ec2 = factory.client("ec2", item.region)
        try:
            ec2.describe_volumes(VolumeIds=[item.id])
            problems.append(f"destroyed volume {item.id} still exists")
        except ClientError as exc:
            if error_code(exc) != "InvalidVolume.NotFound":
                raise
        snapshots = ec2.describe_snapshots(OwnerIds=["self"], Filters=[
            {"Name": "volume-id", "Values": [item.id]}])["Snapshots"]
        if [s["SnapshotId"] for s in snapshots] != [item.restore_from]:
            problems.append(f"destroyed volume {item.id}: snapshots {[s['SnapshotId'] for s in snapshots]}, "
                            f"expected [{item.restore_from}]")
        elif not snapshots[0]["StartTime"] < seeded.incident_start:
            problems.append(f"snapshot {item.restore_from} started {snapshots[0]['StartTime']}, not before T")
    return problems
