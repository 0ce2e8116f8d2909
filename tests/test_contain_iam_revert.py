"""Reverting the attacker's changes on legitimate principals, each step undone on its own afterwards."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from awsrespond.contain.actions.base import get_action, matches
from awsrespond.contain.actions.iam_revert import canonical_policy
from awsrespond.contain.model import Phase, Target
from awsrespond.contain.planner.builder import Subject, Treatment
from awsrespond.findings import Classification, Finding, ResourceRef, Severity
from awsrespond.timeutil import now_utc
from tests.contain_support import ACCOUNT, make_context, make_factory, run_step, undo_step
from tests.test_contain_iam_teardown import ADMIN, DENY, aws, name, plan, plan_context

__all__ = ["aws"]
OUTSIDE = "999988887777"


def _trust(*principals: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": list(principals)},
                                                     "Action": "sts:AssumeRole"}]}


class Trail:
    """A hunt session and the case's CloudTrail records, as the planner sees them."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.timeline: list[dict[str, Any]] = []

    def add(self, event: str, request: dict[str, Any], response: dict[str, Any] | None = None) -> None:
        event_id = f"ev-{len(self.records)}"
        when = now_utc().isoformat()
        self.records[event_id] = {"eventID": event_id, "eventName": event, "eventTime": when,
                                  "requestParameters": request, "responseElements": response}
        self.timeline.append({"event_id": event_id, "event_name": event, "error_code": None})
        time.sleep(0.01)

    def events(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        return [self.records[i] for i in ids if i in self.records]

    def sessions(self) -> list[dict[str, Any]]:
        return [{"timeline": self.timeline, "created": [], "changed": []}]


def _finding(rule: str, target: Target, details: dict[str, Any]) -> Finding:
    return Finding(id=f"{rule}-x", rule=rule, title=rule, severity=Severity.HIGH, classification=Classification.SUSPECT,
                   resource=ResourceRef(type=target.type, id=target.id, region="global"), details=details)


def test_attacker_changes_reverted_and_each_undone(aws: None, tmp_path: Path) -> None:
    rng = random.Random(21)
    iam = make_factory().client("iam")
    trail = Trail()
    user, group, role = name(rng, "ci-"), name(rng, "admins-"), name(rng, "deploy-")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.put_user_policy(UserName=user, PolicyName="legit", PolicyDocument=json.dumps(DENY))
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(_trust(f"arn:aws:iam::{ACCOUNT}:root")))
    policy_arn = iam.create_policy(PolicyName=name(rng, "app-"), PolicyDocument=json.dumps(DENY))["Policy"]["Arn"]
    time.sleep(0.01)
    # The attacker's changes, each with its CloudTrail record.
    evil_inline = name(rng, "x-")
    trail.add("PutUserPolicy", {"userName": user, "policyName": evil_inline, "policyDocument": json.dumps(ADMIN)})
    iam.put_user_policy(UserName=user, PolicyName=evil_inline, PolicyDocument=json.dumps(ADMIN))
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    trail.add("AttachUserPolicy", {"userName": user, "policyArn": admin})
    iam.attach_user_policy(UserName=user, PolicyArn=admin)
    trail.add("AddUserToGroup", {"userName": user, "groupName": group})
    iam.add_user_to_group(UserName=user, GroupName=group)
    widened = _trust(f"arn:aws:iam::{ACCOUNT}:root", OUTSIDE)
    trail.add("UpdateAssumeRolePolicy", {"roleName": role, "policyDocument": json.dumps(widened)})
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(widened))
    version = iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=json.dumps(ADMIN),
                                        SetAsDefault=True)["PolicyVersion"]["VersionId"]
    trail.add("CreatePolicyVersion", {"policyArn": policy_arn, "setAsDefault": True},
              {"policyVersion": {"versionId": version, "isDefaultVersion": True}})
    # The trail lists CreatePolicyVersion after the call; make its time precede the version's creation.
    first = min(r["eventTime"] for r in trail.records.values())
    trail.records[f"ev-{len(trail.records) - 1}"]["eventTime"] = first

    subjects = [Subject(Target(type="AWS::IAM::User", id=user, region="global"), Treatment.NEUTRALISE),
                Subject(Target(type="AWS::IAM::Role", id=role, region="global"), Treatment.NEUTRALISE),
                Subject(Target(type="AWS::IAM::ManagedPolicy", id=policy_arn, region="global"), Treatment.NEUTRALISE)]
    builder = plan(plan_context(subjects, sessions=trail.sessions(), events=trail.events))
    actions = {s.action for s in builder.steps}
    assert not any(a in actions for a in ("iam.delete-user", "iam.delete-role", "iam.delete-policy"))
    reverts = [s for s in builder.steps if s.action in (
        "iam.delete-user-inline-policy", "iam.detach-user-policy", "iam.remove-user-from-group",
        "iam.restore-trust-policy", "iam.set-default-policy-version")]
    assert sorted(s.action for s in reverts) == sorted([
        "iam.delete-user-inline-policy", "iam.detach-user-policy", "iam.remove-user-from-group",
        "iam.restore-trust-policy", "iam.set-default-policy-version"])
    assert all(s.reversible and s.phase is Phase.CUT for s in reverts)
    assert builder.find("iam.delete-user-inline-policy")[0].params == {"policy_name": evil_inline}
    assert builder.find("iam.set-default-policy-version")[0].params == {"version_id": "v1"}

    ctx = make_context(tmp_path, steps=builder.steps)
    results = {s.id: run_step(ctx, s) for s in reverts}
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["legit"]
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []
    assert iam.list_groups_for_user(UserName=user)["Groups"] == []
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert OUTSIDE not in json.dumps(trust) and ACCOUNT in json.dumps(trust)
    assert iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"] == "v1"

    # Each step undone on its own: only its own change comes back.
    for step in rng.sample(reverts, len(reverts)):
        others = {s.id: get_action(s.action).observe(ctx, s) for s in reverts if s.id != step.id}
        undo_step(ctx, step, results[step.id])
        for other in reverts:
            if other.id != step.id:
                assert get_action(other.action).observe(ctx, other) == others[other.id], other.action
        run_step(ctx, step)  # and again, for the next undo
    assert get_action("iam.restore-trust-policy").cuts_attacker_access
    assert get_action("iam.set-default-policy-version").cuts_attacker_access


