"""Phase (c): after the cut, what appeared since the plan is named; the tool's own artefacts are not."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.contain.actions.base import get_action, matches
from awsrespond.contain.model import Phase, Target
from awsrespond.contain.planner.builder import PlanBuilder, PlanContext, Subject, Treatment
from awsrespond.contain.planner.recipes.logs import plan_recheck
from tests.contain_support import ACCOUNT, CallLog, make_context, make_factory

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "eu-central-1", "us-west-2"]
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:List*",
                                                             "Resource": "*"}]})


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _name(rng: random.Random, stem: str) -> str:
    return f"{stem}-{rng.randrange(16**6):06x}"


def _instance(factory: ClientFactory, region: str) -> str:
    ec2 = factory.client("ec2", region)
    return str(ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"])


def _account(factory: ClientFactory, rng: random.Random, regions: list[str]) -> dict[str, list[dict[str, Any]]]:
    """A few users (some with keys and passwords), roles, a policy and instances; as triage's inventory."""
    iam = factory.client("iam")
    inventory: dict[str, list[dict[str, Any]]] = {t: [] for t in (
        "AWS::IAM::User", "AWS::IAM::AccessKey", "AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::EC2::Instance")}
    for _ in range(rng.randint(2, 4)):
        user = _name(rng, "user")
        iam.create_user(UserName=user)
        password = rng.random() < 0.5
        if password:
            iam.create_login_profile(UserName=user, Password="Temp-Passw0rd!x")
        inventory["AWS::IAM::User"].append({"id": user, "region": "global", "data": {"password_enabled": password}})
        for _ in range(rng.randint(0, 2)):
            key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
            inventory["AWS::IAM::AccessKey"].append({"id": key, "region": "global", "data": {"user": user}})
    for _ in range(rng.randint(1, 3)):
        role = _name(rng, "role")
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
        inventory["AWS::IAM::Role"].append({"id": role, "region": "global", "data": {}})
    arn = iam.create_policy(PolicyName=_name(rng, "policy"), PolicyDocument=POLICY)["Policy"]["Arn"]
    inventory["AWS::IAM::ManagedPolicy"].append({"id": arn, "region": "global", "data": {}})
    # An AWS-managed policy in the inventory must not end up among the known customer policies.
    inventory["AWS::IAM::ManagedPolicy"].append({"id": "arn:aws:iam::aws:policy/ReadOnlyAccess", "region": "global"})
    for region in regions:
        instance = _instance(factory, region)
        inventory["AWS::EC2::Instance"].append({"id": instance, "region": region, "data": {"state": "running"}})
    return inventory


def _plan(factory: ClientFactory, inventory: dict[str, list[dict[str, Any]]], regions: list[str]) -> PlanBuilder:
    subjects = [Subject(Target(type="AWS::EC2::Instance", id=item["id"], region=item["region"]), Treatment.REMOVE)
                for item in inventory["AWS::EC2::Instance"] if item["region"] in regions]
    pctx = PlanContext(factory=factory, account_id=ACCOUNT, partition="aws", caller=None, case_id="c",
                       triage={"inventory": inventory}, subjects=subjects)
    builder = PlanBuilder()
    plan_recheck(pctx, builder)
    return builder


@pytest.mark.parametrize("seed", [4, 19, 33])
def test_recheck_names_a_user_and_key_made_after_the_plan_and_ignores_own_artefacts(aws: None, tmp_path: Path,
                                                                                  seed: int) -> None:
    rng = random.Random(seed)
    factory = make_factory()
    regions = sorted(rng.sample(REGIONS, 2))
    inventory = _account(factory, rng, regions)
    builder = _plan(factory, inventory, regions)
    [step] = builder.steps
    assert step.phase is Phase.RECHECK and step.target.type == "AWS::IAM::Account" and step.target.id == ACCOUNT
    assert step.params["regions"] == regions and step.post == {"new": []} and not step.reversible
    known = step.params["known"]
    assert known["policies"] == [inventory["AWS::IAM::ManagedPolicy"][0]["id"]]
    assert known["login_profiles"] == sorted(u["id"] for u in inventory["AWS::IAM::User"]
                                             if u["data"]["password_enabled"])
    ctx = make_context(tmp_path, factory, steps=[step])
    impl = get_action(step.action)
    assert impl.observe(ctx, step) == {"new": []}  # nothing new yet: the inventory is the live account

    iam = factory.client("iam")
    legit = inventory["AWS::IAM::User"][0]["id"]
    replacement = iam.create_access_key(UserName=legit)["AccessKey"]["AccessKeyId"]  # the tool's own
    ctx.extra["own_artefacts"] = [replacement]
    intruder = _name(rng, "backdoor")
    iam.create_user(UserName=intruder)
    intruder_key = iam.create_access_key(UserName=intruder)["AccessKey"]["AccessKeyId"]
    iam.create_login_profile(UserName=intruder, Password="Attack-Passw0rd!")
    # Made by AWS (GuardDuty's service-linked role): no plan could act on it.
    iam.create_role(RoleName="AWSServiceRoleForAmazonGuardDuty", Path="/aws-service-role/guardduty.amazonaws.com/",
                    AssumeRolePolicyDocument=TRUST)
    late_instance = _instance(factory, regions[-1])
    _instance(factory, rng.choice([r for r in REGIONS if r not in regions]))  # a region the plan did not touch

    log = CallLog(factory)
    log.attach(factory.client("iam"))
    result = impl.apply(ctx, step)
    expected = sorted([f"AWS::IAM::User {intruder}", f"AWS::IAM::AccessKey {intruder_key}",
                       f"AWS::IAM::LoginProfile {intruder}", f"AWS::EC2::Instance {late_instance}"])
    assert result["new"] == expected and "contain plan" in result["message"]
    assert log.operations() == []  # read-only
    ok, state = impl.verify(ctx, step, result)
    assert not ok and state["new"] == expected
    assert not matches(impl.observe(ctx, step), step.post)


def test_recheck_plan_knows_the_live_instances_of_the_plan_regions_only(aws: None) -> None:
    rng = random.Random(8)
    factory = make_factory()
    regions = [rng.choice(REGIONS)]
    inventory = _account(factory, rng, regions)
    inventory["AWS::EC2::Instance"].append({"id": "i-0dead", "region": regions[0], "data": {"state": "terminated"}})
    inventory["AWS::EC2::Instance"].append({"id": "i-0else", "region": "me-south-1", "data": {"state": "running"}})
    [step] = _plan(factory, inventory, regions).steps
    assert list(step.params["instances"]) == regions
    assert "i-0dead" not in step.params["instances"][regions[0]]
