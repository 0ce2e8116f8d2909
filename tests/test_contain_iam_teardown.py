"""Deleting attacker IAM principals: the write order real IAM requires (DESIGN.md 3.7, 3.11) and staleness.

moto lets DeleteUser succeed with keys left, so these tests record the calls (CallLog) and assert the
order; the steps run in a random order that respects only phases and ``after`` links, so the links
themselves are what is tested.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from awsrespond.aws.identity import CallerIdentity
from awsrespond.contain.actions import iam_revert, iam_teardown
from awsrespond.contain.actions.base import ActionContext, get_action, matches, registry
from awsrespond.contain.model import Phase, Step, Target
from awsrespond.contain.planner.builder import PlanBuilder, PlanContext, Subject, Treatment, recipes
from awsrespond.contain.planner.recipes.iam_cut import quarantine_policy_name
from tests.contain_support import ACCOUNT, CallLog, make_context, make_factory, run_step

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
DENY = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
CERT = """-----BEGIN CERTIFICATE-----
MIIBpzCCARACCQCY5yOdxCTrGjANBgkqhkiG9w0BAQsFADAXMRUwEwYDVQQKDAxt
b3RvIHRlc3RpbmcwIBcNMTgxMTA1MTkwNTIwWhgPMjI5MjA4MTkxOTA1MjBaMBcx
FTATBgNVBAoMDG1vdG8gdGVzdGluZzCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkC
gYEA1Jn3g2h7LD3FLqdpcYNbFXCS4V4eDpuTCje9vKFcC3pi/01147X3zdfPy8Mt
ZhKxcREOwm4NXykh23P9KW7fBovpNwnbYsbPqj8Hf1ZaClrgku1arTVhEnKjx8zO
vaR/bVLCss4uE0E0VM1tJn/QGQsfthFsjuHtwx8uIWz35tUCAwEAATANBgkqhkiG
9w0BAQsFAAOBgQBWdOQ7bDc2nWkUhFjZoNIZrqjyNdjlMUndpwREVD7FQ/DuxJMj
FyDHrtlrS80dPUQWNYHw++oACDpWO01LGLPPrGmuO/7cOdojPEd852q5gd+7W9xt
8vUH+pBa6IBLbvBp+szli51V3TLSWcoyy4ceJNQU2vCkTLoFdS0RLd/7tQ==
-----END CERTIFICATE-----"""
SSH_KEY = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDyn/Zbj5y8QAqMlDAv6Sr3ggDUqzrdeMJwm3QcTlAO2DCfQ2VQW"
           "YhJ0tThk5uYbJ6AqMJiYHEXXZoO3ymGRG4tzNNj6N6xQz2tVgD6sQ4U5AvwNQJFJpOoM9T1qUAENKMwUEmrXbHkGcxVd"
           "DI1Gsu3Fjpr1GIeutfTm4ss3L3xPVlmDj9D4R1bkMmBdPHTI5D8Pl6VNOBbj6XR/sGPvCdhAcTlQP/LeOCqm2MU6BjSkJ"
           "NKxqoRvi91ZgLAj2XOa9zbOEfOd+WhVKuqZg5Xbu0Lr4XpwhE4skWy6J8MJ05BukbKQoyYSm69XHHSIUdEqE7zb4gZwLwy"
           "1iL7TcfEPjP1z8Z responder@example")
QUARANTINE_NAME = "AWSCompromisedKeyQuarantineV2"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def name(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(rng.randint(4, 10)))


def plan_context(subjects: list[Subject], **kwargs: Any) -> PlanContext:
    caller = CallerIdentity(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/responder", user_id="AIDA",
                            alias=None)
    return PlanContext(factory=make_factory(), account_id=ACCOUNT, partition="aws", caller=caller,
                       case_id="case-teardown", subjects=subjects, **kwargs)


def plan(pctx: PlanContext) -> PlanBuilder:
    builder = PlanBuilder()
    for subject in pctx.subjects:
        recipes()[subject.target.type](pctx, builder, subject)
    return builder


def ancestors(builder: PlanBuilder, step: Step) -> set[str]:
    by_id = {s.id: s for s in builder.steps}
    seen: set[str] = set()
    todo = list(step.after)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += by_id[current].after
    return seen


def ordered(steps: list[Step], rng: random.Random) -> list[Step]:
    """A random order that keeps only what the plan promises: phases in order, ``after`` links honoured."""
    done: set[str] = set()
    out: list[Step] = []
    for phase in Phase:
        pending = [s for s in steps if s.phase is phase]
        while pending:
            ready = [s for s in pending if all(a in done for a in s.after)]
            assert ready, f"cycle or dangling after in {[(s.id, s.after) for s in pending]}"
            step = rng.choice(ready)
            pending.remove(step)
            done.add(step.id)
            out.append(step)
    assert {s.id for s in steps} == done
    return out


def apply_all(tmp_path: Path, builder: PlanBuilder, rng: random.Random) -> tuple[ActionContext, CallLog,
                                                                                list[tuple[Step, dict[str, Any]]]]:
    ctx = make_context(tmp_path, steps=builder.steps)
    log = CallLog(ctx.factory)
    log.attach(ctx.client("iam", "global"))
    results = [(step, run_step(ctx, step)) for step in ordered(builder.steps, rng)]
    return ctx, log, results


def user_writes(log: CallLog, user: str) -> list[str]:
    return [op for svc, op, params in log.calls if params.get("UserName") == user
            and not op.startswith(("Get", "List"))]


def make_attacker_user(rng: random.Random, group: str, quarantine_arn: str, other_policy: str) -> dict[str, Any]:
    iam = make_factory().client("iam")
    user = name(rng, "evil-")
    iam.create_user(UserName=user, Path=rng.choice(["/", "/ops/"]))
    iam.create_login_profile(UserName=user, Password="Pa55word!Xy")
    keys = [iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"] for _ in range(2)]
    iam.update_access_key(UserName=user, AccessKeyId=keys[1], Status="Inactive")
    iam.upload_signing_certificate(UserName=user, CertificateBody=CERT)
    iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=SSH_KEY)
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name(rng, "mfa-"))["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1="123456",
                          AuthenticationCode2="654321")
    inline = [name(rng, "pol-") for _ in range(rng.randint(1, 3))]
    for policy in inline:
        iam.put_user_policy(UserName=user, PolicyName=policy, PolicyDocument=json.dumps(ADMIN))
    iam.attach_user_policy(UserName=user, PolicyArn=quarantine_arn)
    iam.attach_user_policy(UserName=user, PolicyArn=other_policy)
    iam.add_user_to_group(UserName=user, GroupName=group)
    return {"user": user, "keys": keys, "serial": serial, "inline": inline}


def quarantine_policy(rng: random.Random) -> str:
    """moto does not ship AWSCompromisedKeyQuarantineV2: a customer policy of that name stands in."""
    iam = make_factory().client("iam")
    arn: str = iam.create_policy(PolicyName=QUARANTINE_NAME, Path=f"/{name(rng, 'q')}/",
                                 PolicyDocument=json.dumps(DENY))["Policy"]["Arn"]
    return arn


@pytest.mark.parametrize("seed", range(3))
def test_user_teardown_follows_iam_order(aws: None, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    iam = make_factory().client("iam")
    group = name(rng, "grp-")
    iam.create_group(GroupName=group)
    quarantine = quarantine_policy(rng)
    managed = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    made = make_attacker_user(rng, group, quarantine, managed)
    user = made["user"]
    bystander = name(rng, "dev-")
    iam.create_user(UserName=bystander)
    iam.attach_user_policy(UserName=bystander, PolicyArn=quarantine)

    pctx = plan_context([Subject(Target(type="AWS::IAM::User", id=user, region="global"), Treatment.REMOVE)])
    builder = plan(pctx)
    delete = builder.find("iam.delete-user", target_id=user)
    assert len(delete) == 1 and delete[0].phase is Phase.DESTROY
    assert {s.id for s in builder.steps if s.id != delete[0].id and s.target.id == user} <= ancestors(builder,
                                                                                                      delete[0])

    _, log, _ = apply_all(tmp_path, builder, rng)
    writes = user_writes(log, user)
    assert writes[-1] == "DeleteUser" and writes.count("DeleteUser") == 1
    # 3.7: the AWS quarantine policy goes last, right before DeleteUser; the tool's deny-all just before it.
    assert writes[-2] == "DetachUserPolicy"
    detaches = [p["PolicyArn"] for _, op, p in log.calls if op == "DetachUserPolicy" and p["UserName"] == user]
    assert detaches[-1] == quarantine and set(detaches) == {quarantine, managed}
    deletes = [p["PolicyName"] for _, op, p in log.calls if op == "DeleteUserPolicy" and p["UserName"] == user]
    assert deletes[-1] == quarantine_policy_name(pctx.case_id)
    assert set(deletes) == set(made["inline"]) | {quarantine_policy_name(pctx.case_id)}
    assert writes.index("DeleteUserPolicy") > writes.index("PutUserPolicy")  # deny-all put in CUT, deleted last
    last_other = max(i for i, op in enumerate(writes)
                     if op not in ("DeleteUser", "DetachUserPolicy", "DeleteUserPolicy"))
    assert writes.index("DeleteUser") > last_other
    # Every sub-item 3.11 names is gone, each once, before the user.
    for op, count in [("DeleteLoginProfile", 1), ("DeleteAccessKey", 2), ("DeleteSigningCertificate", 1),
                      ("DeleteSSHPublicKey", 1), ("DeactivateMFADevice", 1), ("RemoveUserFromGroup", 1)]:
        assert writes.count(op) == count, (op, writes)
    # The virtual MFA device is deleted only after it was deactivated.
    ops = [op for _, op, _ in log.calls]
    assert ops.index("DeleteVirtualMFADevice") > ops.index("DeactivateMFADevice")
    assert ops.index("UpdateAccessKey") < ops.index("DeleteAccessKey")
    # Gone, and nobody else touched.
    assert user not in {u["UserName"] for u in iam.list_users()["Users"]}
    assert iam.list_attached_user_policies(UserName=bystander)["AttachedPolicies"][0]["PolicyArn"] == quarantine
    assert user_writes(log, bystander) == []
    assert iam.get_group(GroupName=group)["Group"]["GroupName"] == group


def test_key_added_after_planning_makes_delete_user_stale(aws: None, tmp_path: Path) -> None:
    rng = random.Random(11)
    iam = make_factory().client("iam")
    group = name(rng, "grp-")
    iam.create_group(GroupName=group)
    made = make_attacker_user(rng, group, quarantine_policy(rng), "arn:aws:iam::aws:policy/ReadOnlyAccess")
    user = made["user"]
    iam.delete_access_key(UserName=user, AccessKeyId=made["keys"][1])  # room for the attacker's new key
    builder = plan(plan_context([Subject(Target(type="AWS::IAM::User", id=user, region="global"),
                                         Treatment.REMOVE)]))
    new_key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]

    ctx = make_context(tmp_path, steps=builder.steps)
    delete = builder.find("iam.delete-user", target_id=user)[0]
    for step in ordered(builder.steps, rng):
        if step.id == delete.id:
            break
        run_step(ctx, step)
    state = get_action("iam.delete-user").observe(ctx, delete)
    assert not matches(state, delete.expect)
    assert state["access_keys"] == [new_key]
    assert delete.expect["access_keys"] == []


def test_role_teardown_order(aws: None, tmp_path: Path) -> None:
    rng = random.Random(5)
    iam = make_factory().client("iam")
    role = name(rng, "role-")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust),
                    PermissionsBoundary="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.put_role_policy(RoleName=role, PolicyName=name(rng, "in-"), PolicyDocument=json.dumps(ADMIN))
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    mine, shared = name(rng, "ip-"), name(rng, "ip-")
    for profile in (mine, shared):
        iam.create_instance_profile(InstanceProfileName=profile)
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    subjects = [Subject(Target(type="AWS::IAM::Role", id=role, region="global"), Treatment.REMOVE),
                Subject(Target(type="AWS::IAM::InstanceProfile", id=mine, region="global"), Treatment.REMOVE)]
    builder = plan(plan_context(subjects))
    _, log, _ = apply_all(tmp_path, builder, rng)
    ops = [op for _, op, _ in log.calls if not op.startswith(("Get", "List"))]
    assert ops[-1] == "DeleteRole" or ops.index("DeleteRole") > max(
        i for i, op in enumerate(ops) if op in ("RemoveRoleFromInstanceProfile", "DeleteRolePolicy",
                                                "DetachRolePolicy", "DeleteRolePermissionsBoundary"))
    assert ops.count("RemoveRoleFromInstanceProfile") == 2
    deleted = [p["InstanceProfileName"] for _, op, p in log.calls if op == "DeleteInstanceProfile"]
    assert deleted == [mine]  # the attacker's profile; the other one is kept, emptied
    assert ops.index("DeleteInstanceProfile") > ops.index("RemoveRoleFromInstanceProfile")
    assert {p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]} == {shared}
    assert role not in {r["RoleName"] for r in iam.list_roles()["Roles"]}


def test_policy_detached_everywhere_then_deleted(aws: None, tmp_path: Path) -> None:
    rng = random.Random(8)
    iam = make_factory().client("iam")
    arn = iam.create_policy(PolicyName=name(rng, "evilpol-"), PolicyDocument=json.dumps(ADMIN))["Policy"]["Arn"]
    for _ in range(rng.randint(1, 3)):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ADMIN), SetAsDefault=rng.random() < 0.5)
    legit_user, legit_role, legit_group = name(rng, "u-"), name(rng, "r-"), name(rng, "g-")
    iam.create_user(UserName=legit_user)
    iam.put_user_policy(UserName=legit_user, PolicyName="keep", PolicyDocument=json.dumps(DENY))
    iam.create_role(RoleName=legit_role, AssumeRolePolicyDocument=json.dumps(ADMIN))
    iam.create_group(GroupName=legit_group)
    iam.attach_user_policy(UserName=legit_user, PolicyArn=arn)
    iam.attach_role_policy(RoleName=legit_role, PolicyArn=arn)
    iam.attach_group_policy(GroupName=legit_group, PolicyArn=arn)
    evil = name(rng, "evil-")
    iam.create_user(UserName=evil)
    iam.attach_user_policy(UserName=evil, PolicyArn=arn)
    subjects = [Subject(Target(type="AWS::IAM::ManagedPolicy", id=arn, region="global", arn=arn), Treatment.REMOVE),
                Subject(Target(type="AWS::IAM::User", id=evil, region="global"), Treatment.REMOVE)]
    builder = plan(plan_context(subjects))
    # The evil user's detach is one step, shared by the user's and the policy's teardown.
    assert len(builder.find("iam.detach-user-policy", target_id=evil)) == 1
    _, log, _ = apply_all(tmp_path, builder, rng)
    ops = [op for _, op, _ in log.calls if not op.startswith(("Get", "List"))]
    assert ops.index("DeletePolicy") > max(i for i, op in enumerate(ops)
                                           if op.startswith("Detach") or op == "DeletePolicyVersion")
    assert ops.count("DeletePolicy") == 1
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_policy(PolicyArn=arn)
    # Legitimate entities lost the attacker's policy and nothing else.
    assert iam.list_user_policies(UserName=legit_user)["PolicyNames"] == ["keep"]
    assert legit_user in {u["UserName"] for u in iam.list_users()["Users"]}
    assert user_writes(log, legit_user) == ["DetachUserPolicy"]
    assert [op for _, op, p in log.calls if p.get("RoleName") == legit_role and not op.startswith(("Get", "List"))] \
        == ["DetachRolePolicy"]


def test_group_and_providers_and_never_touch(aws: None, tmp_path: Path) -> None:
    rng = random.Random(3)
    iam = make_factory().client("iam")
    group, member = name(rng, "g-"), name(rng, "m-")
    iam.create_group(GroupName=group)
    iam.create_user(UserName=member)
    iam.add_user_to_group(GroupName=group, UserName=member)
    iam.put_group_policy(GroupName=group, PolicyName="adm", PolicyDocument=json.dumps(ADMIN))
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    oidc = iam.create_open_id_connect_provider(Url=f"https://{name(rng, 'idp')}.example.com", ClientIDList=["x"],
                                               ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    saml = iam.create_saml_provider(Name=name(rng, "saml"), SAMLMetadataDocument="<xml>" + "m" * 1000 + "</xml>")[
        "SAMLProviderArn"]
    slr = iam.create_role(RoleName="AWSServiceRoleForX", Path="/aws-service-role/x.amazonaws.com/",
                          AssumeRolePolicyDocument=json.dumps(ADMIN))["Role"]["RoleName"]
    sso = iam.create_role(RoleName="AWSReservedSSO_Admin_1234", AssumeRolePolicyDocument=json.dumps(ADMIN))["Role"][
        "RoleName"]
    iam.create_user(UserName="responder")
    breakglass = name(rng, "bg-")
    iam.create_user(UserName=breakglass)
    subjects = [Subject(Target(type="AWS::IAM::Group", id=group, region="global"), Treatment.REMOVE),
                Subject(Target(type="AWS::IAM::OIDCProvider", id=oidc, region="global"), Treatment.REMOVE),
                Subject(Target(type="AWS::IAM::SAMLProvider", id=saml, region="global"), Treatment.REMOVE)]
    untouchables = [Subject(Target(type="AWS::IAM::Role", id=slr, region="global"), Treatment.REMOVE),
                    Subject(Target(type="AWS::IAM::Role", id=sso, region="global"), Treatment.REMOVE),
                    Subject(Target(type="AWS::IAM::User", id="responder", region="global"), Treatment.REMOVE),
                    Subject(Target(type="AWS::IAM::User", id=breakglass, region="global"), Treatment.REMOVE)]
    pctx = plan_context(subjects + untouchables, options={"never_touch": [breakglass]})
    builder = plan(pctx)
    for subject in untouchables:
        assert builder.find(target_id=subject.target.id) == []
    skipped = {n.resource.id for n in builder.not_planned}
    assert {s.target.id for s in untouchables} <= skipped
    _, log, _ = apply_all(tmp_path, builder, rng)
    ops = [op for _, op, _ in log.calls if not op.startswith(("Get", "List"))]
    assert ops.index("DeleteGroup") > max(ops.index("RemoveUserFromGroup"), ops.index("DeleteGroupPolicy"),
                                          ops.index("DetachGroupPolicy"))
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    assert iam.list_saml_providers()["SAMLProviderList"] == []
    assert member in {u["UserName"] for u in iam.list_users()["Users"]}
    assert {"DeleteOpenIDConnectProvider", "DeleteSAMLProvider"} <= set(ops)


def test_every_teardown_action_declares_permissions_and_undo_words(aws: None) -> None:
    mine = [cls for cls in registry().values() if cls.__module__ in (iam_teardown.__name__, iam_revert.__name__)]
    assert len(mine) >= 25
    for cls in mine:
        assert cls.permissions and cls.how_to_undo and cls.title, cls.name
        assert any(p.split(":")[1].startswith(("Delete", "Detach", "Remove", "Deactivate", "Update", "Set"))
                   for p in cls.permissions), cls.name
        if cls.reversible:
            assert cls.undo_permissions, cls.name
