"""IAM credentials unused for 90 days: console passwords and active access keys (the credential report).

A credential is unused when its last use is more than 90 days ago, or when it was never used and is
older than 90 days. The report names the users; each flagged user's keys are then read
(ListAccessKeys, GetAccessKeyLastUsed) to name the exact key ids the fix deactivates.
"""

from __future__ import annotations

import base64
import csv
import io
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from awsrespond.contain.model import Target
from awsrespond.contain.safety import principal_of
from awsrespond.harden.model import CheckSeverity, CheckStatus
from awsrespond.harden.registry import GLOBAL, HardenContext, Outcome, check, failed, fixer, passed
from awsrespond.recover.changes import ChangeSet
from awsrespond.timeutil import as_utc, coerce_instant

CHECK_ID = "iam.unused-credentials-90d"
UNUSED_DAYS = 90
ROOT_ROW = "<root_account>"
REPORT_WAIT_SECONDS = 30.0
KEY = "AWS::IAM::AccessKey"
USER = "AWS::IAM::User"


def _instant(value: Any) -> datetime | None:
    """A report or API time; None for N/A, no_information, not_supported and the like."""
    if isinstance(value, datetime):
        return as_utc(value)
    if not isinstance(value, str) or not value[:1].isdigit():
        return None
    return coerce_instant(value)


def credential_report(ctx: HardenContext) -> dict[str, dict[str, str]]:
    """The credential report's rows by user (GenerateCredentialReport until COMPLETE, then GetCredentialReport)."""
    def compute() -> dict[str, dict[str, str]]:
        deadline = time.monotonic() + REPORT_WAIT_SECONDS
        pause = 0.2
        while ctx.call("iam", "generate_credential_report", GLOBAL).get("State") != "COMPLETE":
            if time.monotonic() > deadline:
                break  # GetCredentialReport then answers ReportInProgress, which names the problem
            time.sleep(pause)
            pause = min(2.0, pause * 2)
        raw = ctx.call("iam", "get_credential_report", GLOBAL)
        content = raw["Content"]
        text = content.decode() if isinstance(content, bytes) else base64.b64decode(content).decode()
        return {row["user"]: row for row in csv.DictReader(io.StringIO(text))}
    return ctx.shared("iam.credential_report", compute)


def _stale(last_used: datetime | None, created: datetime | None, now: datetime) -> str | None:
    """Why a credential counts as unused, or None."""
    limit = now - timedelta(days=UNUSED_DAYS)
    if last_used is not None:
        return f"last used {last_used:%Y-%m-%d}" if last_used < limit else None
    if created is not None and created < limit:
        return f"never used, created {created:%Y-%m-%d}"
    return None


def _stale_keys(ctx: HardenContext, user: str) -> list[tuple[str, str]]:
    """(key id, why) of the user's active keys unused for 90 days."""
    found = []
    for key in ctx.pages("iam", "list_access_keys", "AccessKeyMetadata", GLOBAL, UserName=user):
        if key.get("Status") != "Active":
            continue
        last = ctx.call("iam", "get_access_key_last_used", GLOBAL,
                        AccessKeyId=key["AccessKeyId"]).get("AccessKeyLastUsed") or {}
        why = _stale(_instant(last.get("LastUsedDate")), _instant(key.get("CreateDate")), ctx.now)
        if why:
            found.append((str(key["AccessKeyId"]), why))
    return found


@check(CHECK_ID, "No IAM console password or access key unused for 90 days", CheckSeverity.MEDIUM)
def unused_credentials(ctx: HardenContext) -> Outcome:
    rows = credential_report(ctx)
    passwords: list[dict[str, str]] = []
    key_users: list[str] = []
    for user, row in sorted(rows.items()):
        if user == ROOT_ROW:
            continue
        if row.get("password_enabled") == "true":
            created = _instant(row.get("password_last_changed")) or _instant(row.get("user_creation_time"))
            why = _stale(_instant(row.get("password_last_used")), created, ctx.now)
            if why:
                passwords.append({"user": user, "arn": row.get("arn", ""), "why": why})
        for slot in ("1", "2"):
            if row.get(f"access_key_{slot}_active") == "true" and _stale(
                    _instant(row.get(f"access_key_{slot}_last_used_date")),
                    _instant(row.get(f"access_key_{slot}_last_rotated")), ctx.now):
                key_users.append(user)
                break
    keys = [{"user": user, "arn": rows[user].get("arn", ""), "key": key_id, "why": why}
            for user in dict.fromkeys(key_users) for key_id, why in _stale_keys(ctx, user)]
    if not passwords and not keys:
        users = sum(1 for u in rows if u != ROOT_ROW)
        return passed(f"every console password and active access key of the {users} users was used "
                      f"in the last {UNUSED_DAYS} days")
    found = ([f"password of {p['user']} ({p['why']})" for p in passwords]
             + [f"access key {k['key']} of {k['user']} ({k['why']})" for k in keys])
    fix = ("`awsrespond harden --fix` deactivates the access keys (reversible) and deletes the console passwords "
           "(one-way: a new one can be set with `awsrespond recover passwords`); your own credentials and "
           "never-touch principals are left alone")
    return failed(f"{len(found)} credentials unused for {UNUSED_DAYS} days: {'; '.join(found)}", fix, fixable=True,
                  resources=[p["user"] for p in passwords] + [k["key"] for k in keys],
                  facts={"passwords": passwords, "keys": keys})


def _protected(ctx: HardenContext, user: str, arn: str) -> str | None:
    for entry in ctx.never_touch:
        if entry in (user, arn) or entry.rsplit("/", 1)[-1] == user:
            return f"{user} is on the never-touch list"
    mine = principal_of(ctx.identity.arn)
    if ":user/" in mine and mine.rsplit("/", 1)[-1] == user:
        return f"{user} is the user you are signed in as"
    return None


@fixer(CHECK_ID)
def fix_unused(ctx: HardenContext, outcomes: Mapping[str, Outcome], changes: ChangeSet) -> None:
    outcome = outcomes.get(CHECK_ID)
    if outcome is None or outcome.status is not CheckStatus.FAIL:
        return
    for key in outcome.facts.get("keys", []):
        if key["key"] == ctx.caller_key:
            changes.note(f"access key {key['key']} of {key['user']}: the key you are using, left active")
            continue
        why = _protected(ctx, key["user"], key["arn"])
        if why:
            changes.note(f"access key {key['key']}: {why}, left active")
            continue
        changes.add("iam.deactivate-access-key", Target(type=KEY, id=key["key"], region=GLOBAL),
                    params={"user": key["user"]}, expect={"exists": True, "status": "Active"},
                    post={"exists": True, "status": "Inactive"},
                    reason=f"unused for {UNUSED_DAYS} days ({key['why']})")
    for password in outcome.facts.get("passwords", []):
        why = _protected(ctx, password["user"], password["arn"])
        if why:
            changes.note(f"console password of {password['user']}: {why}, left alone")
            continue
        changes.add("iam.delete-login-profile", Target(type=USER, id=password["user"], region=GLOBAL,
                                                       arn=password["arn"] or None),
                    expect={"login_profile": True}, post={"login_profile": False},
                    reason=f"console password unused for {UNUSED_DAYS} days ({password['why']})")
