"""Everything a report says, read once from the case directory.

The reports (HTML, Markdown, CSV, OCSF, ASFF, the text for AWS) are views of :class:`CaseData`.
Reading needs no credentials. ``secrets/`` is never opened. A case file that is missing is simply
absent (that step was not run); one that cannot be parsed is named in ``problems`` and the rest is
still reported.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from awsrespond.case.workspace import Case
from awsrespond.contain.journal import Journal, StepStatus
from awsrespond.contain.model import Phase, Plan
from awsrespond.contain.planner.subjects import INFORMATIONAL_TYPES
from awsrespond.coverage import CoverageGap
from awsrespond.errors import InputError
from awsrespond.findings import Classification, Finding, Severity, sort_key
from awsrespond.hunt.session_model import AttackerSession
from awsrespond.recover.attack_cost import AttackCostDocument, CostCurve, cost_curve
from awsrespond.recover.checklist import Checklist, ItemStatus
from awsrespond.textsafe import one_line

SECRETS_DIR = "secrets"


class FindingStatus(StrEnum):
    """Where a finding stands after containment and recovery, from the journal."""

    OPEN = "open"  # nothing applied on its resource
    CONTAINED = "contained"  # a step that names it (or its resource) is done
    FAILED = "failed"  # a step on it failed or was refused
    POSTURE = "posture"  # a posture finding: open until fixed, but not the attacker's
    INFORMATIONAL = "informational"  # a fact about the account (a region used, a cost spike): nothing to remove


class ActionTaken(BaseModel):
    """One step of an applied plan, with its outcome from the journal."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    plan_id: str
    command: str  # "contain apply", "recover budget", "harden --fix", ...
    phase: str
    step: str
    action: str
    target_type: str
    target_id: str
    region: str
    reason: str
    status: StepStatus
    message: str
    at: str | None
    reversible: bool
    cuts_attacker_access: bool
    why: tuple[str, ...] = Field(description="Finding ids that called for the step")

    @property
    def recovery(self) -> bool:
        return self.phase == Phase.RECOVER.value

    @property
    def succeeded(self) -> bool:
        return self.status in (StepStatus.DONE, StepStatus.VERIFIED)


