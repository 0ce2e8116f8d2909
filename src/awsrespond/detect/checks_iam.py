"""Triage checks for IAM principals, credentials and the root user."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from awsrespond.detect.judge import JudgeContext, check, raise_to
from awsrespond.detect.policy import (
    analyse_trust,
    is_admin_document,
    is_admin_managed,
    is_quarantine_policy,
)
from awsrespond.findings import Classification, Severity
from awsrespond.inventory.base import Item
from awsrespond.timeutil import coerce_instant, now_utc

UNUSED_AFTER = timedelta(days=90)


def _admin_sources(ctx: JudgeContext, item: Item) -> list[str]:
    """Why a principal (user, role, group) has administrator rights, if it does."""
    reasons = [f"managed policy {arn.rsplit('/', 1)[-1]}" for arn in item.data.get("attached_policies", [])
               if is_admin_managed(arn) or _customer_policy_is_admin(ctx, arn)]
    reasons += [f"inline policy {name}" for name, doc in item.data.get("inline_policies", {}).items()
                if is_admin_document(doc)]
    for group_name in item.data.get("groups", []):
        group = ctx.inventory.find("AWS::IAM::Group", group_name)
        if group is not None and _admin_sources(ctx, group):
            reasons.append(f"member of admin group {group_name}")
    return reasons


def _customer_policy_is_admin(ctx: JudgeContext, arn: str) -> bool:
    policy = ctx.inventory.find("AWS::IAM::ManagedPolicy", arn)
    return policy is not None and is_admin_document(policy.data.get("default_document"))


def _quarantine(ctx: JudgeContext, item: Item, principal: str | None) -> None:
    attached = [a for a in item.data.get("attached_policies", []) if is_quarantine_policy(a)]
    if attached:
        ctx.emit("iam-compromised-key-quarantine", item, classification=Classification.ATTACKER_USED,
                 details={"policies": attached}, principal=principal)


@check(order=10)
def users(ctx: JudgeContext) -> None:
    for user in ctx.inventory.of("AWS::IAM::User"):
        data = user.data
        _quarantine(ctx, user, user.arn)
        admin = _admin_sources(ctx, user)
        if ctx.is_new(user):
            ctx.mark_suspect(user)
            severity = raise_to(Severity.MEDIUM, bool(admin) or data.get("password_enabled", False), Severity.HIGH)
            ctx.emit(
                "iam-user-new", user, severity=severity,
                details=_user_facts(user, admin),
                reasons=[
                    "administrator rights: " + ", ".join(admin) if admin else "",
                    "can sign in to the console" if data.get("password_enabled") else "",
                    f"{len(data.get('access_keys', []))} access key(s)" if data.get("access_keys") else "",
                ],
                principal=user.arn,
            )
        elif ctx.in_window(data.get("password_last_changed")):
            ctx.emit("iam-console-password-changed", user, details=_user_facts(user, admin), principal=user.arn)
        if data.get("password_enabled") and not data.get("mfa_active"):
            is_new = ctx.is_suspect(user.type, user.id)
            ctx.emit(
                "iam-console-without-mfa", user,
                severity=Severity.HIGH if admin else Severity.MEDIUM,
                classification=Classification.SUSPECT if is_new else Classification.POSTURE,
                details={"administrator": bool(admin), "password_last_used": data.get("password_last_used")},
                principal=user.arn,
            )


def _user_facts(user: Item, admin: list[str]) -> dict[str, Any]:
    data = user.data
    return {
        "administrator": bool(admin),
        "admin_sources": admin,
        "console_password": data.get("password_enabled", False),
        "password_last_used": data.get("password_last_used"),
        "mfa": data.get("mfa_active", False),
        "access_keys": data.get("access_keys", []),
        "groups": data.get("groups", []),
        "attached_policies": data.get("attached_policies", []),
        "inline_policies": sorted(data.get("inline_policies", {})),
    }


@check(order=20)
def access_keys(ctx: JudgeContext) -> None:
    now = now_utc()
    for key in ctx.inventory.of("AWS::IAM::AccessKey"):
        data = key.data
        owner = ctx.inventory.find("AWS::IAM::User", str(data.get("user")))
        owner_arn = owner.arn if owner else None
        owner_new = owner is not None and ctx.is_suspect(owner.type, owner.id)
        facts = {
            "user": data.get("user"),
            "status": data.get("status"),
            "last_used_date": data.get("last_used_date"),
            "last_used_service": data.get("last_used_service"),
            "last_used_region": data.get("last_used_region"),
        }
        last_used = coerce_instant(data.get("last_used_date"))
        if ctx.is_new(key):
            ctx.mark_suspect(key)
            # A new key on an existing user is the classic persistence move.
            ctx.emit("iam-access-key-new", key,
                     severity=Severity.MEDIUM if owner_new else Severity.HIGH,
                     details={**facts, "owner_created_in_window": owner_new},
                     principal=owner_arn, access_key_id=key.id)
        elif ctx.in_window(last_used):
            region = data.get("last_used_region")
            odd_region = bool(region) and ctx.unusual_region(str(region)) and region != "us-east-1"
            ctx.emit("iam-access-key-used-in-window", key,
                     severity=raise_to(Severity.MEDIUM, odd_region, Severity.HIGH),
                     details=facts,
                     reasons=[f"last used in {region}, a region the account does not normally use"
                              if odd_region else ""],
                     principal=owner_arn, access_key_id=key.id)
        elif data.get("status") == "Active" and (
            (last_used is None and key.created is not None and now - key.created > UNUSED_AFTER)
            or (last_used is not None and now - last_used > UNUSED_AFTER)
        ):
            ctx.emit("iam-access-key-unused", key, classification=Classification.POSTURE, details=facts,
                     principal=owner_arn, access_key_id=key.id)


@check(order=10)
def roles(ctx: JudgeContext) -> None:
    for role in ctx.inventory.of("AWS::IAM::Role"):
        data = role.data
        _quarantine(ctx, role, role.arn)
        trust = analyse_trust(data.get("trust_policy"))
        outside = sorted(trust.outside_accounts(ctx.account_id, ctx.known_accounts))
        admin = _admin_sources(ctx, role)
        facts = {
            "trusted_accounts": sorted(trust.accounts),
            "outside_accounts": outside,
            "trusted_services": sorted(trust.services),
            "federated": sorted(trust.federated),
            "anyone": trust.anyone,
            "administrator": bool(admin),
            "admin_sources": admin,
            "last_used_date": data.get("last_used_date"),
            "instance_profiles": data.get("instance_profiles", []),
        }
        new = ctx.is_new(role)
        aws_managed = data.get("service_linked") or data.get("sso_reserved")
        if new and aws_managed:
            ctx.emit("iam-role-service-linked-new", role, details=facts)
        elif new:
            ctx.mark_suspect(role)
            severity = raise_to(Severity.MEDIUM, bool(outside) or bool(admin), Severity.HIGH)
            severity = raise_to(severity, trust.anyone, Severity.CRITICAL)
            ctx.emit("iam-role-new", role, severity=severity, details=facts,
                     reasons=[
                         f"trusts outside account(s) {', '.join(outside)}" if outside else "",
                         "trusts any AWS principal" if trust.anyone else "",
                         "administrator rights: " + ", ".join(admin) if admin else "",
                     ],
                     principal=role.arn)
        if trust.anyone and not aws_managed:
            ctx.emit("iam-role-trust-anyone", role,
                     severity=Severity.CRITICAL if new else Severity.HIGH,
                     classification=Classification.SUSPECT if new else Classification.POSTURE,
                     details=facts, principal=role.arn)
        if outside and not aws_managed:
            ctx.emit("iam-role-trust-outside", role,
                     severity=Severity.HIGH if new else Severity.MEDIUM,
                     classification=Classification.SUSPECT if new else Classification.POSTURE,
                     details=facts,
                     reasons=["add partner accounts to the baseline's known_accounts to silence this"
                              if not new else ""],
                     principal=role.arn)


@check(order=5)
def groups(ctx: JudgeContext) -> None:
    for group in ctx.inventory.of("AWS::IAM::Group"):
        _quarantine(ctx, group, group.arn)
        if ctx.is_new(group):
            ctx.mark_suspect(group)
            admin = _admin_sources(ctx, group)
            ctx.emit("iam-group-new", group, severity=raise_to(Severity.MEDIUM, bool(admin), Severity.HIGH),
                     details={"members": group.data.get("members", []), "administrator": bool(admin),
                              "admin_sources": admin})


@check(order=5)
def managed_policies(ctx: JudgeContext) -> None:
    for policy in ctx.inventory.of("AWS::IAM::ManagedPolicy"):
        data = policy.data
        admin = is_admin_document(data.get("default_document"))
        facts = {"administrator": admin, "attachment_count": data.get("attachment_count"),
                 "default_version": data.get("default_version"), "document": data.get("default_document")}
        if ctx.is_new(policy):
            ctx.mark_suspect(policy)
            ctx.emit("iam-policy-new", policy, severity=raise_to(Severity.MEDIUM, admin, Severity.HIGH),
                     details=facts)
        elif ctx.in_window(data.get("default_version_created")):
            ctx.mark_suspect(policy)
            ctx.emit("iam-policy-version-new", policy, details=facts)
        elif admin:
            ctx.emit("iam-policy-admin", policy, classification=Classification.POSTURE, details=facts)


@check(order=30)
def mfa_devices(ctx: JudgeContext) -> None:
    for device in ctx.inventory.of("AWS::IAM::VirtualMFADevice"):
        if ctx.is_new(device):
            ctx.emit("iam-mfa-device-new", device, details={"user": device.data.get("user")})


@check(order=30)
def identity_providers(ctx: JudgeContext) -> None:
    for kind in ("AWS::IAM::SAMLProvider", "AWS::IAM::OIDCProvider"):
        for provider in ctx.inventory.of(kind):
            if ctx.is_new(provider):
                ctx.mark_suspect(provider)
                ctx.emit("iam-identity-provider-new", provider, details=dict(provider.data))


@check(order=30)
def root(ctx: JudgeContext) -> None:
    for account in ctx.inventory.of("AWS::IAM::Account"):
        data = account.data
        if not data.get("root_mfa_enabled"):
            ctx.emit("account-root-no-mfa", account, classification=Classification.POSTURE)
        if data.get("root_access_keys_present"):
            ctx.emit("account-root-access-keys", account, classification=Classification.POSTURE)
        if ctx.in_window(data.get("root_password_last_used")):
            ctx.emit("account-root-login-in-window", account,
                     details={"root_password_last_used": data.get("root_password_last_used")})


@check(order=25)
def inline_admin(ctx: JudgeContext) -> None:
    """Attackers often give a leaked principal admin rights inline; such a policy has no date."""
    for kind in ("AWS::IAM::User", "AWS::IAM::Role", "AWS::IAM::Group"):
        for principal in ctx.inventory.of(kind):
            if ctx.is_suspect(principal.type, principal.id) or principal.data.get("service_linked"):
                continue
            admin = sorted(name for name, doc in principal.data.get("inline_policies", {}).items()
                           if is_admin_document(doc))
            if admin:
                ctx.emit("iam-inline-admin", principal, classification=Classification.POSTURE,
                         details={"inline_policies": admin}, principal=principal.arn)
