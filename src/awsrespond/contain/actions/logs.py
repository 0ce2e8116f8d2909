"""Phase (a) of DESIGN.md 3.9: preserve the logs, restart what the attacker turned off.

Copying is read-only against AWS: the trail's delivery objects go byte for byte into
``<case>/logs/trail/<bucket>/<key>`` and each region's LookupEvents history into
``<case>/logs/lookup/<region>.jsonl.gz``, both listed with their SHA-256 in a manifest that verify
re-hashes. Restarting a trail and re-creating a GuardDuty detector are changes, undone by the
reverse call (which blinds the account again, and says so).
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import ErrorKind, classify_error, describe_error, error_code
from awsrespond.case.workspace import write_private
from awsrespond.contain.actions.base import Action, ActionContext, ActionError, matches, register
from awsrespond.contain.model import Step
from awsrespond.findings import EvidenceRef
from awsrespond.timeutil import as_utc, iso, parse_instant
from awsrespond.trail.lookup import PAGE_SIZE, RATE_PER_REGION, RETENTION, TokenBucket
from awsrespond.trail.s3 import S3Location, S3TrailSource

TRAIL_DIR = Path("logs") / "trail"
LOOKUP_DIR = Path("logs") / "lookup"
MANIFEST = "manifest.json"
COPY_WORKERS = 16
FLUSH_EVERY = 200  # objects between manifest writes, so a killed copy resumes where it was
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Per-object answers that leave the other objects readable: reported by URL, the copy goes on.
_OBJECT_ERRORS = frozenset({"NoSuchKey", "InvalidObjectState", "403"})
READ_ONLY = "nothing to undo: it only reads"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _locked_manifest(directory: Path) -> Iterator[dict[str, Any]]:
    """The manifest, read and written under an flock: parallel steps share it."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(directory / ".manifest.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = directory / MANIFEST
        document: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        yield document
        write_private(path, json.dumps(document, indent=1, sort_keys=True).encode(), parent_exists=True)
    finally:
        os.close(fd)


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    document: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return document


def _since(step: Step, now: datetime) -> datetime:
    text = step.params.get("since")
    return parse_instant(str(text)) if text else now - RETENTION


# -- the trail's objects -------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    key: str
    size: int
    etag: str
    modified: datetime


class _SizedSource(S3TrailSource):
    """S3TrailSource keeping each object's size, ETag and time, and letting AWS errors through."""

    def __init__(self, factory: ClientFactory, s3: Any, location: S3Location) -> None:
        super().__init__(factory, location)
        self.s3 = s3
        self.listed: dict[str, Listed] = {}
        self.error: ClientError | BotoCoreError | None = None

    def _prefixes(self, prefix: str) -> list[str]:
        try:
            return super()._prefixes(prefix)
        except (ClientError, BotoCoreError) as exc:
            self.error = exc
            raise

    def _keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.location.bucket,
                                                                          Prefix=prefix):
                for obj in page.get("Contents", []):
                    key = obj["Key"]
                    self.listed[key] = Listed(key, int(obj["Size"]), str(obj.get("ETag", "")).strip('"'),
                                              as_utc(obj["LastModified"]))
                    keys.append(key)
        except (ClientError, BotoCoreError) as exc:
            self.error = exc
            raise
        return keys


def _account_folders(s3: Any, bucket: str, prefix: str, account_id: str) -> list[str]:
    """``AWSLogs/<account>/`` and every organization layout ``AWSLogs/o-xxxx/<account>/``."""
    logs = f"{prefix.strip('/')}/AWSLogs/" if prefix.strip("/") else "AWSLogs/"
    folders = [f"{logs}{account_id}/"]
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=logs, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            if common["Prefix"][len(logs):].startswith("o-"):
                folders.append(f"{common['Prefix']}{account_id}/")
    return folders


def local_trail_path(bucket: str, key: str) -> Path | None:
    """Where an object goes in the case, or None when its bucket or key is not safe as a path."""
    parts = key.split("/")
    if not _BUCKET_NAME.match(bucket) or ".." in bucket:
        return None
    if any(part in ("", ".", "..") or "\x00" in part for part in parts):
        return None
    return TRAIL_DIR.joinpath(bucket, *parts)


