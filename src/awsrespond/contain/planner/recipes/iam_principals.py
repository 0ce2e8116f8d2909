"""Planning the removal of attacker IAM principals in the order real IAM requires (DESIGN.md 3.6, 3.7, 3.11).

A user is torn down as: (CUT, from ``iam_cut``) deny-all, keys off, login profile gone; then
(DESTROY) keys, signing certificates, SSH keys, service credentials, MFA devices, inline and attached
policies, group memberships; then the tool's own revoke and deny-all policies and any
``AWSCompromisedKeyQuarantine*`` attachment, so the user stays denied until the last moment; then
DeleteUser, which expects all of it gone. Roles, groups and managed policies follow the same shape.
Legitimate principals (NEUTRALISE) and suspect ones (QUARANTINE) are never deleted: see ``iam_reverts``.
"""

from __future__ import annotations

from typing import Any

from awsrespond.contain.actions.iam_teardown import (
    USER_EMPTY,
    get_or_none,
    group_state,
    paged,
    policy_entities,
    role_state,
    user_state,
)
from awsrespond.contain.model import Phase, Target
from awsrespond.contain.planner.builder import PlanBuilder, PlanContext, Subject, Treatment, recipe
from awsrespond.contain.planner.recipes import iam_reverts
from awsrespond.contain.planner.recipes.iam_cut import (
    QUARANTINE_POLICY_PREFIX,
    caller_principal,
    cut_role,
    cut_user,
    delete_key,
    untouchable,
)
from awsrespond.contain.planner.recipes.iam_reverts import (
    delete_inline,
    detach,
    entity_target,
    inline_digest,
    own_policy,
    remove_from_group,
)
from awsrespond.detect.policy import is_quarantine_policy

GLOBAL = "global"
USER, ROLE, GROUP = "AWS::IAM::User", "AWS::IAM::Role", "AWS::IAM::Group"
POLICY, PROFILE = "AWS::IAM::ManagedPolicy", "AWS::IAM::InstanceProfile"
MFA = "AWS::IAM::VirtualMFADevice"


def iam(pctx: PlanContext) -> Any:
    return pctx.client("iam", GLOBAL)


def _cut_of(builder: PlanBuilder, action: str, target: Target) -> list[str]:
    return [s.id for s in builder.find(action, target_type=target.type, target_id=target.id)]


def _last_steps(pctx: PlanContext, builder: PlanBuilder, target: Target, kind: str, state: dict[str, Any],
                why: list[str], subs: list[str]) -> list[str]:
    """DESIGN.md 3.7: the tool's deny policies, then any AWSCompromisedKeyQuarantine* attachment, go last."""
    made = {str(s.params.get("policy_name")): s.id
            for action in ("iam.revoke-sessions", "iam.quarantine-principal")
            for s in builder.find(action, target_type=target.type, target_id=target.id)}
    own = sorted({p for p in state["inline_policies"] if own_policy(p)} | set(made))
    # Revoke policy first, deny-all after it: the deny-all is the stronger one and stays longest.
    own.sort(key=lambda p: p.startswith(QUARANTINE_POLICY_PREFIX))
    chain = list(subs)
    for policy in own:
        waits = chain + ([made[policy]] if policy in made else [])
        chain = [delete_inline(builder, target, kind, policy, why=why, after=waits,
                               reason="the tool's own deny policy: removed last, right before the delete")]
    for arn in sorted(a for a in state["attached_policies"] if is_quarantine_policy(a)):
        chain = [detach(builder, target, kind, arn, why=why, after=chain,
                        reason="AWSCompromisedKeyQuarantine* is detached only as the last sub-step before the delete")]
    return chain


# -- users ----------------------------------------------------------------------------------------


