"""What awsrespond itself created in the account (evidence snapshots, replacement keys, quarantine
policies). A later triage must not report them as suspicious (DESIGN.md 3.9)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from awsrespond.case.workspace import Case, write_private
from awsrespond.findings import Finding

ARTEFACTS = "contain/artefacts.json"
TAG_CASE = "awsrespond:case"
OWN_POLICY_PREFIXES = ("AWSRespondQuarantine", "AWSRespondRevokeSessions")


# Which key of a creating action's result names what it made (never a secret: ids only).
CREATED_ID_KEYS = {
    "iam.create-replacement-access-key": "access_key_id",
    "ec2.snapshot-volume": "snapshot",
    "guardduty.create-detector": "detector_id",
    "ec2.create-volume-from-snapshot": "volume",
}


def ids_in_result(action: str, result: Mapping[str, Any]) -> list[str]:
    """The id a creating action's result names (replacement key, evidence snapshot, detector)."""
    key = CREATED_ID_KEYS.get(action)
    value = result.get(key) if key else None
    return [value] if isinstance(value, str) and value else []


def read_ids(case: Case) -> list[str]:
    document = case.read_json(ARTEFACTS)
    return sorted(document.get("ids", [])) if isinstance(document, dict) else []


def add_ids(case: Case, ids: Iterable[str]) -> list[str]:
    found = sorted(set(read_ids(case)) | set(ids))
    write_private(case.root / ARTEFACTS, (json.dumps({"ids": found}, indent=2) + "\n").encode())
    return found


def _tagged(data: Mapping[str, Any]) -> bool:
    tags = data.get("tags")
    return isinstance(tags, dict) and TAG_CASE in tags


def drop_own(findings: list[Finding], items: Iterable[Any], own_ids: Iterable[str]) -> tuple[list[Finding], int]:
    """Findings without the tool's own artefacts (listed, or tagged with a case id), and how many were left out."""
    own = set(own_ids)
    for item in items:
        data = getattr(item, "data", None)
        if isinstance(data, Mapping) and _tagged(data):
            own.add(str(getattr(item, "id", "")))
    kept = [f for f in findings if f.resource.id not in own]
    return kept, len(findings) - len(kept)
