"""``recover passwords``: new temporary console passwords and a strong account password policy (manual step 3.1).

Read-only planning: which IAM users have a console password, which of them may be reset (never the
break-glass principals, never the caller without ``--include-me``), and whether the account's password
policy is weaker than :data:`STRONG`. The writes are steps of a :class:`ChangeSet` -
``iam.reset-login-profile`` (the new password only to the case's ``secrets/``) and
``iam.update-account-password-policy`` - applied by the containment executor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.contain.documents import ApplyDocument
from awsrespond.contain.model import Target
from awsrespond.contain.safety import principal_of
from awsrespond.recover.actions.iam_passwords import (
    POLICY_TARGET_ID,
    POLICY_TYPE,
    policy_state,
    read_password_policy,
    update_arguments,
)
from awsrespond.recover.changes import ChangeSet

RESET_ACTION = "iam.reset-login-profile"
POLICY_ACTION = "iam.update-account-password-policy"
MIN_LENGTH = 14
REUSE_PREVENTION = 24
CLASSES = ("RequireSymbols", "RequireNumbers", "RequireUppercaseCharacters", "RequireLowercaseCharacters")
IAM_USERS_URL = "https://console.aws.amazon.com/iam/home#/users"
READ_WORKERS = 8  # per-user IAM reads overlap; IAM's read quota is far above this
ROOT_SIGN_IN_URL = "https://signin.aws.amazon.com/console"
ROOT_CREDENTIALS_URL = "https://console.aws.amazon.com/iam/home#/security_credentials"
ROOT_ACCESS_URL = "https://console.aws.amazon.com/iam/home#/root-access-management"
ROOT_TASK_POLICY = "arn:{partition}:iam::aws:policy/root-task/{task}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# -- the password policy -------------------------------------------------------------------------


def is_strong(policy: Mapping[str, Any] | None) -> bool:
    """At least :data:`MIN_LENGTH` characters, every character class, :data:`REUSE_PREVENTION` remembered."""
    if policy is None:
        return False
    return (int(policy.get("MinimumPasswordLength") or 0) >= MIN_LENGTH
            and all(bool(policy.get(c)) for c in CLASSES)
            and int(policy.get("PasswordReusePrevention") or 0) >= REUSE_PREVENTION)


def strong_policy(current: Mapping[str, Any] | None, max_age: int | None = None) -> dict[str, Any]:
    """The current policy raised to :data:`STRONG` (never lowered): UpdateAccountPasswordPolicy arguments.

    Users may change their own password (a reset-required user must, at the next sign-in); the maximum
    age is ``max_age`` when given, else whatever was set; a hard expiry is kept as it was.
    """
    have = dict(current or {})
    return {
        "MinimumPasswordLength": max(MIN_LENGTH, int(have.get("MinimumPasswordLength") or 0)),
        **{c: True for c in CLASSES},
        "AllowUsersToChangePassword": True,
        "MaxPasswordAge": max_age if max_age else (have.get("MaxPasswordAge") or None),
        "PasswordReusePrevention": max(REUSE_PREVENTION, int(have.get("PasswordReusePrevention") or 0)),
        "HardExpiry": bool(have.get("HardExpiry", False)),
    }


def plan_password_policy(changes: ChangeSet, factory: ClientFactory, *, max_age: int | None = None) -> str | None:
    """Add an ``iam.update-account-password-policy`` step when the account's policy is weaker than strong
    (or missing, or ``max_age`` asks for another maximum age). Returns the step id, or None when the
    policy already is at least as strong. Reads GetAccountPasswordPolicy (a ClientError other than
    NoSuchEntity propagates: the caller names the API)."""
    current = read_password_policy(factory.client("iam"))
    if is_strong(current) and (not max_age or (current or {}).get("MaxPasswordAge") == max_age):
        return None
    wanted = strong_policy(current, max_age)
    what = (f"at least {wanted['MinimumPasswordLength']} characters, upper, lower, digit and symbol, the last "
            f"{wanted['PasswordReusePrevention']} passwords not reused")
    if wanted["MaxPasswordAge"]:
        what += f", expiring after {wanted['MaxPasswordAge']} days"
    return changes.add(
        POLICY_ACTION, Target(type=POLICY_TYPE, id=POLICY_TARGET_ID, region="global"),
        expect=policy_state(current), post=policy_state(wanted), params={"policy": update_arguments(wanted)},
        reason=("no account password policy: " if current is None else "the password policy is weak: ") + what)


# -- console passwords ---------------------------------------------------------------------------


def login_profiles(iam: Any) -> dict[str, dict[str, Any]]:
    """Every IAM user with a console password -> its LoginProfile (GetLoginProfile per user, in parallel)."""
    names = sorted(u["UserName"] for page in iam.get_paginator("list_users").paginate() for u in page.get("Users", []))
    with ThreadPoolExecutor(max_workers=READ_WORKERS) as pool:
        profiles = list(pool.map(lambda name: login_profile(iam, name), names))
    return {name: profile for name, profile in zip(names, profiles, strict=True) if profile is not None}


def console_users(iam: Any) -> list[str]:
    """Every IAM user with a console password."""
    return sorted(login_profiles(iam))


def login_profile(iam: Any, user: str) -> dict[str, Any] | None:
    try:
        profile: dict[str, Any] = iam.get_login_profile(UserName=user)["LoginProfile"]
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise
    return profile


def caller_user(identity: CallerIdentity) -> str | None:
    """The caller's IAM user name, or None when the caller is a role session or root."""
    arn = principal_of(identity.arn)
    resource = arn.split(":", 5)[-1] if arn.count(":") >= 5 else ""
    return resource.rsplit("/", 1)[-1] if resource.startswith("user/") else None


