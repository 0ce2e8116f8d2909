"""Cutting IAM credentials: access keys, console passwords, deny-all and session revocation (DESIGN.md 3.5-3.16).

Secrets (a replacement key, a temporary password) go only to the case's ``secrets/`` through
``ctx.write_secret``; nothing here returns or keeps them as evidence.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from abc import abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from awsrespond.contain.actions.base import Action, ActionContext, ActionError, register
from awsrespond.contain.model import Step
from awsrespond.findings import EvidenceRef
from awsrespond.timeutil import coerce_instant

QUARANTINE_POLICY_PREFIX = "AWSRespondQuarantine"
REVOKE_POLICY_PREFIX = "AWSRespondRevokeSessions"
KEY_SECRET = "access-key"
PASSWORD_SECRET = "console-password"
MAX_KEYS_PER_USER = 2
_POLICY_NAME_MAX = 128
_NOT_IN_POLICY_NAME = re.compile(r"[^\w+=,.@-]", re.ASCII)
# IAM's password-policy "symbols" are these; a subset keeps the password safe to paste anywhere.
_SYMBOLS = "!@#$%^&*()_+-=[]{}|"


def _policy_name(prefix: str, case_id: str) -> str:
    room = _POLICY_NAME_MAX - len(prefix) - 1
    tail = _NOT_IN_POLICY_NAME.sub("-", case_id)
    if len(tail) > room:
        digest = hashlib.sha256(case_id.encode()).hexdigest()[:8]
        tail = f"{tail[:room - 9]}-{digest}"
    return f"{prefix}-{tail}"


def quarantine_policy_name(case_id: str) -> str:
    """Name of the deny-all inline policy for this case (valid IAM name, at most 128 characters)."""
    return _policy_name(QUARANTINE_POLICY_PREFIX, case_id)


def revoke_policy_name(case_id: str) -> str:
    """Name of the inline policy that revokes sessions issued before the step ran."""
    return _policy_name(REVOKE_POLICY_PREFIX, case_id)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _iam(ctx: ActionContext) -> Any:
    return ctx.client("iam", "global")


def _list_keys(iam: Any, user: str) -> list[dict[str, Any]] | None:
    """The user's access keys (metadata), or None when the user does not exist."""
    try:
        pages = iam.get_paginator("list_access_keys").paginate(UserName=user)
        return [key for page in pages for key in page.get("AccessKeyMetadata", [])]
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise


def _key_user(step: Step) -> str:
    user = step.params.get("user")
    if not isinstance(user, str) or not user:
        raise ActionError(f"step {step.id}: params.user (the key's user) is missing")
    return user


def _keep_keys(ctx: ActionContext, step: Step, user: str, suffix: str) -> list[EvidenceRef]:
    """ListAccessKeys + GetAccessKeyLastUsed for each key of the user (metadata only, no secret)."""
    iam = _iam(ctx)
    keys = _list_keys(iam, user)
    if keys is None:
        return []
    rows = []
    for key in keys:
        try:
            last = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"]).get("AccessKeyLastUsed", {})
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                raise
            last = {}
        rows.append({"key": key, "last_used": last})
    return [ctx.evidence(step, "iam", "ListAccessKeys+GetAccessKeyLastUsed", {"UserName": user, "keys": rows},
                         suffix=suffix)]


# -- access keys ---------------------------------------------------------------------------------


class _KeyAction(Action):
    resource_type = "AWS::IAM::AccessKey"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        keys = _list_keys(_iam(ctx), _key_user(step)) or []
        for key in keys:
            if key["AccessKeyId"] == step.target.id:
                return {"exists": True, "status": key.get("Status")}
        return {"exists": False, "status": None}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        return _keep_keys(ctx, step, _key_user(step), step.target.id)


@register
class DeactivateAccessKey(_KeyAction):
    name = "iam.deactivate-access-key"
    title = "Deactivate an access key"
    permissions = ("iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:UpdateAccessKey")
    reversible = True
    how_to_undo = "set the key Active again (UpdateAccessKey)"
    undo_permissions = ("iam:UpdateAccessKey",)
    cuts_attacker_access = True

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        user = _key_user(step)
        _iam(ctx).update_access_key(UserName=user, AccessKeyId=step.target.id, Status="Inactive")
        return {"user": user, "access_key_id": step.target.id, "status": "Inactive"}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        user = _key_user(step)
        _iam(ctx).update_access_key(UserName=user, AccessKeyId=step.target.id, Status="Active")
        return {"user": user, "access_key_id": step.target.id, "status": "Active"}


