"""First-seen analytics: a principal's new network, user agent family and region against its own history.

History is kept per principal: an IAM user (all its keys and console sessions), a role (all its
sessions; Identity Center roles per person), the root user. A principal without enough history
before ``since`` is not judged (a note says so). Temporary keys come and go, so they are listed in
each detection's details rather than judged on their own.

Noise control, measured on the routine-activity generator of the tests:

- Networks are compared as /24 (IPv4) or /48 (IPv6): a new address from the same provider block is
  not new; a new /24 inside a /16 the principal used is low (ISPs move home users between /24s);
  new private networks (a VPC endpoint seen from a new subnet or task) are not judged.
- A *roaming* principal (one that met a new network on many of its history days: CI runners, Lambda
  functions, autoscaled fleets behind changing addresses) gets no new-network alarm unless the new
  network also brings a new user agent family.
- EC2 instance-role sessions are judged by ``aws-instance-credentials-outside`` instead: every new
  instance has a new address.
- Console sign-ins are judged by the console analytics.
"""

from __future__ import annotations

from typing import Any

import duckdb

from awsrespond.findings import Severity
from awsrespond.hunt.analytics.history import (
    MIN_HISTORY_DAYS,
    MIN_HISTORY_EVENTS,
    account_regions_cte,
    known,
    profile_cte,
)
from awsrespond.hunt.analytics.prepare import HISTORY, WINDOW, Scope, prepared
from awsrespond.hunt.analytics.registry import AnalyticResult, analytic, detection
from awsrespond.hunt.detections import Window
from awsrespond.timeutil import iso

ROAMING_MIN_NOVEL_DAYS = 3
ROAMING_SHARE = 0.4
"""Roaming: a new network first seen on at least this share of the history days after the first."""
MAX_LISTED = 25
MAX_NOTES = 20
REGION_SWEEP = 5
RECON_DISTINCT_CALLS = 8
"""Distinct calls from a new network with a new client family that make reading a reconnaissance."""
"""New regions the account never worked in, read by one principal: a sweep across regions."""

_RECOMMEND = ("Confirm with the owner of {subject} that this activity is theirs; if not, deactivate its keys, "
              "revoke its sessions and follow the rest of its activity.")


def _activity_severity(writes: int, sensitive: int) -> Severity:
    if sensitive:
        return Severity.HIGH
    return Severity.MEDIUM if writes else Severity.LOW


def _listed(values: list[Any] | None) -> list[Any]:
    return sorted(v for v in (values or []) if v is not None)[:MAX_LISTED]


