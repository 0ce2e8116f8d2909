"""Network, sharing and Lambda containment actions against moto."""

from __future__ import annotations

import io
import json
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from awsrespond.contain.actions.base import ActionContext, get_action, matches
from awsrespond.contain.actions.ec2_network import rule_permission
from awsrespond.contain.model import Target
from tests.contain_compute_support import REGIONS, launch, word
from tests.contain_support import ACCOUNT, make_context, make_factory, make_step, run_step, undo_step


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _ctx(tmp_path: Path, region: str) -> ActionContext:
    return make_context(tmp_path, make_factory(region))


def _accounts(rng: random.Random, n: int) -> list[str]:
    return sorted({"".join(rng.choice("0123456789") for _ in range(12)) for _ in range(n)})


@pytest.mark.parametrize("seed", [2, 9])
def test_unshare_snapshot_and_undo(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2: Any = boto3.client("ec2", region)
    inst = launch(ec2, rng, extra_volumes=0)
    snap = ec2.create_snapshot(VolumeId=inst.volumes[0])["SnapshotId"]
    outside = _accounts(rng, 3)
    inside = _accounts(rng, 1)[0]  # an organisation account the plan keeps
    ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission", OperationType="add",
                                  GroupNames=["all"], UserIds=[*outside, inside])
    ctx = _ctx(tmp_path, region)
    before = {"public": True, "shared_with": sorted([*outside, inside])}
    step = make_step("ec2.unshare-snapshot", Target(type="AWS::EC2::Snapshot", id=snap, region=region),
                     expect=before, post={"public": False, "shared_with": [inside]},
                     params={"public": True, "accounts": outside})
    result = run_step(ctx, step)
    assert result == {"removed_public": True, "removed_accounts": outside}
    undo_step(ctx, step, result)
    assert get_action(step.action).observe(ctx, step) == before


@pytest.mark.parametrize("seed", [4, 8])
def test_unshare_image_and_undo(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2: Any = boto3.client("ec2", region)
    inst = launch(ec2, rng, extra_volumes=0)
    image_id = ec2.create_image(InstanceId=inst.id, Name="img-" + word(rng))["ImageId"]
    outside = _accounts(rng, 2)
    public = rng.random() < 0.5
    adds = ([{"Group": "all"}] if public else []) + [{"UserId": a} for a in outside]
    ec2.modify_image_attribute(ImageId=image_id, Attribute="launchPermission", LaunchPermission={"Add": adds})
    ctx = _ctx(tmp_path, region)
    step = make_step("ec2.unshare-image", Target(type="AWS::EC2::Image", id=image_id, region=region),
                     expect={"public": public, "shared_with": outside}, post={"public": False, "shared_with": []},
                     params={"public": public, "accounts": outside})
    result = run_step(ctx, step)
    undo_step(ctx, step, result)


def _open_rule(ec2: Any, rng: random.Random, group_id: str) -> str:
    port = rng.choice([22, 3389, 8080, 6379])
    response = ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    return str(response["SecurityGroupRules"][0]["SecurityGroupRuleId"])


@pytest.mark.parametrize("seed", [6, 13])
def test_revoke_world_open_rule_and_undo(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    group_id = ec2.create_security_group(GroupName="web-" + word(rng), Description="x")["GroupId"]
    keep = ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    rule_id = _open_rule(ec2, rng, group_id)
    rule = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule_id])["SecurityGroupRules"][0]
    ctx = _ctx(tmp_path, region)
    step = make_step("ec2.revoke-security-group-rule",
                     Target(type="AWS::EC2::SecurityGroupIngress", id=rule_id, region=region),
                     expect={"exists": True}, post={"exists": False, "allowed": False},
                     params={"group": group_id, "permission": rule_permission(rule)})
    result = run_step(ctx, step)
    assert result["permission"]["IpRanges"][0]["CidrIp"] == "0.0.0.0/0"
    remaining = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])
    ids = {r["SecurityGroupRuleId"] for r in remaining["SecurityGroupRules"]}
    assert keep["SecurityGroupRules"][0]["SecurityGroupRuleId"] in ids and rule_id not in ids
    undo_step(ctx, step, result)


