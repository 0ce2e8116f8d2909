"""``awsrespond harden``: every check passes, fails or errors on random setups (moto), its fix is a change set
applied like a containment plan, errors stay inside their check, and the CLI prints one JSON document."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity, whoami
from awsrespond.aws.regions import RegionPlan
from awsrespond.case.workspace import Case
from awsrespond.contain.planio import PLANS_DIR
from awsrespond.contain.service import undo
from awsrespond.harden import registry
from awsrespond.harden.model import CheckResult, CheckSeverity, CheckStatus, HardenReport
from awsrespond.harden.registry import CheckSpec, HardenContext, Outcome, passed
from awsrespond.harden.service import HardenRun, plan_fixes, run_checks
from awsrespond.recover.actions.hardening import PAB_SETTINGS, trail_bucket_policy
from awsrespond.recover.changes import ChangeSet, apply_changes
from awsrespond.timeutil import now_utc
from tests.contain_support import last_applied_plan

ALL_IDS = {"cloudtrail.multi-region-logging", "cloudtrail.log-file-validation", "guardduty.enabled-all-regions",
           "s3.account-public-access-block", "iam.password-policy", "iam.no-root-access-keys", "iam.root-mfa",
           "iam.unused-credentials-90d", "budgets.alerting-budget", "account.security-contact"}
POOL = ["us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "ap-northeast-1",
        "sa-east-1", "ca-central-1"]
CT_IDS = ["cloudtrail.multi-region-logging", "cloudtrail.log-file-validation"]


@pytest.fixture(scope="module")
def session() -> boto3.Session:
    """One session for the module: its service models are loaded once (a new one per test costs seconds)."""
    return boto3.Session(region_name="us-east-1")


@pytest.fixture
def factory(monkeypatch: pytest.MonkeyPatch, session: boto3.Session) -> Iterator[ClientFactory]:
    # AWS-managed policies cost seconds per account set-up and reset; no check here needs them.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    with mock_aws():
        yield ClientFactory(session=session, max_attempts=2)


def _regions(rng: random.Random, n: int = 3) -> RegionPlan:
    return RegionPlan(enabled=sorted(["us-east-1", *rng.sample(POOL, n - 1)]))


def _case(tmp_path: Path, identity: CallerIdentity) -> Case:
    return Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)


def _apply(factory: ClientFactory, identity: CallerIdentity, changes: ChangeSet, case: Case) -> Any:
    document = apply_changes(case, factory, identity, changes.to_plan(case, identity), confirm=identity.account_id,
                             ask=None, verify_delay=0)
    assert document.ok, [(s.id, s.action, s.status.value, s.message) for s in document.steps]
    return document


def _status(run: HardenReport, check_id: str) -> CheckStatus:
    return run.by_id(check_id).status


def _trail(factory: ClientFactory, rng: random.Random, *, multi: bool, logging: bool, validation: bool) -> str:
    bucket = f"logs-{rng.randrange(10**8)}"
    factory.client("s3").create_bucket(Bucket=bucket)
    name = f"trail-{rng.randrange(10**6)}"
    arn: str = factory.client("cloudtrail").create_trail(
        Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi, EnableLogFileValidation=validation)["TrailARN"]
    if logging:
        factory.client("cloudtrail").start_logging(Name=name)
    return arn


# -- the whole account: empty, then fixed ---------------------------------------------------------


def test_empty_account_every_check_reported_and_fix_leaves_the_fixable_passing(factory: ClientFactory,
                                                                               tmp_path: Path) -> None:
    rng = random.Random(20)
    identity = whoami(factory)
    regions = _regions(rng)
    run = run_checks(factory, identity, regions)
    document = json.loads(run.model_dump_json())
    assert {c["id"] for c in document["checks"]} == ALL_IDS
    for item in document["checks"]:
        assert {"id", "title", "status", "detail", "fix"} <= set(item) and item["status"] in ("pass", "fail", "error")
        assert item["status"] == "pass" or item["fix"]
    HardenReport.model_validate(document)
    assert run.by_id("iam.no-root-access-keys").status is CheckStatus.PASS
    fixable = {c.id for c in run.checks if c.fixable}
    assert fixable == {"cloudtrail.multi-region-logging", "cloudtrail.log-file-validation",
                       "guardduty.enabled-all-regions", "s3.account-public-access-block", "iam.password-policy"}
    assert set(run.by_id("guardduty.enabled-all-regions").resources) == set(regions.enabled)

    changes = plan_fixes(run)
    actions = [s.action for s in changes.steps]
    assert actions[:3] == ["s3.create-trail-bucket", "cloudtrail.create-trail", "cloudtrail.start-logging"]
    assert changes.steps[1].after == [changes.steps[0].id] and changes.steps[2].after == [changes.steps[1].id]
    assert actions.count("guardduty.create-detector") == len(regions.enabled)
    assert {"s3control.put-public-access-block", "iam.update-account-password-policy"} <= set(actions)
    assert any("budgets.alerting-budget" in n and "recover budget --limit AMOUNT --email ADDRESS" in n
               for n in changes.notes)
    assert any("recover contacts" in n for n in changes.notes)
    case = _case(tmp_path, identity)
    _apply(factory, identity, changes, case)

    after = run_checks(factory, identity, regions)
    assert {c.id for c in after.checks if c.status is CheckStatus.PASS} >= fixable
    assert not plan_fixes(after).steps
    bucket = changes.steps[0].target.id
    s3 = factory.client("s3")
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags["awsrespond:case"] == case.case_id
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    trail_arn = changes.steps[1].target.arn
    assert policy == trail_bucket_policy(bucket, str(trail_arn), identity.account_id)
    assert all(s["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn for s in policy["Statement"][:2])


# -- CloudTrail ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_cloudtrail_setups(factory: ClientFactory, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    multi, logging, validation = rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5
    if seed == 1:
        multi, logging, validation = True, True, True
    arn = _trail(factory, rng, multi=multi, logging=logging, validation=validation)
    identity = whoami(factory)
    run = run_checks(factory, identity, RegionPlan(enabled=["us-east-1"]), only=CT_IDS)
    assert [c.id for c in run.checks] == CT_IDS
    covered = multi and logging
    assert _status(run, CT_IDS[0]) is (CheckStatus.PASS if covered else CheckStatus.FAIL)
    assert _status(run, CT_IDS[1]) is (CheckStatus.PASS if covered and validation else CheckStatus.FAIL)
    changes = plan_fixes(run)
    assert all(s.target.arn == arn for s in changes.steps), "the existing trail is fixed, no new one"
    update = [s for s in changes.steps if s.action == "cloudtrail.update-trail"]
    wanted = {k: True for k, bad in (("multi_region", not multi), ("log_file_validation", not validation)) if bad}
    assert (update[0].params["settings"] if update else {}) == wanted
    assert any(s.action == "cloudtrail.start-logging" for s in changes.steps) is (not logging)
    if not changes.steps:
        return
    case = _case(tmp_path, identity)
    _apply(factory, identity, changes, case)
    after = run_checks(factory, identity, RegionPlan(enabled=["us-east-1"]), only=CT_IDS)
    assert all(c.status is CheckStatus.PASS for c in after.checks), after.checks
    if update:  # reversible: the old settings come back
        result = undo(case, factory, identity, last_applied_plan(case), step_ids=[update[0].id],
                      all_reversible=False, reopen_attacker_access=False, confirm=identity.account_id, ask=None,
                      verify_delay=0)
        assert result.ok
        trail = factory.client("cloudtrail").describe_trails(trailNameList=[arn])["trailList"][0]
        assert (trail["IsMultiRegionTrail"], trail["LogFileValidationEnabled"]) == (multi, validation)


def test_cloudtrail_management_events_excluded_fails(factory: ClientFactory) -> None:
    rng = random.Random(8)
    arn = _trail(factory, rng, multi=True, logging=True, validation=True)
    factory.client("cloudtrail").put_event_selectors(TrailName=arn, EventSelectors=[
        {"ReadWriteType": "All", "IncludeManagementEvents": False,
         "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}])
    run = run_checks(factory, whoami(factory), RegionPlan(enabled=["us-east-1"]), only=CT_IDS)
    result = run.by_id(CT_IDS[0])
    assert result.status is CheckStatus.FAIL and not result.fixable and "management events" in result.fix


def test_unreadable_event_selectors_are_assumed_default(factory: ClientFactory,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """An organization trail's selectors may be unreadable from a member account: not a failure, but said."""
    arn = _trail(factory, random.Random(9), multi=True, logging=True, validation=True)
    client = factory.client("cloudtrail")

    def denied(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetEventSelectors")

    monkeypatch.setattr(client, "get_event_selectors", denied)
    run = run_checks(factory, whoami(factory), RegionPlan(enabled=["us-east-1"]), only=CT_IDS)
    assert all(c.status is CheckStatus.PASS for c in run.checks)
    assert any("cloudtrail:GetEventSelectors" in e and "assumed" in e for e in run.checks[0].errors)
    assert arn.endswith(run.checks[0].detail.split(" ")[0])


# -- GuardDuty -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [11, 13])
def test_guardduty_regions(factory: ClientFactory, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    regions = _regions(rng, 4)
    states = {r: rng.choice(["enabled", "disabled", "none"]) for r in regions.enabled}
    if seed == 11:
        states = dict.fromkeys(regions.enabled, "enabled")
    for region, state in states.items():
        if state != "none":
            factory.client("guardduty", region).create_detector(Enable=state == "enabled")
    identity = whoami(factory)
    run = run_checks(factory, identity, regions, only=["guardduty."])
    result = run.by_id("guardduty.enabled-all-regions")
    off = sorted(r for r, s in states.items() if s != "enabled")
    assert result.status is (CheckStatus.FAIL if off else CheckStatus.PASS)
    assert result.resources == off
    assert result.regions == {r: {"none": "no detector"}.get(s, s) for r, s in states.items()}
    changes = plan_fixes(run)
    assert sorted((s.target.region, s.action) for s in changes.steps) == sorted(
        (r, "guardduty.enable-detector" if states[r] == "disabled" else "guardduty.create-detector") for r in off)
    if changes.steps:
        _apply(factory, identity, changes, _case(tmp_path, identity))
        assert run_checks(factory, identity, regions, only=["guardduty."]).checks[0].status is CheckStatus.PASS


# -- S3 account public access block --------------------------------------------------------------


@pytest.mark.parametrize("seed", [21, 22])
def test_account_public_access_block(factory: ClientFactory, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    identity = whoami(factory)
    config = {k: rng.random() < 0.5 for k in PAB_SETTINGS} if seed != 21 else dict.fromkeys(PAB_SETTINGS, True)
    configured = seed == 21 or rng.random() < 0.7
    s3control = factory.client("s3control")
    if configured:
        s3control.put_public_access_block(AccountId=identity.account_id, PublicAccessBlockConfiguration=config)
    run = run_checks(factory, identity, RegionPlan(enabled=["us-east-1"]), only=["s3.account-public-access-block"])
    result = run.checks[0]
    off = [k for k in PAB_SETTINGS if not (configured and config[k])]
    assert result.status is (CheckStatus.FAIL if off else CheckStatus.PASS)
    if not off:
        return
    assert configured is False or result.resources == off
    case = _case(tmp_path, identity)
    _apply(factory, identity, plan_fixes(run), case)
    now = s3control.get_public_access_block(AccountId=identity.account_id)["PublicAccessBlockConfiguration"]
    assert all(now[k] for k in PAB_SETTINGS)
    result_undo = undo(case, factory, identity, last_applied_plan(case), step_ids=[], all_reversible=True,
                       reopen_attacker_access=False, confirm=identity.account_id, ask=None, verify_delay=0)
    assert result_undo.ok
    if configured:
        back = s3control.get_public_access_block(AccountId=identity.account_id)["PublicAccessBlockConfiguration"]
        assert {k: bool(back[k]) for k in PAB_SETTINGS} == config
    else:
        with pytest.raises(s3control.exceptions.ClientError):
            s3control.get_public_access_block(AccountId=identity.account_id)


# -- IAM -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "reuse", "strong"), [(14, 24, True), (12, 24, False), (16, 5, False)])
def test_password_policy(factory: ClientFactory, length: int, reuse: int, strong: bool) -> None:
    factory.client("iam").update_account_password_policy(
        MinimumPasswordLength=length, PasswordReusePrevention=reuse, RequireSymbols=True, RequireNumbers=True,
        RequireUppercaseCharacters=True, RequireLowercaseCharacters=True)
    run = run_checks(factory, whoami(factory), RegionPlan(enabled=["us-east-1"]), only=["iam.password-policy"])
    assert run.checks[0].status is (CheckStatus.PASS if strong else CheckStatus.FAIL)
    assert bool(plan_fixes(run).steps) is not strong


@pytest.mark.parametrize(("keys", "mfa"), [(0, 1), (2, 0)])
def test_root_checks_from_the_account_summary(factory: ClientFactory, keys: int, mfa: int) -> None:
    identity = whoami(factory)
    iam = factory.client("iam")
    with Stubber(iam) as stub:
        stub.add_response("get_account_summary", {"SummaryMap": {
            "AccountAccessKeysPresent": keys, "AccountMFAEnabled": mfa, "Users": 3,
            "AccountSigningCertificatesPresent": 0}})
        run = run_checks(factory, identity, RegionPlan(enabled=["us-east-1"]), only=["iam.no-root-access-keys",
                                                                                      "iam.root-mfa"])
    assert _status(run, "iam.no-root-access-keys") is (CheckStatus.FAIL if keys else CheckStatus.PASS)
    assert _status(run, "iam.root-mfa") is (CheckStatus.FAIL if not mfa else CheckStatus.PASS)
    for result in run.checks:
        assert not result.fixable
        if result.status is CheckStatus.FAIL:
            assert "security_credentials" in result.fix and "assume-root" in result.fix
            assert identity.account_id in result.fix
    assert not plan_fixes(run).steps


def _user(factory: ClientFactory, rng: random.Random, *, key: bool, password: bool) -> tuple[str, str | None]:
    iam = factory.client("iam")
    name = f"user-{rng.randrange(10**6)}"
    iam.create_user(UserName=name)
    key_id = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] if key else None
    if password:
        iam.create_login_profile(UserName=name, Password=f"Aa1!{rng.randrange(10**12)}xyzXYZ")
    return name, key_id


@pytest.mark.parametrize("seed", [31, 32])
def test_unused_credentials(factory: ClientFactory, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    users = [_user(factory, rng, key=rng.random() < 0.7, password=rng.random() < 0.6) for _ in range(4)]
    keep, keep_key = _user(factory, rng, key=True, password=True)
    identity = whoami(factory)
    regions = RegionPlan(enabled=["us-east-1"])
    fresh = run_checks(factory, identity, regions, only=["iam.unused-credentials-90d"])
    assert fresh.checks[0].status is CheckStatus.PASS, "credentials made today are not unused for 90 days"
    later = now_utc() + timedelta(days=91 + rng.randrange(30))
    run = run_checks(factory, identity, regions, only=["iam.unused-credentials-90d"], now=later,
                     never_touch=[f"arn:aws:iam::{identity.account_id}:user/{keep}"])
    result = run.checks[0]
    assert result.status is CheckStatus.FAIL and result.fixable
    keys = {k for _, k in users if k} | {keep_key}
    logins = {u for u, _ in users if _has_login(factory, u)}
    assert set(result.resources) == keys | logins | {keep}
    changes = plan_fixes(run)
    assert changes.never_touch == [f"arn:aws:iam::{identity.account_id}:user/{keep}"], "the executor refuses it too"
    assert {s.target.id for s in changes.steps if s.action == "iam.deactivate-access-key"} == keys - {keep_key}
    assert {s.target.id for s in changes.steps if s.action == "iam.delete-login-profile"} == logins
    assert any(keep in n and "never-touch" in n for n in changes.notes)
    _apply(factory, identity, changes, _case(tmp_path, identity))
    iam = factory.client("iam")
    for user, _ in users:
        assert all(k["Status"] == "Inactive" for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"])
        assert not _has_login(factory, user)
    assert iam.list_access_keys(UserName=keep)["AccessKeyMetadata"][0]["Status"] == "Active"
    again = run_checks(factory, identity, regions, only=["iam.unused-credentials-90d"], now=later).checks[0]
    assert set(again.resources) == {keep, keep_key}, "only the never-touch user's credentials remain"


def _has_login(factory: ClientFactory, user: str) -> bool:
    try:
        factory.client("iam").get_login_profile(UserName=user)
    except factory.client("iam").exceptions.NoSuchEntityException:
        return False
    return True


def test_the_callers_own_key_is_never_planned(factory: ClientFactory) -> None:
    rng = random.Random(41)
    name, _ = _user(factory, rng, key=False, password=False)
    iam = factory.client("iam")
    created = iam.create_access_key(UserName=name)["AccessKey"]
    mine = ClientFactory(session=boto3.Session(aws_access_key_id=created["AccessKeyId"],
                                               aws_secret_access_key=created["SecretAccessKey"],
                                               region_name="us-east-1"), max_attempts=2)
    identity = whoami(mine)
    assert identity.arn.endswith(f":user/{name}")
    run = run_checks(mine, identity, RegionPlan(enabled=["us-east-1"]), only=["iam.unused-credentials-90d"],
                     now=now_utc() + timedelta(days=200))
    assert created["AccessKeyId"] in run.checks[0].resources
    changes = plan_fixes(run)
    assert not changes.steps and any(created["AccessKeyId"] in n and "you are using" in n for n in changes.notes)


# -- budget and security contact -----------------------------------------------------------------


@pytest.mark.parametrize("setup", ["none", "no-alerts", "alerts"])
def test_budget(factory: ClientFactory, setup: str) -> None:
    identity = whoami(factory)
    name = f"budget-{random.Random(setup).randrange(10**6)}"
    budgets = factory.client("budgets")
    if setup != "none":
        budgets.create_budget(AccountId=identity.account_id, Budget={
            "BudgetName": name, "BudgetLimit": {"Amount": "50", "Unit": "USD"}, "TimeUnit": "MONTHLY",
            "BudgetType": "COST"})
    if setup == "alerts":
        budgets.create_notification(
            AccountId=identity.account_id, BudgetName=name,
            Notification={"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0},
            Subscribers=[{"SubscriptionType": "EMAIL", "Address": "ops@example.com"}])
    run = run_checks(factory, identity, RegionPlan(enabled=["us-east-1"]), only=["budgets.alerting-budget"])
    result = run.checks[0]
    assert result.status is (CheckStatus.PASS if setup == "alerts" else CheckStatus.FAIL), result
    if setup != "alerts":
        assert "awsrespond recover budget --limit AMOUNT --email ADDRESS" in result.fix and not result.fixable
    else:
        assert name in result.detail


@pytest.mark.parametrize("contact", ["SECURITY", "BILLING"])
def test_security_contact(factory: ClientFactory, contact: str | None) -> None:
    if contact:
        factory.client("account").put_alternate_contact(
            AlternateContactType=contact, Name="Sec Team", Title="CISO", EmailAddress="sec@example.com",
            PhoneNumber="+15555550100")
    run = run_checks(factory, whoami(factory), RegionPlan(enabled=["us-east-1"]), only=["account."])
    result = run.checks[0]
    assert result.status is (CheckStatus.PASS if contact == "SECURITY" else CheckStatus.FAIL)
    assert result.status is CheckStatus.PASS or result.fix.startswith("`awsrespond recover contacts`")


# -- errors stay inside their check --------------------------------------------------------------

DENIED = [
    ("s3.account-public-access-block", "s3control", "us-east-1", "get_public_access_block",
     "s3control:GetPublicAccessBlock"),
    ("iam.password-policy", "iam", "us-east-1", "get_account_password_policy", "iam:GetAccountPasswordPolicy"),
    ("budgets.alerting-budget", "budgets", "us-east-1", "describe_budgets", "budgets:DescribeBudgets"),
    ("account.security-contact", "account", "us-east-1", "get_alternate_contact", "account:GetAlternateContact"),
    ("cloudtrail.multi-region-logging", "cloudtrail", "us-east-1", "list_trails", "cloudtrail:ListTrails"),
]


@pytest.mark.parametrize(("check_id", "service", "region", "method", "api"), DENIED, ids=[d[0] for d in DENIED])
def test_access_denied_is_an_error_naming_the_api(factory: ClientFactory, monkeypatch: pytest.MonkeyPatch,
                                                  check_id: str, service: str, region: str, method: str,
                                                  api: str) -> None:
    identity = whoami(factory)
    client = factory.client(service, region)
    stub = Stubber(client)
    stub.add_client_error(method, service_error_code="AccessDenied", service_message="not allowed",
                          http_status_code=403)
    # Only the one call is stubbed: the client's other calls still reach moto.
    stub.activate()
    stubbed = getattr(client, method)
    stub.deactivate()
    calls: list[int] = []

    def denied(**kwargs: Any) -> Any:
        calls.append(1)
        stub.activate()
        try:
            return stubbed(**kwargs)
        finally:
            stub.deactivate()

    monkeypatch.setattr(client, method, denied)
    if method == "list_trails":
        monkeypatch.setattr(client, "get_paginator", lambda name: _DeniedPaginator(denied))
    run = run_checks(factory, identity, RegionPlan(enabled=["us-east-1"]))
    assert {c.id for c in run.checks} == ALL_IDS, "every check still ran"
    result = run.by_id(check_id)
    assert result.status is CheckStatus.ERROR, result
    assert api in result.detail and "AccessDenied" in result.detail and result.errors
    assert calls
    others = [c for c in run.checks if c.status is CheckStatus.ERROR and c.id != check_id
              and not (check_id.startswith("cloudtrail.") and c.id.startswith("cloudtrail."))]
    assert not others, others


class _DeniedPaginator:
    def __init__(self, call: Any) -> None:
        self.call = call

    def paginate(self, **kwargs: Any) -> Iterator[Any]:
        yield self.call(**kwargs)


def test_a_region_that_denies_guardduty(factory: ClientFactory) -> None:
    rng = random.Random(51)
    regions = _regions(rng, 3)
    for region in regions.enabled:
        factory.client("guardduty", region).create_detector(Enable=True)
    bad = rng.choice(regions.enabled)
    with Stubber(factory.client("guardduty", bad)) as stub:
        stub.add_client_error("list_detectors", service_error_code="AccessDeniedException",
                              service_message="denied", http_status_code=403)
        run = run_checks(factory, whoami(factory), regions, only=["guardduty."])
    result = run.checks[0]
    assert result.status is CheckStatus.ERROR and result.regions[bad] == "error"
    assert f"guardduty:ListDetectors in {bad}" in result.detail
    assert all(result.regions[r] == "enabled" for r in regions.enabled if r != bad)


def test_a_check_that_crashes_does_not_hide_the_others(factory: ClientFactory,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding a check is one registration; a bug in it is reported as that check's error."""
    def boom(ctx: HardenContext) -> Outcome:
        raise KeyError("surprise")

    def fine(ctx: HardenContext) -> Outcome:
        return passed(f"account {ctx.account_id}")

    registry.all_checks()  # load the real ones first
    monkeypatch.setitem(registry._CHECKS, "zz.boom", CheckSpec("zz.boom", "boom", CheckSeverity.LOW, boom))
    monkeypatch.setitem(registry._CHECKS, "zz.fine", CheckSpec("zz.fine", "fine", CheckSeverity.LOW, fine))
    run = run_checks(factory, whoami(factory), RegionPlan(enabled=["us-east-1"]), only=["zz."])
    assert [(c.id, c.status) for c in run.checks] == [("zz.boom", CheckStatus.ERROR), ("zz.fine", CheckStatus.PASS)]
    assert "KeyError" in run.by_id("zz.boom").detail


def test_the_report_is_the_model(factory: ClientFactory) -> None:
    run = run_checks(factory, whoami(factory), RegionPlan(enabled=["us-east-1"]), only=["iam."])
    assert isinstance(run, HardenRun)
    plain = run.report()
    assert type(plain) is HardenReport and plain.model_dump() == run.model_dump()
    assert all(isinstance(c, CheckResult) for c in plain.checks)


# -- the command ---------------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    from awsrespond.cli.app import main  # noqa: PLC0415  (the CLI module is heavy; only these tests need it)

    capsys.readouterr()
    code = main(["harden", *args])
    return code, capsys.readouterr().out


def test_cli_json_refusals_dry_run_and_fix(factory: ClientFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # the text tables unwrapped
    identity = whoami(factory)
    case = tmp_path / "case"
    base = ["--region", "us-east-1", "--case", str(case), "--quiet"]
    code, out = _cli(capsys, "--format", "json", *base)
    report = HardenReport.model_validate_json(out)  # stdout is exactly one document
    assert code == 1 and {c.id for c in report.checks} == ALL_IDS and report.fix_plan is None
    assert json.loads((case / "recovery" / "harden.json").read_text())["checks"] == json.loads(out)["checks"]

    s3control = factory.client("s3control")
    only = ["--only", "s3.account-public-access-block,iam.password-policy"]
    for refused in (["--confirm", "000000000000", "--format", "json"], ["--dry-run"]):
        code, out = _cli(capsys, "--fix", *refused, *only, *base)
        assert code == (2 if refused[0] == "--confirm" else 1)
        with pytest.raises(s3control.exceptions.ClientError):
            s3control.get_public_access_block(AccountId=identity.account_id)
    assert "s3control.put-public-access-block" in out and "iam.password-policy" in out, "text: checks and changes"
    assert list((case / PLANS_DIR).glob("*.json")), "the dry run kept its plan"
    assert _cli(capsys, "--dry-run", *base)[0] == 2, "--dry-run goes with --fix"
    assert _cli(capsys, "--only", "nothing.here", *base)[0] == 2

    code, out = _cli(capsys, "--fix", "--confirm", identity.account_id, *only, "--format", "json", *base)
    report = HardenReport.model_validate_json(out)
    assert code == 0, out
    assert [c.status for c in report.checks] == [CheckStatus.PASS, CheckStatus.PASS] and report.fix_plan


# -- a seeded compromise -------------------------------------------------------------------------


def test_seeded_compromise(tmp_path: Path) -> None:
    """The attacker stopped the trail (which never had validation) and worked in regions without GuardDuty."""
    from awsrespond.emulator import EmulatorServer, generate_scenario, seed  # noqa: PLC0415

    with EmulatorServer() as server:
        seeded = seed(server, generate_scenario(random.Random(7).randrange(10**4)))
        factory = server.factory()
        identity = whoami(factory)
        regions = RegionPlan(enabled=sorted(set(seeded.home_regions) | set(seeded.attacker_regions)))
        run = run_checks(factory, identity, regions)
        document = json.loads(run.model_dump_json())
        assert {c["id"] for c in document["checks"]} == ALL_IDS
        trail = run.by_id("cloudtrail.multi-region-logging")
        assert trail.status is CheckStatus.FAIL and trail.resources == [seeded.trail_arn] and trail.fixable
        assert run.by_id("cloudtrail.log-file-validation").status is CheckStatus.FAIL
        guardduty = run.by_id("guardduty.enabled-all-regions")
        assert set(guardduty.resources) == set(seeded.attacker_regions) - set(seeded.home_regions)
        assert all(guardduty.regions[r] == "enabled" for r in seeded.home_regions)
        later = run_checks(factory, identity, regions, only=["iam.unused-credentials-90d"],
                           now=now_utc() + timedelta(days=120))
        assert seeded.compromised_access_key_id in later.checks[0].resources

        changes = plan_fixes(run)
        on_trail = [(s.action, s.target.arn) for s in changes.steps if s.target.type == "AWS::CloudTrail::Trail"]
        assert sorted(on_trail) == [("cloudtrail.start-logging", seeded.trail_arn),
                                    ("cloudtrail.update-trail", seeded.trail_arn)]
        _apply(factory, identity, changes, _case(tmp_path, identity))
        after = run_checks(factory, identity, regions)
        fixed = {c.id for c in run.checks if c.fixable}
        assert "s3.account-public-access-block" in fixed, "S3 Control answers the emulator too"
        assert all(after.by_id(i).status is CheckStatus.PASS for i in fixed), [after.by_id(i) for i in fixed]
