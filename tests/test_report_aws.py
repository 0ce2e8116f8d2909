"""`awsrespond report aws`: the text for AWS names the account, the attacker's users, keys, IPs and
resources by region, and what was done; it is English, holds no secret, cannot be forged by a hostile
name, fits the Support API's 8000 characters; `--submit` opens one support case after confirmation and
says plainly when the support plan does not allow it."""

from __future__ import annotations

import io
import json
import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from awsrespond.aws.clients import ClientFactory
from awsrespond.cli import main
from awsrespond.contain.journal import StepStatus
from awsrespond.emulator import EmulatorServer, generate_scenario
from awsrespond.emulator.server import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY
from awsrespond.findings import Classification, Finding, ResourceRef, Severity
from awsrespond.report.aws_text import MAX_BODY, aws_letter, render_aws_text
from awsrespond.report.casedata import ActionTaken, CaseData, FindingStatus, ReportFinding, load_case
from awsrespond.report.support_case import (
    CaseCodes,
    SubmitRefused,
    SubmitUncertain,
    SupportAccessDenied,
    SupportPlanRequired,
    choose_codes,
    create_case,
    record_path,
)
from tests.report_case import BuiltCase, build_case

RNG = random.Random(6)
HANGUL = re.compile("[\uac00-\ud7a3]")
PLAN_MESSAGE = "AWS Premium Support Subscription is required to use this service."


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as running:
        yield running


