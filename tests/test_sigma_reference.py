"""The Sigma engine against an independent reference (pySigma's SQLite backend, see sigma_reference.py)
on SigmaHQ's 57 AWS rules, over the shared corpus plus synthetic positives and near misses per rule.

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
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from awsrespond.sigma import load_rules, match_rules
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


@pytest.fixture(scope="module")
def comparison() -> dict[str, Any]:
    # Module-scoped (built once for the tests below), so it reads the corpus path itself.
    corpus = CORPUS
    if not corpus.is_dir():
        pytest.skip(f"shared corpus not found at {corpus}")
    ruleset = load_rules([corpus / "sigma-aws"], include_builtin=False)
    texts = {rule.id: Path(rule.path).read_text(encoding="utf-8") for rule in ruleset.rules}
    synthetic: list[dict[str, Any]] = []
    for rule in ruleset.rules:
        parsed = SigmaCollection.from_yaml(texts[rule.id]).rules[0]
        assert isinstance(parsed, SigmaRule)
        for record in synthesise(parsed, zlib.crc32(rule.id.encode())):
            record["eventID"] = f"synthetic-{len(synthetic)}"
            synthetic.append(record)
    store = EventStore()
    store.load(
        [TrailFile(path="corpus", records=corpus_records(corpus)), TrailFile(path="synthetic", records=synthetic)]
    )
    engine = match_rules(store.db, ruleset.rules)
    reference = Reference(table_events(store.db))
    return {"ruleset": ruleset, "texts": texts, "engine": engine, "reference": reference, "events": store.count()}


def test_all_57_sigmahq_rules_load_and_compile(corpus: Path) -> None:
    ruleset = load_rules([corpus / "sigma-aws"], include_builtin=False)
    assert [str(p) for p in ruleset.problems] == []
    assert len(ruleset.rules) == EXPECTED_RULES
    assert all(rule.kind == "event" and rule.sql for rule in ruleset.rules)


def test_engine_matches_the_sqlite_reference_rule_by_rule(comparison: dict[str, Any]) -> None:
    reference: Reference = comparison["reference"]
    lines: list[str] = []
    wrong: list[str] = []
    excluded_total = 0
    for rule in comparison["ruleset"].rules:
        text = comparison["texts"][rule.id]
        fields = reference.fields(text)
        expected = reference.matches(text)
        got = set(comparison["engine"][rule.id])
        every = expected | got
        excluded = {rowid for rowid in every if not reference.comparable(rowid, fields)}
        excluded_total += len(excluded)
        if expected - excluded != got - excluded:
            wrong.append(
                f"{rule.title}: engine-only rows {sorted(got - expected - excluded)[:10]}, "
                f"reference-only rows {sorted(expected - got - excluded)[:10]}"
            )
        lines.append(f"{len(got):5d} engine {len(expected):5d} reference {len(excluded):3d} excluded  {rule.title}")
    report = "\n".join(lines)
    print(f"\n{comparison['events']} events; per rule:\n{report}\nexcluded (multi-element arrays): {excluded_total}")
    assert wrong == [], "\n".join(wrong)


def test_every_rule_matches_something_in_corpus_plus_synthetic(comparison: dict[str, Any]) -> None:
    silent = [rule.title for rule in comparison["ruleset"].rules if not comparison["engine"][rule.id]]
    assert silent == [], f"rules that matched no event: {silent}"
