"""The account's contact information and its three alternate contacts (manual step 3.5).

Reading is global (the Account API answers in us-east-1 for the aws partition). An API that does
not answer is reported with the console page to check by hand; the rest of the report goes on.
Contact details are the account's own data, not secrets: they are shown and kept in the case.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import describe_error, error_code
from awsrespond.case.workspace import Case
from awsrespond.contain.model import Target
from awsrespond.errors import UsageError
from awsrespond.recover.changes import ChangeSet
from awsrespond.timeutil import coerce_instant
from awsrespond.trail.stored import case_store_path, connect_readonly

CONTACT_TYPES: tuple[str, ...] = ("BILLING", "OPERATIONS", "SECURITY")
CONSOLE_URL = "https://console.aws.amazon.com/billing/home#/account"
ACCOUNT_REGION = "us-east-1"  # the Account API's endpoint for the aws partition
CONTACT_EVENTS: tuple[str, ...] = ("PutContactInformation", "PutAlternateContact", "DeleteAlternateContact")
_NOT_FOUND = frozenset({"ResourceNotFoundException", "ResourceNotFound"})

# GetContactInformation's ContactInformation keys -> ours
_CONTACT_FIELDS = {
    "FullName": "full_name", "CompanyName": "company_name", "AddressLine1": "address_line1",
    "AddressLine2": "address_line2", "AddressLine3": "address_line3", "City": "city",
    "DistrictOrCounty": "district_or_county", "StateOrRegion": "state_or_region", "PostalCode": "postal_code",
    "CountryCode": "country_code", "PhoneNumber": "phone_number", "WebsiteUrl": "website_url",
}


class ReadError(BaseModel):
    """An API that did not answer, and where to look instead."""

    model_config = ConfigDict(extra="forbid")
    api: str = Field(description="service:Operation, e.g. account:GetContactInformation")
    region: str
    code: str
    message: str
    console_url: str = Field(description="The console page that shows the same thing")


class ContactEvent(BaseModel):
    """A CloudTrail event in the case that changed a contact."""

    model_config = ConfigDict(extra="forbid")
    event_id: str
    event_time: datetime | None
    event_name: str
    region: str | None = None
    actor: str | None = Field(default=None, description="userIdentity.arn")
    source_ip: str | None = None
    contact_type: str | None = Field(default=None, description="BILLING/OPERATIONS/SECURITY; None for the "
                                     "primary contact information")


class AlternateContact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    set: bool
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    read_error: bool = Field(default=False, description="GetAlternateContact failed: `set` is unknown (False)")
    changed_in_window: list[ContactEvent] = Field(default_factory=list)


class ContactInformation(BaseModel):
    """The account's primary contact (GetContactInformation)."""

    model_config = ConfigDict(extra="forbid")
    full_name: str | None = None
    company_name: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    city: str | None = None
    district_or_county: str | None = None
    state_or_region: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone_number: str | None = None
    website_url: str | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ContactInformation:
        return cls(**{ours: str(data[theirs]) for theirs, ours in _CONTACT_FIELDS.items() if data.get(theirs)})

    def to_api(self) -> dict[str, str]:
        values = self.model_dump()
        return {theirs: values[ours] for theirs, ours in _CONTACT_FIELDS.items() if values.get(ours)}


class ContactsReport(BaseModel):
    """What ``recover contacts --format json`` prints (and ``read_contacts`` returns)."""

    model_config = ConfigDict(extra="forbid")
    account_id: str
    alternate_contacts: list[AlternateContact]
    contact_information: ContactInformation | None = Field(
        default=None, description="None when GetContactInformation did not answer (see errors)")
    contact_information_changed_in_window: list[ContactEvent] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list, description="Alternate contact types not set")
    errors: list[ReadError] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="What the case's events could and could not tell")
    plan_id: str | None = Field(default=None, description="The plan of changes made or saved, if any")
    applied: bool = Field(default=False, description="Changes were applied (see the plan's journal)")

    def contact(self, contact_type: str) -> AlternateContact | None:
        return next((c for c in self.alternate_contacts if c.type == contact_type), None)

    @property
    def needs_attention(self) -> bool:
        return bool(self.missing) or any(c.changed_in_window for c in self.alternate_contacts)


def _read_error(api: str, region: str, exc: ClientError | BotoCoreError) -> ReadError:
    return ReadError(api=api, region=region, code=error_code(exc), message=describe_error(exc),
                     console_url=CONSOLE_URL)


