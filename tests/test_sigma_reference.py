"""The Sigma engine against an independent reference (pySigma's SQLite backend, see sigma_reference.py)
on SigmaHQ's 57 AWS rules (and the built-in pack's event rules), over the shared corpus plus synthetic
positives and near misses per rule.

Excluded from the comparison, and only those: (rule, event) pairs where a field of the rule runs through
an array with several elements in that event - a flat SQLite column cannot hold several values, so
the reference cannot express Sigma's any-element match there (the engine's array semantics are
pinned in test_sigma_semantics.py instead).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from awsrespond.sigma import HuntRule, load_rules, match_rules
from awsrespond.trail.events import EventStore
from awsrespond.trail.files import TrailFile
from tests.conftest import CORPUS
from tests.sigma_reference import Reference, synthesise, table_events

EXPECTED_RULES = 57


def corpus_records(corpus: Path) -> list[dict[str, Any]]:
    """Every CloudTrail record of the Panther and Stratus corpora, each kept on its own: shared
    placeholder eventIDs are made unique so that no record is merged into another."""
    records: list[dict[str, Any]] = []
    files = sorted((corpus / "panther").glob("*.json")) + sorted((corpus / "stratus").glob("*.json"))
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        items = data["Records"] if isinstance(data, dict) else data
        for item in items:
            record = {k: v for k, v in item.items() if k not in ("_panther", "_label")}
            if record.get("eventID") is not None:
                record["eventID"] = f"{record['eventID']}#{len(records)}"
            records.append(record)
    return records


def single_rule_texts(rules: list[HuntRule]) -> dict[str, str]:
    """Each event rule as a one-document YAML text (rule files may hold several documents)."""
    texts: dict[str, str] = {}
    for path in sorted({rule.path for rule in rules}):
        documents = [doc for doc in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")) if doc]
        for number, doc in enumerate(documents):
            if "detection" in doc:
                keys = [doc.get("id"), doc.get("name"), Path(path).stem if number == 0 else None]
                for key in (str(k) for k in keys if k):
                    texts.setdefault(key, yaml.safe_dump(doc, sort_keys=False))
    return {rule.id: texts[rule.id] for rule in rules if rule.kind == "event" and rule.id in texts}


@pytest.fixture(scope="module")
def comparison() -> dict[str, Any]:
    # Module-scoped (built once for the tests below), so it reads the corpus path itself.
    corpus = CORPUS
    if not corpus.is_dir():
        pytest.skip(f"shared corpus not found at {corpus}")
    sigmahq = load_rules([corpus / "sigma-aws"], include_builtin=False)
    builtin = load_rules([], include_builtin=True)
    texts = single_rule_texts(sigmahq.rules) | single_rule_texts(builtin.rules)
    synthetic: list[dict[str, Any]] = []
    for rule_id, text in texts.items():
        parsed = SigmaCollection.from_yaml(text).rules[0]
        assert isinstance(parsed, SigmaRule)
        for record in synthesise(parsed, zlib.crc32(rule_id.encode())):
            record["eventID"] = f"synthetic-{len(synthetic)}"
            synthetic.append(record)
    store = EventStore()
    store.load(
        [TrailFile(path="corpus", records=corpus_records(corpus)), TrailFile(path="synthetic", records=synthetic)]
    )
    builtin_events = [rule for rule in builtin.rules if rule.id in texts]
    engine = match_rules(store.db, [*sigmahq.rules, *builtin_events])
    reference = Reference(table_events(store.db))
    return {
        "ruleset": sigmahq,
        "builtin": builtin_events,
        "texts": texts,
        "engine": engine,
        "reference": reference,
        "events": store.count(),
    }


def compare(comparison: dict[str, Any], rules: list[HuntRule]) -> tuple[list[str], str]:
    """Rules whose matches differ from the reference, and a per-rule report of the counts."""
    reference: Reference = comparison["reference"]
    lines: list[str] = []
    wrong: list[str] = []
    excluded_total = 0
    for rule in rules:
        text = comparison["texts"][rule.id]
        fields = reference.fields(text)
        expected = reference.matches(text)
        got = set(comparison["engine"][rule.id])
        excluded = {rowid for rowid in expected | got if not reference.comparable(rowid, fields)}
        excluded_total += len(excluded)
        if expected - excluded != got - excluded:
            wrong.append(
                f"{rule.title}: engine-only rows {sorted(got - expected - excluded)[:10]}, "
                f"reference-only rows {sorted(expected - got - excluded)[:10]}"
            )
        lines.append(f"{len(got):5d} engine {len(expected):5d} reference {len(excluded):3d} excluded  {rule.title}")
    report = "\n".join(lines)
    return (
        wrong,
        f"{comparison['events']} events; per rule:\n{report}\nexcluded (multi-element arrays): {excluded_total}",
    )


def test_all_57_sigmahq_rules_load_and_compile(corpus: Path) -> None:
    ruleset = load_rules([corpus / "sigma-aws"], include_builtin=False)
    assert [str(p) for p in ruleset.problems] == []
    assert len(ruleset.rules) == EXPECTED_RULES
    assert all(rule.kind == "event" and rule.sql for rule in ruleset.rules)


def test_engine_matches_the_sqlite_reference_rule_by_rule(comparison: dict[str, Any]) -> None:
    wrong, report = compare(comparison, comparison["ruleset"].rules)
    print("\n" + report)
    assert wrong == [], "\n".join(wrong)


def test_builtin_pack_event_rules_match_the_reference_too(comparison: dict[str, Any]) -> None:
    # The project's own pack (correlations aside: their windows are the engine's own semantics,
    # pinned in test_sigma_semantics.py). Not asserted non-vacuous: the synthesiser cannot solve
    # every regex the pack uses.
    assert len(comparison["builtin"]) > 40
    wrong, report = compare(comparison, comparison["builtin"])
    print("\n" + report)
    assert wrong == [], "\n".join(wrong)


def test_every_rule_matches_something_in_corpus_plus_synthetic(comparison: dict[str, Any]) -> None:
    silent = [rule.title for rule in comparison["ruleset"].rules if not comparison["engine"][rule.id]]
    assert silent == [], f"rules that matched no event: {silent}"
