"""Bursts by one credential within minutes: enumeration (many distinct reads) and AccessDenied storms.

Both slide a 5-minute window over each credential's calls (the access key; the principal when a
record has none). A burst is judged against the principal's own history: the same kind of burst
before ``since`` (a Terraform plan every morning, a console user browsing, a job missing one
permission) makes it low.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from awsrespond.findings import Severity
from awsrespond.hunt.analytics.activity import READ_SQL
from awsrespond.hunt.analytics.prepare import WINDOW, Scope, prepared
from awsrespond.hunt.analytics.registry import AnalyticResult, analytic, detection
from awsrespond.hunt.detections import Window
from awsrespond.timeutil import iso

SPAN = "INTERVAL 5 MINUTE"
BUCKET_SECONDS = 300
ENUMERATION_CALLS = 25
"""Distinct read calls (service and name) by one credential within 5 minutes."""
ENUMERATION_SERVICES = 3
"""A burst within fewer services is a console page or a tool looking at one thing: low."""
WIDE_RECON_SERVICES = 6
DENIED = 10
DENIED_NAMES = 5
"""AccessDenied answers (and the distinct calls denied) within 5 minutes that make permission probing."""
DENIED_RETRIES = 20
"""So many denials of few calls: a retry loop, a tool, or probing one permission: low."""
ROUTINE_SHARE = 0.7
"""A burst no bigger than 1/0.7 of the principal's largest in history is its routine."""
ROUTINE_DAYS = 3
"""A principal bursting on this many days of the window does it on a schedule (the only way to tell
without history)."""
INFRASTRUCTURE_AS_CODE = frozenset({"terraform", "pulumi", "aws-cdk"})
"""Clients that read everything they manage before each change: a plan is a burst."""

DENIED_CODES = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation",
                "UnauthorizedAccess", "AuthorizationError", "AuthorizationErrorException", "Forbidden",
                "NotAuthorized", "UnauthorizedException")
_DENIED_SQL = ("(err IN (" + ", ".join(f"'{c}'" for c in DENIED_CODES) + ") OR err ILIKE '%AccessDenied%' "
               "OR err ILIKE '%Unauthorized%')")
_CRED = "coalesce(akey, principal, arn)"


@dataclass(frozen=True)
class Burst:
    credential: str
    principal: str | None
    rowids: list[int]
    distinct_calls: int
    """The most distinct calls (service and name) within 5 minutes; ``distinct_names``, ``services`` and
    ``events`` likewise."""
    distinct_names: int
    services: int
    first: datetime
    last: datetime
    names: list[str]
    events: int
    families: list[str]
    days: list[int]
    """The days (since the epoch) on which the credential peaked."""


def _bursts(con: duckdb.DuckDBPyConnection, scope: Scope, where: str, peak_condition: str) -> list[Burst]:
    """Credentials whose calls matching ``where`` reach ``peak_condition`` (over ``calls``, ``names``,
    ``services``, ``events`` in the 5 minutes up to a call); each with every call of its bursts."""
    rows = scope.rows(con, f"""
        WITH r AS (
            SELECT rid, t, {_CRED} AS cred, principal, name, src, src || ':' || name AS call, family,
                   floor(epoch(t) / {BUCKET_SECONDS})::BIGINT AS bucket
            FROM {WINDOW} WHERE {_CRED} IS NOT NULL AND {where}),
        -- Any 5 minutes lie within two consecutive 5-minute buckets, and a count in the union is at
        -- most the sum of the two: only bucket pairs whose sums reach the condition can hold a burst.
        buckets AS (
            SELECT cred, bucket, count(DISTINCT call) AS calls, count(DISTINCT name) AS names,
                   count(DISTINCT src) AS services, count(*) AS events
            FROM r GROUP BY cred, bucket),
        pairs AS (
            SELECT a.cred, a.bucket, a.calls + coalesce(b.calls, 0) AS calls, a.names + coalesce(b.names, 0) AS names,
                   a.services + coalesce(b.services, 0) AS services, a.events + coalesce(b.events, 0) AS events
            FROM buckets a LEFT JOIN buckets b ON b.cred = a.cred AND b.bucket = a.bucket + 1),
        candidates AS (
            SELECT cred, bucket FROM pairs WHERE {peak_condition}
            UNION SELECT cred, bucket + 1 FROM pairs WHERE {peak_condition}),
        near AS (SELECT r.* FROM r JOIN candidates c ON c.cred = r.cred AND c.bucket = r.bucket),
        s AS (
            SELECT *, count(DISTINCT call) OVER w AS calls, count(DISTINCT name) OVER w AS names,
                   count(DISTINCT src) OVER w AS services, count(*) OVER w AS events
            FROM near WINDOW w AS (PARTITION BY cred ORDER BY t RANGE BETWEEN {SPAN} PRECEDING AND CURRENT ROW)),
        marked AS (
            SELECT *, CASE WHEN {peak_condition} THEN t END AS peak_t FROM s),
        covered AS (
            -- a call belongs to a burst when a peak is reached within the 5 minutes after it
            SELECT *, max(peak_t) OVER (PARTITION BY cred ORDER BY t
                                        RANGE BETWEEN CURRENT ROW AND {SPAN} FOLLOWING) AS peak_after
            FROM marked)
        SELECT cred, any_value(principal), list(rid), max(calls) FILTER (WHERE peak_t IS NOT NULL),
               max(names) FILTER (WHERE peak_t IS NOT NULL), max(services) FILTER (WHERE peak_t IS NOT NULL),
               min(t), max(t), list(DISTINCT name), max(events) FILTER (WHERE peak_t IS NOT NULL),
               list(DISTINCT family) FILTER (WHERE family IS NOT NULL),
               list(DISTINCT floor(epoch(peak_t) / 86400)::BIGINT) FILTER (WHERE peak_t IS NOT NULL)
        FROM covered WHERE peak_after IS NOT NULL
        GROUP BY cred ORDER BY min(t)""")
    return [Burst(*row) for row in rows]