def teardown_user(pctx: PlanContext, builder: PlanBuilder, subject: Subject, target: Target,
                  cut: list[str]) -> str | None:
    name = target.id
    client = iam(pctx)
    state = user_state(client, name)
    if not state["exists"]:
        return None
    why = subject.finding_ids
    subs: list[str] = []
    # The CUT phase already deleted the login profile; its step id is what DeleteUser waits for.
    subs += [s.id for s in builder.find("iam.delete-login-profile", target_type=USER, target_id=name)]
    for key in state["access_keys"]:
        deactivated = _cut_of(builder, "iam.deactivate-access-key", Target(type="AWS::IAM::AccessKey", id=key,
                                                                           region=GLOBAL))
        subs.append(delete_key(builder, key, name, why, after=deactivated))
    for cert in state["signing_certificates"]:
        subs.append(builder.add(Phase.DESTROY, "iam.delete-signing-certificate", target,
                                params={"certificate_id": cert}, expect={"present": True}, post={"present": False},
                                why=why, reason="signing certificate of an attacker user", after=cut))
    for key in state["ssh_public_keys"]:
        subs.append(builder.add(Phase.DESTROY, "iam.delete-ssh-public-key", target, params={"key_id": key},
                                expect={"present": True}, post={"present": False}, why=why,
                                reason="SSH public key of an attacker user", after=cut))
    for cred in state["service_specific_credentials"] or []:
        subs.append(builder.add(Phase.DESTROY, "iam.delete-service-specific-credential", target,
                                params={"credential_id": cred}, expect={"present": True}, post={"present": False},
                                why=why, reason="service-specific credential of an attacker user", after=cut))
    for serial in state["mfa_devices"]:
        off = builder.add(Phase.DESTROY, "iam.deactivate-mfa-device", target, params={"serial": serial},
                          expect={"present": True}, post={"present": False}, why=why,
                          reason="MFA device of an attacker user", after=cut)
        subs.append(off)
        if ":mfa/" in serial:
            builder.add(Phase.DESTROY, "iam.delete-virtual-mfa-device",
                        Target(type=MFA, id=serial, region=GLOBAL, arn=serial),
                        expect={"exists": True, "user": None}, post={"exists": False}, why=why,
                        reason="virtual MFA device of an attacker user", after=[off])
    for policy in state["inline_policies"]:
        if not own_policy(policy):
            subs.append(delete_inline(builder, target, "User", policy, why=why, after=cut,
                                      digest=inline_digest(pctx, "User", name, policy),
                                      reason="inline policy of an attacker user"))
    for arn in state["attached_policies"]:
        if not is_quarantine_policy(arn):
            subs.append(detach(builder, target, "User", arn, why=why, after=cut,
                               reason="managed policy attached to an attacker user"))
    for group in state["groups"]:
        subs.append(remove_from_group(builder, target, group, why=why, after=cut,
                                      reason="group membership of an attacker user"))
    last = _last_steps(pctx, builder, target, "User", state, why, subs)
    expect = {"exists": True, **USER_EMPTY,
              "service_specific_credentials": None if state["service_specific_credentials"] is None else []}
    return builder.add(Phase.DESTROY, "iam.delete-user", target, expect=expect, post={"exists": False},
                       why=why, reason="attacker-created user", after=sorted(set(cut + subs + last)))


