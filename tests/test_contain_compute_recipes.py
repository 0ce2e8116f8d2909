"""Compute recipes against moto: what they plan per treatment, and the plan run in order (phases, ``after``
and ORDERING) with the write calls logged."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from awsrespond.contain.actions.base import TAG_CASE, TAG_STEP, get_action, matches
from awsrespond.contain.model import Step, Target
from awsrespond.contain.planner.builder import PlanBuilder, PlanContext, Subject, Treatment, recipes
from awsrespond.contain.planner.order import apply_ordering
from awsrespond.contain.planner.recipes.compute import ORDERING
from awsrespond.findings import Classification, Finding, ResourceRef, Severity
from tests.contain_compute_support import REGIONS, image, launch, word
from tests.contain_support import ACCOUNT, CallLog, make_context, make_factory

ARN_TYPES = {"AWS::EC2::Instance": "instance", "AWS::EC2::SpotInstanceRequest": "spot-instances-request"}


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _subject(kind: str, rid: str, region: str, treatment: Treatment, rule: str = "x-new",
             details: dict[str, Any] | None = None) -> Subject:
    finding = Finding(id=f"{rule}-{rid}", rule=rule, title=rule, severity=Severity.HIGH,
                      classification=Classification.SUSPECT,
                      resource=ResourceRef(type=kind, id=rid, region=region), details=details or {})
    return Subject(target=Target(type=kind, id=rid, region=region), treatment=treatment, findings=[finding])


def _plan(region: str, subjects: list[Subject], *, reverse: bool = False) -> PlanBuilder:
    pctx = PlanContext(factory=make_factory(region), account_id=ACCOUNT, partition="aws", caller=None,
                       case_id="case-x", subjects=subjects)
    builder = PlanBuilder()
    table = recipes()
    for subject in reversed(subjects) if reverse else subjects:
        table[subject.target.type](pctx, builder, subject)
    apply_ordering(builder.steps, ORDERING)  # this module's rules alone must suffice (the lead adds core ones)
    return builder


def _run(tmp_path: Path, region: str, steps: list[Step]) -> tuple[CallLog, list[str]]:
    """Run the plan as the executor would: phase by phase, each step after its ``after``."""
    ctx = make_context(tmp_path, make_factory(region), steps=steps)
    log = CallLog(ctx.factory)
    log.attach_all(["ec2", "autoscaling", "lambda"], [region])
    done: set[str] = set()
    order: list[str] = []
    pending = sorted(steps, key=lambda s: (s.phase.order, s.id))
    while pending:
        ready = next(s for s in pending if set(s.after) <= done
                     and all(o.phase.order >= s.phase.order for o in pending))
        impl = get_action(ready.action)
        state = impl.observe(ctx, ready)
        if not matches(state, ready.post):
            assert matches(state, ready.expect), f"{ready.id} {ready.action} stale: {state} vs {ready.expect}"
            impl.capture(ctx, ready)
            result = impl.apply(ctx, ready)
            assert impl.verify(ctx, ready, result)[0], f"{ready.id} {ready.action} not verified"
        done.add(ready.id)
        order.append(ready.id)
        pending.remove(ready)
    return log, order


def _writes(log: CallLog) -> list[tuple[str, str]]:
    out = []
    for _, op, params in log.calls:
        if op.startswith(("Describe", "Get", "List")):
            continue
        ids = params.get("InstanceIds") or params.get("SpotInstanceRequestIds") or [
            params.get("AutoScalingGroupName") or params.get("InstanceId") or params.get("VolumeId") or ""]
        out.append((op, str(ids[0])))
    return out


def _state(ec2: Any, instance_id: str) -> str:
    return str(ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"])


@pytest.mark.parametrize("seed", [1, 2])
def test_attacker_instances_protected_spot_and_bystander(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    protected = launch(ec2, rng, protect=True)
    assert ec2.describe_instance_attribute(InstanceId=protected.id, Attribute="disableApiTermination")[
        "DisableApiTermination"]["Value"] is True
    suspect = launch(ec2, rng)
    bystander = launch(ec2, rng)
    request = ec2.request_spot_instances(InstanceCount=1, Type="persistent", LaunchSpecification={
        "ImageId": image(ec2), "InstanceType": "g4dn.xlarge"})["SpotInstanceRequests"][0]
    request_id = request["SpotInstanceRequestId"]
    spot_instance = ec2.describe_spot_instance_requests(
        SpotInstanceRequestIds=[request_id])["SpotInstanceRequests"][0]["InstanceId"]
    subjects = [
        _subject("AWS::EC2::Instance", protected.id, region, Treatment.REMOVE),
        _subject("AWS::EC2::Instance", suspect.id, region, Treatment.QUARANTINE),
        _subject("AWS::EC2::Instance", spot_instance, region, Treatment.REMOVE),
        _subject("AWS::EC2::SpotInstanceRequest", request_id, region, Treatment.REMOVE),
    ]
    rng.shuffle(subjects)
    builder = _plan(region, subjects, reverse=rng.random() < 0.5)
    actions = {(s.action, s.target.id) for s in builder.steps}
    assert ("ec2.disable-termination-protection", protected.id) in actions
    assert ("ec2.stop-instance", suspect.id) in actions and ("ec2.terminate-instance", suspect.id) not in actions
    assert not any(s.target.id == bystander.id for s in builder.steps)
    volumes = {v for i in (protected, suspect) for v in i.volumes}
    assert volumes <= {s.target.id for s in builder.steps if s.action == "ec2.snapshot-volume"}
    log, _ = _run(tmp_path, region, builder.steps)
    writes = _writes(log)
    assert writes.index(("CancelSpotInstanceRequests", request_id)) < writes.index(
        ("TerminateInstances", spot_instance))
    assert writes.index(("ModifyInstanceAttribute", protected.id)) < writes.index(("TerminateInstances", protected.id))
    last_snapshot = max(i for i, w in enumerate(writes) if w[0] == "CreateSnapshot")
    first_destroy = min(i for i, w in enumerate(writes) if w[0] in ("TerminateInstances", "StopInstances"))
    assert last_snapshot < first_destroy, "evidence before destruction"
    assert _state(ec2, protected.id) == "terminated" and _state(ec2, spot_instance) == "terminated"
    assert _state(ec2, suspect.id) == "stopped" and _state(ec2, bystander.id) == "running"
    snaps = ec2.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "tag-key", "Values": [TAG_CASE]}])
    assert sorted(s["VolumeId"] for s in snaps["Snapshots"]) == sorted(volumes | set(
        v for s in builder.steps if s.action == "ec2.snapshot-volume" for v in [s.target.id]))
    assert all(any(t["Key"] == TAG_STEP for t in s["Tags"]) for s in snaps["Snapshots"])


def test_spot_request_alone_brings_its_instance_and_quarantine_skips_the_cancel(tmp_path: Path) -> None:
    rng = random.Random(8)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    ids = []
    for _ in range(2):
        req = ec2.request_spot_instances(InstanceCount=1, Type=rng.choice(["persistent", "one-time"]),
                                         LaunchSpecification={"ImageId": image(ec2), "InstanceType": "c5.xlarge"})
        ids.append(req["SpotInstanceRequests"][0]["SpotInstanceRequestId"])
    builder = _plan(region, [_subject("AWS::EC2::SpotInstanceRequest", ids[0], region, Treatment.REMOVE),
                             _subject("AWS::EC2::SpotInstanceRequest", ids[1], region, Treatment.QUARANTINE)])
    described = ec2.describe_spot_instance_requests(SpotInstanceRequestIds=ids)["SpotInstanceRequests"]
    launched = {r["SpotInstanceRequestId"]: r["InstanceId"] for r in described}
    terminate = builder.find("ec2.terminate-instance", target_id=launched[ids[0]])
    cancel = builder.find("ec2.cancel-spot-request", target_id=ids[0])
    assert terminate and cancel and cancel[0].id in terminate[0].after
    assert not builder.find("ec2.cancel-spot-request", target_id=ids[1])
    assert any("--suspect-as-attacker" in n.reason for n in builder.not_planned if n.resource.id == ids[1])
    assert builder.find("ec2.stop-instance", target_id=launched[ids[1]])


@pytest.mark.parametrize("seed", [4, 5])
def test_auto_scaling_group_scaled_to_zero_before_its_instances_are_terminated(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    template = ec2.create_launch_template(LaunchTemplateName="lt-" + word(rng), LaunchTemplateData={
        "ImageId": image(ec2), "InstanceType": "m5.large"})["LaunchTemplate"]["LaunchTemplateId"]
    asg = boto3.client("autoscaling", region)
    name = word(rng)
    size = rng.randint(1, 2)
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=size, MaxSize=size, DesiredCapacity=size,
                                  LaunchTemplate={"LaunchTemplateId": template}, AvailabilityZones=[zone])
    members = [i["InstanceId"] for i in asg.describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]]
    one = rng.choice(members)
    subjects = [_subject("AWS::EC2::Instance", one, region, Treatment.REMOVE),
                _subject("AWS::AutoScaling::AutoScalingGroup", name, region, Treatment.REMOVE),
                _subject("AWS::EC2::LaunchTemplate", template, region, Treatment.REMOVE)]
    builder = _plan(region, subjects, reverse=seed % 2 == 0)
    for member in members:
        assert builder.find("ec2.capture-instance", target_id=member), "evidence of every member"
    log, _ = _run(tmp_path, region, builder.steps)
    writes = [op for op, _ in _writes(log)]
    assert writes.index("UpdateAutoScalingGroup") < writes.index("DeleteAutoScalingGroup")
    assert "DeleteLaunchTemplate" in writes and writes.index("DeleteAutoScalingGroup") < writes.index(
        "DeleteLaunchTemplate")
    if "TerminateInstances" in writes:  # moto's scale-in may have terminated them already
        assert writes.index("UpdateAutoScalingGroup") < writes.index("TerminateInstances")
    assert all(_state(ec2, m) in ("shutting-down", "terminated") for m in members)


@pytest.mark.parametrize("seed", [6])
def test_network_artefacts_sharing_and_own_artefacts(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2: Any = boto3.client("ec2", region)
    attacker_group = ec2.create_security_group(GroupName=word(rng), Description="x")["GroupId"]
    legit_group = ec2.create_security_group(GroupName=word(rng), Description="web")["GroupId"]
    opened = ec2.authorize_security_group_ingress(GroupId=legit_group, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    rule_id = opened["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    inst = launch(ec2, rng, extra_volumes=0, group_ids=[attacker_group])
    own = launch(ec2, rng, extra_volumes=0)
    ec2.create_tags(Resources=[own.id], Tags=[{"Key": TAG_CASE, "Value": "earlier-case"}])
    key = "k" + word(rng)
    ec2.create_key_pair(KeyName=key)
    snap = ec2.create_snapshot(VolumeId=inst.volumes[0])["SnapshotId"]
    outsider = "".join(rng.choice("0123456789") for _ in range(12))
    ec2.modify_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission", OperationType="add",
                                  UserIds=[outsider])
    subjects = [
        _subject("AWS::EC2::Instance", inst.id, region, Treatment.REMOVE),
        _subject("AWS::EC2::Instance", own.id, region, Treatment.REMOVE),
        _subject("AWS::EC2::SecurityGroup", attacker_group, region, Treatment.REMOVE),
        _subject("AWS::EC2::SecurityGroup", legit_group, region, Treatment.QUARANTINE),
        _subject("AWS::EC2::SecurityGroupIngress", rule_id, region, Treatment.REMOVE),
        _subject("AWS::EC2::KeyPair", key, region, Treatment.QUARANTINE),
        _subject("AWS::EC2::Snapshot", snap, region, Treatment.REMOVE, rule="ec2-snapshot-shared",
                 details={"outside_accounts": [outsider]}),
    ]
    builder = _plan(region, subjects, reverse=True)
    assert not any(s.target.id == own.id for s in builder.steps), "the tool's own artefacts are never targets"
    assert any(n.resource.id == key for n in builder.not_planned)
    assert not builder.find("ec2.delete-security-group", target_id=legit_group)
    assert not any(s.action.startswith("ec2.delete-snapshot") for s in builder.steps)
    log, _ = _run(tmp_path, region, builder.steps)
    writes = [op for op, _ in _writes(log)]
    assert writes.index("TerminateInstances") < writes.index("DeleteSecurityGroup")
    assert "RevokeSecurityGroupIngress" in writes and "ModifySnapshotAttribute" in writes
    groups = {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert attacker_group not in groups and legit_group in groups
    perms = ec2.describe_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission")
    assert perms["CreateVolumePermissions"] == []
    assert [k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]] == [key]