def is_never_touch(user: str, never_touch: Iterable[str]) -> bool:
    return any(user in (entry, entry.rsplit("/", 1)[-1]) for entry in never_touch)


class SkippedUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str
    reason: str


class PasswordsDocument(BaseModel):
    """``recover passwords --format json``."""

    model_config = ConfigDict(extra="forbid")

    account_id: str
    console_users: list[str] = Field(description="IAM users with a console password")
    planned: list[str] = Field(description="Users whose password the plan resets (temporary, reset required)")
    skipped: list[SkippedUser] = Field(description="Users left alone, and why")
    password_policy_step: str | None = Field(description="The plan step that sets a strong password policy")
    secrets: list[str] = Field(default_factory=list, description="Case-relative files holding the new passwords")
    applied: ApplyDocument | None = Field(description="The result of applying the plan; null for a dry run")
    root_guidance: list[str]
    notes: list[str] = Field(default_factory=list)


def plan_password_resets(
    changes: ChangeSet,
    factory: ClientFactory,
    identity: CallerIdentity,
    *,
    users: list[str],
    all_console_users: bool,
    include_me: bool,
    never_touch: list[str],
) -> tuple[list[str], list[str], list[SkippedUser]]:
    """Add an ``iam.reset-login-profile`` step for each chosen user. Returns (console users, planned, skipped)."""
    iam = factory.client("iam")
    console = console_users(iam)
    wanted = list(dict.fromkeys([*users, *(console if all_console_users else [])]))
    me = caller_user(identity)
    changes.never_touch.extend(never_touch)  # the executor refuses them too, as a second line
    planned: list[str] = []
    skipped: list[SkippedUser] = []
    for user in wanted:
        if is_never_touch(user, never_touch):
            skipped.append(SkippedUser(user=user, reason="on the never-touch list (break-glass)"))
        elif user not in console:
            skipped.append(SkippedUser(user=user, reason="has no console password (or does not exist)"))
        elif user == me:
            skipped.append(SkippedUser(user=user, reason=_me_reason(include_me)))
        else:
            changes.add(RESET_ACTION, Target(type="AWS::IAM::User", id=user, region="global",
                                             arn=f"arn:{identity.partition}:iam::{identity.account_id}:user/{user}"),
                        expect={"login_profile": True, "new_password_issued": False},
                        post={"login_profile": True, "password_reset_required": True, "new_password_issued": True},
                        reason="new temporary console password, change required at the next sign-in "
                               "(the password goes to the case's secrets/ only)")
            planned.append(user)
    return console, planned, skipped


