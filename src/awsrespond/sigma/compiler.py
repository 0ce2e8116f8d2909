"""A Sigma rule's detection to one DuckDB boolean expression over the ``events`` table.

Why a walker over pySigma's parsed condition tree and not a ``TextQueryBackend`` subclass: pySigma
already does the Sigma part - YAML, modifiers (``contains``, ``base64offset``, ``all``, ``cidr``...),
``1 of``/``all of`` selectors - and hands over a small tree of AND/OR/NOT and field-value leaves with
typed values. What is left is exactly what the text backends get wrong on CloudTrail (DESIGN.md
section 4): each field needs its own access SQL (struct field, JSON path, ``extra``, arrays), every
comparison must ignore case, and negation must be two-valued. A ``TextQueryBackend`` is built around
string templates keyed on field *names*; overriding its field quoting, every ``convert_condition_*``
method and its precedence handling amounts to this walker plus the template machinery, so the walker
is shorter and easier to check.

Semantics (the tests in ``tests/test_sigma_semantics.py`` pin each one):

* strings compare case-insensitively (``ILIKE``, or ``lower(x) IN (...)`` for long value lists);
  ``*``/``?`` are wildcards, and SQL's ``%``, ``_`` and ``\\`` in rule text are escaped so they match
  literally; ``|cased`` compares case-sensitively;
* fields are read as :mod:`awsrespond.sigma.fields` says (JSON paths, ``extra``, any-element arrays);
* ``re`` is an unanchored RE2 search, case-sensitive unless ``|i`` or ``(?i)``; Python-only syntax
  (look-around, back references) is reported as a compile problem;
* ``cidr``: see :mod:`awsrespond.sigma.cidr`; ``gt``/``gte``/``lt``/``lte`` and plain numbers compare
  numerically (a value that is not a number does not match); booleans compare as ``true``/``false``;
* ``fieldref`` compares two fields case-insensitively (``startswith``/``endswith``/``contains``
  combine with it); ``exists`` and ``field: null`` test presence (JSON ``null`` is missing);
* a missing field makes every comparison false, and ``not`` is two-valued: ``not filter`` keeps an
  event whose filter field is missing;
* keywords (values without a field) are a case-insensitive *contains* search over the text of every
  column of the event (scalars, ``userIdentity`` and the JSON columns joined by newlines).

Evaluation cost matters (millions of events): DuckDB short-circuits ``AND``/``OR`` only when it
*selects* rows (WHERE, CASE WHEN), and its optimizer reorders plain conjunctions by its own guess. So a
conjunction is emitted as nested ``CASE WHEN`` levels in the order of least expected cost (a selective
column test first, JSON paths and regexes after, negated filters last), and negation as ``CASE WHEN x
THEN false ELSE true END``. :func:`value_bound` gives the event names a rule can match, which the
matcher uses to route each event to the few rules that want it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
    TimestampPart,
)

from awsrespond.sigma.cidr import cidr_predicate
from awsrespond.sigma.fields import FieldSQL, Predicate, quote_identifier, quote_literal, resolve
from awsrespond.trail.events import BLOBS, EXTRA, SCALARS

# Python's own regex parser (private, so untyped): used only to find a literal a regex requires.
_regex_parser: Any = importlib.import_module("re._parser")
_LITERAL: Any = importlib.import_module("re._constants").LITERAL


class CompileError(Exception):
    """A rule uses something this engine cannot express; the rule is reported and skipped."""


@dataclass(frozen=True)
class Expr:
    sql: str
    cost: float
    """Rough cost of evaluating it on an event it does not match."""
    selective: bool = True
    """Likely false on a random event (a positive test), as opposed to likely true (a negation)."""


CHEAP = 2
"""Tests up to this cost are plain SQL AND/OR; dearer ones are guarded by CASE WHEN so they run only
on the rows that still need them."""
_COMPARE = {
    SigmaCompareExpression.CompareOperators.LT: "<",
    SigmaCompareExpression.CompareOperators.LTE: "<=",
    SigmaCompareExpression.CompareOperators.GT: ">",
    SigmaCompareExpression.CompareOperators.GTE: ">=",
    SigmaCompareExpression.CompareOperators.NEQ: "<>",
}
_TIMESTAMP_PARTS = {
    TimestampPart.MINUTE: "minute",
    TimestampPart.HOUR: "hour",
    TimestampPart.DAY: "day",
    TimestampPart.WEEK: "week",
    TimestampPart.MONTH: "month",
    TimestampPart.YEAR: "year",
}
_REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}
FULLTEXT = (
    "concat_ws(chr(10), "
    + ", ".join(
        [
            *(f"CAST({quote_identifier(name)} AS VARCHAR)" for name in SCALARS),
            'CAST(to_json("userIdentity") AS VARCHAR)',
            *(f"CAST({quote_identifier(name)} AS VARCHAR)" for name in (*BLOBS, EXTRA)),
        ]
    )
    + ")"
)


def like_pattern(value: SigmaString) -> str:
    """A LIKE pattern (escape character ``\\``) for a Sigma string, wildcards kept."""
    out: list[str] = []
    for part in value.s:
        if isinstance(part, str):
            out.append(part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
        elif part is SpecialChars.WILDCARD_MULTI:
            out.append("%")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append("_")
        else:
            raise CompileError(f"placeholder {part!r} in {value!s} needs a processing pipeline")
    return "".join(out)


def string_predicate(value: SigmaString) -> tuple[Predicate, int]:
    # ILIKE costs a fraction of lower(x) = lower(y) in DuckDB; without wildcards it is equality.
    pattern = quote_literal(like_pattern(value))
    operator = "LIKE" if isinstance(value, SigmaCasedString) else "ILIKE"
    return (lambda v: f"{v} {operator} {pattern} ESCAPE '\\'"), 1


def regex_text(value: SigmaRegularExpression) -> str:
    flags = "".join(sorted(_REGEX_FLAGS[flag] for flag in value.flags))
    return (f"(?{flags})" if flags else "") + str(value.regexp)


def required_literal(regex: str) -> tuple[str, bool] | None:
    """The longest run of literal characters at the top level of ``regex`` (so in every match), and
    whether the regex ignores case; None when there is no useful one or Python cannot parse it."""
    try:
        parsed = _regex_parser.parse(regex)
    except (re.error, OverflowError, RecursionError):
        return None
    best, run = "", ""
    for opcode, argument in parsed:
        if opcode is _LITERAL:
            run += chr(argument)
            best = max(best, run, key=len)
        else:
            run = ""
    ignore_case = bool(parsed.state.flags & re.IGNORECASE)
    if len(best) < 3 or (ignore_case and not best.isascii()):
        return None
    return best, ignore_case


def value_predicate(value: SigmaType, var: str) -> tuple[Predicate, int]:
    """How one (non-null, non-exists, non-fieldref) Sigma value matches a VARCHAR; and its cost."""
    if isinstance(value, SigmaString):
        return string_predicate(value)
    if isinstance(value, SigmaTimestampPart):
        part = _TIMESTAMP_PARTS[value.timestamp_part]
        part_number = value.number
        return (lambda v: f"date_part('{part}', timezone('UTC', TRY_CAST({v} AS TIMESTAMPTZ))) = {part_number}"), 3
    if isinstance(value, SigmaBool):
        word = "true" if value.boolean else "false"
        return (lambda v: f"{v} ILIKE '{word}'"), 1
    if isinstance(value, SigmaNumber):
        equal = repr(value.number)
        return (lambda v: f"TRY_CAST({v} AS DOUBLE) = {equal}"), 2
    if isinstance(value, SigmaCompareExpression):
        operator, number = _COMPARE[value.op], repr(value.number.number)
        return (lambda v: f"TRY_CAST({v} AS DOUBLE) {operator} {number}"), 2
    if isinstance(value, SigmaRegularExpression):
        if value.contains_placeholder():
            raise CompileError(f"placeholder in regular expression {value.regexp!s} needs a processing pipeline")
        text = regex_text(value)
        regex = quote_literal(text)
        literal = required_literal(text)
        if literal is None:
            return (lambda v: f"regexp_matches({v}, {regex})"), 8
        # RE2 costs ~10x a substring test: test a literal every match must contain first.
        needle, ignore_case = literal
        test = (
            "contains(lower({v}), lower(" + quote_literal(needle) + "))"
            if ignore_case
            else ("contains({v}, " + quote_literal(needle) + ")")
        )
        return (lambda v: f"(CASE WHEN {test.format(v=v)} THEN regexp_matches({v}, {regex}) ELSE false END)"), 8
    if isinstance(value, SigmaCIDRExpression):
        network = value.network
        return (lambda v: cidr_predicate(network, v, f"{var}c")), 8
    if isinstance(value, SigmaExpansion):
        parts = [value_predicate(item, var) for item in value.values]
        return (lambda v: "(" + " OR ".join(predicate(v) for predicate, _ in parts) + ")"), sum(c for _, c in parts)
    raise CompileError(f"value {value!s} of type {type(value).__name__} is not supported")


_PASS = {True: 0.05, False: 0.95}
"""Rough share of events a test lets through: a positive test is selective, a negated one is not."""


def _and_key(part: Expr) -> float:
    # Expected cost is least when tests go in increasing cost / (1 - pass rate).
    return part.cost / (1 - _PASS[part.selective])


def conjunction(parts: list[Expr]) -> Expr:
    """AND, in the order that costs least; each dear test only runs where the tests before it held."""
    parts = sorted(parts, key=_and_key)
    levels: list[list[Expr]] = []
    for part in parts:
        if part.cost <= CHEAP and levels and all(p.cost <= CHEAP for p in levels[-1]):
            levels[-1].append(part)  # cheap tests side by side: plain AND, no branching
        else:
            levels.append([part])
    sqls = [level[0].sql if len(level) == 1 else "(" + " AND ".join(p.sql for p in level) + ")" for level in levels]
    sql = sqls[-1]
    for guard in reversed(sqls[:-1]):
        sql = f"(CASE WHEN {guard} THEN {sql} ELSE false END)"
    cost, reach = 0.0, 1.0
    for level in levels:
        cost += reach * sum(p.cost for p in level)
        for p in level:
            reach *= _PASS[p.selective]
    return Expr(sql, cost, any(p.selective for p in parts))


def disjunction(parts: list[Expr]) -> Expr:
    """OR, cheapest first; a dear alternative only runs where the others failed."""
    parts = sorted(parts, key=lambda e: e.cost)
    cost = sum(p.cost for p in parts)
    selective = all(p.selective for p in parts)
    cheap = [p.sql for p in parts if p.cost <= CHEAP]
    dear = [p.sql for p in parts if p.cost > CHEAP]
    if not dear:
        return Expr(cheap[0] if len(cheap) == 1 else "(" + " OR ".join(cheap) + ")", cost, selective)
    whens = " ".join(f"WHEN {sql} THEN true" for sql in dear)
    if cheap:
        whens = f"WHEN {' OR '.join(cheap)} THEN true {whens}"
    return Expr(f"(CASE {whens} ELSE false END)", cost, selective)


def negation(inner: Expr) -> Expr:
    # CASE WHEN reads NULL (a missing field) as not-true, so NOT stays two-valued.
    return Expr(f"(CASE WHEN {inner.sql} THEN false ELSE true END)", inner.cost, not inner.selective)


def _field_reference(left: FieldSQL, ref: SigmaFieldReference) -> Expr:
    right = resolve(ref.field, depth=left.depth + 1)

    def compare(a: str, b: str) -> str:
        if ref.starts_with and ref.ends_with:
            return f"contains(lower({a}), lower({b}))"
        if ref.starts_with:
            return f"starts_with(lower({a}), lower({b}))"
        if ref.ends_with:
            return f"ends_with(lower({a}), lower({b}))"
        return f"lower({a}) = lower({b})"

    sql = left.any(lambda a: right.any(lambda b: compare(a, b)))
    return Expr(sql, left.cost + right.cost + 2)


class Compiler:
    """Compiles the parsed conditions of one rule."""

    def condition(self, node: object) -> Expr:
        if isinstance(node, ConditionAND):
            return conjunction([self.condition(arg) for arg in node.args])
        if isinstance(node, ConditionOR):
            return self._or(node)
        if isinstance(node, ConditionNOT):
            return negation(self.condition(node.args[0]))
        if isinstance(node, ConditionFieldEqualsValueExpression):
            return self._field(node)
        if isinstance(node, ConditionValueExpression):
            return self._keyword(node)
        raise CompileError(f"condition element {type(node).__name__} is not supported")

    def _or(self, node: ConditionOR) -> Expr:
        """OR, with the alternatives on one field merged into one read of the field."""
        by_field: dict[str, list[SigmaType]] = {}
        others: list[Expr] = []
        for arg in node.args:
            if isinstance(arg, ConditionFieldEqualsValueExpression) and _mergeable(arg.value):
                by_field.setdefault(arg.field, []).append(arg.value)
            else:
                others.append(self.condition(arg))
        return disjunction([*(self._values(name, values) for name, values in by_field.items()), *others])

    def _values(self, name: str, values: list[SigmaType]) -> Expr:
        field = resolve(name)
        plain = [
            v
            for v in values
            if isinstance(v, SigmaString)
            and not isinstance(v, SigmaCasedString)
            and not (v.contains_special() or v.contains_placeholder())
        ]
        predicates: list[Predicate] = []
        cost = 0
        # Several plain values: one hashed IN test (a lower() per row) beats a chain of ILIKEs.
        if len(plain) > 3 or (len(plain) > 1 and field.scalar is None):
            literals = ", ".join(f"lower({quote_literal(v.to_plain())})" for v in plain)
            predicates.append(lambda v: f"lower({v}) IN ({literals})")
            values = [v for v in values if not any(v is p for p in plain)]
            cost += 2
        for value in values:
            predicate, value_cost = value_predicate(value, f"_sv{field.depth}")
            predicates.append(predicate)
            cost += value_cost
        if len(predicates) == 1:
            return Expr(field.any(predicates[0]), field.cost - 1 + cost)
        return Expr(field.any(lambda v: "(" + " OR ".join(p(v) for p in predicates) + ")"), field.cost - 1 + cost)

    def _field(self, node: ConditionFieldEqualsValueExpression) -> Expr:
        value = node.value
        field = resolve(node.field)
        if isinstance(value, SigmaNull):
            return Expr(field.absent(), field.cost, selective=False)
        if isinstance(value, SigmaExists):
            return Expr(field.present() if value.exists else field.absent(), field.cost, selective=value.exists)
        if isinstance(value, SigmaFieldReference):
            return _field_reference(field, value)
        return self._values(node.field, [value])

    def _keyword(self, node: ConditionValueExpression) -> Expr:
        value = node.value
        if isinstance(value, SigmaString):
            if not value.startswith(SpecialChars.WILDCARD_MULTI):
                value = SpecialChars.WILDCARD_MULTI + value
            if not value.endswith(SpecialChars.WILDCARD_MULTI):
                value = value + SpecialChars.WILDCARD_MULTI
        elif isinstance(value, SigmaNumber) and not isinstance(value, SigmaTimestampPart):
            value = SigmaString(f"*{value.number}*")
        elif not isinstance(value, SigmaRegularExpression | SigmaExpansion):
            raise CompileError(f"keyword {value!s} of type {type(value).__name__} is not supported")
        predicate, cost = value_predicate(value, "_sv0")
        return Expr(f"({predicate(FULLTEXT)})", cost + 50)


def _mergeable(value: SigmaType) -> bool:
    return not isinstance(value, SigmaNull | SigmaExists | SigmaFieldReference)


def compile_detection(conditions: Sequence[object]) -> str:
    """The rule's SQL boolean: its conditions (usually one) OR-ed."""
    if not conditions:
        raise CompileError("the rule has no condition")
    compiler = Compiler()
    parts = [compiler.condition(condition) for condition in conditions]
    return parts[0].sql if len(parts) == 1 else disjunction(parts).sql


def value_bound(conditions: Sequence[object], field: str) -> frozenset[str] | None:
    """Lower-cased values ``field`` must take for the rule to match, or None when the rule does not
    pin it (a wildcard, a regex, a negation, a branch without it...). Used to skip, with one hashed
    test per event, every rule that cannot match it."""
    bounds = [_bound(condition, field.lower()) for condition in conditions]
    if not bounds or any(bound is None for bound in bounds):
        return None
    return frozenset().union(*(bound for bound in bounds if bound is not None))


def _bound(node: object, field: str) -> frozenset[str] | None:
    if isinstance(node, ConditionFieldEqualsValueExpression):
        value = node.value
        if node.field.lower() != field or not isinstance(value, SigmaString):
            return None
        if value.contains_special() or value.contains_placeholder() or not value.to_plain().isascii():
            return None
        return frozenset({value.to_plain().lower()})
    if isinstance(node, ConditionAND):
        known = [bound for bound in (_bound(arg, field) for arg in node.args) if bound is not None]
        return frozenset.intersection(*known) if known else None
    if isinstance(node, ConditionOR):
        options = [_bound(arg, field) for arg in node.args]
        if any(option is None for option in options):
            return None
        return frozenset().union(*(option for option in options if option is not None))
    return None
