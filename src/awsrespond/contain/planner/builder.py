"""The planner's vocabulary: subjects (what to treat, and how) and the builder recipes add steps to.

A *recipe* is a function registered for one resource type. It receives a ``Subject`` - a resource
with its treatment and the findings behind it - reads the live state it needs (read-only), and adds
steps through the ``PlanBuilder``. Recipes never call a mutating API.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.contain.actions.base import get_action
from awsrespond.contain.model import NotPlanned, Phase, Step, Target
from awsrespond.contain.planner.readcache import ReadCache
from awsrespond.findings import Finding


class Treatment(StrEnum):
    """DESIGN.md section 3: the three ways containment treats what triage and hunt found."""

    REMOVE = "remove"  # attacker-created: evidence first, then delete
    NEUTRALISE = "neutralise"  # attacker-used legitimate: deactivate, revoke, revert, replace; never delete
    QUARANTINE = "quarantine"  # suspect: reversible steps only (deny-all, deactivate, stop, concurrency 0)


@dataclass
class Subject:
    target: Target
    treatment: Treatment
    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def finding_ids(self) -> list[str]:
        return sorted({f.id for f in self.findings})

    @property
    def name(self) -> str:
        return self.target.id


@dataclass
class PlanContext:
    """What recipes may read: AWS (read-only), the case's documents and the planning options."""

    factory: ClientFactory
    account_id: str
    partition: str
    caller: CallerIdentity | None
    case_id: str
    triage: dict[str, Any] = field(default_factory=dict)
    sessions: list[Any] = field(default_factory=list)
    events: Callable[[Sequence[str]], list[dict[str, Any]]] | None = None
    window_start: Any = None
    window_end: Any = None
    subjects: list[Subject] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    cache: ReadCache | None = None

    def client(self, service: str, region: str) -> Any:
        client = self.factory.client(service, None if region == "global" else region)
        return self.cache.wrap(client) if self.cache is not None else client

    def inventory(self, resource_type: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.triage.get("inventory", {}).get(resource_type, [])
        return items

    def subject(self, resource_type: str, resource_id: str, region: str = "global") -> Subject | None:
        for subject in self.subjects:
            t = subject.target
            if t.type == resource_type and t.id == resource_id and t.region == region:
                return subject
        return None

    def arn(self, service: str, resource: str, region: str = "", account: str | None = None) -> str:
        return f"arn:{self.partition}:{service}:{region}:{self.account_id if account is None else account}:{resource}"


class PlanBuilder:
    """Collects steps; the same action on the same target with the same params is one step."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self._by_key: dict[str, Step] = {}
        self.not_planned: list[NotPlanned] = []
        self.notes: list[str] = []

    def add(
        self,
        phase: Phase,
        action: str,
        target: Target,
        *,
        expect: dict[str, Any],
        post: dict[str, Any],
        params: dict[str, Any] | None = None,
        why: Iterable[str] = (),
        reason: str = "",
        after: Iterable[str] = (),
    ) -> str:
        """Add a step (or merge into the identical one) and return its id."""
        params = params or {}
        key = json.dumps([action, target.model_dump(mode="json"), params], sort_keys=True)
        existing = self._by_key.get(key)
        if existing is not None:
            existing.why = sorted(set(existing.why) | set(why))
            existing.after = sorted(set(existing.after) | set(after), key=_step_order)
            if reason and reason not in existing.reason:
                existing.reason = f"{existing.reason}; {reason}" if existing.reason else reason
            return existing.id
        impl = get_action(action)
        step = Step(
            id=f"s{len(self.steps) + 1:03d}", phase=phase, action=action, target=target, params=params,
            why=sorted(set(why)), reason=reason, reversible=impl.reversible, undo=impl.how_to_undo,
            cuts_attacker_access=impl.cuts_attacker_access,
            permissions=sorted(set(impl.permissions) | set(impl.undo_permissions if impl.reversible else ())),
            expect=expect, post=post, after=sorted(set(after), key=_step_order),
        )
        self.steps.append(step)
        self._by_key[key] = step
        return step.id

    def find(self, action: str | None = None, *, target_type: str | None = None, target_id: str | None = None,
             region: str | None = None) -> list[Step]:
        return [s for s in self.steps
                if (action is None or s.action == action or (action.endswith("*") and s.action.startswith(action[:-1])))
                and (target_type is None or s.target.type == target_type)
                and (target_id is None or s.target.id == target_id)
                and (region is None or s.target.region == region)]

    def skip(self, subject: Subject, reason: str, *, covered_by: Target | None = None) -> None:
        for finding_id in subject.finding_ids or [""]:
            self.not_planned.append(NotPlanned(finding=finding_id, resource=subject.target, reason=reason,
                                               covered_by=covered_by))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def _step_order(step_id: str) -> int:
    return int(step_id[1:]) if step_id[1:].isdigit() else 0


Recipe = Callable[[PlanContext, PlanBuilder, Subject], None]
_RECIPES: dict[str, Recipe] = {}


def recipe(*resource_types: str) -> Callable[[Recipe], Recipe]:
    """Register a recipe for one or more resource types (one recipe per type)."""

    def decorate(fn: Recipe) -> Recipe:
        for resource_type in resource_types:
            if resource_type in _RECIPES and _RECIPES[resource_type] is not fn:
                raise ValueError(f"two recipes for {resource_type}")
            _RECIPES[resource_type] = fn
        return fn

    return decorate


def recipes() -> dict[str, Recipe]:
    importlib.import_module("awsrespond.contain.planner.recipes")  # importing the package registers them
    return dict(_RECIPES)
