"""``recover passwords``: temporary console passwords (reset required, secrets only in ``secrets/``) and a
strong account password policy, through the containment executor."""

from __future__ import annotations

import dataclasses
import json
import random
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity, whoami
from awsrespond.case.workspace import Case
from awsrespond.cli.app import main
from awsrespond.contain.journal import StepStatus
from awsrespond.contain.service import journal_of, undo
from awsrespond.emulator import EmulatorServer, list_scenarios, load_scenario, seed
from awsrespond.errors import SafetyError
from awsrespond.recover.actions.iam_passwords import read_password_policy
from awsrespond.recover.changes import ChangeSet, apply_changes
from awsrespond.recover.passwords import (
    CLASSES,
    MIN_LENGTH,
    REUSE_PREVENTION,
    PasswordsDocument,
    caller_user,
    console_users,
    is_strong,
    plan_password_policy,
    plan_password_resets,
    root_guidance,
)
from tests.contain_support import last_applied_plan


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[ClientFactory]:
    # No AWS-managed policies are needed here, and loading them makes every account seconds slower.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    with mock_aws():
        yield ClientFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=2)


def _case(tmp_path: Path, identity: CallerIdentity) -> Case:
    return Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)


def _name(rng: random.Random, prefix: str) -> str:
    return f"{prefix}-{rng.choice(['ops', 'dev', 'fin', 'data'])}.{rng.randrange(10**6)}"


def _people(factory: ClientFactory, rng: random.Random) -> tuple[list[str], list[str]]:
    """Users with a console password and users without one (random names, random counts)."""
    iam = factory.client("iam")
    console = sorted({_name(rng, "person") for _ in range(rng.randint(2, 5))})
    others = sorted({_name(rng, "svc") for _ in range(rng.randint(1, 3))})
    for user in console + others:
        iam.create_user(UserName=user)
    for user in console:
        iam.create_login_profile(UserName=user, Password=f"Old-{rng.randrange(10**9)}-pw!", PasswordResetRequired=False)
    return console, others


def _reset_required(factory: ClientFactory, user: str) -> bool:
    return bool(factory.client("iam").get_login_profile(UserName=user)["LoginProfile"].get("PasswordResetRequired"))


def _all_text(case: Case) -> dict[str, str]:
    """Every file of the case outside secrets/, as text."""
    return {str(p.relative_to(case.root)): p.read_bytes().decode("utf-8", "replace")
            for p in case.root.rglob("*") if p.is_file() and "secrets" not in p.relative_to(case.root).parts}


def _secrets(case: Case) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((case.root / "secrets").glob("*.json"))]


