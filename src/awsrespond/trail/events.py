"""One normalised CloudTrail events table in DuckDB, with an explicit schema.

DuckDB's schema inference is a trap on CloudTrail (DESIGN.md section 4): it guesses
``requestParameters`` as a MAP or a giant STRUCT and drops keys first seen after its sample. So the
scalar fields are typed, ``userIdentity`` is a STRUCT, and the free-form blobs are JSON.

Loading (:mod:`awsrespond.trail.ingest`) has two paths that give the same rows: S3 delivery files
in CloudTrail's own compact shape go to DuckDB's JSON reader almost untouched (the fast path), and
everything else is read and normalised here in Python (the careful path), which also names every
record whose fields have the wrong type.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from awsrespond.timeutil import as_utc, iso
from awsrespond.trail.files import (
    FileProblem,
    TrailFile,
    find_trail_files,
    read_trail_file,  # noqa: F401 - kept importable from here (tests hook it)
)

SCALARS = {
    "eventID": "VARCHAR",
    "eventTime": "TIMESTAMPTZ",
    "eventVersion": "VARCHAR",
    "eventSource": "VARCHAR",
    "eventName": "VARCHAR",
    "awsRegion": "VARCHAR",
    "sourceIPAddress": "VARCHAR",
    "userAgent": "VARCHAR",
    "errorCode": "VARCHAR",
    "errorMessage": "VARCHAR",
    "readOnly": "BOOLEAN",
    "eventType": "VARCHAR",
    "eventCategory": "VARCHAR",
    "managementEvent": "BOOLEAN",
    "recipientAccountId": "VARCHAR",
    "requestID": "VARCHAR",
    "sharedEventID": "VARCHAR",
}
USER_IDENTITY = (
    "STRUCT(type VARCHAR, principalId VARCHAR, arn VARCHAR, accountId VARCHAR, accessKeyId VARCHAR, "
    "userName VARCHAR, invokedBy VARCHAR, sessionContext JSON)"
)
BLOBS = ("requestParameters", "responseElements", "additionalEventData", "resources", "serviceEventDetails")
BLOB_SHAPES = {"resources": list}
"""Blobs that are not objects in CloudTrail; every other blob is an object (or null)."""
# Every other top-level key of a record (tlsDetails, vpcEndpointId, sessionCredentialFromConsole...)
# is kept in ``extra`` so that a rule naming a field outside the schema still sees it.
EXTRA = "extra"
COLUMNS: dict[str, str] = {
    **SCALARS,
    "userIdentity": USER_IDENTITY,
    **dict.fromkeys(BLOBS, "JSON"),
    EXTRA: "JSON",
    "source": "VARCHAR",
}
_KNOWN = frozenset(SCALARS) | frozenset(BLOBS) | {"userIdentity"}
_BOOL_TEXT = {"true": True, "false": False}
_EPOCH_RANGE = (0.0, 253402300799.0)  # 1970 .. 9999-12-31


@dataclass
class LoadReport:
    files: int = 0
    records: int = 0
    """Records added to the table (before duplicates were dropped)."""
    duplicates: int = 0
    without_id_or_time: int = 0
    problems: list[FileProblem] = field(default_factory=list)
    skipped: int = 0
    """Items found in files but not loaded (not an object, not JSON, not storable); each is in ``problems``
    (past a per-file limit, counted there in one line)."""
    fast_files: int = 0
    """Files that went through the fast path (S3 delivery shape read by DuckDB directly)."""

    def merge(self, other: LoadReport) -> None:
        self.files += other.files
        self.records += other.records
        self.duplicates += other.duplicates
        self.without_id_or_time += other.without_id_or_time
        self.problems.extend(other.problems)
        self.skipped += other.skipped
        self.fast_files += other.fast_files


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    return _BOOL_TEXT.get(str(value).lower())


def event_time(value: Any) -> datetime | None:
    """``eventTime`` in the shapes logs use: ISO-8601 text (no offset means UTC), or epoch seconds."""
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            return None
        return as_utc(parsed)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
        if math.isfinite(seconds) and _EPOCH_RANGE[0] <= seconds <= _EPOCH_RANGE[1]:
            return datetime.fromtimestamp(seconds, UTC)
    return None


def _text(value: Any) -> Any:
    """A number or boolean where text belongs, as the JSON text DuckDB reads from the file (integers
    past 64 bits keep every digit)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def normalise(record: dict[str, Any], source: str) -> tuple[dict[str, Any], list[str]]:
    """The record in the table's shape, and what is wrong with it (fields of the wrong type).

    A wrong field is kept where the table can hold it (a blob that is a list stays a list) and
    left empty where it cannot (a ``userIdentity`` that is not an object); the record is kept.
    Identifiers that are not strings become their JSON text, as the fast path makes them.
    """
    problems: list[str] = []
    row: dict[str, Any] = {name: _text(record.get(name)) for name in SCALARS}
    raw_time = record.get("eventTime")
    instant = event_time(raw_time)
    if raw_time is not None and instant is None:
        problems.append(f"eventTime {raw_time!r:.80} is not a time")
    elif not isinstance(raw_time, str | None):
        problems.append(f"eventTime is {_kind(raw_time)} ({raw_time!r:.40}), read as epoch seconds")
    row["eventTime"] = iso(instant)
    row["readOnly"] = _bool(record.get("readOnly"))
    row["managementEvent"] = _bool(record.get("managementEvent"))
    identity = record.get("userIdentity")
    row["userIdentity"] = identity if isinstance(identity, dict) else None
    if identity is not None and not isinstance(identity, dict):
        problems.append(f"userIdentity is {_kind(identity)}, not an object; left empty")
    for blob in BLOBS:
        value = record.get(blob)
        row[blob] = value
        shape = BLOB_SHAPES.get(blob, dict)
        if value is not None and not isinstance(value, shape):
            problems.append(f"{blob} is {_kind(value)}, not {_kind(shape())}; kept as it is")
    others = {key: value for key, value in record.items() if key not in _KNOWN and value is not None}
    row[EXTRA] = others or None
    row["source"] = source
    return row, problems


