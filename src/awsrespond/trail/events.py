"""One normalised CloudTrail events table in DuckDB, with an explicit schema.

DuckDB's schema inference is a trap on CloudTrail (DESIGN.md section 4): it guesses
``requestParameters`` as a MAP or a giant STRUCT and drops keys first seen after its sample. So the
scalar fields are typed, ``userIdentity`` is a STRUCT, and the free-form blobs are JSON.
Records are normalised in Python (times in any of the shapes logs use), written once as newline
JSON, and read by DuckDB with the schema given, which is its fast path.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from awsrespond.timeutil import coerce_instant, iso
from awsrespond.trail.files import FileProblem, TrailFile, find_trail_files, read_trail_file

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


@dataclass
class LoadReport:
    files: int = 0
    records: int = 0
    duplicates: int = 0
    without_id_or_time: int = 0
    problems: list[FileProblem] = field(default_factory=list)


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    return _BOOL_TEXT.get(str(value).lower())


def normalise(record: dict[str, Any], source: str) -> tuple[dict[str, Any], bool]:
    """The record in the table's shape, and whether its ``eventTime`` could be read."""
    row: dict[str, Any] = {name: record.get(name) for name in SCALARS}
    raw_time = record.get("eventTime")
    instant = coerce_instant(raw_time)
    row["eventTime"] = iso(instant)
    row["readOnly"] = _bool(record.get("readOnly"))
    row["managementEvent"] = _bool(record.get("managementEvent"))
    for name in ("eventID", "requestID", "sharedEventID", "recipientAccountId"):
        if row[name] is not None:
            row[name] = str(row[name])
    identity = record.get("userIdentity")
    row["userIdentity"] = identity if isinstance(identity, dict) else None
    for blob in BLOBS:
        row[blob] = record.get(blob)
    others = {key: value for key, value in record.items() if key not in _KNOWN}
    row[EXTRA] = others or None
    row["source"] = source
    return row, raw_time is None or instant is not None


class EventStore:
    """The events of one case in an embedded DuckDB database (in memory unless a path is given)."""

    def __init__(self, database: str = ":memory:") -> None:
        self.db = duckdb.connect(database)
        columns = ", ".join(f'"{name}" {kind}' for name, kind in COLUMNS.items())
        self.db.execute(f"CREATE TABLE IF NOT EXISTS events ({columns})")

    def load_paths(self, paths: Iterable[Path]) -> LoadReport:
        files, problems = find_trail_files(paths)
        report = self.load(read_trail_file(path) for path in files)
        report.problems[:0] = problems
        return report

    def load(self, trail_files: Iterable[TrailFile]) -> LoadReport:
        """Add the records of already-read files (local or S3) to the table."""
        report = LoadReport()
        with tempfile.TemporaryDirectory(prefix="awsrespond-events-") as scratch:
            staged = Path(scratch) / "events.ndjson"
            with staged.open("w", encoding="utf-8") as out:
                for trail in trail_files:
                    report.files += 1
                    report.problems.extend(trail.problems)
                    for number, record in enumerate(trail.records, start=1):
                        row, time_ok = normalise(record, trail.path)
                        if not time_ok:
                            report.problems.append(
                                FileProblem(trail.path, number, f"eventTime {record.get('eventTime')!r} is not a time")
                            )
                        out.write(json.dumps(row, default=str))
                        out.write("\n")
                        report.records += 1
            if report.records:
                self._ingest(staged, report)
        return report

    def _ingest(self, staged: Path, report: LoadReport) -> None:
        spec = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in COLUMNS.items()) + "}"
        before = self.count()
        self.db.execute(
            f"CREATE TEMP TABLE staged AS SELECT * FROM read_json(?, format='newline_delimited', columns={spec})",
            [str(staged)],
        )
        staged_count = self._scalar("SELECT count(*) FROM staged")
        keyless = self._scalar("SELECT count(*) FROM staged WHERE eventID IS NULL OR eventTime IS NULL")
        # The same event from overlapping sources (same eventID and eventTime) counts once.
        self.db.execute(
            """
            INSERT INTO events
            SELECT * EXCLUDE (rn) FROM (
                SELECT s.*, row_number() OVER (PARTITION BY s.eventID, s.eventTime ORDER BY s.source) AS rn
                FROM staged s
                WHERE s.eventID IS NOT NULL AND s.eventTime IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM events e WHERE e.eventID = s.eventID AND e.eventTime = s.eventTime)
            ) WHERE rn = 1
            """
        )
        # Records without an id or a time are kept for the rules; timelines leave them out.
        self.db.execute("INSERT INTO events SELECT * FROM staged WHERE eventID IS NULL OR eventTime IS NULL")
        self.db.execute("DROP TABLE staged")
        report.duplicates += staged_count - (self.count() - before)
        report.without_id_or_time += keyless

    def _scalar(self, sql: str) -> int:
        row = self.db.execute(sql).fetchone()
        return int(row[0]) if row else 0

    def count(self) -> int:
        return self._scalar("SELECT count(*) FROM events")
