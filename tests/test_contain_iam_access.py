"""IAM credential cutting: the actions against moto, and the recipes that plan them."""

from __future__ import annotations

import json
import random
import re
import stat
import string
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.contain.actions.base import ActionContext, ActionError, get_action, matches
from awsrespond.contain.actions.iam_access import (
    QUARANTINE_POLICY_PREFIX,
    REVOKE_POLICY_PREFIX,
    quarantine_policy_name,
    revoke_document,
    revoke_policy_name,
    temporary_password,
)
from awsrespond.contain.model import Phase, Step, Target
from awsrespond.contain.planner.builder import PlanBuilder, PlanContext, Subject, Treatment, recipes
from awsrespond.contain.planner.recipes.iam_cut import cut_role, cut_user
from awsrespond.findings import Classification, Finding, ResourceRef, Severity
from tests.contain_support import ACCOUNT, make_context, make_factory, make_step, run_step, undo_step

G = "global"
USER = "AWS::IAM::User"
ROLE = "AWS::IAM::Role"
KEY = "AWS::IAM::AccessKey"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # AWS-managed policies play no part here, and loading them costs seconds per test.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    with mock_aws():
        yield


@pytest.fixture(params=[3, 4242])
def rng(request: pytest.FixtureRequest) -> random.Random:
    """Seeded per test and per seed, so no two tests share names."""
    return random.Random(f"{request.node.originalname}-{request.param}")


def name(rng: random.Random, prefix: str = "") -> str:
    alphabet = string.ascii_letters + string.digits + "+=,.@-_"
    return prefix + "".join(rng.choice(alphabet) for _ in range(rng.randint(4, 20)))


def iam() -> Any:
    return boto3.client("iam", region_name="us-east-1")


def user_with_keys(rng: random.Random, n: int) -> tuple[str, list[str]]:
    user = name(rng, "u")
    iam().create_user(UserName=user)
    return user, [iam().create_access_key(UserName=user)["AccessKey"]["AccessKeyId"] for _ in range(n)]


def key_status(user: str, key_id: str) -> str | None:
    for key in iam().list_access_keys(UserName=user)["AccessKeyMetadata"]:
        if key["AccessKeyId"] == key_id:
            return str(key["Status"])
    return None


def case_files_outside_secrets(ctx: ActionContext) -> list[Path]:
    root = ctx.case.root
    return [p for p in root.rglob("*") if p.is_file() and "secrets" not in p.relative_to(root).parts]


def assert_nowhere_but_secrets(ctx: ActionContext, secret: str, *results: Any) -> None:
    for path in case_files_outside_secrets(ctx):
        assert secret not in path.read_text(errors="replace"), path
    for result in results:
        assert secret not in json.dumps(result, default=str)


def api_calls(factory: ClientFactory) -> set[str]:
    return {call.iam_action for call in factory.calls}


def check_permissions(factory: ClientFactory, step: Step) -> None:
    """Every call an action sent is among the permissions it declares (reads and undo included)."""
    impl = get_action(step.action)
    declared = set(impl.permissions) | set(impl.undo_permissions)
    assert api_calls(factory) and api_calls(factory) <= declared, api_calls(factory) - declared


# -- access keys ---------------------------------------------------------------------------------


def test_deactivate_then_delete_key_and_undo_the_deactivation(aws: None, tmp_path: Path, rng: random.Random) -> None:
    user, keys = user_with_keys(rng, 2)
    victim = keys[rng.randrange(2)]
    other = next(k for k in keys if k != victim)
    factory = make_factory()
    ctx = make_context(tmp_path, factory)
    target = Target(type=KEY, id=victim, region=G)
    cut = make_step("iam.deactivate-access-key", target, params={"user": user}, phase=Phase.CUT,
                    expect={"exists": True, "status": "Active"}, post={"exists": True, "status": "Inactive"})
    run_step(ctx, cut)
    assert key_status(user, victim) == "Inactive" and key_status(user, other) == "Active"
    check_permissions(factory, cut)

    undo_step(ctx, cut, {"user": user, "access_key_id": victim})
    assert key_status(user, victim) == "Active"

    run_step(ctx, cut)
    delete = make_step("iam.delete-access-key", target, params={"user": user}, step_id="s002",
                       expect={"exists": True, "status": "Inactive"}, post={"exists": False})
    run_step(ctx, delete)
    assert key_status(user, victim) is None and key_status(user, other) == "Active"
    evidence = [p for p in case_files_outside_secrets(ctx) if "contain.s002" in p.name]
    assert evidence and victim in evidence[0].read_text()
    assert get_action(delete.action).reversible is False
    assert get_action(cut.action).cuts_attacker_access is True


