"""Reaching into other accounts: AssumeRole calls whose role lives in another account."""

from __future__ import annotations

from typing import Any

import duckdb

from awsrespond.findings import Severity
from awsrespond.hunt.analytics.prepare import HISTORY, VIEW, prepared
from awsrespond.hunt.analytics.registry import AnalyticResult, analytic, detection
from awsrespond.hunt.detections import Window
from awsrespond.timeutil import iso

MANY_ACCOUNTS = 3
"""New accounts reached (or tried) by one caller that make a campaign rather than a deployment."""
ROUTINE_DAYS = 3
"""An account the caller reached on this many days of the window is one it works in."""


@analytic(
    "aws-assume-role-other-account",
    title="AssumeRole into other accounts",
    severity=Severity.HIGH,
    mitre=("T1550.001", "T1078.004"),
)
def assume_role_other_account(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """A principal of this account calls AssumeRole on a role of another account (``roleArn``'s
    account differs from the caller's): one detection per caller listing every account, which may be
    compromised too. Accounts the caller or its account already reached before ``since`` (or, for a
    caller without history, on 3 days of the window): low; new ones: medium; three or more new ones (denied attempts
    count, they are probes): high."""
    scope = prepared(con, window)
    result = AnalyticResult()
    rows = scope.rows(con, f"""
        WITH calls AS (
            SELECT rid, t, coalesce(principal, arn, ptype) AS caller, acct, akey, err,
                   params->>'roleArn' AS role_arn,
                   regexp_extract(params->>'roleArn', '^arn:[^:]+:iam::(\\d{{12}}):', 1) AS target
            FROM {VIEW}
            WHERE name = 'AssumeRole' AND (recipient IS NULL OR acct = recipient)),
        before AS (SELECT DISTINCT caller, target FROM calls WHERE {scope.hist()}),
        account_before AS (SELECT DISTINCT acct, target FROM calls WHERE {scope.hist()}),
        known AS (SELECT DISTINCT principal FROM {HISTORY} WHERE principal IS NOT NULL)
        SELECT c.caller, c.target, list(c.rid), list(DISTINCT c.role_arn), count(*) FILTER (WHERE c.err IS NULL),
               count(*) FILTER (WHERE c.err IS NOT NULL), min(c.t), max(c.t), list(DISTINCT c.akey),
               any_value(b.target) IS NOT NULL, any_value(a.target) IS NOT NULL, any_value(c.acct),
               count(DISTINCT floor(epoch(c.t) / 86400)) FILTER (WHERE c.err IS NULL),
               any_value(k.principal) IS NOT NULL
        FROM calls c
        LEFT JOIN known k ON k.principal = c.caller
        LEFT JOIN before b ON b.caller = c.caller AND b.target = c.target
        LEFT JOIN account_before a ON a.acct = c.acct AND a.target = c.target
        WHERE {scope.win('c.t')} AND c.target <> '' AND c.target <> c.acct
        GROUP BY c.caller, c.target ORDER BY c.caller, min(c.t)""")
    callers: dict[str, list[Any]] = {}
    for row in rows:
        callers.setdefault(str(row[0]), []).append(row)
    for caller, targets in callers.items():
        # Reached before since by the caller or by others of its account, or (for a caller without
        # history) on several days of the window: routine.
        new = [t for t in targets if not t[9] and not t[10] and (t[13] or t[12] < ROUTINE_DAYS)]
        if len(new) >= MANY_ACCOUNTS:
            severity = Severity.HIGH
        elif new:
            severity = Severity.MEDIUM
        else:
            severity = Severity.LOW
        accounts = [
            {"account": t[1], "roles": sorted(t[3]), "succeeded": t[4], "denied": t[5],
             "seen_before_for_caller": bool(t[9]), "seen_before_in_account": bool(t[10]), "days_in_window": t[12],
             "first_seen": iso(t[6]), "last_seen": iso(t[7])}
            for t in targets
        ]
        result.detections.append(detection(
            "aws-assume-role-other-account", severity, [rid for t in targets for rid in t[2]], subject=caller,
            details={"caller": caller, "caller_account": targets[0][11], "accounts": accounts,
                     "new_accounts": sorted(t[1] for t in new),
                     "access_keys": sorted({k for t in targets for k in t[8] if k})},
            recommendation=("Check the accounts listed: if the caller is compromised, the roles it assumed there "
                            "are too; review their CloudTrail for the same session."),
        ))
    return result
