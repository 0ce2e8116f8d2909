"""The executor's guarantees, with in-memory actions: order, staleness, refusals, failures, resume, undo."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from botocore.exceptions import ClientError

from awsrespond.aws.identity import CallerIdentity
from awsrespond.contain.actions.base import Action, ActionContext, register
from awsrespond.contain.executor import ApplyOptions, Executor
from awsrespond.contain.journal import Event, Journal, StepStatus
from awsrespond.contain.model import Phase, Plan, Step, Target
from awsrespond.contain.planio import load_plan, write_plan
from awsrespond.contain.safety import check_account, check_not_attacker, check_size
from awsrespond.contain.undo import select_steps, undo_steps
from awsrespond.errors import SafetyError, UsageError
from tests.contain_support import ACCOUNT, make_context

WORLD_KEY = "world"


def _world(ctx: ActionContext) -> dict[str, Any]:
    world: dict[str, Any] = ctx.extra[WORLD_KEY]
    return world


@register
class FlipAction(Action):
    """Sets world[target] from params.before to params.after; fails or throttles on request."""

    name: ClassVar[str] = "test.flip"
    title: ClassVar[str] = "flip a value"
    resource_type: ClassVar[str] = "Test::Thing"
    permissions: ClassVar[tuple[str, ...]] = ("test:Flip", "test:Read")
    reversible: ClassVar[bool] = True
    how_to_undo: ClassVar[str] = "flip back"
    undo_permissions: ClassVar[tuple[str, ...]] = ("test:Flip",)

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"value": _world(ctx)["things"].get(step.target.id)}

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        world = _world(ctx)
        with world["lock"]:
            world["calls"].append(step.target.id)
        fault = world["faults"].get(step.target.id)
        if fault:
            world["faults"][step.target.id] = fault[1:]
            code = fault[0]
            raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, "Flip")
        if world.get("crash_on") == step.target.id:
            raise KeyboardInterrupt("simulated kill after the intent")
        previous = world["things"][step.target.id]
        world["things"][step.target.id] = step.params["after"]
        return {"previous": previous}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        _world(ctx)["things"][step.target.id] = result["previous"]
        return {}


@register
class CuttingFlip(FlipAction):
    name: ClassVar[str] = "test.cut"
    cuts_attacker_access: ClassVar[bool] = True


def _step(step_id: str, thing: str, before: str, after: str, *, deps: tuple[str, ...] = (),
          phase: Phase = Phase.DESTROY, action: str = "test.flip", ttype: str = "Test::Thing") -> Step:
    return Step(id=step_id, phase=phase, action=action, target=Target(type=ttype, id=thing, region="global"),
                params={"after": after}, reversible=True, undo="flip back", permissions=["test:Flip"],
                expect={"value": before}, post={"value": after}, after=list(deps),
                cuts_attacker_access=action == "test.cut")


IDENTITY = CallerIdentity(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/responder", user_id="AIDA", alias=None)


def _executor(ctx: ActionContext, *, resume: bool = False, workers: int = 4) -> Executor:
    return Executor(ctx, Journal(ctx.case.root / "contain" / "journal.jsonl"), IDENTITY, "AKIARESPONDER0000000",
                    ApplyOptions(resume=resume, workers=workers, backoff=0.0))


@pytest.fixture
def ctx(tmp_path: Path) -> ActionContext:
    rng = random.Random(7)
    names = [f"thing-{rng.randrange(10**6)}" for _ in range(6)]
    steps = [
        _step("s001", names[0], "a", "b", phase=Phase.CUT),
        _step("s002", names[1], "a", "b", phase=Phase.CUT),
        _step("s003", names[2], "x", "y", deps=("s004",)),
        _step("s004", names[3], "x", "y"),
        _step("s005", names[4], "x", "y", deps=("s003",)),
        _step("s006", names[5], "x", "y"),
    ]
    context = make_context(tmp_path, steps=steps)
    context.extra[WORLD_KEY] = {
        "things": {names[0]: "a", names[1]: "a", names[2]: "x", names[3]: "x", names[4]: "x", names[5]: "x"},
        "calls": [], "faults": {}, "lock": threading.Lock(), "names": names,
    }
    return context


def test_runs_every_step_in_dependency_order_and_verifies(ctx: ActionContext) -> None:
    report = _executor(ctx).run()
    assert report.ok, [(r.step.id, r.status, r.message) for r in report.steps]
    calls = _world(ctx)["calls"]
    names = _world(ctx)["names"]
    assert calls.index(names[3]) < calls.index(names[2]) < calls.index(names[4])
    assert set(calls[:2]) == {names[0], names[1]}  # the CUT phase finishes before DESTROY starts
    events = [json.loads(line)["event"] for line in (ctx.case.root / "contain/journal.jsonl").read_text().splitlines()]
    assert events.count("intent") == events.count("result") == events.count("verify") == 6


def test_intent_is_durable_before_the_call(ctx: ActionContext) -> None:
    journal_path = ctx.case.root / "contain" / "journal.jsonl"
    seen: list[bool] = []
    original = FlipAction.apply

    def spying(self: FlipAction, ctx: ActionContext, step: Step) -> dict[str, Any]:
        lines = [json.loads(x) for x in journal_path.read_text().splitlines()]
        seen.append(any(x["event"] == "intent" and x["step"] == step.id for x in lines))
        return original(self, ctx, step)

    FlipAction.apply = spying  # type: ignore[method-assign]
    try:
        _executor(ctx).run()
    finally:
        FlipAction.apply = original  # type: ignore[method-assign]
    assert seen and all(seen)


def test_stale_target_is_refused_and_its_dependants_skipped(ctx: ActionContext) -> None:
    names = _world(ctx)["names"]
    _world(ctx)["things"][names[3]] = "changed-by-someone"
    report = _executor(ctx).run()
    status = {r.step.id: r for r in report.steps}
    assert status["s004"].status is StepStatus.REFUSED and "stale" in status["s004"].message
    assert status["s003"].status is StepStatus.SKIPPED and "s004" in status["s003"].message
    assert status["s005"].status is StepStatus.SKIPPED
    assert status["s006"].status is StepStatus.VERIFIED and not report.ok
    assert names[3] not in _world(ctx)["calls"]


def test_access_denied_fails_one_step_and_the_rest_goes_on(ctx: ActionContext) -> None:
    names = _world(ctx)["names"]
    _world(ctx)["faults"][names[3]] = ["AccessDenied"]
    report = _executor(ctx).run()
    status = {r.step.id: r for r in report.steps}
    assert status["s004"].status is StepStatus.FAILED and "AccessDenied" in status["s004"].message
    assert "test:Flip" in status["s004"].message  # names the permission the step needs
    assert {status["s003"].status, status["s005"].status} == {StepStatus.SKIPPED}
    assert all(status[s].status is StepStatus.VERIFIED for s in ("s001", "s002", "s006"))


def test_throttling_is_retried(ctx: ActionContext) -> None:
    names = _world(ctx)["names"]
    _world(ctx)["faults"][names[5]] = ["Throttling", "RequestLimitExceeded", "ThrottlingException"]
    report = _executor(ctx).run()
    assert report.ok, [(r.step.id, r.status, r.message) for r in report.steps]
    assert _world(ctx)["calls"].count(names[5]) == 4


def test_a_busy_resource_is_waited_for_but_a_conflict_is_not(ctx: ActionContext) -> None:
    names = _world(ctx)["names"]
    _world(ctx)["faults"][names[5]] = ["DependencyViolation", "ScalingActivityInProgress"]
    _world(ctx)["faults"][names[3]] = ["DeleteConflict", "DeleteConflict"]
    report = _executor(ctx).run()
    status = {r.step.id: r for r in report.steps}
    assert status["s006"].status is StepStatus.VERIFIED and _world(ctx)["calls"].count(names[5]) == 3
    assert status["s004"].status is StepStatus.FAILED and "DeleteConflict" in status["s004"].message
    assert _world(ctx)["calls"].count(names[3]) == 1


def test_already_applied_target_is_not_changed_again(ctx: ActionContext) -> None:
    names = _world(ctx)["names"]
    _world(ctx)["things"][names[5]] = "y"
    report = _executor(ctx).run()
    assert report.ok and names[5] not in _world(ctx)["calls"]


def test_second_run_needs_resume_and_repeats_nothing(ctx: ActionContext) -> None:
    assert _executor(ctx).run().ok
    with pytest.raises(SafetyError, match="--resume"):
        _executor(ctx).run()
    calls = len(_world(ctx)["calls"])
    assert _executor(ctx, resume=True).run().ok
    assert len(_world(ctx)["calls"]) == calls


def test_resume_reconciles_an_in_flight_step_by_looking(ctx: ActionContext) -> None:
    names = _world(ctx)["names"]
    _world(ctx)["crash_on"] = names[3]
    with pytest.raises(KeyboardInterrupt):
        _executor(ctx, workers=1).run()
    state = Journal(ctx.case.root / "contain" / "journal.jsonl").state(ctx.plan.plan_id)
    assert state["s004"].status is StepStatus.IN_FLIGHT
    # The call went through before the crash (the world changed) - resume must see it, not repeat it.
    _world(ctx)["crash_on"] = None
    _world(ctx)["things"][names[3]] = "y"
    before = _world(ctx)["calls"].count(names[3])
    report = _executor(ctx, resume=True).run()
    assert report.ok
    assert _world(ctx)["calls"].count(names[3]) == before
    events = [json.loads(x) for x in (ctx.case.root / "contain/journal.jsonl").read_text().splitlines()]
    assert any(e["event"] == "reconciled" and e["step"] == "s004" for e in events)


def test_undo_one_step_and_the_flag_for_attacker_access(ctx: ActionContext) -> None:
    names = _world(ctx)["names"]
    ctx.plan.steps[0] = _step("s001", names[0], "a", "b", phase=Phase.CUT, action="test.cut")
    assert _executor(ctx).run().ok
    journal = Journal(ctx.case.root / "contain" / "journal.jsonl")
    [step] = select_steps(ctx, journal, ["s006"], False, False)
    [outcome] = undo_steps(ctx, journal, [step])
    assert outcome.ok and _world(ctx)["things"][names[5]] == "x"
    assert _world(ctx)["things"][names[3]] == "y"  # nothing else undone
    with pytest.raises(SafetyError, match="reopen-attacker-access"):
        select_steps(ctx, journal, ["s001"], False, False)
    assert select_steps(ctx, journal, ["s001"], False, True)
    with pytest.raises(UsageError, match="only applied steps"):
        select_steps(ctx, journal, ["s006"], False, False)
    assert journal.state(ctx.plan.plan_id)["s006"].status is StepStatus.UNDONE
    newest_first = select_steps(ctx, journal, [], True, False)
    assert "s001" not in [s.id for s in newest_first]


def test_plan_edits_other_than_dropping_steps_are_refused(ctx: ActionContext, tmp_path: Path) -> None:
    path = write_plan(ctx.case, ctx.plan, tmp_path / "plan.json")
    document = json.loads(path.read_text())
    document["steps"] = [s for s in document["steps"] if s["id"] != "s004"]
    path.write_text(json.dumps(document))
    loaded = load_plan(path, ctx.case)
    assert loaded.dropped == ["s004"]
    ctx.plan = loaded.plan
    executor = _executor(ctx)
    executor.options.dropped = loaded.dropped
    report = executor.run()
    status = {r.step.id: r for r in report.steps}
    assert status["s003"].status is StepStatus.SKIPPED and "dropped" in status["s003"].message
    mutations: list[Callable[[dict[str, Any]], None]] = [
        lambda d: d["steps"][0]["target"].update(id="other"),
        lambda d: d["steps"][0].update(params={"after": "zzz"}),
        lambda d: d.update(account_id="999999999999"),
        lambda d: d["compromised"].update(access_keys=[]),
    ]
    for mutate in mutations:
        edited = json.loads(path.read_text())
        mutate(edited)
        path.write_text(json.dumps(edited))
        with pytest.raises(SafetyError):
            load_plan(path, ctx.case)


def test_account_confirmation_and_attacker_credentials(ctx: ActionContext) -> None:
    with pytest.raises(SafetyError, match="no terminal"):
        check_account(IDENTITY, ctx.plan, None, None)
    with pytest.raises(SafetyError, match="does not match"):
        check_account(IDENTITY, ctx.plan, "210987654321", None)
    check_account(IDENTITY, ctx.plan, ACCOUNT, None)
    with pytest.raises(SafetyError, match="typed does not match"):
        check_account(IDENTITY, ctx.plan, None, lambda _: "000000000000")
    other = CallerIdentity(account_id="210987654321", arn="arn:aws:iam::210987654321:user/x", user_id="u", alias=None)
    with pytest.raises(SafetyError, match="credentials are for account"):
        check_account(other, ctx.plan, "210987654321", None)
    ctx.plan.compromised.access_keys = ["AKIALEAKEDKEY0000001"]
    ctx.plan.compromised.principals = [f"arn:aws:iam::{ACCOUNT}:role/attacker-role"]
    with pytest.raises(SafetyError, match="switch to clean credentials"):
        check_not_attacker(IDENTITY, "AKIALEAKEDKEY0000001", ctx.plan)
    session = CallerIdentity(account_id=ACCOUNT, arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/attacker-role/s1",
                             user_id="AROA:s1", alias=None)
    with pytest.raises(SafetyError, match="switch to clean credentials"):
        check_not_attacker(session, "ASIAXXXXXXXXXXXXXXXX", ctx.plan)
    check_not_attacker(IDENTITY, "AKIARESPONDER0000000", ctx.plan)


def test_circuit_breaker(ctx: ActionContext) -> None:
    check_size(ctx.plan, 6)
    with pytest.raises(SafetyError, match="circuit breaker"):
        check_size(ctx.plan, 5)


def test_self_lockout_and_never_touch_are_refused(tmp_path: Path) -> None:
    steps = [
        _step("s001", "responder", "a", "b", ttype="AWS::IAM::User"),
        _step("s002", "AKIARESPONDER0000000", "a", "b", ttype="AWS::IAM::AccessKey"),
        _step("s003", "breakglass", "a", "b", ttype="AWS::IAM::User"),
        _step("s004", "AWSReservedSSO_Admin_1234", "a", "b", ttype="AWS::IAM::Role"),
        _step("s005", "someone-else", "a", "b", ttype="AWS::IAM::User"),
    ]
    context = make_context(tmp_path, steps=steps)
    context.extra[WORLD_KEY] = {"things": {s.target.id: "a" for s in steps}, "calls": [], "faults": {},
                                "lock": threading.Lock()}
    executor = _executor(context)
    executor.options.never_touch = ["breakglass"]
    report = executor.run()
    status = {r.step.id: r for r in report.steps}
    assert status["s001"].status is StepStatus.REFUSED and "lock you out" in status["s001"].message
    assert status["s002"].status is StepStatus.REFUSED and "lock you out" in status["s002"].message
    assert status["s003"].status is StepStatus.REFUSED and "never-touch" in status["s003"].message
    assert status["s004"].status is StepStatus.REFUSED and "managed by AWS" in status["s004"].message
    assert status["s005"].status is StepStatus.VERIFIED
    assert _world(context)["calls"] == ["someone-else"]


def test_journal_ignores_a_line_cut_by_a_crash(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    journal.write("p1", Event.INTENT, "s001")
    with (tmp_path / "j.jsonl").open("a") as handle:
        handle.write('{"at": "2026-01-01T00:00:00Z", "plan": "p1", "event": "res')
    assert journal.state("p1")["s001"].status is StepStatus.IN_FLIGHT
    assert oct((tmp_path / "j.jsonl").stat().st_mode & 0o777) == "0o600"


def test_plan_model_round_trip_keeps_hashes(ctx: ActionContext, tmp_path: Path) -> None:
    path = write_plan(ctx.case, ctx.plan, tmp_path / "p.json")
    loaded = load_plan(path, ctx.case)
    assert [s.hash for s in loaded.plan.steps] == [s.hash for s in ctx.plan.steps]
    assert all(len(s.hash) == 64 for s in loaded.plan.steps)
    assert Plan.model_validate_json(path.read_text()).header_hash == ctx.plan.header_hash
