"""Reverting what the attacker changed on legitimate IAM principals (NEUTRALISE) and suspect ones (QUARANTINE).

With CloudTrail in the case, the changes come from the hunt sessions' own events (PutUserPolicy,
AttachRolePolicy, AddUserToGroup, UpdateAssumeRolePolicy, CreatePolicyVersion, ...): each is reverted
only while the live state still shows it. Without events, triage findings stand in: an admin inline
policy (iam-inline-admin) is deleted and a default policy version made in the window
(iam-policy-version-new) is set back. Every step here is reversible; none deletes a principal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from awsrespond.contain.actions.iam_revert import canonical_policy
from awsrespond.contain.actions.iam_teardown import document_digest, get_or_none, paged
from awsrespond.contain.model import Phase, Target
from awsrespond.contain.planner.builder import PlanBuilder, PlanContext, Subject, Treatment, recipe
from awsrespond.contain.planner.recipes.iam_cut import (
    QUARANTINE_POLICY_PREFIX,
    REVOKE_POLICY_PREFIX,
    caller_principal,
    untouchable,
)
from awsrespond.detect.policy import as_document, is_quarantine_policy
from awsrespond.timeutil import coerce_instant

GLOBAL = "global"
_KIND_TYPE = {"User": "AWS::IAM::User", "Role": "AWS::IAM::Role", "Group": "AWS::IAM::Group"}
_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[\w-]*:(?:iam|sts)::(\d{12}):")
INLINE_ADMIN = "iam-inline-admin"
VERSION_NEW = "iam-policy-version-new"
PRINCIPAL_EVENTS = frozenset({"PutUserPolicy", "PutRolePolicy", "PutGroupPolicy", "AttachUserPolicy",
                              "AttachRolePolicy", "AttachGroupPolicy", "AddUserToGroup", "UpdateAssumeRolePolicy"})
POLICY_EVENTS = frozenset({"CreatePolicyVersion", "SetDefaultPolicyVersion"})


def iam(pctx: PlanContext) -> Any:
    return pctx.client("iam", GLOBAL)


def field(obj: Any, name: str) -> Any:
    """An attribute of a hunt model, or a key of its JSON form."""
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def entity_target(pctx: PlanContext, kind: str, name: str) -> Target | None:
    """The target every recipe uses for one user, role or group (live ARN), so identical steps merge."""
    got = get_or_none(getattr(iam(pctx), f"get_{kind.lower()}"), **{f"{kind}Name": name})
    if got is None:
        return None
    return Target(type=_KIND_TYPE[kind], id=name, region=GLOBAL, arn=got[kind]["Arn"])


def own_policy(name: str) -> bool:
    """The tool's own deny-all or revoke-sessions inline policy (this case's or an earlier one's)."""
    return name.startswith((QUARANTINE_POLICY_PREFIX, REVOKE_POLICY_PREFIX))


def inline_document(pctx: PlanContext, kind: str, owner: str, policy: str) -> dict[str, Any] | None:
    got = get_or_none(getattr(iam(pctx), f"get_{kind.lower()}_policy"), **{f"{kind}Name": owner}, PolicyName=policy)
    return None if got is None else as_document(got.get("PolicyDocument"))


def inline_digest(pctx: PlanContext, kind: str, owner: str, policy: str) -> str | None:
    doc = inline_document(pctx, kind, owner, policy)
    return None if doc is None else document_digest(doc)


def delete_inline(builder: PlanBuilder, target: Target, kind: str, policy: str, *, why: list[str], reason: str,
                  after: Iterable[str] = (), digest: str | None = None, phase: Phase = Phase.DESTROY) -> str:
    expect: dict[str, Any] = {"present": True}
    if digest is not None:
        expect["document_sha256"] = digest
    return builder.add(phase, f"iam.delete-{kind.lower()}-inline-policy", target, params={"policy_name": policy},
                       expect=expect, post={"present": False}, why=why, reason=reason, after=after)


