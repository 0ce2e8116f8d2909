"""Planning the credential cut (DESIGN.md 3.5, 3.7, 3.10, 3.12, 3.16): access keys, login profiles, principals.

``cut_user`` and ``cut_role`` are called by the IAM teardown recipes (users and roles); the access-key
and login-profile recipes live here. Every step a recipe here adds has the same action, target and
params as the one another recipe would add for the same thing, so the builder merges them.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from awsrespond.contain.actions.iam_access import (
    MAX_KEYS_PER_USER,
    QUARANTINE_POLICY_PREFIX,
    REVOKE_POLICY_PREFIX,
    quarantine_policy_name,
    revoke_policy_name,
)
from awsrespond.contain.model import Phase, Target
from awsrespond.contain.planner.builder import PlanBuilder, PlanContext, Subject, Treatment, recipe

__all__ = [
    "QUARANTINE_POLICY_PREFIX",
    "REVOKE_POLICY_PREFIX",
    "access_key_recipe",
    "cut_role",
    "cut_user",
    "deactivate_key",
    "delete_key",
    "login_profile_recipe",
    "quarantine_policy_name",
    "revoke_policy_name",
    "untouchable",
]

USER = "AWS::IAM::User"
ROLE = "AWS::IAM::Role"
KEY = "AWS::IAM::AccessKey"
GLOBAL = "global"
PASSWORD_RULE = "iam-console-password-changed"
CLEAN_CREDENTIALS = "switch to clean credentials (another principal) to contain it"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _iam(pctx: PlanContext) -> Any:
    return pctx.client("iam", GLOBAL)


# -- who may not be touched ----------------------------------------------------------------------


def caller_principal(pctx: PlanContext) -> tuple[str, str] | None:
    """("user" | "role", name) of the caller, from its ARN; None when unknown (root, federated, no caller)."""
    if pctx.caller is None:
        return None
    resource = pctx.caller.arn.split(":", 5)[-1]
    if resource.startswith("user/"):
        return "user", resource.rsplit("/", 1)[-1]
    if resource.startswith("assumed-role/"):
        parts = resource.split("/")
        return ("role", parts[1]) if len(parts) > 2 else None
    if resource.startswith("role/"):
        return "role", resource.rsplit("/", 1)[-1]
    return None


def untouchable(pctx: PlanContext, kind: str, name: str, arn: str | None = None, path: str | None = None) -> str | None:
    """Why a user or role ("user" / "role") must get no step at all, or None."""
    never = set(pctx.options.get("never_touch", []) or [])
    if name in never or (arn is not None and arn in never):
        return f"{kind} {name} is on the never-touch list"
    if kind == "role":
        if (path or "").startswith("/aws-service-role/") or (arn is not None and ":role/aws-service-role/" in arn):
            return f"role {name} is service-linked; AWS manages it and refuses changes"
        if name.startswith("AWSReservedSSO_"):
            return f"role {name} belongs to IAM Identity Center (AWSReservedSSO_*); change it there"
    if caller_principal(pctx) == (kind, name):
        return f"{kind} {name} is the caller of this plan: {CLEAN_CREDENTIALS}"
    return None


# -- steps shared with the teardown recipes ------------------------------------------------------


def _key_target(key_id: str) -> Target:
    return Target(type=KEY, id=key_id, region=GLOBAL)


def deactivate_key(builder: PlanBuilder, key_id: str, user: str, why: list[str], reason: str = "") -> str:
    """The CUT step that deactivates a key: one step however many recipes ask for it."""
    return builder.add(Phase.CUT, "iam.deactivate-access-key", _key_target(key_id), params={"user": user},
                       expect={"exists": True, "status": "Active"}, post={"exists": True, "status": "Inactive"},
                       why=why, reason=reason or "cut the key before anything else")


def delete_key(builder: PlanBuilder, key_id: str, user: str, why: list[str], after: list[str]) -> str:
    """The DESTROY step that deletes an (already deactivated) attacker key."""
    return builder.add(Phase.DESTROY, "iam.delete-access-key", _key_target(key_id), params={"user": user},
                       expect={"exists": True, "status": "Inactive"}, post={"exists": False},
                       why=why, reason="attacker-created key: delete after evidence", after=after)


def _delete_login_profile(builder: PlanBuilder, user: str, why: list[str], reason: str) -> str:
    return builder.add(Phase.CUT, "iam.delete-login-profile", Target(type=USER, id=user, region=GLOBAL),
                       expect={"login_profile": True}, post={"login_profile": False}, why=why, reason=reason)


def _reset_login_profile(builder: PlanBuilder, user: str, why: list[str]) -> str:
    return builder.add(Phase.CUT, "iam.reset-login-profile", Target(type=USER, id=user, region=GLOBAL),
                       expect={"login_profile": True, "new_password_issued": False},
                       post={"login_profile": True, "password_reset_required": True, "new_password_issued": True},
                       why=why, reason="the attacker may know this password: temporary one, reset required")


def _quarantine(pctx: PlanContext, builder: PlanBuilder, target: Target, why: list[str]) -> str:
    return builder.add(Phase.CUT, "iam.quarantine-principal", target,
                       params={"policy_name": quarantine_policy_name(pctx.case_id)},
                       expect={"quarantine_policy": False}, post={"quarantine_policy": True}, why=why,
                       reason="explicit deny-all: whatever else it holds, it can do nothing")


def _revoke(pctx: PlanContext, builder: PlanBuilder, target: Target, why: list[str]) -> str:
    return builder.add(Phase.CUT, "iam.revoke-sessions", target,
                       params={"policy_name": revoke_policy_name(pctx.case_id)},
                       expect={"revoke_policy": False}, post={"revoke_policy": True}, why=why,
                       reason="deny sessions issued before now (paired with cutting their source credential)")


# -- live reads ----------------------------------------------------------------------------------


def _keys(pctx: PlanContext, user: str) -> list[dict[str, Any]] | None:
    try:
        pages = _iam(pctx).get_paginator("list_access_keys").paginate(UserName=user)
        return [key for page in pages for key in page.get("AccessKeyMetadata", [])]
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise


def _has_login_profile(pctx: PlanContext, user: str) -> bool | None:
    """True / False, or None when the user itself does not exist."""
    iam = _iam(pctx)
    try:
        iam.get_login_profile(UserName=user)
        return True
    except ClientError as exc:
        if _code(exc) != "NoSuchEntity":
            raise
    try:
        iam.get_user(UserName=user)
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise
    return False


def _user(pctx: PlanContext, name: str) -> dict[str, Any] | None:
    try:
        user: dict[str, Any] = _iam(pctx).get_user(UserName=name)["User"]
        return user
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise


def _user_arn(pctx: PlanContext, name: str) -> str | None:
    """The user's ARN (its path matters for never-touch entries given as ARNs): inventory, else GetUser."""
    for item in pctx.inventory(USER):
        if item.get("id") == name and isinstance(item.get("arn"), str):
            return str(item["arn"])
    live = _user(pctx, name)
    arn = (live or {}).get("Arn")
    return arn if isinstance(arn, str) else None


