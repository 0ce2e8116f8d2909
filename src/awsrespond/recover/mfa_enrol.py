"""``recover mfa enrol``: a virtual MFA device for the person at the keyboard (DESIGN.md 3.16).

The device's seed exists only in this process's memory and in the QR code drawn on the terminal: it is
never written to disk, the case, evidence, logs or the journal. That is why the creation does not go
through a registered action (the executor keeps results and evidence); this module does the same
safety work itself - the caller is not the attacker, the account is confirmed (typed or
``--confirm``), each AWS call is announced in the case's journal before it is sent and its result
(serial number only) written after - and deletes the device again when the person cannot prove
they hold it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import segno
from botocore.exceptions import ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.case.workspace import Case
from awsrespond.contain.actions.base import TAG_CASE, TAG_PLAN, TAG_STEP
from awsrespond.contain.journal import Event, Journal
from awsrespond.contain.planio import JOURNAL
from awsrespond.contain.safety import caller_key, check_account, check_not_attacker, principal_of
from awsrespond.errors import AwsCallError, SafetyError, UsageError
from awsrespond.recover.changes import ChangeSet
from awsrespond.recover.mfa import IAM_USER, AttackerArtefacts
from awsrespond.recover.passwords import caller_user

COMMAND = "recover mfa enrol"
CODE = re.compile(r"^\d{6}$")
TOTP_STEP = 30
ATTEMPTS = 3
_NAME_BAD = re.compile(r"[^\w+=,.@-]", re.ASCII)
_NAME_MAX = 226


@dataclass
class Terminal:
    """Where the person is: ``ask`` reads a line, ``show`` prints to the terminal (never to a log)."""

    ask: Callable[[str], str]
    show: Callable[[str], None]
    is_tty: bool
    clock: Callable[[], float] = time.time


@dataclass
class EnrolResult:
    user: str
    serial: str | None
    enabled: bool
    message: str
    journal: list[str] = field(default_factory=list)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def totp(seed_base32: str, counter: int, digits: int = 6) -> str:
    """RFC 6238 / 4226 code (HMAC-SHA1) for one 30-second step counter."""
    key = base64.b32decode(seed_base32.upper() + "=" * (-len(seed_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def consecutive(seed_base32: str, first: str, second: str, now: float, window: int = 4) -> bool:
    """Whether the two codes are those of two consecutive steps near ``now`` (the phone's clock may drift)."""
    current = int(now // TOTP_STEP)
    return any(totp(seed_base32, c) == first and totp(seed_base32, c + 1) == second
               for c in range(current - window, current + 2))


def otpauth_uri(seed_base32: str, user: str, account: str) -> str:
    label = quote(f"Amazon Web Services:{user}@{account}", safe="@:")
    return f"otpauth://totp/{label}?secret={seed_base32}&issuer={quote('Amazon Web Services')}"


def qr_drawing(uri: str) -> str:
    """The QR code as terminal text (half blocks): the only place the seed is shown."""
    out = io.StringIO()
    segno.make(uri, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def device_name(user: str, plan_id: str) -> str:
    tail = f"-awsrespond-{plan_id[-8:]}"
    return _NAME_BAD.sub("-", user)[:_NAME_MAX - len(tail)] + tail


def _user_exists(iam: Any, user: str) -> bool:
    try:
        iam.get_user(UserName=user)
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return False
        raise
    return True


class _Enrolment:
    def __init__(self, case: Case, factory: ClientFactory, identity: CallerIdentity, user: str, plan_id: str) -> None:
        self.case, self.identity, self.user, self.plan_id = case, identity, user, plan_id
        self.iam = factory.client("iam")
        self.journal = Journal(case.root / JOURNAL)
        self.lines: list[str] = []

    def note(self, event: Event, step: str, **data: Any) -> None:
        self.journal.write(self.plan_id, event, step, command=COMMAND, **data)
        self.lines.append(f"{step} {event.value}")

    def create(self) -> tuple[str, str]:
        """CreateVirtualMFADevice: (serial, seed). The seed stays in the caller's local variables."""
        name = device_name(self.user, self.plan_id)
        target = {"type": "AWS::IAM::VirtualMFADevice", "id": name, "region": "global"}
        self.note(Event.INTENT, "s001", action="iam.create-virtual-mfa-device", target=target, user=self.user)
        tags = [{"Key": TAG_CASE, "Value": self.case.case_id}, {"Key": TAG_STEP, "Value": "s001"},
                {"Key": TAG_PLAN, "Value": self.plan_id}]
        try:
            device = self.iam.create_virtual_mfa_device(VirtualMFADeviceName=name, Tags=tags)["VirtualMFADevice"]
        except ClientError as exc:
            self.note(Event.FAILED, "s001", message=f"CreateVirtualMFADevice answered {_code(exc)}")
            raise AwsCallError(f"could not create the device ({_code(exc)})", operation="iam:CreateVirtualMFADevice",
                               region=None, code=_code(exc)) from exc
        serial = str(device["SerialNumber"])
        raw = device["Base32StringSeed"]
        seed = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
        del device, raw
        self.note(Event.RESULT, "s001", result={"serial": serial, "user": self.user})
        return serial, seed

    def enable(self, serial: str, first: str, second: str) -> str | None:
        """EnableMFADevice; None when done, else why not."""
        target = {"type": IAM_USER, "id": self.user, "region": "global"}
        self.note(Event.INTENT, "s002", action="iam.enable-mfa-device", target=target, serial=serial)
        try:
            self.iam.enable_mfa_device(UserName=self.user, SerialNumber=serial, AuthenticationCode1=first,
                                       AuthenticationCode2=second)
        except ClientError as exc:
            self.note(Event.FAILED, "s002", message=f"EnableMFADevice answered {_code(exc)}")
            return f"EnableMFADevice answered {_code(exc)}"
        self.note(Event.RESULT, "s002", result={"serial": serial, "user": self.user})
        return None

    def verify(self, serial: str) -> bool:
        pages = self.iam.get_paginator("list_mfa_devices").paginate(UserName=self.user)
        ok = any(d.get("SerialNumber") == serial for page in pages for d in page.get("MFADevices", []))
        self.note(Event.VERIFY, "s002", ok=ok, message="" if ok else "the device is not listed for the user")
        return ok

    def remove(self, serial: str) -> None:
        """Delete the device the person could not confirm (it was never enabled)."""
        target = {"type": "AWS::IAM::VirtualMFADevice", "id": serial, "region": "global"}
        self.note(Event.INTENT, "s003", action="iam.delete-virtual-mfa-device", target=target)
        try:
            self.iam.delete_virtual_mfa_device(SerialNumber=serial)
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                self.note(Event.FAILED, "s003", message=f"DeleteVirtualMFADevice answered {_code(exc)}")
                raise AwsCallError(f"the unconfirmed device {serial} could not be deleted ({_code(exc)}): delete it "
                                   f"with aws iam delete-virtual-mfa-device --serial-number {serial}",
                                   operation="iam:DeleteVirtualMFADevice", region=None, code=_code(exc)) from exc
        self.note(Event.RESULT, "s003", result={"serial": serial, "deleted": True})


def _ask_codes(term: Terminal) -> tuple[str, str] | None:
    first = term.ask("Enter the 6-digit code the app shows now").strip().replace(" ", "")
    second = term.ask("Wait for the code to change, then enter the next one").strip().replace(" ", "")
    if not (CODE.match(first) and CODE.match(second)):
        term.show("Each code is 6 digits.")
        return None
    return first, second


def target_user(identity: CallerIdentity, user: str | None) -> str:
    if user:
        return user
    mine = caller_user(identity)
    if mine is None:
        raise UsageError(f"you are signed in as {principal_of(identity.arn)}, not an IAM user: name the present "
                         "person's IAM user with --user NAME")
    return mine


def enrol(case: Case, factory: ClientFactory, identity: CallerIdentity, term: Terminal, *, user: str | None,
          confirm: str | None) -> EnrolResult:
    """Create, show, confirm with two consecutive codes, enable. Refuses (before any write) off a terminal,
    on the attacker's credentials, for a user the attacker created, and without the account confirmed."""
    if not term.is_tty:
        raise UsageError("recover mfa enrol needs a terminal: the QR code is shown only there, and the person "
                         "types two codes from the app")
    name = target_user(identity, user)
    plan = ChangeSet(command=COMMAND).to_plan(case, identity)
    check_not_attacker(identity, caller_key(factory), plan)
    arn = f"arn:{identity.partition}:iam::{identity.account_id}:user/{name}"
    if AttackerArtefacts(case).has(IAM_USER, name) or arn in plan.compromised.principals:
        raise SafetyError(f"the case attributes user {name} to the attacker: enrol no MFA device for it "
                          "(contain removes or locks it)")
    iam = factory.client("iam")
    if not _user_exists(iam, name):
        raise UsageError(f"there is no IAM user {name} in account {identity.account_id}")
    term.show(f"A virtual MFA device will be created for IAM user {name} in account {identity.account_id} and "
              "enabled once two consecutive codes from the app match.")
    check_account(identity, plan, confirm, term.ask)
    job = _Enrolment(case, factory, identity, name, plan.plan_id)
    serial, seed = job.create()
    enabled = False
    try:
        term.show(qr_drawing(otpauth_uri(seed, name, identity.account_id)))
        term.show(f"Scan this with the authenticator app (device {serial}).")
        for attempt in range(1, ATTEMPTS + 1):
            codes = _ask_codes(term)
            if codes is not None and consecutive(seed, *codes, now=term.clock()):
                problem = job.enable(serial, *codes)
                if problem is None:
                    enabled = True
                    break
                term.show(f"AWS did not accept the codes ({problem}).")
            elif codes is not None:
                term.show("Those are not two consecutive codes of this device (is the phone's clock right?).")
            if attempt < ATTEMPTS:
                term.show(f"Try again ({ATTEMPTS - attempt} left).")
    finally:
        del seed
        if not enabled:
            job.remove(serial)
    if not enabled:
        case.record_command(COMMAND, plan=plan.plan_id, user=name, enabled=False)
        return EnrolResult(user=name, serial=None, enabled=False, journal=job.lines,
                           message=f"the codes did not match: the new device {serial} was deleted; nothing changed")
    verified = job.verify(serial)
    case.record_command(COMMAND, plan=plan.plan_id, user=name, serial=serial, enabled=True, verified=verified)
    message = f"MFA device {serial} is enabled for {name}" + ("" if verified else " (not yet listed: check again)")
    return EnrolResult(user=name, serial=serial, enabled=True, message=message, journal=job.lines)
