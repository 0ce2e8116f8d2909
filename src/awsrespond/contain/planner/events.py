"""Read CloudTrail records from the case's event store for recipes (read-only, by event id)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from awsrespond.case.workspace import Case
from awsrespond.trail.stored import case_store_path

_BLOBS = ("requestParameters", "responseElements", "additionalEventData", "resources")


def case_event_reader(case: Case) -> Callable[[Sequence[str]], list[dict[str, Any]]] | None:
    """A function event ids -> records, or None when the case has no event store."""
    path: Path = case_store_path(case)
    if not path.exists():
        return None

    def read(event_ids: Sequence[str]) -> list[dict[str, Any]]:
        ids = sorted({i for i in event_ids if i})
        if not ids:
            return []
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.ConnectionException:
            # This process still holds the store open read-write (hunt ran just before, as in the
            # demo); DuckDB then only shares that same instance.
            con = duckdb.connect(str(path))
        try:
            cursor = con.execute(
                "SELECT eventID, eventTime, eventName, eventSource, awsRegion, recipientAccountId, "
                + ", ".join(f"CAST({b} AS VARCHAR)" for b in _BLOBS)
                + " FROM events WHERE eventID IN (SELECT unnest(?::VARCHAR[])) ORDER BY eventTime", [ids])
            names = ["eventID", "eventTime", "eventName", "eventSource", "awsRegion", "recipientAccountId", *_BLOBS]
            rows = cursor.fetchall()
        finally:
            con.close()
        records: list[dict[str, Any]] = []
        for row in rows:
            record = dict(zip(names, row, strict=True))
            for blob in _BLOBS:
                record[blob] = json.loads(record[blob]) if record[blob] else None
            records.append(record)
        return records

    return read