@register
class DeleteAccessKey(_KeyAction):
    name = "iam.delete-access-key"
    title = "Delete an access key"
    permissions = ("iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:DeleteAccessKey")
    reversible = False
    how_to_undo = "a deleted access key cannot be restored"
    cuts_attacker_access = True

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        user = _key_user(step)
        try:
            _iam(ctx).delete_access_key(UserName=user, AccessKeyId=step.target.id)
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                raise
            return {"user": user, "access_key_id": step.target.id, "deleted": False, "note": "already gone"}
        return {"user": user, "access_key_id": step.target.id, "deleted": True}


@register
class CreateReplacementAccessKey(Action):
    """A new key for a legitimate user whose key the attacker used; its secret goes only to ``secrets/``.

    params: ``replaces`` (the old key id) and ``keys_at_plan`` (the user's key ids when planned), which
    ``reconcile`` uses to tell the key an interrupted run made from the ones that were there.
    """

    name = "iam.create-replacement-access-key"
    title = "Create a replacement access key (secret to secrets/ only)"
    resource_type = "AWS::IAM::User"
    permissions = ("iam:GetUser", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:CreateAccessKey")
    reversible = True
    how_to_undo = "delete the new key (DeleteAccessKey); its secret file stays, marked revoked by the journal"
    undo_permissions = ("iam:DeleteAccessKey",)
    idempotent = False

    def _secret_key_id(self, ctx: ActionContext, step: Step) -> str | None:
        secret = ctx.read_secret(step, KEY_SECRET)
        key_id = (secret or {}).get("AccessKeyId")
        return key_id if isinstance(key_id, str) else None

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        keys = _list_keys(_iam(ctx), step.target.id)
        if keys is None:
            return {"exists": False, "key_count": 0, "replacement": None, "has_replacement": False}
        ids = {k["AccessKeyId"] for k in keys}
        made = self._secret_key_id(ctx, step)
        replacement = made if made in ids else None
        return {"exists": True, "key_count": len(keys), "replacement": replacement,
                "has_replacement": replacement is not None}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        return _keep_keys(ctx, step, step.target.id, "keys-before")

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        user = step.target.id
        if ctx.read_secret(step, KEY_SECRET) is not None:
            raise ActionError(f"{user}: this step already wrote a key secret; a secret is never overwritten")
        iam = _iam(ctx)
        keys = _list_keys(iam, user)
        if keys is None:
            raise ActionError(f"user {user} no longer exists")
        if len(keys) >= MAX_KEYS_PER_USER:
            held = ", ".join(sorted(k["AccessKeyId"] for k in keys))
            raise ActionError(f"user {user} already has {len(keys)} access keys ({held}); IAM allows "
                              f"{MAX_KEYS_PER_USER}: delete one first")
        key = iam.create_access_key(UserName=user)["AccessKey"]
        path = ctx.write_secret(step, KEY_SECRET, {
            "UserName": user, "AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"],
            "CreateDate": str(key.get("CreateDate", "")), "replaces": step.params.get("replaces"),
        })
        # The old key id stays out of the result: the case lists every key id in a creating step's result as
        # the tool's own artefact, and the replaced key is the attacker's evidence, not ours.
        return {"user": user, "access_key_id": key["AccessKeyId"], "secret_file": path}

    def reconcile(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        """Find the key an interrupted run made: keep it if its secret was saved, delete it if not."""
        user = step.target.id
        iam = _iam(ctx)
        keys = _list_keys(iam, user)
        if keys is None:
            return None
        planned = set(step.params.get("keys_at_plan", []))
        made = self._secret_key_id(ctx, step)
        secret_path = f"secrets/{ctx.plan.plan_id}-{step.id}-{KEY_SECRET}.json"
        found: dict[str, Any] | None = None
        for key in keys:
            key_id = key["AccessKeyId"]
            if key_id in planned:
                continue
            if key_id == made:
                found = {"user": user, "access_key_id": key_id, "secret_file": secret_path,
                         "reconciled": "key and secret found"}
                continue
            if not _created_since(key.get("CreateDate"), _intent_time(ctx, step)):
                continue  # older than the interrupted call: not ours, and the limit check in apply will say so
            # Made by the interrupted call, but its secret was never written: useless, and it holds a slot.
            iam.delete_access_key(UserName=user, AccessKeyId=key_id)
        return found

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        key_id = result.get("access_key_id") or self._secret_key_id(ctx, step)
        if not isinstance(key_id, str):
            raise ActionError(f"step {step.id}: no record of the key it created; nothing to delete")
        try:
            _iam(ctx).delete_access_key(UserName=step.target.id, AccessKeyId=key_id)
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                raise
        return {"user": step.target.id, "deleted_access_key_id": key_id, "secret_file": result.get("secret_file"),
                "secret": "revoked"}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"exists": True, "has_replacement": False}