def detach(builder: PlanBuilder, target: Target, kind: str, policy_arn: str, *, why: list[str], reason: str,
           after: Iterable[str] = (), phase: Phase = Phase.DESTROY) -> str:
    return builder.add(phase, f"iam.detach-{kind.lower()}-policy", target, params={"policy_arn": policy_arn},
                       expect={"attached": True}, post={"attached": False}, why=why, reason=reason, after=after)


def remove_from_group(builder: PlanBuilder, user: Target, group: str, *, why: list[str], reason: str,
                      after: Iterable[str] = (), phase: Phase = Phase.DESTROY) -> str:
    return builder.add(phase, "iam.remove-user-from-group", user, params={"group": group},
                       expect={"member": True}, post={"member": False}, why=why, reason=reason, after=after)


# -- what the attacker did, from the case's CloudTrail ---------------------------------------------


def attacker_records(pctx: PlanContext, names: frozenset[str]) -> list[dict[str, Any]]:
    """Successful CloudTrail records of the hunt sessions with these event names, oldest first."""
    if pctx.events is None:
        return []
    ids = sorted({str(field(entry, "event_id")) for session in pctx.sessions
                  for entry in field(session, "timeline") or []
                  if field(entry, "event_name") in names and field(entry, "event_id")
                  and not field(entry, "error_code")})
    if not ids:
        return []
    records = [r for r in pctx.events(ids) if r.get("eventName") in names and not r.get("errorCode")]
    return sorted(records, key=lambda r: str(r.get("eventTime", "")))


def _request(record: dict[str, Any]) -> dict[str, Any]:
    value = record.get("requestParameters")
    return value if isinstance(value, dict) else {}


def _response(record: dict[str, Any]) -> dict[str, Any]:
    value = record.get("responseElements")
    return value if isinstance(value, dict) else {}


def _about(record: dict[str, Any], kind: str, name: str) -> bool:
    request = _request(record)
    if record.get("eventName") == "AddUserToGroup":
        return request.get("userName" if kind == "User" else "groupName") == name
    return request.get(f"{kind.lower()}Name") == name


def revert_principal(pctx: PlanContext, builder: PlanBuilder, subject: Subject, kind: str, target: Target,
                     cut: list[str]) -> None:
    """NEUTRALISE: revert the attacker's changes; QUARANTINE: only the reversible inline-admin delete."""
    if subject.treatment is Treatment.QUARANTINE or pctx.events is None:
        _inline_admin_findings(pctx, builder, subject, kind, target, cut)
        return
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for record in attacker_records(pctx, PRINCIPAL_EVENTS):
        if _about(record, kind, target.id):
            request = _request(record)
            key = str(request.get("policyName") or request.get("policyArn") or request.get("groupName")
                      or request.get("userName") or "")
            latest[(str(record["eventName"]), key)] = record
    for (event, _), record in sorted(latest.items(), key=lambda kv: str(kv[1].get("eventTime", ""))):
        _revert_event(pctx, builder, subject, kind, target, cut, event, record)


