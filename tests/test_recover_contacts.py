"""``recover contacts``: missing alternate contacts by type, contacts changed in the case's incident window,
setting them from a validated file through the plan / confirm / journal machinery (undo restores or deletes),
GetContactInformation with its real response shape (a Stubber: moto lacks it) and a clear error when it fails."""

from __future__ import annotations

import contextlib
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
from awsrespond.aws.identity import whoami
from awsrespond.case.workspace import Case
from awsrespond.cli.app import main
from awsrespond.contain.actions.base import ActionContext, get_action
from awsrespond.contain.model import Plan
from awsrespond.contain.service import undo
from awsrespond.emulator import EmulatorServer, generate_scenario, seed
from awsrespond.emulator.cloudtrail import cloudtrail_record, iam_user_identity
from awsrespond.recover.changes import apply_changes
from awsrespond.recover.contacts import (
    CONSOLE_URL,
    CONTACT_TYPES,
    ContactsFile,
    ContactsReport,
    flag_changes,
    plan_contacts,
    read_contacts,
)
from awsrespond.trail.stored import open_case_store
from tests.contain_support import last_applied_plan

RNG = random.Random(880417)


def _contact(rng: random.Random) -> dict[str, str]:
    first = rng.choice(["Ana", "Bo", "Chen", "Dee", "Eli"])
    return {"name": f"{first} {rng.choice(['Ruiz', 'Ng', 'Park'])}",
            "email": f"{first.lower()}{rng.randrange(99)}@x.io", "phone": f"+1 555 {rng.randrange(1000, 9999)}",
            "title": rng.choice(["CISO", "Ops lead", "CFO"])}


def _put(factory: ClientFactory, contact_type: str, contact: dict[str, str]) -> None:
    factory.client("account", "us-east-1").put_alternate_contact(
        AlternateContactType=contact_type, Name=contact["name"], EmailAddress=contact["email"],
        PhoneNumber=contact["phone"], Title=contact["title"])


@pytest.fixture
def account() -> Iterator[ClientFactory]:
    with mock_aws():
        yield ClientFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=2)


def test_read_reports_missing_types_and_the_unavailable_api_with_its_console_url(account: ClientFactory) -> None:
    rng = random.Random(RNG.randrange(10**6))
    present = set(rng.sample(CONTACT_TYPES, rng.randrange(0, 3)))
    contacts = {t: _contact(rng) for t in present}
    for contact_type, contact in contacts.items():
        _put(account, contact_type, contact)
    report = read_contacts(account, "123456789012")
    assert set(report.missing) == set(CONTACT_TYPES) - present
    for contact_type, contact in contacts.items():
        got = report.contact(contact_type)
        assert got is not None and got.set and got.email == contact["email"] and got.name == contact["name"]
    # moto answers GetContactInformation with 404: reported with the console page, the rest goes on.
    assert report.contact_information is None
    assert [(e.api, e.console_url) for e in report.errors] == [("account:GetContactInformation", CONSOLE_URL)]


def _stubbed() -> tuple[ClientFactory, Stubber]:
    factory = ClientFactory(session=boto3.Session(region_name="us-east-1", aws_access_key_id="AKIAEXAMPLE",
                                                  aws_secret_access_key="x"))
    return factory, Stubber(factory.client("account", "us-east-1"))


REAL_CONTACT = {"AddressLine1": "410 Terry Ave N", "City": "Seattle", "CompanyName": "Example Corp",
                "CountryCode": "US", "FullName": "Jane Doe", "PhoneNumber": "+12065550100", "PostalCode": "98109",
                "StateOrRegion": "WA", "WebsiteUrl": "https://example.com"}


def test_read_with_real_shapes_denied_type_is_an_error_not_missing() -> None:
    rng = random.Random(RNG.randrange(10**6))
    factory, stub = _stubbed()
    denied, missing = rng.sample(CONTACT_TYPES, 2)
    for contact_type in CONTACT_TYPES:
        if contact_type == denied:
            stub.add_client_error("get_alternate_contact", "AccessDeniedException", "no", 403)
        elif contact_type == missing:
            stub.add_client_error("get_alternate_contact", "ResourceNotFoundException", "none", 404)
        else:
            stub.add_response("get_alternate_contact", {"AlternateContact": {
                "AlternateContactType": contact_type, "EmailAddress": "a@b.io", "Name": "A", "PhoneNumber": "+1",
                "Title": "T"}}, {"AlternateContactType": contact_type})
    stub.add_response("get_contact_information", {"ContactInformation": REAL_CONTACT}, {})
    with stub:
        report = read_contacts(factory, "123456789012")
    assert report.missing == [missing]
    assert report.contact(denied).read_error  # type: ignore[union-attr]
    assert [e.api for e in report.errors] == ["account:GetAlternateContact"]
    info = report.contact_information
    assert info is not None and info.full_name == "Jane Doe" and info.to_api() == REAL_CONTACT


