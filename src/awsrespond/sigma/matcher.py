"""Running compiled rules over the ``events`` table.

All event rules are evaluated in one pass per routing key (DESIGN.md section 4: a query per rule is
~100x slower), and each event is only tested against the rules that could match it:

* rules that pin ``eventName`` (almost all) are reached through a hash join of ``lower(eventName)``
  with a small table of the names they want: an event meets only the rules of its own name;
* rules that pin no name but an ``eventSource`` are routed the same way on the source;
* the rest are tested on every event.

Each routed event yields the list of the rules it matched, ``[CASE WHEN <rule> THEN <index> END, ...]``;
the lists are unnested and grouped into sorted rowids per rule inside DuckDB. It is one statement
whatever the number of rules, reading the table once per routing key in use (at most three times):
the scans of an in-memory column store are cheap, testing 80 rules on every event is not (routing
made the built-in pack ~4x faster than one scan testing every rule). Correlation rules run one
query each.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from awsrespond.hunt.detections import Detection
from awsrespond.sigma.fields import quote_literal
from awsrespond.sigma.rules import HuntRule, RuleProblem

log = logging.getLogger(__name__)

_BATCH = 200
"""Rules per statement: bounds the size of one SQL text, not the number of scans."""


def _hits(indexed: Sequence[tuple[int, HuntRule]]) -> str:
    return "[" + ", ".join(f"CASE WHEN {rule.sql} THEN {index} END" for index, rule in indexed) + "]"


def _routed(
    indexed: Sequence[tuple[int, HuntRule]], keys: Mapping[int, frozenset[str]], column: str, source: str
) -> str:
    """Events joined on ``lower(column)`` to the rules that want that value; their hit lists."""
    by_value: dict[str, list[tuple[int, HuntRule]]] = defaultdict(list)
    for index, rule in indexed:
        for value in keys[index]:
            by_value[value].append((index, rule))
    values = sorted(by_value)
    table = ", ".join(f"(lower({quote_literal(value)}), {number})" for number, value in enumerate(values))
    cases = " ".join(f"WHEN {number} THEN {_hits(by_value[value])}" for number, value in enumerate(values))
    return (
        f"SELECT _e._rid, CASE _r._route {cases} END AS _hits FROM {source} AS _e "
        f'JOIN (VALUES {table}) AS _r(_key, _route) ON lower(_e."{column}") = _r._key'
    )


def scan_sql(rules: Sequence[HuntRule], table: str, where: str) -> tuple[str, int]:
    """The one statement evaluating ``rules`` (event rules), and how many times it uses ``where``.
    It returns rows (rule index, sorted rowids) for the rules that matched."""
    source = f"(SELECT rowid AS _rid, * FROM {table} WHERE ({where}))"
    by_name = [(i, rule) for i, rule in enumerate(rules) if rule.event_names]
    by_source = [(i, rule) for i, rule in enumerate(rules) if not rule.event_names and rule.event_sources]
    free = [(i, rule) for i, rule in enumerate(rules) if not rule.event_names and not rule.event_sources]
    branches: list[str] = []
    if by_name:
        names = {i: rule.event_names or frozenset() for i, rule in by_name}
        branches.append(_routed(by_name, names, "eventName", source))
    if by_source:
        sources = {i: rule.event_sources or frozenset() for i, rule in by_source}
        branches.append(_routed(by_source, sources, "eventSource", source))
    if free:
        branches.append(f"SELECT _rid, {_hits(free)} AS _hits FROM {source}")
    hits = " UNION ALL ".join(branches)
    sql = (
        f"SELECT _rule, list(_rid ORDER BY _rid) FROM (SELECT _rid, unnest(_hits) AS _rule FROM ({hits})) "
        "WHERE _rule IS NOT NULL GROUP BY _rule"
    )
    return sql, len(branches)


def _scan(
    con: duckdb.DuckDBPyConnection, rules: Sequence[HuntRule], table: str, where: str, params: Sequence[Any]
) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {rule.id: [] for rule in rules}
    if not rules:
        return found
    sql, uses = scan_sql(rules, table, where)
    for index, rowids in con.execute(sql, list(params) * uses).fetchall():
        found[rules[index].id] = [int(r) for r in rowids]
    return found


def match_rules(
    con: duckdb.DuckDBPyConnection,
    rules: Sequence[HuntRule],
    *,
    table: str = "events",
    where: str = "TRUE",
    params: Sequence[Any] = (),
    problems: list[RuleProblem] | None = None,
) -> dict[str, list[int]]:
    """Rule id -> sorted rowids of the events it matched, for every rule given (an empty list when it
    matched nothing). ``where``/``params`` select the events considered (see
    :meth:`awsrespond.hunt.detections.Window.sql`). A rule DuckDB fails to run is left out and, when
    ``problems`` is given, reported there (else logged); the others still run."""
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