def _history_peaks(con: duckdb.DuckDBPyConnection, scope: Scope, where: str, metric: str,
                   principals: list[str]) -> dict[str, int]:
    """The largest ``metric`` each principal with such calls in its history reached in any 5 minutes."""
    if not scope.has_history or not principals:
        return {}
    # Straight from the events of these principals' ARNs: the view would first look up every event.
    rows = scope.rows(con, f"""
        WITH arns AS (
            SELECT arn, principal FROM awsr_identities WHERE principal IN (SELECT unnest($principals::VARCHAR[]))),
        r AS (
            SELECT t, coalesce(akey, principal) AS cred, principal, name, src, src || ':' || name AS call
            FROM (
                SELECT e.eventTime AS t, nullif(e.userIdentity.accessKeyId, '') AS akey, a.principal,
                       e.eventName AS name, e.eventSource AS src, e.errorCode AS err,
                       {READ_SQL} AS is_read
                FROM events e JOIN arns a ON a.arn = e.userIdentity.arn
                LEFT JOIN awsr_calls k ON k.src = e.eventSource AND k.name = e.eventName
                WHERE e.eventTime < $since)
            WHERE {where}),
        s AS (
            SELECT principal, {metric} OVER (PARTITION BY cred ORDER BY t
                                             RANGE BETWEEN {SPAN} PRECEDING AND CURRENT ROW) AS m FROM r)
        SELECT principal, max(m) FROM s GROUP BY principal""", principals=principals)
    return {str(p): int(m) for p, m in rows}


def _burst_days(bursts: list[Burst]) -> dict[str, int]:
    """On how many distinct days of the window each principal burst."""
    days: dict[str, set[int]] = {}
    for burst in bursts:
        if burst.principal:
            days.setdefault(burst.principal, set()).update(burst.days)
    return {principal: len(dates) for principal, dates in days.items()}


def _routine(burst: Burst, usual: dict[str, int], size: int, days: dict[str, int]) -> str | None:
    """Why a burst is routine for its principal, or None. Repetition within the window only counts for
    a principal with no history to compare with."""
    principal = burst.principal or ""
    if usual.get(principal, 0) >= ROUTINE_SHARE * size:
        return "no bigger than its bursts before since"
    if principal not in usual and days.get(principal, 0) >= ROUTINE_DAYS:
        return f"repeated on {ROUTINE_DAYS} days or more of the window by a principal without history"
    if burst.families and set(burst.families) <= INFRASTRUCTURE_AS_CODE:
        return "an infrastructure-as-code client reading what it manages"
    return None


def _quiet_note(kind: str, quiet: dict[str, list[Burst]]) -> list[str]:
    """One note for the bursts judged routine and not reported, by reason."""
    if not quiet:
        return []
    bursts = [b for group in quiet.values() for b in group]
    principals = sorted({b.principal or b.credential for b in bursts})
    reasons = "; ".join(f"{reason}: {len(group)}" for reason, group in sorted(quiet.items()))
    shown = ", ".join(principals[:5]) + (f" and {len(principals) - 5} more" if len(principals) > 5 else "")
    return [f"{len(bursts)} {kind} judged routine and not reported ({reasons}), by {shown}"]


