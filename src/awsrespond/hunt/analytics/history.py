"""SQL pieces about history shared by the analytics: who has enough of it, where each account works."""

from __future__ import annotations

from awsrespond.hunt.analytics.prepare import VIEW, Scope

MIN_HISTORY_EVENTS = 20
MIN_HISTORY_DAYS = 2
"""A principal with fewer events or days before ``since`` has no history worth the name."""

DAY = "floor(epoch({column}) / 86400)"


def profile_cte(scope: Scope) -> str:
    """``prof(principal, n, days)``: each principal's events and active days in history."""
    return f"""prof AS (
        SELECT principal, count(*) AS n, count(DISTINCT {DAY.format(column='t')}) AS days
        FROM {VIEW} WHERE {scope.hist()} AND principal IS NOT NULL GROUP BY principal)"""


def known(alias: str = "p") -> str:
    """True for a ``prof`` row with enough history."""
    return f"({alias}.n >= {MIN_HISTORY_EVENTS} AND {alias}.days >= {MIN_HISTORY_DAYS})"


def account_regions_cte(scope: Scope) -> str:
    """``areg(acct, region)``: regions each account worked in before the window.

    What counts: calls made from an address, and successful writes by the account's principals
    (an autoscaling group launching in a region nobody browses). Reads by AWS services (Config,
    detectors, Trusted Advisor run in every region) would make every region look used.
    """
    return f"""areg AS (
        SELECT DISTINCT acct, region FROM {VIEW}
        WHERE {scope.hist()} AND NOT is_global AND region IS NOT NULL
          AND (net IS NOT NULL OR (principal IS NOT NULL AND NOT is_read AND err IS NULL)))"""
