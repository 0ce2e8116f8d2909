"""``recover budget``: a monthly cost budget with six email alerts, created through the plan / confirm /
journal machinery (mock_aws and a seeded emulator over the CLI); the update path against a Stubber with
the real response shapes; refusals and bad input exit 2 and create nothing."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import whoami
from awsrespond.case.workspace import Case
from awsrespond.cli.app import main
from awsrespond.contain.actions.base import ActionContext, get_action
from awsrespond.contain.model import Plan
from awsrespond.contain.service import undo
from awsrespond.emulator import EmulatorServer, generate_scenario, seed
from awsrespond.recover.budget import (
    BudgetDocument,
    describe_budget,
    list_notifications,
    plan_budget,
    read_budgets,
    wanted_notifications,
)
from awsrespond.recover.changes import apply_changes
from tests.contain_support import last_applied_plan

RNG = random.Random(20240517)


def _email(rng: random.Random) -> str:
    return f"{rng.choice(['ops', 'billing', 'sec', 'cfo'])}{rng.randrange(1000)}@{rng.choice(['ex.com', 'corp.io'])}"


def _factory() -> ClientFactory:
    return ClientFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=2)


@pytest.fixture
def account() -> Iterator[ClientFactory]:
    with mock_aws():
        yield _factory()


def test_library_creates_the_budget_with_six_alerts_and_undo_deletes_it(account: ClientFactory,
                                                                         tmp_path: Path) -> None:
    rng = random.Random(RNG.randrange(10**6))
    identity = whoami(account)
    name = f"guard-{rng.randrange(10**5)}"
    limit = Decimal(rng.randrange(5, 5000)) + Decimal(rng.randrange(100)) / 100
    emails = [_email(rng) for _ in range(rng.randrange(1, 4))]
    case = Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)
    changes = plan_budget(account, identity.account_id, limit=limit, emails=emails, name=name)
    assert [s.action for s in changes.steps] == ["budgets.create-budget"]
    document = apply_changes(case, account, identity, changes.to_plan(case, identity), confirm=identity.account_id,
                             ask=None, verify_delay=0)
    assert document.ok, document.steps
    client = account.client("budgets", "us-east-1")
    budget = describe_budget(client, identity.account_id, name)
    assert budget is not None and Decimal(budget["BudgetLimit"]["Amount"]) == limit
    assert (budget["BudgetType"], budget["TimeUnit"]) == ("COST", "MONTHLY")
    got = {(n["NotificationType"], n["Threshold"]) for n in list_notifications(client, identity.account_id, name)}
    assert got == {(k, t) for k in ("ACTUAL", "FORECASTED") for t in (80.0, 100.0, 120.0)}
    report = read_budgets(account, identity.account_id)
    assert [b.name for b in report.budgets] == [name] and len(report.budgets[0].notifications) == 6
    # A second run plans nothing: the budget is as asked.
    assert not plan_budget(account, identity.account_id, limit=limit, emails=emails, name=name).steps
    undone = undo(case, account, identity, last_applied_plan(case), step_ids=["s001"], all_reversible=False,
                  reopen_attacker_access=False, confirm=identity.account_id, ask=None, verify_delay=0)
    assert undone.ok and describe_budget(client, identity.account_id, name) is None


def test_existing_budget_gets_only_the_missing_alerts(account: ClientFactory, tmp_path: Path) -> None:
    rng = random.Random(RNG.randrange(10**6))
    identity = whoami(account)
    name, email = f"team-{rng.randrange(10**5)}", _email(rng)
    wanted = wanted_notifications([email])
    kept = rng.sample(wanted, rng.randrange(1, 5))
    client = account.client("budgets", "us-east-1")
    client.create_budget(AccountId=identity.account_id, Budget={
        "BudgetName": name, "BudgetType": "COST", "TimeUnit": "MONTHLY",
        "BudgetLimit": {"Amount": "250.00", "Unit": "USD"}}, NotificationsWithSubscribers=kept)
    changes = plan_budget(account, identity.account_id, limit=Decimal("250"), emails=[email], name=name)
    assert [s.action for s in changes.steps] == ["budgets.create-notification"] * (6 - len(kept))
    # moto cannot say who receives the existing alerts: the plan says to check them in the console.
    assert any("console" in note for note in changes.notes)
    case = Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)
    assert apply_changes(case, account, identity, changes.to_plan(case, identity), confirm=identity.account_id,
                         ask=None, verify_delay=0).ok
    assert len(list_notifications(client, identity.account_id, name)) == 6


def test_a_budget_of_another_kind_is_not_taken_over(account: ClientFactory) -> None:
    identity = whoami(account)
    account.client("budgets", "us-east-1").create_budget(AccountId=identity.account_id, Budget={
        "BudgetName": "usage", "BudgetType": "USAGE", "TimeUnit": "DAILY",
        "BudgetLimit": {"Amount": "3", "Unit": "GB"}})
    with pytest.raises(ValueError, match="not a monthly cost budget"):
        plan_budget(account, identity.account_id, limit=Decimal(9), emails=["a@b.io"], name="usage")


# -- the update path: moto lacks UpdateBudget, so a Stubber with the real shapes -----------------------


def _real_budget(name: str, amount: str) -> dict[str, Any]:
    return {"BudgetName": name, "BudgetLimit": {"Amount": amount, "Unit": "USD"},
            "CostTypes": {"IncludeTax": True, "IncludeSubscription": True, "UseBlended": False},
            "TimeUnit": "MONTHLY", "BudgetType": "COST",
            "TimePeriod": {"Start": datetime(2024, 1, 1, tzinfo=UTC), "End": datetime(2087, 6, 15, tzinfo=UTC)},
            "CalculatedSpend": {"ActualSpend": {"Amount": "412.7", "Unit": "USD"},
                                "ForecastedSpend": {"Amount": "980.1", "Unit": "USD"}},
            "LastUpdatedTime": datetime(2024, 5, 1, tzinfo=UTC)}


def _stubbed_factory() -> tuple[ClientFactory, Any, Stubber]:
    factory = ClientFactory(session=boto3.Session(region_name="us-east-1", aws_access_key_id="AKIAEXAMPLE",
                                                  aws_secret_access_key="x"))
    client = factory.client("budgets", "us-east-1")
    return factory, client, Stubber(client)


def test_update_path_plans_update_budget_and_applies_and_undoes_it_with_real_shapes(tmp_path: Path) -> None:
    rng = random.Random(RNG.randrange(10**6))
    account_id = f"{rng.randrange(10**11, 10**12)}"
    name, email = f"cost-{rng.randrange(10**4)}", _email(rng)
    old, new = f"{rng.randrange(10, 99)}.00", Decimal(rng.randrange(100, 900))
    factory, _client, stub = _stubbed_factory()
    notes = [{**w["Notification"], "NotificationState": rng.choice(["OK", "ALARM"])} for w in wanted_notifications([])]
    stub.add_response("describe_budget", {"Budget": _real_budget(name, old)},
                      {"AccountId": account_id, "BudgetName": name})
    stub.add_response("describe_notifications_for_budget", {"Notifications": notes},
                      {"AccountId": account_id, "BudgetName": name})
    for note in notes:
        wanted = {k: v for k, v in note.items() if k != "NotificationState"}
        stub.add_response("describe_subscribers_for_notification",
                          {"Subscribers": [{"SubscriptionType": "EMAIL", "Address": email}]},
                          {"AccountId": account_id, "BudgetName": name, "Notification": wanted})
    with stub:
        changes = plan_budget(factory, account_id, limit=new, emails=[email], name=name)
    assert [s.action for s in changes.steps] == ["budgets.update-budget"]
    step = changes.steps[0]
    assert step.expect == {"limit": old} and step.post == {"limit": f"{new}.00"}

    case = Case.create(tmp_path / "case", account_id=account_id, caller_arn=f"arn:aws:iam::{account_id}:user/ir")
    action = get_action("budgets.update-budget")
    plan = Plan(plan_id="p1", case_id=case.case_id, account_id=account_id, partition="aws",
                created=datetime.now(UTC), created_by="test", steps=[step])
    ctx = ActionContext(factory=factory, case=case, plan=plan, verify_delay=0)
    expected_new = {k: v for k, v in _real_budget(name, old).items() if k not in ("CalculatedSpend", "LastUpdatedTime")}
    expected_new["BudgetLimit"] = {"Amount": f"{new}.00", "Unit": "USD"}
    stub.add_response("describe_budget", {"Budget": _real_budget(name, old)},
                      {"AccountId": account_id, "BudgetName": name})
    stub.add_response("update_budget", {}, {"AccountId": account_id, "NewBudget": expected_new})
    stub.add_response("describe_budget", {"Budget": _real_budget(name, f"{new}.00")},
                      {"AccountId": account_id, "BudgetName": name})
    with stub:
        result = action.apply(ctx, step)
        ok, state = action.verify(ctx, step, result)
    assert ok and state == {"limit": f"{new}.00"}
    assert result["previous_limit"] == old
    json.dumps(result)  # the journal keeps it
    previous = {**result["previous"]}
    stub.add_response("update_budget", {}, {"AccountId": account_id, "NewBudget": previous})
    with stub:
        action.undo(ctx, step, result)
    stub.assert_no_pending_responses()
    assert previous["BudgetLimit"]["Amount"] == old and isinstance(previous["TimePeriod"]["Start"], str)


def test_read_budgets_reports_alarm_and_subscribers_with_real_shapes() -> None:
    rng = random.Random(RNG.randrange(10**6))
    account_id, name = f"{rng.randrange(10**11, 10**12)}", f"b-{rng.randrange(999)}"
    factory, _client, stub = _stubbed_factory()
    note = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0,
            "ThresholdType": "PERCENTAGE", "NotificationState": "ALARM"}
    people = [{"SubscriptionType": "EMAIL", "Address": _email(rng)} for _ in range(rng.randrange(1, 4))]
    stub.add_response("describe_budgets", {"Budgets": [_real_budget(name, "50.0")]}, {"AccountId": account_id})
    stub.add_response("describe_notifications_for_budget", {"Notifications": [note]},
                      {"AccountId": account_id, "BudgetName": name})
    stub.add_response("describe_subscribers_for_notification", {"Subscribers": people},
                      {"AccountId": account_id, "BudgetName": name,
                       "Notification": {k: v for k, v in note.items() if k != "NotificationState"}})
    with stub:
        report = read_budgets(factory, account_id)
    budget = report.budgets[0]
    assert budget.alert_state == "ALARM" and budget.actual_spend == "412.7" and budget.forecasted_spend == "980.1"
    assert budget.notifications[0].subscribers == len(people) and not report.errors


def test_read_budgets_names_the_api_that_failed() -> None:
    factory, _client, stub = _stubbed_factory()
    stub.add_client_error("describe_budgets", "AccessDeniedException", "not authorized", 400)
    with stub:
        report = read_budgets(factory, "123456789012")
    assert report.errors[0].api == "budgets:DescribeBudgets" and "billing/home" in report.errors[0].console_url


# -- the CLI against a seeded emulator ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        seed(srv, generate_scenario(RNG.randrange(10**5)))
        yield srv


def _run(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         *args: str) -> tuple[int, str]:
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    code = main(["recover", "budget", *args, "--endpoint-url", server.endpoint_url])
    return code, capsys.readouterr().out


def _budgets(server: EmulatorServer) -> list[str]:
    client = server.factory().client("budgets", "us-east-1")
    return [b["BudgetName"] for b in client.describe_budgets(AccountId=server.account_id).get("Budgets", [])]


def test_cli_done_when_budget_with_alerts_on_a_seeded_compromise(
        server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(server, monkeypatch, capsys, "--limit", "100", "--email", "ops@example.com", "--confirm",
                     server.account_id, "--case", str(tmp_path / "case"), "--format", "json")
    assert code == 0, out
    document = BudgetDocument.model_validate_json(out)
    assert document.applied and document.plan_id and document.ok
    client = server.factory().client("budgets", "us-east-1")
    notes = list_notifications(client, server.account_id, "awsrespond-monthly-cost")
    assert len(notes) >= 2 and {n["NotificationType"] for n in notes} == {"ACTUAL", "FORECASTED"}
    listed = document.budgets[0]
    assert listed.name == "awsrespond-monthly-cost" and Decimal(listed.limit_amount or 0) == 100
    # Listing without --limit shows it.
    code, out = _run(server, monkeypatch, capsys, "--case", str(tmp_path / "case"), "--format", "json")
    assert code == 0 and "awsrespond-monthly-cost" in {b.name for b in BudgetDocument.model_validate_json(out).budgets}


@pytest.mark.parametrize("confirm", [None, "wrong"])
def test_cli_refuses_without_or_with_a_wrong_confirm(
        server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], confirm: str | None) -> None:
    name = f"refused-{RNG.randrange(10**6)}"
    args = ["--limit", "40", "--email", _email(RNG), "--name", name, "--case", str(tmp_path / "case")]
    if confirm:
        args += ["--confirm", f"{RNG.randrange(10**11, 10**12)}" if confirm == "wrong" else confirm]
    code, _ = _run(server, monkeypatch, capsys, *args)
    assert code == 2 and name not in _budgets(server)


@pytest.mark.parametrize("args", [["--limit", "-5", "--email", "a@b.io"], ["--limit", "abc", "--email", "a@b.io"],
                                  ["--limit", "0", "--email", "a@b.io"], ["--limit", "10", "--email", "not-an-email"],
                                  ["--limit", "10"], ["--email", "a@b.io"], ["--limit", "1.005", "--email", "a@b.io"]])
def test_cli_bad_input_is_a_usage_error(server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    before = _budgets(server)
    code, out = _run(server, monkeypatch, capsys, *args, "--confirm", server.account_id,
                     "--case", str(tmp_path / "case"))
    assert code == 2 and out == "" and _budgets(server) == before