def _revert_event(pctx: PlanContext, builder: PlanBuilder, subject: Subject, kind: str, target: Target,
                  cut: list[str], event: str, record: dict[str, Any]) -> None:
    request = _request(record)
    why = subject.finding_ids
    when = f"{event} at {record.get('eventTime')} ({record.get('eventID')})"
    if event.startswith("Put") and event.endswith("Policy"):
        policy = str(request.get("policyName") or "")
        live = inline_document(pctx, kind, target.id, policy)
        if live is None:
            builder.note(f"{target.label()}: inline policy {policy} from {when} is already gone")
        elif document_digest(live) != document_digest(request.get("policyDocument")):
            builder.note(f"{target.label()}: inline policy {policy} changed again after {when}; left for review")
        else:
            delete_inline(builder, target, kind, policy, why=why, after=cut, digest=document_digest(live),
                          phase=Phase.CUT, reason=f"inline policy the attacker put ({when})")
    elif event.startswith("Attach"):
        arn = str(request.get("policyArn") or "")
        attached = paged(iam(pctx), f"list_attached_{kind.lower()}_policies", "AttachedPolicies",
                         **{f"{kind}Name": target.id}) or []
        if is_quarantine_policy(arn):
            return  # DESIGN.md 3.7: never detached from a principal that remains
        if any(p["PolicyArn"] == arn for p in attached):
            detach(builder, target, kind, arn, why=why, after=cut, phase=Phase.CUT,
                   reason=f"policy the attacker attached ({when})")
        else:
            builder.note(f"{target.label()}: {arn} attached by {when} is no longer attached")
    elif event == "AddUserToGroup":
        _revert_membership(pctx, builder, subject, request, cut, when)
    elif event == "UpdateAssumeRolePolicy":
        restore_trust(pctx, builder, subject, target, cut, when)


def _revert_membership(pctx: PlanContext, builder: PlanBuilder, subject: Subject, request: dict[str, Any],
                       cut: list[str], when: str) -> None:
    user, group = str(request.get("userName") or ""), str(request.get("groupName") or "")
    user_target = entity_target(pctx, "User", user)
    if user_target is None:
        return
    reason = untouchable(pctx, "user", user, user_target.arn)
    if reason:
        builder.skip(subject, f"user {user} was added to group {group} by {when}, but {reason}")
        return
    groups = paged(iam(pctx), "list_groups_for_user", "Groups", UserName=user) or []
    if any(g["GroupName"] == group for g in groups):
        remove_from_group(builder, user_target, group, why=subject.finding_ids, after=cut, phase=Phase.CUT,
                          reason=f"group membership the attacker added ({when})")


# -- trust policies ------------------------------------------------------------------------------


def _account_of(principal: str) -> str | None:
    if re.fullmatch(r"\d{12}", principal):
        return principal
    match = _ACCOUNT_IN_ARN.match(principal)
    return match.group(1) if match else None


def narrow_trust(document: Any, allowed: set[str]) -> dict[str, Any] | None:
    """The trust policy without the Allow principals outside ``allowed`` accounts (and unconditioned ``*``).

    None when nothing would be left (no statement admits anyone any more).
    """
    doc = as_document(document)
    raw = doc.get("Statement", [])
    kept: list[dict[str, Any]] = []
    for stmt in raw if isinstance(raw, list) else [raw]:
        if not isinstance(stmt, dict):
            continue
        if stmt.get("Effect") != "Allow":
            kept.append(stmt)
            continue
        principal = stmt.get("Principal")
        narrowed = bool(stmt.get("Condition"))
        if principal == "*":
            if narrowed:
                kept.append(stmt)
            continue
        if not isinstance(principal, dict):
            kept.append(stmt)
            continue
        fixed: dict[str, Any] = {}
        for kind, value in principal.items():
            values = value if isinstance(value, list) else [value]
            if kind == "AWS":
                values = [v for v in values if (v == "*" and narrowed)
                          or (isinstance(v, str) and _account_of(v) in allowed)]
            if values:
                fixed[kind] = values if isinstance(value, list) else values[0]
        if fixed:
            kept.append({**stmt, "Principal": fixed})
    if not any(s.get("Effect") == "Allow" for s in kept):
        return None
    return {**doc, "Statement": kept}


