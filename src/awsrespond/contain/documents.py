"""What ``contain apply`` and ``undo`` print with ``--format json``, and the journal's line format."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from awsrespond.contain.journal import Event, StepStatus
from awsrespond.contain.model import Phase, Target


class JournalRecord(BaseModel):
    """One line of ``<case>/contain/journal.jsonl``."""

    model_config = ConfigDict(extra="allow")
    at: datetime
    plan: str
    event: Event
    step: str | None = None
    message: str | None = None
    result: dict[str, Any] | None = Field(default=None, description="What the step did (never a secret)")


class StepOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    phase: Phase
    action: str
    target: Target
    status: StepStatus
    verified: bool
    reversible: bool
    message: str = ""
    result: dict[str, Any] = Field(default_factory=dict)


class ApplyDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_id: str
    case_id: str
    account: dict[str, str | None]
    ok: bool = Field(description="Every step done and verified")
    counts: dict[str, int]
    steps: list[StepOutcome]
    own_artefacts: list[str] = Field(default_factory=list, description="What the tool itself created")
    new_since_plan: list[str] = Field(default_factory=list, description="Found by the re-check: plan again")


class UndoOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    action: str
    target: Target
    ok: bool
    message: str


class UndoDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan_id: str
    case_id: str
    ok: bool
    steps: list[UndoOutcome]