def test_delete_refuses_an_active_key_through_its_expectation(aws: None, tmp_path: Path, rng: random.Random) -> None:
    user, [key] = user_with_keys(rng, 1)
    ctx = make_context(tmp_path)
    step = make_step("iam.delete-access-key", Target(type=KEY, id=key, region=G), params={"user": user},
                     expect={"exists": True, "status": "Inactive"}, post={"exists": False})
    impl = get_action(step.action)
    assert not matches(impl.observe(ctx, step), step.expect)  # the executor refuses it as stale


def replacement_step(user: str, old: str, keys: list[str], count: int) -> Step:
    return make_step("iam.create-replacement-access-key", Target(type=USER, id=user, region=G), phase=Phase.CUT,
                     params={"replaces": old, "keys_at_plan": sorted(keys)},
                     expect={"exists": True, "key_count": count, "has_replacement": False},
                     post={"exists": True, "key_count": count + 1, "has_replacement": True})


def test_replacement_key_secret_goes_only_to_secrets(aws: None, tmp_path: Path, rng: random.Random) -> None:
    user, [old] = user_with_keys(rng, 1)
    iam().update_access_key(UserName=user, AccessKeyId=old, Status="Inactive")
    factory = make_factory()
    ctx = make_context(tmp_path, factory)
    step = replacement_step(user, old, [old], 1)
    result = run_step(ctx, step)
    check_permissions(factory, step)

    new = result["access_key_id"]
    assert set(result) == {"user", "access_key_id", "secret_file"}
    assert old not in json.dumps(result)  # the case would list it as the tool's own key
    assert {k["AccessKeyId"] for k in iam().list_access_keys(UserName=user)["AccessKeyMetadata"]} == {old, new}
    path = ctx.case.root / result["secret_file"]
    assert path.parent.name == "secrets"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = json.loads(path.read_text())
    assert secret["AccessKeyId"] == new and len(secret["SecretAccessKey"]) >= 20
    assert_nowhere_but_secrets(ctx, secret["SecretAccessKey"], result)
    state = get_action(step.action).observe(ctx, step)
    assert state == {"exists": True, "key_count": 2, "replacement": new, "has_replacement": True}

    undo = get_action(step.action).undo(ctx, step, result)
    assert_nowhere_but_secrets(ctx, secret["SecretAccessKey"], undo)
    assert key_status(user, new) is None and key_status(user, old) == "Inactive"
    assert path.exists()  # revoked, never deleted
    assert matches(get_action(step.action).observe(ctx, step), get_action(step.action).undo_post(step, result))


def test_replacement_refused_at_two_keys(aws: None, tmp_path: Path, rng: random.Random) -> None:
    user, keys = user_with_keys(rng, 2)
    ctx = make_context(tmp_path)
    step = replacement_step(user, keys[0], keys, 1)  # planned as if one key had gone; it has not
    with pytest.raises(ActionError, match="already has 2 access keys"):
        get_action(step.action).apply(ctx, step)
    assert sorted(k["AccessKeyId"] for k in iam().list_access_keys(UserName=user)["AccessKeyMetadata"]) == sorted(keys)
    assert not (ctx.case.root / "secrets").exists() or not any((ctx.case.root / "secrets").iterdir())