@pytest.mark.parametrize("seed", [3, 41])
def test_resets_every_chosen_console_user_but_never_touch(account: ClientFactory, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    console, others = _people(account, rng)
    protected = rng.choice(console)
    identity = whoami(account)
    case = _case(tmp_path, identity)
    changes = ChangeSet(command="recover passwords")
    found, planned, skipped = plan_password_resets(
        changes, account, identity, users=[others[0]], all_console_users=True, include_me=False,
        never_touch=[f"arn:aws:iam::{identity.account_id}:user/{protected}"])
    assert found == console
    assert sorted(planned) == sorted(set(console) - {protected})
    assert {s.user for s in skipped} == {protected, others[0]}
    document = apply_changes(case, account, identity, changes.to_plan(case, identity), confirm=identity.account_id,
                             ask=None, verify_delay=0)
    assert document.ok and all(s.status is StepStatus.VERIFIED for s in document.steps)
    for user in planned:
        assert _reset_required(account, user)
    assert not _reset_required(account, protected)
    passwords = {s["UserName"]: s["Password"] for s in _secrets(case)}
    assert set(passwords) == set(planned)
    texts = _all_text(case)
    for user, password in passwords.items():
        assert len(password) >= 20
        assert not [name for name, text in texts.items() if password in text], user


def test_the_caller_is_left_alone_and_told_why(account: ClientFactory, tmp_path: Path) -> None:
    rng = random.Random(8)
    console, _ = _people(account, rng)
    me = rng.choice(console)
    identity = whoami(account)
    as_me = dataclasses.replace(identity, arn=f"arn:aws:iam::{identity.account_id}:user/{me}")
    for include_me in (False, True):
        changes = ChangeSet(command="recover passwords")
        _, planned, skipped = plan_password_resets(changes, account, as_me, users=[], all_console_users=True,
                                                   include_me=include_me, never_touch=[])
        assert me not in planned and len(planned) == len(console) - 1
        [reason] = [s.reason for s in skipped if s.user == me]
        assert ("refuses" in reason) is include_me


def test_refused_without_confirm_and_terminal(account: ClientFactory, tmp_path: Path) -> None:
    console, _ = _people(account, random.Random(2))
    identity = whoami(account)
    case = _case(tmp_path, identity)
    changes = ChangeSet(command="recover passwords")
    plan_password_resets(changes, account, identity, users=console, all_console_users=False, include_me=False,
                         never_touch=[])
    plan_password_policy(changes, account)
    with pytest.raises(SafetyError, match="--confirm"):
        apply_changes(case, account, identity, changes.to_plan(case, identity), confirm=None, ask=None,
                      verify_delay=0)
    assert not any(_reset_required(account, u) for u in console)
    assert read_password_policy(account.client("iam")) is None
    assert not (case.root / "secrets").exists() or not list((case.root / "secrets").iterdir())
    assert not list(journal_of(case).records())


def _policy_args(rng: random.Random) -> dict[str, Any]:
    return {"MinimumPasswordLength": rng.randint(6, 20), "RequireSymbols": rng.random() < 0.5,
            "RequireNumbers": rng.random() < 0.5, "RequireUppercaseCharacters": rng.random() < 0.5,
            "RequireLowercaseCharacters": rng.random() < 0.5, "AllowUsersToChangePassword": rng.random() < 0.5,
            "PasswordReusePrevention": rng.randint(1, 24), "MaxPasswordAge": rng.choice([30, 90, 365])}


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_policy_applied_verified_and_undone(account: ClientFactory, tmp_path: Path, seed: int | None) -> None:
    iam = account.client("iam")
    before_args = _policy_args(random.Random(seed)) if seed is not None else None
    if before_args is not None:
        iam.update_account_password_policy(**before_args)
    before = read_password_policy(iam)
    identity = whoami(account)
    case = _case(tmp_path, identity)
    changes = ChangeSet(command="recover passwords")
    step = plan_password_policy(changes, account)
    if is_strong(before):
        assert step is None
        return
    assert step is not None
    document = apply_changes(case, account, identity, changes.to_plan(case, identity), confirm=identity.account_id,
                             ask=None, verify_delay=0)
    assert document.ok and document.steps[0].status is StepStatus.VERIFIED
    after = read_password_policy(iam)
    assert is_strong(after) and after is not None
    assert after["MinimumPasswordLength"] >= max(MIN_LENGTH, (before or {}).get("MinimumPasswordLength", 0))
    assert all(after[c] for c in CLASSES) and after["PasswordReusePrevention"] >= REUSE_PREVENTION
    assert after["MaxPasswordAge"] == (before or {}).get("MaxPasswordAge")  # kept, never invented
    # Planned again: nothing to do.
    assert plan_password_policy(ChangeSet(command="recover passwords"), account) is None
    undone = undo(case, account, identity, last_applied_plan(case), step_ids=[step], all_reversible=False,
                  reopen_attacker_access=False, confirm=identity.account_id, ask=None, verify_delay=0)
    assert undone.ok
    assert read_password_policy(iam) == before


def test_policy_max_age_is_set_when_asked(account: ClientFactory, tmp_path: Path) -> None:
    identity = whoami(account)
    case = _case(tmp_path, identity)
    changes = ChangeSet(command="recover passwords")
    age = random.Random(4).randint(30, 400)
    assert plan_password_policy(changes, account, max_age=age)
    apply_changes(case, account, identity, changes.to_plan(case, identity), confirm=identity.account_id, ask=None,
                  verify_delay=0)
    policy = read_password_policy(account.client("iam"))
    assert policy is not None and policy["MaxPasswordAge"] == age
    assert plan_password_policy(ChangeSet(command="x"), account, max_age=age) is None


def test_root_guidance_names_the_assume_root_commands() -> None:
    account_id = f"{random.Random(6).randrange(10**12):012d}"
    member = "\n".join(root_guidance(account_id, "aws", "member"))
    assert f"--target-principal {account_id}" in member
    assert "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials" in member
    assert "aws iam delete-login-profile" in member and "sts assume-root" in member
    standalone = "\n".join(root_guidance(account_id, "aws", "standalone"))
    assert "assume-root" not in standalone and "Change password" in standalone


# -- the command ---------------------------------------------------------------------------------


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["recover", "passwords", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_refuses_without_confirm_off_a_terminal(account: ClientFactory, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    console, _ = _people(account, random.Random(21))
    code, out, err = _run(["--all-console-users", "--case", str(tmp_path / "c"), "--format", "json"], capsys)
    assert code == 2 and "--confirm" in err and out == ""
    assert not any(_reset_required(account, u) for u in console)
    assert read_password_policy(account.client("iam")) is None


def test_cli_dry_run_then_confirm_with_baseline_never_touch(account: ClientFactory, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(22)
    console, _ = _people(account, rng)
    protected = rng.choice(console)
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text(f"never_touch:\n  - {protected}\n")
    identity = whoami(account)
    common = ["--all-console-users", "--baseline", str(baseline), "--case", str(tmp_path / "c"), "--format", "json",
              "-q"]
    code, out, _ = _run([*common, "--dry-run"], capsys)
    document = PasswordsDocument.model_validate_json(out)
    assert code == 1 and document.applied is None and document.password_policy_step
    assert sorted(document.planned) == sorted(set(console) - {protected})
    assert not any(_reset_required(account, u) for u in console)
    code, out, err = _run([*common, "--confirm", identity.account_id], capsys)
    document = PasswordsDocument.model_validate_json(out)
    assert code == 0 and document.applied is not None and document.applied.ok
    assert [s.user for s in document.skipped] == [protected]
    assert len(document.secrets) == len(console) - 1
    assert is_strong(read_password_policy(account.client("iam")))
    case = Case.open(tmp_path / "c")
    for secret in _secrets(case):
        assert secret["Password"] not in out + err
        assert not [n for n, text in _all_text(case).items() if secret["Password"] in text]


# -- seeded compromise ---------------------------------------------------------------------------


def test_seeded_scenario_every_console_user_reset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with EmulatorServer() as server:
        seeded = seed(server, load_scenario(random.Random(31).choice(list_scenarios())))
        factory = server.factory()
        identity = whoami(factory)
        iam = factory.client("iam")
        console = console_users(iam)
        assert seeded.attacker_user in console
        # The "done when" command: without --user, every console user is reset.
        code, out, err = _run(["--confirm", identity.account_id, "--endpoint-url",
                               server.endpoint_url, "--case", str(tmp_path / "c"), "--format", "json"], capsys)
        document = PasswordsDocument.model_validate_json(out)
        refused = {s.user for s in document.skipped}
        assert code == 0, err
        assert refused <= {caller_user(identity)}
        for user in console:
            assert _reset_required(factory, user) is (user not in refused), user
        case = Case.open(tmp_path / "c")
        passwords = {s["UserName"]: s["Password"] for s in _secrets(case)}
        assert set(passwords) == set(console) - refused
        texts = _all_text(case)
        for password in passwords.values():
            assert password not in out and password not in err
            assert not [name for name, text in texts.items() if password in text]
        assert all(stat.S_IMODE((case.root / path).stat().st_mode) == 0o600 for path in document.secrets)
