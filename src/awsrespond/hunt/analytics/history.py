"""SQL pieces about history shared by the analytics: who has enough of it, where each account works."""

from __future__ import annotations

from awsrespond.hunt.analytics.prepare import HISTORY

MIN_HISTORY_EVENTS = 20
MIN_HISTORY_DAYS = 2
"""A principal with fewer events or days before ``since`` has no history worth the name."""

def profile_cte() -> str:
    """``prof(principal, n, days)``: each principal's events and active days in history."""
    return f"""prof AS (
        SELECT principal, sum(n) AS n, count(DISTINCT day) AS days
        FROM {HISTORY} WHERE principal IS NOT NULL GROUP BY principal)"""


def known(alias: str = "p") -> str:
    """True for a ``prof`` row with enough history."""
    return f"({alias}.n >= {MIN_HISTORY_EVENTS} AND {alias}.days >= {MIN_HISTORY_DAYS})"


def account_regions_cte() -> str:
    """``areg(acct, region)``: regions each account worked in before the window.

    What counts: calls made from an address, and successful writes by the account's principals
    (an autoscaling group launching in a region nobody browses). Reads by AWS services (Config,
    detectors, Trusted Advisor run in every region) would make every region look used.
    """
    return f"""areg AS (
        SELECT DISTINCT acct, region FROM {HISTORY}
        WHERE NOT is_global AND region IS NOT NULL AND (addressed OR (principal IS NOT NULL AND wrote)))"""