def _role(pctx: PlanContext, name: str) -> dict[str, Any] | None:
    try:
        role: dict[str, Any] = _iam(pctx).get_role(RoleName=name)["Role"]
        return role
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise


def key_user(pctx: PlanContext, subject: Subject) -> str | None:
    """The user a key belongs to: triage's inventory, the subject's facts, else GetAccessKeyLastUsed."""
    for item in pctx.inventory(KEY):
        if item.get("id") == subject.target.id:
            user = (item.get("data") or {}).get("user")
            if isinstance(user, str) and user:
                return user
    fact = subject.facts.get("user")
    if isinstance(fact, str) and fact:
        return fact
    try:
        found = _iam(pctx).get_access_key_last_used(AccessKeyId=subject.target.id).get("UserName")
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise
    return found if isinstance(found, str) and found else None


def _user_gets_removed(pctx: PlanContext, user: str) -> Subject | None:
    subject = pctx.subject(USER, user)
    return subject if subject is not None and subject.treatment is Treatment.REMOVE else None


# -- principals (called by the teardown recipes) -------------------------------------------------


def _refuse(builder: PlanBuilder, subject: Subject, reason: str) -> None:
    builder.skip(subject, reason)
    if reason.endswith(CLEAN_CREDENTIALS):
        builder.note(f"{subject.target.label()} is the caller's own principal and gets no step: {CLEAN_CREDENTIALS}")


