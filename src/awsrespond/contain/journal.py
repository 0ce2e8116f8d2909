"""The containment journal: intent before every change, result after it, fsynced (DESIGN.md 3.12).

One JSON object per line in ``<case>/contain/journal.jsonl``, appended with O_APPEND and fsynced
before the AWS call it announces is sent. A run killed at any point leaves at most one step per
worker with an intent and no result; ``--resume`` reconciles exactly those by looking.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from awsrespond.errors import InputError
from awsrespond.timeutil import iso, now_utc


class Event(StrEnum):
    RUN = "run"  # a run of apply/undo started (who, which plan, options)
    INTENT = "intent"
    RESULT = "result"
    VERIFY = "verify"
    RECONCILED = "reconciled"
    FAILED = "failed"
    REFUSED = "refused"
    SKIPPED = "skipped"
    UNDO_INTENT = "undo-intent"
    UNDO_RESULT = "undo-result"
    UNDO_VERIFY = "undo-verify"
    UNDO_FAILED = "undo-failed"


class StepStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in-flight"  # intent journaled, no result: reconcile before anything is repeated
    DONE = "done"  # applied, verification pending or failed
    VERIFIED = "verified"
    FAILED = "failed"
    REFUSED = "refused"
    SKIPPED = "skipped"
    UNDONE = "undone"
    UNDO_IN_FLIGHT = "undo-in-flight"


@dataclass
class StepRecord:
    status: StepStatus = StepStatus.PENDING
    result: dict[str, Any] = field(default_factory=dict)
    verified: bool = False
    message: str = ""
    at: str | None = None


class Journal:
    """Append-only, durable. Thread-safe: workers write their own steps' lines."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)

    def write(self, plan_id: str, event: Event, step: str | None = None, **data: Any) -> None:
        record = {"at": iso(now_utc()), "plan": plan_id, "event": event.value, "step": step, **data}
        line = (json.dumps(record, sort_keys=True, default=str, ensure_ascii=False) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def records(self, plan_id: str | None = None) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, 1):
                if not raw.endswith(b"\n"):
                    # A line cut by a crash mid-write was never followed by its AWS call.
                    return
                try:
                    record = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise InputError(f"corrupt journal line ({exc})", path=str(self.path), line=number) from exc
                if plan_id is None or record.get("plan") == plan_id:
                    yield record

    def state(self, plan_id: str) -> dict[str, StepRecord]:
        """Each step's latest status for ``plan_id``, replayed from the journal."""
        steps: dict[str, StepRecord] = {}
        for record in self.records(plan_id):
            step = record.get("step")
            if not step:
                continue
            entry = steps.setdefault(step, StepRecord())
            event = Event(record["event"])
            entry.at = record.get("at")
            if event is Event.INTENT:
                entry.status, entry.verified, entry.message = StepStatus.IN_FLIGHT, False, ""
            elif event in (Event.RESULT, Event.RECONCILED):
                entry.status, entry.result = StepStatus.DONE, dict(record.get("result") or {})
            elif event is Event.VERIFY:
                entry.verified = bool(record.get("ok"))
                entry.status = StepStatus.VERIFIED if entry.verified else StepStatus.DONE
                entry.message = str(record.get("message", ""))
            elif event is Event.FAILED:
                entry.status, entry.message = StepStatus.FAILED, str(record.get("message", ""))
            elif event is Event.REFUSED:
                entry.status, entry.message = StepStatus.REFUSED, str(record.get("message", ""))
            elif event is Event.SKIPPED:
                entry.status, entry.message = StepStatus.SKIPPED, str(record.get("message", ""))
            elif event is Event.UNDO_INTENT:
                entry.status = StepStatus.UNDO_IN_FLIGHT
            elif event is Event.UNDO_RESULT:
                entry.status, entry.verified = StepStatus.UNDONE, False
            elif event is Event.UNDO_FAILED:
                entry.status = StepStatus.VERIFIED if entry.verified else StepStatus.DONE
                entry.message = str(record.get("message", ""))
        return steps

    def applied_order(self, plan_id: str) -> list[str]:
        """Step ids in the order their results were journaled (undo goes newest first)."""
        order: list[str] = []
        for record in self.records(plan_id):
            if record.get("event") in (Event.RESULT.value, Event.RECONCILED.value) and record.get("step"):
                if record["step"] in order:
                    order.remove(record["step"])
                order.append(record["step"])
        return order
