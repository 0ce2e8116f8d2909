"""Read CloudTrail records from the case's event store for recipes (read-only, by event id)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from awsrespond.case.workspace import Case
from awsrespond.trail.stored import case_store_path, connect_readonly

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
        con = connect_readonly(path)
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


TRUST_EVENTS = {"CreateRole": "assumeRolePolicyDocument", "UpdateAssumeRolePolicy": "policyDocument"}


def previous_trust_policy(case: Case, role: str, before: Any, exclude: set[str]) -> str | None:
    """The role's trust policy as last set before ``before`` by an event not in ``exclude`` (the
    attacker's), from the case's store; None when the store does not reach back that far."""
    path = case_store_path(case)
    if not path.exists() or before is None:
        return None
    con = connect_readonly(path)
    try:
        rows = con.execute(
            "SELECT eventID, eventName, CAST(requestParameters AS VARCHAR) FROM events "
            "WHERE eventName IN ('CreateRole', 'UpdateAssumeRolePolicy') AND errorCode IS NULL "
            "AND json_extract_string(requestParameters, '$.roleName') = ? AND eventTime < ? "
            "ORDER BY eventTime DESC", [role, before]).fetchall()
    finally:
        con.close()
    for event_id, name, blob in rows:
        if event_id in exclude or not blob:
            continue
        document = json.loads(blob).get(TRUST_EVENTS[name])
        if isinstance(document, str) and document:
            return document
    return None
