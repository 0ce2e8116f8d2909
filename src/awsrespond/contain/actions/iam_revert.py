"""Reversible IAM changes: taking away what the attacker added to a principal, and putting it back on undo.

Used two ways: reverting an attacker's change on a legitimate principal (an inline policy, an
attachment, a group membership, a widened trust policy, a new default policy version), and clearing
the sub-items of an attacker principal before it is deleted. Either way ``apply`` returns what
``undo`` needs (the deleted document, the replaced trust policy or default version).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from awsrespond.contain.actions.base import Action, ActionContext, ActionError, register
from awsrespond.contain.actions.iam_teardown import (
    document_digest,
    get_or_none,
    iam,
    instance_profile_roles,
    paged,
    param,
)
from awsrespond.contain.model import Step
from awsrespond.detect.policy import as_document
from awsrespond.findings import EvidenceRef

_KINDS = {"AWS::IAM::User": "User", "AWS::IAM::Role": "Role", "AWS::IAM::Group": "Group"}
_ACCOUNT = re.compile(r"\d{12}")
_LIST_KEYS = ("Action", "NotAction", "Resource", "NotResource")


def _kind(step: Step, wanted: str) -> str:
    kind = _KINDS.get(step.target.type)
    if kind != wanted:
        raise ActionError(f"step {step.id}: target is {step.target.type}, this action works on IAM {wanted}s")
    return kind


def _as_sorted_list(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))


def canonical_policy(document: Any, partition: str = "aws") -> dict[str, Any]:
    """A policy document in one spelling: IAM rewrites trust principals (an account id becomes its root ARN)
    and keeps lists as given, so compare this form, not the text."""
    doc = as_document(document)
    out: list[dict[str, Any]] = []
    raw = doc.get("Statement", [])
    for stmt in raw if isinstance(raw, list) else [raw]:
        if not isinstance(stmt, dict):
            continue
        norm = dict(stmt)
        for key in _LIST_KEYS:
            if key in norm:
                norm[key] = _as_sorted_list(norm[key])
        principal = norm.get("Principal")
        if isinstance(principal, dict):
            fixed: dict[str, Any] = {}
            for kind, value in principal.items():
                values = [f"arn:{partition}:iam::{v}:root" if isinstance(v, str) and _ACCOUNT.fullmatch(v) else v
                          for v in (value if isinstance(value, list) else [value])]
                fixed[kind] = _as_sorted_list(values)
            norm["Principal"] = fixed
        out.append(norm)
    return {"Version": doc.get("Version"), "Statement": sorted(out, key=lambda s: json.dumps(s, sort_keys=True))}


# -- inline policies ------------------------------------------------------------------------------


class _DeleteInline(Action):
    kind: ClassVar[str]
    reversible = True
    cuts_attacker_access = True

    def _owner(self, step: Step) -> dict[str, str]:
        return {f"{_kind(step, self.kind)}Name": step.target.id}

    def _document(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        call = getattr(iam(ctx), f"get_{self.kind.lower()}_policy")
        got = get_or_none(call, **self._owner(step), PolicyName=param(step, "policy_name"))
        return None if got is None else as_document(got.get("PolicyDocument"))

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        doc = self._document(ctx, step)
        return {"present": doc is not None, "document_sha256": None if doc is None else document_digest(doc)}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        doc = self._document(ctx, step)
        return [ctx.evidence(step, "iam", f"Get{self.kind}Policy",
                             {**self._owner(step), "PolicyName": param(step, "policy_name"), "PolicyDocument": doc},
                             suffix=f"{step.target.id}.{param(step, 'policy_name')}")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        doc = self._document(ctx, step)
        if doc is None:
            raise ActionError(f"inline policy {param(step, 'policy_name')} of {step.target.id} is gone")
        getattr(iam(ctx), f"delete_{self.kind.lower()}_policy")(**self._owner(step),
                                                                 PolicyName=param(step, "policy_name"))
        return {"owner": step.target.id, "policy_name": param(step, "policy_name"), "document": doc}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        doc = result.get("document")
        if not isinstance(doc, dict):
            raise ActionError(f"step {step.id}: the journal kept no document to put back")
        getattr(iam(ctx), f"put_{self.kind.lower()}_policy")(**self._owner(step), PolicyName=param(step, "policy_name"),
                                                              PolicyDocument=json.dumps(doc))
        return {"owner": step.target.id, "policy_name": param(step, "policy_name"), "restored": True}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"present": True, "document_sha256": document_digest(result.get("document"))}


@register
class DeleteUserInlinePolicy(_DeleteInline):
    name = "iam.delete-user-inline-policy"
    title = "Delete an inline policy of a user (document kept for undo)"
    resource_type = "AWS::IAM::User"
    kind = "User"
    permissions = ("iam:GetUserPolicy", "iam:DeleteUserPolicy")
    how_to_undo = "put the kept document back (PutUserPolicy)"
    undo_permissions = ("iam:PutUserPolicy",)


@register
class DeleteRoleInlinePolicy(_DeleteInline):
    name = "iam.delete-role-inline-policy"
    title = "Delete an inline policy of a role (document kept for undo)"
    resource_type = "AWS::IAM::Role"
    kind = "Role"
    permissions = ("iam:GetRolePolicy", "iam:DeleteRolePolicy")
    how_to_undo = "put the kept document back (PutRolePolicy)"
    undo_permissions = ("iam:PutRolePolicy",)


@register
class DeleteGroupInlinePolicy(_DeleteInline):
    name = "iam.delete-group-inline-policy"
    title = "Delete an inline policy of a group (document kept for undo)"
    resource_type = "AWS::IAM::Group"
    kind = "Group"
    permissions = ("iam:GetGroupPolicy", "iam:DeleteGroupPolicy")
    how_to_undo = "put the kept document back (PutGroupPolicy)"
    undo_permissions = ("iam:PutGroupPolicy",)


# -- managed policy attachments -------------------------------------------------------------------


class _Detach(Action):
    kind: ClassVar[str]
    reversible = True
    cuts_attacker_access = True

    def _owner(self, step: Step) -> dict[str, str]:
        return {f"{_kind(step, self.kind)}Name": step.target.id}

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        attached = paged(iam(ctx), f"list_attached_{self.kind.lower()}_policies", "AttachedPolicies",
                         **self._owner(step)) or []
        return {"attached": any(p["PolicyArn"] == param(step, "policy_arn") for p in attached)}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        client = iam(ctx)
        arn = param(step, "policy_arn")
        policy = get_or_none(client.get_policy, PolicyArn=arn)
        version = (policy or {}).get("Policy", {}).get("DefaultVersionId")
        document = get_or_none(client.get_policy_version, PolicyArn=arn, VersionId=version) if version else None
        return [ctx.evidence(step, "iam", "GetPolicy+GetPolicyVersion",
                             {**self._owner(step), "policy": policy, "default_version": document},
                             suffix=f"{step.target.id}.{arn.rsplit('/', 1)[-1]}")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        call = getattr(iam(ctx), f"detach_{self.kind.lower()}_policy")
        call(**self._owner(step), PolicyArn=param(step, "policy_arn"))
        return {"owner": step.target.id, "policy_arn": param(step, "policy_arn"), "detached": True}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        call = getattr(iam(ctx), f"attach_{self.kind.lower()}_policy")
        call(**self._owner(step), PolicyArn=param(step, "policy_arn"))
        return {"owner": step.target.id, "policy_arn": param(step, "policy_arn"), "attached": True}


@register
class DetachUserPolicy(_Detach):
    name = "iam.detach-user-policy"
    title = "Detach a managed policy from a user"
    resource_type = "AWS::IAM::User"
    kind = "User"
    permissions = ("iam:ListAttachedUserPolicies", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:DetachUserPolicy")
    how_to_undo = "attach the policy again (AttachUserPolicy)"
    undo_permissions = ("iam:AttachUserPolicy",)


@register
class DetachRolePolicy(_Detach):
    name = "iam.detach-role-policy"
    title = "Detach a managed policy from a role"
    resource_type = "AWS::IAM::Role"
    kind = "Role"
    permissions = ("iam:ListAttachedRolePolicies", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:DetachRolePolicy")
    how_to_undo = "attach the policy again (AttachRolePolicy)"
    undo_permissions = ("iam:AttachRolePolicy",)


@register
class DetachGroupPolicy(_Detach):
    name = "iam.detach-group-policy"
    title = "Detach a managed policy from a group"
    resource_type = "AWS::IAM::Group"
    kind = "Group"
    permissions = ("iam:ListAttachedGroupPolicies", "iam:GetPolicy", "iam:GetPolicyVersion",
                   "iam:DetachGroupPolicy")
    how_to_undo = "attach the policy again (AttachGroupPolicy)"
    undo_permissions = ("iam:AttachGroupPolicy",)


# -- group membership, boundaries, instance profiles ----------------------------------------------


@register
class RemoveUserFromGroup(Action):
    name = "iam.remove-user-from-group"
    title = "Remove a user from a group"
    resource_type = "AWS::IAM::User"
    permissions = ("iam:ListGroupsForUser", "iam:RemoveUserFromGroup")
    reversible = True
    how_to_undo = "add the user to the group again (AddUserToGroup)"
    undo_permissions = ("iam:AddUserToGroup",)
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        groups = paged(iam(ctx), "list_groups_for_user", "Groups", UserName=step.target.id) or []
        return {"member": any(g["GroupName"] == param(step, "group") for g in groups)}

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).remove_user_from_group(UserName=step.target.id, GroupName=param(step, "group"))
        return {"user": step.target.id, "group": param(step, "group"), "removed": True}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        iam(ctx).add_user_to_group(UserName=step.target.id, GroupName=param(step, "group"))
        return {"user": step.target.id, "group": param(step, "group"), "added": True}


class _DeleteBoundary(Action):
    kind: ClassVar[str]
    reversible = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        _kind(step, self.kind)
        got = get_or_none(getattr(iam(ctx), f"get_{self.kind.lower()}"), **{f"{self.kind}Name": step.target.id})
        entity = (got or {}).get(self.kind, {})
        return {"permissions_boundary": (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")}

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        replaced = self.observe(ctx, step)["permissions_boundary"]
        getattr(iam(ctx), f"delete_{self.kind.lower()}_permissions_boundary")(**{f"{self.kind}Name": step.target.id})
        return {"owner": step.target.id, "replaced": replaced}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        replaced = result.get("replaced")
        if not isinstance(replaced, str):
            raise ActionError(f"step {step.id}: the journal kept no boundary to put back")
        getattr(iam(ctx), f"put_{self.kind.lower()}_permissions_boundary")(
            **{f"{self.kind}Name": step.target.id}, PermissionsBoundary=replaced)
        return {"owner": step.target.id, "permissions_boundary": replaced}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"permissions_boundary": result.get("replaced")}


@register
class DeleteUserPermissionsBoundary(_DeleteBoundary):
    name = "iam.delete-user-permissions-boundary"
    title = "Remove a user's permissions boundary"
    resource_type = "AWS::IAM::User"
    kind = "User"
    permissions = ("iam:GetUser", "iam:DeleteUserPermissionsBoundary")
    how_to_undo = "put the boundary back (PutUserPermissionsBoundary)"
    undo_permissions = ("iam:PutUserPermissionsBoundary",)


@register
class DeleteRolePermissionsBoundary(_DeleteBoundary):
    name = "iam.delete-role-permissions-boundary"
    title = "Remove a role's permissions boundary"
    resource_type = "AWS::IAM::Role"
    kind = "Role"
    permissions = ("iam:GetRole", "iam:DeleteRolePermissionsBoundary")
    how_to_undo = "put the boundary back (PutRolePermissionsBoundary)"
    undo_permissions = ("iam:PutRolePermissionsBoundary",)


@register
class RemoveRoleFromInstanceProfile(Action):
    name = "iam.remove-role-from-instance-profile"
    title = "Remove a role from an instance profile"
    resource_type = "AWS::IAM::InstanceProfile"
    permissions = ("iam:GetInstanceProfile", "iam:RemoveRoleFromInstanceProfile")
    reversible = True
    how_to_undo = "add the role to the instance profile again (AddRoleToInstanceProfile)"
    undo_permissions = ("iam:AddRoleToInstanceProfile",)
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"has_role": param(step, "role") in (instance_profile_roles(iam(ctx), step.target.id) or [])}

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).remove_role_from_instance_profile(InstanceProfileName=step.target.id, RoleName=param(step, "role"))
        return {"instance_profile": step.target.id, "role": param(step, "role"), "removed": True}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        iam(ctx).add_role_to_instance_profile(InstanceProfileName=step.target.id, RoleName=param(step, "role"))
        return {"instance_profile": step.target.id, "role": param(step, "role"), "added": True}


# -- trust policy and default policy version ------------------------------------------------------


@register
class RestoreTrustPolicy(Action):
    """params.document is the trust policy to put back (the one before the attacker's change)."""

    name = "iam.restore-trust-policy"
    title = "Restore a role's trust policy (the replaced one kept for undo)"
    resource_type = "AWS::IAM::Role"
    permissions = ("iam:GetRole", "iam:UpdateAssumeRolePolicy")
    reversible = True
    how_to_undo = "put the replaced trust policy back (UpdateAssumeRolePolicy) - it lets the attacker in again"
    undo_permissions = ("iam:UpdateAssumeRolePolicy",)
    cuts_attacker_access = True

    def _trust(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        got = get_or_none(iam(ctx).get_role, RoleName=step.target.id)
        return None if got is None else as_document(got["Role"].get("AssumeRolePolicyDocument"))

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        trust = self._trust(ctx, step)
        return {"trust_policy": None if trust is None else canonical_policy(trust, _partition(step))}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        got = get_or_none(iam(ctx).get_role, RoleName=step.target.id)
        return [ctx.evidence(step, "iam", "GetRole", got)]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        document = step.params.get("document")
        if not isinstance(document, dict):
            raise ActionError(f"step {step.id}: params.document (the trust policy to restore) is missing")
        replaced = self._trust(ctx, step)
        iam(ctx).update_assume_role_policy(RoleName=step.target.id, PolicyDocument=json.dumps(document))
        return {"role": step.target.id, "replaced": replaced}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        replaced = result.get("replaced")
        if not isinstance(replaced, dict):
            raise ActionError(f"step {step.id}: the journal kept no trust policy to put back")
        iam(ctx).update_assume_role_policy(RoleName=step.target.id, PolicyDocument=json.dumps(replaced))
        return {"role": step.target.id, "restored": "the trust policy found before the step"}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"trust_policy": canonical_policy(result.get("replaced"), _partition(step))}


def _partition(step: Step) -> str:
    parts = (step.target.arn or "arn:aws").split(":")
    return parts[1] if len(parts) > 1 else "aws"


@register
class SetDefaultPolicyVersion(Action):
    """params.version_id is the version to make default again (the one before the attacker's)."""

    name = "iam.set-default-policy-version"
    title = "Set a managed policy's default version back (the replaced one kept for undo)"
    resource_type = "AWS::IAM::ManagedPolicy"
    permissions = ("iam:GetPolicy", "iam:ListPolicyVersions", "iam:GetPolicyVersion", "iam:SetDefaultPolicyVersion")
    reversible = True
    how_to_undo = "make the replaced version default again (SetDefaultPolicyVersion) - the attacker's version"
    undo_permissions = ("iam:SetDefaultPolicyVersion",)
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        got = get_or_none(iam(ctx).get_policy, PolicyArn=step.target.id)
        return {"default_version": None if got is None else got["Policy"].get("DefaultVersionId")}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        client = iam(ctx)
        versions = paged(client, "list_policy_versions", "Versions", PolicyArn=step.target.id) or []
        documents = [get_or_none(client.get_policy_version, PolicyArn=step.target.id, VersionId=v["VersionId"])
                     for v in versions]
        return [ctx.evidence(step, "iam", "ListPolicyVersions+GetPolicyVersion", documents,
                             suffix=step.target.id.rsplit("/", 1)[-1])]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        replaced = self.observe(ctx, step)["default_version"]
        iam(ctx).set_default_policy_version(PolicyArn=step.target.id, VersionId=param(step, "version_id"))
        return {"policy_arn": step.target.id, "default_version": param(step, "version_id"), "replaced": replaced}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        replaced = result.get("replaced")
        if not isinstance(replaced, str):
            raise ActionError(f"step {step.id}: the journal kept no version to set back")
        iam(ctx).set_default_policy_version(PolicyArn=step.target.id, VersionId=replaced)
        return {"policy_arn": step.target.id, "default_version": replaced}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"default_version": result.get("replaced")}
