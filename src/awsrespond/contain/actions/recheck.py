"""Phase (c) of DESIGN.md 3.9: once the credentials are cut, look again for what is new.

An attacker who still held a credential while the plan was reviewed may have made another user,
key, role, policy or instance. This step lists them and names everything that was not known when
the plan was made (the tool's own artefacts excepted): its verify fails while anything is new, so the
report says to re-run ``contain plan``. It changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from awsrespond.aws.errors import error_code
from awsrespond.contain.actions.base import Action, ActionContext, register
from awsrespond.contain.model import Step
from awsrespond.findings import EvidenceRef

USER = "AWS::IAM::User"
ACCESS_KEY = "AWS::IAM::AccessKey"
LOGIN_PROFILE = "AWS::IAM::LoginProfile"
ROLE = "AWS::IAM::Role"
POLICY = "AWS::IAM::ManagedPolicy"
INSTANCE = "AWS::EC2::Instance"
_KNOWN_KEYS = {USER: "users", ACCESS_KEY: "access_keys", LOGIN_PROFILE: "login_profiles", ROLE: "roles",
               POLICY: "policies"}
_GONE_STATES = ("terminated", "shutting-down")
_WORKERS = 8


def _pages(client: Any, operation: str, field: str, **kwargs: Any) -> list[Any]:
    found: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        found.extend(page.get(field, []))
    return found


def _has_login_profile(iam: Any, user: str) -> bool:
    try:
        iam.get_login_profile(UserName=user)
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return False
        raise
    return True


def current_resources(ctx: ActionContext, regions: Iterable[str]) -> list[tuple[str, str]]:
    """(type, id) of every IAM user, key, login profile, role, customer policy and live instance."""
    iam = ctx.client("iam", "global")
    users = [u["UserName"] for u in _pages(iam, "list_users", "Users")]
    found: list[tuple[str, str]] = [(USER, name) for name in users]
    with ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="recheck") as pool:
        keys = pool.map(lambda user: _pages(iam, "list_access_keys", "AccessKeyMetadata", UserName=user), users)
        profiles = pool.map(lambda user: _has_login_profile(iam, user), users)
        for user, user_keys, has_profile in zip(users, keys, profiles, strict=True):
            found.extend((ACCESS_KEY, k["AccessKeyId"]) for k in user_keys)
            if has_profile:
                found.append((LOGIN_PROFILE, user))
    # Service-linked roles are made by AWS itself (GuardDuty's, when the preserve phase re-created
    # a detector) and no plan may touch them.
    found.extend((ROLE, r["RoleName"]) for r in _pages(iam, "list_roles", "Roles")
                 if not str(r.get("Path", "/")).startswith("/aws-service-role/"))
    found.extend((POLICY, p["Arn"]) for p in _pages(iam, "list_policies", "Policies", Scope="Local"))
    for region in regions:
        ec2 = ctx.client("ec2", region)
        for reservation in _pages(ec2, "describe_instances", "Reservations"):
            for instance in reservation.get("Instances", []):
                if (instance.get("State") or {}).get("Name") not in _GONE_STATES:
                    found.append((INSTANCE, instance["InstanceId"]))
    return found


@register
class Recheck(Action):
    name = "awsrespond.recheck"
    title = "Look again for users, keys, roles, policies and instances created since the plan"
    resource_type = "AWS::IAM::Account"
    permissions = ("iam:ListUsers", "iam:ListAccessKeys", "iam:GetLoginProfile", "iam:ListRoles",
                   "iam:ListPolicies", "ec2:DescribeInstances")
    reversible = False
    how_to_undo = "nothing to undo: it only reads"

    def _new(self, ctx: ActionContext, step: Step) -> list[str]:
        known: Mapping[str, Any] = step.params.get("known") or {}
        instances: Mapping[str, Any] = step.params.get("instances") or {}
        regions = sorted(set(step.params.get("regions") or []) | set(instances))
        known_ids = {(kind, str(i)) for kind, field in _KNOWN_KEYS.items() for i in known.get(field, [])}
        known_ids |= {(INSTANCE, str(i)) for ids in instances.values() for i in ids}
        own = {str(a) for a in ctx.extra.get("own_artefacts", [])}
        new = {f"{kind} {rid}" for kind, rid in current_resources(ctx, regions)
               if (kind, rid) not in known_ids and rid not in own and f"{kind} {rid}" not in own}
        return sorted(new)

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"new": self._new(ctx, step)}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        return []  # nothing changes; apply's result lists what is new

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        new = self._new(ctx, step)
        result: dict[str, Any] = {"new": new}
        if new:
            result["message"] = (f"re-run `awsrespond contain plan`: {len(new)} resource(s) appeared after the plan "
                                 f"was made ({', '.join(new[:10])}{', ...' if len(new) > 10 else ''})")
        return result
