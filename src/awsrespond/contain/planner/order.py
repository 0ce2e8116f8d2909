"""Ordering between steps of different recipes, as data (DESIGN.md 3.11).

Recipes order their own steps with ``after``. These rules order steps that different recipes add:
(later action, earlier action, scope). Scope "region" links every later step to every earlier step
in the same region and phase; "account" across regions. Phases already run in order.
"""

from __future__ import annotations

from collections.abc import Iterable

from awsrespond.contain.model import Step

OrderRule = tuple[str, str, str]

CORE_ORDERING: list[OrderRule] = [
    # Capacity that relaunches instances is stopped before its instances are touched.
    ("ec2.terminate-instance", "ec2.cancel-spot-request", "region"),
    ("ec2.terminate-instance", "autoscaling.scale-to-zero", "region"),
    ("ec2.stop-instance", "ec2.cancel-spot-request", "region"),
    ("ec2.stop-instance", "autoscaling.scale-to-zero", "region"),
    # Security groups and launch templates go once nothing uses them.
    ("ec2.delete-security-group", "ec2.terminate-instance", "region"),
    ("ec2.delete-security-group", "lambda.delete-function", "region"),
    ("ec2.delete-launch-template", "autoscaling.delete-group", "region"),
    # Roles go after the functions and instances that run with them.
    ("iam.delete-role", "lambda.delete-function", "account"),
    ("iam.delete-instance-profile", "ec2.terminate-instance", "account"),
    ("iam.remove-role-from-instance-profile", "ec2.terminate-instance", "account"),
]


def _matches(action: str, pattern: str) -> bool:
    return action == pattern or (pattern.endswith("*") and action.startswith(pattern[:-1]))


def apply_ordering(steps: list[Step], rules: Iterable[OrderRule]) -> None:
    """Add ``after`` links for every rule; never links across phases (the phase order decides)."""
    for later, earlier, scope in rules:
        firsts = [s for s in steps if _matches(s.action, earlier)]
        if not firsts:
            continue
        for step in steps:
            if not _matches(step.action, later):
                continue
            links = {f.id for f in firsts if f.phase is step.phase and f.id != step.id
                     and (scope == "account" or f.target.region == step.target.region)}
            if links:
                step.after = sorted(set(step.after) | links)
