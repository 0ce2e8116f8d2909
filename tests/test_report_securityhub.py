"""`--to-security-hub`: BatchImportFindings in batches of 100 after the typed account id or --confirm;
nothing is sent without confirmation; FailedFindings are named per id; Security Hub not enabled
(InvalidAccessException) is said plainly with the API and region, and the ASFF file is still written."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.case.workspace import Case
from awsrespond.cli import main
from awsrespond.emulator import EmulatorServer
from awsrespond.errors import SafetyError
from awsrespond.findings import Classification, Finding, ResourceRef, Severity
from awsrespond.report.casedata import load_case
from awsrespond.report.exports.asff import asff_findings
from awsrespond.report.securityhub import BATCH, SecurityHubNotEnabled, confirm_import, import_findings

RNG = random.Random(66)
ACCOUNT = "123456789012"  # moto's and the emulator's account


def _case(root: Path, count: int, account: str = ACCOUNT) -> Path:
    case = Case.create(root, account_id=account, caller_arn=f"arn:aws:iam::{account}:user/responder")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    findings = []
    for number in range(count):
        name = f"u{RNG.randrange(10**8)}"
        findings.append(Finding(
            id=f"rule-{number}-{name}", rule=RNG.choice(["hunt-created-by-attacker", "iam-user-new"]),
            title=f"User {name} created", severity=RNG.choice(list(Severity)),
            classification=RNG.choice(list(Classification)),
            resource=ResourceRef(type="AWS::IAM::User", id=name, region="global",
                                 arn=f"arn:aws:iam::{account}:user/{name}"),
            source_ip=f"203.0.113.{RNG.randrange(1, 255)}", first_seen=start + timedelta(minutes=number),
            last_seen=start + timedelta(minutes=number + 1), mitre=["T1136.003"]))
    case.write_findings(findings)
    return root


def _factory(region: str = "eu-west-1") -> ClientFactory:
    return ClientFactory(boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                       region_name=region))


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_import_in_batches_of_100_lands_in_security_hub(tmp_path: Path, aws_env: None) -> None:
    count = RNG.randrange(BATCH + 1, 2 * BATCH + 60)
    data = load_case(_case(tmp_path / "c", count))
    region = RNG.choice(["eu-west-1", "ap-northeast-2", "us-west-2"])
    with mock_aws():
        factory = _factory(region)
        factory.client("securityhub", region).enable_security_hub()
        calls: list[int] = []
        result = import_findings(factory, asff_findings(data, region), region, progress=lambda s, _: calls.append(s))
        found = factory.client("securityhub", region).get_findings(MaxResults=100)
        stored = found["Findings"]
        while found.get("NextToken"):
            found = factory.client("securityhub", region).get_findings(MaxResults=100, NextToken=found["NextToken"])
            stored += found["Findings"]
    assert result.calls == 2 + (count > 2 * BATCH) and result.sent == count == result.succeeded
    assert calls[0] == BATCH and calls[-1] == count and not result.failed
    ids = {f["Id"] for f in stored}
    assert {f"awsrespond/{ACCOUNT}/{rf.finding.id}" for rf in data.findings} <= ids
    assert all(f["ProductArn"].startswith(f"arn:aws:securityhub:{region}:") for f in stored)


def test_not_enabled_is_named_with_api_and_region(tmp_path: Path) -> None:
    data = load_case(_case(tmp_path / "c", 3))
    factory = _factory("eu-central-1")
    client = factory.client("securityhub", "eu-central-1")
    with Stubber(client) as stub:
        stub.add_client_error("batch_import_findings", service_error_code="InvalidAccessException",
                              service_message=f"Account {ACCOUNT} is not subscribed to AWS Security Hub",
                              http_status_code=401)
        with pytest.raises(SecurityHubNotEnabled) as error:
            import_findings(factory, asff_findings(data, "eu-central-1"), "eu-central-1")
        stub.assert_no_pending_responses()
    message = str(error.value)
    assert "eu-central-1" in message and "BatchImportFindings" in message and "not enabled" in message


def test_failed_findings_are_reported_per_id(tmp_path: Path) -> None:
    data = load_case(_case(tmp_path / "c", 4))
    findings = asff_findings(data, "us-east-1")
    factory = _factory("us-east-1")
    client = factory.client("securityhub", "us-east-1")
    bad = findings[RNG.randrange(len(findings))].Id
    with Stubber(client) as stub:
        stub.add_response("batch_import_findings", {
            "FailedCount": 1, "SuccessCount": 3,
            "FailedFindings": [{"Id": bad, "ErrorCode": "InvalidInput", "ErrorMessage": "Finding\x1b[31m too big"}]})
        result = import_findings(factory, findings, "us-east-1")
    assert result.succeeded == 3 and [f.id for f in result.failed] == [bad]
    assert "\x1b" not in result.failed[0].message


def test_confirmation_rules() -> None:
    me = CallerIdentity(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/x", user_id="AIDA", alias=None)
    confirm_import(me, ACCOUNT, ACCOUNT, None)
    confirm_import(me, ACCOUNT, None, lambda _: f" {ACCOUNT}\n")
    for confirm, ask in ((None, None), ("111111111111", None), (None, lambda _: "no")):
        with pytest.raises(SafetyError):
            confirm_import(me, ACCOUNT, confirm, ask)
    with pytest.raises(SafetyError):
        confirm_import(me, "999999999999", "999999999999", None)


# --- the CLI ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as running:
        yield running


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _hub(server: EmulatorServer, region: str) -> Any:
    return server.factory(region).client("securityhub", region)


def test_cli_without_terminal_or_confirm_sends_nothing(tmp_path: Path, server: EmulatorServer,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch, aws_env: None) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    region = "sa-east-1"
    _hub(server, region).enable_security_hub()
    root = _case(tmp_path / "c", 5)
    code, _, err = _run(capsys, "report", "--case", str(root), "--format", "asff", "-o", str(tmp_path / "a.json"),
                        "--to-security-hub", "--region", region, "--endpoint-url", server.endpoint_url)
    assert code == 2 and "--confirm" in err
    assert _hub(server, region).get_findings()["Findings"] == []
    assert len(json.loads((tmp_path / "a.json").read_text())) == 5  # the file is still written
    code, _, err = _run(capsys, "report", "--case", str(root), "--format", "json", "--to-security-hub",
                        "--confirm", "111111111111", "--region", region, "--endpoint-url", server.endpoint_url)
    assert code == 2 and _hub(server, region).get_findings()["Findings"] == []


def test_cli_imports_after_confirm(tmp_path: Path, server: EmulatorServer, capsys: pytest.CaptureFixture[str],
                                   aws_env: None) -> None:
    region = "ca-central-1"
    _hub(server, region).enable_security_hub()
    count = RNG.randrange(3, 20)
    root = _case(tmp_path / "c", count)
    code, out, err = _run(capsys, "report", "--case", str(root), "--format", "asff", "--to-security-hub",
                          "--confirm", ACCOUNT, "--region", region, "--endpoint-url", server.endpoint_url)
    sent = json.loads(out)  # stdout is still only the document
    assert len(sent) == count and all(f":securityhub:{region}:" in d["ProductArn"] for d in sent)
    stored = _hub(server, region).get_findings(MaxResults=100)["Findings"]
    assert {d["Id"] for d in sent} <= {f["Id"] for f in stored}
    assert f"{count} of {count}" in err and "BatchImportFindings" in err
    assert code in (0, 1)
    assert (root / "reports" / "findings.asff.json").exists()


def test_cli_not_enabled_keeps_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch, aws_env: None) -> None:
    def refuse(factory: ClientFactory, findings: list[Any], region: str, progress: Any = None) -> Any:
        raise SecurityHubNotEnabled(region, "not subscribed")

    monkeypatch.setattr("awsrespond.cli.report_cmd.import_findings", refuse)
    root = _case(tmp_path / "c", 2)
    with mock_aws():
        code, _, err = _run(capsys, "report", "--case", str(root), "--format", "csv", "--to-security-hub",
                            "--confirm", ACCOUNT, "--region", "eu-north-1", "--lang", "ko")
    assert code == 2 and "eu-north-1" in err and "Security Hub" in err and "InvalidAccessException" in err
    assert json.loads((root / "reports" / "findings.asff.json").read_text())
