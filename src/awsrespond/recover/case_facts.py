"""What the recovery insights read from a case: the incident window, the attacker's resources and
source addresses (findings and hunt sessions), and CloudTrail events from the case's event store."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from awsrespond.attribution import case_sessions
from awsrespond.case.workspace import Case
from awsrespond.findings import Classification, Finding
from awsrespond.timeutil import as_utc
from awsrespond.trail.stored import case_store_path, connect_readonly

ATTACKER_CLASSES = frozenset({Classification.ATTACKER_CREATED, Classification.SUSPECT})
_BLOBS = ("requestParameters", "responseElements")


@dataclass(frozen=True)
class AttackerResource:
    type: str
    id: str
    region: str
    classification: str
    why: str


@dataclass
class CaseFacts:
    since: datetime | None
    resources: dict[tuple[str, str], AttackerResource] = field(default_factory=dict)  # (id, region)
    source_ips: dict[str, list[str]] = field(default_factory=dict)  # ip -> where the case names it
    findings: list[Finding] = field(default_factory=list)

    def attacker(self, resource_id: str | None, region: str) -> AttackerResource | None:
        return self.resources.get((resource_id, region)) if resource_id else None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str) and value:
        try:
            return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def case_window(case: Case) -> datetime | None:
    """The start of the incident window: the earliest ``since`` of triage and hunt in the case."""
    starts = []
    for name in ("triage.json", "hunt.json"):
        document = case.read_json(name)
        if isinstance(document, dict):
            since = _parse_time((document.get("window") or {}).get("since"))
            if since is not None:
                starts.append(since)
    return min(starts) if starts else None


def read_facts(case: Case) -> CaseFacts:
    facts = CaseFacts(since=case_window(case))
    document = case.findings()
    facts.findings = list(document.findings) if document else []
    for finding in facts.findings:
        if finding.classification in ATTACKER_CLASSES:
            key = (finding.resource.id, finding.resource.region)
            facts.resources.setdefault(key, AttackerResource(
                finding.resource.type, finding.resource.id, finding.resource.region,
                finding.classification.value, f"finding {finding.rule}"))
        if finding.source_ip and finding.classification is not Classification.POSTURE:
            facts.source_ips.setdefault(finding.source_ip, []).append(f"finding {finding.rule}")
    for session in case_sessions(case):
        for resource in session.created:
            facts.resources[(resource.id, resource.region)] = AttackerResource(
                resource.type, resource.id, resource.region, Classification.ATTACKER_CREATED.value,
                f"created by hunt session {session.id} ({resource.event_name})")
        for ip in session.source_ips:
            facts.source_ips.setdefault(ip, []).append(f"hunt session {session.id}")
    return facts


def case_events(case: Case, names: Iterable[str]) -> list[dict[str, Any]]:
    """Successful CloudTrail events of these names from the case's store, oldest first ([] without a store)."""
    path = case_store_path(case)
    wanted = sorted(set(names))
    if not path.exists() or not wanted:
        return []
    con = connect_readonly(path)
    try:
        rows = con.execute(
            "SELECT eventID, eventTime, eventName, awsRegion, "
            + ", ".join(f"CAST({b} AS VARCHAR)" for b in _BLOBS)
            + " FROM events WHERE errorCode IS NULL AND eventName IN (SELECT unnest(?::VARCHAR[])) "
              "ORDER BY eventTime", [wanted]).fetchall()
    finally:
        con.close()
    records = []
    for event_id, when, name, region, request, response in rows:
        records.append({"eventID": event_id, "eventTime": _parse_time(when) or when, "eventName": name,
                        "awsRegion": region, "requestParameters": json.loads(request) if request else None,
                        "responseElements": json.loads(response) if response else None})
    return records


def items_of(block: Any, key: str) -> list[str]:
    """``{"instancesSet": {"items": [{"instanceId": ...}]}}``-style lists in EC2 CloudTrail records."""
    if not isinstance(block, dict):
        return []
    set_name, _, field_name = key.partition(".")
    container = block.get(set_name)
    items = container.get("items") if isinstance(container, dict) else None
    return [str(i[field_name]) for i in items or [] if isinstance(i, dict) and i.get(field_name)]