def test_replacement_reconcile_after_crash_leaves_exactly_one_new_key(aws: None, tmp_path: Path,
                                                                      rng: random.Random) -> None:
    user, [old] = user_with_keys(rng, 1)
    ctx = make_context(tmp_path)
    step = replacement_step(user, old, [old], 1)
    impl = get_action(step.action)
    # The interrupted run: CreateAccessKey answered, the secret was never written.
    orphan = iam().create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    assert impl.reconcile(ctx, step) is None
    assert key_status(user, orphan) is None
    result = run_step(ctx, step)
    keys = {k["AccessKeyId"] for k in iam().list_access_keys(UserName=user)["AccessKeyMetadata"]}
    assert keys == {old, result["access_key_id"]}
    # A second crash, after the secret was written: reconcile finds the key and changes nothing.
    again = impl.reconcile(ctx, step)
    assert again is not None and again["access_key_id"] == result["access_key_id"]
    assert {k["AccessKeyId"] for k in iam().list_access_keys(UserName=user)["AccessKeyMetadata"]} == keys
    secret = json.loads((ctx.case.root / result["secret_file"]).read_text())["SecretAccessKey"]
    assert secret not in json.dumps(again)


def test_replacement_reconcile_keeps_keys_older_than_the_plan(aws: None, tmp_path: Path, rng: random.Random) -> None:
    user, [old, unplanned] = user_with_keys(rng, 2)
    ctx = make_context(tmp_path)
    ctx.plan.created = datetime.now(UTC) + timedelta(minutes=5)  # both keys predate the plan
    step = replacement_step(user, old, [old], 1)
    assert get_action(step.action).reconcile(ctx, step) is None
    assert key_status(user, unplanned) == "Active"


# -- console passwords ---------------------------------------------------------------------------


def test_delete_login_profile(aws: None, tmp_path: Path, rng: random.Random) -> None:
    user = name(rng)
    iam().create_user(UserName=user)
    iam().create_login_profile(UserName=user, Password="Attacker-Pass-1!")
    factory = make_factory()
    ctx = make_context(tmp_path, factory)
    step = make_step("iam.delete-login-profile", Target(type=USER, id=user, region=G), phase=Phase.CUT,
                     expect={"login_profile": True}, post={"login_profile": False})
    run_step(ctx, step)
    check_permissions(factory, step)
    with pytest.raises(iam().exceptions.NoSuchEntityException):
        iam().get_login_profile(UserName=user)


