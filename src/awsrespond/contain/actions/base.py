"""What every containment action is: permissions, evidence first, apply, verify, undo.

An action is one class in the registry. It never decides *whether* to act - the planner does that -
only *how*: what to look at (``observe``), what to keep as evidence (``capture``), the AWS calls
(``apply``), how to prove they took effect (``verify``) and how to reverse them (``undo``).
``observe`` returns the state in the same keys the planner wrote into the step's ``expect`` and
``post``; the executor compares them to refuse stale targets and to verify.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from awsrespond.aws.clients import ClientFactory
from awsrespond.case.workspace import Case
from awsrespond.contain.model import Plan, Step
from awsrespond.findings import EvidenceRef
from awsrespond.timeutil import now_utc

TAG_CASE = "awsrespond:case"
TAG_STEP = "awsrespond:step"
TAG_PLAN = "awsrespond:plan"


class ActionError(Exception):
    """An action found something that stops it (not an AWS error): the step fails with this message."""


class NotReversible(ActionError):
    pass


@dataclass
class ActionContext:
    """What an action may use. Built by the executor (and by tests) around one plan."""

    factory: ClientFactory
    case: Case
    plan: Plan
    clock: Callable[[], datetime] = now_utc
    verify_attempts: int = 4
    verify_delay: float = 1.0  # IAM and EC2 are eventually consistent; tests set 0
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str, region: str) -> Any:
        return self.factory.client(service, None if region == "global" else region)

    def evidence(self, step: Step, service: str, operation: str, response: Any, *, suffix: str = "") -> EvidenceRef:
        """Keep an API response (redacted) under the case's evidence, named after the step."""
        return self.case.evidence.put(
            service=service, operation=operation, region=step.target.region, response=response,
            suffix=f"contain.{step.id}.{suffix or step.target.id}",
        )

    def write_secret(self, step: Step, kind: str, payload: Mapping[str, Any]) -> str:
        """Store a new credential in the case's ``secrets/`` (0600). Returns its path relative to the case."""
        return self.case.write_secret(f"{self.plan.plan_id}-{step.id}-{kind}.json", dict(payload))

    def read_secret(self, step: Step, kind: str) -> dict[str, Any] | None:
        return self.case.read_secret(f"{self.plan.plan_id}-{step.id}-{kind}.json")

    def tags(self, step: Step) -> list[dict[str, str]]:
        """Tags for what the tool itself creates (evidence snapshots): never reported as suspicious."""
        return [{"Key": TAG_CASE, "Value": self.plan.case_id}, {"Key": TAG_STEP, "Value": step.id},
                {"Key": TAG_PLAN, "Value": self.plan.plan_id}]


class Action(ABC):
    """Base class. Subclasses set the class attributes and implement ``observe`` and ``apply``."""

    name: ClassVar[str]
    title: ClassVar[str]
    resource_type: ClassVar[str]
    permissions: ClassVar[tuple[str, ...]]
    reversible: ClassVar[bool]
    how_to_undo: ClassVar[str]
    undo_permissions: ClassVar[tuple[str, ...]] = ()
    cuts_attacker_access: ClassVar[bool] = False
    # False for calls that must never be repeated blindly (CreateSnapshot, CreateAccessKey): their
    # ``reconcile`` looks for what an interrupted run may already have made.
    idempotent: ClassVar[bool] = True

    @abstractmethod
    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        """Current state of the target, in the keys of ``step.expect`` / ``step.post``. Read-only."""

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        """Evidence before the change. The default keeps the observed state."""
        return [ctx.evidence(step, "awsrespond", self.name, self.observe(ctx, step), suffix="before")]

    @abstractmethod
    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        """Make the change. Returns facts for the journal (never a secret)."""

    def verify(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
        """Whether the target is now in ``step.post``; with the observed state."""
        state = self.observe(ctx, step)
        return matches(state, step.post), state

    def reconcile(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        """After a crash between intent and result: the result if the change is already made, else None."""
        state = self.observe(ctx, step)
        if matches(state, step.post):
            return {"reconciled": "already in the planned state", "observed": state}
        return None

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        raise NotReversible(f"{self.name} cannot be undone: {self.how_to_undo}")

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        """State after a successful undo (verify of the undo compares against it)."""
        return dict(step.expect)


ActionT = TypeVar("ActionT", bound=type[Action])
_REGISTRY: dict[str, type[Action]] = {}


def register(cls: ActionT) -> ActionT:
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"two actions named {cls.name}")
    _REGISTRY[cls.name] = cls
    return cls


def registry() -> dict[str, type[Action]]:
    """Every registered action, importing the action modules first."""
    # importing the packages registers the classes
    importlib.import_module("awsrespond.contain.actions")
    importlib.import_module("awsrespond.recover.actions")
    return dict(_REGISTRY)


def get_action(name: str) -> Action:
    actions = registry()
    if name not in actions:
        raise ActionError(f"unknown action {name!r} (this plan needs a newer awsrespond?)")
    return actions[name]()


def matches(state: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """True when every key in ``wanted`` has that value in ``state``.

    ``{"$in": [...]}`` accepts any listed value (an instance may be shutting-down or terminated).
    """
    return not differences(state, wanted)


def differences(state: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    diff: dict[str, dict[str, Any]] = {}
    for key, value in wanted.items():
        have = state.get(key)
        ok = have in value["$in"] if isinstance(value, dict) and set(value) == {"$in"} else have == value
        if not ok:
            diff[key] = {"expected": value, "found": have}
    return diff
