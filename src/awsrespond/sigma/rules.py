"""Loading Sigma rule packs: every file parsed on its own, every problem reported, every good rule kept.

A rule is checked and compiled when it is loaded; a rule that fails (bad YAML, unknown modifier,
another log source, a regular expression RE2 cannot run, a correlation that names a missing rule...)
becomes a :class:`RuleProblem` and every other rule still runs. Rule ids are unique across packs: the
built-in pack is loaded first, and a later rule with an id already taken is reported and left out.

Correlation rules follow the Sigma 2 specification: ``rules`` name base rules by id or ``name`` in any
loaded file, and a base rule referenced only by correlations without ``generate: true`` produces no
matches of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule
from sigma.rule.base import SigmaRuleBase

from awsrespond.findings import Severity
from awsrespond.sigma.compiler import CompileError, compile_detection, value_bound
from awsrespond.sigma.correlation import CorrelationPlan, plan_correlation
from awsrespond.sigma.fields import quote_literal
from awsrespond.trail.events import COLUMNS

RULE_SUFFIXES = (".yml", ".yaml")
_LEVELS = {
    "informational": Severity.INFO,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}
_TECHNIQUE = re.compile(r"t\d{4}(\.\d{3})?", re.IGNORECASE)


@dataclass(frozen=True)
class RuleProblem:
    path: str
    rule: str | None
    """The rule's id or title, when the problem is in one rule of the file."""
    message: str

    def __str__(self) -> str:
        where = f"{self.path} [{self.rule}]" if self.rule else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class HuntRule:
    id: str
    title: str
    description: str
    level: Severity
    mitre: tuple[str, ...]
    path: str
    kind: str
    """``event`` (one event matches on its own) or ``correlation`` (a burst of base-rule events)."""
    sql: str
    """Event rule: a DuckDB boolean over one row of ``events``. Correlation: the query returning the
    rowids of the events of every qualifying window (over the whole table)."""
    falsepositives: tuple[str, ...] = ()
    custom: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    """Custom top-level attributes of the rule, such as ``recommendation``."""
    name: str | None = None
    tags: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    correlation: CorrelationPlan | None = field(default=None, hash=False, compare=False)
    event_names: frozenset[str] | None = None
    """Event rule: the lower-cased ``eventName`` values it can match, when the rule pins them."""
    event_sources: frozenset[str] | None = None
    """Event rule: the lower-cased ``eventSource`` values it can match, when the rule pins them."""

    @property
    def recommendation(self) -> str:
        value = self.custom.get("recommendation", "")
        return str(value).strip() if value else ""


@dataclass
class RuleSet:
    rules: list[HuntRule] = field(default_factory=list)
    problems: list[RuleProblem] = field(default_factory=list)

    def by_id(self) -> dict[str, HuntRule]:
        return {rule.id: rule for rule in self.rules}


def builtin_rules_dir() -> Path:
    """The rule pack shipped with awsrespond."""
    return Path(__file__).parent.parent / "hunt" / "rules"


def rule_files(paths: Iterable[Path]) -> tuple[list[Path], list[RuleProblem]]:
    files: list[Path] = []
    problems: list[RuleProblem] = []
    for path in paths:
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in RULE_SUFFIXES)
            # Hidden folders (.github workflows of a rule repository...) hold no rules.
            files.extend(
                sorted(p for p in found if not any(part.startswith(".") for part in p.relative_to(path).parts))
            )
        elif path.is_file():
            files.append(path)
        else:
            problems.append(RuleProblem(str(path), None, "no such file or directory"))
    return files, problems


@dataclass
class _Parsed:
    rule: SigmaRuleBase
    id: str
    path: str


def _label(rule: SigmaRuleBase) -> str | None:
    return str(rule.id) if rule.id else (rule.name or rule.title or None)


