"""The case's findings: triage's and hunt's, with hunt's attribution applied to triage's.

Triage sees what exists and calls new things *suspect*; hunt sees who made them. When the case has
hunt sessions, a triage finding on something a session created becomes attacker-created, and one
on an existing credential, user, role or resource a session used or changed becomes attacker-used
(critical) - which decides whether containment deletes it or deactivates and reverts it
(DESIGN.md section 3). ``findings.json`` is always rebuilt from ``triage.json`` and ``hunt.json``,
so re-running either command never loses the other's work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from awsrespond.case.workspace import Case
from awsrespond.findings import Classification, Finding, Severity, sort_key
from awsrespond.hunt.hunt_findings import CHANGED, CREATED, USED, used_refs
from awsrespond.hunt.session_model import AttackerSession, Origin

Key = tuple[str, str, str]
_SESSION_RESOURCE_RULES = frozenset({CREATED.id, CHANGED.id, USED.id})
_GONE_STATES = frozenset({"terminated", "shutting-down"})


def _key(finding: Finding) -> Key:
    return finding.resource.type, finding.resource.id, finding.resource.region


def attribution_index(sessions: Sequence[AttackerSession]) -> dict[Key, tuple[Classification, dict[str, Any]]]:
    """Resource -> how the sessions make it attacker-created or attacker-used, with the facts."""
    index: dict[Key, tuple[Classification, dict[str, Any]]] = {}
    for session in sessions:
        for resource in session.changed:
            index[(resource.type, resource.id, resource.region)] = (Classification.ATTACKER_USED, {
                "session": session.id, "event_name": resource.event_name, "event_id": resource.event_id})
        for credential in session.credentials:
            if credential.origin is not Origin.PRE_EXISTING:
                continue
            facts = {"session": session.id, "used_as": credential.credential}
            for ref in used_refs(credential):
                index[(ref.type, ref.id, ref.region)] = (Classification.ATTACKER_USED, facts)
        # Created wins over used: a user the attacker made and then used is still theirs to delete.
        for resource in session.created:
            index[(resource.type, resource.id, resource.region)] = (Classification.ATTACKER_CREATED, {
                "session": session.id, "event_name": resource.event_name, "event_id": resource.event_id})
    return index


def spot_instances(triage_document: Any) -> dict[tuple[str, str], list[str]]:
    """(spot request id, region) -> the instances that fulfil it, from triage's inventory."""
    links: dict[tuple[str, str], list[str]] = {}
    if not isinstance(triage_document, dict):
        return links
    inventory = triage_document.get("inventory", {})
    pairs = [((item.get("data") or {}).get("spot_request_id"), item["id"], item["region"])
             for item in inventory.get("AWS::EC2::Instance", [])]
    pairs += [(item["id"], (item.get("data") or {}).get("instance_id"), item["region"])
              for item in inventory.get("AWS::EC2::SpotInstanceRequest", [])]
    for request, instance, region in pairs:
        if request and instance and instance not in links.get((request, region), []):
            links.setdefault((request, region), []).append(instance)
    return links


def _fulfilled(index: dict[Key, tuple[Classification, dict[str, Any]]],
               spot: dict[tuple[str, str], list[str]]) -> None:
    """Instances EC2 launched for a spot request the attacker made are the attacker's too."""
    for (rtype, rid, region), (classification, facts) in list(index.items()):
        if rtype != "AWS::EC2::SpotInstanceRequest" or classification is not Classification.ATTACKER_CREATED:
            continue
        for instance in spot.get((rid, region), []):
            index.setdefault(("AWS::EC2::Instance", instance, region),
                             (Classification.ATTACKER_CREATED, {**facts, "fulfils_spot_request": rid}))


def attribute(
    findings: Iterable[Finding],
    sessions: Sequence[AttackerSession],
    spot: dict[tuple[str, str], list[str]] | None = None,
) -> list[Finding]:
    index = attribution_index(sessions)
    _fulfilled(index, spot or {})
    result: list[Finding] = []
    for finding in findings:
        verdict = index.get(_key(finding))
        if verdict is None or finding.classification is Classification.POSTURE:
            result.append(finding)
            continue
        classification, facts = verdict
        floor = Severity.CRITICAL if classification is Classification.ATTACKER_USED else Severity.HIGH
        if finding.details.get("state") in _GONE_STATES:
            floor = finding.severity  # the attacker's, but terminated: history, not a live threat
        result.append(finding.model_copy(update={
            "classification": classification,
            "severity": Severity.max(finding.severity, floor),
            "details": {**finding.details, "attribution": facts},
            "event_ids": finding.event_ids or ([facts["event_id"]] if facts.get("event_id") else []),
        }))
    return result


def combine(
    triage: Sequence[Finding],
    hunt: Sequence[Finding],
    sessions: Sequence[AttackerSession],
    spot: dict[tuple[str, str], list[str]] | None = None,
) -> list[Finding]:
    """One list: triage's findings attributed, and hunt's without repeating a resource triage has."""
    attributed = attribute(triage, sessions, spot)
    covered = {_key(f) for f in attributed if f.classification in
               (Classification.ATTACKER_CREATED, Classification.ATTACKER_USED)}
    extra = [f for f in hunt if not (f.rule in _SESSION_RESOURCE_RULES and _key(f) in covered)]
    return sorted([*attributed, *extra], key=sort_key)


def _findings_of(document: Any) -> list[Finding]:
    if not isinstance(document, dict):
        return []
    return [Finding.model_validate(item) for item in document.get("findings", [])]


def case_sessions(case: Case) -> list[AttackerSession]:
    document = case.read_json("hunt.json")
    if not isinstance(document, dict):
        return []
    return [AttackerSession.model_validate(item) for item in document.get("sessions", [])]


def refresh_case_findings(case: Case) -> list[Finding]:
    """Rebuild ``findings.json`` from ``triage.json`` and ``hunt.json``."""
    triage = case.read_json("triage.json")
    findings = combine(_findings_of(triage), _findings_of(case.read_json("hunt.json")), case_sessions(case),
                       spot_instances(triage))
    case.write_findings(findings)
    return findings


def mark_existing(sessions: Sequence[AttackerSession], triage_document: Any) -> None:
    """Set ``exists`` on what the sessions created, for the types triage's inventory collects."""
    if not isinstance(triage_document, dict):
        return
    inventory = triage_document.get("inventory", {})
    present = {(kind, item["id"], item["region"]) for kind, items in inventory.items() for item in items}
    for session in sessions:
        for resource in session.created:
            if resource.type in inventory:
                resource.exists = (resource.type, resource.id, resource.region) in present