@pytest.mark.parametrize("seed", [1, 12])
def test_delete_security_group_refused_while_an_interface_uses_it(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    group_id = ec2.create_security_group(GroupName="sg-" + word(rng), Description="attacker")["GroupId"]
    inst = launch(ec2, rng, extra_volumes=0, group_ids=[group_id])
    ctx = _ctx(tmp_path, region)
    step = make_step("ec2.delete-security-group", Target(type="AWS::EC2::SecurityGroup", id=group_id, region=region),
                     expect={"exists": True, "in_use": 0}, post={"exists": False})
    impl = get_action(step.action)
    state = impl.observe(ctx, step)
    # moto deletes in-use groups: the expect must refuse
    assert state["in_use"] >= 1 and not matches(state, step.expect)
    ec2.terminate_instances(InstanceIds=[inst.id])
    run_step(ctx, step)


@pytest.mark.parametrize("seed", [7])
def test_delete_key_pair_launch_template_and_release_address(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    key = "k-" + word(rng)
    ec2.create_key_pair(KeyName=key)
    keeper = "k-" + word(rng)
    ec2.create_key_pair(KeyName=keeper)
    secret = word(rng, 24)
    template = ec2.create_launch_template(LaunchTemplateName="lt-" + word(rng), LaunchTemplateData={
        "InstanceType": "t3.micro", "UserData": secret})["LaunchTemplate"]["LaunchTemplateId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ctx = _ctx(tmp_path, region)
    steps = [
        make_step("ec2.delete-key-pair", Target(type="AWS::EC2::KeyPair", id=key, region=region),
                  expect={"exists": True}, post={"exists": False}, step_id="s001"),
        make_step("ec2.delete-launch-template", Target(type="AWS::EC2::LaunchTemplate", id=template, region=region),
                  expect={"exists": True}, post={"exists": False}, step_id="s002"),
        make_step("ec2.release-address", Target(type="AWS::EC2::EIP", id=allocation, region=region),
                  expect={"exists": True, "associated": False}, post={"exists": False}, step_id="s003"),
    ]
    for step in steps:
        run_step(ctx, step)
    assert [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]] == [keeper]
    text = "\n".join(p.read_text() for p in (ctx.case.root / "evidence").rglob("*.json"))
    assert secret not in text


def _function(rng: random.Random, region: str, env: dict[str, str]) -> str:
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="fn-" + word(rng), AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(e, c):\n    return 1\n")
    name = "fn-" + word(rng)
    boto3.client("lambda", region).create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
        Code={"ZipFile": buf.getvalue()}, Environment={"Variables": env})
    return name


@pytest.mark.parametrize("seed", [5, 19])
def test_lambda_delete_keeps_no_environment_value(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    env = {word(rng, 6).upper(): word(rng, 30) for _ in range(rng.randint(1, 4))}
    name = _function(rng, region, env)
    ctx = _ctx(tmp_path, region)
    step = make_step("lambda.delete-function", Target(type="AWS::Lambda::Function", id=name, region=region),
                     expect={"exists": True}, post={"exists": False})
    run_step(ctx, step)
    text = "\n".join(p.read_text() for p in (ctx.case.root / "evidence").rglob("*.json"))
    assert name in text and all(k in text for k in env)
    for value in env.values():
        assert value not in text, "an environment value reached the evidence"
    assert "X-Amz-Signature" not in text


@pytest.mark.parametrize("seed", [10, 21])
def test_lambda_concurrency_zero_and_undo(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    name = _function(rng, region, {"K": word(rng)})
    previous = rng.choice([None, rng.randint(1, 5)])
    if previous is not None:
        boto3.client("lambda", region).put_function_concurrency(FunctionName=name,
                                                                ReservedConcurrentExecutions=previous)
    ctx = _ctx(tmp_path, region)
    step = make_step("lambda.set-concurrency-zero", Target(type="AWS::Lambda::Function", id=name, region=region),
                     expect={"exists": True}, post={"reserved_concurrency": 0})
    result = run_step(ctx, step)
    assert result == {"previous": previous}
    undo_step(ctx, step, result)
    assert ACCOUNT  # the function lives in moto's default account