def _created_since(created: Any, instant: datetime) -> bool:
    if not isinstance(created, datetime):
        return True  # unknown age: treat as possibly ours
    instant = instant.replace(microsecond=0)  # IAM's CreateDate has whole seconds
    if created.tzinfo is None or instant.tzinfo is None:
        return created.replace(tzinfo=None) >= instant.replace(tzinfo=None)
    return created >= instant


# -- console passwords ---------------------------------------------------------------------------


def _login_profile(iam: Any, user: str) -> dict[str, Any] | None:
    try:
        profile: dict[str, Any] = iam.get_login_profile(UserName=user)["LoginProfile"]
        return profile
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise


class _LoginAction(Action):
    resource_type = "AWS::IAM::User"

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        profile = _login_profile(_iam(ctx), step.target.id)
        return [ctx.evidence(step, "iam", "GetLoginProfile", {"UserName": step.target.id, "LoginProfile": profile})]


@register
class DeleteLoginProfile(_LoginAction):
    name = "iam.delete-login-profile"
    title = "Delete a console password (login profile)"
    permissions = ("iam:GetLoginProfile", "iam:DeleteLoginProfile")
    reversible = False
    how_to_undo = "a deleted console password cannot be restored; create a new one if it was needed"
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"login_profile": _login_profile(_iam(ctx), step.target.id) is not None}

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        try:
            _iam(ctx).delete_login_profile(UserName=step.target.id)
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                raise
            return {"user": step.target.id, "deleted": False, "note": "already gone"}
        return {"user": step.target.id, "deleted": True}


