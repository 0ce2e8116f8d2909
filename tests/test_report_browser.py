"""The HTML report in headless Chromium: planted payloads stay text, nothing runs, nothing loads.

Payloads go into the account (EC2 Name tags, a security group's tags, the attacker user's tags,
the Lambda description) and into the trail's CloudTrail objects (the attacker's userAgent and a
requestParameters value), before triage and hunt read them.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from playwright.sync_api import ConsoleMessage, Page, Request, sync_playwright

from awsrespond.emulator import EmulatorServer, SeededScenario, generate_scenario
from awsrespond.i18n import Lang, Messages
from awsrespond.report.casedata import load_case
from awsrespond.report.html import render_html
from tests.report_case import HOSTILE_PAYLOADS, BuiltCase, build_case

RNG = random.Random(6062)
PAYLOADS = HOSTILE_PAYLOADS
# XML services (EC2, IAM) cannot carry an ESC character in a response: the ANSI payload goes to JSON ones.
XML_SAFE = [p for p in PAYLOADS if "\x1b" not in p]
AGENT = 'aws-cli/2.0 <script>window.__pwned=3</script> "><img src=x onerror="window.__pwned=4"> \x1b[31m'
KEY_NAME = '"><svg onload="window.__pwned=5">![k](http://198.51.100.9/k.png)'
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def _artefacts(seeded: SeededScenario, kind: str) -> list[Any]:
    return [a for a in seeded.attacker_artefacts if a.type == kind]


def _rewrite_trail(server: EmulatorServer, seeded: SeededScenario) -> int:
    """The attacker's records get AGENT as userAgent; one CreateKeyPair's keyName becomes KEY_NAME."""
    s3 = server.factory().client("s3", seeded.trail_region)
    changed = 0
    renamed = False
    for key in seeded.cloudtrail_keys:
        body = json.loads(gzip.decompress(s3.get_object(Bucket=seeded.trail_bucket, Key=key)["Body"].read()))
        for record in body.get("Records", []):
            if record.get("sourceIPAddress") in seeded.attacker_ips:
                record["userAgent"] = AGENT
                changed += 1
                params = record.get("requestParameters") or {}
                if record.get("eventName") == "CreateKeyPair" and "keyName" in params and not renamed:
                    params["keyName"] = KEY_NAME
                    renamed = True
        s3.put_object(Bucket=seeded.trail_bucket, Key=key, Body=gzip.compress(json.dumps(body).encode()))
    assert changed and renamed, "the scenario has no attacker record to plant into"
    return changed


def plant(server: EmulatorServer, seeded: SeededScenario) -> None:
    for number, instance in enumerate(_artefacts(seeded, "AWS::EC2::Instance")):
        server.factory().client("ec2", instance.region).create_tags(
            Resources=[instance.id], Tags=[{"Key": "Name", "Value": XML_SAFE[number % len(XML_SAFE)]}])
    for group in _artefacts(seeded, "AWS::EC2::SecurityGroup"):
        server.factory().client("ec2", group.region).create_tags(
            Resources=[group.id], Tags=[{"Key": "Description", "Value": PAYLOADS[1]}])
    iam = server.factory().client("iam")
    try:
        iam.tag_user(UserName=seeded.attacker_user,
                     Tags=[{"Key": f"p{n}", "Value": p} for n, p in enumerate(XML_SAFE)])
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in ("ValidationError", "InvalidInput"), exc
    for function in _artefacts(seeded, "AWS::Lambda::Function"):
        server.factory().client("lambda", function.region).update_function_configuration(
            FunctionName=function.id, Description=" ".join(PAYLOADS))
    _rewrite_trail(server, seeded)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltCase]:
    with EmulatorServer() as server:
        yield build_case(server, generate_scenario(RNG.randrange(10**6)),
                         tmp_path_factory.mktemp("report-browser") / "c", plant=plant)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Watched:
    def __init__(self, page: Page, url: str) -> None:
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.console: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: self._request(r, url))
        page.on("console", self._console)

    def _request(self, request: Request, url: str) -> None:
        if request.url != url:
            self.requests.append(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.console.append(message.text)


def _open(browser: Any, path: Path) -> tuple[Page, Watched]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    url = path.resolve().as_uri()
    watched = Watched(page, url)
    page.goto(url)
    page.wait_for_load_state("load")
    return page, watched


def _write(built: BuiltCase, tmp_path: Path, lang: Lang) -> Path:
    path = tmp_path / f"report-{lang.value}.html"
    path.write_text(render_html(load_case(built.root), lang), encoding="utf-8")
    return path


def test_payloads_reach_the_report_as_text_and_never_run(built: BuiltCase, browser: Any, tmp_path: Path) -> None:
    data = load_case(built.root)
    assert any("window.__pwned=3" in agent for agent in data.attacker.user_agents), "the userAgent did not arrive"
    page, watched = _open(browser, _write(built, tmp_path, Lang.EN))
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.images.length") == 0
    assert page.evaluate("document.querySelectorAll('[onerror],[onload],iframe,object,embed').length") == 0
    assert watched.dialogs == []
    assert watched.requests == [], watched.requests
    assert [m for m in watched.console if "Content Security Policy" in m or "Refused" in m] == []
    text = page.inner_text("body")
    agent_text = " ".join(AGENT.replace("\x1b[31m", "").split())
    assert agent_text in text
    assert KEY_NAME in text, "the planted requestParameters value is not in the report"
    instance_payloads = XML_SAFE[: len(_artefacts(built.seeded, "AWS::EC2::Instance"))]
    hidden_too = page.text_content("body") or ""  # finding details sit in closed <details>
    for payload in instance_payloads:
        assert payload in hidden_too or json.dumps(payload)[1:-1] in hidden_too, payload  # details are JSON
    assert "red" in text and "\x1b" not in page.content()
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    assert links and all(re.match(r"^https://([a-z0-9-]+\.)?console\.aws\.amazon\.com/", link) for link in links)


def test_screenshot_timeline_and_cost(built: BuiltCase, browser: Any, tmp_path: Path) -> None:
    data = load_case(built.root)
    page, watched = _open(browser, _write(built, tmp_path, Lang.EN))
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    box = page.locator("svg.timeline-chart").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 40
    assert page.locator("svg.timeline-chart").is_visible()
    lanes = [s for s in data.sessions if s.timeline]
    assert lanes
    for index in range(len(lanes)):
        assert page.locator(f'svg.timeline-chart rect.ev-mark[data-session="{index}"]').count() >= 1
    marks = page.locator("svg.timeline-chart rect.ev-mark")
    assert sum(int(t.split()[0]) for t in marks.evaluate_all("els => els.map(e => e.textContent)")) == sum(
        len(s.timeline) for s in lanes)
    if data.cost_curve is not None and data.cost_curve.days:
        bars = page.locator("svg.cost-chart rect.cost-bar")
        assert bars.count() == len(data.cost_curve.days)
        assert page.locator("svg.cost-chart").bounding_box()
        assert page.locator("svg.cost-chart rect.cost-bar.spike").count() == len(
            [d for d in data.cost_curve.days if d.spike])
    assert watched.requests == []


def test_korean_headings_visible(built: BuiltCase, browser: Any, tmp_path: Path) -> None:
    page, watched = _open(browser, _write(built, tmp_path, Lang.KO))
    messages = Messages(Lang.KO, "report")
    for name in ("summary", "timeline", "regions", "findings", "actions", "open", "evidence"):
        heading = page.locator(f"section#{name} h2")
        assert heading.is_visible() and heading.inner_text() == messages.t(f"section.{name}")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert watched.requests == [] and watched.dialogs == []