def _me_reason(include_me: bool) -> str:
    if include_me:
        return ("you are signed in as this user, and the executor refuses any step on the principal you are "
                "signed in as (it could lock you out): change your own password with `aws iam change-password "
                f"--old-password ... --new-password ...` or in the console ({ROOT_CREDENTIALS_URL}), or run "
                "recover passwords from another principal")
    return "you are signed in as this user: left alone unless --include-me (and see that option's note)"


# -- root ------------------------------------------------------------------------------------------


def organization_role(factory: ClientFactory, account_id: str) -> str:
    """'member', 'management', 'standalone', or 'unknown: <why>' (DescribeOrganization)."""
    try:
        org = factory.client("organizations").describe_organization()["Organization"]
    except ClientError as exc:
        if _code(exc) == "AWSOrganizationsNotInUseException":
            return "standalone"
        return f"unknown: organizations DescribeOrganization answered {_code(exc) or exc}"
    return "management" if org.get("MasterAccountId") == account_id else "member"


def root_guidance(account_id: str, partition: str = "aws", organization: str = "unknown") -> list[str]:
    """How to change the root user's password (the API cannot), and the AssumeRoot path for members."""
    lines = [
        "Root user password: the API cannot change it. Sign in as the root user at "
        f"{ROOT_SIGN_IN_URL} (choose 'Root user', the account's email address), open Security credentials "
        f"({ROOT_CREDENTIALS_URL}), 'Change password', and set a long unique password; then check the root "
        "user's access keys (delete any), MFA devices (remove unknown ones, add your own) and signing certificates.",
        "Lost the root password: 'Forgot password?' on the root sign-in page sends a reset link to the "
        "account's email address - make sure that mailbox is yours (recover contacts).",
    ]
    if organization == "management":
        lines.append("This account is its organization's management account: the AssumeRoot path (for member "
                     "accounts) does not apply to it.")
        return lines
    if organization == "standalone":
        lines.append("This account is in no AWS Organization: the AssumeRoot path (for member accounts) does not "
                     "apply to it.")
        return lines
    where = "This account is a member of an AWS Organization" if organization == "member" else (
        f"If this account is a member of an AWS Organization (could not tell: {organization})")
    delete = ROOT_TASK_POLICY.format(partition=partition, task="IAMDeleteRootUserCredentials")
    create = ROOT_TASK_POLICY.format(partition=partition, task="IAMCreateRootUserPassword")
    lines += [
        f"{where}: with centralized root access enabled (IAM console, Root access management, {ROOT_ACCESS_URL}), "
        "the management account or the delegated administrator for IAM can remove this account's root "
        "credentials without the root password. From that account, as an IAM user or role allowed "
        "sts:AssumeRoot (a regional STS endpoint; not the global one):",
        f"  aws sts assume-root --region us-east-1 --target-principal {account_id} "
        f"--task-policy-arn arn={delete} --duration-seconds 900",
        "  then, with the AccessKeyId / SecretAccessKey / SessionToken it returns (no --user-name: the "
        "calls act on the root user):",
        "  aws iam get-login-profile && aws iam delete-login-profile",
        "  aws iam list-access-keys; aws iam delete-access-key --access-key-id KEY_ID",
        "  aws iam list-signing-certificates; aws iam delete-signing-certificate --certificate-id CERT_ID",
        "  aws iam list-mfa-devices; aws iam deactivate-mfa-device --serial-number SERIAL",
        "To let the root user sign in again later (password recovery by email), the same way with "
        f"--task-policy-arn arn={create}, then: aws iam create-login-profile",
        "Check the features first: aws iam list-organizations-features (from the management account) "
        "must list RootCredentialsManagement and RootSessions.",
    ]
    return lines
