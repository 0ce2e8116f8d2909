"""Sigma correlation rules (Sigma 2: ``event_count``, ``value_count``, ``value_sum``, ``value_avg``,
``temporal``) as one DuckDB query each.

Windows slide: every base-rule event opens a window ``[t, t + timespan]`` over the events of its group
(``group-by`` values; an event lacking one of them belongs to no group). The aggregate of each window is
tested against the condition, and the result is every base-rule event inside a qualifying window - for
a burst rule (``gte``), all the events of the burst. With ``gt``/``gte`` this finds every set of events
that fits in the timespan; with ``lt``/``lte``/``eq``/``neq`` the windows are those opened at each event.
``event_count`` counts distinct events (an event matching two base rules counts once); ``value_count``
counts distinct non-null values of the condition's ``field``; ``temporal`` needs every referenced rule
to match within the timespan. Field aliases map a group-by or value name to each base rule's field.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigma.correlations import (
    SigmaCorrelationCondition,
    SigmaCorrelationConditionOperator,
    SigmaCorrelationRule,
    SigmaCorrelationType,
)

from awsrespond.sigma.compiler import CompileError
from awsrespond.sigma.fields import resolve

_OPERATORS = {
    SigmaCorrelationConditionOperator.LT: "<",
    SigmaCorrelationConditionOperator.LTE: "<=",
    SigmaCorrelationConditionOperator.GT: ">",
    SigmaCorrelationConditionOperator.GTE: ">=",
    SigmaCorrelationConditionOperator.EQ: "=",
    SigmaCorrelationConditionOperator.NEQ: "<>",
}
_AGGREGATES = {
    SigmaCorrelationType.EVENT_COUNT: "count(DISTINCT _rid)",
    SigmaCorrelationType.VALUE_COUNT: "count(DISTINCT _value)",
    SigmaCorrelationType.VALUE_SUM: "sum(TRY_CAST(_value AS DOUBLE))",
    SigmaCorrelationType.VALUE_AVG: "avg(TRY_CAST(_value AS DOUBLE))",
    SigmaCorrelationType.TEMPORAL: "count(DISTINCT _rule)",
}


@dataclass(frozen=True)
class CorrelationPlan:
    type: str
    base_rules: tuple[str, ...]
    """Ids of the base rules, in the correlation's order."""
    group_by: tuple[str, ...]
    timespan_seconds: int
    condition: str
    """The test on each window's aggregate, e.g. ``>= 10``."""
    value_field: str | None
    branches: tuple[str, ...]
    """One SELECT per base rule over ``_window``: rowid, time, group keys, value, rule index."""

    def query(self, table: str, where: str) -> str:
        """SQL returning the sorted rowids (column ``rowid``) of the qualifying windows' events;
        ``where`` (with its ``?`` parameters, used once) selects the events considered."""
        keys = ", ".join(f"_g{i}" for i in range(len(self.group_by)))
        partition = f"PARTITION BY {keys} " if keys else ""
        aggregate = _AGGREGATES[SigmaCorrelationType[self.type.upper()]]
        span = f"INTERVAL {self.timespan_seconds} SECOND"
        return (
            # Inlined into each base rule's branch: materialized, it would copy the whole window.
            "WITH _window AS NOT MATERIALIZED "
            f'(SELECT rowid AS _rid, * FROM {table} WHERE ({where}) AND "eventTime" IS NOT NULL), '
            f"_base AS ({' UNION ALL '.join(self.branches)}), "
            f"_windows AS (SELECT *, {aggregate} OVER ({partition}ORDER BY _t "
            f"RANGE BETWEEN CURRENT ROW AND {span} FOLLOWING) AS _aggregate FROM _base), "
            f"_anchored AS (SELECT *, max(CASE WHEN _aggregate {self.condition} THEN _t END) "
            f"OVER ({partition}ORDER BY _t "
            f"RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS _anchor FROM _windows) "
            f"SELECT DISTINCT _rid AS rowid FROM _anchored WHERE _anchor IS NOT NULL AND _t <= _anchor + {span} "
            "ORDER BY rowid"
        )


def _field_for(rule: SigmaCorrelationRule, name: str, reference: str) -> str:
    for alias in rule.aliases:
        if alias.alias == name:
            for ref, field_name in alias.mapping.items():
                if ref.reference == reference:
                    return field_name
            raise CompileError(f"alias {name!r} has no field for rule {reference!r}")
    return name


def plan_correlation(rule: SigmaCorrelationRule, bases: list[tuple[str, str, str]]) -> CorrelationPlan:
    """``bases``: (reference as written, base rule id, compiled base-rule SQL) for each referenced rule."""
    if rule.type not in _AGGREGATES:
        raise CompileError(f"correlation type {rule.type.name.lower()} is not supported")
    if not bases:
        raise CompileError("the correlation names no rules")
    group_by = tuple(rule.group_by or ())
    condition = rule.condition
    if not isinstance(condition, SigmaCorrelationCondition):
        raise CompileError("extended correlation conditions are not supported")
    if rule.type is SigmaCorrelationType.TEMPORAL:
        # Sigma: every referenced rule must match within the timespan.
        test = f">= {len(bases)}"
    else:
        test = f"{_OPERATORS[condition.op]} {condition.count!r}"
    value_field = condition.fieldref
    if isinstance(value_field, list):
        if len(value_field) != 1:
            raise CompileError("a correlation condition on several fields is not supported")
        value_field = value_field[0]
    if rule.type in (SigmaCorrelationType.EVENT_COUNT, SigmaCorrelationType.TEMPORAL):
        value_field = None
    elif value_field is None:
        raise CompileError(f"{rule.type.name.lower()} needs a condition field")
    branches: list[str] = []
    for index, (reference, _, sql) in enumerate(bases):
        columns = ["_rid", '"eventTime" AS _t']
        present: list[str] = []
        for number, name in enumerate(group_by):
            key = resolve(_field_for(rule, name, reference)).single
            columns.append(f"{key} AS _g{number}")
            present.append(f"{key} IS NOT NULL")
        value = resolve(_field_for(rule, value_field, reference)).single if value_field else "CAST(NULL AS VARCHAR)"
        columns.append(f"{value} AS _value")
        columns.append(f"{index} AS _rule")
        filters = " AND ".join([f"({sql})", *present])
        branches.append(f"SELECT {', '.join(columns)} FROM _window WHERE {filters}")
    return CorrelationPlan(
        type=rule.type.name.lower(),
        base_rules=tuple(base_id for _, base_id, _ in bases),
        group_by=group_by,
        timespan_seconds=rule.timespan.seconds,
        condition=test,
        value_field=value_field,
        branches=tuple(branches),
    )