def test_put_contact_information_applies_and_undoes_with_real_shapes(tmp_path: Path) -> None:
    factory, stub = _stubbed()
    report = ContactsReport.model_validate({"account_id": "123456789012", "alternate_contacts": [],
                                            "contact_information": {"full_name": "Jane Doe"}})
    report.contact_information = report.contact_information.from_api(REAL_CONTACT)  # type: ignore[union-attr]
    wanted = ContactsFile.model_validate({"contact_information": {
        "full_name": "Incident Owner", "address_line1": "1 Main St", "city": "Austin", "postal_code": "73301",
        "country_code": "US", "phone_number": "+15125550100"}})
    changes = plan_contacts(report, wanted)
    step = changes.steps[0]
    assert step.action == "account.put-contact-information" and step.expect == {"contact": REAL_CONTACT}
    case = Case.create(tmp_path / "case", account_id="123456789012", caller_arn="arn:aws:iam::123456789012:user/ir")
    plan = Plan(plan_id="p1", case_id=case.case_id, account_id="123456789012", partition="aws",
                created=datetime.now(UTC), created_by="test", steps=[step])
    ctx = ActionContext(factory=factory, case=case, plan=plan, verify_delay=0)
    action = get_action("account.put-contact-information")
    new = step.params["contact"]
    stub.add_response("get_contact_information", {"ContactInformation": REAL_CONTACT}, {})
    stub.add_response("put_contact_information", {}, {"ContactInformation": new})
    stub.add_response("get_contact_information", {"ContactInformation": new}, {})
    stub.add_response("put_contact_information", {}, {"ContactInformation": REAL_CONTACT})
    with stub:
        result = action.apply(ctx, step)
        assert action.verify(ctx, step, result)[0]
        action.undo(ctx, step, result)
    stub.assert_no_pending_responses()
    assert result["previous"] == REAL_CONTACT and json.dumps(result)


def test_set_from_file_is_journaled_and_undo_restores_or_deletes(account: ClientFactory, tmp_path: Path) -> None:
    rng = random.Random(RNG.randrange(10**6))
    identity = whoami(account)
    old_type, new_type = rng.sample(CONTACT_TYPES, 2)
    old = _contact(rng)
    _put(account, old_type, old)
    wanted = ContactsFile.model_validate({"alternate_contacts": {old_type.lower(): _contact(rng),
                                                                 new_type: _contact(rng)}})
    case = Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)
    changes = plan_contacts(read_contacts(account, identity.account_id), wanted)
    assert sorted(s.target.id for s in changes.steps) == sorted([old_type, new_type])
    assert apply_changes(case, account, identity, changes.to_plan(case, identity), confirm=identity.account_id,
                         ask=None, verify_delay=0).ok
    after = read_contacts(account, identity.account_id)
    for contact_type, contact in wanted.alternate_contacts.items():
        assert after.contact(contact_type).email == contact.email  # type: ignore[union-attr]
    done = undo(case, account, identity, last_applied_plan(case), step_ids=[], all_reversible=True,
                reopen_attacker_access=False, confirm=identity.account_id, ask=None, verify_delay=0)
    assert done.ok
    restored = read_contacts(account, identity.account_id)
    assert restored.contact(old_type).email == old["email"]  # type: ignore[union-attr]
    assert new_type in restored.missing


