"""What a rule or an analytic reports before it becomes a finding: the events it covers.

Rules (Sigma, single pass over the ``events`` table) and behaviour analytics (SQL over a
principal's history) both produce :class:`Detection`; the hunt turns detections into findings
grouped by the credential that made the calls, and into attacker sessions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from awsrespond.findings import Severity


@dataclass(frozen=True)
class Window:
    """The incident window. Events before ``since`` are history: they teach what is normal for each
    principal and are never reported on themselves."""

    since: datetime | None = None
    until: datetime | None = None

    def sql(self, column: str = "eventTime") -> tuple[str, list[Any]]:
        """A WHERE fragment (with ``?`` parameters) selecting the window's events."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.since is not None:
            clauses.append(f"{column} >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append(f"{column} <= ?")
            params.append(self.until)
        return (" AND ".join(clauses) or "TRUE"), params


@dataclass(frozen=True)
class Detection:
    rule: str
    """Rule id: the Sigma rule's ``id`` (or its file stem), or the analytic's stable id."""
    title: str
    severity: Severity
    rowids: tuple[int, ...]
    """DuckDB ``rowid`` of every event of the ``events`` table the detection covers."""
    mitre: tuple[str, ...] = ()
    subject: str | None = None
    """What the detection is about when that is not simply each event's caller (an access key id,
    a principal ARN, an IP address)."""
    details: Mapping[str, Any] = field(default_factory=dict)
    recommendation: str = ""
    source: str = "rule"
    """``rule`` for Sigma rules (the pack or ``--rules``), ``analytic`` for behaviour analytics."""