def restore_trust(pctx: PlanContext, builder: PlanBuilder, subject: Subject, target: Target, cut: list[str],
                  when: str) -> str | None:
    got = get_or_none(iam(pctx).get_role, RoleName=target.id)
    if got is None:
        return None
    live = as_document(got["Role"].get("AssumeRolePolicyDocument"))
    previous = subject.facts.get("previous_trust_policy")
    if isinstance(previous, dict | str) and previous:
        wanted: dict[str, Any] | None = as_document(previous)
        how = "the trust policy before the attacker's change"
    else:
        known = {str(a) for a in pctx.options.get("known_accounts", []) or []}
        wanted = narrow_trust(live, {pctx.account_id} | known)
        how = "the live trust policy without principals outside this account and its known accounts"
    if wanted is None:
        builder.skip(subject, f"role {target.id}: trust policy widened by {when}; only outside principals are "
                              "left in it - rewrite it by hand (the role is denied and its sessions revoked)")
        return None
    partition = pctx.partition
    if canonical_policy(wanted, partition) == canonical_policy(live, partition):
        builder.note(f"{target.label()}: trust policy widened by {when} admits no outside principal any more")
        return None
    return builder.add(Phase.CUT, "iam.restore-trust-policy", target, params={"document": wanted},
                       expect={"trust_policy": canonical_policy(live, partition)},
                       post={"trust_policy": canonical_policy(wanted, partition)}, why=subject.finding_ids,
                       reason=f"trust policy widened by {when}: restore {how}", after=cut)


# -- findings only (no CloudTrail) ---------------------------------------------------------------


def _inline_admin_findings(pctx: PlanContext, builder: PlanBuilder, subject: Subject, kind: str, target: Target,
                           cut: list[str]) -> None:
    for finding in subject.findings:
        if finding.rule != INLINE_ADMIN:
            continue
        for policy in finding.details.get("inline_policies", []) or []:
            name = str(policy)
            digest = inline_digest(pctx, kind, target.id, name)
            if own_policy(name) or digest is None:
                continue
            delete_inline(builder, target, kind, name, why=[finding.id], after=cut, digest=digest, phase=Phase.CUT,
                          reason=f"admin inline policy on a {subject.treatment.value} principal (kept for undo)")


def quarantine_extras(pctx: PlanContext, builder: PlanBuilder, subject: Subject, kind: str, target: Target) -> None:
    _inline_admin_findings(pctx, builder, subject, kind, target, [])
    if not builder.find(target_type=target.type, target_id=target.id):
        builder.skip(subject, f"suspect {kind.lower()} {target.id}: no reversible step fits it; review it, or "
                              "confirm it as the attacker's (--suspect-as-attacker)")


# -- managed policy versions ---------------------------------------------------------------------


def _versions(pctx: PlanContext, arn: str) -> list[dict[str, Any]]:
    return paged(iam(pctx), "list_policy_versions", "Versions", PolicyArn=arn) or []


def _set_default(pctx: PlanContext, builder: PlanBuilder, subject: Subject, arn: str, bad: str, before: datetime,
                 skip: set[str], why: list[str], reason: str) -> str | None:
    """Set the default back from ``bad`` to the newest version made before ``before`` (not in ``skip``)."""
    versions = _versions(pctx, arn)
    default = next((v["VersionId"] for v in versions if v.get("IsDefaultVersion")), None)
    if default != bad:
        builder.note(f"policy {arn}: default version is {default}, not {bad}; nothing to set back")
        return None
    older = [v for v in versions if v["VersionId"] not in skip | {bad}
             and (created := coerce_instant(v.get("CreateDate"))) is not None and created < before]
    if not older:
        builder.skip(subject, f"policy {arn}: no version older than {before.isoformat()} to set back to")
        return None
    previous = max(older, key=lambda v: coerce_instant(v.get("CreateDate")) or before)["VersionId"]
    return builder.add(Phase.CUT, "iam.set-default-policy-version", Target(type="AWS::IAM::ManagedPolicy", id=arn,
                                                                           region=GLOBAL, arn=arn),
                       params={"version_id": previous}, expect={"default_version": bad},
                       post={"default_version": previous}, why=why, reason=reason)


