"""The HTML and Markdown reports of a case from an emulated compromise: sections, values, secrets, problems."""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from awsrespond.emulator import EmulatorServer, generate_scenario
from awsrespond.i18n import Lang, Messages
from awsrespond.report.casedata import load_case
from awsrespond.report.html import CSP, render_html
from awsrespond.report.markdown import md_escape, render_markdown
from tests.report_case import BuiltCase, build_case

RNG = random.Random(6061)
SECTIONS = ["summary", "timeline", "regions", "findings", "actions", "open", "evidence"]
SECRET_KEY = re.compile(r"secret|password|token", re.IGNORECASE)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltCase]:
    with EmulatorServer() as server:
        yield build_case(server, generate_scenario(RNG.randrange(10**6)), tmp_path_factory.mktemp("report-html") / "c")


@pytest.fixture(scope="module")
def html_en(built: BuiltCase) -> str:
    return render_html(load_case(built.root), Lang.EN)


def _section(html: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', html, re.DOTALL)
    assert match, f"section {name} missing"
    return match.group(1)


@pytest.mark.parametrize("lang", [Lang.EN, Lang.KO])
def test_every_section_in_its_language(built: BuiltCase, lang: Lang) -> None:
    html = render_html(load_case(built.root), lang)
    m = Messages(lang, "report")
    assert f'<html lang="{lang.value}">' in html
    for name in SECTIONS:
        heading = re.search(r"<h2>(.*?)</h2>", _section(html, name))
        assert heading and heading.group(1) == escape(m.t(f"section.{name}"))
    if lang is Lang.KO:
        assert "사고 개요" in html and "공격자 활동 타임라인" in html
        assert "What happened" not in html
    markdown = render_markdown(load_case(built.root), lang)
    for name in SECTIONS:
        assert f"## {m.t(f'section.{name}')}\n" in markdown


def test_self_contained_and_scriptless(html_en: str) -> None:
    head = html_en.split("<head>", 1)[1]
    assert head.lstrip().startswith(f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">')
    assert "<script" not in html_en.lower()
    assert not re.search(r'(src|href)="(?!https://[a-z0-9-]*\.?console\.aws\.amazon\.com/)', html_en)
    assert "@media print" in html_en
    assert html_en.count('rel="noreferrer noopener"') == html_en.count("<a ")


def test_case_values_appear(built: BuiltCase, html_en: str) -> None:
    seeded = built.seeded
    data = load_case(built.root)
    markdown = render_markdown(data, Lang.EN)
    assert seeded.compromised_access_key_id in html_en and seeded.compromised_access_key_id in markdown
    for ip in seeded.attacker_ips:
        if ip in data.attacker.source_ips:
            assert escape(ip) in _section(html_en, "summary")
            assert md_escape(ip) in markdown
    assert data.attacker.source_ips, "the hunt found no attacker IP"
    created = data.created_resources()
    assert created
    findings = _section(html_en, "findings")
    for finding in created:
        assert escape(finding.resource.id) in findings
        assert md_escape(finding.resource.id) in markdown
    # the timeline has a mark per session, the cost curve its bars
    timeline = _section(html_en, "timeline")
    assert timeline.count('class="lane"') == len([s for s in data.sessions if s.timeline]) > 0
    if data.cost_curve is not None:
        assert timeline.count("cost-bar") == len(data.cost_curve.days)
    # actions: containment and recovery both shown with their results
    actions = _section(html_en, "actions")
    assert "awsrespond contain apply" in actions and "awsrespond recover" in actions
    for item in data.evidence[:50]:
        assert item.sha256 in _section(html_en, "evidence")


def test_console_links_are_encoded(html_en: str) -> None:
    links = re.findall(r'<a href="([^"]+)"', html_en)
    assert any("#/events?AccessKeyId=" in link for link in links)
    assert any("InstanceDetails:instanceId=" in link for link in links)
    assert any("/billing/home#/bills" in link for link in links)
    for link in links:
        assert "<" not in link and " " not in link and '"' not in link


def _strings(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                yield key, item
            else:
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_secrets_never_appear(built: BuiltCase, html_en: str) -> None:
    files = [p for p in (built.root / "secrets").rglob("*") if p.is_file()]
    assert files, "containment and recovery wrote no secret: the test would prove nothing"
    secrets = [v for p in files for k, v in _strings(json.loads(p.read_text())) if SECRET_KEY.search(k)]
    assert len(secrets) >= 2
    data = load_case(built.root)
    outputs = [html_en, render_html(data, Lang.KO), render_markdown(data, Lang.EN), render_markdown(data, Lang.KO)]
    for secret in secrets:
        for text in outputs:
            assert secret not in text and escape(secret) not in text and md_escape(secret) not in text
    for p in files:
        assert p.name not in html_en


def test_a_broken_case_file_is_named(built: BuiltCase, tmp_path: Path) -> None:
    copy = tmp_path / "broken"
    shutil.copytree(built.root, copy)
    hunt = copy / "hunt.json"
    hunt.write_bytes(hunt.read_bytes()[: hunt.stat().st_size // 2])
    data = load_case(copy)
    html = render_html(data, Lang.KO)
    problems = _section(html, "open")
    assert "hunt.json" in problems and escape(Messages(Lang.KO, "report").t("open.problems")) in problems
    assert md_escape("hunt.json") in render_markdown(data, Lang.EN).split("## What is still open", 1)[1]


def test_no_sessions_no_cost(built: BuiltCase, tmp_path: Path) -> None:
    """A triage-only case still renders: the timeline says there is no session."""
    copy = tmp_path / "triage-only"
    shutil.copytree(built.root, copy)
    for name in ("hunt.json", "findings.json"):
        (copy / name).unlink()
    shutil.rmtree(copy / "recovery")
    data = load_case(copy)
    assert not data.sessions
    html = render_html(data, Lang.EN)
    assert escape(Messages(Lang.EN, "report").t("timeline.none")) in _section(html, "timeline")
    assert "<svg" not in _section(html, "timeline").split("<h3>")[0]
