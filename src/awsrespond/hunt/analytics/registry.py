"""The analytics registry: each analytic is a function over the events table, registered by decorator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from awsrespond.findings import Severity
from awsrespond.hunt.detections import Detection, Window


@dataclass
class AnalyticResult:
    detections: list[Detection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extend(self, other: AnalyticResult) -> None:
        self.detections.extend(other.detections)
        self.notes.extend(other.notes)


AnalyticFunction = Callable[[duckdb.DuckDBPyConnection, Window], AnalyticResult]


@dataclass(frozen=True)
class AnalyticSpec:
    id: str
    title: str
    severity: Severity
    """The highest severity the analytic reports; each detection carries its own."""
    mitre: tuple[str, ...]
    description: str
    run: AnalyticFunction


ANALYTICS: dict[str, AnalyticSpec] = {}


def analytic(
    analytic_id: str,
    *,
    title: str,
    severity: Severity,
    mitre: tuple[str, ...] = (),
) -> Callable[[AnalyticFunction], AnalyticFunction]:
    """Register ``function`` under a stable id; its docstring is the analytic's description."""

    def register(function: AnalyticFunction) -> AnalyticFunction:
        if analytic_id in ANALYTICS:
            raise ValueError(f"analytic {analytic_id!r} is registered twice")
        description = " ".join((function.__doc__ or "").split())
        ANALYTICS[analytic_id] = AnalyticSpec(analytic_id, title, severity, mitre, description, function)
        return function

    return register


def detection(
    analytic_id: str,
    severity: Severity,
    rowids: object,
    *,
    subject: str | None,
    details: dict[str, object],
    recommendation: str = "",
) -> Detection:
    """A detection of a registered analytic (title and MITRE techniques from its registration)."""
    spec = ANALYTICS[analytic_id]
    covered = tuple(sorted({int(r) for r in rowids})) if isinstance(rowids, list | tuple | set | frozenset) else ()
    return Detection(
        rule=analytic_id,
        title=spec.title,
        severity=severity,
        rowids=covered,
        mitre=spec.mitre,
        subject=subject,
        details=details,
        recommendation=recommendation,
        source="analytic",
    )
