"""Run every triage check over an inventory."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

# The check modules register themselves on import.
from awsrespond.detect import checks_compute, checks_iam, checks_posture  # noqa: F401
from awsrespond.detect.baseline import Baseline
from awsrespond.detect.judge import JudgeContext, registered_checks
from awsrespond.findings import Finding, sort_key
from awsrespond.inventory.base import Inventory


def judge(
    inventory: Inventory,
    *,
    account_id: str,
    since: datetime | None = None,
    baseline: Baseline | None = None,
    known_accounts: Iterable[str] = (),
) -> list[Finding]:
    ctx = JudgeContext(
        account_id=account_id,
        inventory=inventory,
        since=since,
        baseline=baseline,
        known_accounts=set(known_accounts),
    )
    for fn in registered_checks():
        fn(ctx)
    return sorted(ctx.findings.values(), key=sort_key)
