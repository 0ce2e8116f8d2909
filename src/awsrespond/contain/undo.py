"""``contain undo``: reverse applied reversible steps, newest first, journaled like apply (DESIGN.md 3.15)."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.errors import describe_error, error_code
from awsrespond.contain.actions.base import ActionContext, ActionError, differences, get_action
from awsrespond.contain.journal import Event, Journal, StepStatus
from awsrespond.contain.model import Step
from awsrespond.errors import SafetyError, UsageError

UNDOABLE = (StepStatus.DONE, StepStatus.VERIFIED)


@dataclass
class UndoReport:
    step: Step
    ok: bool
    message: str


def select_steps(ctx: ActionContext, journal: Journal, step_ids: list[str], all_reversible: bool,
                 reopen_attacker_access: bool) -> list[Step]:
    """The steps to undo, newest first; refuses what cannot or must not be undone."""
    plan = ctx.plan
    state = journal.state(plan.plan_id)
    order = journal.applied_order(plan.plan_id)
    if all_reversible:
        chosen = [s for s in reversed(order) if state[s].status in UNDOABLE and plan.step(s).reversible]
        if not reopen_attacker_access:
            chosen = [s for s in chosen if not plan.step(s).cuts_attacker_access]
        if not chosen:
            raise UsageError("no applied reversible step to undo (steps that cut attacker access need "
                             "--reopen-attacker-access)")
        return [plan.step(s) for s in chosen]
    steps: list[Step] = []
    for step_id in step_ids:
        try:
            step = plan.step(step_id)
        except KeyError:
            raise UsageError(f"plan {plan.plan_id} has no step {step_id}") from None
        record = state.get(step_id)
        if record is None or record.status not in UNDOABLE:
            status = record.status.value if record else "not applied"
            raise UsageError(f"step {step_id} is {status}: only applied steps can be undone")
        if not step.reversible:
            raise UsageError(f"step {step_id} ({step.action}) cannot be undone: {step.undo}")
        if step.cuts_attacker_access and not reopen_attacker_access:
            raise SafetyError(f"undoing step {step_id} ({step.action} on {step.target.label()}) would give the "
                              "attacker access back; pass --reopen-attacker-access if that is really intended")
        steps.append(step)
    return sorted(steps, key=lambda s: order.index(s.id) if s.id in order else -1, reverse=True)


def _gone(code: str) -> bool:
    return code == "NoSuchEntity" or "NotFound" in code


def undo_steps(ctx: ActionContext, journal: Journal, steps: list[Step]) -> list[UndoReport]:
    plan = ctx.plan
    results = journal.state(plan.plan_id)
    reports: list[UndoReport] = []
    for step in steps:
        impl = get_action(step.action)
        result = results[step.id].result
        try:
            changed = differences(impl.observe(ctx, step), step.post)
        except (ClientError, BotoCoreError) as exc:
            changed = {"observe": {"expected": "readable", "found": describe_error(exc)}}
        if changed:
            # Something (a later step, a person) changed the target since: undoing blindly could
            # undo their change too. Say so and leave it.
            message = ("not undone: the target is no longer as this step left it ("
                       + "; ".join(f"{k}: {v['found']!r}" for k, v in changed.items()) + ")")
            journal.write(plan.plan_id, Event.UNDO_FAILED, step.id, message=message)
            reports.append(UndoReport(step, False, message))
            continue
        journal.write(plan.plan_id, Event.UNDO_INTENT, step.id, action=step.action)
        try:
            undo_result = impl.undo(ctx, step, result)
        except (ClientError, BotoCoreError, ActionError) as exc:
            message = describe_error(exc) if not isinstance(exc, ActionError) else str(exc)
            if isinstance(exc, ClientError) and _gone(error_code(exc)):
                message = f"not undone: the target no longer exists (a later step or a person removed it): {message}"
            journal.write(plan.plan_id, Event.UNDO_FAILED, step.id, message=message)
            reports.append(UndoReport(step, False, message))
            continue
        journal.write(plan.plan_id, Event.UNDO_RESULT, step.id, result=undo_result)
        wanted = impl.undo_post(step, result)
        try:
            diff = differences(impl.observe(ctx, step), wanted)
        except (ClientError, BotoCoreError) as exc:
            diff = {"observe": {"expected": "readable", "found": describe_error(exc)}}
        message = "" if not diff else "not verified: " + "; ".join(
            f"{k}: expected {v['expected']!r}, found {v['found']!r}" for k, v in diff.items())
        journal.write(plan.plan_id, Event.UNDO_VERIFY, step.id, ok=not diff, message=message)
        reports.append(UndoReport(step, not diff, message or "undone and verified"))
    return reports
