"""The account password policy is strong (as ``recover passwords`` sets it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awsrespond.aws.errors import error_code
from awsrespond.harden.model import CheckSeverity, CheckStatus
from awsrespond.harden.registry import GLOBAL, HardenContext, Outcome, ReadError, check, failed, fixer, passed
from awsrespond.recover.changes import ChangeSet
from awsrespond.recover.passwords import CLASSES, MIN_LENGTH, REUSE_PREVENTION, is_strong, plan_password_policy

CHECK_ID = "iam.password-policy"
FIX = (f"`awsrespond harden --fix` (or `awsrespond recover passwords`) sets at least {MIN_LENGTH} characters, "
       f"upper, lower, digit and symbol, and the last {REUSE_PREVENTION} passwords not reused")


def _weaknesses(policy: Mapping[str, Any]) -> list[str]:
    weak = []
    if int(policy.get("MinimumPasswordLength") or 0) < MIN_LENGTH:
        weak.append(f"minimum length {policy.get('MinimumPasswordLength')} < {MIN_LENGTH}")
    weak += [f"{name} off" for name in CLASSES if not policy.get(name)]
    if int(policy.get("PasswordReusePrevention") or 0) < REUSE_PREVENTION:
        weak.append(f"reuse prevention {policy.get('PasswordReusePrevention') or 'off'} < {REUSE_PREVENTION}")
    return weak


@check(CHECK_ID, "The IAM account password policy is strong", CheckSeverity.MEDIUM)
def password_policy(ctx: HardenContext) -> Outcome:
    try:
        policy: dict[str, Any] = ctx.call("iam", "get_account_password_policy", GLOBAL).get("PasswordPolicy") or {}
    except ReadError as exc:
        if error_code(exc.cause) != "NoSuchEntity":
            raise
        return failed("no account password policy: IAM's default allows 8-character passwords of any kind", FIX,
                      fixable=True)
    if is_strong(policy):
        return passed(f"minimum length {policy.get('MinimumPasswordLength')}, every character class, "
                      f"{policy.get('PasswordReusePrevention')} passwords remembered")
    weak = _weaknesses(policy)
    return failed("weak password policy: " + ", ".join(weak), FIX, fixable=True, resources=weak)


@fixer(CHECK_ID)
def fix_password_policy(ctx: HardenContext, outcomes: Mapping[str, Outcome], changes: ChangeSet) -> None:
    outcome = outcomes.get(CHECK_ID)
    if outcome is not None and outcome.status is CheckStatus.FAIL:
        plan_password_policy(changes, ctx.factory)
