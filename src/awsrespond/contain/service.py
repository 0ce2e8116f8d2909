"""The containment commands as library calls: plan, apply and undo on a case (the CLI is a thin shell)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.case.own_artefacts import add_ids, ids_in_result, read_ids
from awsrespond.case.workspace import Case, write_private
from awsrespond.contain.actions.base import ActionContext
from awsrespond.contain.documents import ApplyDocument, StepOutcome, UndoDocument, UndoOutcome
from awsrespond.contain.executor import ApplyOptions, ApplyReport, Executor, Progress
from awsrespond.contain.journal import Journal, StepStatus
from awsrespond.contain.model import Plan
from awsrespond.contain.planio import JOURNAL, LoadedPlan, case_plan_path, load_plan
from awsrespond.contain.safety import caller_key, check_account, check_not_attacker, check_size
from awsrespond.contain.undo import select_steps, undo_steps
from awsrespond.errors import UsageError


def journal_of(case: Case) -> Journal:
    return Journal(case.root / JOURNAL)


def own_artefacts(case: Case) -> list[str]:
    return read_ids(case)


def _record_artefacts(case: Case, report: ApplyReport) -> list[str]:
    found: set[str] = set()
    for outcome in report.steps:
        found.update(ids_in_result(outcome.step.action, outcome.result))
    return add_ids(case, found)


def load_for_case(plan_path: Path, case: Case) -> LoadedPlan:
    return load_plan(plan_path, case)


def apply_plan(
    case: Case,
    factory: ClientFactory,
    identity: CallerIdentity,
    loaded: LoadedPlan,
    *,
    confirm: str | None,
    ask: Callable[[str], str] | None,
    max_steps: int,
    options: ApplyOptions,
    progress: Progress | None = None,
    verify_delay: float = 1.0,
) -> ApplyDocument:
    plan = loaded.plan
    check_size(plan, max_steps)
    check_not_attacker(identity, caller_key(factory), plan)
    check_account(identity, plan, confirm, ask)
    if not case_plan_path(case, plan.plan_id).exists():
        # A plan made elsewhere (or copied): keep the exact copy applied, for undo and the report.
        write_private(case_plan_path(case, plan.plan_id), (plan.model_dump_json(indent=2) + "\n").encode())
    options.dropped = loaded.dropped
    options.never_touch = sorted(set(options.never_touch) | set(plan.never_touch))
    ctx = ActionContext(factory=factory, case=case, plan=plan, verify_delay=verify_delay,
                        extra={"own_artefacts": own_artefacts(case)})
    report = Executor(ctx, journal_of(case), identity, caller_key(factory), options, progress).run()
    case.evidence.flush()
    artefacts = _record_artefacts(case, report)
    # recover/harden plans name their command; everything else is a containment plan
    command = str(plan.options.get("command") or "contain apply")
    case.record_command(command, plan=plan.plan_id, ok=report.ok, counts=report.counts())
    return ApplyDocument(
        plan_id=plan.plan_id, case_id=plan.case_id, account=identity.as_dict(), ok=report.ok,
        counts=report.counts(), own_artefacts=artefacts,
        new_since_plan=sorted({str(item) for r in report.steps if r.step.action == "awsrespond.recheck"
                               for item in r.result.get("new", [])}),
        steps=[StepOutcome(id=r.step.id, phase=r.step.phase, action=r.step.action, target=r.step.target,
                           status=r.status, verified=r.verified, reversible=r.step.reversible, message=r.message,
                           result=r.result) for r in report.steps],
    )


def applied_plan(case: Case, plan_id: str | None) -> Plan:
    """The plan to undo: the one named, or the containment plan applied last in this case.

    Recovery and hardening plans (they name their ``command``) share the journal but are only
    undone when named: ``contain undo`` after ``recover budget`` must not quietly pick the budget.
    """
    if plan_id is not None:
        path = case_plan_path(case, plan_id)
        if not path.exists():
            raise UsageError(f"{case.root} holds no plan {plan_id}")
        return Plan.model_validate_json(path.read_bytes())
    runs = [str(r["plan"]) for r in journal_of(case).records() if r.get("event") == "run"]
    for candidate in reversed(list(dict.fromkeys(runs))):
        path = case_plan_path(case, candidate)
        if path.exists():
            plan = Plan.model_validate_json(path.read_bytes())
            if not plan.options.get("command"):
                return plan
    raise UsageError(f"{case.root}: no containment plan was applied in this case "
                     "(name a recovery plan with --plan PLAN_ID)")


def undo(
    case: Case,
    factory: ClientFactory,
    identity: CallerIdentity,
    plan: Plan,
    *,
    step_ids: list[str],
    all_reversible: bool,
    reopen_attacker_access: bool,
    confirm: str | None,
    ask: Callable[[str], str] | None,
    verify_delay: float = 1.0,
) -> UndoDocument:
    if not step_ids and not all_reversible:
        raise UsageError("name the steps to undo with --step ID, or pass --all-reversible")
    check_not_attacker(identity, caller_key(factory), plan)
    ctx = ActionContext(factory=factory, case=case, plan=plan, verify_delay=verify_delay)
    journal = journal_of(case)
    steps = select_steps(ctx, journal, step_ids, all_reversible, reopen_attacker_access)
    check_account(identity, plan, confirm, ask)
    reports = undo_steps(ctx, journal, steps)
    case.evidence.flush()
    case.record_command("contain undo", plan=plan.plan_id, steps=[s.id for s in steps])
    return UndoDocument(plan_id=plan.plan_id, case_id=plan.case_id, ok=all(r.ok for r in reports),
                        steps=[UndoOutcome(id=r.step.id, action=r.step.action, target=r.step.target, ok=r.ok,
                                           message=r.message) for r in reports])


def status_counts(document: ApplyDocument) -> dict[str, Any]:
    return {status.value: document.counts.get(status.value, 0) for status in StepStatus}