def _details(burst: Burst, usual: int, **extra: Any) -> dict[str, Any]:
    return {
        "credential": burst.credential, "principal": burst.principal, "events": len(burst.rowids),
        "services": burst.services, "event_names": sorted(burst.names)[:40], "largest_in_history": usual,
        "user_agent_families": sorted(burst.families),
        "first_seen": iso(burst.first), "last_seen": iso(burst.last), **extra,
    }


@analytic(
    "aws-enumeration-burst",
    title="Burst of distinct read calls by one credential (reconnaissance)",
    severity=Severity.HIGH,
    mitre=("T1580", "T1526", "T1087.004"),
)
def enumeration_burst(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """At least 25 distinct read calls (List/Describe/Get...) by one credential within 5 minutes across
    at least 3 services: medium; 6 services or more: high. Routine bursts are counted in a note, not
    reported: within fewer services (a console page), no bigger than what the principal did before
    ``since``, repeated on 3 days of the window by a principal without history (a schedule), or made
    by an infrastructure-as-code client (a plan)."""
    scope = prepared(con, window)
    result = AnalyticResult()
    where = "is_read AND src <> 'signin.amazonaws.com'"
    bursts = _bursts(con, scope, where, f"calls >= {ENUMERATION_CALLS}")
    usual = _history_peaks(con, scope, where, "count(DISTINCT call)",
                           sorted({b.principal for b in bursts if b.principal}))
    days = _burst_days(bursts)
    quiet: dict[str, list[Burst]] = {}
    for burst in bursts:
        before = usual.get(burst.principal or "", 0)
        routine = _routine(burst, usual, burst.distinct_calls, days)
        if routine is None and burst.services < ENUMERATION_SERVICES:
            routine = f"within fewer than {ENUMERATION_SERVICES} services (a console page, one tool)"
        if routine:
            quiet.setdefault(routine, []).append(burst)
            continue
        severity = Severity.HIGH if burst.services >= WIDE_RECON_SERVICES else Severity.MEDIUM
        result.detections.append(detection(
            "aws-enumeration-burst", severity, burst.rowids, subject=burst.credential,
            details=_details(burst, before, distinct_calls_in_5_minutes=burst.distinct_calls),
            recommendation=("Reconnaissance maps what a credential can reach before using it: check who holds "
                            f"{burst.credential} and what it did right after."),
        ))
    result.notes.extend(_quiet_note("enumeration bursts", quiet))
    return result


@analytic(
    "aws-access-denied-storm",
    title="Storm of AccessDenied answers to one credential (permission probing)",
    severity=Severity.HIGH,
    mitre=("T1580", "T1069.003"),
)
def access_denied_storm(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """At least 10 AccessDenied / UnauthorizedOperation answers to one credential within 5 minutes over
    at least 5 distinct calls: medium, 10 distinct calls: high; 20 denials of fewer calls (a retry
    loop, or one permission tried again and again): low. Routine storms (as for enumeration bursts)
    are counted in a note, not reported."""
    scope = prepared(con, window)
    result = AnalyticResult()
    bursts = _bursts(con, scope, _DENIED_SQL,
                     f"(events >= {DENIED} AND names >= {DENIED_NAMES}) OR events >= {DENIED_RETRIES}")
    usual = _history_peaks(con, scope, _DENIED_SQL, "count(*)", sorted({b.principal for b in bursts if b.principal}))
    days = _burst_days(bursts)
    quiet: dict[str, list[Burst]] = {}
    for burst in bursts:
        before = usual.get(burst.principal or "", 0)
        routine = _routine(burst, usual, burst.events, days)
        if routine:
            quiet.setdefault(routine, []).append(burst)
            continue
        if burst.distinct_names < DENIED_NAMES:
            severity = Severity.LOW
        elif burst.distinct_names >= 2 * DENIED_NAMES:
            severity = Severity.HIGH
        else:
            severity = Severity.MEDIUM
        result.detections.append(detection(
            "aws-access-denied-storm", severity, burst.rowids, subject=burst.credential,
            details=_details(burst, before, denied_in_5_minutes=burst.events,
                             distinct_calls_denied=burst.distinct_names),
            recommendation=(f"Someone is testing what {burst.credential} may do: confirm who holds it, and look "
                            "for the calls that were allowed in between."),
        ))
    result.notes.extend(_quiet_note("AccessDenied storms", quiet))
    return result
