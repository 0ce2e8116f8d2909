"""Which CloudTrail sources ``awsrespond hunt`` reads.

SOURCE arguments are local files or directories, ``s3://bucket/prefix``, or ``lookup`` (the
LookupEvents API in every enabled region). With none, the account's trail buckets are found (from
the case's triage inventory, else ``DescribeTrails`` with shadow and organization trails) and
checked: the account's folder must be listable and a log object readable. When no bucket can be
read (no trail, access denied, a bucket in another account such as an organization's log archive),
the hunt falls back to LookupEvents, and the plan's notes say why.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import ErrorKind, classify_error, describe_error, error_code
from awsrespond.aws.regions import plan_regions
from awsrespond.case.workspace import Case
from awsrespond.coverage import CoverageGap, GapKind, gap_kind
from awsrespond.timeutil import iso
from awsrespond.trail.lookup import API as LOOKUP_API
from awsrespond.trail.s3 import S3Location

LOOKUP = "lookup"
TRAIL_TYPE = "AWS::CloudTrail::Trail"
# What finding the trails calls (LookupEvents declares its own), and what reading a trail bucket
# needs on that bucket (ListObjectsV2 is authorised by s3:ListBucket).
PERMISSIONS = ("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus")
BUCKET_PERMISSIONS = ("s3:GetObject", "s3:ListBucket")


@dataclass(frozen=True)
class Trail:
    name: str
    bucket: str | None
    prefix: str
    organization: bool = False
    logging: bool | None = None
    stopped: str | None = None  # when logging was last stopped, as CloudTrail said


@dataclass(frozen=True)
class TrailBucket:
    """A trail's delivery folder for this account, checked readable."""

    trails: tuple[str, ...]
    location: S3Location

    @property
    def url(self) -> str:
        return self.location.url(self.location.prefix)


@dataclass
class SourcePlan:
    files: list[Path] = field(default_factory=list)
    s3: list[S3Location] = field(default_factory=list)
    lookup: bool = False
    lookup_regions: list[str] = field(default_factory=list)
    buckets: list[TrailBucket] = field(default_factory=list)
    """Trail buckets found by discovery (their locations are also in ``s3``)."""
    discovered: bool = False
    """True when no SOURCE was given and the sources were found in the account."""
    notes: list[str] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.files or self.s3 or self.lookup)

    @property
    def needs_aws(self) -> bool:
        """Whether credentials are needed: reading files needs none."""
        return self.empty or bool(self.s3) or self.lookup

    def describe(self) -> list[str]:
        """One line per source, for the banner."""
        lines = [f"file: {path}" for path in self.files]
        lines += [f"s3: {location.url(location.prefix)}" for location in self.s3]
        if self.lookup:
            regions = ", ".join(self.lookup_regions) if self.lookup_regions else "every enabled region"
            lines.append(f"LookupEvents: {regions}")
        return lines


def parse_sources(arguments: Sequence[str]) -> SourcePlan:
    """SOURCE arguments as given; no AWS call. ``lookup`` is the keyword (``./lookup`` is a path)."""
    plan = SourcePlan()
    for argument in dict.fromkeys(arguments):
        if argument == LOOKUP:
            plan.lookup = True
            if Path(argument).exists():
                plan.notes.append("'lookup' read as the LookupEvents API; write ./lookup for the local path")
        elif argument.startswith("s3://"):
            location = S3Location.parse(argument)
            if location not in plan.s3:
                plan.s3.append(location)
        else:
            plan.files.append(Path(argument))
    return plan


def resolve_sources(
    plan: SourcePlan,
    factory: ClientFactory,
    *,
    account_id: str,
    case: Case | None = None,
    regions: list[str] | None = None,
    partition: str = "aws",
) -> SourcePlan:
    """Fill in what needs AWS: the trail buckets when no source was given, and LookupEvents' regions."""
    if plan.empty:
        plan.discovered = True
        _discover_buckets(plan, factory, account_id, case)
        if not plan.buckets:
            plan.lookup = True
    if plan.lookup and not plan.lookup_regions:
        region_plan = plan_regions(factory, regions, partition)
        plan.lookup_regions = list(region_plan.enabled)
        plan.notes.extend(region_plan.notes)
        plan.gaps.extend(
            CoverageGap(kind=GapKind.NOT_ENABLED, scope=LOOKUP_API, region=region,
                        message="opt-in region not enabled for this account (DescribeRegions)")
            for region in region_plan.not_enabled
        )
    return plan


def _discover_buckets(plan: SourcePlan, factory: ClientFactory, account_id: str, case: Case | None) -> None:
    trails = trails_from_case(case) if case is not None else []
    if trails:
        plan.notes.append(f"trails from the case's triage inventory ({case.root / 'triage.json' if case else ''})")
    else:
        trails = _describe_trails(plan, factory)
    if not trails:
        plan.notes.append("no CloudTrail trail in this account: reading the LookupEvents API instead "
                          "(90 days of management events)")
        return
    found: dict[tuple[str, str], TrailBucket] = {}
    for trail in trails:
        if trail.logging is False:
            stopped = f" since {trail.stopped}" if trail.stopped else ""
            plan.notes.append(f"trail {trail.name} is not logging{stopped}: later events are only in LookupEvents; "
                              "add 'lookup' as a source to read them")
        if not trail.bucket:
            continue
        folder = _probe(plan, factory, account_id, trail)
        if folder is None:
            continue
        key = (folder.bucket, folder.prefix)
        known = found.get(key)
        found[key] = TrailBucket(trails=(*known.trails, trail.name) if known else (trail.name,), location=folder)
    plan.buckets = list(found.values())
    plan.s3.extend(bucket.location for bucket in plan.buckets)
    for bucket in plan.buckets:
        plan.notes.append(f"reading trail {', '.join(bucket.trails)} from {bucket.url}")
    if not plan.buckets:
        plan.notes.append("no trail bucket could be read: reading the LookupEvents API instead "
                          "(90 days of management events, no data events)")


