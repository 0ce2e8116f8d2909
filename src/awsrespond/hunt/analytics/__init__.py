"""Behaviour analytics over the events table: what single-event rules cannot see.

Each analytic is a function ``(con, window) -> AnalyticResult`` registered with :func:`analytic`
in a small module of this package; :func:`run_analytics` runs them all. Events before
``window.since`` are history: they teach what is normal for each principal and are never reported.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from awsrespond.hunt.analytics import (  # noqa: F401  (importing registers their analytics)
    bursts,
    compute,
    console,
    cross_account,
    first_seen,
    groups,
    iam_policies,
    key_networks,
)
from awsrespond.hunt.analytics.prepare import prepared
from awsrespond.hunt.analytics.registry import ANALYTICS, AnalyticResult, AnalyticSpec, analytic
from awsrespond.hunt.detections import Window

__all__ = ["ANALYTICS", "AnalyticResult", "AnalyticSpec", "analytic", "run_analytics"]


def run_analytics(
    con: duckdb.DuckDBPyConnection, window: Window, only: Iterable[str] | None = None
) -> AnalyticResult:
    """Run every registered analytic (or those named in ``only``) over the ``events`` table.

    An analytic that fails on the data is named in a note and the others still run.
    """
    chosen = list(ANALYTICS) if only is None else list(only)
    unknown = [name for name in chosen if name not in ANALYTICS]
    if unknown:
        raise ValueError(f"unknown analytic(s): {', '.join(unknown)}; known: {', '.join(sorted(ANALYTICS))}")
    result = AnalyticResult()
    prepared(con, window)
    for name in chosen:
        try:
            result.extend(ANALYTICS[name].run(con, window))
        except (duckdb.Error, ValueError) as exc:
            result.notes.append(f"analytic {name} failed and was skipped: {exc}")
    return result