def test_changes_in_the_window_are_flagged_per_type(tmp_path: Path) -> None:
    rng = random.Random(RNG.randrange(10**6))
    case = Case.create(tmp_path / "case", account_id="123456789012", caller_arn="arn:aws:iam::123456789012:user/ir")
    start = datetime(2024, 3, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(1000))
    case.write_json("hunt.json", {"window": {"since": start.isoformat(), "until": None}})
    changed = rng.choice(CONTACT_TYPES)
    actor = iam_user_identity(account_id="123456789012", user_name=f"u{rng.randrange(99)}", principal_id="AIDAX",
                              access_key_id="AKIAX")

    def record(name: str, when: datetime, params: dict[str, Any]) -> dict[str, Any]:
        return cloudtrail_record(event_time=when, event_source="account.amazonaws.com", event_name=name,
                                 aws_region="us-east-1", user_identity=actor, source_ip="203.0.113.9",
                                 user_agent="aws-cli", request_parameters=params)

    records = [record("PutAlternateContact", start + timedelta(minutes=5), {"alternateContactType": changed}),
               record("DeleteAlternateContact", start - timedelta(days=2),  # before the window: not flagged
                      {"alternateContactType": changed})]
    store = open_case_store(case)
    store.load_objects([("mem://1", json.dumps({"Records": records}).encode())], workers=0)
    store.db.close()
    report = read_report_without_aws(case)
    flagged = {c.type: [e.event_name for e in c.changed_in_window] for c in report.alternate_contacts}
    assert flagged[changed] == ["PutAlternateContact"]
    assert all(not v for t, v in flagged.items() if t != changed)
    assert report.needs_attention
    assert any("no PutContactInformation" in note for note in report.notes)
    assert any("no DeleteAlternateContact" in note for note in report.notes)


def read_report_without_aws(case: Case) -> ContactsReport:
    from awsrespond.recover.contacts import AlternateContact  # noqa: PLC0415

    report = ContactsReport(account_id="123456789012",
                            alternate_contacts=[AlternateContact(type=t, set=True) for t in CONTACT_TYPES])
    return flag_changes(report, case)


def test_a_case_without_events_says_so(tmp_path: Path) -> None:
    case = Case.create(tmp_path / "case", account_id="123456789012", caller_arn="arn:aws:iam::123456789012:user/ir")
    report = read_report_without_aws(case)
    assert any("no event store" in note for note in report.notes)


# -- the CLI against a seeded emulator ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        seed(srv, generate_scenario(RNG.randrange(10**5)))
        yield srv


def _run(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         *args: str) -> tuple[int, str, str]:
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    capsys.readouterr()
    code = main(["recover", "contacts", *args, "--endpoint-url", server.endpoint_url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_done_when_missing_contacts_by_type_then_set_from_file(
        server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(RNG.randrange(10**6))
    factory = server.factory()
    account = factory.client("account", "us-east-1")
    present = rng.choice(CONTACT_TYPES)
    _put(factory, present, _contact(rng))
    for contact_type in CONTACT_TYPES:
        if contact_type != present:
            with contextlib.suppress(account.exceptions.ResourceNotFoundException):
                account.delete_alternate_contact(AlternateContactType=contact_type)
    case = str(tmp_path / "case")
    code, out, err = _run(server, monkeypatch, capsys, "--case", case, "--format", "json")
    report = ContactsReport.model_validate_json(out)
    assert code == 1 and sorted(report.missing) == sorted(set(CONTACT_TYPES) - {present})
    assert "GetContactInformation" in err and CONSOLE_URL in err

    wanted = {t.lower(): _contact(rng) for t in report.missing}
    contacts_file = tmp_path / "contacts.yaml"
    contacts_file.write_text(json.dumps({"alternate_contacts": wanted}))  # JSON is YAML
    code, out, _ = _run(server, monkeypatch, capsys, "--case", case, "--from", str(contacts_file), "--format", "json",
                        "--confirm", server.account_id)
    report = ContactsReport.model_validate_json(out)
    assert code == 0 and report.applied and report.plan_id and not report.missing


def test_cli_bad_file_names_file_and_field_and_refusal_changes_nothing(
        server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(RNG.randrange(10**6))
    contact_type = rng.choice(CONTACT_TYPES)
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"alternate_contacts:\n  {contact_type.lower()}:\n    name: X\n    email: not-mail\n"
                   "    phone: '+1 5'\n    title: T\n")
    code, out, err = _run(server, monkeypatch, capsys, "--case", str(tmp_path / "c"), "--from", str(bad))
    assert code == 2 and out == "" and "bad.yaml" in err and "email" in err

    account = server.factory().client("account", "us-east-1")
    with contextlib.suppress(account.exceptions.ResourceNotFoundException):
        account.delete_alternate_contact(AlternateContactType=contact_type)
    good = tmp_path / "good.yaml"
    good.write_text(json.dumps({"alternate_contacts": {contact_type: _contact(rng)}}))
    code, _, _ = _run(server, monkeypatch, capsys, "--case", str(tmp_path / "c"), "--from", str(good),
                      "--confirm", "000000000000")
    assert code == 2
    with pytest.raises(account.exceptions.ResourceNotFoundException):
        account.get_alternate_contact(AlternateContactType=contact_type)
