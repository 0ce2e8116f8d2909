"""The recovery checklist: each manual step done, to do (with the command), by hand, or unknown."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import whoami
from awsrespond.case.workspace import Case
from awsrespond.harden.model import CheckResult, CheckSeverity, CheckStatus, HardenReport
from awsrespond.recover.checklist import ItemStatus, recovery_checklist
from awsrespond.timeutil import now_utc


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[ClientFactory]:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    with mock_aws():
        yield ClientFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=2)


def _check(check_id: str, status: CheckStatus, *, fix: str = "", fixable: bool = False) -> CheckResult:
    return CheckResult(id=check_id, title=check_id, status=status, detail=f"{check_id} detail", fix=fix,
                       severity=CheckSeverity.HIGH, fixable=fixable)


def test_open_items_name_users_and_commands_then_close(account: ClientFactory, tmp_path: Path) -> None:
    rng = random.Random(2026)
    iam = account.client("iam")
    users = [f"{rng.choice(['ops', 'dev', 'fin'])}-{rng.randrange(10**5)}" for _ in range(rng.randint(2, 4))]
    for user in users:
        iam.create_user(UserName=user)
        iam.create_login_profile(UserName=user, Password="Aa1!" + "x" * 20, PasswordResetRequired=False)
    identity = whoami(account)
    case = Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)
    harden = HardenReport(account_id=identity.account_id, generated=now_utc(), checks=[
        _check("iam.root-mfa", CheckStatus.FAIL, fix="sign in as root and assign an MFA device"),
        _check("budgets.alerting-budget", CheckStatus.FAIL, fix="awsrespond recover budget --limit A --email E"),
        _check("account.security-contact", CheckStatus.ERROR, fix="check it in the console"),
        _check("s3.account-public-access-block", CheckStatus.FAIL, fix="awsrespond harden --fix", fixable=True),
        _check("cloudtrail.multi-region-logging", CheckStatus.PASS),
    ])
    items = {i.id: i for i in recovery_checklist(case, account, identity, harden).items}
    assert items["contain.applied"].status is ItemStatus.TODO
    assert items["passwords.rotated"].status is ItemStatus.TODO
    assert all(user in items["passwords.rotated"].detail for user in users)
    assert "recover passwords" in items["passwords.rotated"].next
    assert items["mfa.console-users"].status is ItemStatus.TODO
    assert items["iam.root-mfa"].status is ItemStatus.MANUAL
    assert items["budgets.alerting-budget"].status is ItemStatus.TODO
    assert items["account.security-contact"].status is ItemStatus.UNKNOWN
    assert items["harden.s3.account-public-access-block"].status is ItemStatus.TODO
    assert items["harden.cloudtrail.multi-region-logging"].status is ItemStatus.DONE
    assert items["restore"].status is ItemStatus.TODO
    assert {items["root.password"].status, items["aws.report"].status} == {ItemStatus.MANUAL}

    for user in users:
        iam.update_login_profile(UserName=user, PasswordResetRequired=True)
    case.record_command("contain apply", plan="p-1", ok=True)
    case.write_json("recovery/restore.json", {"candidates": [], "not_restorable": []})
    items = {i.id: i for i in recovery_checklist(case, account, identity, harden).items}
    assert items["passwords.rotated"].status is ItemStatus.DONE
    assert items["contain.applied"].status is ItemStatus.DONE
    assert items["restore"].status is ItemStatus.DONE
    # A recovery plan applied later is not mistaken for containment.
    case.record_command("recover budget", plan="p-2", ok=False)
    assert recovery_checklist(case, account, identity, harden).items[0].status is ItemStatus.DONE
