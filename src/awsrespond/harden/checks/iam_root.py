"""The root user: no access keys, MFA on. Neither can be fixed through the API by the account itself."""

from __future__ import annotations

from typing import Any

from awsrespond.harden.model import CheckSeverity
from awsrespond.harden.registry import GLOBAL, HardenContext, Outcome, check, failed, passed

NO_ROOT_KEYS = "iam.no-root-access-keys"
ROOT_MFA = "iam.root-mfa"
ROOT_CREDENTIALS_URL = "https://console.aws.amazon.com/iam/home#/security_credentials"
ROOT_ACCESS_URL = "https://console.aws.amazon.com/iam/home#/root-access-management"


def _assume_root(account_id: str, partition: str, task: str, then: str) -> str:
    return (f"For a member account of an AWS Organization with centralized root access ({ROOT_ACCESS_URL}): from "
            f"the management account, `aws sts assume-root --region us-east-1 --target-principal {account_id} "
            f"--task-policy-arn arn=arn:{partition}:iam::aws:policy/root-task/{task}`, then {then} with the "
            "returned credentials.")


def account_summary(ctx: HardenContext) -> dict[str, Any]:
    def compute() -> dict[str, Any]:
        summary: dict[str, Any] = ctx.call("iam", "get_account_summary", GLOBAL).get("SummaryMap") or {}
        return summary
    return ctx.shared("iam.summary", compute)


@check(NO_ROOT_KEYS, "The root user has no access keys", CheckSeverity.CRITICAL)
def no_root_access_keys(ctx: HardenContext) -> Outcome:
    present = int(account_summary(ctx).get("AccountAccessKeysPresent", 0) or 0)
    if not present:
        return passed("the root user has no access keys")
    member = _assume_root(ctx.account_id, ctx.partition, "IAMDeleteRootUserCredentials",
                          "`aws iam list-access-keys` and `aws iam delete-access-key --access-key-id KEY_ID`")
    fix = (f"Sign in as the root user, open Security credentials ({ROOT_CREDENTIALS_URL}), 'Access keys': "
           f"deactivate, then delete each key (use an IAM role or user for automation instead). {member}")
    return failed("the root user has access keys (GetAccountSummary AccountAccessKeysPresent)", fix, fixable=False)


@check(ROOT_MFA, "The root user has MFA", CheckSeverity.CRITICAL)
def root_mfa(ctx: HardenContext) -> Outcome:
    if int(account_summary(ctx).get("AccountMFAEnabled", 0) or 0):
        return passed("the root user has an MFA device")
    member = _assume_root(ctx.account_id, ctx.partition, "IAMDeleteRootUserCredentials",
                          "remove the root password (`aws iam delete-login-profile`) so the root user cannot sign in")
    fix = (f"Sign in as the root user, open Security credentials ({ROOT_CREDENTIALS_URL}), 'Multi-factor "
           "authentication (MFA)', 'Assign MFA device' (a passkey or hardware key; remove any device you do not "
           f"recognise). {member}")
    return failed("the root user has no MFA device (GetAccountSummary AccountMFAEnabled = 0); expected only when "
                  "the root credentials were removed centrally by the organization", fix, fixable=False)
