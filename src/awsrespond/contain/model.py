"""The containment plan: steps a person reviews, then ``apply`` executes exactly (DESIGN.md section 3).

A plan is data. Each step names one action from the registry, its target, why (finding ids), the
state it expects to find (``expect``) and the state it leaves (``post``), the steps it must wait for
(``after``) and a hash over all of that. ``apply`` accepts a plan only if every step's hash still
matches and, when the case holds the original, every step is identical to it: the one edit allowed
is dropping steps.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PLAN_FORMAT = "awsrespond.contain.plan/1"


class Phase(StrEnum):
    """DESIGN.md 3.9, in the order ``apply`` runs them."""

    PRESERVE = "preserve-logs"
    CUT = "cut-credentials"
    RECHECK = "re-check"
    EVIDENCE = "evidence"
    DESTROY = "destroy"
    # recover and harden: taking the account back, after containment (their plans hold only these steps)
    RECOVER = "recover"

    @property
    def order(self) -> int:
        return list(Phase).index(self)


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="CloudFormation type name of the resource the step changes")
    id: str
    region: str = Field(description="AWS region, or 'global' for IAM")
    arn: str | None = None

    def label(self) -> str:
        short = self.type.rsplit("::", 1)[-1]
        where = "" if self.region == "global" else f" ({self.region})"
        return f"{short} {self.id}{where}"


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable within the plan: s001, s002, ...")
    phase: Phase
    action: str = Field(description="Registry name of the action, e.g. iam.deactivate-access-key")
    target: Target
    params: dict[str, Any] = Field(default_factory=dict, description="Action arguments (never secrets)")
    why: list[str] = Field(default_factory=list, description="Finding ids that call for this step")
    reason: str = ""
    reversible: bool
    undo: str = Field(default="", description="How the step is undone, or why it cannot be")
    cuts_attacker_access: bool = False
    permissions: list[str]
    expect: dict[str, Any] = Field(description="State the step expects to find, after the steps before it")
    post: dict[str, Any] = Field(description="State the step leaves; verify compares against it")
    after: list[str] = Field(default_factory=list, description="Steps that must be done first")
    hash: str = ""

    def content_hash(self, plan_id: str, account_id: str) -> str:
        body = self.model_dump(mode="json", exclude={"hash"})
        data = json.dumps({"plan": plan_id, "account": account_id, "step": body},
                          sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(data.encode()).hexdigest()


class NotPlanned(BaseModel):
    """A finding the plan deliberately leaves to a person, with the reason."""

    model_config = ConfigDict(extra="forbid")
    finding: str
    resource: Target
    reason: str
    covered_by: Target | None = Field(
        default=None, description="The resource whose step removes this one too (a rule goes with its group)"
    )


class Compromised(BaseModel):
    """What the attacker holds: apply refuses to run with any of it (DESIGN.md 3.5)."""

    model_config = ConfigDict(extra="forbid")
    access_keys: list[str] = Field(default_factory=list)
    principals: list[str] = Field(default_factory=list, description="ARNs of users and roles")


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str = PLAN_FORMAT
    plan_id: str
    case_id: str
    account_id: str
    partition: str = "aws"
    created: datetime
    created_by: str
    options: dict[str, Any] = Field(default_factory=dict)
    compromised: Compromised = Field(default_factory=Compromised)
    never_touch: list[str] = Field(default_factory=list)
    steps: list[Step]
    not_planned: list[NotPlanned] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    header_hash: str = ""

    def header_digest(self) -> str:
        body = self.model_dump(mode="json", exclude={"steps", "header_hash", "not_planned", "notes"})
        data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(data.encode()).hexdigest()

    def seal(self) -> Plan:
        """Compute every hash; called once when the plan is written."""
        for step in self.steps:
            step.hash = step.content_hash(self.plan_id, self.account_id)
        self.header_hash = self.header_digest()
        return self

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)
