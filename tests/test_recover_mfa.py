"""``recover mfa``: root MFA, console users without MFA, unassigned devices (the attacker's flagged), and the
interactive enrolment whose seed never leaves memory except as the QR code drawn on the terminal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity, whoami
from awsrespond.case.workspace import Case
from awsrespond.cli.app import main
from awsrespond.contain.service import journal_of
from awsrespond.emulator import EmulatorServer, list_scenarios, load_scenario, seed
from awsrespond.errors import SafetyError, UsageError
from awsrespond.findings import Classification, Finding, ResourceRef, Severity, finding_id
from awsrespond.hunt.run import HuntOptions, run_hunt
from awsrespond.hunt.session_model import AttackerSession, SessionResource
from awsrespond.recover.mfa import MFA_DEVICE, MfaDocument, mfa_status
from awsrespond.recover.mfa_enrol import Terminal, enrol, otpauth_uri, qr_drawing, totp


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[ClientFactory]:
    # No AWS-managed policies are needed here, and loading them makes every account seconds slower.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    with mock_aws():
        yield ClientFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=2)


def _case(tmp_path: Path, identity: CallerIdentity) -> Case:
    return Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)


def _name(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.choice(['-ops', '.dev', '_fin', '@data'])}{rng.randrange(10**6)}"


def _finding(resource_type: str, resource_id: str, classification: Classification) -> Finding:
    return Finding(id=finding_id("test-rule", resource_type, resource_id, "global"), rule="test-rule", title="t",
                   severity=Severity.HIGH, classification=classification,
                   resource=ResourceRef(type=resource_type, id=resource_id, region="global"))


def _assign(iam: Any, user: str, name: str) -> str:
    serial = str(iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"])
    iam.enable_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1="123456",
                          AuthenticationCode2="234567")
    return serial


@pytest.mark.parametrize("seed_value", [7, 19, 88])
def test_status_lists_every_console_user_without_mfa(account: ClientFactory, tmp_path: Path, seed_value: int) -> None:
    rng = random.Random(seed_value)
    iam = account.client("iam")
    users = sorted({_name(rng, "u") for _ in range(rng.randint(4, 9))})
    console = set(rng.sample(users, rng.randint(1, len(users))))
    with_mfa = set(rng.sample(sorted(console), rng.randint(0, len(console) - 1)))
    for user in users:
        iam.create_user(UserName=user)
        if user in console:
            iam.create_login_profile(UserName=user, Password=f"Pw-{rng.randrange(10**9)}!x")
        if user in with_mfa or (user not in console and rng.random() < 0.5):
            _assign(iam, user, f"dev-{user.replace('@', '-')}")
    unassigned = sorted(str(iam.create_virtual_mfa_device(VirtualMFADeviceName=_name(rng, "loose").replace("@", "-"))
                            ["VirtualMFADevice"]["SerialNumber"]) for _ in range(rng.randint(1, 3)))
    bad_device = rng.choice(unassigned)
    without = sorted(console - with_mfa)
    bad_user = rng.choice(without)
    identity = whoami(account)
    case = _case(tmp_path, identity)
    case.write_findings([_finding(MFA_DEVICE, bad_device, Classification.ATTACKER_CREATED),
                         _finding("AWS::IAM::User", bad_user, Classification.ATTACKER_CREATED),
                         _finding("AWS::IAM::User", rng.choice(users), Classification.SUSPECT)])
    document = mfa_status(account, identity.account_id, case)
    assert [u.user for u in document.console_users_without_mfa] == without
    assert {u.user for u in document.console_users_without_mfa if u.attacker} == {bad_user}
    assert [d.serial for d in document.unassigned_virtual_mfa] == unassigned
    assert {d.serial for d in document.unassigned_virtual_mfa if d.attacker} == {bad_device}
    assert document.root_mfa is False and document.needs_attention
    assert any("Trouble signing in with MFA" in line for line in document.guidance)
    assert MfaDocument.model_validate_json(document.model_dump_json()) == document


def test_a_device_an_attacker_session_created_is_flagged_with_its_time(account: ClientFactory, tmp_path: Path) -> None:
    rng = random.Random(29)
    iam = account.client("iam")
    serials = sorted(str(iam.create_virtual_mfa_device(VirtualMFADeviceName=f"d{rng.randrange(10**6)}-{i}")
                         ["VirtualMFADevice"]["SerialNumber"]) for i in range(rng.randint(2, 4)))
    bad = rng.choice(serials)
    when = datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), tzinfo=UTC)
    session = AttackerSession(
        id="s1", started_from="AKIA" + "X" * 16, principal=None, severity=Severity.HIGH, first_seen=when,
        last_seen=when, event_count=1, credentials=[], source_ips=[], user_agents=[], regions=[], rules=[],
        created=[SessionResource(type=MFA_DEVICE, id=bad, region="global", event_name="CreateVirtualMFADevice",
                                 time=when)],
        changed=[], timeline=[])
    identity = whoami(account)
    case = _case(tmp_path, identity)
    case.write_json("hunt.json", {"sessions": [session.model_dump(mode="json")]})
    document = mfa_status(account, identity.account_id, case)
    flagged = {d.serial: d.created for d in document.unassigned_virtual_mfa if d.attacker}
    assert flagged == {bad: when}
    assert [d.serial for d in document.unassigned_virtual_mfa] == serials


def test_status_cli_json_and_exit_code(account: ClientFactory, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    iam = account.client("iam")
    rng = random.Random(3)
    user = _name(rng, "person").replace("@", "-")
    iam.create_user(UserName=user)
    iam.create_login_profile(UserName=user, Password="Pw-123456789!x")
    assert main(["recover", "mfa", "--case", str(tmp_path / "c"), "--format", "json", "-q"]) == 1
    document = MfaDocument.model_validate_json(capsys.readouterr().out)
    assert [u.user for u in document.console_users_without_mfa] == [user]
    _assign(iam, user, "mine")
    assert main(["recover", "mfa", "--case", str(tmp_path / "c"), "--format", "json", "-q"]) == 1  # root MFA off
    document = MfaDocument.model_validate_json(capsys.readouterr().out)
    assert document.console_users_without_mfa == [] and document.unassigned_virtual_mfa == []


def rfc6238(seed_base32: str, counter: int, digits: int = 6) -> str:
    """The test's own TOTP (RFC 6238 over RFC 4226, HMAC-SHA1), independent of the code under test."""
    key = base64.b32decode(seed_base32 + "=" * (-len(seed_base32) % 8))
    mac = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    start = mac[19] & 0xF
    return f"{(int.from_bytes(mac[start:start + 4], 'big') & 0x7FFFFFFF) % 10**digits:0{digits}d}"


