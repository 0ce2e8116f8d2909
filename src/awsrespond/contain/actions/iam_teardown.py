"""Deleting attacker IAM principals, one sub-item per step, in the order real IAM requires (DESIGN.md 3.11).

Real IAM refuses DeleteUser, DeleteRole, DeleteGroup and DeletePolicy while anything still hangs off
them (DeleteConflict); moto does not. So each delete observes everything IAM would object to, and the
planner expects all of it empty: a key or policy added after the plan makes the delete stale (refused)
instead of half-done. The removal of sub-items that can be put back (inline policies, attachments,
group memberships, boundaries, instance-profile roles) lives in ``iam_revert`` and is reversible.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from awsrespond.contain.actions.base import Action, ActionContext, ActionError, register
from awsrespond.contain.model import Step
from awsrespond.detect.policy import as_document
from awsrespond.findings import EvidenceRef


def code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def iam(ctx: ActionContext) -> Any:
    return ctx.client("iam", "global")


def param(step: Step, key: str) -> str:
    value = step.params.get(key)
    if not isinstance(value, str) or not value:
        raise ActionError(f"step {step.id}: params.{key} is missing")
    return value


def paged(client: Any, operation: str, result_key: str, **kwargs: Any) -> list[Any] | None:
    """Every item of a paginated IAM list, or None when its owner does not exist (NoSuchEntity)."""
    try:
        pages = client.get_paginator(operation).paginate(**kwargs)
        return [item for page in pages for item in page.get(result_key, [])]
    except ClientError as exc:
        if code(exc) == "NoSuchEntity":
            return None
        raise


def get_or_none(call: Any, **kwargs: Any) -> dict[str, Any] | None:
    try:
        response: dict[str, Any] = call(**kwargs)
        return response
    except ClientError as exc:
        if code(exc) == "NoSuchEntity":
            return None
        raise


def document_digest(document: Any) -> str:
    """Stable digest of a policy document (dict or URL-encoded JSON), for expect/post."""
    text = json.dumps(as_document(document), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def service_credentials(client: Any, user: str) -> list[str] | None:
    """Ids of the user's service-specific credentials; None where the endpoint does not implement the call.

    moto raises NotImplementedError for ListServiceSpecificCredentials in-process and answers HTML 500
    as a server (botocore cannot parse it); real IAM always answers. Unknown stays None in the plan, and
    DeleteUser reports IAM's DeleteConflict if such a credential exists after all.
    """
    try:
        creds = client.list_service_specific_credentials(UserName=user).get("ServiceSpecificCredentials", [])
    except (NotImplementedError, ResponseParserError):
        return None
    except ClientError as exc:
        if code(exc) == "NoSuchEntity":
            return []
        if code(exc) == "NotImplemented":
            return None
        raise
    return sorted(c["ServiceSpecificCredentialId"] for c in creds)


USER_EMPTY: dict[str, Any] = {
    "login_profile": False, "access_keys": [], "signing_certificates": [], "ssh_public_keys": [],
    "mfa_devices": [], "inline_policies": [], "attached_policies": [], "groups": [],
}


def user_state(client: Any, user: str) -> dict[str, Any]:
    """Everything DeleteUser conflicts with, by kind (sorted ids), plus the permissions boundary."""
    got = get_or_none(client.get_user, UserName=user)
    if got is None:
        return {"exists": False, **USER_EMPTY, "service_specific_credentials": [], "permissions_boundary": None}
    boundary = (got["User"].get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    reads: dict[str, Callable[[], Any]] = {
        "login_profile": lambda: get_or_none(client.get_login_profile, UserName=user) is not None,
        "access_keys": lambda: sorted(k["AccessKeyId"] for k in paged(
            client, "list_access_keys", "AccessKeyMetadata", UserName=user) or []),
        "signing_certificates": lambda: sorted(c["CertificateId"] for c in paged(
            client, "list_signing_certificates", "Certificates", UserName=user) or []),
        "ssh_public_keys": lambda: sorted(k["SSHPublicKeyId"] for k in paged(
            client, "list_ssh_public_keys", "SSHPublicKeys", UserName=user) or []),
        "service_specific_credentials": lambda: service_credentials(client, user),
        "mfa_devices": lambda: sorted(d["SerialNumber"] for d in paged(
            client, "list_mfa_devices", "MFADevices", UserName=user) or []),
        "inline_policies": lambda: sorted(paged(client, "list_user_policies", "PolicyNames", UserName=user) or []),
        "attached_policies": lambda: sorted(p["PolicyArn"] for p in paged(
            client, "list_attached_user_policies", "AttachedPolicies", UserName=user) or []),
        "groups": lambda: sorted(g["GroupName"] for g in paged(
            client, "list_groups_for_user", "Groups", UserName=user) or []),
    }
    # Nine independent reads, done for observe, evidence and verify: together, not one after another.
    with ThreadPoolExecutor(max_workers=len(reads)) as pool:
        futures = {name: pool.submit(read) for name, read in reads.items()}
        state = {name: future.result() for name, future in futures.items()}
    return {"exists": True, **state, "permissions_boundary": boundary}


def role_state(client: Any, role: str) -> dict[str, Any]:
    got = get_or_none(client.get_role, RoleName=role)
    if got is None:
        return {"exists": False, "inline_policies": [], "attached_policies": [], "instance_profiles": [],
                "permissions_boundary": None}
    boundary = (got["Role"].get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    return {
        "exists": True,
        "inline_policies": sorted(paged(client, "list_role_policies", "PolicyNames", RoleName=role) or []),
        "attached_policies": sorted(p["PolicyArn"] for p in paged(
            client, "list_attached_role_policies", "AttachedPolicies", RoleName=role) or []),
        "instance_profiles": sorted(p["InstanceProfileName"] for p in paged(
            client, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=role) or []),
        "permissions_boundary": boundary,
    }


def group_state(client: Any, group: str) -> dict[str, Any]:
    got = paged(client, "get_group", "Users", GroupName=group)
    if got is None:
        return {"exists": False, "members": [], "inline_policies": [], "attached_policies": []}
    return {
        "exists": True,
        "members": sorted(u["UserName"] for u in got),
        "inline_policies": sorted(paged(client, "list_group_policies", "PolicyNames", GroupName=group) or []),
        "attached_policies": sorted(p["PolicyArn"] for p in paged(
            client, "list_attached_group_policies", "AttachedPolicies", GroupName=group) or []),
    }


def policy_entities(client: Any, arn: str) -> list[tuple[str, str]] | None:
    """(kind, name) of every user, role and group the managed policy is attached to."""
    try:
        pages = list(client.get_paginator("list_entities_for_policy").paginate(
            PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy"))
    except ClientError as exc:
        if code(exc) == "NoSuchEntity":
            return None
        raise
    found = []
    for page in pages:
        found += [("User", u["UserName"]) for u in page.get("PolicyUsers", [])]
        found += [("Role", r["RoleName"]) for r in page.get("PolicyRoles", [])]
        found += [("Group", g["GroupName"]) for g in page.get("PolicyGroups", [])]
    return sorted(found)


def policy_state(client: Any, arn: str) -> dict[str, Any]:
    got = get_or_none(client.get_policy, PolicyArn=arn)
    entities = policy_entities(client, arn) if got is not None else None
    if got is None or entities is None:
        return {"exists": False, "attachments": [], "versions": [], "default_version": None}
    versions = paged(client, "list_policy_versions", "Versions", PolicyArn=arn) or []
    return {
        "exists": True,
        "attachments": [f"{kind}:{name}" for kind, name in entities],
        "versions": sorted(v["VersionId"] for v in versions),
        "default_version": got["Policy"].get("DefaultVersionId"),
    }


class _IamAction(Action):
    """Irreversible IAM deletions: nothing to put back."""

    reversible = False


# -- user sub-items -------------------------------------------------------------------------------


class _UserItem(_IamAction):
    """Deletes one credential of a user; ``observe`` says whether the item is still there."""

    resource_type = "AWS::IAM::User"
    list_op: str
    list_key: str
    id_field: str
    param_key: str

    def items(self, ctx: ActionContext, step: Step) -> list[dict[str, Any]]:
        return paged(iam(ctx), self.list_op, self.list_key, UserName=step.target.id) or []

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        wanted = param(step, self.param_key)
        return {"present": any(item.get(self.id_field) == wanted for item in self.items(ctx, step))}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        wanted = param(step, self.param_key)
        item = next((i for i in self.items(ctx, step) if i.get(self.id_field) == wanted), None)
        return [ctx.evidence(step, "iam", self.list_op, {"UserName": step.target.id, "item": item},
                             suffix=f"{step.target.id}.{wanted}")]


@register
class DeleteSigningCertificate(_UserItem):
    name = "iam.delete-signing-certificate"
    title = "Delete a user's X.509 signing certificate"
    permissions = ("iam:ListSigningCertificates", "iam:DeleteSigningCertificate")
    how_to_undo = "the certificate body is kept as evidence; it could be uploaded again under a new id"
    cuts_attacker_access = True
    list_op, list_key, id_field, param_key = "list_signing_certificates", "Certificates", "CertificateId", \
        "certificate_id"

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).delete_signing_certificate(UserName=step.target.id, CertificateId=param(step, self.param_key))
        return {"user": step.target.id, "certificate_id": param(step, self.param_key)}


@register
class DeleteSshPublicKey(_UserItem):
    name = "iam.delete-ssh-public-key"
    title = "Delete a user's SSH public key (CodeCommit)"
    permissions = ("iam:ListSSHPublicKeys", "iam:GetSSHPublicKey", "iam:DeleteSSHPublicKey")
    how_to_undo = "the key body is kept as evidence; it could be uploaded again under a new id"
    cuts_attacker_access = True
    list_op, list_key, id_field, param_key = "list_ssh_public_keys", "SSHPublicKeys", "SSHPublicKeyId", "key_id"

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        body = get_or_none(iam(ctx).get_ssh_public_key, UserName=step.target.id,
                           SSHPublicKeyId=param(step, self.param_key), Encoding="SSH")
        return [ctx.evidence(step, "iam", "GetSSHPublicKey", body, suffix=f"{step.target.id}.{step.params['key_id']}")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).delete_ssh_public_key(UserName=step.target.id, SSHPublicKeyId=param(step, self.param_key))
        return {"user": step.target.id, "ssh_public_key_id": param(step, self.param_key)}


@register
class DeleteServiceSpecificCredential(_IamAction):
    name = "iam.delete-service-specific-credential"
    title = "Delete a user's service-specific credential (CodeCommit, Keyspaces, Bedrock)"
    resource_type = "AWS::IAM::User"
    permissions = ("iam:ListServiceSpecificCredentials", "iam:DeleteServiceSpecificCredential")
    how_to_undo = "a deleted credential cannot be restored"
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        held = service_credentials(iam(ctx), step.target.id) or []
        return {"present": param(step, "credential_id") in held}

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).delete_service_specific_credential(UserName=step.target.id,
                                                    ServiceSpecificCredentialId=param(step, "credential_id"))
        return {"user": step.target.id, "credential_id": param(step, "credential_id")}


@register
class DeactivateMfaDevice(_UserItem):
    name = "iam.deactivate-mfa-device"
    title = "Deactivate an MFA device of a user"
    permissions = ("iam:ListMFADevices", "iam:DeactivateMFADevice")
    how_to_undo = "re-enabling needs two codes from the device, which only its holder has"
    cuts_attacker_access = True
    list_op, list_key, id_field, param_key = "list_mfa_devices", "MFADevices", "SerialNumber", "serial"

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).deactivate_mfa_device(UserName=step.target.id, SerialNumber=param(step, self.param_key))
        return {"user": step.target.id, "serial": param(step, self.param_key)}


def _virtual_device(client: Any, serial: str) -> dict[str, Any] | None:
    for device in paged(client, "list_virtual_mfa_devices", "VirtualMFADevices") or []:
        if device.get("SerialNumber") == serial:
            return dict(device)
    return None


@register
class DeleteVirtualMfaDevice(_IamAction):
    name = "iam.delete-virtual-mfa-device"
    title = "Delete a virtual MFA device (deactivated first)"
    resource_type = "AWS::IAM::VirtualMFADevice"
    permissions = ("iam:ListVirtualMFADevices", "iam:DeleteVirtualMFADevice")
    how_to_undo = "a deleted virtual MFA device cannot be restored (its seed is never kept)"
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        device = _virtual_device(iam(ctx), step.target.id)
        user = ((device or {}).get("User") or {}).get("UserName")
        return {"exists": device is not None, "user": user}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        device = _virtual_device(iam(ctx), step.target.id) or {}
        # The seed and QR code never come back from List, but drop them should an endpoint send them.
        kept = {k: v for k, v in device.items() if k not in ("Base32StringSeed", "QRCodePNG")}
        return [ctx.evidence(step, "iam", "ListVirtualMFADevices", kept, suffix=step.target.id.rsplit("/", 1)[-1])]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).delete_virtual_mfa_device(SerialNumber=step.target.id)
        return {"serial": step.target.id}


@register
class DeleteUser(_IamAction):
    name = "iam.delete-user"
    title = "Delete an IAM user (after every credential, policy and membership is gone)"
    resource_type = "AWS::IAM::User"
    permissions = ("iam:GetUser", "iam:GetLoginProfile", "iam:ListAccessKeys", "iam:ListSigningCertificates",
                   "iam:ListSSHPublicKeys", "iam:ListServiceSpecificCredentials", "iam:ListMFADevices",
                   "iam:ListUserPolicies", "iam:ListAttachedUserPolicies", "iam:ListGroupsForUser",
                   "iam:DeleteUser")
    how_to_undo = "a deleted user cannot be restored; its description is kept as evidence"
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return user_state(iam(ctx), step.target.id)

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        got = get_or_none(iam(ctx).get_user, UserName=step.target.id)
        return [ctx.evidence(step, "iam", "GetUser", {"user": got, "state": self.observe(ctx, step)})]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).delete_user(UserName=step.target.id)
        return {"user": step.target.id, "deleted": True}


# -- roles and instance profiles ------------------------------------------------------------------


def instance_profile_roles(client: Any, name: str) -> list[str] | None:
    got = get_or_none(client.get_instance_profile, InstanceProfileName=name)
    if got is None:
        return None
    return sorted(r["RoleName"] for r in got["InstanceProfile"].get("Roles", []))


@register
class DeleteInstanceProfile(_IamAction):
    name = "iam.delete-instance-profile"
    title = "Delete an instance profile (its roles removed first)"
    resource_type = "AWS::IAM::InstanceProfile"
    permissions = ("iam:GetInstanceProfile", "iam:DeleteInstanceProfile")
    how_to_undo = "a deleted instance profile cannot be restored; create a new one with the same name"
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        roles = instance_profile_roles(iam(ctx), step.target.id)
        return {"exists": roles is not None, "roles": roles or []}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        got = get_or_none(iam(ctx).get_instance_profile, InstanceProfileName=step.target.id)
        return [ctx.evidence(step, "iam", "GetInstanceProfile", got)]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).delete_instance_profile(InstanceProfileName=step.target.id)
        return {"instance_profile": step.target.id, "deleted": True}


@register
class DeleteRole(_IamAction):
    name = "iam.delete-role"
    title = "Delete an IAM role (after its policies and instance profiles are gone)"
    resource_type = "AWS::IAM::Role"
    permissions = ("iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
                   "iam:ListInstanceProfilesForRole", "iam:DeleteRole")
    how_to_undo = "a deleted role cannot be restored; its description and trust policy are kept as evidence"
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return role_state(iam(ctx), step.target.id)

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        got = get_or_none(iam(ctx).get_role, RoleName=step.target.id)
        return [ctx.evidence(step, "iam", "GetRole", {"role": got, "state": self.observe(ctx, step)})]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).delete_role(RoleName=step.target.id)
        return {"role": step.target.id, "deleted": True}


# -- groups ---------------------------------------------------------------------------------------


@register
class DeleteGroup(_IamAction):
    name = "iam.delete-group"
    title = "Delete an IAM group (after its members, inline and attached policies are gone)"
    resource_type = "AWS::IAM::Group"
    permissions = ("iam:GetGroup", "iam:ListGroupPolicies", "iam:ListAttachedGroupPolicies", "iam:DeleteGroup")
    how_to_undo = "a deleted group cannot be restored; its description is kept as evidence"
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return group_state(iam(ctx), step.target.id)

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).delete_group(GroupName=step.target.id)
        return {"group": step.target.id, "deleted": True}


# -- customer-managed policies --------------------------------------------------------------------


def _policy_version(client: Any, arn: str, version: str) -> dict[str, Any] | None:
    got = get_or_none(client.get_policy_version, PolicyArn=arn, VersionId=version)
    return None if got is None else dict(got["PolicyVersion"])


@register
class DeletePolicyVersion(_IamAction):
    name = "iam.delete-policy-version"
    title = "Delete a non-default version of a managed policy"
    resource_type = "AWS::IAM::ManagedPolicy"
    permissions = ("iam:ListPolicyVersions", "iam:GetPolicyVersion", "iam:DeletePolicyVersion")
    how_to_undo = "the version's document is kept as evidence; CreatePolicyVersion could add it again"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        versions = paged(iam(ctx), "list_policy_versions", "Versions", PolicyArn=step.target.id) or []
        mine = next((v for v in versions if v["VersionId"] == param(step, "version_id")), None)
        return {"present": mine is not None, "is_default": bool(mine and mine.get("IsDefaultVersion"))}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        version = _policy_version(iam(ctx), step.target.id, param(step, "version_id"))
        return [ctx.evidence(step, "iam", "GetPolicyVersion", version,
                             suffix=f"{step.target.id.rsplit('/', 1)[-1]}.{step.params['version_id']}")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).delete_policy_version(PolicyArn=step.target.id, VersionId=param(step, "version_id"))
        return {"policy_arn": step.target.id, "version_id": param(step, "version_id")}


@register
class DeletePolicy(_IamAction):
    name = "iam.delete-policy"
    title = "Delete a customer-managed policy (detached everywhere, only its default version left)"
    resource_type = "AWS::IAM::ManagedPolicy"
    permissions = ("iam:GetPolicy", "iam:ListEntitiesForPolicy", "iam:ListPolicyVersions", "iam:GetPolicyVersion",
                   "iam:DeletePolicy")
    how_to_undo = "a deleted policy cannot be restored; every version's document is kept as evidence"
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return policy_state(iam(ctx), step.target.id)

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        client = iam(ctx)
        versions = paged(client, "list_policy_versions", "Versions", PolicyArn=step.target.id) or []
        documents = [_policy_version(client, step.target.id, v["VersionId"]) for v in versions]
        got = get_or_none(client.get_policy, PolicyArn=step.target.id)
        return [ctx.evidence(step, "iam", "GetPolicy+GetPolicyVersion", {"policy": got, "versions": documents},
                             suffix=step.target.id.rsplit("/", 1)[-1])]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).delete_policy(PolicyArn=step.target.id)
        return {"policy_arn": step.target.id, "deleted": True}


# -- identity providers ---------------------------------------------------------------------------


@register
class DeleteSamlProvider(_IamAction):
    name = "iam.delete-saml-provider"
    title = "Delete a SAML identity provider"
    resource_type = "AWS::IAM::SAMLProvider"
    permissions = ("iam:GetSAMLProvider", "iam:DeleteSAMLProvider")
    how_to_undo = "the metadata document is kept as evidence; CreateSAMLProvider could add it again"
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"exists": get_or_none(iam(ctx).get_saml_provider, SAMLProviderArn=step.target.id) is not None}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        got = get_or_none(iam(ctx).get_saml_provider, SAMLProviderArn=step.target.id)
        return [ctx.evidence(step, "iam", "GetSAMLProvider", got, suffix=step.target.id.rsplit("/", 1)[-1])]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).delete_saml_provider(SAMLProviderArn=step.target.id)
        return {"provider": step.target.id, "deleted": True}


@register
class DeleteOidcProvider(_IamAction):
    name = "iam.delete-oidc-provider"
    title = "Delete an OpenID Connect identity provider"
    resource_type = "AWS::IAM::OIDCProvider"
    permissions = ("iam:GetOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider")
    how_to_undo = "URL, client ids and thumbprints are kept as evidence; the provider could be created again"
    cuts_attacker_access = True

    def _get(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        return get_or_none(iam(ctx).get_open_id_connect_provider, OpenIDConnectProviderArn=step.target.id)

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"exists": self._get(ctx, step) is not None}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        return [ctx.evidence(step, "iam", "GetOpenIDConnectProvider", self._get(ctx, step),
                             suffix=step.target.id.rsplit("/", 1)[-1])]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam(ctx).delete_open_id_connect_provider(OpenIDConnectProviderArn=step.target.id)
        return {"provider": step.target.id, "deleted": True}
