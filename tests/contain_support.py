"""Shared scaffolding for containment tests: a moto account, a case, a context, one step at a time."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3

from awsrespond.aws.clients import ClientFactory
from awsrespond.case.workspace import Case
from awsrespond.contain.actions.base import ActionContext, differences, get_action, matches
from awsrespond.contain.model import Phase, Plan, Step, Target
from awsrespond.timeutil import now_utc

ACCOUNT = "123456789012"  # moto's default account


def make_factory(region: str = "us-east-1") -> ClientFactory:
    return ClientFactory(session=boto3.Session(region_name=region), max_attempts=2)


def make_context(tmp_path: Path, factory: ClientFactory | None = None, *, steps: list[Step] | None = None,
                 plan_id: str = "p-test") -> ActionContext:
    case = Case.create(tmp_path / "case", account_id=ACCOUNT, caller_arn=f"arn:aws:iam::{ACCOUNT}:user/responder")
    plan = Plan(plan_id=plan_id, case_id=case.case_id, account_id=ACCOUNT, created=now_utc(),
                created_by="test", steps=steps or [])
    return ActionContext(factory=factory or make_factory(), case=case, plan=plan, verify_attempts=1,
                         verify_delay=0.0)


def make_step(action: str, target: Target, *, expect: Mapping[str, Any], post: Mapping[str, Any],
              params: Mapping[str, Any] | None = None, step_id: str = "s001",
              phase: Phase = Phase.DESTROY) -> Step:
    impl = get_action(action)
    return Step(id=step_id, phase=phase, action=action, target=target, params=dict(params or {}),
                reversible=impl.reversible, undo=impl.how_to_undo, cuts_attacker_access=impl.cuts_attacker_access,
                permissions=list(impl.permissions), expect=dict(expect), post=dict(post))


def run_step(ctx: ActionContext, step: Step) -> dict[str, Any]:
    """Observe, check expect, capture, apply, verify - what the executor does, without the journal."""
    impl = get_action(step.action)
    state = impl.observe(ctx, step)
    assert matches(state, step.expect), f"stale: {differences(state, step.expect)}"
    impl.capture(ctx, step)
    result = impl.apply(ctx, step)
    ok, observed = impl.verify(ctx, step, result)
    assert ok, f"not verified: {differences(observed, step.post)}"
    return result


def undo_step(ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> None:
    impl = get_action(step.action)
    impl.undo(ctx, step, result)
    wanted = impl.undo_post(step, result)
    state = impl.observe(ctx, step)
    assert matches(state, wanted), f"undo not verified: {differences(state, wanted)}"


class CallLog:
    """Records (service, operation, params) of every API call a factory's clients send."""

    def __init__(self, factory: ClientFactory) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self._factory = factory
        self._hooked: set[int] = set()

    def attach(self, client: Any) -> Any:
        if id(client) not in self._hooked:
            self._hooked.add(id(client))
            client.meta.events.register("provide-client-params", self._record)
        return client

    def attach_all(self, services: list[str], regions: list[str | None]) -> None:
        for service in services:
            for region in regions:
                self.attach(self._factory.client(service, region))

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.service_model.service_name, model.name, dict(params)))

    def operations(self, service: str | None = None, *, writes_only: bool = True) -> list[str]:
        reads = ("Get", "List", "Describe")
        return [op for svc, op, _ in self.calls
                if (service is None or svc == service) and not (writes_only and op.startswith(reads))]


def last_applied_plan(case: Case) -> Plan:
    """The plan the journal saw run last, recovery plans included (``contain undo`` only defaults to
    containment plans; recover/harden plans are undone by id)."""
    from awsrespond.contain.service import applied_plan, journal_of  # noqa: PLC0415

    runs = [r for r in journal_of(case).records() if r.get("event") == "run"]
    return applied_plan(case, str(runs[-1]["plan"]))