def encode_row(row: dict[str, Any]) -> tuple[bytes, str | None]:
    """One line of newline JSON for DuckDB, and a note when text had to be repaired to be stored."""
    text = json.dumps(row, default=str, ensure_ascii=False)
    try:
        return text.encode("utf-8"), None
    except UnicodeEncodeError:  # lone surrogates ("\ud800"), valid in Python, not in UTF-8 or DuckDB
        return text.encode("utf-8", "replace"), "text with invalid Unicode (lone surrogates) stored with '?'"


class EventStore:
    """The events of one case in an embedded DuckDB database (in memory unless a path is given).

    ``memory_limit`` (DuckDB syntax, e.g. ``"1GB"``) bounds DuckDB's memory; with a database file,
    data beyond it lives in the file, so millions of events fit in a bounded RSS.
    """

    def __init__(self, database: str = ":memory:", *, memory_limit: str | None = None,
                 threads: int | None = None) -> None:
        self.db = duckdb.connect(database)
        if memory_limit:
            self.db.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            self.db.execute(f"SET threads = {int(threads)}")
        columns = ", ".join(f'"{name}" {kind}' for name, kind in COLUMNS.items())
        self.db.execute(f"CREATE TABLE IF NOT EXISTS events ({columns})")

    def load_paths(self, paths: Iterable[Path], *, workers: int | None = None) -> LoadReport:
        """Every CloudTrail file under ``paths``; inflating and reading run in ``workers`` processes
        (default: one per core; 0 or 1: in this process)."""
        from awsrespond.trail.ingest import Loader, Source  # noqa: PLC0415 - ingest builds on this module

        files, problems = find_trail_files(paths)
        report = Loader(self, workers=workers).run(Source(str(path), path=str(path)) for path in files)
        report.problems[:0] = problems
        return report

    def load_objects(self, objects: Iterable[tuple[str, bytes]], *, workers: int | None = None) -> LoadReport:
        """Log objects already fetched (``(url, body)``, e.g. streamed from S3), through the same paths
        as :meth:`load_paths`."""
        from awsrespond.trail.ingest import Loader, Source  # noqa: PLC0415 - ingest builds on this module

        return Loader(self, workers=workers).run(Source(url, data=body) for url, body in objects)

    def load(self, trail_files: Iterable[TrailFile]) -> LoadReport:
        """Add the records of already-read files (local, S3, LookupEvents pages) to the table, in
        batches: memory holds one batch, not the whole input."""
        from awsrespond.trail.ingest import Loader  # noqa: PLC0415 - ingest builds on this module

        return Loader(self, workers=0).run_parsed(trail_files)

    def scalar(self, sql: str, params: list[Any] | None = None) -> int:
        row = self.db.execute(sql, params or []).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def count(self) -> int:
        return self.scalar("SELECT count(*) FROM events")
