"""IAM changes that open the account: trust policies admitting outside accounts, admin inline policies.

Policy documents are read in Python (with :mod:`awsrespond.detect.policy`), only for the few events
that carry them; SQL picks those events.
"""

from __future__ import annotations

from typing import Any

import duckdb

from awsrespond.detect.policy import analyse_trust, as_document, is_admin_document
from awsrespond.findings import Severity
from awsrespond.hunt.analytics.prepare import VIEW, WINDOW, Scope, prepared
from awsrespond.hunt.analytics.registry import AnalyticResult, analytic, detection
from awsrespond.hunt.detections import Window
from awsrespond.timeutil import iso

TRUST_EVENTS = ("CreateRole", "UpdateAssumeRolePolicy")
INLINE_EVENTS = {"PutUserPolicy": "userName", "PutRolePolicy": "roleName", "PutGroupPolicy": "groupName",
                 "CreatePolicyVersion": "policyArn"}


def _document(raw: Any, what: str, event_id: str | None, notes: list[str]) -> dict[str, Any] | None:
    try:
        return as_document(raw)
    except ValueError as exc:
        notes.append(f"{what} in event {event_id or '(no eventID)'} could not be read as a policy: {exc}")
        return None


def _trust_rows(con: duckdb.DuckDBPyConnection, scope: Scope, source: str, period: str) -> list[tuple[Any, ...]]:
    names = ", ".join(f"'{n}'" for n in TRUST_EVENTS)
    return scope.rows(con, f"""
        SELECT rid, t, event_id, name, coalesce(principal, arn), acct, akey, err, params->>'roleName',
               coalesce(params->>'assumeRolePolicyDocument', params->>'policyDocument')
        FROM {source} WHERE name IN ({names}) AND {period} ORDER BY t""")


@analytic(
    "aws-trust-outside-account",
    title="Role trust policy admits an outside account or anyone",
    severity=Severity.HIGH,
    mitre=("T1098.003", "T1199"),
)
def trust_outside_account(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """CreateRole or UpdateAssumeRolePolicy whose trust policy admits ``*`` or a principal of another
    account that no trust policy of this account admitted before ``since``: high (medium when the
    call was denied); outside accounts trusted before: low."""
    scope = prepared(con, window)
    result = AnalyticResult()
    trusted_before: dict[str, set[str]] = {}
    for row in _trust_rows(con, scope, VIEW, scope.hist()):
        document = _document(row[9], f"{row[3]} trust policy", row[2], result.notes)
        if document is not None and not row[7]:
            trusted_before.setdefault(str(row[5]), set()).update(analyse_trust(document).accounts)
    for rid, when, event_id, name, caller, account, key, error, role, raw in _trust_rows(con, scope, WINDOW, "TRUE"):
        document = _document(raw, f"{name} trust policy", event_id, result.notes)
        if document is None:
            continue
        trust = analyse_trust(document)
        outside = trust.accounts - {str(account)}
        if not outside and not trust.anyone:
            continue
        new = sorted(outside - trusted_before.get(str(account), set()))
        opened = trust.anyone or bool(new)
        severity = (Severity.MEDIUM if error else Severity.HIGH) if opened else Severity.LOW
        result.detections.append(detection(
            "aws-trust-outside-account", severity, [rid], subject=caller,
            details={"role": role, "event": name, "caller": caller, "access_key": key, "account": account,
                     "anyone": trust.anyone, "outside_accounts": sorted(outside), "new_outside_accounts": new,
                     "denied": error, "time": iso(when)},
            recommendation=(f"Check who owns {', '.join(sorted(outside)) or 'the wildcard principal'}; if unknown, "
                            f"restore the trust policy of role {role} and revoke its sessions."),
        ))
    return result


@analytic(
    "aws-admin-inline-policy",
    title="Inline policy or policy version granting administrator rights",
    severity=Severity.HIGH,
    mitre=("T1098.003", "T1484"),
)
def admin_inline_policy(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """PutUserPolicy, PutRolePolicy, PutGroupPolicy or CreatePolicyVersion whose document allows every
    action (or every IAM action) on every resource: high (medium when the call was denied)."""
    scope = prepared(con, window)
    result = AnalyticResult()
    names = ", ".join(f"'{n}'" for n in INLINE_EVENTS)
    rows = scope.rows(con, f"""
        SELECT rid, t, event_id, name, coalesce(principal, arn), akey, err, params, params->>'policyDocument'
        FROM {WINDOW} WHERE name IN ({names}) ORDER BY t""")
    for rid, when, event_id, name, caller, key, error, params, raw in rows:
        document = _document(raw, f"{name} policy document", event_id, result.notes)
        if document is None or not is_admin_document(document):
            continue
        request = as_document(params) if params else {}
        target = str(request.get(INLINE_EVENTS[name], ""))
        result.detections.append(detection(
            "aws-admin-inline-policy", Severity.MEDIUM if error else Severity.HIGH, [rid], subject=caller,
            details={"event": name, "target": target, "policy_name": request.get("policyName"), "caller": caller,
                     "access_key": key, "denied": error, "time": iso(when)},
            recommendation=f"Remove the administrator policy from {target} unless its owner confirms the change.",
        ))
    return result