def read_alternate_contact(client: Any, contact_type: str) -> dict[str, Any] | None:
    """GetAlternateContact's AlternateContact, or None when that type is not set. Other errors raise."""
    try:
        answer = client.get_alternate_contact(AlternateContactType=contact_type)
    except ClientError as exc:
        if error_code(exc) in _NOT_FOUND:
            return None
        raise
    contact: dict[str, Any] = answer.get("AlternateContact") or {}
    return contact


def read_contact_information(client: Any) -> dict[str, Any]:
    answer = client.get_contact_information()
    info: dict[str, Any] = answer.get("ContactInformation") or {}
    return info


def read_contacts(factory: ClientFactory, account_id: str, *, region: str = ACCOUNT_REGION) -> ContactsReport:
    """The primary contact and the three alternate contacts of the caller's account (read-only).

    ``account_id`` labels the report; the calls go without AccountId (the caller's own account:
    naming it would need Organizations trusted access).
    """
    client = factory.client("account", region)
    errors: list[ReadError] = []
    contacts: list[AlternateContact] = []
    for contact_type in CONTACT_TYPES:
        try:
            data = read_alternate_contact(client, contact_type)
        except (ClientError, BotoCoreError) as exc:
            errors.append(_read_error("account:GetAlternateContact", region, exc))
            contacts.append(AlternateContact(type=contact_type, set=False, read_error=True))
            continue
        if data is None:
            contacts.append(AlternateContact(type=contact_type, set=False))
        else:
            contacts.append(AlternateContact(
                type=contact_type, set=True, name=data.get("Name"), email=data.get("EmailAddress"),
                phone=data.get("PhoneNumber"), title=data.get("Title")))
    information: ContactInformation | None = None
    try:
        information = ContactInformation.from_api(read_contact_information(client))
    except (ClientError, BotoCoreError) as exc:
        errors.append(_read_error("account:GetContactInformation", region, exc))
    missing = [c.type for c in contacts if not c.set and not c.read_error]
    return ContactsReport(account_id=account_id, alternate_contacts=contacts, contact_information=information,
                          missing=missing, errors=errors)


# -- what the case's CloudTrail events say ---------------------------------------------------------


def case_window(case: Case) -> tuple[datetime | None, datetime | None]:
    """The incident window the case was hunted / triaged over (None, None when it has none)."""
    for name in ("hunt.json", "triage.json"):
        document = case.read_json(name)
        if isinstance(document, dict) and isinstance(document.get("window"), dict):
            window = document["window"]
            return coerce_instant(window.get("since")), coerce_instant(window.get("until"))
    return None, None


def contact_events(case: Case, names: tuple[str, ...] = CONTACT_EVENTS) -> list[ContactEvent] | None:
    """Successful contact-changing events in the case's event store within its window, oldest first.

    None when the case has no event store at all.
    """
    path = case_store_path(case)
    if not path.exists():
        return None
    since, until = case_window(case)
    query = ("SELECT eventID, eventTime, eventName, awsRegion, userIdentity.arn, sourceIPAddress, "
             "CAST(requestParameters AS VARCHAR) FROM events WHERE eventName IN (SELECT unnest(?::VARCHAR[])) "
             "AND errorCode IS NULL")
    params: list[Any] = [list(names)]
    if since is not None:
        query += " AND eventTime >= ?"
        params.append(since)
    if until is not None:
        query += " AND eventTime <= ?"
        params.append(until)
    con = connect_readonly(path)
    try:
        rows = con.execute(query + " ORDER BY eventTime", params).fetchall()
    finally:
        con.close()
    events: list[ContactEvent] = []
    for event_id, when, name, region, actor, source_ip, blob in rows:
        request = json.loads(blob) if blob else {}
        contact_type = request.get("alternateContactType") if isinstance(request, dict) else None
        events.append(ContactEvent(
            event_id=str(event_id or ""), event_time=when, event_name=str(name), region=region, actor=actor,
            source_ip=source_ip, contact_type=str(contact_type).upper() if contact_type else None))
    return events


def flag_changes(report: ContactsReport, case: Case,
                 events: Callable[[Case], list[ContactEvent] | None] = contact_events) -> ContactsReport:
    """Attach the case's contact-changing events to the report, with notes on what the case lacks."""
    found = events(case)
    if found is None:
        report.notes.append(f"the case {case.root} has no event store: run `awsrespond hunt` to check whether "
                            f"the attacker changed contacts ({', '.join(CONTACT_EVENTS)})")
        return report
    for contact in report.alternate_contacts:
        contact.changed_in_window = [e for e in found if e.event_name != "PutContactInformation"
                                     and e.contact_type == contact.type]
    report.contact_information_changed_in_window = [e for e in found if e.event_name == "PutContactInformation"]
    for name in CONTACT_EVENTS:
        if not any(e.event_name == name for e in found):
            report.notes.append(f"the case has no {name} events in its window")
    return report