def revert_policy(pctx: PlanContext, builder: PlanBuilder, subject: Subject, arn: str) -> None:
    if pctx.events is None:
        quarantine_policy(pctx, builder, subject, arn)
        return
    records = [r for r in attacker_records(pctx, POLICY_EVENTS) if _request(r).get("policyArn") == arn]
    made = {str(v) for r in records if r.get("eventName") == "CreatePolicyVersion"
            if (v := (_response(r).get("policyVersion") or {}).get("versionId"))}
    bad: str | None = None
    for record in records:
        if record.get("eventName") == "SetDefaultPolicyVersion":
            bad = str(_request(record).get("versionId") or "") or bad
        elif _request(record).get("setAsDefault") in (True, "true"):
            bad = str((_response(record).get("policyVersion") or {}).get("versionId") or "") or bad
    first = coerce_instant(records[0].get("eventTime")) if records else None
    if bad is None or first is None:
        builder.skip(subject, f"policy {arn}: no default-version change by the attacker found in the case's events")
        return
    _set_default(pctx, builder, subject, arn, bad, first, made, subject.finding_ids,
                 f"default version {bad} set by the attacker: back to the one before")


def quarantine_policy(pctx: PlanContext, builder: PlanBuilder, subject: Subject, arn: str) -> None:
    """Without attribution: a default version made in the window is set back (reversible); nothing else."""
    findings = [f for f in subject.findings if f.rule == VERSION_NEW]
    start = coerce_instant(pctx.window_start)
    if not findings or start is None:
        builder.skip(subject, f"suspect policy {arn}: no reversible step fits it; detaching it could break "
                              "legitimate principals - review it, or confirm it as the attacker's")
        return
    default = findings[0].details.get("default_version")
    if not isinstance(default, str):
        default = next((v["VersionId"] for v in _versions(pctx, arn) if v.get("IsDefaultVersion")), "")
    _set_default(pctx, builder, subject, arn, default, start, set(), [f.id for f in findings],
                 "default version made in the incident window: back to the newest one before it")


# -- inline policies as subjects (hunt: PutUserPolicy made them) ---------------------------------


@recipe("AWS::IAM::UserPolicy", "AWS::IAM::RolePolicy", "AWS::IAM::GroupPolicy")
def inline_policy_recipe(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    kind = subject.target.type.rsplit("::", 1)[-1].removesuffix("Policy")
    owner, _, policy = subject.target.id.partition("/")
    if not owner or not policy:
        builder.skip(subject, f"inline policy id {subject.target.id!r} is not OWNER/POLICY")
        return
    target = entity_target(pctx, kind, owner)
    if target is None:
        builder.skip(subject, f"{kind.lower()} {owner} no longer exists")
        return
    never = set(pctx.options.get("never_touch", []) or [])
    reason = untouchable(pctx, kind.lower(), owner, target.arn) if kind != "Group" else \
        (f"group {owner} is on the never-touch list" if owner in never or target.arn in never else None)
    caller = caller_principal(pctx)
    if reason is None and kind == "Group" and caller is not None and caller[0] == "user":
        members = {u["UserName"] for u in paged(iam(pctx), "get_group", "Users", GroupName=owner) or []}
        reason = f"group {owner} holds the caller {caller[1]}" if caller[1] in members else None
    if reason:
        builder.skip(subject, reason)
        return
    if own_policy(policy):
        builder.skip(subject, f"{policy} is this tool's own policy")
        return
    digest = inline_digest(pctx, kind, owner, policy)
    if digest is None:
        builder.skip(subject, f"inline policy {policy} of {owner} no longer exists")
        return
    if subject.treatment is Treatment.NEUTRALISE:
        builder.skip(subject, f"inline policy {policy} of {owner} is legitimate but was changed; its earlier "
                              "document is not known - review it")
        return
    removed = pctx.subject(target.type, owner)
    owner_goes = removed is not None and removed.treatment is Treatment.REMOVE
    delete_inline(builder, target, kind, policy, why=subject.finding_ids, digest=digest,
                  phase=Phase.DESTROY if owner_goes else Phase.CUT,
                  reason=f"inline policy the attacker put ({subject.treatment.value}; document kept for undo)")
