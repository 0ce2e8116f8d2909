"""The account's recovery checklist: the manual's steps after containment, each done, to do, or by hand.

It reads (never writes): the case (containment, restore), the account (console passwords, MFA) and
the ``harden`` checks, and says for every open item the command or console page that closes it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import describe_error
from awsrespond.aws.identity import CallerIdentity
from awsrespond.case.workspace import Case
from awsrespond.harden.model import CheckResult, CheckStatus, HardenReport
from awsrespond.recover.mfa import mfa_status
from awsrespond.recover.passwords import ROOT_CREDENTIALS_URL, caller_user, login_profiles
from awsrespond.timeutil import now_utc

SUPPORT_CASE_URL = "https://console.aws.amazon.com/support/home#/case/create"


class ItemStatus(StrEnum):
    DONE = "done"
    TODO = "todo"  # awsrespond can do it: the item names the command
    MANUAL = "manual"  # only a person can do it (root, AWS Support)
    UNKNOWN = "unknown"  # could not be read: the detail names the API


class ChecklistItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    status: ItemStatus
    detail: str = Field(description="What was found (AWS-supplied text: untrusted)")
    next: str = Field(default="", description="The command or console page that closes the item")


class Checklist(BaseModel):
    """``recover checklist --format json``; the end of ``awsrespond demo``."""

    model_config = ConfigDict(extra="forbid")
    account_id: str
    case: str
    generated: datetime
    items: list[ChecklistItem]

    @property
    def open_items(self) -> list[ChecklistItem]:
        return [item for item in self.items if item.status is not ItemStatus.DONE]


def _containment(case: Case) -> ChecklistItem:
    applies = [c for c in case.manifest.commands if c.command == "contain apply"]
    title = "Cut the attacker off (containment plan applied and verified)"
    if not applies:
        return ChecklistItem(id="contain.applied", title=title, status=ItemStatus.TODO,
                             detail="no containment plan was applied in this case",
                             next="awsrespond contain plan, then awsrespond contain apply PLAN")
    last: dict[str, Any] = applies[-1].model_dump()
    ok = bool(last.get("ok"))
    return ChecklistItem(id="contain.applied", title=title, status=ItemStatus.DONE if ok else ItemStatus.TODO,
                         detail=f"plan {last.get('plan')}: " + ("every step done and verified" if ok else
                                                                 "not every step verified"),
                         next="" if ok else "awsrespond contain apply PLAN --resume")


def _passwords(factory: ClientFactory, identity: CallerIdentity) -> ChecklistItem:
    title = "New console passwords for IAM users (temporary, change required)"
    iam = factory.client("iam")
    try:
        me = caller_user(identity)
        pending = [user for user, profile in login_profiles(iam).items()
                   if user != me and not profile.get("PasswordResetRequired")]
    except (ClientError, BotoCoreError) as exc:
        return ChecklistItem(id="passwords.rotated", title=title, status=ItemStatus.UNKNOWN,
                             detail=f"iam:GetLoginProfile: {describe_error(exc)}", next="awsrespond recover passwords")
    if not pending:
        return ChecklistItem(id="passwords.rotated", title=title, status=ItemStatus.DONE,
                             detail="every console user (except you) must set a new password at next sign-in")
    return ChecklistItem(id="passwords.rotated", title=title, status=ItemStatus.TODO,
                         detail=f"{len(pending)} console users keep their password: {', '.join(pending)}",
                         next="awsrespond recover passwords --all-console-users")


def _console_mfa(factory: ClientFactory, identity: CallerIdentity, case: Case) -> ChecklistItem:
    title = "MFA on every IAM user with a console password"
    document = mfa_status(factory, identity.account_id, case)
    if document.errors and not document.console_users_without_mfa:
        return ChecklistItem(id="mfa.console-users", title=title, status=ItemStatus.UNKNOWN,
                             detail="; ".join(document.errors), next="awsrespond recover mfa")
    users = [u.user for u in document.console_users_without_mfa]
    if not users:
        return ChecklistItem(id="mfa.console-users", title=title, status=ItemStatus.DONE,
                             detail="every console user has an MFA device")
    return ChecklistItem(id="mfa.console-users", title=title, status=ItemStatus.TODO,
                         detail=f"{len(users)} without MFA: {', '.join(users)}",
                         next="each person runs: awsrespond recover mfa enrol (or an admin with --user NAME)")


def _restore(case: Case) -> ChecklistItem:
    title = "Restore what the attacker deleted or changed"
    document = case.read_json("recovery/restore.json")
    if not isinstance(document, dict):
        return ChecklistItem(id="restore", title=title, status=ItemStatus.TODO,
                             detail="not looked at yet", next="awsrespond recover restore")
    candidates = len(document.get("candidates") or [])
    lost = len(document.get("not_restorable") or [])
    if document.get("applied") or (candidates == 0 and lost == 0):
        detail = "restored" if document.get("applied") else "nothing the attacker destroyed was found"
        return ChecklistItem(id="restore", title=title, status=ItemStatus.DONE, detail=detail)
    return ChecklistItem(id="restore", title=title, status=ItemStatus.TODO,
                         detail=f"{candidates} restore candidates, {lost} with no restore source",
                         next="awsrespond recover restore")


def _from_check(check: CheckResult, item_id: str) -> ChecklistItem:
    status = {CheckStatus.PASS: ItemStatus.DONE, CheckStatus.ERROR: ItemStatus.UNKNOWN}.get(
        check.status, ItemStatus.TODO if check.fixable or "awsrespond" in check.fix else ItemStatus.MANUAL)
    return ChecklistItem(id=item_id, title=check.title, status=status, detail=check.detail,
                         next="" if status is ItemStatus.DONE else check.fix)


# Harden checks that are steps of the manual, in its order; the other checks follow as "harden.<id>".
_MANUAL_CHECKS = ("iam.root-mfa", "account.security-contact", "budgets.alerting-budget")


def recovery_checklist(case: Case, factory: ClientFactory, identity: CallerIdentity,
                       harden: HardenReport) -> Checklist:
    with ThreadPoolExecutor(max_workers=2) as pool:  # two independent series of per-user IAM reads
        passwords = pool.submit(_passwords, factory, identity)
        mfa = pool.submit(_console_mfa, factory, identity, case)
        items = [
            _containment(case),
            ChecklistItem(id="root.password", title="Change the root user's password", status=ItemStatus.MANUAL,
                          detail="only the root user can do this, in the console",
                          next=f"sign in as root, then {ROOT_CREDENTIALS_URL}"),
            passwords.result(),
            mfa.result(),
        ]
    by_id = {check.id: check for check in harden.checks}
    items.extend(_from_check(by_id[check_id], check_id) for check_id in _MANUAL_CHECKS if check_id in by_id)
    items.append(_restore(case))
    items.extend(_from_check(check, f"harden.{check.id}") for check in harden.checks
                 if check.id not in _MANUAL_CHECKS)
    items.append(ChecklistItem(
        id="aws.report", title="Report the compromise to AWS and ask for a review of the charges",
        status=ItemStatus.MANUAL, detail="AWS reviews unauthorized charges only when asked",
        next=f"open a case at {SUPPORT_CASE_URL} (Account and billing), or write to abuse@amazonaws.com"))
    return Checklist(account_id=identity.account_id, case=case.case_id, generated=now_utc(), items=items)