def test_change_gone_since_is_skipped_and_quarantine_is_never_detached(aws: None) -> None:
    rng = random.Random(4)
    iam = make_factory().client("iam")
    trail = Trail()
    user = name(rng, "ci-")
    iam.create_user(UserName=user)
    arn = iam.create_policy(PolicyName="AWSCompromisedKeyQuarantineV2", Path="/q/",
                            PolicyDocument=json.dumps(DENY))["Policy"]["Arn"]
    trail.add("AttachUserPolicy", {"userName": user, "policyArn": arn})
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    trail.add("PutUserPolicy", {"userName": user, "policyName": "gone", "policyDocument": json.dumps(ADMIN)})
    trail.add("PutUserPolicy", {"userName": user, "policyName": "edited", "policyDocument": json.dumps(ADMIN)})
    iam.put_user_policy(UserName=user, PolicyName="edited", PolicyDocument=json.dumps(DENY))
    subject = Subject(Target(type="AWS::IAM::User", id=user, region="global"), Treatment.NEUTRALISE)
    builder = plan(plan_context([subject], sessions=trail.sessions(), events=trail.events))
    assert builder.find("iam.detach-user-policy") == []
    assert builder.find("iam.delete-user-inline-policy") == []
    assert any("edited" in n for n in builder.notes) and any("gone" in n for n in builder.notes)


def test_triage_only_findings_reverted(aws: None, tmp_path: Path) -> None:
    rng = random.Random(9)
    iam = make_factory().client("iam")
    role = name(rng, "app-")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(_trust(ACCOUNT)))
    bad = name(rng, "adm-")
    iam.put_role_policy(RoleName=role, PolicyName=bad, PolicyDocument=json.dumps(ADMIN))
    iam.put_role_policy(RoleName=role, PolicyName="ok", PolicyDocument=json.dumps(DENY))
    arn = iam.create_policy(PolicyName=name(rng, "p-"), PolicyDocument=json.dumps(DENY))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(DENY), SetAsDefault=True)
    time.sleep(0.02)
    start = now_utc()
    time.sleep(0.02)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ADMIN), SetAsDefault=True)
    role_target = Target(type="AWS::IAM::Role", id=role, region="global")
    policy_target = Target(type="AWS::IAM::ManagedPolicy", id=arn, region="global")
    subjects = [
        Subject(role_target, Treatment.NEUTRALISE, findings=[_finding("iam-inline-admin", role_target,
                                                                      {"inline_policies": [bad]})]),
        Subject(policy_target, Treatment.QUARANTINE, findings=[_finding("iam-policy-version-new", policy_target,
                                                                        {"default_version": "v3"})]),
    ]
    builder = plan(plan_context(subjects, window_start=start))
    wanted = ("iam.delete-role-inline-policy", "iam.set-default-policy-version")
    steps = [s for s in builder.steps if s.action in wanted]
    assert {s.action: s.params for s in steps} == {"iam.delete-role-inline-policy": {"policy_name": bad},
                                                    "iam.set-default-policy-version": {"version_id": "v2"}}
    ctx = make_context(tmp_path, steps=builder.steps)
    for step in steps:
        result = run_step(ctx, step)
        undo_step(ctx, step, result)
        assert matches(get_action(step.action).observe(ctx, step), step.expect)
    assert sorted(iam.list_role_policies(RoleName=role)["PolicyNames"]) == sorted([bad, "ok"])


def test_canonical_trust_ignores_spelling() -> None:
    a = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"},
                                                 "Action": "sts:AssumeRole"}]}
    b = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole"],
                                                 "Principal": {"AWS": ["arn:aws:iam::111122223333:root"]}}]}
    assert canonical_policy(a) == canonical_policy(b)
    assert canonical_policy(a) != canonical_policy(_trust("arn:aws:iam::111122223334:root"))
