"""The ``findings`` catalog: in step with the rule, checklist and harden sources; Korean titles and
recommendations in the HTML and Markdown reports, and a finding's own text wherever the catalog does
not say the same thing in English."""

from __future__ import annotations

import html
import importlib.util
import random
import re
import string
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from awsrespond.detect.catalog import triage_rules
from awsrespond.findings import Classification, Finding, ResourceRef, Severity
from awsrespond.harden.registry import all_checks
from awsrespond.hunt.analytics import ANALYTICS
from awsrespond.hunt.hunt_findings import SESSION_RULES
from awsrespond.i18n import Lang, catalog, placeholders
from awsrespond.recover.checklist import Checklist, ChecklistItem, ItemStatus
from awsrespond.report.casedata import Attacker, CaseData, FindingStatus, ReportFinding
from awsrespond.report.html import render_html
from awsrespond.report.localize import checklist_title, finding_recommendation, finding_title, harden_title
from awsrespond.report.markdown import md_escape, render_markdown
from awsrespond.sigma import load_rules

TOOL = Path(__file__).resolve().parents[1] / "tools" / "findings_catalog.py"
HANGUL = re.compile("[\uac00-\ud7a3]")
RNG = random.Random(0x6F)


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("findings_catalog", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    texts: dict[str, str] = _tool().english_texts()
    return texts


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits + "-") for _ in range(rng.randint(4, 14)))


def _finding(rule: str, title: str, recommendation: str = "", severity: Severity = Severity.HIGH) -> Finding:
    return Finding(id=f"{rule}-{_word(RNG)}", rule=rule, title=title, severity=severity,
                   classification=Classification.ATTACKER_CREATED,
                   resource=ResourceRef(type="AWS::IAM::User", id=_word(RNG), region="global"),
                   first_seen=datetime(2026, 3, 1, tzinfo=UTC), recommendation=recommendation)


def test_the_english_catalog_is_the_sources_text(sources: dict[str, str]) -> None:
    english = catalog(Lang.EN, "findings")
    changed = sorted(k for k in sources if k in english and english[k] != sources[k])
    assert changed == [], "source text changed: run tools/findings_catalog.py and translate the keys into ko"
    assert sorted(set(sources) - set(english)) == [], "missing from en/findings.yaml"
    assert sorted(set(english) - set(sources)) == [], "no longer in the sources"


def test_every_rule_check_and_item_has_its_keys() -> None:
    keys = set(catalog(Lang.KO, "findings"))
    rules = [(m.id, m.recommendation) for m in triage_rules().values()]
    rules += [(r.id, r.recommendation) for r in load_rules([], include_builtin=True).rules]
    rules += [(r.id, r.recommendation) for r in SESSION_RULES]
    rules += [(spec.id, "x") for spec in ANALYTICS.values()]  # every analytic's detections recommend
    assert len(rules) > 100
    assert [r for r, _ in rules if f"rule.{r}.title" not in keys] == []
    assert [r for r, text in rules if text and f"rule.{r}.recommendation" not in keys] == []
    assert [c.id for c in all_checks() if f"harden.{c.id}.title" not in keys] == []
    for item_id in ("contain.applied", "root.password", "passwords.rotated", "mfa.console-users", "restore",
                    "aws.report"):
        assert f"checklist.{item_id}.title" in keys


def test_korean_texts_are_translations_with_the_same_placeholders() -> None:
    english, korean = catalog(Lang.EN, "findings"), catalog(Lang.KO, "findings")
    assert set(english) == set(korean)
    for key, text in english.items():
        assert placeholders(text) == placeholders(korean[key]), key
        assert HANGUL.search(korean[key]), key
        assert korean[key] != text, key


@pytest.mark.parametrize("lang", list(Lang))
def test_every_rule_title_in_the_sources_is_translated(lang: Lang) -> None:
    korean = catalog(Lang.KO, "findings")
    for meta in triage_rules().values():
        finding = _finding(meta.id, meta.title, meta.recommendation)
        expected = (meta.title, meta.recommendation) if lang is Lang.EN else (
            korean[f"rule.{meta.id}.title"], korean[f"rule.{meta.id}.recommendation"])
        assert (finding_title(finding, lang), finding_recommendation(finding, lang)) == expected
    for rule in load_rules([], include_builtin=True).rules:
        finding = _finding(rule.id, rule.title, rule.recommendation)
        assert finding_title(finding, lang) == (rule.title if lang is Lang.EN else korean[f"rule.{rule.id}.title"])


