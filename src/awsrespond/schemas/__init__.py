"""JSON Schemas for everything awsrespond writes, generated from the models and shipped as files.

``python -m awsrespond.schemas`` rewrites the files; a test fails when they drift from the models.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from awsrespond.case.workspace import CaseManifest, EvidenceIndex, FindingsFile
from awsrespond.contain.documents import ApplyDocument, JournalRecord, UndoDocument
from awsrespond.contain.model import Plan
from awsrespond.findings import Finding
from awsrespond.harden.model import HardenReport
from awsrespond.hunt.run import HuntDocument
from awsrespond.recover.attack_cost import AttackCostDocument
from awsrespond.recover.budget import BudgetDocument
from awsrespond.recover.checklist import Checklist
from awsrespond.recover.contacts import ContactsReport
from awsrespond.recover.mfa import MfaDocument
from awsrespond.recover.passwords import PasswordsDocument
from awsrespond.recover.public_ips import PublicIpDocument
from awsrespond.recover.restore import RestoreDocument
from awsrespond.report.exports.case_json import ReportDocument
from awsrespond.respond.state import FlowState
from awsrespond.triage import TriageDocument

MODELS: dict[str, type[BaseModel]] = {
    "finding": Finding,
    "findings-file": FindingsFile,
    "triage": TriageDocument,
    "hunt": HuntDocument,
    "case": CaseManifest,
    "evidence-index": EvidenceIndex,
    "plan": Plan,
    "journal-record": JournalRecord,
    "contain-apply": ApplyDocument,
    "contain-undo": UndoDocument,
    "recover-contacts": ContactsReport,
    "recover-budget": BudgetDocument,
    "recover-mfa": MfaDocument,
    "recover-passwords": PasswordsDocument,
    "recover-restore": RestoreDocument,
    "recover-ips": PublicIpDocument,
    "recover-cost": AttackCostDocument,
    "recover-checklist": Checklist,
    "harden": HardenReport,
    "report": ReportDocument,
    "respond-state": FlowState,
}


def generate(name: str) -> dict[str, Any]:
    schema = MODELS[name].model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://awsrespond.dev/schemas/{name}.schema.json"
    return schema


def shipped(name: str) -> dict[str, Any]:
    text = resources.files("awsrespond.schemas").joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def write_all(folder: Path) -> None:
    for name in MODELS:
        (folder / f"{name}.schema.json").write_text(json.dumps(generate(name), indent=2, sort_keys=True) + "\n")
