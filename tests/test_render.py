"""Attacker-controlled strings reach the terminal as inert text."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from awsrespond.aws.identity import CallerIdentity
from awsrespond.cli.render import triage_summary
from awsrespond.cli.triage_cmd import exit_code
from awsrespond.cli.ui import Ui
from awsrespond.coverage import CoverageGap, GapKind
from awsrespond.findings import Classification, Finding, ResourceRef, Severity
from awsrespond.inventory.base import Inventory
from awsrespond.textsafe import strip_control
from awsrespond.triage import TriageResult

MARKUP = "[/bold][red]pwned[link=http://x]"
ANSI = "\x1b[31mred\x1b]8;;http://evil\x07click\x1b[0m\x9b2J"


def test_strip_control_removes_escapes_and_keeps_text() -> None:
    assert strip_control(ANSI) == "redclick2J"
    assert strip_control("tab\tand\nnewline") == "tab\tand\nnewline"


def test_summary_prints_hostile_values_literally() -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    finding = Finding(
        id="x", rule="ec2-instance-new", title="EC2 instance launched", severity=Severity.HIGH,
        classification=Classification.SUSPECT,
        resource=ResourceRef(type="AWS::EC2::Instance", id=f"i-1{ANSI}", region="sa-east-1"),
        details={"name": MARKUP + ANSI, "reasons": [MARKUP]},
    )
    result = TriageResult(
        identity=CallerIdentity(account_id="123456789012", arn=f"arn:aws:iam::123456789012:user/{MARKUP}",
                                user_id="U", alias=MARKUP),
        findings=[finding], inventory=Inventory(), coverage=[], regions=["sa-east-1"], not_enabled=[],
        since=now, started=now, finished=now, api_calls=1,
    )
    ui = Ui()
    buffer = io.StringIO()
    ui.out = Console(file=buffer, width=300, force_terminal=True, color_system="truecolor")
    ui.err = Console(file=io.StringIO(), width=300, force_terminal=True)
    ui.target(result.identity)
    triage_summary(ui, result, "cases/x")
    printed = buffer.getvalue()
    plain = strip_control(printed)
    assert MARKUP in plain
    assert "Suspect: 1 Instance  in sa-east-1" in plain
    assert "\x07" not in printed and "]8;;http://evil" not in printed and "\x9b" not in printed
    assert "\x1b[31m" + "red" not in printed  # the attacker's colour code never reaches the terminal


def _result(findings: list[Finding], gaps: list[CoverageGap]) -> TriageResult:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    return TriageResult(identity=CallerIdentity(account_id="1", arn="a", user_id="u", alias=None),
                        findings=findings, inventory=Inventory(), coverage=gaps, regions=[], not_enabled=[],
                        since=None, started=now, finished=now, api_calls=0)


def test_exit_codes() -> None:
    posture = Finding(id="p", rule="guardduty-off", title="t", severity=Severity.LOW,
                      classification=Classification.POSTURE,
                      resource=ResourceRef(type="AWS::GuardDuty::Detector", id="x", region="global"))
    suspect = posture.model_copy(update={"classification": Classification.SUSPECT})
    denied = CoverageGap(kind=GapKind.ACCESS_DENIED, scope="ec2.instances (DescribeInstances)", region="eu-west-1",
                         message="UnauthorizedOperation")
    not_enabled = CoverageGap(kind=GapKind.NOT_ENABLED, scope="region", region="me-south-1", message="")
    assert exit_code(_result([posture], [not_enabled]), strict=True) == 0
    assert exit_code(_result([suspect], []), strict=False) == 1
    assert exit_code(_result([posture], [denied]), strict=False) == 0
    assert exit_code(_result([suspect], [denied]), strict=True) == 3
