"""Running compiled rules over the ``events`` table.

All event rules are evaluated in ONE scan (DESIGN.md section 4: a query per rule is ~100x slower):
``SELECT rowid, <rule 1>, <rule 2>, ... FROM events WHERE <window> AND (<rule 1> OR <rule 2> ...)``.
The WHERE clause is where DuckDB short-circuits, so most events stop at their first failed cheap
test; the per-rule columns are computed for the few events that matched something (each wrapped in
``CASE WHEN`` so that they short-circuit too). Correlation rules run one query each.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from awsrespond.hunt.detections import Detection
from awsrespond.sigma.fields import quote_literal
from awsrespond.sigma.rules import HuntRule, RuleProblem

log = logging.getLogger(__name__)

_BATCH = 64
"""Rules per scan column group: bounds the size of one SQL statement, not the number of scans."""


def _any_of(rules: Sequence[HuntRule]) -> str:
    # A multi-WHEN CASE tests each rule only on the rows no earlier rule took.
    return "CASE " + " ".join(f"WHEN {rule.sql} THEN true" for rule in rules) + " ELSE false END"


def gate(rules: Sequence[HuntRule]) -> str:
    """SQL true for the events at least one of ``rules`` matches. Rules that pin ``eventName`` are
    tried only on events whose name one of them wants: one hashed lookup per event instead of a test
    per rule."""
    pinned = [rule for rule in rules if rule.event_names]
    free = [rule for rule in rules if not rule.event_names]
    parts: list[str] = []
    if pinned:
        names = sorted(set().union(*(rule.event_names or () for rule in pinned)))
        listed = ", ".join(f"lower({quote_literal(name)})" for name in names)
        parts.append(f'(CASE WHEN lower("eventName") IN ({listed}) THEN {_any_of(pinned)} ELSE false END)')
    if free:
        parts.append(f"({_any_of(free)})")
    return " OR ".join(parts) if parts else "false"


def _scan(
    con: duckdb.DuckDBPyConnection, rules: Sequence[HuntRule], table: str, where: str, params: Sequence[Any]
) -> dict[str, list[int]]:
    columns = ", ".join(f"CASE WHEN {rule.sql} THEN true ELSE false END AS r{i}" for i, rule in enumerate(rules))
    lists = ", ".join(f"list(_rid ORDER BY _rid) FILTER (WHERE r{i})" for i in range(len(rules)))
    sql = f"SELECT {lists} FROM (SELECT rowid AS _rid, {columns} FROM {table} WHERE ({where}) AND ({gate(rules)}))"
    row = con.execute(sql, list(params)).fetchone()
    assert row is not None  # an aggregate without GROUP BY always returns one row
    return {rule.id: [int(r) for r in (row[i] or ())] for i, rule in enumerate(rules)}


def match_rules(
    con: duckdb.DuckDBPyConnection,
    rules: Sequence[HuntRule],
    *,
    table: str = "events",
    where: str = "TRUE",
    params: Sequence[Any] = (),
    problems: list[RuleProblem] | None = None,
) -> dict[str, list[int]]:
    """Rule id -> sorted rowids of the matching events (only rules that matched something are absent
    from nothing: every rule given has an entry). ``where``/``params`` select the events considered
    (see :meth:`awsrespond.hunt.detections.Window.sql`). A rule DuckDB fails to run is left out and,
    when ``problems`` is given, reported there; the others still run."""
    matches: dict[str, list[int]] = {rule.id: [] for rule in rules}
    events = [rule for rule in rules if rule.kind == "event"]
    for start in range(0, len(events), _BATCH):
        batch = events[start : start + _BATCH]
        try:
            matches.update(_scan(con, batch, table, where, params))
        except duckdb.Error:
            # One bad rule must not cost the others: find it by running each alone.
            for rule in batch:
                try:
                    matches.update(_scan(con, [rule], table, where, params))
                except duckdb.Error as exc:
                    _failed(rule, exc, matches, problems)
    for rule in rules:
        if rule.kind != "correlation" or rule.correlation is None:
            continue
        try:
            rows = con.execute(rule.correlation.query(table, where), list(params)).fetchall()
        except duckdb.Error as exc:
            _failed(rule, exc, matches, problems)
            continue
        matches[rule.id] = [int(row[0]) for row in rows]
    return matches


def _failed(
    rule: HuntRule, exc: duckdb.Error, matches: dict[str, list[int]], problems: list[RuleProblem] | None
) -> None:
    matches.pop(rule.id, None)
    message = f"failed to run: {exc}"
    if problems is None:
        log.warning("rule %s (%s) %s", rule.id, rule.path, message)
    else:
        problems.append(RuleProblem(rule.path, rule.id, message))


def to_detections(rules: Sequence[HuntRule], matches: Mapping[str, Sequence[int]]) -> list[Detection]:
    """One :class:`Detection` per rule that matched, in the rules' order."""
    detections: list[Detection] = []
    for rule in rules:
        rowids = matches.get(rule.id)
        if not rowids:
            continue
        details: dict[str, Any] = {"kind": rule.kind, "path": rule.path}
        if rule.correlation is not None:
            plan = rule.correlation
            details.update(
                correlation=plan.type,
                group_by=list(plan.group_by),
                timespan_seconds=plan.timespan_seconds,
                condition=plan.condition,
                base_rules=list(plan.base_rules),
            )
        detections.append(
            Detection(
                rule=rule.id,
                title=rule.title,
                severity=rule.level,
                rowids=tuple(sorted(rowids)),
                mitre=rule.mitre,
                details=details,
                recommendation=rule.recommendation,
                source="rule",
            )
        )
    return detections
