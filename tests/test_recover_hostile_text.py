"""Strings the attacker controls (alternate contacts, budget names) are printed as inert text by the
recover commands: no Rich markup applied, no terminal escape emitted (DESIGN.md section 7)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from awsrespond.cli import main

ESC = "\x1b"


def _payloads(rng: random.Random) -> dict[str, str]:
    tag = rng.choice(["red", "bold", "blink", "reverse"])
    return {
        "markup": f"[{tag}]owned-{rng.randrange(10**4)}[/{tag}]",
        "link": f"[link=https://evil.example/{rng.randrange(10**4)}]click[/link]",
        "ansi": f"{ESC}[2J{ESC}]8;;https://evil.example{ESC}\\x",
    }


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        yield


def _text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    main(list(argv))
    captured = capsys.readouterr()
    return captured.out + captured.err


@pytest.mark.parametrize("seed", [3, 17])
def test_contacts_and_budgets_print_attacker_strings_inertly(account: None, tmp_path: Path, seed: int,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(seed)
    bad = _payloads(rng)
    boto3.client("account", region_name="us-east-1").put_alternate_contact(
        AlternateContactType=rng.choice(["BILLING", "OPERATIONS", "SECURITY"]), Name=bad["markup"],
        Title=bad["link"], EmailAddress="a@example.com", PhoneNumber="+1 555 0100")
    account_id = boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"]
    boto3.client("budgets", region_name="us-east-1").create_budget(AccountId=account_id, Budget={
        "BudgetName": bad["markup"] + bad["ansi"], "BudgetType": "COST", "TimeUnit": "MONTHLY",
        "BudgetLimit": {"Amount": "50", "Unit": "USD"}})
    case = str(tmp_path / "case")
    for argv in (["recover", "contacts", "--case", case], ["recover", "budget", "--case", case]):
        text = _text(capsys, *argv)
        assert ESC not in text, argv
        assert bad["markup"] in text, argv  # shown literally, not styled away
    assert bad["link"] in _text(capsys, "recover", "contacts", "--case", case)
