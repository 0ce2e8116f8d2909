"""Writing a plan, and reading one back the way ``apply`` must: exactly as planned, or with steps dropped.

The case keeps its own copy of every plan (``contain/plans/<plan_id>.json``). A plan given to
``apply`` must carry valid hashes and, step by step, equal that copy; the only edit accepted is
removing steps, and the steps that depended on a removed one are reported and skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from awsrespond.case.workspace import Case, write_private
from awsrespond.contain.model import PLAN_FORMAT, Plan
from awsrespond.errors import InputError, SafetyError

PLANS_DIR = "contain/plans"
JOURNAL = "contain/journal.jsonl"


def case_plan_path(case: Case, plan_id: str) -> Path:
    return case.root / PLANS_DIR / f"{plan_id}.json"


def write_plan(case: Case, plan: Plan, output: Path | None = None) -> Path:
    """Seal the plan, keep the case's copy and write ``output`` (default: the case's copy)."""
    plan.seal()
    data = (plan.model_dump_json(indent=2) + "\n").encode()
    original = case_plan_path(case, plan.plan_id)
    write_private(original, data)
    if output is not None and output.resolve() != original.resolve():
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(data)
    return output or original


@dataclass
class LoadedPlan:
    plan: Plan
    dropped: list[str] = field(default_factory=list)  # steps in the original the user removed
    original_found: bool = False


def load_plan(path: Path, case: Case | None) -> LoadedPlan:
    try:
        raw = json.loads(path.read_bytes())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the plan ({exc})", path=str(path)) from exc
    if not isinstance(raw, dict) or raw.get("format") != PLAN_FORMAT:
        raise InputError(f"not an awsrespond containment plan (format must be {PLAN_FORMAT})", path=str(path))
    try:
        plan = Plan.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"invalid plan: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}", path=str(path)) from exc
    if plan.header_hash != plan.header_digest():
        raise SafetyError(f"{path}: the plan's header (account, options, compromised credentials) was edited; "
                          "only dropping steps is allowed - run `contain plan` again")
    seen: set[str] = set()
    for step in plan.steps:
        if step.id in seen:
            raise SafetyError(f"{path}: step {step.id} appears twice")
        seen.add(step.id)
        if step.hash != step.content_hash(plan.plan_id, plan.account_id):
            raise SafetyError(f"{path}: step {step.id} ({step.action} on {step.target.label()}) was edited; "
                              "only dropping steps is allowed - run `contain plan` again")
    loaded = LoadedPlan(plan=plan)
    if case is None:
        return loaded
    if plan.case_id != case.case_id or plan.account_id != case.account_id:
        raise SafetyError(f"{path} belongs to case {plan.case_id} (account {plan.account_id}), "
                          f"not to {case.root} (account {case.account_id})")
    original_path = case_plan_path(case, plan.plan_id)
    if not original_path.exists():
        return loaded
    original = Plan.model_validate_json(original_path.read_bytes())
    loaded.original_found = True
    by_id = {s.id: s for s in original.steps}
    for step in plan.steps:
        kept = by_id.get(step.id)
        if kept is None or kept.model_dump(mode="json") != step.model_dump(mode="json"):
            raise SafetyError(f"{path}: step {step.id} differs from the plan the case holds; "
                              "only dropping steps is allowed")
    if original.header_hash != plan.header_hash:
        raise SafetyError(f"{path}: the plan's header differs from the case's copy")
    loaded.dropped = [s.id for s in original.steps if s.id not in seen]
    return loaded
