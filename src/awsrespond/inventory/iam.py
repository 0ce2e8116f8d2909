"""IAM and the account root, collected with bulk calls.

GetAccountAuthorizationDetails gives users, groups, roles, their policies and role last-use in one
paginated call; the credential report gives passwords, MFA and root in one. Only access keys need per-user calls
(ListAccessKeys for their ids, GetAccessKeyLastUsed for their use).
"""

from __future__ import annotations

import base64
import csv
import io
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.errors import classify_error, describe_error
from awsrespond.coverage import GapKind, gap_kind
from awsrespond.detect.policy import as_document
from awsrespond.findings import EvidenceRef
from awsrespond.inventory.base import GLOBAL, CollectContext, Collector, Item, collector
from awsrespond.inventory.helpers import tags_of
from awsrespond.timeutil import coerce_instant, iso

_REPORT_WAIT_SECONDS = 30.0
_KEY_WORKERS = 8


@collector
class IamCollector(Collector):
    name = "iam"
    scope = "global"
    resource_types = (
        "AWS::IAM::User",
        "AWS::IAM::AccessKey",
        "AWS::IAM::Group",
        "AWS::IAM::Role",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::VirtualMFADevice",
        "AWS::IAM::SAMLProvider",
        "AWS::IAM::OIDCProvider",
        "AWS::IAM::Account",
    )
    permissions = (
        "iam:GetAccountAuthorizationDetails",
        "iam:GenerateCredentialReport",
        "iam:GetCredentialReport",
        "iam:GetAccountSummary",
        "iam:ListAccessKeys",
        "iam:GetAccessKeyLastUsed",
        "iam:ListVirtualMFADevices",
        "iam:ListSAMLProviders",
        "iam:ListOpenIDConnectProviders",
        "iam:GetOpenIDConnectProvider",
    )

    def collect(self, ctx: CollectContext) -> None:
        details, details_ref = self._authorization_details(ctx)
        report, report_ref = self._credential_report(ctx)
        mfa_by_user = self._virtual_mfa(ctx)
        self._users(ctx, details, details_ref, report, report_ref, mfa_by_user)
        self._groups(ctx, details, details_ref)
        self._roles(ctx, details, details_ref)
        self._policies(ctx, details, details_ref)
        self._account(ctx, report, report_ref)
        self._identity_providers(ctx)

    # -- bulk reads -------------------------------------------------------------------------------

    def _authorization_details(self, ctx: CollectContext) -> tuple[dict[str, list[Any]], EvidenceRef]:
        merged: dict[str, list[Any]] = {
            "UserDetailList": [],
            "GroupDetailList": [],
            "RoleDetailList": [],
            "Policies": [],
        }
        paginator = ctx.client("iam").get_paginator("get_account_authorization_details")
        for page in paginator.paginate(Filter=["User", "Role", "Group", "LocalManagedPolicy"]):
            for key, items in merged.items():
                items.extend(page.get(key, []))
        return merged, ctx.keep("iam", "GetAccountAuthorizationDetails", merged)

    def _credential_report(self, ctx: CollectContext) -> tuple[dict[str, dict[str, str]], EvidenceRef | None]:
        iam = ctx.client("iam")
        try:
            deadline = time.monotonic() + _REPORT_WAIT_SECONDS
            while iam.generate_credential_report().get("State") != "COMPLETE":
                if time.monotonic() > deadline:
                    ctx.gap(GapKind.ERROR, "iam:GenerateCredentialReport",
                            f"credential report not ready after {_REPORT_WAIT_SECONDS:.0f} s")
                    return {}, None
                time.sleep(1.0)
            raw = iam.get_credential_report()
        except (ClientError, BotoCoreError) as exc:
            ctx.gap(gap_kind(classify_error(exc)), "iam:GetCredentialReport",
                    f"{describe_error(exc)}; password, MFA and root details are incomplete")
            return {}, None
        content = raw["Content"]
        text = content.decode() if isinstance(content, bytes) else base64.b64decode(content).decode()
        rows = {row["user"]: row for row in csv.DictReader(io.StringIO(text))}
        generated = iso(coerce_instant(raw.get("GeneratedTime")))
        for row in rows.values():
            row["report_generated"] = generated or ""
        ref = ctx.keep("iam", "GetCredentialReport", {"GeneratedTime": raw.get("GeneratedTime"), "rows": rows})
        return rows, ref

    def _virtual_mfa(self, ctx: CollectContext) -> dict[str, list[str]]:
        devices = ctx.paginate("iam", "list_virtual_mfa_devices", "VirtualMFADevices")
        ref = ctx.keep("iam", "ListVirtualMFADevices", devices)
        by_user: dict[str, list[str]] = {}
        for device in devices:
            user = (device.get("User") or {}).get("UserName")
            serial = device["SerialNumber"]
            if user:
                by_user.setdefault(user, []).append(serial)
            ctx.add(
                Item(
                    type="AWS::IAM::VirtualMFADevice",
                    id=serial,
                    region=GLOBAL,
                    arn=serial,
                    name=serial.rsplit("/", 1)[-1],
                    created=coerce_instant(device.get("EnableDate")),
                    data={"user": user, "enable_date": iso(coerce_instant(device.get("EnableDate")))},
                    evidence=[ref],
                )
            )
        return by_user

    # -- users and their keys ---------------------------------------------------------------------

    def _users(
        self,
        ctx: CollectContext,
        details: dict[str, list[Any]],
        details_ref: EvidenceRef,
        report: dict[str, dict[str, str]],
        report_ref: EvidenceRef | None,
        mfa_by_user: dict[str, list[str]],
    ) -> None:
        users = details["UserDetailList"]
        # Every user, not only those the credential report shows with keys: AWS serves a report up
        # to four hours old, so a key the attacker added since then is not in it.
        keys = _parallel(ctx, [u["UserName"] for u in users], self._keys_of)
        refs = [details_ref] + ([report_ref] if report_ref else [])
        for user in users:
            name = user["UserName"]
            row = report.get(name, {})
            user_keys = keys.get(name, [])
            ctx.add(
                Item(
                    type="AWS::IAM::User",
                    id=name,
                    region=GLOBAL,
                    arn=user["Arn"],
                    name=name,
                    created=coerce_instant(user.get("CreateDate")),
                    data={
                        "user_id": user.get("UserId"),
                        "path": user.get("Path", "/"),
                        **_policies_of(user, "UserPolicyList"),
                        "groups": list(user.get("GroupList", [])),
                        "password_enabled": row.get("password_enabled") == "true",
                        "password_last_used": iso(coerce_instant(row.get("password_last_used"))),
                        "password_last_changed": iso(coerce_instant(row.get("password_last_changed"))),
                        "credential_report_time": row.get("report_generated") or None,
                        "mfa_active": row.get("mfa_active") == "true" or bool(mfa_by_user.get(name)),
                        "mfa_devices": mfa_by_user.get(name, []),
                        "access_keys": [k.id for k in user_keys],
                        "permissions_boundary": (user.get("PermissionsBoundary") or {}).get(
                            "PermissionsBoundaryArn"
                        ),
                        "tags": tags_of(user),
                    },
                    evidence=refs,
                )
            )
            for key in user_keys:
                ctx.add(key)

    def _keys_of(self, ctx: CollectContext, user: str) -> list[Item]:
        iam = ctx.client("iam")
        metadata = ctx.paginate("iam", "list_access_keys", "AccessKeyMetadata", UserName=user)
        items = []
        for key in metadata:
            key_id = key["AccessKeyId"]
            last = iam.get_access_key_last_used(AccessKeyId=key_id).get("AccessKeyLastUsed", {})
            ref = ctx.keep("iam", "ListAccessKeys+GetAccessKeyLastUsed", {"key": key, "last_used": last},
                           suffix=key_id)
            items.append(
                Item(
                    type="AWS::IAM::AccessKey",
                    id=key_id,
                    region=GLOBAL,
                    arn=None,
                    name=key_id,
                    created=coerce_instant(key.get("CreateDate")),
                    data={
                        "user": user,
                        "status": key.get("Status"),
                        "last_used_date": iso(coerce_instant(last.get("LastUsedDate"))),
                        "last_used_service": _na(last.get("ServiceName")),
                        "last_used_region": _na(last.get("Region")),
                    },
                    evidence=[ref],
                )
            )
        return items

    # -- groups, roles, policies ------------------------------------------------------------------

    def _groups(self, ctx: CollectContext, details: dict[str, list[Any]], ref: EvidenceRef) -> None:
        members: dict[str, list[str]] = {}
        for user in details["UserDetailList"]:
            for group in user.get("GroupList", []):
                members.setdefault(group, []).append(user["UserName"])
        for group in details["GroupDetailList"]:
            name = group["GroupName"]
            ctx.add(
                Item(
                    type="AWS::IAM::Group",
                    id=name,
                    region=GLOBAL,
                    arn=group["Arn"],
                    name=name,
                    created=coerce_instant(group.get("CreateDate")),
                    data={
                        **_policies_of(group, "GroupPolicyList"),
                        "members": sorted(members.get(name, [])),
                    },
                    evidence=[ref],
                )
            )

    def _roles(self, ctx: CollectContext, details: dict[str, list[Any]], ref: EvidenceRef) -> None:
        for role in details["RoleDetailList"]:
            name = role["RoleName"]
            last = role.get("RoleLastUsed") or {}
            path = role.get("Path", "/")
            ctx.add(
                Item(
                    type="AWS::IAM::Role",
                    id=name,
                    region=GLOBAL,
                    arn=role["Arn"],
                    name=name,
                    created=coerce_instant(role.get("CreateDate")),
                    data={
                        "path": path,
                        "trust_policy": as_document(role.get("AssumeRolePolicyDocument")),
                        **_policies_of(role, "RolePolicyList"),
                        "instance_profiles": [p["Arn"] for p in role.get("InstanceProfileList", [])],
                        "last_used_date": iso(coerce_instant(last.get("LastUsedDate"))),
                        "last_used_region": last.get("Region"),
                        "service_linked": path.startswith("/aws-service-role/"),
                        "sso_reserved": name.startswith("AWSReservedSSO_"),
                        "tags": tags_of(role),
                    },
                    evidence=[ref],
                )
            )

    def _policies(self, ctx: CollectContext, details: dict[str, list[Any]], ref: EvidenceRef) -> None:
        for policy in details["Policies"]:
            versions = policy.get("PolicyVersionList", [])
            default = next((v for v in versions if v.get("IsDefaultVersion")), None)
            ctx.add(
                Item(
                    type="AWS::IAM::ManagedPolicy",
                    id=policy["Arn"],
                    region=GLOBAL,
                    arn=policy["Arn"],
                    name=policy.get("PolicyName") or policy["Arn"].rsplit("/", 1)[-1],
                    created=coerce_instant(policy.get("CreateDate")),
                    data={
                        "default_version": policy.get("DefaultVersionId"),
                        "default_document": as_document(default.get("Document")) if default else {},
                        "default_version_created": iso(coerce_instant(default.get("CreateDate")))
                        if default
                        else None,
                        "version_count": len(versions),
                        "attachment_count": policy.get("AttachmentCount", 0),
                        "update_date": iso(coerce_instant(policy.get("UpdateDate"))),
                    },
                    evidence=[ref],
                )
            )

    # -- root and identity providers --------------------------------------------------------------

    def _account(self, ctx: CollectContext, report: dict[str, dict[str, str]], report_ref: EvidenceRef | None) -> None:
        summary = ctx.client("iam").get_account_summary().get("SummaryMap", {})
        ref = ctx.keep("iam", "GetAccountSummary", summary)
        root = report.get("<root_account>")
        root_keys = summary.get("AccountAccessKeysPresent", 0)
        ctx.add(
            Item(
                type="AWS::IAM::Account",
                id=ctx.account_id,
                region=GLOBAL,
                arn=f"arn:{ctx.partition}:iam::{ctx.account_id}:root",
                name="root",
                data={
                    "root_mfa_enabled": bool(summary.get("AccountMFAEnabled", 0)),
                    "root_access_keys_present": bool(root_keys),
                    "root_password_last_used": iso(coerce_instant(root.get("password_last_used"))) if root else None,
                    "root_in_credential_report": root is not None,
                    "users": summary.get("Users"),
                    "roles": summary.get("Roles"),
                    "policies": summary.get("Policies"),
                },
                evidence=[ref] + ([report_ref] if report_ref else []),
            )
        )

    def _identity_providers(self, ctx: CollectContext) -> None:
        iam = ctx.client("iam")
        saml = iam.list_saml_providers().get("SAMLProviderList", [])
        saml_ref = ctx.keep("iam", "ListSAMLProviders", saml)
        for provider in saml:
            ctx.add(
                Item(
                    type="AWS::IAM::SAMLProvider",
                    id=provider["Arn"],
                    region=GLOBAL,
                    arn=provider["Arn"],
                    name=provider["Arn"].rsplit("/", 1)[-1],
                    created=coerce_instant(provider.get("CreateDate")),
                    data={"valid_until": iso(coerce_instant(provider.get("ValidUntil")))},
                    evidence=[saml_ref],
                )
            )
        for provider in iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", []):
            arn = provider["Arn"]
            detail = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
            ref = ctx.keep("iam", "GetOpenIDConnectProvider", detail, suffix=arn.rsplit("/", 1)[-1])
            ctx.add(
                Item(
                    type="AWS::IAM::OIDCProvider",
                    id=arn,
                    region=GLOBAL,
                    arn=arn,
                    name=detail.get("Url", arn),
                    created=coerce_instant(detail.get("CreateDate")),
                    data={"url": detail.get("Url"), "client_ids": detail.get("ClientIDList", [])},
                    evidence=[ref],
                )
            )


def _policies_of(detail: dict[str, Any], inline_key: str) -> dict[str, Any]:
    """A principal's attached managed policy ARNs and inline policy documents by name."""
    return {
        "attached_policies": [p["PolicyArn"] for p in detail.get("AttachedManagedPolicies", [])],
        "inline_policies": {p["PolicyName"]: as_document(p.get("PolicyDocument")) for p in detail.get(inline_key, [])},
    }


def _na(value: Any) -> Any:
    return None if value in (None, "N/A") else value


def _parallel(
    ctx: CollectContext, users: list[str], fetch: Callable[[CollectContext, str], list[Item]]
) -> dict[str, list[Item]]:
    if not users:
        return {}
    with ThreadPoolExecutor(max_workers=min(_KEY_WORKERS, len(users)), thread_name_prefix="iam-keys") as pool:
        results = pool.map(lambda u: (u, fetch(ctx, u)), users)
        return dict(results)
