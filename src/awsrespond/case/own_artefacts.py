"""What awsrespond itself created in the account (evidence snapshots, replacement keys, quarantine
policies). A later triage must not report them as suspicious (DESIGN.md 3.9)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from awsrespond.case.workspace import Case, write_private
from awsrespond.findings import Finding

ARTEFACTS = "contain/artefacts.json"
TAG_CASE = "awsrespond:case"
OWN_POLICY_PREFIXES = ("AWSRespondQuarantine", "AWSRespondRevokeSessions")


# Ids of what the tool creates, as they appear in an action's result (never a secret: ids only).
_OWN_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|\bsnap-[0-9a-f]{8,17}\b|\b[0-9a-f]{32}\b")
CREATING_ACTIONS = frozenset({"iam.create-replacement-access-key", "ec2.snapshot-volume", "guardduty.create-detector"})


def ids_in_result(action: str, result: Mapping[str, Any]) -> list[str]:
    """The ids a creating action's result names (replacement key, evidence snapshot, detector)."""
    if action not in CREATING_ACTIONS:
        return []
    return sorted(set(_OWN_ID.findall(json.dumps(result, default=str))))


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
