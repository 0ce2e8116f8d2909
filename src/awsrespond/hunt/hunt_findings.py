"""Detections and sessions as findings in the one model (DESIGN.md section 7).

A rule's detection becomes one finding per credential that made the matching calls, with every
event id it covers. A session adds findings the responder acts on: the stolen credential
(attacker-used, critical), each resource it created (attacker-created) and each existing one it
changed (attacker-used).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from awsrespond.findings import Classification, Finding, ResourceRef, Severity, finding_id
from awsrespond.hunt.detections import Detection
from awsrespond.hunt.session_model import AttackerSession, Origin, SessionCredential, SessionResource
from awsrespond.hunt.sessions import ACTOR_SQL

GLOBAL = "global"
MAX_EVENT_IDS = 1000
"""A finding lists at most this many event ids (``count`` keeps the true number)."""


@dataclass(frozen=True)
class SessionRule:
    id: str
    title: str
    severity: Severity
    mitre: tuple[str, ...]
    recommendation: str


SESSION = SessionRule(
    "hunt-attacker-session", "Attacker session: activity that follows from one stolen credential",
    Severity.CRITICAL, ("T1078.004",),
    "Contain every credential of the session (awsrespond contain plan), then review its timeline.",
)
USED = SessionRule(
    "hunt-credential-used-by-attacker", "Existing credential used by the attacker",
    Severity.CRITICAL, ("T1078.004",),
    "Deactivate this credential and give its owner a new one; do not delete the user or role.",
)
CREATED = SessionRule(
    "hunt-created-by-attacker", "Created by the attacker", Severity.HIGH, ("T1136.003", "T1098"),
    "Preserve evidence, then remove it (awsrespond contain plan).",
)
CHANGED = SessionRule(
    "hunt-changed-by-attacker", "Existing resource changed by the attacker", Severity.CRITICAL, ("T1098",),
    "Revert the change the attacker made (see the event) and keep the resource.",
)
SESSION_RULES = (SESSION, USED, CREATED, CHANGED)


def credential_ref(credential: str, principal: str | None) -> ResourceRef:
    """The resource a credential is: an access key, or the user, role or root behind a principal."""
    if not credential.startswith("principal:"):
        return ResourceRef(type="AWS::IAM::AccessKey", id=credential, region=GLOBAL, arn=None)
    arn = principal or credential.removeprefix("principal:")
    resource = arn.split(":", 5)[-1]
    if resource == "root":
        return ResourceRef(type="AWS::IAM::Account", id=arn.split(":")[4] if arn.count(":") >= 4 else arn,
                           region=GLOBAL, arn=arn)
    if resource.startswith("user/"):
        return ResourceRef(type="AWS::IAM::User", id=resource.rsplit("/", 1)[-1], region=GLOBAL, arn=arn)
    if resource.startswith("assumed-role/"):
        role = resource.split("/")[1]
        return ResourceRef(type="AWS::IAM::Role", id=role, region=GLOBAL, arn=arn)
    return ResourceRef(type="AWS::IAM::Principal", id=arn, region=GLOBAL, arn=arn)


def used_refs(credential: SessionCredential) -> list[ResourceRef]:
    """What a credential the attacker used stands for: itself, and the IAM user owning an access key."""
    ref = credential_ref(credential.credential, credential.principal)
    if ref.type != "AWS::IAM::AccessKey" or not credential.principal or ":user/" not in credential.principal:
        return [ref]
    return [ref, credential_ref("principal:" + credential.principal, credential.principal)]


def _membership(sessions: Sequence[AttackerSession]) -> dict[str, tuple[AttackerSession, Origin]]:
    return {c.credential: (s, c.origin) for s in sessions for c in s.credentials}


def detection_findings(
    con: duckdb.DuckDBPyConnection, detections: Iterable[Detection], sessions: Sequence[AttackerSession]
) -> list[Finding]:
    members = _membership(sessions)
    findings: list[Finding] = []
    for detection in detections:
        if not detection.rowids:
            continue
        rows = con.execute(
            f"""
            SELECT {ACTOR_SQL} AS actor, any_value(userIdentity.arn), count(*),
                   list(eventID ORDER BY eventTime) FILTER (WHERE eventID IS NOT NULL),
                   min(eventTime), max(eventTime),
                   list(DISTINCT sourceIPAddress) FILTER (WHERE sourceIPAddress IS NOT NULL),
                   list(DISTINCT eventName) FILTER (WHERE eventName IS NOT NULL),
                   list(DISTINCT awsRegion) FILTER (WHERE awsRegion IS NOT NULL),
                   list(DISTINCT userAgent) FILTER (WHERE userAgent IS NOT NULL)
            FROM events WHERE rowid IN (SELECT unnest(?::BIGINT[]))
            GROUP BY actor ORDER BY actor
            """,
            [list(detection.rowids)],
        ).fetchall()
        for actor, arn, count, ids, first, last, ips, names, regions, agents in rows:
            findings.append(_detection_finding(detection, members.get(actor), actor, arn, count, ids or [],
                                               first, last, sorted(ips or []),
                                               {"event_names": sorted(names or []), "regions": sorted(regions or []),
                                                "user_agents": sorted(agents or [])[:10]}))
    return findings


def _detection_finding(
    detection: Detection,
    member: tuple[AttackerSession, Origin] | None,
    actor: str,
    arn: str | None,
    count: int,
    event_ids: list[str],
    first: datetime | None,
    last: datetime | None,
    ips: list[str],
    facts: dict[str, Any],
) -> Finding:
    resource = credential_ref(actor, arn)
    classification = Classification.SUSPECT
    details: dict[str, Any] = {**detection.details, **facts, "source_ips": ips[:20], "detector": detection.source}
    if detection.subject:
        details["subject"] = detection.subject
    if member is not None:
        session, origin = member
        classification = (Classification.ATTACKER_USED if origin is Origin.PRE_EXISTING
                          else Classification.ATTACKER_CREATED)
        details["session"] = session.id
    region = facts["regions"][0] if len(facts["regions"]) == 1 and resource.region != GLOBAL else resource.region
    return Finding(
        id=finding_id(detection.rule, resource.type, f"{resource.id}", region),
        rule=detection.rule,
        title=detection.title,
        severity=detection.severity,
        classification=classification,
        resource=resource,
        principal=arn,
        access_key_id=None if actor.startswith("principal:") else actor,
        source_ip=ips[0] if len(ips) == 1 else None,
        first_seen=first,
        last_seen=last,
        event_ids=event_ids[:MAX_EVENT_IDS],
        count=count,
        mitre=list(detection.mitre),
        details=details,
        recommendation=detection.recommendation,
    )


def session_findings(sessions: Sequence[AttackerSession]) -> list[Finding]:
    findings: list[Finding] = []
    for session in sessions:
        start = credential_ref(session.started_from, session.principal)
        ids = [e.event_id for e in session.timeline if e.event_id]
        findings.append(_finding(SESSION, start, session, ids, session.event_count, session.severity,
                                 Classification.ATTACKER_USED,
                                 {"credentials": [c.credential for c in session.credentials],
                                  "created": len(session.created), "changed": len(session.changed),
                                  "regions": session.regions, "other_accounts": session.other_accounts}))
        for credential in session.credentials:
            if credential.origin is not Origin.PRE_EXISTING:
                continue
            mine = [e.event_id for e in session.timeline if e.credential == credential.credential and e.event_id]
            for number, ref in enumerate(used_refs(credential)):
                facts = {"credential": credential.credential, **({"through": "its access key"} if number else {})}
                findings.append(_finding(USED, ref, session, mine, credential.events, USED.severity,
                                         Classification.ATTACKER_USED, facts))
        for resource in session.created:
            findings.append(_resource_finding(CREATED, resource, session, Classification.ATTACKER_CREATED))
        for resource in session.changed:
            findings.append(_resource_finding(CHANGED, resource, session, Classification.ATTACKER_USED))
    return findings


def _finding(
    rule: SessionRule,
    resource: ResourceRef,
    session: AttackerSession,
    event_ids: list[str],
    count: int,
    severity: Severity,
    classification: Classification,
    details: dict[str, Any],
) -> Finding:
    return Finding(
        id=finding_id(rule.id, resource.type, resource.id, resource.region),
        rule=rule.id,
        title=rule.title,
        severity=severity,
        classification=classification,
        resource=resource,
        principal=session.principal,
        access_key_id=None if session.started_from.startswith("principal:") else session.started_from,
        source_ip=session.source_ips[0] if len(session.source_ips) == 1 else None,
        first_seen=session.first_seen,
        last_seen=session.last_seen,
        event_ids=event_ids[:MAX_EVENT_IDS],
        count=count,
        mitre=list(rule.mitre),
        details={"session": session.id, **details},
        recommendation=rule.recommendation,
    )


def _resource_finding(
    rule: SessionRule, resource: SessionResource, session: AttackerSession, classification: Classification
) -> Finding:
    ref = ResourceRef(type=resource.type, id=resource.id, region=resource.region)
    finding = _finding(rule, ref, session, [resource.event_id] if resource.event_id else [], 1, rule.severity,
                       classification, {"event_name": resource.event_name, "exists": resource.exists})
    finding.created = resource.time if rule is CREATED else None
    finding.first_seen = finding.last_seen = resource.time
    return finding


def by_resource(findings: Iterable[Finding]) -> dict[tuple[str, str, str], list[Finding]]:
    grouped: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        grouped[(finding.resource.type, finding.resource.id, finding.resource.region)].append(finding)
    return grouped