@pytest.mark.parametrize("min_length", [None, 8, 47])
def test_reset_login_profile_writes_the_password_only_to_secrets(aws: None, tmp_path: Path, rng: random.Random,
                                                                 min_length: int | None) -> None:
    user = name(rng)
    iam().create_user(UserName=user)
    iam().create_login_profile(UserName=user, Password="Known-To-Attacker-1!")
    if min_length:
        iam().update_account_password_policy(MinimumPasswordLength=min_length, RequireSymbols=True,
                                             RequireNumbers=True, RequireUppercaseCharacters=True,
                                             RequireLowercaseCharacters=True)
    factory = make_factory()
    ctx = make_context(tmp_path, factory)
    step = make_step("iam.reset-login-profile", Target(type=USER, id=user, region=G), phase=Phase.CUT,
                     expect={"login_profile": True, "new_password_issued": False},
                     post={"login_profile": True, "password_reset_required": True, "new_password_issued": True})
    impl = get_action(step.action)
    assert impl.reconcile(ctx, step) is None  # nothing saved yet: run it again
    result = run_step(ctx, step)
    check_permissions(factory, step)
    assert iam().get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is True
    path = ctx.case.root / result["secret_file"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = json.loads(path.read_text())["Password"]
    assert len(password) >= max(20, min_length or 0)
    assert_password_classes(password)
    assert_nowhere_but_secrets(ctx, password, result)
    assert impl.reconcile(ctx, step) is not None
    assert impl.idempotent is False and impl.reversible is False


def assert_password_classes(password: str) -> None:
    assert re.search(r"[A-Z]", password) and re.search(r"[a-z]", password) and re.search(r"[0-9]", password)
    assert re.search(r"[^A-Za-z0-9]", password)


def test_temporary_passwords_are_random_and_complete() -> None:
    seen = {temporary_password() for _ in range(200)}
    assert len(seen) == 200
    for password in seen:
        assert len(password) >= 20
        assert_password_classes(password)


def test_reset_with_reset_already_required_is_not_taken_as_done(aws: None, tmp_path: Path, rng: random.Random) -> None:
    """The attacker may have set reset-required himself: only our saved password counts as done."""
    user = name(rng)
    iam().create_user(UserName=user)
    iam().create_login_profile(UserName=user, Password="Known-To-Attacker-1!", PasswordResetRequired=True)
    ctx = make_context(tmp_path)
    step = make_step("iam.reset-login-profile", Target(type=USER, id=user, region=G),
                     expect={"login_profile": True, "new_password_issued": False},
                     post={"login_profile": True, "password_reset_required": True, "new_password_issued": True})
    state = get_action(step.action).observe(ctx, step)
    assert not matches(state, step.post) and matches(state, step.expect)


# -- deny-all and session revocation -------------------------------------------------------------


def make_principal(rng: random.Random, kind: str) -> str:
    principal = name(rng)
    if kind == USER:
        iam().create_user(UserName=principal)
    else:
        iam().create_role(RoleName=principal, AssumeRolePolicyDocument=TRUST)
    return principal


def inline(kind: str, principal: str, policy: str) -> dict[str, Any] | None:
    try:
        if kind == USER:
            doc = iam().get_user_policy(UserName=principal, PolicyName=policy)["PolicyDocument"]
        else:
            doc = iam().get_role_policy(RoleName=principal, PolicyName=policy)["PolicyDocument"]
    except iam().exceptions.NoSuchEntityException:
        return None
    parsed: dict[str, Any] = json.loads(doc) if isinstance(doc, str) else doc
    return parsed


@pytest.mark.parametrize("kind", [USER, ROLE])
def test_quarantine_principal_applied_and_undone(aws: None, tmp_path: Path, rng: random.Random, kind: str) -> None:
    principal = make_principal(rng, kind)
    factory = make_factory()
    ctx = make_context(tmp_path, factory)
    policy = quarantine_policy_name(ctx.plan.case_id)
    step = make_step("iam.quarantine-principal", Target(type=kind, id=principal, region=G), phase=Phase.CUT,
                     params={"policy_name": policy}, expect={"quarantine_policy": False},
                     post={"quarantine_policy": True})
    result = run_step(ctx, step)
    check_permissions(factory, step)
    doc = inline(kind, principal, policy)
    assert doc is not None
    assert doc["Statement"] == [{"Sid": "AWSRespondQuarantine", "Effect": "Deny", "Action": "*", "Resource": "*"}]
    undo_step(ctx, step, result)
    assert inline(kind, principal, policy) is None
    check_permissions(factory, step)


@pytest.mark.parametrize("kind", [USER, ROLE])
def test_revoke_sessions_denies_tokens_issued_before_apply(aws: None, tmp_path: Path, rng: random.Random,
                                                           kind: str) -> None:
    principal = make_principal(rng, kind)
    factory = make_factory()
    ctx = make_context(tmp_path, factory)
    instant = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=rng.randint(60, 86_400))
    ctx.clock = lambda: instant
    policy = revoke_policy_name(ctx.plan.case_id)
    step = make_step("iam.revoke-sessions", Target(type=kind, id=principal, region=G), phase=Phase.CUT,
                     params={"policy_name": policy}, expect={"revoke_policy": False}, post={"revoke_policy": True})
    result = run_step(ctx, step)
    check_permissions(factory, step)
    stamp = instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result["token_issued_before"] == stamp
    doc = inline(kind, principal, policy)
    assert doc == revoke_document(stamp)
    [statement] = doc["Statement"]
    assert statement["Effect"] == "Deny" and statement["Action"] == "*" and statement["Resource"] == "*"
    assert statement["Condition"] == {"DateLessThan": {"aws:TokenIssueTime": stamp}}
    reconciled = get_action(step.action).reconcile(ctx, step)  # a crash after the call: found, not repeated
    assert reconciled is not None and reconciled["token_issued_before"] == stamp
    undo_step(ctx, step, result)
    assert inline(kind, principal, policy) is None
    assert get_action(step.action).reconcile(ctx, step) is None


