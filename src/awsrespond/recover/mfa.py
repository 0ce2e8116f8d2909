"""``recover mfa``: who can sign in to the console without a second factor, and MFA devices nobody holds.

Read-only. Root MFA from GetAccountSummary (AccountMFAEnabled), every IAM user with a console password
(GetLoginProfile) and no MFA device (ListMFADevices), virtual MFA devices assigned to nobody
(ListVirtualMFADevices, AssignmentStatus=Unassigned). A device or user is flagged as the attacker's
when the case says so: an attacker-created finding on it, or an attacker session that created it
(CreateVirtualMFADevice, CreateUser) or enabled it (EnableMFADevice). Never keeps a device's seed:
only serial numbers leave this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from awsrespond.attribution import case_sessions
from awsrespond.aws.clients import ClientFactory
from awsrespond.case.workspace import Case
from awsrespond.contain.planner.events import case_event_reader
from awsrespond.findings import Classification
from awsrespond.recover.passwords import READ_WORKERS, console_users

MFA_DEVICE = "AWS::IAM::VirtualMFADevice"
IAM_USER = "AWS::IAM::User"
ROOT_CREDENTIALS_URL = "https://console.aws.amazon.com/iam/home#/security_credentials"
IAM_USERS_URL = "https://console.aws.amazon.com/iam/home#/users"
ROOT_MFA_HELP_URL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-virt-mfa-for-root.html"
LOST_MFA_HELP_URL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_lost-or-broken.html"


class ConsoleUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str
    attacker: bool = Field(description="The case attributes this user to the attacker (created by an attacker "
                                       "session, or an attacker-created finding)")


class UnassignedDevice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: str
    created: datetime | None = Field(description="When an attacker session created it, where the case knows")
    attacker: bool


class MfaDocument(BaseModel):
    """``recover mfa --format json``."""

    model_config = ConfigDict(extra="forbid")

    account_id: str
    root_mfa: bool | None = Field(description="AccountMFAEnabled; null when GetAccountSummary could not be read")
    console_users_without_mfa: list[ConsoleUser]
    unassigned_virtual_mfa: list[UnassignedDevice]
    errors: list[str] = Field(default_factory=list, description="API calls that failed, and what to check instead")
    guidance: list[str]

    @property
    def needs_attention(self) -> bool:
        return (self.root_mfa is not True or bool(self.console_users_without_mfa)
                or bool(self.unassigned_virtual_mfa) or bool(self.errors))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class AttackerArtefacts:
    """What the case attributes to the attacker, by resource type: ids and, where known, creation times."""

    def __init__(self, case: Case | None) -> None:
        self.created: dict[tuple[str, str], datetime | None] = {}
        if case is None:
            return
        findings = case.findings()
        for finding in findings.findings if findings else []:
            if finding.classification is Classification.ATTACKER_CREATED:
                self.created.setdefault((finding.resource.type, finding.resource.id), finding.created)
        sessions = case_sessions(case)
        for session in sessions:
            for resource in session.created:
                self.created[(resource.type, resource.id)] = resource.time
        enabled = [e.event_id for s in sessions for e in s.timeline
                   if e.event_name == "EnableMFADevice" and e.error_code is None and e.event_id]
        read = case_event_reader(case) if enabled else None
        for record in read(enabled) if read else []:
            serial = (record.get("requestParameters") or {}).get("serialNumber")
            if isinstance(serial, str) and serial:
                self.created.setdefault((MFA_DEVICE, serial), None)

    def has(self, resource_type: str, resource_id: str) -> bool:
        return (resource_type, resource_id) in self.created

    def when(self, resource_type: str, resource_id: str) -> datetime | None:
        return self.created.get((resource_type, resource_id))


def _paged(iam: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    return [item for page in iam.get_paginator(operation).paginate(**kwargs) for item in page.get(key, [])]


def root_mfa_enabled(iam: Any) -> bool:
    return bool(iam.get_account_summary()["SummaryMap"].get("AccountMFAEnabled"))


def users_without_mfa(iam: Any, users: Iterable[str]) -> list[str]:
    names = list(users)
    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        devices = list(pool.map(lambda user: _paged(iam, "list_mfa_devices", "MFADevices", UserName=user), names))
    return [user for user, found in zip(names, devices, strict=True) if not found]


def unassigned_serials(iam: Any) -> list[str]:
    """Serial numbers only: the listing may carry seeds (the emulator returns them), which go no further."""
    devices = _paged(iam, "list_virtual_mfa_devices", "VirtualMFADevices", AssignmentStatus="Unassigned")
    return sorted(str(d["SerialNumber"]) for d in devices if not d.get("User"))


def guidance(root_mfa: bool | None, without: list[ConsoleUser], unassigned: list[UnassignedDevice]) -> list[str]:
    lines: list[str] = []
    if root_mfa is not True:
        lines.append("Root user MFA: sign in as the root user, open Security credentials "
                     f"({ROOT_CREDENTIALS_URL}), 'Assign MFA device', and register a device only you hold "
                     f"(a passkey or security key, or an authenticator app) - {ROOT_MFA_HELP_URL}")
    if without:
        lines.append("Each person with a console password and no MFA enrols a device while at the keyboard: "
                     "`awsrespond recover mfa enrol` (their own IAM user) or `awsrespond recover mfa enrol --user "
                     f"NAME` run by an administrator with that person present; or the IAM console ({IAM_USERS_URL}, "
                     "the user, Security credentials, 'Assign MFA device'). Users the attacker created are "
                     "removed by `awsrespond contain`, not enrolled.")
    if unassigned:
        lines.append("Virtual MFA devices assigned to nobody: delete the attacker's (`awsrespond contain` plans it) "
                     "and any other nobody recognises: aws iam delete-virtual-mfa-device --serial-number SERIAL")
    lines += [
        "Lost MFA, IAM user: an administrator deactivates the device (aws iam deactivate-mfa-device "
        "--user-name NAME --serial-number SERIAL, or the IAM console: the user, Security credentials, "
        "'Remove'), then the person enrols a new one (`awsrespond recover mfa enrol`).",
        "Lost MFA, root user: on the root sign-in page choose 'Trouble signing in with MFA?' and sign in "
        "with the alternative factors - the account's email address and its primary contact phone number "
        f"(keep both current: `awsrespond recover contacts`) - {LOST_MFA_HELP_URL}",
    ]
    return lines


def mfa_status(factory: ClientFactory, account_id: str, case: Case | None) -> MfaDocument:
    """Read the MFA posture. An API that answers with an error is named in ``errors``; the rest goes on."""
    iam = factory.client("iam")
    attacker = AttackerArtefacts(case)
    errors: list[str] = []
    root: bool | None = None
    try:
        root = root_mfa_enabled(iam)
    except ClientError as exc:
        errors.append(f"iam GetAccountSummary (global) answered {_code(exc)}: check the root user's MFA in the "
                      f"console ({ROOT_CREDENTIALS_URL}, signed in as root)")
    without: list[ConsoleUser] = []
    try:
        without = [ConsoleUser(user=u, attacker=attacker.has(IAM_USER, u))
                   for u in users_without_mfa(iam, console_users(iam))]
    except ClientError as exc:
        errors.append(f"iam ListUsers/GetLoginProfile/ListMFADevices (global) answered {_code(exc)}: check each "
                      f"user's console access and MFA in the console ({IAM_USERS_URL})")
    unassigned: list[UnassignedDevice] = []
    try:
        unassigned = [UnassignedDevice(serial=s, created=attacker.when(MFA_DEVICE, s),
                                       attacker=attacker.has(MFA_DEVICE, s)) for s in unassigned_serials(iam)]
    except ClientError as exc:
        errors.append(f"iam ListVirtualMFADevices (global) answered {_code(exc)}: check the MFA devices in the "
                      f"console ({IAM_USERS_URL})")
    return MfaDocument(account_id=account_id, root_mfa=root, console_users_without_mfa=without,
                       unassigned_virtual_mfa=unassigned, errors=errors,
                       guidance=guidance(root, without, unassigned))