def test_run_time_recommendations_keep_their_values_in_korean() -> None:
    english = catalog(Lang.EN, "findings")
    templates = {k: v for k, v in english.items() if k.startswith("rule.") and placeholders(v)}
    assert len(templates) >= 8
    for key, template in templates.items():
        rule = key.removeprefix("rule.").split(".recommendation")[0]
        values = {name: f"{_word(RNG)}:{RNG.randint(0, 10**6)}" for name in placeholders(template)}
        own = template.format(**values)
        korean = finding_recommendation(_finding(rule, "t", own), Lang.KO)
        assert HANGUL.search(korean), key
        assert all(value in korean for value in values.values()), key
        assert finding_recommendation(_finding(rule, "t", own), Lang.EN) == own


def test_a_text_the_catalog_does_not_say_stays_as_it_is() -> None:
    rule = RNG.choice(sorted(triage_rules()))
    meta = triage_rules()[rule]
    for title in (f"{meta.title} in {_word(RNG)}", meta.title.upper(), f"{_word(RNG)} {_word(RNG)}"):
        finding = _finding(rule, title, f"{meta.recommendation} {_word(RNG)}")
        assert finding_title(finding, Lang.KO) == title
        assert finding_recommendation(finding, Lang.KO) == finding.recommendation
    # An analytic template must match the whole text, not a prefix of it.
    changed = _finding("aws-add-user-to-admin-group", "t", f"Remove a from b unless {_word(RNG)}.")
    assert finding_recommendation(changed, Lang.KO) == changed.recommendation
    unknown = _finding(f"custom-{_word(RNG)}", f"Custom rule {_word(RNG)}", "Do the thing.")
    assert (finding_title(unknown, Lang.KO), finding_recommendation(unknown, Lang.KO)) == (unknown.title,
                                                                                          "Do the thing.")


def test_checklist_and_harden_titles() -> None:
    korean = catalog(Lang.KO, "findings")
    check = RNG.choice(all_checks())
    for item_id in (check.id, f"harden.{check.id}"):
        item = ChecklistItem(id=item_id, title=check.title, status=ItemStatus.TODO, detail=_word(RNG))
        assert checklist_title(item, Lang.KO) == korean[f"harden.{check.id}.title"]
        assert checklist_title(item, Lang.EN) == check.title
    assert harden_title(check.id, check.title + "!", Lang.KO) == check.title + "!"
    root = ChecklistItem(id="root.password", title="Change the root user's password", status=ItemStatus.MANUAL,
                         detail="d")
    assert checklist_title(root, Lang.KO) == korean["checklist.root.password.title"]


def _case() -> tuple[CaseData, list[Finding]]:
    korean_rule = RNG.choice(sorted(triage_rules()))
    meta = triage_rules()[korean_rule]
    session = RNG.choice(SESSION_RULES)
    findings = [
        _finding(meta.id, meta.title, meta.recommendation, Severity.CRITICAL),
        _finding(session.id, session.title, session.recommendation, Severity.HIGH),
        _finding(meta.id, f"{meta.title} ({_word(RNG)})", f"Run-time advice {_word(RNG)}", Severity.HIGH),
    ]
    check = RNG.choice(all_checks())
    checklist = Checklist(account_id="123456789012", case="c", generated=datetime(2026, 3, 2, tzinfo=UTC), items=[
        ChecklistItem(id=f"harden.{check.id}", title=check.title, status=ItemStatus.TODO, detail=_word(RNG)),
        ChecklistItem(id="restore", title="Restore what the attacker deleted or changed", status=ItemStatus.TODO,
                      detail=_word(RNG)),
    ])
    data = CaseData(root=Path("/nonexistent"), account_id="123456789012", case_id="c", created="", caller_arn="",
                    alias=None, window_since=None, window_until=None, commands=[],
                    findings=[ReportFinding(f, FindingStatus.OPEN, ()) for f in findings], sessions=[],
                    attacker=Attacker(), regions_touched={}, cost_curve=None, attack_cost=None, plans=[], actions=[],
                    checklist=checklist, harden=None, coverage=[], hunt_errors=[], notes=[], evidence=[])
    return data, findings


@pytest.mark.parametrize("render, escape", [(render_html, html.escape), (render_markdown, md_escape)])
def test_korean_report_shows_korean_titles_and_keeps_run_time_texts(render: object, escape: object) -> None:
    assert callable(render) and callable(escape)
    data, (translated, session, own) = _case()
    korean = catalog(Lang.KO, "findings")
    report = render(data, Lang.KO)
    for text in (korean[f"rule.{translated.rule}.title"], korean[f"rule.{translated.rule}.recommendation"],
                 korean[f"rule.{session.rule}.title"], korean["checklist.restore.title"]):
        assert escape(text) in report
    assert escape(translated.title) not in report.replace(escape(own.title), "")
    assert escape(translated.recommendation) not in report
    assert escape(own.title) in report and escape(own.recommendation) in report
    assert escape("Restore what the attacker deleted or changed") not in report
    english = render(data, Lang.EN)
    assert escape(translated.title) in english and escape(korean[f"rule.{translated.rule}.title"]) not in english