def temporary_password(min_length: int = 24) -> str:
    """Random password with upper, lower, digit and symbol (meets any IAM password policy's classes)."""
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, _SYMBOLS)
    length = max(20, min(128, min_length))
    chars = [secrets.choice(c) for c in classes]
    pool = "".join(classes)
    chars += [secrets.choice(pool) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


@register
class ResetLoginProfile(_LoginAction):
    """A random temporary password, reset required at next sign-in; the password goes only to secrets/."""

    name = "iam.reset-login-profile"
    title = "Reset a console password (temporary, reset required; secret to secrets/ only)"
    permissions = ("iam:GetLoginProfile", "iam:GetAccountPasswordPolicy", "iam:UpdateLoginProfile")
    reversible = False
    how_to_undo = "the old password is not known to the tool and cannot be restored"
    cuts_attacker_access = True
    # A re-run sets another password: harmless, but the saved one must be the one in force.
    idempotent = False

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        profile = _login_profile(_iam(ctx), step.target.id)
        return {"login_profile": profile is not None,
                "password_reset_required": bool(profile and profile.get("PasswordResetRequired")),
                "new_password_issued": ctx.read_secret(step, PASSWORD_SECRET) is not None}

    def _min_length(self, iam: Any) -> int:
        try:
            policy = iam.get_account_password_policy()["PasswordPolicy"]
        except ClientError as exc:
            if _code(exc) == "NoSuchEntity":
                return 24
            raise
        return max(24, int(policy.get("MinimumPasswordLength", 0)))

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        user = step.target.id
        iam = _iam(ctx)
        password = temporary_password(self._min_length(iam))
        # Set first, save second: a crash in between leaves no secret file, so reconcile runs it again.
        iam.update_login_profile(UserName=user, Password=password, PasswordResetRequired=True)
        path = ctx.write_secret(step, PASSWORD_SECRET, {"UserName": user, "Password": password,
                                                        "PasswordResetRequired": True})
        return {"user": user, "password_reset_required": True, "secret_file": path}

    def reconcile(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        if ctx.read_secret(step, PASSWORD_SECRET) is None:
            return None
        return {"user": step.target.id, "password_reset_required": True, "reconciled": "secret file found",
                "secret_file": f"secrets/{ctx.plan.plan_id}-{step.id}-{PASSWORD_SECRET}.json"}


def _intent_time(ctx: ActionContext, step: Step) -> datetime:
    """When the interrupted run announced this step's call (a minute earlier, for clock skew);
    the plan's creation time when the journal does not say."""
    announced = coerce_instant(ctx.extra.get("intent_at", {}).get(step.id))
    return announced - timedelta(minutes=1) if announced else ctx.plan.created


# -- inline deny policies ------------------------------------------------------------------------


class _InlinePolicyAction(Action):
    """Put/delete one inline policy on a user or a role (target type decides which API)."""

    state_key = ""

    def _kind(self, step: Step) -> str:
        if step.target.type == "AWS::IAM::User":
            return "User"
        if step.target.type == "AWS::IAM::Role":
            return "Role"
        raise ActionError(f"{self.name} works on IAM users and roles, not {step.target.type}")

    @abstractmethod
    def policy_name(self, ctx: ActionContext, step: Step) -> str:
        """The inline policy's name on the principal."""

    def _get(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        kind = self._kind(step)
        call = getattr(_iam(ctx), f"get_{kind.lower()}_policy")
        try:
            doc = call(**{f"{kind}Name": step.target.id}, PolicyName=self.policy_name(ctx, step))["PolicyDocument"]
        except ClientError as exc:
            if _code(exc) == "NoSuchEntity":
                return None
            raise
        parsed: dict[str, Any] = json.loads(doc) if isinstance(doc, str) else doc
        return parsed

    def _put(self, ctx: ActionContext, step: Step, document: Mapping[str, Any]) -> None:
        kind = self._kind(step)
        getattr(_iam(ctx), f"put_{kind.lower()}_policy")(
            **{f"{kind}Name": step.target.id}, PolicyName=self.policy_name(ctx, step),
            PolicyDocument=json.dumps(document, separators=(",", ":")))

    def _delete(self, ctx: ActionContext, step: Step) -> None:
        kind = self._kind(step)
        try:
            getattr(_iam(ctx), f"delete_{kind.lower()}_policy")(
                **{f"{kind}Name": step.target.id}, PolicyName=self.policy_name(ctx, step))
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                raise

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        kind = self._kind(step)
        iam = _iam(ctx)
        args = {f"{kind}Name": step.target.id}
        inline = [name for page in iam.get_paginator(f"list_{kind.lower()}_policies").paginate(**args)
                  for name in page.get("PolicyNames", [])]
        attached = [p for page in iam.get_paginator(f"list_attached_{kind.lower()}_policies").paginate(**args)
                    for p in page.get("AttachedPolicies", [])]
        return [ctx.evidence(step, "iam", f"List{kind}Policies+ListAttached{kind}Policies",
                             {**args, "PolicyNames": inline, "AttachedPolicies": attached})]


def _statements(document: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not document:
        return []
    raw = document.get("Statement", [])
    return [s for s in (raw if isinstance(raw, list) else [raw]) if isinstance(s, dict)]


def _denies_all(statement: Mapping[str, Any]) -> bool:
    def star(value: Any) -> bool:
        return bool(value in ("*", ["*"]))

    return statement.get("Effect") == "Deny" and star(statement.get("Action")) and star(statement.get("Resource"))


DENY_ALL_MANAGED = "AWSDenyAll"  # AWS-managed; attached when the inline quota is full
DENY_ALL = {"Version": "2012-10-17",
            "Statement": [{"Sid": "AWSRespondQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}]}


@register
class QuarantinePrincipal(_InlinePolicyAction):
    name = "iam.quarantine-principal"
    title = "Quarantine a user or role with an explicit deny-all inline policy"
    resource_type = "AWS::IAM::User|AWS::IAM::Role"
    permissions = ("iam:GetUserPolicy", "iam:GetRolePolicy", "iam:ListUserPolicies", "iam:ListRolePolicies",
                   "iam:ListAttachedUserPolicies", "iam:ListAttachedRolePolicies",
                   "iam:PutUserPolicy", "iam:PutRolePolicy", "iam:AttachUserPolicy", "iam:AttachRolePolicy")
    reversible = True
    how_to_undo = ("delete the deny-all inline policy (DeleteUserPolicy / DeleteRolePolicy), or detach AWSDenyAll "
                   "where it was attached instead")
    undo_permissions = ("iam:DeleteUserPolicy", "iam:DeleteRolePolicy", "iam:DetachUserPolicy",
                        "iam:DetachRolePolicy")
    cuts_attacker_access = True

    def policy_name(self, ctx: ActionContext, step: Step) -> str:
        return str(step.params.get("policy_name") or quarantine_policy_name(ctx.plan.case_id))

    def _deny_all_arn(self, ctx: ActionContext) -> str:
        return f"arn:{ctx.plan.partition}:iam::aws:policy/{DENY_ALL_MANAGED}"

    def _attached(self, ctx: ActionContext, step: Step) -> list[str]:
        kind = self._kind(step)
        pages = _iam(ctx).get_paginator(f"list_attached_{kind.lower()}_policies").paginate(
            **{f"{kind}Name": step.target.id})
        return [p["PolicyArn"] for page in pages for p in page.get("AttachedPolicies", [])]

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        statements = _statements(self._get(ctx, step))
        inline = any(_denies_all(s) and "Condition" not in s for s in statements)
        return {"quarantine_policy": inline or self._deny_all_arn(ctx) in self._attached(ctx, step)}

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        result = {"principal": step.target.id, "type": step.target.type, "policy_name": self.policy_name(ctx, step)}
        try:
            self._put(ctx, step, DENY_ALL)
        except ClientError as exc:
            if _code(exc) != "LimitExceeded":
                raise
            # The principal's inline policies already fill IAM's size quota (2,048 characters for a
            # user): attach the AWS-managed deny-all policy instead.
            kind = self._kind(step)
            getattr(_iam(ctx), f"attach_{kind.lower()}_policy")(**{f"{kind}Name": step.target.id},
                                                                PolicyArn=self._deny_all_arn(ctx))
            return {**result, "policy_name": None, "attached": self._deny_all_arn(ctx)}
        return result

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        attached = result.get("attached")
        if isinstance(attached, str) and attached:
            kind = self._kind(step)
            getattr(_iam(ctx), f"detach_{kind.lower()}_policy")(**{f"{kind}Name": step.target.id},
                                                                PolicyArn=attached)
            return {"principal": step.target.id, "detached_policy": attached}
        self._delete(ctx, step)
        return {"principal": step.target.id, "deleted_policy": self.policy_name(ctx, step)}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"quarantine_policy": False}


def revoke_document(instant: str) -> dict[str, Any]:
    """Deny everything to sessions whose token was issued before ``instant`` (ISO-8601, UTC)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "AWSRespondRevokeOlderSessions", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": instant}}}]}


def _iso(instant: datetime) -> str:
    if instant.tzinfo is not None:
        instant = instant.astimezone(UTC)
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


@register
class RevokeSessions(_InlinePolicyAction):
    """Deny sessions issued before now (DESIGN.md 3.10): always paired with cutting the source credential."""

    name = "iam.revoke-sessions"
    title = "Revoke active sessions (deny where aws:TokenIssueTime is before now)"
    resource_type = "AWS::IAM::User|AWS::IAM::Role"
    permissions = QuarantinePrincipal.permissions
    reversible = True
    how_to_undo = "delete the revoke inline policy, or restore the earlier one it replaced"
    undo_permissions = ("iam:DeleteUserPolicy", "iam:DeleteRolePolicy", "iam:PutUserPolicy", "iam:PutRolePolicy")
    cuts_attacker_access = True

    def policy_name(self, ctx: ActionContext, step: Step) -> str:
        return str(step.params.get("policy_name") or revoke_policy_name(ctx.plan.case_id))

    def _issued_before(self, document: Mapping[str, Any] | None) -> str | None:
        for statement in _statements(document):
            if not _denies_all(statement):
                continue
            condition = statement.get("Condition") or {}
            instant = (condition.get("DateLessThan") or {}).get("aws:TokenIssueTime")
            if isinstance(instant, str):
                return instant
        return None

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        # Only a revocation at or after this plan counts: one left by an earlier plan lets later sessions in.
        instant = self._issued_before(self._get(ctx, step))
        return {"revoke_policy": instant is not None and instant >= _iso(ctx.plan.created)}

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        previous = self._get(ctx, step)
        instant = _iso(ctx.clock())
        self._put(ctx, step, revoke_document(instant))
        return {"principal": step.target.id, "type": step.target.type, "policy_name": self.policy_name(ctx, step),
                "token_issued_before": instant, "previous_document": previous}

    def reconcile(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        instant = self._issued_before(self._get(ctx, step))
        if instant is None or instant < _iso(ctx.plan.created):
            return None
        # What the earlier document was is lost with the crash: undo then deletes the policy.
        return {"principal": step.target.id, "type": step.target.type, "policy_name": self.policy_name(ctx, step),
                "token_issued_before": instant, "previous_document": None, "reconciled": "policy found"}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous_document")
        if isinstance(previous, dict):
            self._put(ctx, step, previous)
            return {"principal": step.target.id, "restored_policy": self.policy_name(ctx, step)}
        self._delete(ctx, step)
        return {"principal": step.target.id, "deleted_policy": self.policy_name(ctx, step)}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"revoke_policy": False}