def _location_key(step: Step) -> str:
    p = step.params
    return f"s3://{p['bucket']}/{p.get('prefix') or ''}|{p['account_id']}"


@register
class CopyTrailObjects(Action):
    name = "logs.copy-trail-objects"
    title = "Copy the trail's log objects for the incident window into the case"
    resource_type = "AWS::CloudTrail::Trail"
    permissions = ("s3:ListBucket", "s3:GetObject")
    reversible = False
    how_to_undo = READ_ONLY

    def _s3(self, ctx: ActionContext, step: Step) -> Any:
        return ctx.client("s3", step.target.region)

    def list_window(self, ctx: ActionContext, step: Step, since: datetime, until: datetime) -> dict[str, Listed]:
        """The delivery objects of [since, until] (from the day before since), this account's only."""
        s3 = self._s3(ctx, step)
        bucket, prefix, account = step.params["bucket"], step.params.get("prefix") or "", step.params["account_id"]
        found: dict[str, Listed] = {}
        for folder in _account_folders(s3, bucket, prefix, account):
            source = _SizedSource(ctx.factory, s3, S3Location(bucket=bucket, prefix=folder))
            listing = source.find_objects(since, until)
            if source.error is not None:
                raise source.error
            for key in listing.keys:
                item = source.listed[key]
                if item.modified <= until:  # delivered after the copy began: not part of this copy
                    found[key] = item
        return found

    def _present(self, ctx: ActionContext, entry: Mapping[str, Any] | None, item: Listed, *, rehash: bool) -> bool:
        if not entry or entry.get("size") != item.size or entry.get("etag") != item.etag:
            return False
        path = ctx.case.root / str(entry["file"])
        if not path.is_file() or path.stat().st_size != item.size:
            return False
        return not rehash or _sha256_file(path) == entry.get("sha256")

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        manifest = _read_manifest(ctx.case.root / TRAIL_DIR)
        copy = manifest.get("copies", {}).get(_location_key(step))
        if not copy:
            return {"copied": False}
        listed = self.list_window(ctx, step, parse_instant(copy["since"]), parse_instant(copy["until"]))
        objects = manifest.get("objects", {})
        bucket = step.params["bucket"]
        missing = [key for key, item in listed.items()
                   if not self._present(ctx, objects.get(f"s3://{bucket}/{key}"), item, rehash=False)]
        return {"copied": not missing, "objects": len(listed), "missing": len(missing)}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        return []  # nothing in AWS changes; the manifest is the record of what was copied

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        until = as_utc(ctx.clock())
        since = _since(step, until)
        bucket = step.params["bucket"]
        listed = self.list_window(ctx, step, since, until)
        directory = ctx.case.root / TRAIL_DIR
        objects: dict[str, Any] = _read_manifest(directory).get("objects", {})
        todo: list[tuple[Listed, Path]] = []
        unreadable: list[dict[str, str]] = []
        kept = 0
        for key in sorted(listed):
            item, url = listed[key], f"s3://{bucket}/{key}"
            rel = local_trail_path(bucket, key)
            if rel is None:
                unreadable.append({"url": url, "error": "key is not safe as a file path"})
            elif self._present(ctx, objects.get(url), item, rehash=True):
                kept += 1
            else:
                todo.append((item, rel))
        s3 = self._s3(ctx, step)
        fetched: list[dict[str, Any]] = []

        def fetch(job: tuple[Listed, Path]) -> dict[str, Any]:
            item, rel = job
            url = f"s3://{bucket}/{item.key}"
            try:
                answer = s3.get_object(Bucket=bucket, Key=item.key)
                body: bytes = answer["Body"].read()
            except ClientError as exc:
                code = error_code(exc)
                if classify_error(exc) is ErrorKind.ACCESS_DENIED or code in _OBJECT_ERRORS or code.startswith("KMS"):
                    return {"url": url, "error": describe_error(exc)}
                raise
            write_private(ctx.case.root / rel, body)
            etag = str(answer.get("ETag", item.etag)).strip('"')
            return {"url": url, "bucket": bucket, "key": item.key, "file": rel.as_posix(), "size": len(body),
                    "etag": etag, "sha256": hashlib.sha256(body).hexdigest()}

        workers = int(ctx.extra.get("copy_workers", COPY_WORKERS))
        finished = False
        try:
            with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="copy-trail") as pool:
                for done in pool.map(fetch, todo):
                    if "error" in done:
                        unreadable.append(done)
                        continue
                    fetched.append(done)
                    if len(fetched) % FLUSH_EVERY == 0:
                        self._record(directory, fetched[-FLUSH_EVERY:], None)
            finished = True
        finally:
            # Even when a call fails, what was fetched is recorded: a retry does not fetch it again.
            copy = {"trail": step.target.id, "since": iso(since), "until": iso(until), "objects": len(listed),
                    "unreadable": [u["url"] for u in unreadable]}
            self._record(directory, fetched[len(fetched) - len(fetched) % FLUSH_EVERY:],
                         (_location_key(step), copy) if finished else None)
        return {"since": iso(since), "until": iso(until), "listed": len(listed), "fetched": len(fetched),
                "already_in_case": kept, "bytes": sum(int(f["size"]) for f in fetched),
                "unreadable": unreadable, "manifest": (TRAIL_DIR / MANIFEST).as_posix()}

    @staticmethod
    def _record(directory: Path, fetched: list[dict[str, Any]], copy: tuple[str, dict[str, Any]] | None) -> None:
        with _locked_manifest(directory) as manifest:
            objects = manifest.setdefault("objects", {})
            for entry in fetched:
                objects[entry["url"]] = {k: v for k, v in entry.items() if k != "url"}
            if copy is not None:
                manifest.setdefault("copies", {})[copy[0]] = copy[1]

    def verify(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
        state = self.observe(ctx, step)
        bad = _rehash(ctx.case.root, _read_manifest(ctx.case.root / TRAIL_DIR).get("objects", {}),
                      lambda entry: entry.get("bucket") == step.params["bucket"])
        state["hash_mismatch"] = bad
        state["unreadable"] = [u["url"] for u in result.get("unreadable", [])]
        ok = matches(state, step.post) and not bad and not state["unreadable"]
        return ok, state


def _rehash(root: Path, entries: Mapping[str, Any], wanted: Callable[[Mapping[str, Any]], bool]) -> list[str]:
    """The manifest entries whose file is missing or no longer has its recorded SHA-256."""
    bad: list[str] = []
    for name, entry in sorted(entries.items()):
        if not wanted(entry):
            continue
        path = root / str(entry["file"])
        if not path.is_file() or _sha256_file(path) != entry.get("sha256"):
            bad.append(name)
    return bad


# -- LookupEvents ---------------------------------------------------------------------------------


def _line(summary: Mapping[str, Any]) -> bytes | None:
    """One CloudTrail record as one JSON line, its text as AWS gave it where that is one line."""
    text = summary.get("CloudTrailEvent")
    if not isinstance(text, str):
        return None
    if "\n" in text or "\r" in text:
        try:
            text = json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
        except json.JSONDecodeError:
            return None
    return text.encode() + b"\n"


@register
class SaveLookupEvents(Action):
    name = "logs.save-lookup-events"
    title = "Save the region's LookupEvents history (90 days of management events) into the case"
    resource_type = "AWS::CloudTrail::Trail"
    permissions = ("cloudtrail:LookupEvents",)
    reversible = False
    how_to_undo = READ_ONLY

    def _rel(self, step: Step) -> Path:
        region = step.target.region
        if not re.fullmatch(r"[a-z0-9-]+", region):
            raise ActionError(f"not a region name: {region!r}")
        return LOOKUP_DIR / f"{region}.jsonl.gz"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        entry = _read_manifest(ctx.case.root / LOOKUP_DIR).get("regions", {}).get(step.target.region)
        path = ctx.case.root / self._rel(step)
        saved = bool(entry) and path.is_file() and path.stat().st_size == entry.get("size")
        return {"saved": saved}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        return []  # read-only; the file and its manifest entry are the record

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        now = as_utc(ctx.clock())
        since = max(_since(step, now), now - RETENTION)
        client = ctx.client("cloudtrail", step.target.region)
        pace = ctx.extra.get("lookup_bucket") or TokenBucket(RATE_PER_REGION)
        rel = self._rel(step)
        target = ctx.case.root / rel
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            events, pages, skipped = self._fetch(client, pace, since, now, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        size = target.stat().st_size
        entry = {"file": rel.as_posix(), "since": iso(since), "until": iso(now), "events": events,
                 "skipped": skipped, "pages": pages, "size": size, "sha256": _sha256_file(target)}
        with _locked_manifest(ctx.case.root / LOOKUP_DIR) as manifest:
            manifest.setdefault("regions", {})[step.target.region] = entry
        return dict(entry)

    @staticmethod
    def _fetch(client: Any, pace: Any, since: datetime, now: datetime, tmp: Path) -> tuple[int, int, int]:
        """Every page of [since, now] into ``tmp`` (gzipped JSON lines); (events, pages, skipped)."""
        events = pages = skipped = 0
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw:
            # Streamed to disk: 90 days of a busy region do not fit in memory.
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
                token: str | None = None
                while True:
                    pace.acquire()
                    kwargs: dict[str, Any] = {"StartTime": since, "EndTime": now, "MaxResults": PAGE_SIZE}
                    if token:
                        kwargs["NextToken"] = token
                    page = client.lookup_events(**kwargs)
                    pages += 1
                    for summary in page.get("Events") or []:
                        line = _line(summary) if isinstance(summary, Mapping) else None
                        if line is None:
                            skipped += 1
                            continue
                        out.write(line)
                        events += 1
                    token = page.get("NextToken")
                    if not token:
                        break
            raw.flush()
            os.fsync(raw.fileno())
        return events, pages, skipped

    def verify(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
        state = self.observe(ctx, step)
        entries = _read_manifest(ctx.case.root / LOOKUP_DIR).get("regions", {})
        mine = {k: v for k, v in entries.items() if k == step.target.region}
        state["hash_mismatch"] = _rehash(ctx.case.root, mine, lambda entry: True)
        return matches(state, step.post) and not state["hash_mismatch"], state


# -- a stopped trail ------------------------------------------------------------------------------


@register
class StartLogging(Action):
    name = "cloudtrail.start-logging"
    title = "Start logging on a trail the attacker stopped"
    resource_type = "AWS::CloudTrail::Trail"
    permissions = ("cloudtrail:GetTrailStatus", "cloudtrail:DescribeTrails", "cloudtrail:StartLogging")
    reversible = True
    how_to_undo = ("StopLogging on the trail; this blinds the account again (what follows is not recorded), "
                   "so undo it only if the trail was started by mistake")
    undo_permissions = ("cloudtrail:StopLogging",)
    cuts_attacker_access = False

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        status = ctx.client("cloudtrail", step.target.region).get_trail_status(Name=step.target.id)
        return {"is_logging": bool(status.get("IsLogging"))}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        client = ctx.client("cloudtrail", step.target.region)
        status = client.get_trail_status(Name=step.target.id)
        trails = client.describe_trails(trailNameList=[step.target.id], includeShadowTrails=False)
        return [ctx.evidence(step, "cloudtrail", "GetTrailStatus", status, suffix="status"),
                ctx.evidence(step, "cloudtrail", "DescribeTrails", trails, suffix="trail")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        before = self.observe(ctx, step)
        ctx.client("cloudtrail", step.target.region).start_logging(Name=step.target.id)
        return {"was_logging": before["is_logging"]}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        if result.get("was_logging"):
            return {"undone": "the trail was already logging before the step: left logging"}
        ctx.client("cloudtrail", step.target.region).stop_logging(Name=step.target.id)
        return {"stopped": step.target.id}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"is_logging": bool(result.get("was_logging"))}


# -- GuardDuty ------------------------------------------------------------------------------------


def _enabled_detectors(client: Any) -> list[str]:
    enabled: list[str] = []
    for page in client.get_paginator("list_detectors").paginate():
        for detector_id in page.get("DetectorIds", []):
            if str(client.get_detector(DetectorId=detector_id).get("Status", "")).upper() == "ENABLED":
                enabled.append(detector_id)
    return enabled


@register
class CreateDetector(Action):
    name = "guardduty.create-detector"
    title = "Re-create the GuardDuty detector the attacker deleted"
    resource_type = "AWS::GuardDuty::Detector"
    permissions = ("guardduty:ListDetectors", "guardduty:GetDetector", "guardduty:CreateDetector",
                   "guardduty:TagResource", "iam:CreateServiceLinkedRole")
    reversible = True
    how_to_undo = ("DeleteDetector on the detector this step created; this turns GuardDuty off in the region "
                   "again and deletes the findings it produced since")
    undo_permissions = ("guardduty:DeleteDetector",)
    cuts_attacker_access = False
    idempotent = False  # one detector per region: a repeat fails, and undo needs the new id

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"detector": bool(_enabled_detectors(ctx.client("guardduty", step.target.region)))}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        listing = ctx.client("guardduty", step.target.region).list_detectors()
        return [ctx.evidence(step, "guardduty", "ListDetectors", listing, suffix="before")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        tags = {t["Key"]: t["Value"] for t in ctx.tags(step)}
        answer = ctx.client("guardduty", step.target.region).create_detector(Enable=True, Tags=tags)
        return {"detector_id": answer["DetectorId"], "replaces": step.target.id}

    def reconcile(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        client = ctx.client("guardduty", step.target.region)
        for page in client.get_paginator("list_detectors").paginate():
            for detector_id in page.get("DetectorIds", []):
                tags = client.get_detector(DetectorId=detector_id).get("Tags") or {}
                if tags.get("awsrespond:plan") == ctx.plan.plan_id and tags.get("awsrespond:step") == step.id:
                    return {"detector_id": detector_id, "replaces": step.target.id, "reconciled": "found by tags"}
        return None

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        detector_id = result.get("detector_id")
        if not detector_id:
            raise ActionError("the step's result names no detector: nothing this step created to delete")
        ctx.client("guardduty", step.target.region).delete_detector(DetectorId=str(detector_id))
        return {"deleted": detector_id}


@register
class EnableDetector(Action):
    name = "guardduty.enable-detector"
    title = "Enable the GuardDuty detector the attacker disabled"
    resource_type = "AWS::GuardDuty::Detector"
    permissions = ("guardduty:GetDetector", "guardduty:UpdateDetector")
    reversible = True
    how_to_undo = "UpdateDetector back to the status it had (disabled): GuardDuty stops watching the region again"
    undo_permissions = ("guardduty:UpdateDetector",)
    cuts_attacker_access = False

    def _status(self, ctx: ActionContext, step: Step) -> str:
        detector = ctx.client("guardduty", step.target.region).get_detector(DetectorId=step.target.id)
        return str(detector.get("Status", "")).upper()

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"detector": self._status(ctx, step) == "ENABLED"}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        detector = ctx.client("guardduty", step.target.region).get_detector(DetectorId=step.target.id)
        return [ctx.evidence(step, "guardduty", "GetDetector", detector, suffix="before")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        previous = self._status(ctx, step)
        ctx.client("guardduty", step.target.region).update_detector(DetectorId=step.target.id, Enable=True)
        return {"detector_id": step.target.id, "previous_status": previous}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        if result.get("previous_status") == "ENABLED":
            return {"undone": "the detector was enabled before the step: left enabled"}
        ctx.client("guardduty", step.target.region).update_detector(DetectorId=step.target.id, Enable=False)
        return {"disabled": step.target.id}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"detector": result.get("previous_status") == "ENABLED"}
