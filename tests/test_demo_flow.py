"""``awsrespond demo`` is the guided ``respond`` flow on the embedded emulator, in Korean and in English, and ends
with the HTML report's path. Both demos run at once (separate processes, separate emulators)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from awsrespond.i18n import Lang, catalog
from awsrespond.schemas import shipped

SRC = Path(__file__).resolve().parents[1] / "src"


@dataclass
class Demo:
    code: int
    stdout: str
    stderr: str
    cwd: Path


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Demo]]:
    # A hostile environment must not redirect the demo anywhere: it only talks to its own emulator.
    env = {**os.environ, "AWS_PROFILE": "does-not-exist", "AWS_ENDPOINT_URL": "http://198.51.100.1:9",
           "PYTHONPATH": str(SRC), "COLUMNS": "160"}
    started: dict[str, tuple[subprocess.Popen[str], Path]] = {}
    for lang in ("ko", "en"):
        cwd = tmp_path_factory.mktemp(f"demo-{lang}")
        started[lang] = (subprocess.Popen([sys.executable, "-m", "awsrespond", "demo", "--lang", lang, "--quiet"],
                                          cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True), cwd)
    done: dict[str, Demo] = {}
    for lang, (process, cwd) in started.items():
        stdout, stderr = process.communicate(timeout=240)
        done[lang] = Demo(process.returncode, stdout, stderr, cwd)
    yield done


def _case(demo: Demo) -> Path:
    cases = [p.parent for p in (demo.cwd / "cases").glob("*/case.json")]
    assert len(cases) == 1
    return cases[0]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_demo_runs_the_guided_flow_and_ends_with_the_report(demos: dict[str, Demo], lang: str) -> None:
    demo = demos[lang]
    assert demo.code == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    messages = catalog(Lang(lang), "respond")
    case = _case(demo)
    html = case / "reports" / f"report.{lang}.html"
    last = demo.stdout.strip().splitlines()[-1]
    assert last == messages["flow.report_path"].format(path=html.relative_to(demo.cwd))
    text = html.read_text(encoding="utf-8")
    assert '<section id="timeline">' in text and 'class="lane"' in text
    state = json.loads((case / "respond" / "state.json").read_text())
    assert {record["status"] for record in state["steps"].values()} == {"done"}
    for key in ("flow.title", "hunt.title", "manual.title", "flow.summary_title"):
        assert messages[key] in demo.stdout
    assert messages["demo.finished"].format(path=case.relative_to(demo.cwd)) in demo.stdout
    assert (case / "reports" / "aws-report.txt").is_file()
    assert "Traceback" not in demo.stderr


def test_demo_contains_recovers_and_keeps_its_extra_checks(demos: dict[str, Demo]) -> None:
    demo = demos["en"]
    case = _case(demo)
    document = json.loads((case / "findings.json").read_text())
    assert any(f["severity"] == "critical" for f in document["findings"])
    # The recovery checklist: containment done, the deleted volume restored, the fixable harden checks passing
    # after the fix; root and the report to AWS left to a person.
    checklist = json.loads((case / "recovery" / "checklist.json").read_text())
    jsonschema.validate(checklist, shipped("recover-checklist"))
    status = {item["id"]: item["status"] for item in checklist["items"]}
    assert status["contain.applied"] == "done" and status["restore"] == "done"
    assert status["passwords.rotated"] == "done" and status["budgets.alerting-budget"] == "done"
    assert status["root.password"] == "manual" and status["aws.report"] == "manual"
    assert status["harden.cloudtrail.multi-region-logging"] == "done"
    assert status["harden.guardduty.enabled-all-regions"] == "done"
    assert status["account.security-contact"] == "done"  # the demo gives the company's contacts
    assert not [item for item, value in status.items() if value in ("todo", "unknown")], status
    # The demo's own checks: the attacker's public addresses (seen while they ran), the cost, what is left.
    ips = json.loads((case / "recovery" / "public_ips.json").read_text())
    jsonschema.validate(ips, shipped("recover-ips"))
    assert ips["totals"]["attacker"] >= 1 and "Public IPv4 in use" in demo.stdout
    jsonschema.validate(json.loads((case / "recovery" / "attack_cost.json").read_text()), shipped("recover-cost"))
    assert "have cost about $" in demo.stdout
    assert "What triage still reports of the attacker at medium or above: none" in demo.stdout
    # The Korean demo says the same in Korean.
    ko = catalog(Lang.KO, "respond")
    assert ko["demo.left"].format(left=ko["word.none"]) in demos["ko"].stdout
