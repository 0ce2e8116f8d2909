"""The CLI speaks Korean or English: ``--lang``, else the locale; JSON stays the same machine format."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from awsrespond.cli import main
from awsrespond.emulator import EmulatorServer, SeededScenario, generate_scenario, seed
from awsrespond.i18n import Lang, catalog
from awsrespond.timeutil import iso

HANGUL = re.compile("[\uac00-\ud7a3]")
EN = catalog(Lang.EN, "cli")
KO = catalog(Lang.KO, "cli")


@dataclass
class Account:
    server: EmulatorServer
    seeded: SeededScenario
    region: str
    case: Path  # a case with findings (a triage ran into it), for contain plan


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Account]:
    rng = random.Random(6006)
    with EmulatorServer() as server:
        seeded = seed(server, generate_scenario(rng.randrange(10_000)))
        case = tmp_path_factory.mktemp("i18n") / "triaged"
        region = seeded.attacker_regions[0]
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWSRESPOND_LANG", "en")
            code = main(["triage", "--endpoint-url", server.endpoint_url, "--region", region, "--since",
                         iso(seeded.incident_start) or "", "--case", str(case), "--quiet", "--format", "json"])
        assert code in (0, 1)
        yield Account(server, seeded, region, case)


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str]) -> Run:
    monkeypatch.setenv("COLUMNS", "250")
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def commands(account: Account, tmp_path: Path) -> dict[str, list[str]]:
    endpoint = ["--endpoint-url", account.server.endpoint_url]
    since = iso(account.seeded.incident_start) or ""
    return {
        "triage": ["triage", *endpoint, "--region", account.region, "--since", since, "--case", str(tmp_path / "t")],
        "hunt": ["hunt", "lookup", *endpoint, "--region", account.region, "--since", since,
                 "--case", str(tmp_path / "h")],
        "contain plan": ["contain", "plan", *endpoint, "--case", str(account.case),
                         "-o", str(tmp_path / "plan.json")],
        "recover checklist": ["recover", "checklist", *endpoint, "--region", account.region,
                              "--case", str(tmp_path / "r")],
        "recover mfa": ["recover", "mfa", *endpoint, "--case", str(tmp_path / "m")],
        "harden": ["harden", *endpoint, "--region", account.region],
    }


# Catalog texts each command prints whatever the account holds (the rest depends on the findings).
EXPECTED = {
    "triage": ["triage.head", "coverage.swept", "ui.target.account"],
    "hunt": ["hunt.head", "common.case"],
    "contain plan": ["plan.head"],
    "recover checklist": ["checklist.title", "checklist.column.next"],
    "recover mfa": ["ui.target.account"],
    "harden": ["harden.title", "harden.column.check"],
}


# The slow commands run in Korean only (their English texts are the same catalog mechanism; the test
# file must stay under 90 s).
ENGLISH_TOO = {"triage", "contain plan", "recover mfa"}


def _literal(text: str) -> str:
    """The words of a catalog text before its first placeholder (what a run prints verbatim)."""
    return text.split("{", 1)[0].strip()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_korean_with_lang_and_english_by_default(account: Account, tmp_path: Path, name: str,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    args = commands(account, tmp_path)[name]
    korean = run(capsys, monkeypatch, [*args, "--lang", "ko"])
    assert korean.code in (0, 1), korean.err
    ko_text = korean.out + korean.err
    for key in EXPECTED[name]:
        assert _literal(KO[key]) in ko_text, (key, ko_text[-2000:])
        assert _literal(EN[key]) not in ko_text, key
    if name not in ENGLISH_TOO:
        return
    english = run(capsys, monkeypatch, [*args, "--lang", "en"])
    assert korean.code == english.code, (korean.err, english.err)
    en_text = english.out + english.err
    for key in EXPECTED[name]:
        assert _literal(EN[key]) in en_text, key
        assert _literal(KO[key]) not in en_text, key
    if name == "recover mfa":  # the library's root guidance is English and starts with the same words
        assert _literal(KO["mfa.root"]) in ko_text and _literal(KO["mfa.root"]) not in en_text
    assert not HANGUL.search(en_text)


def test_locale_picks_korean_without_lang(account: Account, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWSRESPOND_LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    korean = run(capsys, monkeypatch, commands(account, tmp_path)["recover mfa"])
    assert _literal(KO["mfa.root"]) in korean.out and _literal(KO["ui.target.account"]) in korean.err
    monkeypatch.setenv("LANG", "C.UTF-8")
    english = run(capsys, monkeypatch, commands(account, tmp_path)["recover mfa"])
    assert _literal(EN["mfa.root"]) in english.out and not HANGUL.search(english.out + english.err)
    # --lang wins over the locale
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    forced = run(capsys, monkeypatch, [*commands(account, tmp_path)["recover mfa"], "--lang", "en"])
    assert not HANGUL.search(forced.out + forced.err)


@pytest.mark.parametrize("name", ["triage", "recover mfa"])
def test_unknown_language_exits_2(account: Account, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    result = run(capsys, monkeypatch, [*commands(account, tmp_path)[name], "--lang", "xx"])
    assert result.code == 2
    assert "--lang" in result.err


def _stable(document: Any, volatile: set[str]) -> Any:
    if isinstance(document, dict):
        return {k: _stable(v, volatile) for k, v in document.items() if k not in volatile}
    if isinstance(document, list):
        return [_stable(v, volatile) for v in document]
    return document


def test_json_is_the_same_in_both_languages(account: Account, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    args = [*commands(account, tmp_path)["recover mfa"], "--format", "json"]
    korean = run(capsys, monkeypatch, [*args, "--lang", "ko"])
    english = run(capsys, monkeypatch, [*args, "--lang", "en"])
    assert korean.code == english.code
    assert not HANGUL.search(korean.out)
    assert HANGUL.search(korean.err)  # the banner on stderr is Korean
    volatile = {"generated", "generated_at", "checked_at", "started", "finished", "case", "case_dir"}
    assert _stable(json.loads(korean.out), volatile) == _stable(json.loads(english.out), volatile)