class PlanRun(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    plan_id: str
    command: str
    created: datetime
    steps: int
    statuses: dict[str, int] = Field(description="Status -> count of steps (pending: never run)")


@dataclass(frozen=True)
class ReportFinding:
    finding: Finding
    status: FindingStatus
    actions: tuple[ActionTaken, ...]  # the steps that acted on it
    not_planned: str = ""  # why containment left it alone, from the newest plan that names it


class EvidenceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    file: str
    sha256: str
    service: str
    operation: str
    region: str


class Attacker(BaseModel):
    """The attacker's footprint, gathered from findings and hunt sessions."""

    model_config = ConfigDict(extra="forbid")
    access_key_ids: list[str] = Field(default_factory=list)
    principals: list[str] = Field(default_factory=list)
    source_ips: list[str] = Field(default_factory=list)
    user_agents: list[str] = Field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    events: int = 0


@dataclass
class CaseData:
    root: Path
    account_id: str
    case_id: str
    created: str
    caller_arn: str
    alias: str | None
    window_since: str | None
    window_until: str | None
    commands: list[dict[str, Any]]
    findings: list[ReportFinding]
    sessions: list[AttackerSession]
    attacker: Attacker
    regions_touched: dict[str, int]  # region -> attacker events (hunt) or findings (triage only)
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
    problems: list[str] = field(default_factory=list)  # case files that could not be read, named

    @property
    def attacker_findings(self) -> list[ReportFinding]:
        return [f for f in self.findings if f.finding.classification is not Classification.POSTURE]

    @property
    def open_findings(self) -> list[ReportFinding]:
        return [f for f in self.findings if f.status in (FindingStatus.OPEN, FindingStatus.FAILED)
                and f.finding.suspicious]

    @property
    def open_checklist(self) -> list[Any]:
        if self.checklist is None:
            return []
        return [item for item in self.checklist.items if item.status is not ItemStatus.DONE]

    def by_severity(self) -> dict[Severity, list[ReportFinding]]:
        groups: dict[Severity, list[ReportFinding]] = {}
        for item in self.findings:
            groups.setdefault(item.finding.severity, []).append(item)
        return dict(sorted(groups.items(), key=lambda kv: -kv[0].rank))

    def created_resources(self) -> list[Finding]:
        """What the attacker created, from the findings (one per resource)."""
        seen: dict[tuple[str, str, str], Finding] = {}
        for item in self.findings:
            f = item.finding
            if f.classification is Classification.ATTACKER_CREATED:
                seen.setdefault((f.resource.type, f.resource.region, f.resource.id), f)
        return sorted(seen.values(), key=lambda f: (f.resource.region, f.resource.type, f.resource.id))


def load_case(root: Path) -> CaseData:
    """Read the case at ``root``. Raises InputError only when it is not a case at all."""
    case = Case.open(root)
    problems: list[str] = []
    triage = _read(case, "triage.json", problems)
    hunt = _read(case, "hunt.json", problems)
    manifest = case.manifest

    findings = _findings(case, triage, hunt, problems)
    sessions = _sessions(hunt, problems)
    plans, actions, skipped = _journal(case, problems)
    statuses = _statuses(findings, actions, skipped)
    report_findings = [ReportFinding(f, statuses[f.id][0], statuses[f.id][1],
                                     skipped[f.id][0] if f.id in skipped else "") for f in findings]

    account = (triage or {}).get("account") or {}
    window = (hunt or {}).get("window") or (triage or {}).get("window") or {}
    since_values = [str(w["since"]) for w in ((triage or {}).get("window") or {}, (hunt or {}).get("window") or {})
                    if w.get("since")]
    return CaseData(
        root=case.root,
        account_id=case.account_id,
        case_id=case.case_id,
        created=str(manifest.created),
        caller_arn=str(account.get("caller_arn") or manifest.created_by),
        alias=account.get("alias"),
        window_since=min(since_values) if since_values else None,
        window_until=window.get("until"),
        commands=[c.model_dump(mode="json") for c in manifest.commands],
        findings=report_findings,
        sessions=sessions,
        attacker=_attacker(findings, sessions),
        regions_touched=_regions(findings, sessions),
        cost_curve=_curve(case, triage, problems),
        attack_cost=_model(case, "recovery/attack_cost.json", AttackCostDocument, problems),
        plans=plans,
        actions=actions,
        checklist=_model(case, "recovery/checklist.json", Checklist, problems),
        harden=_read(case, "recovery/harden.json", problems),
        coverage=_coverage(triage, problems),
        hunt_errors=[one_line(e, 300) for e in (hunt or {}).get("errors", [])],
        notes=[str(n) for doc in (triage, hunt) for n in (doc or {}).get("notes", [])],
        evidence=_evidence(case, problems),
        problems=problems,
    )


def _read(case: Case, name: str, problems: list[str]) -> Any:
    path = case.root / name
    if not path.exists():
        return None
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        problems.append(f"{name}: unreadable ({one_line(exc, 200)})")
        return None


def _model(case: Case, name: str, model: Any, problems: list[str]) -> Any:
    data = _read(case, name, problems)
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems.append(f"{name}: not in the expected shape ({exc.error_count()} errors)")
        return None


def _findings(case: Case, triage: Any, hunt: Any, problems: list[str]) -> list[Finding]:
    """``findings.json`` (triage and hunt combined); else both documents' own lists."""
    combined = _read(case, "findings.json", problems)
    sources = [combined] if isinstance(combined, dict) else [triage, hunt]
    out: dict[str, Finding] = {}
    for document in sources:
        for number, item in enumerate((document or {}).get("findings", []), 1):
            try:
                finding = Finding.model_validate(item)
            except ValidationError as exc:
                problems.append(f"finding {number}: not in the finding model ({exc.error_count()} errors)")
                continue
            out.setdefault(finding.id, finding)
    return sorted(out.values(), key=sort_key)


def _sessions(hunt: Any, problems: list[str]) -> list[AttackerSession]:
    sessions = []
    for number, item in enumerate((hunt or {}).get("sessions", []), 1):
        try:
            sessions.append(AttackerSession.model_validate(item))
        except ValidationError as exc:
            problems.append(f"hunt.json session {number}: not in the session model ({exc.error_count()} errors)")
    return sessions


Skipped = dict[str, tuple[str, tuple[str, str] | None]]  # finding id -> (reason, (id, region) covering it)


def _journal(case: Case, problems: list[str]) -> tuple[list[PlanRun], list[ActionTaken], Skipped]:
    plans_dir = case.root / "contain" / "plans"
    journal = Journal(case.root / "contain" / "journal.jsonl") if (case.root / "contain").exists() else None
    runs: list[PlanRun] = []
    actions: list[ActionTaken] = []
    skipped: Skipped = {}
    for path in sorted(plans_dir.glob("*.json")) if plans_dir.exists() else []:
        try:
            plan = Plan.model_validate_json(path.read_bytes())
        except (OSError, ValidationError) as exc:
            problems.append(f"contain/plans/{path.name}: unreadable plan ({one_line(exc, 200)})")
            continue
        try:
            state = journal.state(plan.plan_id) if journal is not None else {}
        except InputError as exc:
            problems.append(f"contain/journal.jsonl: {one_line(exc, 200)}")
            state = {}
        if not state:
            continue  # planned, never applied
        for item in plan.not_planned:
            for finding_id in filter(None, item.finding.split(",")):
                cover = (item.covered_by.id, item.covered_by.region) if item.covered_by else None
                skipped[finding_id] = (item.reason, cover)
        command = str(plan.options.get("command") or "contain apply")
        counts: Counter[str] = Counter()
        for step in plan.steps:
            record = state.get(step.id)
            status = record.status if record else StepStatus.PENDING
            counts[status.value] += 1
            if record is None:
                continue
            actions.append(ActionTaken(
                plan_id=plan.plan_id, command=command, phase=step.phase.value, step=step.id, action=step.action,
                target_type=step.target.type, target_id=step.target.id, region=step.target.region,
                reason=step.reason, status=record.status, message=record.message, at=record.at,
                reversible=step.reversible, cuts_attacker_access=step.cuts_attacker_access, why=tuple(step.why),
            ))
        runs.append(PlanRun(plan_id=plan.plan_id, command=command, created=plan.created, steps=len(plan.steps),
                            statuses=dict(counts)))
    return runs, actions, skipped


def _statuses(
    findings: list[Finding], actions: list[ActionTaken], skipped: Skipped
) -> dict[str, tuple[FindingStatus, tuple[ActionTaken, ...]]]:
    by_finding: dict[str, list[ActionTaken]] = {}
    by_resource: dict[tuple[str, str], list[ActionTaken]] = {}
    for action in actions:
        for finding_id in action.why:
            by_finding.setdefault(finding_id, []).append(action)
        by_resource.setdefault((action.target_id, action.region), []).append(action)
    out: dict[str, tuple[FindingStatus, tuple[ActionTaken, ...]]] = {}
    for f in findings:
        cover = skipped[f.id][1] if f.id in skipped else None
        acted = (by_finding.get(f.id) or by_resource.get((f.resource.id, f.resource.region))
                 or (by_resource.get(cover) if cover else None) or [])
        if acted and all(a.succeeded for a in acted):
            status = FindingStatus.CONTAINED
        elif any(a.status in (StepStatus.FAILED, StepStatus.REFUSED) for a in acted):
            status = FindingStatus.FAILED
        elif acted and any(a.succeeded for a in acted):
            status = FindingStatus.CONTAINED
        elif f.classification is Classification.POSTURE:
            status = FindingStatus.POSTURE
        elif f.resource.type in INFORMATIONAL_TYPES:
            status = FindingStatus.INFORMATIONAL
        else:
            status = FindingStatus.OPEN
        out[f.id] = (status, tuple(acted))
    return out


def _attacker(findings: list[Finding], sessions: list[AttackerSession]) -> Attacker:
    keys: set[str] = set()
    principals: set[str] = set()
    ips: set[str] = set()
    agents: set[str] = set()
    times: list[datetime] = []
    events = 0
    for s in sessions:
        keys.update(c.credential for c in s.credentials if not c.credential.startswith("principal:"))
        principals.update(p for p in [s.principal, *(c.principal for c in s.credentials)] if p)
        ips.update(s.source_ips)
        agents.update(s.user_agents)
        times.extend(t for t in (s.first_seen, s.last_seen) if t is not None)
        events += s.event_count
    for f in findings:
        if f.classification in (Classification.ATTACKER_CREATED, Classification.ATTACKER_USED):
            if f.access_key_id:
                keys.add(f.access_key_id)
            if f.source_ip:
                ips.add(f.source_ip)
            if f.resource.type == "AWS::IAM::AccessKey":
                keys.add(f.resource.id)
    return Attacker(access_key_ids=sorted(keys), principals=sorted(principals), source_ips=sorted(ips),
                    user_agents=sorted(agents), first_seen=min(times) if times else None,
                    last_seen=max(times) if times else None, events=events)


def _regions(findings: list[Finding], sessions: list[AttackerSession]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for s in sessions:
        for entry in s.timeline:
            if entry.region:
                counts[entry.region] += 1
    if not counts:
        for f in findings:
            if f.classification is not Classification.POSTURE and f.resource.region not in ("global", "*"):
                counts[f.resource.region] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _curve(case: Case, triage: Any, problems: list[str]) -> CostCurve | None:
    cost = _read(case, "recovery/attack_cost.json", [])
    if isinstance(cost, dict) and cost.get("curve"):
        try:
            return CostCurve.model_validate(cost["curve"])
        except ValidationError as exc:
            problems.append(f"recovery/attack_cost.json: cost curve not in the expected shape ({exc.error_count()})")
    return cost_curve(triage) if triage else None


def _coverage(triage: Any, problems: list[str]) -> list[CoverageGap]:
    gaps = []
    for number, item in enumerate((triage or {}).get("coverage", []), 1):
        try:
            gaps.append(CoverageGap.model_validate(item))
        except ValidationError:
            problems.append(f"triage.json coverage entry {number}: not in the coverage model")
    return gaps


def _evidence(case: Case, problems: list[str]) -> list[EvidenceFile]:
    index = _read(case, "evidence/index.json", problems)
    files = []
    for item in (index or {}).get("files", []):
        name = str(item.get("file", ""))
        if name.startswith(SECRETS_DIR + "/"):
            continue  # never listed: a secret's hash is not evidence anyone needs
        files.append(EvidenceFile(file=name, sha256=str(item.get("sha256", "")), service=str(item.get("service", "")),
                                  operation=str(item.get("operation", "")), region=str(item.get("region", ""))))
    return sorted(files, key=lambda e: e.file)