def test_totp_matches_the_rfc_vectors() -> None:
    seed_base32 = base64.b32encode(b"12345678901234567890").decode()
    for when, expected in ((59, "94287082"), (1111111109, "07081804"), (1234567890, "89005924")):
        assert rfc6238(seed_base32, when // 30, 8) == expected
        assert totp(seed_base32, when // 30, 8) == expected
    rng = random.Random(5)
    other = base64.b32encode(rng.randbytes(40)).decode()
    for counter in rng.sample(range(10**8), 20):
        assert totp(other, counter) == rfc6238(other, counter)


class FakeTerminal:
    """Answers prompts from a script; keeps everything shown."""

    def __init__(self, answers: Callable[[str], str], is_tty: bool = True) -> None:
        self.shown: list[str] = []
        self.prompts: list[str] = []
        self.terminal = Terminal(ask=self._ask, show=self.shown.append, is_tty=is_tty)
        self._answers = answers

    def _ask(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self._answers(prompt)


class SeedTap:
    """Catches the seed from CreateVirtualMFADevice's answer, as the phone would get it from the QR code."""

    def __init__(self, factory: ClientFactory) -> None:
        self.seed: str | None = None
        self.tags: dict[str, str] = {}
        events = factory.client("iam").meta.events
        events.register("after-call.iam.CreateVirtualMFADevice", self._tap)
        events.register("provide-client-params.iam.CreateVirtualMFADevice", self._params)

    def _params(self, params: dict[str, Any], **_: Any) -> None:
        self.tags = {t["Key"]: t["Value"] for t in params.get("Tags", [])}

    def _tap(self, parsed: dict[str, Any], **_: Any) -> None:
        raw = parsed["VirtualMFADevice"]["Base32StringSeed"]
        self.seed = raw.decode() if isinstance(raw, bytes) else str(raw)


def _phone(tap: SeedTap, account_id: str, *, wrong: bool = False) -> Callable[[str], str]:
    """The person: types the account id, then two consecutive codes (or wrong ones)."""
    codes: list[str] = []

    def answer(prompt: str) -> str:
        if "account id" in prompt:
            return account_id + "\n"
        assert tap.seed is not None
        if not codes:
            counter = int(time.time() // 30)
            codes.extend([rfc6238(tap.seed, counter), rfc6238(tap.seed, counter + 1)])
            if wrong:
                codes[:] = [f"{(int(c) + 1) % 10**6:06d}" for c in codes]
        return codes.pop(0) + "\n"

    return answer


def _everything_written(case: Case) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in case.root.rglob("*") if p.is_file())


def _iam_user(iam: Any, rng: random.Random) -> str:
    user = _name(rng, "person").replace("@", "-")
    iam.create_user(UserName=user)
    return user


def test_enrol_shows_the_seed_only_as_a_qr_code(account: ClientFactory, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    iam = account.client("iam")
    user = _iam_user(iam, random.Random(12))
    identity = whoami(account)
    case = _case(tmp_path, identity)
    tap = SeedTap(account)
    fake = FakeTerminal(_phone(tap, identity.account_id))
    result = enrol(case, account, identity, fake.terminal, user=user, confirm=None)
    assert result.enabled and result.serial
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=user)["MFADevices"]] == [result.serial]
    assert tap.seed and len(tap.seed) >= 16
    # The QR code encodes the otpauth URI with the seed, and is the only place it is shown.
    drawing = qr_drawing(otpauth_uri(tap.seed, user, identity.account_id))
    assert drawing in fake.shown
    others = [text for text in fake.shown if text != drawing]
    captured = capsys.readouterr()
    for text in [*others, *fake.prompts, captured.out, captured.err, result.message, *result.journal]:
        assert tap.seed not in text
    assert tap.seed not in _everything_written(case)
    events = [(r["step"], r["event"]) for r in journal_of(case).records()]
    assert events == [("s001", "intent"), ("s001", "result"), ("s002", "intent"), ("s002", "result"),
                      ("s002", "verify")]
    created = next(r for r in journal_of(case).records() if r["event"] == "result")
    assert created["result"]["serial"] == result.serial
    assert tap.tags["awsrespond:case"] == case.case_id  # moto has no ListMFADeviceTags: the request's tags


def test_enrol_deletes_the_device_when_the_codes_do_not_match(account: ClientFactory, tmp_path: Path) -> None:
    iam = account.client("iam")
    user = _iam_user(iam, random.Random(13))
    identity = whoami(account)
    case = _case(tmp_path, identity)
    tap = SeedTap(account)
    fake = FakeTerminal(_phone(tap, identity.account_id, wrong=True))
    result = enrol(case, account, identity, fake.terminal, user=user, confirm=identity.account_id)
    assert not result.enabled and "deleted" in result.message
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    steps = [(r["step"], r["event"]) for r in journal_of(case).records()]
    assert ("s002", "intent") not in steps and steps[-2:] == [("s003", "intent"), ("s003", "result")]
    assert tap.seed and tap.seed not in _everything_written(case)


def _no_device(iam: Any) -> bool:
    return not iam.list_virtual_mfa_devices()["VirtualMFADevices"]


def test_enrol_refusals_come_before_any_write(account: ClientFactory, tmp_path: Path) -> None:
    iam = account.client("iam")
    rng = random.Random(14)
    user = _iam_user(iam, rng)
    identity = whoami(account)
    case = _case(tmp_path, identity)
    never: Callable[[str], str] = lambda prompt: pytest.fail(f"asked {prompt!r}")  # noqa: E731
    with pytest.raises(UsageError, match="terminal"):
        enrol(case, account, identity, FakeTerminal(never, is_tty=False).terminal, user=user, confirm=None)
    with pytest.raises(SafetyError, match="does not match"):
        enrol(case, account, identity, FakeTerminal(lambda p: "000000000000\n").terminal, user=user, confirm=None)
    with pytest.raises(UsageError, match="no IAM user"):
        enrol(case, account, identity, FakeTerminal(never).terminal, user=user + "x", confirm=identity.account_id)
    bad = _iam_user(iam, rng)
    case.write_findings([_finding("AWS::IAM::User", bad, Classification.ATTACKER_CREATED)])
    with pytest.raises(SafetyError, match="attacker"):
        enrol(case, account, identity, FakeTerminal(never).terminal, user=bad, confirm=identity.account_id)
    assert _no_device(iam) and not list(journal_of(case).records())


def test_enrol_cli_refuses_without_a_terminal(account: ClientFactory, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    user = _iam_user(account.client("iam"), random.Random(15))
    assert main(["recover", "mfa", "enrol", "--user", user, "--case", str(tmp_path / "c")]) == 2
    assert _no_device(account.client("iam"))


# -- seeded compromise ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded_case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ClientFactory, Case, Any]]:
    # Hunt alone attributes the attacker's user (its session created it); triage adds nothing this test needs.
    with EmulatorServer() as server:
        seeded = seed(server, load_scenario(random.Random(77).choice(list_scenarios())))
        factory = server.factory()
        identity = whoami(factory)
        root = tmp_path_factory.mktemp("mfa") / "case"
        case = Case.create(root, account_id=identity.account_id, caller_arn=identity.arn)
        run_hunt(HuntOptions(sources=[f"s3://{seeded.trail_bucket}/"], since=seeded.incident_start,
                             case_dir=case.root, account_id=identity.account_id, caller_arn=identity.arn), factory)
        yield factory, case, seeded


def test_seeded_scenario_lists_the_attackers_console_user(seeded_case: tuple[ClientFactory, Case, Any]) -> None:
    factory, case, seeded = seeded_case
    identity = whoami(factory)
    document = mfa_status(factory, identity.account_id, case)
    iam = factory.client("iam")
    expected = []
    for page in iam.get_paginator("list_users").paginate():
        for entry in page["Users"]:
            name = entry["UserName"]
            try:
                iam.get_login_profile(UserName=name)
            except iam.exceptions.NoSuchEntityException:
                continue
            if not iam.list_mfa_devices(UserName=name)["MFADevices"]:
                expected.append(name)
    listed = {u.user: u.attacker for u in document.console_users_without_mfa}
    assert sorted(listed) == sorted(expected)
    assert listed.get(seeded.attacker_user) is True
    assert not [u for u, bad in listed.items() if bad and u != seeded.attacker_user]
    json.loads(document.model_dump_json())