def _parse_file(path: Path, problems: list[RuleProblem]) -> list[_Parsed]:
    try:
        documents = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(RuleProblem(str(path), None, f"cannot read the rule file: {exc}"))
        return []
    if not all(isinstance(doc, dict) for doc in documents):
        problems.append(RuleProblem(str(path), None, "not a Sigma rule file: every YAML document must be a mapping"))
        return []
    try:
        collection = SigmaCollection.from_dicts(
            documents, collect_errors=True, source=SigmaRuleLocation(path), resolve_references=False
        )
    except SigmaError as exc:
        problems.append(RuleProblem(str(path), None, str(exc)))
        return []
    parsed: list[_Parsed] = []
    reported: set[int] = set()
    for index, rule in enumerate(collection.rules):
        label = _label(rule)
        if rule.errors:
            for error in rule.errors:
                reported.add(id(error))
                problems.append(RuleProblem(str(path), label, str(error)))
            continue
        if not isinstance(rule, SigmaRule | SigmaCorrelationRule):
            problems.append(RuleProblem(str(path), label, f"{type(rule).__name__} documents are not supported"))
            continue
        rule_id = str(rule.id) if rule.id else (rule.name or (path.stem if index == 0 else f"{path.stem}#{index + 1}"))
        parsed.append(_Parsed(rule, rule_id, str(path)))
    for error in collection.errors:
        if id(error) not in reported:
            problems.append(RuleProblem(str(path), None, str(error)))
    return parsed


def _mitre(rule: SigmaRuleBase) -> tuple[str, ...]:
    found: list[str] = []
    for tag in rule.tags:
        if tag.namespace.lower() == "attack" and _TECHNIQUE.fullmatch(tag.name):
            technique = tag.name.upper()
            if technique not in found:
                found.append(technique)
    return tuple(found)


def _is_cloudtrail(rule: SigmaRule) -> bool:
    source = rule.logsource
    return (source.product or "").lower() == "aws" and (source.service or "").lower() == "cloudtrail"


class _Validator:
    """Binds each compiled expression against an empty ``events`` table, so that SQL DuckDB would
    refuse (an RE2-incompatible regular expression, a bad cast) is a load-time problem."""

    def __init__(self) -> None:
        self.db = duckdb.connect(":memory:")
        columns = ", ".join(f'"{name}" {kind}' for name, kind in COLUMNS.items())
        self.db.execute(f"CREATE TABLE events ({columns})")

    def check(self, sql: str) -> None:
        self.db.execute(sql).fetchall()

    def close(self) -> None:
        self.db.close()


def _hunt_rule(
    parsed: _Parsed,
    kind: str,
    sql: str,
    plan: CorrelationPlan | None = None,
    bounds: tuple[frozenset[str] | None, frozenset[str] | None] = (None, None),
) -> HuntRule:
    rule = parsed.rule
    level = _LEVELS.get(rule.level.name.lower(), Severity.MEDIUM) if rule.level else Severity.MEDIUM
    return HuntRule(
        id=parsed.id,
        title=rule.title or parsed.id,
        description=(rule.description or "").strip(),
        level=level,
        mitre=_mitre(rule),
        path=parsed.path,
        kind=kind,
        sql=sql,
        falsepositives=tuple(str(item) for item in rule.falsepositives),
        custom=dict(rule.custom_attributes),
        name=rule.name,
        tags=tuple(str(tag) for tag in rule.tags),
        references=tuple(str(ref) for ref in rule.references),
        correlation=plan,
        event_names=bounds[0],
        event_sources=bounds[1],
    )


def _routed(
    compiled: dict[str, str], bounds: dict[str, tuple[frozenset[str] | None, frozenset[str] | None]], rule_id: str
) -> str:
    """A base rule's SQL behind one hashed test of the event names it can match, when it pins them."""
    names = bounds[rule_id][0]
    if not names:
        return compiled[rule_id]
    listed = ", ".join(f"lower({quote_literal(name)})" for name in sorted(names))
    return f'(CASE WHEN lower("eventName") IN ({listed}) THEN {compiled[rule_id]} ELSE false END)'