def test_revoke_from_an_earlier_plan_is_renewed_and_restored_on_undo(aws: None, tmp_path: Path,
                                                                     rng: random.Random) -> None:
    principal = make_principal(rng, ROLE)
    ctx = make_context(tmp_path)
    policy = revoke_policy_name(ctx.plan.case_id)
    old = revoke_document("2020-01-01T00:00:00Z")
    iam().put_role_policy(RoleName=principal, PolicyName=policy, PolicyDocument=json.dumps(old))
    step = make_step("iam.revoke-sessions", Target(type=ROLE, id=principal, region=G), params={"policy_name": policy},
                     expect={"revoke_policy": False}, post={"revoke_policy": True})
    result = run_step(ctx, step)  # the old one does not count as done
    assert result["previous_document"] == old
    undo_step(ctx, step, result)
    assert inline(ROLE, principal, policy) == old


def test_policy_names_fit_iam(rng: random.Random) -> None:
    for _ in range(50):
        case_id = "".join(rng.choice(string.printable + "é✓") for _ in range(rng.randint(1, 300)))
        pairs = ((quarantine_policy_name, QUARANTINE_POLICY_PREFIX), (revoke_policy_name, REVOKE_POLICY_PREFIX))
        for fn, prefix in pairs:
            policy = fn(case_id)
            assert len(policy) <= 128 and policy.startswith(prefix + "-")
            assert re.fullmatch(r"[A-Za-z0-9_+=,.@-]+", policy)
            assert policy == fn(case_id)
    assert quarantine_policy_name("a" * 300) != quarantine_policy_name("a" * 299 + "b")


# -- recipes -------------------------------------------------------------------------------------


def finding(rng: random.Random, kind: str, rid: str, rule: str = "hunt-test",
            classification: Classification = Classification.ATTACKER_CREATED) -> Finding:
    return Finding(id=f"{rule}-{rng.getrandbits(64):016x}", rule=rule, title="t", severity=Severity.HIGH,
                   classification=classification, resource=ResourceRef(type=kind, id=rid, region=G))


def subject(rng: random.Random, kind: str, rid: str, treatment: Treatment, rule: str = "hunt-test",
            **facts: Any) -> Subject:
    return Subject(target=Target(type=kind, id=rid, region=G), treatment=treatment,
                   findings=[finding(rng, kind, rid, rule)], facts=dict(facts))