@pytest.fixture(scope="module")
def built(server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> BuiltCase:
    return build_case(server, generate_scenario(RNG.randrange(10**6)), tmp_path_factory.mktemp("report-aws") / "case")


@pytest.fixture(scope="module")
def text(built: BuiltCase) -> str:
    return render_aws_text(load_case(built.root))


@pytest.fixture
def copy(built: BuiltCase, tmp_path: Path) -> Path:
    """A copy of the built case this test may change (a submission record, another account)."""
    target = tmp_path / "case"

    def skip(directory: str, names: list[str]) -> set[str]:
        # What the text does not read: raw logs, the event store, secrets, the evidence files themselves.
        if Path(directory) == built.root:
            return {"logs", "events", "secrets"} & set(names)
        return set(names) - {"index.json"} if Path(directory) == built.root / "evidence" else set()

    shutil.copytree(built.root, target, ignore=skip)
    return target


@pytest.fixture
def no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _cases(server: EmulatorServer) -> list[dict[str, Any]]:
    client = server.factory().client("support", "us-east-1")
    cases: list[dict[str, Any]] = client.describe_cases(includeResolvedCases=True)["cases"]
    return cases


def _section(text: str, header: str) -> str:
    start = text.index(header)
    end = text.find("\n\n", start)
    return text[start:end if end >= 0 else None]


# -- the text ----------------------------------------------------------------------------------------


def test_text_names_account_users_keys_ips_and_actions(built: BuiltCase, text: str) -> None:
    seeded = built.seeded
    assert text.startswith("Subject: ")
    assert seeded.account_id in text.splitlines()[0]
    keys = _section(text, "3. Compromised access keys")
    compromised = next(line for line in keys.splitlines() if seeded.compromised_access_key_id in line)
    assert seeded.compromised_user in compromised and "deactivated" in compromised
    for key in seeded.attacker_of("AWS::IAM::AccessKey"):
        line = next(line for line in keys.splitlines() if key.id in line)
        assert "created by the attacker" in line and "deleted" in line
    principals = _section(text, "4. IAM users and roles")
    assert re.search(rf"IAM user {re.escape(seeded.attacker_user)} \(created by the attacker\): .*deleted", principals)
    assert f"user/{seeded.compromised_user} (our principal, used by the attacker)" in principals
    ips = _section(text, "5. Source IP addresses")
    for ip in seeded.attacker_ips:
        assert f"  - {ip}" in ips
    assert seeded.attacker_user_agent in text
    actions = _section(text, "8. Actions we have taken")
    assert "contain apply" in actions and "access key deactivated" in actions
    assert "10. Our request" in text and "review the charges" in text
    assert "[your email]" in text


def test_every_attacker_resource_is_listed_under_its_region(built: BuiltCase, text: str) -> None:
    resources = _section(text, "7. Unauthorized resources by region")
    region: str | None = None
    listed: dict[str, set[str]] = {}
    for line in resources.splitlines()[1:]:
        if line.startswith("  ") and not line.startswith("    ") and line.endswith(":"):
            region = line.strip().rstrip(":").split(" ")[0]
            continue
        if line.startswith("    - ") and region is not None:
            listed.setdefault(region, set()).add(line)
    assert listed, resources
    for artefact in built.seeded.attacker_artefacts:
        lines = listed.get(artefact.region, set())
        match = [line for line in lines if f" {artefact.id}: " in line]
        assert match, f"{artefact.type} {artefact.id} not listed under {artefact.region}"
        if artefact.type == "AWS::EC2::Instance":
            assert "terminated" in match[0]


def test_text_is_english_whatever_the_language(built: BuiltCase, text: str, copy: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AWSRESPOND_LANG")
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    monkeypatch.setenv("LC_ALL", "ko_KR.UTF-8")
    for extra in ([], ["--lang", "ko"]):
        code, out, err = _run(capsys, "report", "aws", "--case", str(copy), *extra)
        assert code == 0
        assert out == text  # the same English text whatever the user's language
        assert not HANGUL.search(out)
        assert HANGUL.search(err), err  # the terminal messages follow the language
        assert (copy / "reports" / "aws-report.txt").read_text(encoding="utf-8") == text


def test_written_to_the_case_and_to_output_privately(copy: Path, tmp_path: Path, text: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out" / "aws.txt"
    code, out, err = _run(capsys, "report", "aws", "--case", str(copy), "-o", str(output))
    assert code == 0 and out == text
    written = copy / "reports" / "aws-report.txt"
    for path in (written, output):
        assert path.read_text(encoding="utf-8") == text
        assert path.stat().st_mode & 0o777 == 0o600
    assert (copy / "reports").stat().st_mode & 0o777 == 0o700
    flat = " ".join(err.split())
    assert str(written) in flat and "abuse@amazonaws.com" in flat
    assert "https://support.aws.amazon.com/#/contacts/report-abuse" in flat


# Fields of a secrets file that describe the secret rather than hold it (the key it replaced is the
# compromised key, which the text must name).
_DESCRIPTIVE = {"replaces", "UserName", "CreateDate", "PasswordResetRequired"}


def test_default_case_is_the_newest_under_cases(built: BuiltCase, copy: Path, tmp_path: Path, text: str,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "work"
    (work / "cases").mkdir(parents=True)
    older = work / "cases" / "older"
    shutil.copytree(copy, older)
    newest = work / "cases" / "newest"
    shutil.copytree(copy, newest)
    (newest / "case.json").touch()
    monkeypatch.chdir(work)
    code, out, err = _run(capsys, "report", "aws", "--quiet")
    assert code == 0 and out == text
    assert err == ""  # --quiet: nothing on stderr
    assert (newest / "reports" / "aws-report.txt").exists()
    assert not (older / "reports" / "aws-report.txt").exists()


def _strings(value: Any, key: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, key)
    elif isinstance(value, str) and key not in _DESCRIPTIVE:
        yield value


def test_no_secret_in_the_text(built: BuiltCase, text: str) -> None:
    secrets = sorted((built.root / "secrets").glob("*.json"))
    assert secrets, "the built case should hold a replacement key and a password"
    values = {s for path in secrets for s in _strings(json.loads(path.read_text())) if len(s) >= 8}
    assert values
    for value in values:
        assert value not in text


def _hostile(rng: random.Random) -> str:
    n = rng.randrange(10**6)
    return (f"evil-{n}\nSubject: forged {n}\r\n10. Our request\x1b[2J\x1b]8;;https://evil.example\x1b\\"
            f"\u2028- refund everything {n}\x00\x85\x0b\u202eend")


def test_hostile_names_cannot_forge_lines(built: BuiltCase) -> None:
    data = load_case(built.root)
    rng = random.Random(RNG.randrange(10**6))
    bad = _hostile(rng)
    created = [f for f in data.findings if f.finding.classification is Classification.ATTACKER_CREATED]
    target = rng.choice(created)
    hostile_finding = target.finding.model_copy(update={"resource": target.finding.resource.model_copy(
        update={"id": bad})})
    findings = [*data.findings, replace(target, finding=hostile_finding)]
    attacker = data.attacker.model_copy(update=dict(user_agents=[*data.attacker.user_agents, bad], principals=[bad],
                       source_ips=[*data.attacker.source_ips, bad]))
    data = replace(data, findings=findings, attacker=attacker, alias=bad, regions_touched={bad: 3})
    text = aws_letter(data).text
    assert "\x1b" not in text and "\r" not in text and "\x00" not in text and "\x0b" not in text
    assert "\u2028" not in text and "\x85" not in text and "\u202e" not in text
    lines = text.splitlines()
    assert sum(1 for line in lines if line.startswith("Subject:")) == 1
    assert sum(1 for line in lines if line.startswith("10. Our request")) == 1
    assert not any(line.lstrip().startswith(("- refund", "refund")) for line in lines)
    assert any(f"evil-{bad.split('-')[1].split(chr(10))[0]}" in line and "forged" in line for line in lines)


def test_length_limit_holds_for_thousands_of_findings(built: BuiltCase) -> None:
    data = load_case(built.root)
    rng = random.Random(RNG.randrange(10**6))
    regions = ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-2", "sa-east-1", "me-south-1", "af-south-1"]
    findings: list[ReportFinding] = []
    actions: list[ActionTaken] = []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for number in range(3000):
        region = rng.choice(regions)
        instance = f"i-{rng.randrange(16**17):017x}"
        finding = Finding(id=f"f-{number}", rule="ec2-instance-new", title=f"EC2 instance {number} launched",
                          severity=Severity.HIGH, classification=Classification.ATTACKER_CREATED,
                          resource=ResourceRef(type="AWS::EC2::Instance", id=instance, region=region),
                          first_seen=start + timedelta(minutes=number))
        action = ActionTaken(plan_id="p", command="contain apply", phase="destroy", step=f"s{number}",
                             action="ec2.terminate-instance", target_type="AWS::EC2::Instance", target_id=instance,
                             region=region, reason="r", status=StepStatus.VERIFIED, message="", at=None,
                             reversible=False, cuts_attacker_access=False, why=(finding.id,))
        findings.append(ReportFinding(finding, FindingStatus.CONTAINED, (action,)))
        actions.append(action)
    attacker = data.attacker.model_copy(update=dict(
                       access_key_ids=[f"AKIA{rng.randrange(16**16):016X}" for _ in range(400)],
                       principals=[f"arn:aws:iam::{data.account_id}:user/u{n}-" + "x" * 200 for n in range(300)],
                       source_ips=[f"198.51.100.{n % 250}" for n in range(500)],
                       user_agents=["agent/" + "y" * 500 + str(n) for n in range(200)]))
    big: CaseData = replace(data, findings=[*data.findings, *findings], actions=[*data.actions, *actions],
                            attacker=attacker, regions_touched={r: 500 for r in regions})
    letter = aws_letter(big)
    assert len(letter.text) <= MAX_BODY
    assert len(letter.body) <= MAX_BODY
    assert data.account_id in letter.text
    assert "more access keys, listed in the attached report" in letter.text
    assert "10. Our request" in letter.text and "Contact" in letter.text


# -- --submit ----------------------------------------------------------------------------------------


def _submit_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The emulator's fixed credentials: the caller is a clean principal of the case's account.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY)


def test_submit_opens_one_case_and_records_it(server: EmulatorServer, copy: Path, no_terminal: None,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _submit_env(monkeypatch)
    data = load_case(copy)
    before = len(_cases(server))
    code, out, err = _run(capsys, "report", "aws", "--case", str(copy), "--submit", "--confirm", data.account_id,
                          "--endpoint-url", server.endpoint_url)
    assert code == 0, err
    letter = aws_letter(data, via_support_case=True)
    assert out == letter.text  # exactly what is sent, shown before anything is sent
    assert "[your email]" not in letter.body
    assert (copy / "reports" / "aws-report.txt").read_text(encoding="utf-8") == aws_letter(data).text
    cases = _cases(server)
    assert len(cases) == before + 1
    opened = [c for c in cases if c["subject"] == letter.subject]
    assert len(opened) == 1
    record = json.loads(record_path(copy).read_text())
    assert record["status"] == "created" and record["case_id"] == opened[0]["caseId"]
    assert record["account_id"] == data.account_id and record["language"] == "en"
    assert record_path(copy).stat().st_mode & 0o777 == 0o600
    assert opened[0]["caseId"] in err
    # A second --submit never opens a duplicate.
    code, _, err = _run(capsys, "report", "aws", "--case", str(copy), "--submit", "--confirm", data.account_id,
                        "--endpoint-url", server.endpoint_url)
    assert code == 2 and "already opened" in err
    assert len(_cases(server)) == before + 1


def test_submit_with_a_typed_account_id(server: EmulatorServer, copy: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _submit_env(monkeypatch)
    account = load_case(copy).account_id

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal(account + "\n"))
    before = len(_cases(server))
    code, _, err = _run(capsys, "report", "aws", "--case", str(copy), "--submit", "--endpoint-url",
                        server.endpoint_url)
    assert code == 0, err
    assert f"Type the account id {account}" in err
    assert len(_cases(server)) == before + 1


def test_no_terminal_and_no_confirm_sends_nothing(server: EmulatorServer, copy: Path, no_terminal: None,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _submit_env(monkeypatch)
    before = len(_cases(server))
    code, out, err = _run(capsys, "report", "aws", "--case", str(copy), "--submit", "--endpoint-url",
                          server.endpoint_url)
    assert code == 2
    assert "--confirm" in err and "nothing was sent" in err
    assert out.startswith("Subject: ")  # the text is still shown and kept
    assert (copy / "reports" / "aws-report.txt").exists()
    assert not record_path(copy).exists()
    assert len(_cases(server)) == before


def test_wrong_account_is_refused(server: EmulatorServer, copy: Path, no_terminal: None,
                                  monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _submit_env(monkeypatch)
    account = load_case(copy).account_id
    other = "".join(random.Random(RNG.randrange(10**6)).choice("0123456789") for _ in range(12))
    before = len(_cases(server))
    code, _, err = _run(capsys, "report", "aws", "--case", str(copy), "--submit", "--confirm", other,
                        "--endpoint-url", server.endpoint_url)
    assert code == 2 and "does not match" in err
    # The credentials' account differs from the case's: refused even with a matching --confirm.
    manifest = json.loads((copy / "case.json").read_text())
    manifest["account_id"] = other
    (copy / "case.json").write_text(json.dumps(manifest))
    code, _, err = _run(capsys, "report", "aws", "--case", str(copy), "--submit", "--confirm", other,
                        "--endpoint-url", server.endpoint_url)
    assert code == 2 and "wrong account" in " ".join(err.split()), err
    assert account != other
    assert len(_cases(server)) == before
    assert not record_path(copy).exists()


def _stubbed_support(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = boto3.client("support", region_name="us-east-1")
    stubber = Stubber(client)
    original = ClientFactory.client

    def client_for(self: ClientFactory, service: str, region: str | None = None) -> Any:
        return client if service == "support" else original(self, service, region)

    monkeypatch.setattr(ClientFactory, "client", client_for)
    return stubber


def test_subscription_required_keeps_the_text(server: EmulatorServer, copy: Path, no_terminal: None,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _submit_env(monkeypatch)
    data = load_case(copy)
    letter = aws_letter(data, via_support_case=True)
    stubber = _stubbed_support(monkeypatch)
    category = f"security-{RNG.randrange(100)}"
    stubber.add_response("describe_services", {"services": [
        {"code": "billing", "name": "Billing", "categories": [{"code": "other", "name": "Other"}]},
        {"code": "customer-account", "name": "Account", "categories": [
            {"code": "other-account-issues", "name": "Other Account Issues"},
            {"code": category, "name": "Security"}]}]}, {"language": "en"})
    stubber.add_client_error(
        "create_case", service_error_code="SubscriptionRequiredException", service_message=PLAN_MESSAGE,
        http_status_code=400, expected_params={
            "subject": letter.subject, "serviceCode": "customer-account", "categoryCode": category,
            "severityCode": "high", "communicationBody": letter.body, "language": "en",
            "issueType": "customer-service"})
    with stubber:
        code, out, err = _run(capsys, "report", "aws", "--case", str(copy), "--submit", "--confirm",
                              data.account_id, "--endpoint-url", server.endpoint_url)
    stubber.assert_no_pending_responses()
    flat = " ".join(err.split())
    assert code == 1
    assert "SubscriptionRequiredException" in flat and "support plan" in flat
    assert "does not allow the AWS Support API" in flat
    assert "abuse@amazonaws.com" in flat and "No support case was opened" in flat
    assert str(copy / "reports" / "aws-report.txt") in flat
    assert out == letter.text
    # The text kept for sending by hand, with the contact lines to fill in.
    kept = (copy / "reports" / "aws-report.txt").read_text(encoding="utf-8")
    assert kept == aws_letter(data).text and "[your email]" in kept
    assert not record_path(copy).exists()


def test_subscription_required_on_describe_services(copy: Path, tmp_path: Path) -> None:
    client = boto3.client("support", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("describe_services", service_error_code="SubscriptionRequiredException",
                             service_message=PLAN_MESSAGE, http_status_code=400)
    with stubber, pytest.raises(SupportPlanRequired, match="support:DescribeServices"):
        choose_codes(client)


@pytest.mark.parametrize("code", ["AccessDeniedException", "AccessDenied"])
def test_access_denied_names_the_permission(copy: Path, code: str) -> None:
    data = load_case(copy)
    client = boto3.client("support", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("create_case", service_error_code=code, http_status_code=400,
                             service_message=f"User: arn:aws:iam::{data.account_id}:user/x is not authorized")
    with stubber, pytest.raises(SupportAccessDenied, match="support:CreateCase"):
        create_case(client, copy, data.account_id, aws_letter(data, via_support_case=True),
                    CaseCodes("customer-account", "security", "t"))
    assert not record_path(copy).exists()


class _Failing:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def create_case(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        raise self.error


def test_a_connection_that_never_opened_sent_nothing(copy: Path) -> None:
    data = load_case(copy)
    client = _Failing(EndpointConnectionError(endpoint_url="https://support.us-east-1.amazonaws.com/"))
    with pytest.raises(SubmitRefused, match="nothing was sent"):
        create_case(client, copy, data.account_id, aws_letter(data), CaseCodes("customer-account", "security", "t"))
    assert client.calls == 1 and not record_path(copy).exists()


def test_a_server_error_is_uncertain(copy: Path) -> None:
    data = load_case(copy)
    error = ClientError({"Error": {"Code": "InternalServerError", "Message": "internal"},
                         "ResponseMetadata": {"HTTPStatusCode": 500}}, "CreateCase")
    with pytest.raises(SubmitUncertain):
        create_case(_Failing(error), copy, data.account_id, aws_letter(data),
                    CaseCodes("customer-account", "security", "t"))
    assert json.loads(record_path(copy).read_text())["status"] == "no-answer"


class _Unanswered:
    """A Support client whose CreateCase request leaves and never returns."""

    def __init__(self) -> None:
        self.calls = 0

    def create_case(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        raise ReadTimeoutError(endpoint_url="https://support.us-east-1.amazonaws.com/")


def test_a_timeout_after_sending_is_never_resubmitted(server: EmulatorServer, copy: Path, no_terminal: None,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    data = load_case(copy)
    client = _Unanswered()
    with pytest.raises(SubmitUncertain, match="Check the Support Center"):
        create_case(client, copy, data.account_id, aws_letter(data), CaseCodes("customer-account", "security", "t"))
    assert client.calls == 1
    assert json.loads(record_path(copy).read_text())["status"] == "no-answer"
    _submit_env(monkeypatch)
    before = len(_cases(server))
    code, _, err = _run(capsys, "report", "aws", "--case", str(copy), "--submit", "--confirm", data.account_id,
                        "--endpoint-url", server.endpoint_url)
    assert code == 2 and "no answer" in " ".join(err.split())
    assert len(_cases(server)) == before


def test_public_source_ips_carry_country_and_network_offline(built: BuiltCase) -> None:
    data = load_case(built.root)
    ip = random.Random(RNG.randrange(10**6)).choice(["8.8.8.8", "8.8.4.4"])
    text = aws_letter(replace(data, attacker=data.attacker.model_copy(update=dict(source_ips=[ip])))).text
    line = next(line for line in text.splitlines() if line.startswith(f"  - {ip}"))
    assert "United States (US)" in line and "GOOGLE" in line
    assert "GeoLite2" in text
