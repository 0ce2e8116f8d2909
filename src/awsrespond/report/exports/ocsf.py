"""OCSF Detection Finding (class 2004, schema 1.5.0): one object per finding, a JSON array.

Plain dictionaries in the OCSF shape (the tests validate every object with ``py_ocsf_models``). Fields
OCSF has no place for (classification, rule, the responder's status) go under ``unmapped.awsrespond``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from awsrespond import __version__
from awsrespond.findings import Finding, Severity
from awsrespond.report.casedata import CaseData, FindingStatus, ReportFinding
from awsrespond.report.exports.common import describe, partition
from awsrespond.report.exports.mitre import tactic
from awsrespond.timeutil import iso, now_utc

OCSF_VERSION = "1.5.0"
CLASS_UID = 2004
CATEGORY_UID = 2
ACTIVITY_CREATE = 1
TYPE_UID = CLASS_UID * 100 + ACTIVITY_CREATE

SEVERITY_ID: dict[Severity, tuple[int, str]] = {
    Severity.INFO: (1, "Informational"),
    Severity.LOW: (2, "Low"),
    Severity.MEDIUM: (3, "Medium"),
    Severity.HIGH: (4, "High"),
    Severity.CRITICAL: (5, "Critical"),
}
STATUS_ID: dict[FindingStatus, tuple[int, str]] = {
    FindingStatus.OPEN: (1, "New"),
    FindingStatus.POSTURE: (1, "New"),
    FindingStatus.FAILED: (2, "In Progress"),
    FindingStatus.CONTAINED: (4, "Resolved"),
    FindingStatus.INFORMATIONAL: (99, "Informational"),
}
_OBSERVABLE_IP = 2
_OBSERVABLE_USER_NAME = 4
_OBSERVABLE_RESOURCE_UID = 10
_ACCOUNT_TYPE_AWS = 10


def _ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def _drop_none(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None and v not in ([], {})}


def _attacks(f: Finding) -> list[dict[str, Any]]:
    out = []
    for technique in f.mitre:
        base = technique.split(".", 1)[0]
        attack: dict[str, Any] = {"technique": {"uid": base, "name": base}}
        if "." in technique:
            attack["sub_technique"] = {"uid": technique, "name": technique}
        known = tactic(technique)
        if known is not None:
            attack["tactic"] = {"name": known[0]}
        out.append(attack)
    return out


def _observables(f: Finding) -> list[dict[str, Any]]:
    out = []
    if f.source_ip:
        out.append({"name": "source_ip", "type_id": _OBSERVABLE_IP, "type": "IP Address", "value": f.source_ip})
    if f.access_key_id:
        out.append({"name": "access_key_id", "type_id": _OBSERVABLE_RESOURCE_UID, "type": "Resource UID",
                    "value": f.access_key_id})
    if f.principal:
        out.append({"name": "principal", "type_id": _OBSERVABLE_USER_NAME, "type": "User Name",
                    "value": f.principal})
    if f.resource.type == "AWS::IAM::User":
        out.append({"name": "user_name", "type_id": _OBSERVABLE_USER_NAME, "type": "User Name",
                    "value": f.resource.id})
    if f.resource.type == "AWS::IAM::AccessKey" and f.resource.id != f.access_key_id:
        out.append({"name": "access_key_id", "type_id": _OBSERVABLE_RESOURCE_UID, "type": "Resource UID",
                    "value": f.resource.id})
    return out


def _evidences(f: Finding) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"name": "case evidence file", "data": {"file": e.file, "sha256": e.sha256}} for e in f.evidence
    ]
    if f.event_ids:
        out.append({"name": "CloudTrail events", "data": {"event_ids": list(f.event_ids)}})
    return out


def ocsf_finding(item: ReportFinding, data: CaseData, generated: datetime) -> dict[str, Any]:
    """One finding as an OCSF Detection Finding."""
    f = item.finding
    severity_id, severity = SEVERITY_ID[f.severity]
    status_id, status = STATUS_ID.get(item.status, (0, "Unknown"))
    region = None if f.resource.region in ("global", "*", "") else f.resource.region
    time = f.last_seen or f.first_seen or f.created or generated
    resource = _drop_none({
        "uid": f.resource.arn or f.resource.id,
        "name": f.resource.id,
        "type": f.resource.type,
        "region": region,
        "cloud_partition": partition(data),
        "data": {"classification": f.classification.value, "details": f.details} if f.details else None,
    })
    finding_info = _drop_none({
        "uid": f.id,
        "title": f.title,
        "desc": describe(item, 4000),
        "types": [f.rule, f.classification.value],
        "first_seen_time": _ms(f.first_seen),
        "last_seen_time": _ms(f.last_seen),
        "created_time": _ms(f.created),
        "attacks": _attacks(f),
        "data_sources": ["AWS CloudTrail"] if f.event_ids else None,
    })
    account = _drop_none({"uid": data.account_id, "name": data.alias or data.account_id,
                          "type_id": _ACCOUNT_TYPE_AWS, "type": "AWS Account"})
    return _drop_none({
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": TYPE_UID,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "status_detail": "a containment step failed" if item.status is FindingStatus.FAILED else None,
        "time": _ms(time),
        "time_dt": iso(time),
        "start_time": _ms(f.first_seen),
        "end_time": _ms(f.last_seen),
        "count": f.count,
        "message": f.title,
        "metadata": {
            "product": {"name": "awsrespond", "vendor_name": "awsrespond", "version": __version__},
            "version": OCSF_VERSION,
            "uid": f.id,
            "profiles": ["cloud"],
            "logged_time": iso(generated),
        },
        "finding_info": finding_info,
        "resources": [resource],
        "cloud": _drop_none({"provider": "AWS", "account": account, "region": region}),
        "remediation": {"desc": f.recommendation} if f.recommendation else None,
        "observables": _observables(f),
        "evidences": _evidences(f),
        "unmapped": {"awsrespond": _drop_none({
            "rule": f.rule, "classification": f.classification.value, "status": item.status.value,
            "case_id": data.case_id, "mitre": list(f.mitre),
        })},
    })


def ocsf_findings(data: CaseData) -> list[dict[str, Any]]:
    generated = now_utc()
    return [ocsf_finding(item, data, generated) for item in data.findings]


def render_ocsf(data: CaseData) -> str:
    return json.dumps(ocsf_findings(data), indent=2, ensure_ascii=False, default=str) + "\n"
