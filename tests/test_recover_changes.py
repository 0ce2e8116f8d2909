"""The recovery framework: a change set becomes a sealed plan in the ``recover`` phase, applied by the
containment executor with the same refusals, journal and undo."""

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
from awsrespond.contain.journal import StepStatus
from awsrespond.contain.model import Compromised, Phase, Target
from awsrespond.contain.planio import case_plan_path, load_plan
from awsrespond.contain.service import applied_plan, journal_of, undo
from awsrespond.errors import SafetyError, UsageError
from awsrespond.recover.changes import ChangeSet, apply_changes


@pytest.fixture
def account() -> Iterator[ClientFactory]:
    with mock_aws():
        yield ClientFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=2)


def _user_with_key(factory: ClientFactory, rng: random.Random) -> tuple[str, str]:
    iam = factory.client("iam")
    name = f"svc-{rng.randrange(10**6)}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    return name, key


def _changes(name: str, key: str) -> ChangeSet:
    changes = ChangeSet(command="recover test")
    changes.add("iam.deactivate-access-key", Target(type="AWS::IAM::AccessKey", id=key, region="global"),
                expect={"exists": True, "status": "Active"}, post={"exists": True, "status": "Inactive"},
                params={"user": name}, reason="unused for 90 days")
    return changes


def _status(factory: ClientFactory, name: str) -> str:
    return str(factory.client("iam").list_access_keys(UserName=name)["AccessKeyMetadata"][0]["Status"])


def test_applied_with_confirm_journaled_and_undone(account: ClientFactory, tmp_path: Path) -> None:
    rng = random.Random(5)
    name, key = _user_with_key(account, rng)
    identity = whoami(account)
    case = Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)
    plan = _changes(name, key).to_plan(case, identity)
    assert [s.phase for s in plan.steps] == [Phase.RECOVER]
    assert plan.options["command"] == "recover test"
    document = apply_changes(case, account, identity, plan, confirm=identity.account_id, ask=None, verify_delay=0)
    assert document.ok and document.steps[0].status is StepStatus.VERIFIED
    assert _status(account, name) == "Inactive"
    # The case keeps the sealed plan: it loads back unedited, and undo finds it as the last applied plan.
    assert load_plan(case_plan_path(case, plan.plan_id), case).plan.steps[0].hash
    assert applied_plan(case, plan.plan_id).plan_id == plan.plan_id
    with pytest.raises(UsageError, match="--plan"):  # never picked by default: only containment plans are
        applied_plan(case, None)
    assert {r["event"] for r in journal_of(case).records()} >= {"run", "intent", "result"}
    undone = undo(case, account, identity, applied_plan(case, plan.plan_id), step_ids=["s001"], all_reversible=False,
                  reopen_attacker_access=True, confirm=identity.account_id, ask=None, verify_delay=0)
    assert undone.ok and _status(account, name) == "Active"


@pytest.mark.parametrize("confirm", [None, "000000000000"])
def test_refused_before_any_write(account: ClientFactory, tmp_path: Path, confirm: str | None) -> None:
    name, key = _user_with_key(account, random.Random(9))
    identity = whoami(account)
    case = Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)
    with pytest.raises(SafetyError):
        apply_changes(case, account, identity, _changes(name, key).to_plan(case, identity), confirm=confirm,
                      ask=None, verify_delay=0)
    assert _status(account, name) == "Active"
    assert not list(journal_of(case).records())


def test_refused_on_the_attackers_credentials(account: ClientFactory, tmp_path: Path) -> None:
    name, key = _user_with_key(account, random.Random(11))
    identity = whoami(account)
    case = Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)
    plan = _changes(name, key).to_plan(case, identity)
    plan.compromised = Compromised(principals=[identity.arn])
    with pytest.raises(SafetyError, match="clean credentials"):
        apply_changes(case, account, identity, plan, confirm=identity.account_id, ask=None, verify_delay=0)
    assert _status(account, name) == "Active"
