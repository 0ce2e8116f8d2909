"""Every write of ``recover`` and ``harden`` is a plan, applied by the containment executor.

A recovery command builds a :class:`ChangeSet` (steps in the ``recover`` phase, each naming an action
from the registry with the state it expects and the state it leaves), shows it, and applies it only
after the typed account id or ``--confirm ACCOUNT_ID``: the same plan file, hashes, journal, caller
checks and undo as ``contain apply`` (DESIGN.md sections 3 and 7). ``contain undo --plan ID`` undoes
a recovery plan's reversible steps.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.case.workspace import Case
from awsrespond.contain.actions.base import get_action
from awsrespond.contain.documents import ApplyDocument
from awsrespond.contain.executor import ApplyOptions, Progress
from awsrespond.contain.model import Phase, Plan, Step, Target
from awsrespond.contain.planio import LoadedPlan, write_plan
from awsrespond.contain.planner.plan import case_compromised
from awsrespond.contain.safety import DEFAULT_MAX_STEPS
from awsrespond.contain.service import apply_plan
from awsrespond.timeutil import now_utc


@dataclass
class ChangeSet:
    """The steps one recover/harden command wants to make, in the order they are added."""

    command: str  # "recover budget", "harden --fix", ...
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    never_touch: list[str] = field(default_factory=list)  # break-glass names/ARNs: the executor refuses them too
    planned: Plan | None = None  # the sealed plan, once shown (dry run included): its id names it in JSON output

    def add(self, action: str, target: Target, *, expect: dict[str, Any], post: dict[str, Any],
            params: dict[str, Any] | None = None, reason: str = "", after: list[str] | None = None,
            why: list[str] | None = None) -> str:
        """Add one step; returns its id (for ``after=``). The action's metadata comes from the registry."""
        spec = get_action(action)
        step = Step(id=f"s{len(self.steps) + 1:03d}", phase=Phase.RECOVER, action=action, target=target,
                    params=params or {}, why=why or [], reason=reason, reversible=spec.reversible,
                    undo=spec.how_to_undo, cuts_attacker_access=spec.cuts_attacker_access,
                    permissions=list(spec.permissions), expect=expect, post=post, after=after or [])
        self.steps.append(step)
        return step.id

    def note(self, text: str) -> None:
        self.notes.append(text)

    def to_plan(self, case: Case, identity: CallerIdentity) -> Plan:
        return Plan(
            plan_id=f"{now_utc():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}", case_id=case.case_id,
            account_id=identity.account_id, partition=identity.partition, created=now_utc(),
            created_by=identity.arn, options={"command": self.command, **self.options},
            compromised=case_compromised(case, identity), never_touch=sorted(set(self.never_touch)),
            steps=list(self.steps), notes=list(self.notes),
        )


def apply_changes(
    case: Case,
    factory: ClientFactory,
    identity: CallerIdentity,
    plan: Plan,
    *,
    confirm: str | None,
    ask: Callable[[str], str] | None,
    progress: Progress | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    verify_delay: float = 1.0,
) -> ApplyDocument:
    """Seal and keep the plan in the case, then apply it exactly as ``contain apply`` would.

    Refuses (SafetyError) before any write: the attacker's credentials, a wrong account, no terminal
    and no ``--confirm``, a plan over ``max_steps``.
    """
    write_plan(case, plan)
    return apply_plan(case, factory, identity, LoadedPlan(plan=plan, original_found=True), confirm=confirm,
                      ask=ask, max_steps=max_steps, options=ApplyOptions(), progress=progress,
                      verify_delay=verify_delay)