def trails_from_case(case: Case) -> list[Trail]:
    """The trails triage recorded in the case (each once, by its home region)."""
    triage = case.read_json("triage.json")
    items = (triage or {}).get("inventory", {}).get(TRAIL_TYPE, []) if isinstance(triage, dict) else []
    trails: list[Trail] = []
    for item in items:
        data: dict[str, Any] = item.get("data") or {}
        trails.append(Trail(
            name=str(item.get("arn") or data.get("name") or item.get("id")),
            bucket=data.get("s3_bucket"),
            prefix=data.get("s3_key_prefix") or "",
            organization=bool(data.get("is_organization_trail")),
            logging=data.get("is_logging"),
            stopped=data.get("stop_logging_time"),
        ))
    return trails


def _describe_trails(plan: SourcePlan, factory: ClientFactory) -> list[Trail]:
    region = factory.default_region
    try:
        listing = factory.client("cloudtrail", region).describe_trails(includeShadowTrails=True)
    except (ClientError, BotoCoreError) as exc:
        plan.gaps.append(CoverageGap(kind=gap_kind(classify_error(exc)), scope="cloudtrail:DescribeTrails",
                                     region=region, message=describe_error(exc)))
        plan.notes.append(f"cloudtrail:DescribeTrails failed in {region} ({describe_error(exc)}): "
                          "the trail buckets are unknown")
        return []
    trails: list[Trail] = []
    for entry in listing.get("trailList", []):
        name = entry.get("TrailARN") or entry["Name"]
        logging, stopped = _status(factory, name, entry.get("HomeRegion") or region)
        trails.append(Trail(
            name=name,
            bucket=entry.get("S3BucketName"),
            prefix=entry.get("S3KeyPrefix") or "",
            organization=bool(entry.get("IsOrganizationTrail")),
            logging=logging,
            stopped=stopped,
        ))
    return trails


def _status(factory: ClientFactory, name: str, region: str) -> tuple[bool | None, str | None]:
    """Whether the trail is logging; unknown when the status cannot be read (the trail is still read)."""
    try:
        status = factory.client("cloudtrail", region).get_trail_status(Name=name)
    except (ClientError, BotoCoreError):
        return None, None
    stopped = status.get("StopLoggingTime")
    return status.get("IsLogging"), iso(stopped) if isinstance(stopped, datetime) else None


def _probe(plan: SourcePlan, factory: ClientFactory, account_id: str, trail: Trail) -> S3Location | None:
    """This account's delivery folder in the trail's bucket, if it is listable and a log readable."""
    assert trail.bucket
    bucket = trail.bucket
    s3 = factory.client("s3")
    logs = f"{trail.prefix.strip('/')}/AWSLogs/" if trail.prefix.strip("/") else "AWSLogs/"
    try:
        for folder in _account_folders(s3, bucket, logs, account_id):
            first = s3.list_objects_v2(Bucket=bucket, Prefix=f"{folder}CloudTrail/", MaxKeys=1).get("Contents", [])
            if not first:
                continue
            # Listing is not reading: fetch one byte of a log (SSE-KMS logs also need kms:Decrypt).
            s3.get_object(Bucket=bucket, Key=first[0]["Key"], Range="bytes=0-0")
            return S3Location(bucket=bucket, prefix=folder)
    except (ClientError, BotoCoreError) as exc:
        _unreadable(plan, factory, trail, exc)
        return None
    plan.notes.append(f"trail {trail.name}: s3://{bucket}/{logs} holds no CloudTrail logs for account {account_id}")
    return None


def _account_folders(s3: Any, bucket: str, logs: str, account_id: str) -> Iterator[str]:
    """``AWSLogs/<account>/``, then the organization layout ``AWSLogs/<org id>/<account>/``."""
    yield f"{logs}{account_id}/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=logs, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            if common["Prefix"][len(logs):].startswith("o-"):
                yield f"{common['Prefix']}{account_id}/"


def _unreadable(plan: SourcePlan, factory: ClientFactory, trail: Trail, exc: ClientError | BotoCoreError) -> None:
    last = factory.last_call()
    operation = getattr(exc, "operation_name", None) or (last.operation if last else "ListObjectsV2")
    action = {"ListObjectsV2": "s3:ListBucket", "GetObject": "s3:GetObject"}.get(operation, f"s3:{operation}")
    why = describe_error(exc)
    kind = classify_error(exc)
    if error_code(exc) == "NoSuchBucket":
        hint = " (the bucket no longer exists: deleted by the attacker?)"
    elif kind is ErrorKind.ACCESS_DENIED and "kms" in why.lower():
        hint = " (the logs are encrypted with a KMS key this identity cannot use: kms:Decrypt is needed)"
    elif kind is ErrorKind.ACCESS_DENIED:
        hint = (" (the bucket may belong to another account, such as an organization's log archive: "
                "hunt from there, or pass s3://... with credentials that can read it)")
    else:
        hint = ""
    plan.notes.append(f"trail {trail.name}: cannot read s3://{trail.bucket}/: {action}: {why}{hint}")
    plan.gaps.append(CoverageGap(
        kind=gap_kind(kind), scope=action, region="global",
        message=f"trail bucket s3://{trail.bucket}/ of {trail.name} cannot be read: {why}",
    ))