@recipe(USER)
def user_recipe(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    name = subject.target.id
    target = entity_target(pctx, "User", name)
    if target is None or untouchable(pctx, "user", name, target.arn):
        cut_user(pctx, builder, subject)  # skips it, with the reason
        return
    cut = cut_user(pctx, builder, subject)
    if subject.treatment is Treatment.REMOVE:
        teardown_user(pctx, builder, subject, target, cut)
    else:
        iam_reverts.revert_principal(pctx, builder, subject, "User", target, cut)


# -- roles and instance profiles ------------------------------------------------------------------


def attacker_created(pctx: PlanContext, resource_type: str, resource_id: str) -> bool:
    subject = pctx.subject(resource_type, resource_id)
    if subject is not None and subject.treatment is Treatment.REMOVE:
        return True
    for session in pctx.sessions:
        for item in iam_reverts.field(session, "created") or []:
            if iam_reverts.field(item, "type") == resource_type and iam_reverts.field(item, "id") == resource_id:
                return True
    return False


def teardown_role(pctx: PlanContext, builder: PlanBuilder, subject: Subject, target: Target,
                  cut: list[str]) -> str | None:
    name = target.id
    state = role_state(iam(pctx), name)
    if not state["exists"]:
        return None
    why = subject.finding_ids
    subs: list[str] = []
    for profile in state["instance_profiles"]:
        ptarget = _profile_target(pctx, profile)
        removed = builder.add(Phase.DESTROY, "iam.remove-role-from-instance-profile", ptarget, params={"role": name},
                              expect={"has_role": True}, post={"has_role": False}, why=why,
                              reason="instance profile of an attacker role", after=cut)
        subs.append(removed)
        if attacker_created(pctx, PROFILE, profile):
            _delete_profile(builder, ptarget, why, [removed])
        else:
            builder.note(f"instance profile {profile} loses the attacker role {name} but is kept: "
                         "nothing shows the attacker created it")
    for policy in state["inline_policies"]:
        if not own_policy(policy):
            subs.append(delete_inline(builder, target, "Role", policy, why=why, after=cut,
                                      digest=inline_digest(pctx, "Role", name, policy),
                                      reason="inline policy of an attacker role"))
    for arn in state["attached_policies"]:
        if not is_quarantine_policy(arn):
            subs.append(detach(builder, target, "Role", arn, why=why, after=cut,
                               reason="managed policy attached to an attacker role"))
    if state["permissions_boundary"]:
        subs.append(builder.add(Phase.DESTROY, "iam.delete-role-permissions-boundary", target,
                                expect={"permissions_boundary": state["permissions_boundary"]},
                                post={"permissions_boundary": None}, why=why,
                                reason="permissions boundary of an attacker role", after=cut))
    last = _last_steps(pctx, builder, target, "Role", state, why, subs)
    return builder.add(Phase.DESTROY, "iam.delete-role", target,
                       expect={"exists": True, "inline_policies": [], "attached_policies": [],
                               "instance_profiles": [], "permissions_boundary": None},
                       post={"exists": False}, why=why, reason="attacker-created role",
                       after=sorted(set(cut + subs + last)))


def _profile_target(pctx: PlanContext, name: str) -> Target:
    got = get_or_none(iam(pctx).get_instance_profile, InstanceProfileName=name)
    arn = None if got is None else got["InstanceProfile"]["Arn"]
    return Target(type=PROFILE, id=name, region=GLOBAL, arn=arn)


def _delete_profile(builder: PlanBuilder, target: Target, why: list[str], after: list[str]) -> str:
    return builder.add(Phase.DESTROY, "iam.delete-instance-profile", target, expect={"exists": True, "roles": []},
                       post={"exists": False}, why=why, reason="instance profile the attacker created", after=after)


@recipe(ROLE)
def role_recipe(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    name = subject.target.id
    live = get_or_none(iam(pctx).get_role, RoleName=name)
    role = (live or {}).get("Role", {})
    if live is None or untouchable(pctx, "role", name, role.get("Arn"), role.get("Path")):
        cut_role(pctx, builder, subject)  # skips it, with the reason
        return
    target = Target(type=ROLE, id=name, region=GLOBAL, arn=role["Arn"])
    cut = cut_role(pctx, builder, subject)
    if subject.treatment is Treatment.REMOVE:
        teardown_role(pctx, builder, subject, target, cut)
    else:
        iam_reverts.revert_principal(pctx, builder, subject, "Role", target, cut)


@recipe(PROFILE)
def instance_profile_recipe(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    name = subject.target.id
    got = get_or_none(iam(pctx).get_instance_profile, InstanceProfileName=name)
    if got is None:
        builder.skip(subject, f"instance profile {name} no longer exists")
        return
    if subject.treatment is not Treatment.REMOVE:
        builder.skip(subject, f"instance profile {name} is not attributed to the attacker; deleting it cannot be "
                              "undone - its role is contained through the role itself")
        return
    target = Target(type=PROFILE, id=name, region=GLOBAL, arn=got["InstanceProfile"]["Arn"])
    why = subject.finding_ids
    removed = []
    for role in got["InstanceProfile"].get("Roles", []):
        role_name = role["RoleName"]
        if untouchable(pctx, "role", role_name, role.get("Arn"), role.get("Path")):
            builder.skip(subject, f"instance profile {name} holds role {role_name}, which must not be touched")
            return
        removed.append(builder.add(Phase.DESTROY, "iam.remove-role-from-instance-profile", target,
                                   params={"role": role_name}, expect={"has_role": True}, post={"has_role": False},
                                   why=why, reason="empty the attacker's instance profile before deleting it"))
    _delete_profile(builder, target, why, removed)


# -- groups ---------------------------------------------------------------------------------------


def teardown_group(pctx: PlanContext, builder: PlanBuilder, subject: Subject, target: Target) -> str | None:
    name = target.id
    state = group_state(iam(pctx), name)
    if not state["exists"]:
        return None
    why = subject.finding_ids
    subs: list[str] = []
    for member in state["members"]:
        user = entity_target(pctx, "User", member)
        if user is not None:
            subs.append(remove_from_group(builder, user, name, why=why, reason="member of an attacker group"))
    for policy in state["inline_policies"]:
        subs.append(delete_inline(builder, target, "Group", policy, why=why, after=[],
                                  digest=inline_digest(pctx, "Group", name, policy),
                                  reason="inline policy of an attacker group"))
    for arn in state["attached_policies"]:
        if not is_quarantine_policy(arn):
            subs.append(detach(builder, target, "Group", arn, why=why, reason="policy attached to an attacker group"))
    last = _last_steps(pctx, builder, target, "Group", {**state, "inline_policies": []}, why, subs)
    return builder.add(Phase.DESTROY, "iam.delete-group", target,
                       expect={"exists": True, "members": [], "inline_policies": [], "attached_policies": []},
                       post={"exists": False}, why=why, reason="attacker-created group", after=sorted(set(subs + last)))


@recipe(GROUP)
def group_recipe(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    name = subject.target.id
    target = entity_target(pctx, "Group", name)
    if target is None:
        builder.skip(subject, f"group {name} no longer exists")
        return
    never = set(pctx.options.get("never_touch", []) or [])
    if name in never or target.arn in never:
        builder.skip(subject, f"group {name} is on the never-touch list")
        return
    caller = caller_principal(pctx)
    members = group_state(iam(pctx), name)["members"]
    if caller is not None and caller[0] == "user" and caller[1] in members:
        builder.skip(subject, f"group {name} holds the caller {caller[1]}: changing it could lock the caller out; "
                              "switch to clean credentials (another principal)")
        return
    if subject.treatment is Treatment.REMOVE:
        teardown_group(pctx, builder, subject, target)
    elif subject.treatment is Treatment.NEUTRALISE:
        iam_reverts.revert_principal(pctx, builder, subject, "Group", target, [])
    else:
        iam_reverts.quarantine_extras(pctx, builder, subject, "Group", target)


# -- customer-managed policies --------------------------------------------------------------------


def teardown_policy(pctx: PlanContext, builder: PlanBuilder, subject: Subject, arn: str) -> str | None:
    client = iam(pctx)
    policy = get_or_none(client.get_policy, PolicyArn=arn)
    entities = policy_entities(client, arn)
    if policy is None or entities is None:
        return None
    why = subject.finding_ids
    caller = caller_principal(pctx)
    targets: list[tuple[str, Target]] = []
    for kind, name in entities:
        reason = untouchable(pctx, kind.lower(), name) if kind in ("User", "Role") else None
        if reason is None and kind == "Group" and caller is not None and caller[0] == "user" \
                and caller[1] in group_state(client, name)["members"]:
            reason = f"group {name} holds the caller {caller[1]}"
        if reason:
            builder.skip(subject, f"policy {arn} is attached to {kind.lower()} {name}, which must not be changed "
                                  f"({reason}); it cannot be deleted while attached")
            return None
        target = entity_target(pctx, kind, name)
        if target is not None:
            targets.append((kind, target))
    subs = [detach(builder, target, kind, arn, why=why, reason="attacker policy: detach everywhere before deleting")
            for kind, target in targets]
    default = policy["Policy"].get("DefaultVersionId")
    for version in paged(client, "list_policy_versions", "Versions", PolicyArn=arn) or []:
        if not version.get("IsDefaultVersion"):
            subs.append(builder.add(Phase.DESTROY, "iam.delete-policy-version",
                                    Target(type=POLICY, id=arn, region=GLOBAL, arn=arn),
                                    params={"version_id": version["VersionId"]},
                                    expect={"present": True, "is_default": False}, post={"present": False},
                                    why=why, reason="non-default version of an attacker policy"))
    return builder.add(Phase.DESTROY, "iam.delete-policy", Target(type=POLICY, id=arn, region=GLOBAL, arn=arn),
                       expect={"exists": True, "attachments": [], "versions": [default], "default_version": default},
                       post={"exists": False}, why=why, reason="attacker-created managed policy", after=subs)


@recipe(POLICY)
def policy_recipe(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    arn = subject.target.id
    never = set(pctx.options.get("never_touch", []) or [])
    if ":aws:policy/" in arn:
        builder.skip(subject, f"{arn} is AWS-managed: it cannot be changed, only detached from principals")
        return
    if arn in never or arn.rsplit("/", 1)[-1] in never:
        builder.skip(subject, f"policy {arn} is on the never-touch list")
        return
    if get_or_none(iam(pctx).get_policy, PolicyArn=arn) is None:
        builder.skip(subject, f"policy {arn} no longer exists")
        return
    if subject.treatment is Treatment.REMOVE:
        teardown_policy(pctx, builder, subject, arn)
    elif subject.treatment is Treatment.NEUTRALISE:
        iam_reverts.revert_policy(pctx, builder, subject, arn)
    else:
        iam_reverts.quarantine_policy(pctx, builder, subject, arn)


# -- identity providers and MFA devices -----------------------------------------------------------


@recipe("AWS::IAM::SAMLProvider", "AWS::IAM::OIDCProvider")
def provider_recipe(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    arn = subject.target.id
    saml = subject.target.type == "AWS::IAM::SAMLProvider"
    client = iam(pctx)
    got = get_or_none(client.get_saml_provider, SAMLProviderArn=arn) if saml \
        else get_or_none(client.get_open_id_connect_provider, OpenIDConnectProviderArn=arn)
    if got is None:
        builder.skip(subject, f"identity provider {arn} no longer exists")
        return
    if subject.treatment is not Treatment.REMOVE:
        builder.skip(subject, f"identity provider {arn} is not attributed to the attacker; deleting it cannot be "
                              "undone and would break federation that may be legitimate: review it")
        return
    builder.add(Phase.DESTROY, "iam.delete-saml-provider" if saml else "iam.delete-oidc-provider",
                Target(type=subject.target.type, id=arn, region=GLOBAL, arn=arn), expect={"exists": True},
                post={"exists": False}, why=subject.finding_ids, reason="identity provider the attacker created")


@recipe(MFA)
def mfa_device_recipe(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    serial = subject.target.id
    device = next((d for d in paged(iam(pctx), "list_virtual_mfa_devices", "VirtualMFADevices") or []
                   if d.get("SerialNumber") == serial), None)
    if device is None:
        builder.skip(subject, f"MFA device {serial} no longer exists")
        return
    if subject.treatment is not Treatment.REMOVE:
        builder.skip(subject, f"MFA device {serial} is not attributed to the attacker; deleting it cannot be undone")
        return
    why = subject.finding_ids
    after: list[str] = []
    user = (device.get("User") or {}).get("UserName")
    if user:
        owner = entity_target(pctx, "User", user)
        if owner is None or untouchable(pctx, "user", user, owner.arn):
            builder.skip(subject, f"MFA device {serial} is enabled for user {user}, which must not be changed")
            return
        after.append(builder.add(Phase.DESTROY, "iam.deactivate-mfa-device", owner, params={"serial": serial},
                                 expect={"present": True}, post={"present": False}, why=why,
                                 reason="MFA device the attacker created"))
    builder.add(Phase.DESTROY, "iam.delete-virtual-mfa-device", Target(type=MFA, id=serial, region=GLOBAL, arn=serial),
                expect={"exists": True, "user": None}, post={"exists": False}, why=why,
                reason="virtual MFA device the attacker created", after=after)
