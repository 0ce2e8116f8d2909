"""``recover restore``: what the attacker destroyed or overwrote, what each can be restored from, and the plan.

From the case (hunt's attacker sessions and the event store, DESIGN.md 3): EBS volumes the attacker
deleted come back as new volumes from their newest completed snapshot started before the incident window,
in the same AZ with the old size, type and tags where the case's events give them; S3 objects the
attacker deleted or overwrote get the version that was current before the event made current again.
Instances the attacker terminated and other destroyed resources are listed with the AMIs and AWS Backup
recovery points they can come back from, and the command to run (a relaunch needs choices only a person
can make). Everything destroyed with no restore source is listed with the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import describe_error
from awsrespond.aws.identity import CallerIdentity
from awsrespond.case.workspace import Case
from awsrespond.contain.model import Step, Target
from awsrespond.recover.changes import ChangeSet
from awsrespond.recover.restore_events import (
    INSTANCE,
    OBJECT,
    VOLUME,
    Destruction,
    case_destructions,
    instance_origin,
    volume_origin,
)
from awsrespond.recover.restore_sources import (
    Lookup,
    RestoreSource,
    bucket_versioning,
    earlier_restores,
    ec2_console,
    first_zone,
    instance_images,
    object_version_before,
    recovery_points,
    volume_exists,
    volume_snapshots,
)
from awsrespond.timeutil import iso

COMMAND = "recover restore"
CREATE_VOLUME = "ec2.create-volume-from-snapshot"
RESTORE_OBJECT = "s3.restore-object-version"
_ARN_SERVICE = {VOLUME: ("ec2", "volume/"), INSTANCE: ("ec2", "instance/"), "AWS::EC2::Snapshot": ("ec2", "snapshot/"),
                "AWS::RDS::DBInstance": ("rds", "db:"), "AWS::RDS::DBCluster": ("rds", "cluster:"),
                "AWS::DynamoDB::Table": ("dynamodb", "table/"),
                "AWS::EFS::FileSystem": ("elasticfilesystem", "file-system/")}


class DestroyedResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="CloudFormation type; AWS::S3::Object ids are bucket/key")
    id: str
    region: str
    arn: str | None = None
    event_name: str = Field(description="The attacker's call that destroyed or overwrote it")
    event_id: str
    destroyed_at: datetime
    by: str | None = Field(description="The principal (ARN) that made the call")
    credential: str
    source_ip: str | None
    session: str


class RestoreCandidate(DestroyedResource):
    restore_from: RestoreSource | None = Field(description="What the plan restores from (None: by hand)")
    other_sources: list[RestoreSource] = Field(default_factory=list)
    step: str | None = Field(default=None, description="The plan step that restores it")
    action: str | None = None
    note: str = ""


class NotRestorable(DestroyedResource):
    reason: str
    checked: list[str] = Field(default_factory=list, description="What was looked at and rejected")


class RestoreDocument(BaseModel):
    """What ``recover restore --format json`` prints and ``recovery/restore.json`` in the case holds."""

    model_config = ConfigDict(extra="forbid")

    case: str
    window_since: datetime | None = Field(description="Sources must be older than this")
    candidates: list[RestoreCandidate]
    not_restorable: list[NotRestorable]
    coverage: list[str] = Field(description="What could not be checked (failed calls, missing events)")
    notes: list[str]
    plan_id: str | None = None
    steps: list[Step] = Field(default_factory=list)
    applied: bool | None = Field(default=None, description="None: not applied; else whether every step verified")


def _arn(identity: CallerIdentity, item: Destruction) -> str | None:
    if item.type == OBJECT:
        return f"arn:{identity.partition}:s3:::{item.id}"
    if item.type == "AWS::S3::Bucket":
        return f"arn:{identity.partition}:s3:::{item.id}"
    if item.type == "AWS::EC2::Image":
        return f"arn:{identity.partition}:ec2:{item.region}::image/{item.id}"
    service = _ARN_SERVICE.get(item.type)
    if service is None:
        return None
    return f"arn:{identity.partition}:{service[0]}:{item.region}:{identity.account_id}:{service[1]}{item.id}"


def _base(identity: CallerIdentity, item: Destruction) -> dict[str, Any]:
    return {"type": item.type, "id": item.id, "region": item.region, "arn": _arn(identity, item),
            "event_name": item.event_name, "event_id": item.event_id, "destroyed_at": item.time,
            "by": item.principal, "credential": item.credential, "source_ip": item.source_ip,
            "session": item.session}


class _Planner:
    def __init__(self, case: Case, factory: ClientFactory, identity: CallerIdentity, since: datetime | None) -> None:
        self.case, self.factory, self.identity, self.since = case, factory, identity, since
        self.changes = ChangeSet(command=COMMAND)
        self.candidates: list[RestoreCandidate] = []
        self.lost: list[NotRestorable] = []
        self.coverage: list[str] = []
        self.notes: list[str] = []

    def before(self, item: Destruction) -> datetime:
        """Sources must predate the window (and of course the destruction itself)."""
        return min(self.since, item.time) if self.since else item.time

    def backup(self, item: Destruction) -> Lookup:
        arn = _arn(self.identity, item)
        if arn is None or item.type == OBJECT:
            return Lookup()
        found = recovery_points(self.factory, item.region, arn, self.before(item))
        self.coverage += found.errors
        return found

    def lost_item(self, item: Destruction, reason: str, checked: list[str]) -> None:
        self.lost.append(NotRestorable(**_base(self.identity, item), reason=reason, checked=checked))

    # -- EBS volumes ------------------------------------------------------------------------------
    def volume(self, item: Destruction) -> None:
        if volume_exists(self.factory, item.region, item.id):
            self.notes.append(f"volume {item.id} ({item.region}) was deleted by {item.principal} but exists now: "
                              "nothing to restore")
            return
        made = earlier_restores(self.factory, item.region, item.id)
        if made:
            self.notes.append(f"volume {item.id} ({item.region}) was already restored as {', '.join(made)}")
            return
        before = self.before(item)
        snapshots = volume_snapshots(self.factory, item.region, item.id, before)
        self.coverage += snapshots.errors
        backup = self.backup(item)
        checked = snapshots.rejected + backup.rejected
        if not snapshots.sources:
            if backup.sources:
                self.candidates.append(RestoreCandidate(
                    **_base(self.identity, item), restore_from=None, other_sources=backup.sources,
                    note="no snapshot from before the window; restore from AWS Backup with the command given"))
                return
            where = "" if not snapshots.errors else " (the snapshot listing failed: see coverage)"
            self.lost_item(item, f"no completed snapshot of {item.id} started before {iso(before)} and no AWS "
                                 f"Backup recovery point{where}", checked)
            return
        chosen, others = snapshots.sources[0], snapshots.sources[1:] + backup.sources
        origin = volume_origin(self.case, item.id)
        zone, note = origin.get("availability_zone"), ""
        if not zone:
            zone = first_zone(self.factory, item.region)
            note = (f"the case's events do not say which AZ {item.id} was in (no CreateVolume event): restoring "
                    f"into {zone}; an instance can only attach it in that AZ")
        if not zone:
            self.lost_item(item, f"no available AZ in {item.region} to restore into", checked)
            return
        size = origin.get("size")
        size = int(size) if isinstance(size, int | str) and str(size).isdigit() else None
        params: dict[str, Any] = {
            "snapshot_id": chosen.id, "availability_zone": zone,
            "size": size if size and size >= (chosen.size_gib or 0) else None,
            "volume_type": origin.get("volume_type"), "iops": origin.get("iops"),
            "throughput": origin.get("throughput"), "tags": origin.get("tags") or {},
        }
        if not origin:
            note = (note + "; " if note else "") + "size, type and tags unknown: the volume takes the snapshot's " \
                                                   "size and the default type"
        step = self.changes.add(
            CREATE_VOLUME, Target(type=VOLUME, id=item.id, region=item.region, arn=_arn(self.identity, item)),
            expect={"restored": False, "snapshot_state": "completed"}, post={"restored": True},
            params={k: v for k, v in params.items() if v not in (None, "")},
            reason=f"{item.id} deleted at {iso(item.time)} by {item.principal}: new volume from {chosen.id} "
                   f"(started {iso(chosen.created)}) in {zone}",
            why=[item.event_id])
        self.candidates.append(RestoreCandidate(
            **_base(self.identity, item), restore_from=chosen, other_sources=others, step=step,
            action=CREATE_VOLUME, note=note))

    # -- instances --------------------------------------------------------------------------------
    def instance(self, item: Destruction) -> None:
        origin = {"instance_id": item.id, **instance_origin(self.case, item.id)}
        try:
            reservations = self.factory.client("ec2", item.region).describe_instances(
                InstanceIds=[item.id]).get("Reservations", [])
            for described in (i for r in reservations for i in r.get("Instances", [])):
                origin.setdefault("image_id", described.get("ImageId"))
                origin.setdefault("instance_type", described.get("InstanceType"))
                origin.setdefault("subnet_id", described.get("SubnetId"))
                if described.get("State", {}).get("Name") not in ("terminated", "shutting-down"):
                    self.notes.append(f"instance {item.id} ({item.region}) was terminated by {item.principal} "
                                      "but is running now: nothing to restore")
                    return
        except ClientError as exc:
            if "NotFound" not in str(exc.response.get("Error", {}).get("Code", "")):
                self.coverage.append(f"ec2:DescribeInstances in {item.region} failed ({describe_error(exc)})")
        images = instance_images(self.factory, item.region, origin, self.before(item))
        self.coverage += images.errors
        backup = self.backup(item)
        sources = images.sources + backup.sources
        if not sources:
            self.lost_item(item, f"no AMI of {item.id} from before {iso(self.before(item))} and no AWS Backup "
                                 "recovery point; its volumes' snapshots, if any, are under ec2 Snapshots",
                           images.rejected + backup.rejected)
            return
        self.candidates.append(RestoreCandidate(
            **_base(self.identity, item), restore_from=None, other_sources=sources,
            note="relaunching needs its network, key pair and instance profile chosen by a person: run the "
                 "command of the source you choose (not planned)"))

    # -- S3 objects -------------------------------------------------------------------------------
    def s3_object(self, item: Destruction, attacker_versions: set[str]) -> None:
        bucket, key = str(item.details["bucket"]), str(item.details["key"])
        try:
            status = bucket_versioning(self.factory, item.region, bucket)
            chosen, current = object_version_before(self.factory, item.region, bucket, key, item.time,
                                                    attacker_versions)
        except (ClientError, BotoCoreError) as exc:
            self.coverage.append(f"s3 versions of s3://{bucket}/{key} in {item.region} could not be read "
                                 f"({describe_error(exc)}); check https://s3.console.aws.amazon.com/s3/buckets/"
                                 f"{bucket}?region={item.region}&showversions=true")
            return
        if chosen is None:
            reason = (f"bucket {bucket} versioning is {status}: the object as it was is gone"
                      if status != "Enabled" else f"no version of the object older than {iso(item.time)}")
            self.lost_item(item, reason, [])
            return
        if current is not None and not current["delete_marker"] and current.get("VersionId") == chosen["VersionId"]:
            self.notes.append(f"s3://{bucket}/{key}: the version from before the attack is current again")
            return
        source = RestoreSource(
            kind="s3-object-version", id=str(chosen["VersionId"]), created=chosen.get("LastModified"),
            detail=f"s3://{bucket}/{key} version {chosen['VersionId']} ({chosen.get('Size')} bytes, "
                   f"ETag {chosen.get('ETag')})",
            command=f"aws s3api copy-object --bucket {bucket} --key {key} --copy-source "
                    f"'{bucket}/{key}?versionId={chosen['VersionId']}'")
        step = self.changes.add(
            RESTORE_OBJECT, Target(type=OBJECT, id=item.id, region=item.region, arn=_arn(self.identity, item)),
            expect={"current_is_source": False, "source_exists": True}, post={"current_is_source": True},
            params={"bucket": bucket, "key": key, "version_id": chosen["VersionId"]},
            reason=f"{item.event_name} at {iso(item.time)} by {item.principal}: make version "
                   f"{chosen['VersionId']} current again", why=[item.event_id])
        self.candidates.append(RestoreCandidate(**_base(self.identity, item), restore_from=source, step=step,
                                                action=RESTORE_OBJECT))

    # -- the rest ---------------------------------------------------------------------------------
    def other(self, item: Destruction) -> None:
        backup = self.backup(item)
        if backup.sources:
            self.candidates.append(RestoreCandidate(**_base(self.identity, item), restore_from=None,
                                                    other_sources=backup.sources,
                                                    note="restore from AWS Backup with the command given"))
            return
        self.lost_item(item, f"awsrespond restores no {item.type} itself, and AWS Backup has no recovery point "
                             f"of it from before the window", backup.rejected)


def plan_restore(case: Case, factory: ClientFactory, identity: CallerIdentity) -> tuple[RestoreDocument, ChangeSet]:
    """Read-only: the candidates, what cannot be restored, and the change set that restores what can."""
    found = case_destructions(case)
    planner = _Planner(case, factory, identity, found.window_since)
    planner.notes += found.notes
    if found.has_store and not found.s3_data_events:
        planner.coverage.append("the case has no S3 data events (the trail logs none, or they were not loaded): "
                                "objects deleted or overwritten in the window cannot be named; check the buckets' "
                                "versions by hand")
    attacker_versions = {str(d.details["version_made"]) for d in found.items if d.details.get("version_made")}
    for item in found.items:
        try:
            if item.type == VOLUME:
                planner.volume(item)
            elif item.type == INSTANCE:
                planner.instance(item)
            elif item.type == OBJECT:
                planner.s3_object(item, attacker_versions)
            else:
                planner.other(item)
        except (ClientError, BotoCoreError) as exc:
            console = f"; check {ec2_console(item.region, 'Home:')}" if item.type.startswith("AWS::EC2") else ""
            planner.coverage.append(f"{item.type} {item.id} ({item.region}) could not be checked: "
                                    f"{describe_error(exc)}{console}")
    for note in planner.notes:
        planner.changes.note(note)
    document = RestoreDocument(case=case.case_id, window_since=found.window_since, candidates=planner.candidates,
                               not_restorable=planner.lost, coverage=planner.coverage, notes=planner.notes)
    return document, planner.changes