def plan_context(subjects: list[Subject], *, caller: str = "responder", inventory: dict[str, Any] | None = None,
                 **options: Any) -> PlanContext:
    ident = CallerIdentity(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:{caller}", user_id="AIDA", alias=None)
    return PlanContext(factory=make_factory(), account_id=ACCOUNT, partition="aws", caller=ident,
                       case_id="case-" + "x" * 10, triage={"inventory": inventory or {}}, subjects=subjects,
                       options=options)


def plan(pctx: PlanContext) -> PlanBuilder:
    builder = PlanBuilder()
    table = recipes()
    for sub in pctx.subjects:
        table[sub.target.type](pctx, builder, sub)
    return builder


def actions(builder: PlanBuilder) -> list[tuple[str, str, str]]:
    return [(s.phase.value, s.action, s.target.id) for s in builder.steps]


def test_remove_key_is_deactivated_then_deleted(aws: None, rng: random.Random) -> None:
    user, keys = user_with_keys(rng, 2)
    bad = keys[rng.randrange(2)]
    use_inventory = rng.random() < 0.5
    inventory = {KEY: [{"id": bad, "data": {"user": user}}]} if use_inventory else None
    builder = plan(plan_context([subject(rng, KEY, bad, Treatment.REMOVE)], inventory=inventory))
    cut, delete = builder.steps
    assert (cut.phase, cut.action, cut.target.id, cut.params) == (Phase.CUT, "iam.deactivate-access-key", bad,
                                                                  {"user": user})
    assert (delete.phase, delete.action, delete.after) == (Phase.DESTROY, "iam.delete-access-key", [cut.id])
    assert delete.expect == {"exists": True, "status": "Inactive"} and delete.post == {"exists": False}
    assert cut.reversible and cut.cuts_attacker_access and not delete.reversible


def test_neutralise_key_is_deactivated_and_replaced_never_deleted(aws: None, tmp_path: Path,
                                                                   rng: random.Random) -> None:
    user, [leaked] = user_with_keys(rng, 1)
    builder = plan(plan_context([subject(rng, KEY, leaked, Treatment.NEUTRALISE)]))
    assert not builder.find("iam.delete-access-key")
    cut, new = builder.steps
    assert (cut.phase, cut.action) == (Phase.CUT, "iam.deactivate-access-key")
    assert (new.phase, new.action, new.target.id, new.after) == (Phase.CUT, "iam.create-replacement-access-key",
                                                                 user, [cut.id])
    assert new.params == {"replaces": leaked, "keys_at_plan": [leaked]}
    # The plan runs as planned against the account.
    ctx = make_context(tmp_path, steps=builder.steps)
    for step in builder.steps:
        run_step(ctx, step)
    assert key_status(user, leaked) == "Inactive"
    assert len(iam().list_access_keys(UserName=user)["AccessKeyMetadata"]) == 2


def test_quarantine_key_only_deactivated(aws: None, rng: random.Random) -> None:
    _, keys = user_with_keys(rng, 2)
    suspect = keys[rng.randrange(2)]
    builder = plan(plan_context([subject(rng, KEY, suspect, Treatment.QUARANTINE)]))
    assert actions(builder) == [("cut-credentials", "iam.deactivate-access-key", suspect)]
    assert all(s.reversible for s in builder.steps)


def test_neutralise_key_with_an_attacker_second_key_deletes_that_first(aws: None, tmp_path: Path,
                                                                        rng: random.Random) -> None:
    user, [leaked, added] = user_with_keys(rng, 2)
    subjects = [subject(rng, KEY, leaked, Treatment.NEUTRALISE), subject(rng, KEY, added, Treatment.REMOVE)]
    rng.shuffle(subjects)
    builder = plan(plan_context(subjects))
    [new] = builder.find("iam.create-replacement-access-key")
    [delete] = builder.find("iam.delete-access-key")
    assert delete.target.id == added and not builder.find("iam.delete-access-key", target_id=leaked)
    assert new.phase is Phase.DESTROY and delete.id in new.after
    assert new.expect["key_count"] == 1 and new.post["key_count"] == 2
    assert len(builder.find("iam.deactivate-access-key")) == 2  # each key once, however many recipes asked
    ctx = make_context(tmp_path, steps=builder.steps)
    for step in sorted(builder.steps, key=lambda s: (s.phase.order, int(s.id[1:]))):
        run_step(ctx, step)
    remaining = {k["AccessKeyId"]: k["Status"] for k in iam().list_access_keys(UserName=user)["AccessKeyMetadata"]}
    assert added not in remaining and remaining.pop(leaked) == "Inactive" and list(remaining.values()) == ["Active"]


def test_neutralise_key_at_two_legitimate_keys_skips_the_replacement(aws: None, rng: random.Random) -> None:
    _, [leaked, _] = user_with_keys(rng, 2)
    sub = subject(rng, KEY, leaked, Treatment.NEUTRALISE)
    builder = plan(plan_context([sub]))
    assert actions(builder) == [("cut-credentials", "iam.deactivate-access-key", leaked)]
    [skipped] = builder.not_planned
    assert skipped.finding == sub.finding_ids[0] and "2 keys" in skipped.reason


@pytest.mark.parametrize("owner", [Treatment.REMOVE, Treatment.QUARANTINE, "caller"])
def test_no_replacement_for_a_removed_quarantined_or_calling_user(aws: None, rng: random.Random,
                                                                  owner: Treatment | str) -> None:
    user, [leaked] = user_with_keys(rng, 1)
    subjects = [subject(rng, KEY, leaked, Treatment.NEUTRALISE)]
    if isinstance(owner, Treatment):
        subjects.append(subject(rng, USER, user, owner))
    pctx = plan_context(subjects, caller=f"user/{user}" if owner == "caller" else "user/responder")
    builder = PlanBuilder()
    recipes()[KEY](pctx, builder, subjects[0])
    assert actions(builder) == [("cut-credentials", "iam.deactivate-access-key", leaked)]


def test_key_already_gone_is_skipped(aws: None, rng: random.Random) -> None:
    user, [key] = user_with_keys(rng, 1)
    iam().delete_access_key(UserName=user, AccessKeyId=key)
    sub = subject(rng, KEY, key, rng.choice(list(Treatment)))
    builder = plan(plan_context([sub], inventory={KEY: [{"id": key, "data": {"user": user}}]}))
    assert not builder.steps and "already gone" in builder.not_planned[0].reason


def test_remove_key_of_a_removed_user_merges_with_the_user_cut(aws: None, rng: random.Random) -> None:
    user, keys = user_with_keys(rng, 2)
    iam().create_login_profile(UserName=user, Password="Attacker-Pass-1!")
    user_subject = subject(rng, USER, user, Treatment.REMOVE)
    key_subject = subject(rng, KEY, keys[0], Treatment.REMOVE)
    pctx = plan_context([user_subject, key_subject])
    builder = PlanBuilder()
    ids = cut_user(pctx, builder, user_subject)
    recipes()[KEY](pctx, builder, key_subject)
    cut = builder.find("iam.deactivate-access-key", target_id=keys[0])
    assert len(cut) == 1 and cut[0].id in ids and set(cut[0].why) == {*user_subject.finding_ids,
                                                                       *key_subject.finding_ids}
    assert {s.action for s in builder.steps if s.id in ids} == {
        "iam.quarantine-principal", "iam.deactivate-access-key", "iam.delete-login-profile"}
    assert len(builder.find("iam.deactivate-access-key")) == 2
    assert all(s.phase is Phase.CUT for s in builder.steps if s.id in ids)


def test_cut_user_quarantine_keeps_to_reversible_steps(aws: None, rng: random.Random) -> None:
    user, keys = user_with_keys(rng, 2)
    iam().update_access_key(UserName=user, AccessKeyId=keys[1], Status="Inactive")
    iam().create_login_profile(UserName=user, Password="Maybe-Attacker-1!")
    builder = PlanBuilder()
    ids = cut_user(plan_context([]), builder, subject(rng, USER, user, Treatment.QUARANTINE))
    assert sorted(actions(builder)) == sorted([("cut-credentials", "iam.quarantine-principal", user),
                                               ("cut-credentials", "iam.deactivate-access-key", keys[0])])
    assert len(ids) == 2 and all(s.reversible for s in builder.steps)


@pytest.mark.parametrize("password_known", ["rule", "fact", None])
def test_cut_user_neutralise_revokes_and_resets_a_known_password(aws: None, rng: random.Random,
                                                                 password_known: str | None) -> None:
    user, _ = user_with_keys(rng, 1)
    iam().create_login_profile(UserName=user, Password="Known-To-Attacker-1!")
    rule = "iam-console-password-changed" if password_known == "rule" else "hunt-key-used"
    facts = {"password_known": True} if password_known == "fact" else {}
    builder = PlanBuilder()
    ids = cut_user(plan_context([]), builder, subject(rng, USER, user, Treatment.NEUTRALISE, rule, **facts))
    wanted = [("cut-credentials", "iam.revoke-sessions", user)]
    if password_known:
        wanted.append(("cut-credentials", "iam.reset-login-profile", user))
    assert actions(builder) == wanted and len(ids) == len(wanted)
    assert not builder.find("iam.deactivate-access-key") and not builder.find("iam.quarantine-principal")


@pytest.mark.parametrize("treatment", list(Treatment))
def test_cut_role_by_treatment(aws: None, rng: random.Random, treatment: Treatment) -> None:
    role = make_principal(rng, ROLE)
    builder = PlanBuilder()
    pctx = plan_context([])
    ids = cut_role(pctx, builder, subject(rng, ROLE, role, treatment))
    wanted = {"iam.revoke-sessions"}
    if treatment is not Treatment.NEUTRALISE:
        wanted.add("iam.quarantine-principal")
    assert {s.action for s in builder.steps} == wanted and len(ids) == len(wanted)
    names = {s.params["policy_name"] for s in builder.steps}
    assert names <= {quarantine_policy_name(pctx.case_id), revoke_policy_name(pctx.case_id)}


def test_callers_own_user_and_role_are_refused(aws: None, rng: random.Random) -> None:
    user, _ = user_with_keys(rng, 1)
    role = make_principal(rng, ROLE)
    for arn, kind, principal, fn in ((f"arn:aws:iam::{ACCOUNT}:user/team/{user}", USER, user, cut_user),
                                     (f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/s-1", ROLE, role, cut_role)):
        pctx = plan_context([])
        pctx.caller = CallerIdentity(account_id=ACCOUNT, arn=arn, user_id="AID", alias=None)
        for treatment in Treatment:
            builder = PlanBuilder()
            assert fn(pctx, builder, subject(rng, kind, principal, treatment)) == []
            assert not builder.steps and "switch to clean credentials" in builder.not_planned[0].reason
            assert any("switch to clean credentials" in n for n in builder.notes)


def test_protected_roles_are_refused(aws: None, rng: random.Random) -> None:
    linked = "AWSServiceRoleFor" + name(rng)
    iam().create_role(RoleName=linked, Path="/aws-service-role/elasticbeanstalk.amazonaws.com/",
                      AssumeRolePolicyDocument=TRUST)
    sso = "AWSReservedSSO_" + name(rng)
    iam().create_role(RoleName=sso, Path="/aws-reserved/sso.amazonaws.com/", AssumeRolePolicyDocument=TRUST)
    glass = make_principal(rng, ROLE)
    pctx = plan_context([], never_touch=[f"arn:aws:iam::{ACCOUNT}:role/{glass}"])
    for role in (linked, sso, glass):
        builder = PlanBuilder()
        assert cut_role(pctx, builder, Subject(target=Target(type=ROLE, id=role, region=G,
                                                             arn=f"arn:aws:iam::{ACCOUNT}:role/{role}"),
                                               treatment=Treatment.REMOVE)) == []
        assert not builder.steps and builder.not_planned


@pytest.mark.parametrize("by_arn", [False, True])
def test_never_touch_user_gets_no_key_or_password_step(aws: None, rng: random.Random, by_arn: bool) -> None:
    user = name(rng)
    iam().create_user(UserName=user, Path=f"/{name(rng, 'p')}/")
    key = iam().create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    iam().create_login_profile(UserName=user, Password="Break-Glass-1!")
    entry = iam().get_user(UserName=user)["User"]["Arn"] if by_arn else user
    subjects = [subject(rng, KEY, key, Treatment.REMOVE),
                subject(rng, "AWS::IAM::LoginProfile", user, Treatment.REMOVE),
                subject(rng, USER, user, Treatment.REMOVE)]
    pctx = plan_context(subjects, never_touch=[entry])
    builder = PlanBuilder()
    recipes()[KEY](pctx, builder, subjects[0])
    recipes()["AWS::IAM::LoginProfile"](pctx, builder, subjects[1])
    assert cut_user(pctx, builder, subjects[2]) == []
    assert not builder.steps and len(builder.not_planned) == 3
    assert all("never-touch" in n.reason for n in builder.not_planned)


@pytest.mark.parametrize("treatment", list(Treatment))
@pytest.mark.parametrize("user_removed", [False, True])
def test_login_profile_recipe(aws: None, rng: random.Random, treatment: Treatment, user_removed: bool) -> None:
    user = make_principal(rng, USER)
    iam().create_login_profile(UserName=user, Password="Attacker-Pass-1!")
    subjects = [subject(rng, "AWS::IAM::LoginProfile", user, treatment)]
    if user_removed:
        subjects.append(subject(rng, USER, user, Treatment.REMOVE))
    builder = PlanBuilder()
    recipes()["AWS::IAM::LoginProfile"](plan_context(subjects), builder, subjects[0])
    if user_removed or treatment is Treatment.REMOVE:
        assert actions(builder) == [("cut-credentials", "iam.delete-login-profile", user)]
    elif treatment is Treatment.NEUTRALISE:
        assert actions(builder) == [("cut-credentials", "iam.reset-login-profile", user)]
    else:
        assert not builder.steps and "cannot be undone" in builder.not_planned[0].reason