def load_rules(paths: Iterable[Path], *, include_builtin: bool = True) -> RuleSet:
    """Load Sigma rules from files and directories (recursively, ``*.yml``/``*.yaml``)."""
    sources = [builtin_rules_dir(), *paths] if include_builtin else list(paths)
    files, problems = rule_files(sources)
    seen_files: set[Path] = set()
    parsed: list[_Parsed] = []
    taken: dict[str, str] = {}
    for path in files:
        resolved = path.resolve()
        if resolved in seen_files:
            continue
        seen_files.add(resolved)
        for item in _parse_file(path, problems):
            if item.id in taken:
                problems.append(
                    RuleProblem(item.path, item.id, f"duplicate rule id, already loaded from {taken[item.id]}: skipped")
                )
                continue
            taken[item.id] = item.path
            parsed.append(item)

    validator = _Validator()
    try:
        return _compile_all(parsed, problems, validator)
    finally:
        validator.close()


def _compile_all(parsed: list[_Parsed], problems: list[RuleProblem], validator: _Validator) -> RuleSet:
    compiled: dict[str, str] = {}
    bounds: dict[str, tuple[frozenset[str] | None, frozenset[str] | None]] = {}
    base_by_ref: dict[str, _Parsed] = {}
    for item in parsed:
        rule = item.rule
        if not isinstance(rule, SigmaRule):
            continue
        if not _is_cloudtrail(rule):
            source = rule.logsource
            problems.append(
                RuleProblem(
                    item.path,
                    item.id,
                    f"log source product={source.product} service={source.service} category={source.category} "
                    "is not product aws / service cloudtrail: skipped",
                )
            )
            continue
        try:
            conditions = [condition.parsed for condition in rule.detection.parsed_condition]
            sql = compile_detection(conditions)
            validator.check(f"SELECT rowid FROM events WHERE {sql} LIMIT 0")
            bounds[item.id] = (value_bound(conditions, "eventName"), value_bound(conditions, "eventSource"))
        except (CompileError, SigmaError, duckdb.Error) as exc:
            problems.append(RuleProblem(item.path, item.id, f"cannot compile: {exc}"))
            continue
        compiled[item.id] = sql
        base_by_ref[item.id] = item
        if rule.name:
            base_by_ref.setdefault(rule.name, item)

    correlation_refs = {
        ref
        for item in parsed
        if isinstance(item.rule, SigmaCorrelationRule)
        for ref in (item.id, item.rule.name)
        if ref
    }
    generated: set[str] = set()
    silenced: set[str] = set()
    correlations: list[HuntRule] = []
    for item in parsed:
        rule = item.rule
        if not isinstance(rule, SigmaCorrelationRule):
            continue
        try:
            references = [ref.reference for ref in rule.rules or []]
            chained = [ref for ref in references if ref in correlation_refs]
            if chained:
                raise CompileError(f"correlations of correlations are not supported: {', '.join(chained)}")
            missing = [ref for ref in references if ref not in base_by_ref]
            if missing:
                raise CompileError(f"refers to rules that are not loaded or did not compile: {', '.join(missing)}")
            bases = [(ref, base_by_ref[ref].id, _routed(compiled, bounds, base_by_ref[ref].id)) for ref in references]
            plan = plan_correlation(rule, bases)
            validator.check(plan.query("events", "TRUE") + " LIMIT 0")
        except (CompileError, SigmaError, duckdb.Error) as exc:
            problems.append(RuleProblem(item.path, item.id, f"cannot compile correlation: {exc}"))
            continue
        for _, base_id, _ in bases:
            (generated if rule.generate else silenced).add(base_id)
        correlations.append(_hunt_rule(item, "correlation", plan.query("events", "TRUE"), plan))

    rules = [
        _hunt_rule(item, "event", compiled[item.id], bounds=bounds[item.id])
        for item in parsed
        if item.id in compiled and (item.id in generated or item.id not in silenced)
    ]
    return RuleSet(rules=[*rules, *correlations], problems=problems)