def cut_user(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> list[str]:
    """CUT-phase steps for a user: deny-all and keys off (REMOVE/QUARANTINE), or revoke + reset (NEUTRALISE)."""
    name = subject.target.id
    live = _user(pctx, name)
    why = subject.finding_ids
    reason = untouchable(pctx, "user", name, subject.target.arn or (live or {}).get("Arn"))
    if reason:
        _refuse(builder, subject, reason)
        return []
    if live is None:
        builder.skip(subject, f"user {name} no longer exists")
        return []
    target = Target(type=USER, id=name, region=GLOBAL, arn=subject.target.arn or live.get("Arn"))
    steps: list[str] = []
    if subject.treatment in (Treatment.REMOVE, Treatment.QUARANTINE):
        steps.append(_quarantine(pctx, builder, target, why))
        for key in _keys(pctx, name) or []:
            if key.get("Status") == "Active":
                steps.append(deactivate_key(builder, key["AccessKeyId"], name, why,
                                            reason=f"key of {subject.treatment.value} user {name}"))
        if subject.treatment is Treatment.REMOVE and _has_login_profile(pctx, name):
            steps.append(_delete_login_profile(builder, name, why, "attacker user: no console access"))
        return steps
    steps.append(_revoke(pctx, builder, target, why))
    password_known = bool(subject.facts.get("password_known")) or any(f.rule == PASSWORD_RULE for f in subject.findings)
    if password_known:
        if _has_login_profile(pctx, name):
            steps.append(_reset_login_profile(builder, name, why))
        else:
            builder.note(f"user {name}: its password may be known to the attacker, but it has no console "
                         "password any more; nothing to reset")
    return steps


def cut_role(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> list[str]:
    """CUT-phase steps for a role: deny-all + revoke (REMOVE/QUARANTINE), revoke only (NEUTRALISE)."""
    name = subject.target.id
    live = _role(pctx, name)
    reason = untouchable(pctx, "role", name, subject.target.arn or (live or {}).get("Arn"),
                         (live or {}).get("Path"))
    if reason:
        _refuse(builder, subject, reason)
        return []
    if live is None:
        builder.skip(subject, f"role {name} no longer exists")
        return []
    target = Target(type=ROLE, id=name, region=GLOBAL, arn=subject.target.arn or live.get("Arn"))
    why = subject.finding_ids
    steps: list[str] = []
    if subject.treatment in (Treatment.REMOVE, Treatment.QUARANTINE):
        steps.append(_quarantine(pctx, builder, target, why))
    steps.append(_revoke(pctx, builder, target, why))
    return steps


# -- recipes -------------------------------------------------------------------------------------


@recipe(KEY)
def access_key_recipe(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    key_id = subject.target.id
    user = key_user(pctx, subject)
    keys = _keys(pctx, user) if user else None
    key = next((k for k in keys or [] if k["AccessKeyId"] == key_id), None)
    if user is None or key is None:
        builder.skip(subject, f"access key {key_id}: already gone")
        return
    reason = untouchable(pctx, "user", user, _user_arn(pctx, user))
    if reason and not reason.endswith(CLEAN_CREDENTIALS):
        builder.skip(subject, reason)
        return
    why = subject.finding_ids
    active = key.get("Status") == "Active"
    cut = deactivate_key(builder, key_id, user, why) if active else None
    if subject.treatment is Treatment.REMOVE:
        delete_key(builder, key_id, user, why, after=[cut] if cut else [])
    elif subject.treatment is Treatment.QUARANTINE:
        if cut is None:
            builder.skip(subject, f"access key {key_id} is already Inactive; nothing to change")
    elif cut is None:
        builder.skip(subject, f"access key {key_id} of {user} is already Inactive: no replacement planned")
    else:
        _plan_replacement(pctx, builder, subject, user, keys or [], cut)


def _plan_replacement(pctx: PlanContext, builder: PlanBuilder, subject: Subject, user: str,
                      keys: list[dict[str, Any]], cut: str) -> None:
    """A new key for a legitimate user whose key the attacker used, within IAM's two keys per user."""
    key_id = subject.target.id
    owner = pctx.subject(USER, user)
    if owner is not None and owner.treatment in (Treatment.REMOVE, Treatment.QUARANTINE):
        builder.note(f"no replacement for key {key_id}: its user {user} is treated as {owner.treatment.value}")
        return
    if caller_principal(pctx) == ("user", user):
        builder.skip(subject, f"no replacement key for {user}: it is the caller of this plan; "
                              f"create one by hand once the cut is verified, or {CLEAN_CREDENTIALS}")
        return
    why = subject.finding_ids
    # Attacker-created keys of the same user are deleted first, freeing a slot for the replacement.
    freed: list[str] = []
    for other in keys:
        other_id = other["AccessKeyId"]
        other_subject = pctx.subject(KEY, other_id)
        if other_id == key_id or other_subject is None or other_subject.treatment is not Treatment.REMOVE:
            continue
        other_cut = [deactivate_key(builder, other_id, user, other_subject.finding_ids)] \
            if other.get("Status") == "Active" else []
        freed.append(delete_key(builder, other_id, user, other_subject.finding_ids, after=other_cut))
    count = len(keys) - len(freed)
    if count >= MAX_KEYS_PER_USER:
        held = ", ".join(sorted(k["AccessKeyId"] for k in keys))
        builder.skip(subject, f"no replacement key for {user}: it already holds {len(keys)} keys ({held}) and IAM "
                              f"allows {MAX_KEYS_PER_USER}; delete one it no longer needs, then create a new key")
        return
    # The replacement waits for a deletion when it needs the slot, so it moves to that step's phase.
    builder.add(Phase.DESTROY if freed else Phase.CUT, "iam.create-replacement-access-key",
                Target(type=USER, id=user, region=GLOBAL),
                params={"replaces": key_id, "keys_at_plan": sorted(k["AccessKeyId"] for k in keys)},
                expect={"exists": True, "key_count": count, "has_replacement": False},
                post={"exists": True, "key_count": count + 1, "has_replacement": True},
                why=why, reason=f"replaces {key_id} for its legitimate owner (secret to secrets/ only)",
                after=[cut, *freed])


@recipe("AWS::IAM::LoginProfile")
def login_profile_recipe(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    user = subject.target.id
    reason = untouchable(pctx, "user", user, _user_arn(pctx, user))
    if reason and not reason.endswith(CLEAN_CREDENTIALS):
        builder.skip(subject, reason)
        return
    has = _has_login_profile(pctx, user)
    if not has:
        builder.skip(subject, f"console password of {user}: already gone")
        return
    why = subject.finding_ids
    if _user_gets_removed(pctx, user) is not None or subject.treatment is Treatment.REMOVE:
        _delete_login_profile(builder, user, why, "console password the attacker created")
    elif subject.treatment is Treatment.NEUTRALISE:
        _reset_login_profile(builder, user, why)
    else:
        builder.skip(subject, f"suspect console password of {user}: deleting it cannot be undone; "
                              "quarantine the user (deny-all) or confirm it as the attacker's")
