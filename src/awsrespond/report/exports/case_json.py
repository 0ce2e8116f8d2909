"""JSON of the whole case without ``secrets/``: the report's facts plus every readable case file.

Parsed case files are the documents the commands wrote (triage, hunt, findings, recovery, plans, the
journal as a list of records); evidence, logs and the event store are named with size and SHA-256 only.
Nothing under ``secrets/`` is opened or named, symlinks are not followed, ``reports/`` (the outputs) is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from awsrespond import __version__
from awsrespond.coverage import CoverageGap
from awsrespond.findings import Finding
from awsrespond.hunt.session_model import AttackerSession
from awsrespond.recover.attack_cost import AttackCostDocument, CostCurve
from awsrespond.recover.checklist import Checklist
from awsrespond.report.casedata import (
    SECRETS_DIR,
    ActionTaken,
    Attacker,
    CaseData,
    EvidenceFile,
    FindingStatus,
    PlanRun,
)
from awsrespond.timeutil import now_utc

REPORT_SCHEMA_VERSION = "1"
REPORTS_DIR = "reports"
PARSED_LIMIT = 8 * 1024 * 1024  # a document bigger than this is named and hashed, not embedded
_HASHED_ONLY = ("evidence", "logs", "events")  # top-level directories never embedded


class Generator(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "awsrespond"
    version: str = __version__


class AccountFacts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    alias: str | None
    caller_arn: str


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: str | None
    until: str | None


class FindingEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: FindingStatus
    finding: Finding
    actions: list[str] = Field(description="plan_id/step of every journaled step that acted on it")


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(description="Relative to the case directory, with /")
    size: int
    sha256: str
    kind: Literal["json", "jsonl", "file"] = Field(description="json/jsonl: content holds the parsed document")
    content: Any = None
    error: str | None = Field(default=None, description="Why a document that should parse did not")


class ReportDocument(BaseModel):
    """``report --format json`` and ``<case>/reports/report.json``."""

    model_config = ConfigDict(extra="forbid")
    schema_version: str = REPORT_SCHEMA_VERSION
    generated: datetime
    generator: Generator
    case_id: str
    case_created: str
    account: AccountFacts
    window: Window
    commands: list[dict[str, Any]]
    attacker: Attacker
    open_findings: int = Field(description="Suspicious findings not contained")
    findings: list[FindingEntry]
    sessions: list[AttackerSession]
    regions_touched: dict[str, int]
    cost_curve: CostCurve | None
    attack_cost: AttackCostDocument | None
    plans: list[PlanRun]
    actions: list[ActionTaken]
    checklist: Checklist | None
    harden: dict[str, Any] | None
    coverage: list[CoverageGap]
    hunt_errors: list[str]
    notes: list[str]
    evidence: list[EvidenceFile]
    problems: list[str]
    case_files: list[CaseFile]


def report_document(data: CaseData, *, include_files: bool = True) -> ReportDocument:
    """The whole case as one document (``include_files=False`` leaves ``case_files`` empty)."""
    return ReportDocument(
        generated=now_utc(),
        generator=Generator(),
        case_id=data.case_id,
        case_created=data.created,
        account=AccountFacts(id=data.account_id, alias=data.alias, caller_arn=data.caller_arn),
        window=Window(since=data.window_since, until=data.window_until),
        commands=data.commands,
        attacker=data.attacker,
        open_findings=len(data.open_findings),
        findings=[FindingEntry(status=rf.status, finding=rf.finding,
                               actions=[f"{a.plan_id}/{a.step}" for a in rf.actions]) for rf in data.findings],
        sessions=data.sessions,
        regions_touched=data.regions_touched,
        cost_curve=data.cost_curve,
        attack_cost=data.attack_cost,
        plans=data.plans,
        actions=data.actions,
        checklist=data.checklist,
        harden=data.harden,
        coverage=data.coverage,
        hunt_errors=data.hunt_errors,
        notes=data.notes,
        evidence=data.evidence,
        problems=data.problems,
        case_files=case_files(data.root) if include_files else [],
    )


def render_json(data: CaseData) -> str:
    return report_document(data).model_dump_json(indent=2) + "\n"


def case_files(root: Path) -> list[CaseFile]:
    """Every regular file of the case except ``secrets/`` and ``reports/``, sorted by path."""
    out: list[CaseFile] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d not in (SECRETS_DIR, REPORTS_DIR)]
        dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath) / d).is_symlink())
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue  # temp files of an atomic write, links (could point into secrets/)
            out.append(_case_file(path, (rel_dir / name).as_posix()))
    return sorted(out, key=lambda f: f.path)


def _case_file(path: Path, rel: str) -> CaseFile:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return CaseFile(path=rel, size=0, sha256="", kind="file", error=f"unreadable: {exc.strerror}")
    digest = hashlib.sha256(raw).hexdigest()
    if rel.split("/", 1)[0] in _HASHED_ONLY or len(raw) > PARSED_LIMIT or not rel.endswith((".json", ".jsonl")):
        return CaseFile(path=rel, size=len(raw), sha256=digest, kind="file")
    try:
        if rel.endswith(".jsonl"):
            records = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
            return CaseFile(path=rel, size=len(raw), sha256=digest, kind="jsonl", content=records)
        return CaseFile(path=rel, size=len(raw), sha256=digest, kind="json", content=json.loads(raw))
    except (UnicodeDecodeError, ValueError) as exc:
        return CaseFile(path=rel, size=len(raw), sha256=digest, kind="file", error=f"not JSON: {exc}"[:300])
