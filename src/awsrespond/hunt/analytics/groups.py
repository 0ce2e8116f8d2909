"""Joining an admin group: AddUserToGroup into a group that holds administrator rights."""

from __future__ import annotations

import re

import duckdb

from awsrespond.detect.policy import as_document, is_admin_document, is_admin_managed
from awsrespond.findings import Severity
from awsrespond.hunt.analytics.prepare import VIEW, WINDOW, prepared
from awsrespond.hunt.analytics.registry import AnalyticResult, analytic, detection
from awsrespond.hunt.detections import Window
from awsrespond.timeutil import iso

ADMIN_NAME = re.compile(r"admin", re.IGNORECASE)


@analytic(
    "aws-add-user-to-admin-group",
    title="User added to an administrators group",
    severity=Severity.HIGH,
    mitre=("T1098", "T1078.004"),
)
def add_user_to_admin_group(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """AddUserToGroup into a group that is admin by what the events show, before or after the add
    (AttachGroupPolicy of AdministratorAccess, IAMFullAccess..., PutGroupPolicy of an admin document)
    or by its name: high; denied attempts medium."""
    scope = prepared(con, window)
    result = AnalyticResult()
    adds = scope.rows(con, f"""
        SELECT rid, t, event_id, acct, coalesce(principal, arn, ptype), akey, err, params->>'groupName',
               params->>'userName'
        FROM {WINDOW} WHERE name = 'AddUserToGroup' ORDER BY t""")
    if not adds:
        return result
    groups = sorted({str(row[7]).lower() for row in adds if row[7]})
    grants = scope.rows(con, f"""
        SELECT acct, lower(params->>'groupName'), name, params->>'policyArn', params->>'policyDocument', event_id
        FROM {VIEW}
        WHERE name IN ('AttachGroupPolicy', 'PutGroupPolicy') AND err IS NULL
          AND lower(params->>'groupName') IN (SELECT unnest($groups::VARCHAR[]))""", groups=groups)
    why: dict[tuple[str, str], list[str]] = {}
    for account, group, name, arn, raw, event_id in grants:
        if name == "AttachGroupPolicy" and arn and is_admin_managed(arn):
            why.setdefault((account, group), []).append(f"AttachGroupPolicy {arn}")
        elif name == "PutGroupPolicy" and raw:
            try:
                admin = is_admin_document(as_document(raw))
            except ValueError as exc:
                result.notes.append(f"PutGroupPolicy document in event {event_id} could not be read: {exc}")
                continue
            if admin:
                why.setdefault((account, group), []).append("PutGroupPolicy with an administrator document")
    for rid, when, _event_id, account, caller, key, error, group, user in adds:
        reasons = list(why.get((account, str(group).lower()), []))
        if group and ADMIN_NAME.search(group):
            reasons.append("the group's name says admin")
        if not reasons:
            continue
        result.detections.append(detection(
            "aws-add-user-to-admin-group", Severity.MEDIUM if error else Severity.HIGH, [rid], subject=caller,
            details={"group": group, "user": user, "caller": caller, "access_key": key, "account": account,
                     "admin_because": sorted(set(reasons)), "denied": error, "time": iso(when)},
            recommendation=f"Remove {user} from {group} unless the group's owner confirms the change.",
        ))
    return result
