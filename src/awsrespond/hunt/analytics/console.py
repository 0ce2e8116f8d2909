"""Console sign-ins: from a network the user never used, and success after failed attempts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from awsrespond.findings import Severity
from awsrespond.hunt.analytics.history import known, profile_cte
from awsrespond.hunt.analytics.prepare import HISTORY, VIEW, WINDOW, prepared
from awsrespond.hunt.analytics.registry import AnalyticResult, analytic, detection
from awsrespond.hunt.detections import Window
from awsrespond.timeutil import iso

FAILURES = 3
"""Failed sign-ins (for the user, or from the address) before a success that make it suspect."""
FAILURE_SPAN_MINUTES = 30


@analytic(
    "aws-console-login-new-ip",
    title="Console sign-in from a network the user never used",
    severity=Severity.HIGH,
    mitre=("T1078.004",),
)
def console_login_new_ip(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """A successful ConsoleLogin from a /24 (/48) never seen in any of the user's history (sign-ins
    or API calls): medium; high without MFA (IAM users; federated sign-ins do MFA at their identity
    provider) or for the root user; low when the /16 around it is one the user came from (an ISP
    handing out another address). Users without history: a note from the first-seen analytics."""
    scope = prepared(con, window)
    result = AnalyticResult()
    if not scope.has_history:
        return result
    rows = scope.rows(con, f"""
        WITH {profile_cte()},
        seen AS (SELECT DISTINCT principal, net FROM {HISTORY} WHERE principal IS NOT NULL AND net IS NOT NULL),
        wides AS (SELECT DISTINCT principal, wide FROM {HISTORY} WHERE principal IS NOT NULL AND wide IS NOT NULL)
        SELECT w.principal, w.net, list(w.rid), list(DISTINCT w.ip), min(w.t), max(w.t),
               bool_or(coalesce(w.additional->>'MFAUsed', '') <> 'Yes'), any_value(w.ptype),
               bool_or(wd.wide IS NOT NULL)
        FROM {WINDOW} w JOIN prof p ON p.principal = w.principal AND {known()}
        LEFT JOIN wides wd ON wd.principal = w.principal AND wd.wide = w.wide
        WHERE w.name = 'ConsoleLogin' AND w.login = 'success' AND w.net IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM seen s WHERE s.principal = w.principal AND s.net = w.net)
        GROUP BY w.principal, w.net ORDER BY min(w.t)""")
    for principal, net, rowids, ips, first, last, mfa_not_used, kind, near in rows:
        without_mfa = bool(mfa_not_used) and kind in ("IAMUser", "Root")
        loud = Severity.HIGH if without_mfa or kind == "Root" else Severity.MEDIUM
        severity = Severity.LOW if near else loud
        result.detections.append(detection(
            "aws-console-login-new-ip", severity, rowids, subject=principal,
            details={"principal": principal, "network": net, "source_ips": sorted(ips), "without_mfa": without_mfa,
                     "in_a_known_wider_network": bool(near),
                     "first_seen": iso(first), "last_seen": iso(last)},
            recommendation=(f"Ask the owner of {principal} whether they signed in from {', '.join(sorted(ips))}; "
                            "if not, reset the password, remove unknown MFA devices and revoke active sessions."),
        ))
    return result


@analytic(
    "aws-console-login-after-failures",
    title="Console sign-in succeeded after repeated failures",
    severity=Severity.HIGH,
    mitre=("T1110", "T1078.004"),
)
def console_login_after_failures(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """A successful ConsoleLogin preceded, within 30 minutes, by at least 3 failed sign-ins for the
    same user or from the same address (guessing, spraying): high. Needs no history."""
    scope = prepared(con, window)
    result = AnalyticResult()
    lookback = f"INTERVAL {FAILURE_SPAN_MINUTES} MINUTE"
    bounds = [f"t >= $since - {lookback}" if scope.since is not None else "TRUE",
              "t <= $until" if scope.until is not None else "TRUE"]
    rows = scope.rows(con, f"""
        WITH logins AS (
            SELECT rid, t, principal, ip, login FROM {VIEW}
            WHERE name = 'ConsoleLogin' AND login IS NOT NULL AND {" AND ".join(bounds)})
        SELECT s.principal, s.rid, s.ip, s.t, list(DISTINCT f.rid), min(f.t),
               count(DISTINCT f.rid) FILTER (WHERE f.principal = s.principal) AS for_user,
               count(DISTINCT f.rid) FILTER (WHERE f.ip = s.ip) AS from_ip,
               count(DISTINCT f.principal) FILTER (WHERE f.ip = s.ip) AS users_tried
        FROM logins s JOIN logins f
          ON f.login = 'failure' AND f.t BETWEEN s.t - {lookback} AND s.t
         AND (f.principal = s.principal OR f.ip = s.ip)
        WHERE s.login = 'success' AND {scope.win('s.t')}
        GROUP BY s.principal, s.rid, s.ip, s.t
        HAVING for_user >= {FAILURES} OR from_ip >= {FAILURES}
        ORDER BY s.t""")
    grouped: dict[str, _Failures] = {}
    for principal, success, ip, when, failures, first, for_user, from_ip, users_tried in rows:
        entry = grouped.setdefault(str(principal), _Failures(first=first, last=when))
        entry.add(success, failures, ip, for_user, from_ip, users_tried, first, when)
    for principal, entry in grouped.items():
        result.detections.append(detection(
            "aws-console-login-after-failures", Severity.HIGH, entry.rowids, subject=principal,
            details={"principal": principal, "successes": entry.successes, "source_ips": sorted(entry.ips),
                     "most_failures_for_user": entry.for_user, "most_failures_from_address": entry.from_ip,
                     "users_tried_from_address": entry.users_tried, "first_seen": iso(entry.first),
                     "last_seen": iso(entry.last)},
            recommendation=(f"Treat the password of {principal} as guessed: reset it, check MFA devices, revoke "
                            "its sessions, and block the addresses if they are not the user's."),
        ))
    return result


@dataclass
class _Failures:
    first: datetime
    last: datetime
    rowids: set[int] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)
    successes: int = 0
    for_user: int = 0
    from_ip: int = 0
    users_tried: int = 0

    def add(self, success: int, failures: list[int], ip: str, for_user: int, from_ip: int, users_tried: int,
            first: datetime, last: datetime) -> None:
        self.rowids |= {success, *failures}
        self.ips.add(ip)
        self.successes += 1
        self.for_user = max(self.for_user, for_user)
        self.from_ip = max(self.from_ip, from_ip)
        self.users_tried = max(self.users_tried, users_tried)
        self.first, self.last = min(self.first, first), max(self.last, last)