# -- what to set: the --from file, prompts, and the plan of changes --------------------------------


class AlternateContactInput(BaseModel):
    """One alternate contact to set: PutAlternateContact needs all four fields."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=64)
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str = Field(min_length=1, max_length=25, pattern=r"^[\s0-9()+-]+$")
    title: str = Field(min_length=1, max_length=50)


class ContactInformationInput(BaseModel):
    """The primary contact to set: the fields PutContactInformation requires, and the optional ones."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    full_name: str = Field(min_length=1, max_length=50)
    address_line1: str = Field(min_length=1, max_length=60)
    city: str = Field(min_length=1, max_length=50)
    postal_code: str = Field(min_length=1, max_length=20)
    country_code: str = Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")
    phone_number: str = Field(min_length=1, max_length=20, pattern=r"^[+][\s0-9()-]+$")
    address_line2: str | None = Field(default=None, max_length=60)
    address_line3: str | None = Field(default=None, max_length=60)
    state_or_region: str | None = Field(default=None, max_length=50)
    district_or_county: str | None = Field(default=None, max_length=50)
    company_name: str | None = Field(default=None, max_length=50)
    website_url: str | None = Field(default=None, max_length=256)

    def to_api(self) -> dict[str, str]:
        return ContactInformation(**self.model_dump()).to_api()


class ContactsFile(BaseModel):
    """``recover contacts --from FILE.yaml``::

        alternate_contacts:
          security: {name: ..., email: ..., phone: ..., title: ...}
        contact_information: {full_name: ..., address_line1: ..., city: ..., postal_code: ...,
                              country_code: US, phone_number: "+1 ..."}
    """

    model_config = ConfigDict(extra="forbid")
    alternate_contacts: dict[str, AlternateContactInput] = Field(default_factory=dict)
    contact_information: ContactInformationInput | None = None

    @field_validator("alternate_contacts", mode="before")
    @classmethod
    def _types(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        upper = {str(k).upper(): v for k, v in value.items()}
        unknown = sorted(set(upper) - set(CONTACT_TYPES))
        if unknown:
            raise ValueError(f"unknown alternate contact type {', '.join(unknown)} (use {', '.join(CONTACT_TYPES)})")
        return upper


def load_contacts_file(path: Path) -> ContactsFile:
    """The --from file, validated; UsageError naming the file and the field otherwise."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return ContactsFile.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
                             for e in exc.errors())
        raise UsageError(f"{path}: {problems}") from exc


def _state(contact: AlternateContact | None) -> dict[str, Any]:
    if contact is None or not contact.set:
        return {"name": None, "email": None, "phone": None, "title": None}
    return {"name": contact.name, "email": contact.email, "phone": contact.phone, "title": contact.title}


def plan_contacts(report: ContactsReport, wanted: ContactsFile, *, region: str = ACCOUNT_REGION) -> ChangeSet:
    """The steps that set what ``wanted`` names and differs from ``report``."""
    changes = ChangeSet(command="recover contacts")
    for contact_type, contact in sorted(wanted.alternate_contacts.items()):
        current = report.contact(contact_type)
        if current is not None and current.read_error:
            changes.note(f"{contact_type} contact could not be read: not changed; set it in the console at "
                         f"{CONSOLE_URL}")
            continue
        before, after = _state(current), contact.model_dump()
        if before == after:
            changes.note(f"{contact_type} contact is already as the file says")
            continue
        changes.add("account.put-alternate-contact",
                    Target(type="AWS::Account::AlternateContact", id=contact_type, region=region),
                    expect=before, post=after, params=after,
                    reason=f"{contact_type.lower()} contact is "
                           + ("missing" if current is None or not current.set else "to be replaced")
                           + (" (changed during the incident)" if current and current.changed_in_window else ""))
    if wanted.contact_information is not None:
        if report.contact_information is None:
            changes.note("the contact information could not be read, so it is not changed here: set it in the "
                         f"console at {CONSOLE_URL}")
        else:
            before_info = {"contact": report.contact_information.to_api()}
            after_info = {"contact": wanted.contact_information.to_api()}
            if before_info == after_info:
                changes.note("the contact information is already as the file says")
            else:
                changes.add("account.put-contact-information",
                            Target(type="AWS::Account::ContactInformation", id=report.account_id, region=region),
                            expect=before_info, post=after_info, params=after_info,
                            reason="primary contact information from the file")
    return changes
