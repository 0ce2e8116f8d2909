"""Grouping shared by the HTML and Markdown reports: actions per plan, what is still open."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from awsrespond.report.casedata import ActionTaken, CaseData, PlanRun

DETAILS_LIMIT = 3000
EVENT_IDS_LIMIT = 12


@dataclass(frozen=True)
class PlanActions:
    plan: PlanRun
    actions: list[ActionTaken]


def is_recovery(command: str) -> bool:
    return command.startswith(("recover", "harden"))


def plan_actions(data: CaseData) -> tuple[list[PlanActions], list[PlanActions]]:
    """(containment, recovery and hardening): each applied plan with its journaled steps."""
    containment: list[PlanActions] = []
    recovery: list[PlanActions] = []
    for plan in data.plans:
        group = PlanActions(plan, [a for a in data.actions if a.plan_id == plan.plan_id])
        (recovery if is_recovery(plan.command) else containment).append(group)
    return containment, recovery


def details_text(details: dict[str, Any]) -> str:
    """A finding's details as indented JSON, cut at DETAILS_LIMIT characters."""
    text = json.dumps(details, indent=1, sort_keys=True, default=str, ensure_ascii=False)
    return text if len(text) <= DETAILS_LIMIT else text[:DETAILS_LIMIT] + " …"


def status_counts(plan: PlanRun) -> str:
    return ", ".join(f"{status} {count}" for status, count in sorted(plan.statuses.items()))