def history_notes(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[str]:
    """One note per principal of the window that has no history worth the name."""
    if not scope.has_history:
        return ["no --since: first-seen checks (network, user agent, region) need history before the window; "
                "skipped"]
    rows = scope.rows(con, f"""
        WITH {profile_cte()}
        SELECT w.principal, count(*) AS events, coalesce(any_value(p.n), 0), coalesce(any_value(p.days), 0)
        FROM {WINDOW} w LEFT JOIN prof p ON p.principal = w.principal
        WHERE w.principal IS NOT NULL AND (p.principal IS NULL OR NOT {known()})
        GROUP BY w.principal ORDER BY events DESC, w.principal""")
    notes = [
        f"principal {principal} has no history before since ({history} event(s) on {days} day(s); at least "
        f"{MIN_HISTORY_EVENTS} on {MIN_HISTORY_DAYS} days needed): first-seen checks skipped for its {events} "
        "event(s) in the window"
        for principal, events, history, days in rows[:MAX_NOTES]
    ]
    if len(rows) > MAX_NOTES:
        notes.append(f"... and {len(rows) - MAX_NOTES} more principal(s) without history: first-seen checks skipped")
    return notes


@analytic(
    "aws-new-source-ip",
    title="Principal calls from a network never seen in its history",
    severity=Severity.HIGH,
    mitre=("T1078.004",),
)
def new_source_ip(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """A principal with history calls from a public /24 (/48) it never used before; ranked by what it
    does from there: reads low, writes medium, sensitive calls high. A new /24 inside a /16 the
    principal used (an ISP handing out another address) is low whatever it does. Roaming principals
    only when the new network also brings a new user agent family. New private networks (VPC
    endpoints from a new subnet or task) are not judged."""
    scope = prepared(con, window)
    result = AnalyticResult(notes=history_notes(con, scope))
    if not scope.has_history:
        return result
    rows = scope.rows(con, f"""
        WITH {profile_cte()},
        hist AS (
            SELECT principal, net, min(first) AS first FROM {HISTORY}
            WHERE principal IS NOT NULL AND net IS NOT NULL AND NOT instance_session
            GROUP BY principal, net),
        novel AS (
            SELECT principal, count(DISTINCT floor(epoch(first) / 86400)) - 1 AS novel_days
            FROM hist GROUP BY principal),
        wides AS (
            SELECT DISTINCT principal, wide FROM {HISTORY}
            WHERE principal IS NOT NULL AND wide IS NOT NULL AND NOT instance_session),
        hua AS (
            SELECT DISTINCT principal, family FROM {HISTORY} WHERE principal IS NOT NULL AND family IS NOT NULL),
        win AS (
            SELECT w.*, (w.family IS NOT NULL AND h.family IS NULL) AS ua_new
            FROM {WINDOW} w LEFT JOIN hua h ON h.principal = w.principal AND h.family = w.family
            WHERE w.principal IS NOT NULL AND w.net IS NOT NULL AND NOT w.internal AND NOT w.instance_session
              AND w.src <> 'signin.amazonaws.com')
        SELECT w.principal, w.net, list(w.rid), list(DISTINCT w.ip), list(DISTINCT w.akey), list(DISTINCT w.name),
               count(*), count(*) FILTER (WHERE NOT w.is_read), count(*) FILTER (WHERE w.is_sensitive),
               min(w.t), max(w.t), list(DISTINCT w.family), bool_or(w.ua_new),
               any_value(coalesce(nv.novel_days, 0)), any_value(p.days), list(DISTINCT w.name)
                   FILTER (WHERE w.is_sensitive), bool_or(wd.wide IS NOT NULL)
        FROM win w JOIN prof p ON p.principal = w.principal AND {known()}
        LEFT JOIN novel nv ON nv.principal = w.principal
        LEFT JOIN wides wd ON wd.principal = w.principal AND wd.wide = w.wide
        WHERE NOT EXISTS (SELECT 1 FROM hist h WHERE h.principal = w.principal AND h.net = w.net)
        GROUP BY w.principal, w.net ORDER BY w.principal, min(w.t)""")
    quiet: dict[str, int] = {}
    for (principal, net, rowids, ips, keys, names, events, writes, sensitive, first, last, families, ua_new,
         novel_days, days, sensitive_names, near) in rows:
        roaming = novel_days >= ROAMING_MIN_NOVEL_DAYS and novel_days >= ROAMING_SHARE * (days - 1)
        if roaming and not ua_new:
            quiet[principal] = quiet.get(principal, 0) + 1
            continue
        severity = Severity.LOW if near else _activity_severity(writes, sensitive)
        if not near and ua_new and severity is Severity.LOW and len(names or []) >= RECON_DISTINCT_CALLS:
            # A new network, a client it never used and a sweep of distinct reads: a leaked key looking around.
            severity = Severity.MEDIUM
        result.detections.append(detection(
            "aws-new-source-ip", severity, rowids, subject=principal,
            details={
                "principal": principal, "network": net, "source_ips": _listed(ips), "access_keys": _listed(keys),
                "events": events, "writes": writes, "sensitive_calls": _listed(sensitive_names),
                "event_names": _listed(names), "user_agent_families": _listed(families),
                "new_user_agent_family": bool(ua_new), "roaming_principal": roaming,
                "in_a_known_wider_network": bool(near),
                "first_seen": iso(first), "last_seen": iso(last),
            },
            recommendation=_RECOMMEND.format(subject=principal),
        ))
    if quiet:
        named = ", ".join(f"{p} ({n})" for p, n in sorted(quiet.items())[:MAX_NOTES])
        more = f" and {len(quiet) - MAX_NOTES} more" if len(quiet) > MAX_NOTES else ""
        result.notes.append(
            f"{sum(quiet.values())} new network(s) of {len(quiet)} principal(s) that meet new networks on most "
            f"days (CI runners, functions, fleets) not reported, their user agent families being the usual ones: "
            f"{named}{more}")
    return result


@analytic(
    "aws-new-user-agent",
    title="Principal uses a client (user agent family) never seen in its history",
    severity=Severity.MEDIUM,
    mitre=("T1078.004",),
)
def new_user_agent(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """A principal with history calls with a user agent family it never used (versions do not count:
    ``aws-cli/2.15`` and ``aws-cli/2.17`` are one family); low, medium when it makes sensitive calls."""
    scope = prepared(con, window)
    result = AnalyticResult()
    if not scope.has_history:
        return result
    rows = scope.rows(con, f"""
        WITH {profile_cte()},
        hua AS (
            SELECT DISTINCT principal, family FROM {HISTORY} WHERE principal IS NOT NULL AND family IS NOT NULL),
        usual AS (SELECT principal, list(family) AS families FROM hua GROUP BY principal)
        SELECT w.principal, w.family, list(w.rid), list(DISTINCT w.net), list(DISTINCT w.akey),
               count(*), count(*) FILTER (WHERE NOT w.is_read), list(DISTINCT w.name) FILTER (WHERE w.is_sensitive),
               min(w.t), max(w.t), any_value(u.families)
        FROM {WINDOW} w JOIN prof p ON p.principal = w.principal AND {known()}
        LEFT JOIN usual u ON u.principal = w.principal
        WHERE w.family IS NOT NULL AND w.src <> 'signin.amazonaws.com'
          AND NOT EXISTS (SELECT 1 FROM hua x WHERE x.principal = w.principal AND x.family = w.family)
        GROUP BY w.principal, w.family ORDER BY w.principal, min(w.t)""")
    for (principal, family, rowids, nets, keys, events, writes, sensitive_names, first, last, usual) in rows:
        severity = Severity.MEDIUM if sensitive_names else Severity.LOW
        agents = [r[0] for r in con.execute(
            "SELECT DISTINCT userAgent FROM events WHERE rowid IN (SELECT unnest($rowids::BIGINT[])) LIMIT 5",
            {"rowids": rowids}).fetchall()]
        result.detections.append(detection(
            "aws-new-user-agent", severity, rowids, subject=principal,
            details={
                "principal": principal, "family": family, "user_agents": _listed(agents)[:5],
                "usual_families": _listed(usual), "networks": _listed(nets), "access_keys": _listed(keys),
                "events": events, "writes": writes, "sensitive_calls": _listed(sensitive_names),
                "first_seen": iso(first), "last_seen": iso(last),
            },
            recommendation=_RECOMMEND.format(subject=principal),
        ))
    return result


@analytic(
    "aws-new-region",
    title="Principal works in regions never seen in its history",
    severity=Severity.HIGH,
    mitre=("T1078.004", "T1535"),
)
def new_region(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """A principal with history calls in regions it never used. Writes in a region the account never
    worked in: high; reads there: low, medium when they sweep many regions; writes in a region other
    principals of the account use: low. Global services (IAM, STS, ...) are left out."""
    scope = prepared(con, window)
    result = AnalyticResult()
    if not scope.has_history:
        return result
    rows = scope.rows(con, f"""
        WITH {profile_cte()}, {account_regions_cte()},
        hreg AS (
            SELECT DISTINCT principal, region FROM {HISTORY}
            WHERE principal IS NOT NULL AND region IS NOT NULL AND NOT is_global)
        SELECT w.principal, w.region, list(w.rid), count(*), count(*) FILTER (WHERE NOT w.is_read),
               bool_or(a.region IS NOT NULL), list(DISTINCT w.name), min(w.t), max(w.t), list(DISTINCT w.akey)
        FROM {WINDOW} w JOIN prof p ON p.principal = w.principal AND {known()}
        LEFT JOIN areg a ON a.acct = w.acct AND a.region = w.region
        WHERE w.region IS NOT NULL AND NOT w.is_global
          AND NOT EXISTS (SELECT 1 FROM hreg h WHERE h.principal = w.principal AND h.region = w.region)
        GROUP BY w.principal, w.region ORDER BY w.principal, w.region""")
    by_principal: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_principal.setdefault(row[0], []).append(row)
    for principal, regions in by_principal.items():
        unused_writes = [r for r in regions if not r[5] and r[4]]
        unused_reads = [r for r in regions if not r[5] and not r[4]]
        used_writes = [r for r in regions if r[5] and r[4]]
        if unused_writes:
            severity, reported = Severity.HIGH, unused_writes + unused_reads + used_writes
        elif unused_reads:
            severity = Severity.MEDIUM if len(unused_reads) >= REGION_SWEEP else Severity.LOW
            reported = unused_reads + used_writes
        elif used_writes:
            severity, reported = Severity.LOW, used_writes
        else:
            continue
        rowids = [rid for r in reported for rid in r[2]]
        result.detections.append(detection(
            "aws-new-region", severity, rowids, subject=principal,
            details={
                "principal": principal,
                "regions": [
                    {"region": r[1], "events": r[3], "writes": r[4], "account_used_region": bool(r[5]),
                     "event_names": _listed(r[6])[:10]}
                    for r in reported
                ],
                "regions_account_never_used": sorted(r[1] for r in reported if not r[5]),
                "access_keys": _listed([k for r in reported for k in r[9]]),
                "first_seen": iso(min(r[7] for r in reported)), "last_seen": iso(max(r[8] for r in reported)),
            },
            recommendation=("Check what was created or changed in these regions (attackers work where nobody "
                            "looks) and confirm with the owner of the principal."),
        ))
    return result
