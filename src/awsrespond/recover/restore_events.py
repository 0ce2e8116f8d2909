"""What the attacker destroyed or overwrote, from the case: hunt's sessions and the case's event store.

A destructive call counts when an attacker session made it (``hunt.json``), it did not fail, and it hit
something the sessions did not create themselves (an attacker deleting its own volume is no loss).
The full records (request parameters, response elements) come from the case's event store.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from awsrespond.attribution import case_sessions
from awsrespond.case.workspace import Case
from awsrespond.contain.planner.events import case_event_reader
from awsrespond.findings import Classification
from awsrespond.hunt.session_model import AttackerSession
from awsrespond.timeutil import as_utc, coerce_instant
from awsrespond.trail.stored import case_store_path, connect_readonly

VOLUME, INSTANCE, OBJECT, OTHER = "AWS::EC2::Volume", "AWS::EC2::Instance", "AWS::S3::Object", "other"
DESTRUCTIVE = {
    "DeleteVolume": VOLUME,
    "TerminateInstances": INSTANCE,
    "DeleteObject": OBJECT,
    "DeleteObjects": OBJECT,
    "PutObject": OBJECT,
    "CopyObject": OBJECT,
    "DeleteSnapshot": "AWS::EC2::Snapshot",
    "DeregisterImage": "AWS::EC2::Image",
    "DeleteBucket": "AWS::S3::Bucket",
    "DeleteDBInstance": "AWS::RDS::DBInstance",
    "DeleteDBCluster": "AWS::RDS::DBCluster",
    "DeleteTable": "AWS::DynamoDB::Table",
    "DeleteFileSystem": "AWS::EFS::FileSystem",
}
"""Event name -> the type of what it destroys or overwrites."""
S3_DATA_EVENTS = ("GetObject", "PutObject", "DeleteObject", "DeleteObjects", "CopyObject", "HeadObject")


@dataclass(frozen=True)
class Destruction:
    """One resource an attacker call destroyed or overwrote."""

    type: str
    id: str  # volume id, instance id, "bucket/key" for S3 objects
    region: str
    event_name: str
    event_id: str
    time: datetime
    session: str
    credential: str
    principal: str | None
    source_ip: str | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseDestructions:
    items: list[Destruction]
    window_since: datetime | None
    has_sessions: bool
    has_store: bool
    s3_data_events: int
    notes: list[str]


@contextmanager
def _store(case: Case) -> Iterator[duckdb.DuckDBPyConnection | None]:
    path = case_store_path(case)
    if not path.exists():
        yield None
        return
    con = connect_readonly(path)
    try:
        yield con
    finally:
        con.close()


def _dig(value: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _items(value: Any) -> list[Any]:
    if isinstance(value, dict):
        value = value.get("items")
    return value if isinstance(value, list) else []


def window_since(case: Case, sessions: list[AttackerSession]) -> datetime | None:
    """The start of the incident window: the earliest of triage's and hunt's ``since`` and the sessions' start."""
    found: list[datetime] = []
    for name in ("triage.json", "hunt.json"):
        document = case.read_json(name)
        since = coerce_instant(_dig(document, "window", "since")) if isinstance(document, dict) else None
        if since is not None:
            found.append(since)
    found += [as_utc(s.first_seen) for s in sessions if s.first_seen is not None]
    return min(found) if found else None


