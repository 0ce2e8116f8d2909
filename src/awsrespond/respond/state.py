"""Where a guided response stands: each step's status and times, in ``<case>/respond/state.json``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from awsrespond.case.workspace import Case
from awsrespond.errors import InputError, UsageError
from awsrespond.timeutil import now_utc

STATE_FILE = "respond/state.json"

# The manual's order. "target" always runs (it shows who is acting on which account).
STEPS: tuple[str, ...] = ("target", "triage", "hunt", "contain", "recover", "report", "manual")


class StepStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    SAVED = "saved-not-applied"  # the changes were planned and saved, not applied (no confirmation)


class StepRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: StepStatus = StepStatus.PENDING
    started: datetime | None = None
    finished: datetime | None = None
    messages: list[str] = Field(default_factory=list, description="What went wrong or was left (may quote AWS)")


class FlowState(BaseModel):
    """``<case>/respond/state.json``."""

    model_config = ConfigDict(extra="forbid")
    account_id: str
    since: datetime | None = None
    started: datetime
    updated: datetime
    steps: dict[str, StepRecord] = Field(default_factory=lambda: {name: StepRecord() for name in STEPS})

    def record(self, name: str) -> StepRecord:
        return self.steps.setdefault(name, StepRecord())

    def first_not_done(self) -> str | None:
        return next((name for name in STEPS if self.record(name).status is not StepStatus.DONE), None)

    @property
    def all_done(self) -> bool:
        return all(self.record(name).status is StepStatus.DONE for name in STEPS)


def new_state(account_id: str, since: datetime | None) -> FlowState:
    now = now_utc()
    return FlowState(account_id=account_id, since=since, started=now, updated=now)


def load_state(case: Case) -> FlowState | None:
    raw = case.read_json(STATE_FILE)
    if raw is None:
        return None
    try:
        return FlowState.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"cannot read the guided response's state: {exc.error_count()} problems",
                         path=str(case.root / STATE_FILE)) from None


def save_state(case: Case, state: FlowState) -> None:
    state.updated = now_utc()
    case.write_json(STATE_FILE, state.model_dump(mode="json"))


def parse_skip(values: list[str]) -> set[str]:
    """``--skip contain,recover`` -> {"contain", "recover"}; an unknown name is a usage error."""
    names = {value.strip().lower() for value in values if value.strip()}
    unknown = sorted(names - set(STEPS))
    if unknown:
        raise UsageError(f"--skip: unknown step {', '.join(unknown)}; the steps are {', '.join(STEPS)}")
    if "target" in names:
        raise UsageError("--skip: the target step cannot be skipped (it shows which account is changed)")
    return names
