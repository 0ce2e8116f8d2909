"""``contain apply``: run a saved plan exactly, phase by phase, journaled, verifiable, resumable.

Inside a phase, a step starts when every step in its ``after`` is verified; independent steps run
in parallel. Per step: refusals (never-touch, lockout) -> observe -> already in ``post``? done ->
not in ``expect``? refused as stale -> evidence -> journal intent -> apply (throttling retried) ->
journal result -> verify. On ``--resume`` a step with an intent and no result is reconciled by
looking before anything is repeated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.errors import ErrorKind, classify_error, describe_error, error_code
from awsrespond.aws.identity import CallerIdentity
from awsrespond.case.own_artefacts import ids_in_result
from awsrespond.contain.actions.base import Action, ActionContext, ActionError, differences, get_action, matches
from awsrespond.contain.journal import Event, Journal, StepRecord, StepStatus
from awsrespond.contain.model import Phase, Plan, Step
from awsrespond.contain.safety import step_refusal
from awsrespond.errors import SafetyError

FINISHED_OK = (StepStatus.VERIFIED,)
# Answers that mean "not yet": the resource is still in use by something an earlier step is ending.
BUSY_CODES = frozenset({"DependencyViolation", "ResourceInUse", "ResourceInUseFault", "ScalingActivityInProgress",
                        "ScalingActivityInProgressFault", "ConcurrentModification",
                        "ConcurrentModificationException"})


@dataclass
class ApplyOptions:
    resume: bool = False
    workers: int = 8
    throttle_retries: int = 8
    backoff: float = 0.5
    never_touch: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


@dataclass
class StepReport:
    step: Step
    status: StepStatus
    verified: bool
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class ApplyReport:
    plan: Plan
    steps: list[StepReport]

    @property
    def ok(self) -> bool:
        return all(r.status is StepStatus.VERIFIED for r in self.steps)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for report in self.steps:
            out[report.status.value] = out.get(report.status.value, 0) + 1
        return out


Progress = Callable[[Step, StepStatus, str], None]


class _Throttled(Exception):
    pass


class Executor:
    def __init__(self, ctx: ActionContext, journal: Journal, identity: CallerIdentity, access_key: str | None,
                 options: ApplyOptions, progress: Progress | None = None) -> None:
        self.ctx = ctx
        self.plan = ctx.plan
        self.journal = journal
        self.identity = identity
        self.access_key = access_key
        self.options = options
        self.progress = progress
        self.records: dict[str, StepRecord] = {}
        self._lock = threading.Lock()

    # -- the run ---------------------------------------------------------------------------------
    def run(self) -> ApplyReport:
        plan = self.plan
        self.records = self.journal.state(plan.plan_id)
        ids = {s.id: s for s in plan.steps}
        made = {i for sid, r in self.records.items() if sid in ids for i in ids_in_result(ids[sid].action, r.result)}
        if made:  # what an earlier, interrupted run of this plan created is the tool's own too
            self.ctx.extra["own_artefacts"] = sorted(set(self.ctx.extra.get("own_artefacts", [])) | made)
        # When each interrupted step announced its call: reconcile only claims what appeared since.
        self.ctx.extra["intent_at"] = {sid: r.at for sid, r in self.records.items()
                                       if r.status is StepStatus.IN_FLIGHT and r.at}
        started = [s for s, r in self.records.items() if r.status is not StepStatus.PENDING]
        if started and not self.options.resume:
            raise SafetyError(f"plan {plan.plan_id} was already applied in this case ({len(started)} steps "
                              "journaled): pass --resume to finish it, or make a new plan")
        self.journal.write(plan.plan_id, Event.RUN, caller=self.identity.arn, resume=self.options.resume,
                           steps=len(plan.steps), dropped=self.options.dropped)
        for phase in Phase:
            self._run_phase([s for s in plan.steps if s.phase is phase], set(ids))
        return ApplyReport(plan=plan, steps=[self._report(s) for s in plan.steps])

    def _report(self, step: Step) -> StepReport:
        record = self.records.get(step.id, StepRecord())
        return StepReport(step=step, status=record.status, verified=record.verified, message=record.message,
                          result=record.result)

    def _run_phase(self, steps: list[Step], plan_ids: set[str]) -> None:
        pending = {s.id: s for s in steps}
        running: dict[Future[None], str] = {}
        with ThreadPoolExecutor(max_workers=max(1, self.options.workers), thread_name_prefix="contain") as pool:
            while pending or running:
                unfinished = set(pending) | set(running.values())
                for step_id, step in list(pending.items()):
                    verdict = self._dependencies(step, plan_ids, unfinished)
                    if verdict == "wait":
                        continue
                    del pending[step_id]
                    if verdict:
                        self._mark(step, Event.SKIPPED, StepStatus.SKIPPED, verdict)
                        continue
                    running[pool.submit(self._run_step, step)] = step_id
                if not running:
                    if pending:  # a cycle or a dependency on a later phase: never guess
                        for step in pending.values():
                            self._mark(step, Event.SKIPPED, StepStatus.SKIPPED,
                                       "its dependencies cannot complete before it (plan order)")
                        pending.clear()
                    break
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    running.pop(future)
                    future.result()

    def _dependencies(self, step: Step, plan_ids: set[str], unfinished: set[str]) -> str:
        """"" when ready, "wait" while a dependency is pending or running, else why the step is skipped."""
        for dep in step.after:
            if dep in unfinished:
                return "wait"
            if dep not in plan_ids:
                if dep in self.options.dropped:
                    return f"depends on step {dep}, which was dropped from the plan"
                return f"depends on step {dep}, which is not in the plan"
            record = self.records.get(dep)
            status = record.status if record else StepStatus.PENDING
            if status in FINISHED_OK:
                continue
            if status in (StepStatus.PENDING, StepStatus.IN_FLIGHT):
                return f"depends on step {dep}, which has not run"
            return f"depends on step {dep}, which is {status.value}"
        return ""

    def _mark(self, step: Step, event: Event, status: StepStatus, message: str, **data: Any) -> None:
        self.journal.write(self.plan.plan_id, event, step.id, message=message, **data)
        record = self.records.setdefault(step.id, StepRecord())
        record.status, record.message = status, message
        if self.progress:
            self.progress(step, status, message)

    # -- one step -------------------------------------------------------------------------------
    def _run_step(self, step: Step) -> None:
        record = self.records.get(step.id, StepRecord())
        if record.status is StepStatus.VERIFIED:
            if self.progress:
                self.progress(step, StepStatus.VERIFIED, "done in an earlier run")
            return
        try:
            impl = get_action(step.action)
            if record.status is StepStatus.DONE:
                self._verify(step, impl, record.result)
                return
            if record.status is StepStatus.IN_FLIGHT:
                reconciled = self._retrying(lambda: impl.reconcile(self.ctx, step))
                if reconciled is not None:
                    self._result(step, Event.RECONCILED, reconciled)
                    self._verify(step, impl, reconciled)
                    return
                # Not made yet: the intent was journaled after the expect check, so apply again.
                self._apply(step, impl)
                return
            refusal = step_refusal(step, self.identity, self.access_key, self.options.never_touch)
            if refusal:
                self._mark(step, Event.REFUSED, StepStatus.REFUSED, refusal)
                return
            state = self._retrying(lambda: impl.observe(self.ctx, step))
            if matches(state, step.post) and step.post:
                self._result(step, Event.RECONCILED, {"already": "the target was already in the planned state"})
                self._verify(step, impl, {})
                return
            diff = differences(state, step.expect)
            if diff:
                self._mark(step, Event.REFUSED, StepStatus.REFUSED,
                           f"stale: the target is not in the state the plan expects ({_explain(diff)}); "
                           "make a new plan", observed=state)
                return
            evidence = self._retrying(lambda: impl.capture(self.ctx, step))
            self.journal.write(self.plan.plan_id, Event.INTENT, step.id, action=step.action,
                               target=step.target.model_dump(mode="json"), evidence=[e.file for e in evidence])
            self.records.setdefault(step.id, StepRecord()).status = StepStatus.IN_FLIGHT
            self._apply(step, impl, intent_written=True)
        except ClientError as exc:
            kind = classify_error(exc)
            op = self.ctx.factory.last_call()
            where = f"{op.iam_action} in {op.region}: " if op else ""
            hint = " (the step's IAM permissions: " + ", ".join(step.permissions) + ")" \
                if kind is ErrorKind.ACCESS_DENIED else ""
            self._mark(step, Event.FAILED, StepStatus.FAILED, f"{where}{describe_error(exc)}{hint}",
                       code=error_code(exc))
        except _Throttled as exc:
            self._mark(step, Event.FAILED, StepStatus.FAILED, str(exc), code="RetriesExhausted")
        except (ActionError, BotoCoreError) as exc:
            self._mark(step, Event.FAILED, StepStatus.FAILED, str(exc))

    def _apply(self, step: Step, impl: Action, *, intent_written: bool = False) -> None:
        if not intent_written:
            self.journal.write(self.plan.plan_id, Event.INTENT, step.id, action=step.action,
                               target=step.target.model_dump(mode="json"), resumed=True)
        result = self._retrying(lambda: impl.apply(self.ctx, step))
        self._result(step, Event.RESULT, result)
        self._verify(step, impl, result)

    def _result(self, step: Step, event: Event, result: dict[str, Any]) -> None:
        self.journal.write(self.plan.plan_id, event, step.id, result=result)
        record = self.records.setdefault(step.id, StepRecord())
        record.status, record.result = StepStatus.DONE, dict(result)
        made = ids_in_result(step.action, result)
        if made:  # the re-check later in this run must not call the tool's own artefacts new
            with self._lock:
                self.ctx.extra["own_artefacts"] = sorted(set(self.ctx.extra.get("own_artefacts", [])) | set(made))

    def _verify(self, step: Step, impl: Action, result: dict[str, Any]) -> None:
        attempts = max(1, self.ctx.verify_attempts)
        ok, observed = False, {}
        for attempt in range(attempts):
            ok, observed = self._retrying(lambda: impl.verify(self.ctx, step, result))
            if ok:
                break
            if attempt + 1 < attempts:
                time.sleep(self.ctx.verify_delay * (attempt + 1))
        message = "" if ok else "not verified: " + _explain(differences(observed, step.post))
        self.journal.write(self.plan.plan_id, Event.VERIFY, step.id, ok=ok, message=message, observed=observed)
        record = self.records.setdefault(step.id, StepRecord())
        record.verified = ok
        record.status = StepStatus.VERIFIED if ok else StepStatus.DONE
        record.message = message
        if self.progress:
            self.progress(step, record.status, message)

    def _retrying(self, call: Callable[[], Any]) -> Any:
        """Throttling (on top of botocore's own retries) and a resource still busy with an earlier
        step (a security group whose instance is shutting down, a group still scaling in) are retried
        with backoff; real AWS settles these in seconds to a minute. Anything else is raised."""
        delay = self.options.backoff
        for attempt in range(self.options.throttle_retries + 1):
            try:
                return call()
            except ClientError as exc:
                busy = error_code(exc) in BUSY_CODES
                if classify_error(exc) is not ErrorKind.THROTTLED and not busy:
                    raise
                if attempt == self.options.throttle_retries:
                    what = "still busy" if busy else "still throttled"
                    raise _Throttled(f"{what} after {attempt + 1} attempts: {describe_error(exc)}") from exc
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")


def _explain(diff: dict[str, dict[str, Any]]) -> str:
    return "; ".join(f"{key}: expected {value['expected']!r}, found {value['found']!r}" for key, value in diff.items())