def _ids(record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(resource id, details) for each resource one destructive record names."""
    name, request = record["eventName"], record.get("requestParameters") or {}
    response = record.get("responseElements") or {}
    if name == "DeleteVolume":
        return [(str(request["volumeId"]), {})] if request.get("volumeId") else []
    if name == "TerminateInstances":
        return [(str(i["instanceId"]), {}) for i in _items(request.get("instancesSet")) if i.get("instanceId")]
    bucket = request.get("bucketName")
    if name == "DeleteObjects":
        objects = _dig(request, "delete", "Object") or []
        objects = objects if isinstance(objects, list) else [objects]
        return [(f"{bucket}/{o['Key']}", {"bucket": bucket, "key": o["Key"]})
                for o in objects if bucket and isinstance(o, dict) and o.get("Key")]
    if name in ("DeleteObject", "PutObject", "CopyObject"):
        key = request.get("key")
        if not bucket or not key:
            return []
        made = response.get("x-amz-version-id") or _dig(record.get("additionalEventData"), "x-amz-version-id")
        return [(f"{bucket}/{key}", {"bucket": bucket, "key": key, "version_made": made})]
    for field_name in ("snapshotId", "imageId", "bucketName", "dBInstanceIdentifier", "dBClusterIdentifier",
                       "tableName", "fileSystemId"):
        if isinstance(request.get(field_name), str):
            return [(str(request[field_name]), {})]
    return []


def case_destructions(case: Case) -> CaseDestructions:
    sessions = case_sessions(case)
    since = window_since(case, sessions)
    notes: list[str] = []
    created = {(r.type, r.id) for s in sessions for r in s.created}
    findings = case.findings()
    # Attribution also knows instances EC2 launched for the attacker's spot requests.
    created |= {(f.resource.type, f.resource.id) for f in (findings.findings if findings else [])
                if f.classification is Classification.ATTACKER_CREATED}
    wanted = [(s, t) for s in sessions for t in s.timeline
              if t.event_name in DESTRUCTIVE and not t.error_code and t.event_id]
    reader = case_event_reader(case)
    with _store(case) as con:
        s3_data = 0 if con is None else int(con.execute(
            "SELECT count(*) FROM events WHERE eventSource = 's3.amazonaws.com' AND eventName IN "
            "(SELECT unnest(?::VARCHAR[]))", [list(S3_DATA_EVENTS)]).fetchone()[0])  # type: ignore[index]
    if not sessions:
        notes.append("the case has no attacker sessions (run `awsrespond hunt` over the trail first): without "
                      "CloudTrail attribution nothing destroyed can be named")
    if wanted and reader is None:
        notes.append("the case has attacker sessions but no event store: the destroyed resources' ids cannot be read")
    records = {r["eventID"]: r for r in (reader([t.event_id for _, t in wanted if t.event_id]) if reader else [])}
    items: list[Destruction] = []
    seen: set[tuple[str, str, str]] = set()
    for session, entry in sorted(wanted, key=lambda p: p[1].time):
        record = records.get(entry.event_id or "")
        if record is None:
            continue
        kind = DESTRUCTIVE[str(record["eventName"])]
        region = str(record.get("awsRegion") or entry.region or "")
        for resource_id, details in _ids(record):
            if (kind, resource_id) in created:
                continue  # the attacker's own: nothing to restore
            key = (kind, resource_id, region)
            if key in seen:
                continue  # the first destructive call on it is what matters (the state before it)
            seen.add(key)
            items.append(Destruction(
                type=kind, id=resource_id, region=region, event_name=str(record["eventName"]),
                event_id=str(record["eventID"]), time=as_utc(entry.time), session=session.id,
                credential=entry.credential, principal=entry.principal, source_ip=entry.source_ip,
                details=details))
    return CaseDestructions(items=items, window_since=since, has_sessions=bool(sessions),
                            has_store=reader is not None, s3_data_events=s3_data, notes=notes)


def volume_origin(case: Case, volume_id: str) -> dict[str, Any]:
    """What the case's events say about a volume: its AZ, size, type and tags (from CreateVolume/CreateTags)."""
    found: dict[str, Any] = {}
    with _store(case) as con:
        if con is None:
            return found
        rows = con.execute(
            "SELECT eventName, CAST(requestParameters AS VARCHAR), CAST(responseElements AS VARCHAR) FROM events "
            "WHERE eventName IN ('CreateVolume', 'CreateTags') AND errorCode IS NULL "
            "AND (CAST(responseElements AS VARCHAR) LIKE ? OR CAST(requestParameters AS VARCHAR) LIKE ?) "
            "ORDER BY eventTime", [f"%{volume_id}%", f"%{volume_id}%"]).fetchall()
    for name, request_blob, response_blob in rows:
        request = json.loads(request_blob) if request_blob else {}
        response = json.loads(response_blob) if response_blob else {}
        if name == "CreateVolume" and response.get("volumeId") == volume_id:
            found.update({k: v for k, v in {
                "availability_zone": response.get("zone") or request.get("zone"),
                "size": response.get("size") or request.get("size"),
                "volume_type": response.get("volumeType") or request.get("volumeType"),
                "iops": response.get("iops") or request.get("iops"),
                "throughput": response.get("throughput") or request.get("throughput"),
            }.items() if v})
            tags = _items(response.get("tagSet")) or [
                t for spec in _items(request.get("tagSpecificationSet")) for t in _items(spec.get("tags"))]
            found.setdefault("tags", {}).update({str(t["key"]): str(t.get("value", "")) for t in tags if "key" in t})
        elif name == "CreateTags" and any(r.get("resourceId") == volume_id
                                          for r in _items(request.get("resourcesSet"))):
            found.setdefault("tags", {}).update(
                {str(t["key"]): str(t.get("value", "")) for t in _items(request.get("tagSet")) if "key" in t})
    return found


def instance_origin(case: Case, instance_id: str) -> dict[str, Any]:
    """The instance's image, type, AZ and subnet from its RunInstances response in the case's events."""
    with _store(case) as con:
        if con is None:
            return {}
        rows = con.execute(
            "SELECT CAST(responseElements AS VARCHAR) FROM events WHERE eventName = 'RunInstances' "
            "AND errorCode IS NULL AND CAST(responseElements AS VARCHAR) LIKE ?", [f"%{instance_id}%"]).fetchall()
    for (blob,) in rows:
        for item in _items(_dig(json.loads(blob) if blob else {}, "instancesSet")):
            if item.get("instanceId") == instance_id:
                return {k: v for k, v in {
                    "image_id": item.get("imageId"), "instance_type": item.get("instanceType"),
                    "availability_zone": _dig(item, "placement", "availabilityZone"),
                    "subnet_id": item.get("subnetId")}.items() if v}
    return {}
