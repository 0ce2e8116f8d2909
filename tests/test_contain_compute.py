"""Compute containment actions against moto: instance evidence, snapshots, protection, terminate, stop,
spot requests, Auto Scaling groups and fleets."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from awsrespond.contain.actions.base import TAG_CASE, TAG_PLAN, TAG_STEP, ActionContext, get_action, matches
from awsrespond.contain.actions.ec2_instances import TAG_VOLUME
from awsrespond.contain.model import Phase, Target
from tests.contain_compute_support import REGIONS, image, launch, word
from tests.contain_support import CallLog, make_context, make_factory, make_step, run_step, undo_step

SEEDS = [3, 41]


@pytest.fixture(autouse=True)
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _ctx(tmp_path: Path, region: str) -> ActionContext:
    return make_context(tmp_path, make_factory(region))


def _instance_target(instance_id: str, region: str) -> Target:
    return Target(type="AWS::EC2::Instance", id=instance_id, region=region)


def _evidence_text(ctx: ActionContext) -> str:
    return "\n".join(p.read_text() for p in (ctx.case.root / "evidence").rglob("*.json"))


@pytest.mark.parametrize("seed", SEEDS)
def test_capture_instance_keeps_description_console_and_only_a_hash_of_user_data(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    inst = launch(ec2, rng)
    ctx = _ctx(tmp_path, region)
    step = make_step("ec2.capture-instance", _instance_target(inst.id, region), expect={"exists": True},
                     post={"exists": True, "captured": True}, phase=Phase.EVIDENCE,
                     step_id=f"s{rng.randint(1, 99):03d}")
    impl = get_action(step.action)
    assert not matches(impl.observe(ctx, step), step.post)  # not "already done" before it ran
    result = run_step(ctx, step)
    assert result["user_data_sha256"].startswith("sha256:")
    text = _evidence_text(ctx)
    assert inst.id in text and "GetConsoleOutput" in text
    assert inst.secret not in text, "user data reached the evidence"
    assert result["user_data_sha256"] in text
    assert matches(impl.observe(ctx, step), step.post)


def test_capture_instance_records_missing_console_output(tmp_path: Path) -> None:
    rng = random.Random(5)
    region = rng.choice(REGIONS)
    inst = launch(boto3.client("ec2", region), rng)
    ctx = _ctx(tmp_path, region)
    client = ctx.client("ec2", region)

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "UnsupportedOperation", "Message": "no console"}}, "GetConsoleOutput")

    client.get_console_output = refuse
    step = make_step("ec2.capture-instance", _instance_target(inst.id, region), expect={"exists": True},
                     post={"captured": True}, phase=Phase.EVIDENCE)
    result = run_step(ctx, step)
    assert result["console_output"].startswith("unavailable")


def _snapshots_for(ec2: Any, case_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ec2.describe_snapshots(
        OwnerIds=["self"], Filters=[{"Name": f"tag:{TAG_CASE}", "Values": [case_id]}])["Snapshots"]
    return found


@pytest.mark.parametrize("seed", SEEDS)
def test_every_attached_volume_gets_a_snapshot_tagged_with_case_and_step(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    inst = launch(ec2, rng, extra_volumes=rng.randint(1, 2))
    launch(ec2, rng)  # a bystander whose volumes must not be snapshotted
    ctx = _ctx(tmp_path, region)
    for n, volume in enumerate(inst.volumes, start=1):
        step = make_step("ec2.snapshot-volume", Target(type="AWS::EC2::Volume", id=volume, region=region),
                         expect={"exists": True, "attached_to": inst.id, "snapshot_taken": False},
                         post={"snapshot_taken": True}, params={"instance": inst.id}, step_id=f"s{n + 10:03d}",
                         phase=Phase.EVIDENCE)
        result = run_step(ctx, step)
        assert result["snapshot"].startswith("snap-")
    snaps = _snapshots_for(ec2, ctx.plan.case_id)
    assert sorted(s["VolumeId"] for s in snaps) == sorted(inst.volumes)
    for snap in snaps:
        tags = {t["Key"]: t["Value"] for t in snap["Tags"]}
        assert tags[TAG_CASE] == ctx.plan.case_id and tags[TAG_PLAN] == ctx.plan.plan_id
        assert tags[TAG_VOLUME] == snap["VolumeId"] and tags[TAG_STEP].startswith("s0")
    assert len({t["Value"] for s in snaps for t in s["Tags"] if t["Key"] == TAG_STEP}) == len(inst.volumes)


@pytest.mark.parametrize("seed", SEEDS)
def test_snapshot_reconcile_after_crash_never_makes_a_second_snapshot(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2: Any = boto3.client("ec2", region)
    inst = launch(ec2, rng, extra_volumes=1)
    volume = rng.choice(inst.volumes)
    ctx = _ctx(tmp_path, region)
    step_id = f"s{rng.randint(2, 60):03d}"
    step = make_step("ec2.snapshot-volume", Target(type="AWS::EC2::Volume", id=volume, region=region),
                     expect={"exists": True, "snapshot_taken": False}, post={"snapshot_taken": True},
                     params={"instance": inst.id}, step_id=step_id, phase=Phase.EVIDENCE)
    impl = get_action(step.action)
    assert impl.idempotent is False
    assert impl.reconcile(ctx, step) is None  # nothing made yet: the executor may run it
    # Another step of the same case, and the same step id of another plan, do not count.
    ec2.create_snapshot(VolumeId=volume, TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
        {"Key": TAG_CASE, "Value": ctx.plan.case_id}, {"Key": TAG_STEP, "Value": "s999"},
        {"Key": TAG_PLAN, "Value": ctx.plan.plan_id}, {"Key": TAG_VOLUME, "Value": volume}]}])
    assert impl.reconcile(ctx, step) is None
    # The crash: CreateSnapshot went through, the journal never saw its result.
    tags: list[Any] = [*ctx.tags(step), {"Key": TAG_VOLUME, "Value": volume}]
    made = ec2.create_snapshot(VolumeId=volume, TagSpecifications=[
        {"ResourceType": "snapshot", "Tags": tags}])["SnapshotId"]
    result = impl.reconcile(ctx, step)
    assert result is not None and result["snapshot"] == made
    assert matches(impl.observe(ctx, step), step.post)  # the executor's "already done"
    assert len(_snapshots_for(ec2, ctx.plan.case_id)) == 2  # ours + the decoy: no new one


@pytest.mark.parametrize("seed", SEEDS)
def test_termination_protected_instance_needs_protection_off_first(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    inst = launch(ec2, rng, protect=True)
    attr = ec2.describe_instance_attribute(InstanceId=inst.id, Attribute="disableApiTermination")
    assert attr["DisableApiTermination"]["Value"] is True, "scenario invariant: protection is on"
    ctx = _ctx(tmp_path, region)
    target = _instance_target(inst.id, region)
    terminate = make_step("ec2.terminate-instance", target,
                          expect={"state": {"$in": ["pending", "running", "stopping", "stopped"]},
                                  "termination_protection": False},
                          post={"state": {"$in": ["shutting-down", "terminated"]}}, step_id="s002")
    impl = get_action(terminate.action)
    assert not matches(impl.observe(ctx, terminate), terminate.expect), "stale check must see the protection"
    disable = make_step("ec2.disable-termination-protection", target, expect={"termination_protection": True},
                        post={"termination_protection": False}, step_id="s001")
    result = run_step(ctx, disable)
    undo_step(ctx, disable, result)  # undo puts it back on...
    assert get_action(disable.action).observe(ctx, disable)["termination_protection"] is True
    run_step(ctx, disable)  # ...and it comes off again
    run_step(ctx, terminate)
    state = ec2.describe_instances(InstanceIds=[inst.id])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state in ("shutting-down", "terminated")


@pytest.mark.parametrize("seed", SEEDS)
def test_stop_and_undo(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    inst = launch(ec2, rng)
    other = launch(ec2, rng)
    ctx = _ctx(tmp_path, region)
    step = make_step("ec2.stop-instance", _instance_target(inst.id, region),
                     expect={"state": {"$in": ["pending", "running"]}},
                     post={"state": {"$in": ["stopping", "stopped"]}}, phase=Phase.DESTROY)
    impl = get_action(step.action)
    assert impl.reversible and impl.cuts_attacker_access
    result = run_step(ctx, step)
    undo_step(ctx, step, result)
    states = {i["InstanceId"]: i["State"]["Name"] for r in ec2.describe_instances()["Reservations"]
              for i in r["Instances"]}
    assert states[inst.id] in ("pending", "running") and states[other.id] == "running"


def test_cancel_spot_request_then_terminate_its_instance(tmp_path: Path) -> None:
    rng = random.Random(11)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    request = ec2.request_spot_instances(InstanceCount=1, Type="persistent", LaunchSpecification={
        "ImageId": image(ec2), "InstanceType": "g4dn.xlarge"})["SpotInstanceRequests"][0]
    request_id = request["SpotInstanceRequestId"]
    instance_id = ec2.describe_spot_instance_requests(
        SpotInstanceRequestIds=[request_id])["SpotInstanceRequests"][0]["InstanceId"]
    ctx = _ctx(tmp_path, region)
    log = CallLog(ctx.factory)
    log.attach_all(["ec2"], [region])
    cancel = make_step("ec2.cancel-spot-request", Target(type="AWS::EC2::SpotInstanceRequest", id=request_id,
                                                         region=region),
                       expect={"state": {"$in": ["open", "active", "disabled"]}},
                       post={"state": {"$in": ["cancelled", "closed", "failed", None]}})
    run_step(ctx, cancel)
    run_step(ctx, make_step("ec2.terminate-instance", _instance_target(instance_id, region),
                            expect={"state": {"$in": ["pending", "running"]}, "termination_protection": False},
                            post={"state": {"$in": ["shutting-down", "terminated"]}}, step_id="s002"))
    assert log.operations("ec2") == ["CancelSpotInstanceRequests", "TerminateInstances"]


def _group(rng: random.Random, region: str) -> tuple[str, list[str]]:
    ec2 = boto3.client("ec2", region)
    template = ec2.create_launch_template(LaunchTemplateName=word(rng), LaunchTemplateData={
        "ImageId": image(ec2), "InstanceType": "c5.xlarge"})["LaunchTemplate"]["LaunchTemplateId"]
    asg = boto3.client("autoscaling", region)
    name = "grp-" + word(rng)
    size = rng.randint(1, 3)
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:1]
    asg.create_auto_scaling_group(AutoScalingGroupName=name, MinSize=size, MaxSize=size + 2, DesiredCapacity=size,
                                  LaunchTemplate={"LaunchTemplateId": template}, AvailabilityZones=zones)
    members = [i["InstanceId"] for i in asg.describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]]
    assert len(members) == size
    return name, members


@pytest.mark.parametrize("seed", SEEDS)
def test_scale_to_zero_undo_and_delete_group(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    name, _ = _group(rng, region)
    before = boto3.client("autoscaling", region).describe_auto_scaling_groups(
        AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    ctx = _ctx(tmp_path, region)
    target = Target(type="AWS::AutoScaling::AutoScalingGroup", id=name, region=region)
    zero = {"min_size": 0, "max_size": 0, "desired_capacity": 0}
    scale = make_step("autoscaling.scale-to-zero", target, expect={"exists": True}, post=zero)
    result = run_step(ctx, scale)
    assert result["previous"] == {"min_size": before["MinSize"], "max_size": before["MaxSize"],
                                  "desired_capacity": before["DesiredCapacity"]}
    undo_step(ctx, scale, result)
    run_step(ctx, scale)
    delete = make_step("autoscaling.delete-group", target, expect={"exists": True, "desired_capacity": 0},
                       post={"exists": False}, step_id="s002")
    run_step(ctx, delete)


def test_spot_fleet_cancel_keeps_instances_and_capacity_undo(tmp_path: Path) -> None:
    rng = random.Random(23)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    capacity = rng.randint(1, 3)
    fleet_id = ec2.request_spot_fleet(SpotFleetRequestConfig={
        "TargetCapacity": capacity, "IamFleetRole": f"arn:aws:iam::123456789012:role/{word(rng)}",
        "LaunchSpecifications": [{"ImageId": image(ec2), "InstanceType": "p3.2xlarge"}],
        "Type": "maintain", "AllocationStrategy": "lowestPrice"})["SpotFleetRequestId"]
    instances = [i["InstanceId"] for i in ec2.describe_spot_fleet_instances(
        SpotFleetRequestId=fleet_id)["ActiveInstances"]]
    ctx = _ctx(tmp_path, region)
    target = Target(type="AWS::EC2::SpotFleet", id=fleet_id, region=region)
    modify = make_step("ec2.modify-spot-fleet-capacity", target, expect={"target_capacity": capacity},
                       post={"target_capacity": 0})
    result = run_step(ctx, modify)
    assert result["previous_capacity"] == capacity
    undo_step(ctx, modify, result)
    cancel = make_step("ec2.cancel-spot-fleet", target, expect={"state": "active"},
                       post={"state": {"$in": ["cancelled", "cancelled_running", "cancelled_terminating", None]}},
                       step_id="s002")
    log = CallLog(ctx.factory)
    log.attach_all(["ec2"], [region])
    run_step(ctx, cancel)
    sent = [p for svc, op, p in log.calls if op == "CancelSpotFleetRequests"]
    assert sent and sent[0]["TerminateInstances"] is False
    assert instances, "scenario invariant: the fleet launched instances"


def test_delete_ec2_fleet_without_terminating(tmp_path: Path) -> None:
    rng = random.Random(29)
    region = rng.choice(REGIONS)
    ec2 = boto3.client("ec2", region)
    template = ec2.create_launch_template(LaunchTemplateName=word(rng), LaunchTemplateData={
        "ImageId": image(ec2), "InstanceType": "m5.large"})["LaunchTemplate"]["LaunchTemplateId"]
    fleet_id = ec2.create_fleet(LaunchTemplateConfigs=[{"LaunchTemplateSpecification": {
        "LaunchTemplateId": template, "Version": "1"}}], Type="maintain",
        TargetCapacitySpecification={"TotalTargetCapacity": 2, "DefaultTargetCapacityType": "on-demand"})["FleetId"]
    ctx = _ctx(tmp_path, region)
    log = CallLog(ctx.factory)
    log.attach_all(["ec2"], [region])
    step = make_step("ec2.delete-fleet", Target(type="AWS::EC2::EC2Fleet", id=fleet_id, region=region),
                     expect={"state": {"$in": ["active", "submitted", "modifying"]}},
                     post={"state": {"$in": ["deleted", "deleted_running", "deleted_terminating", None]}})
    run_step(ctx, step)
    sent = [p for svc, op, p in log.calls if op == "DeleteFleets"]
    assert sent[0]["TerminateInstances"] is False


def test_modify_fleet_capacity_and_undo_with_stubbed_ec2(tmp_path: Path) -> None:
    # moto has no ModifyFleet: the call sequence and arguments are checked with botocore's Stubber.
    rng = random.Random(31)
    region = rng.choice(REGIONS)
    ctx = _ctx(tmp_path, region)
    client = ctx.client("ec2", region)
    fleet_id = "fleet-" + "".join(rng.choice("0123456789abcdef") for _ in range(8)) + "-0000-0000-0000-000000000000"
    capacity = rng.randint(2, 9)

    def described(total: int) -> dict[str, Any]:
        return {"Fleets": [{"FleetId": fleet_id, "FleetState": "active",
                            "TargetCapacitySpecification": {"TotalTargetCapacity": total}}]}

    step = make_step("ec2.modify-fleet-capacity", Target(type="AWS::EC2::EC2Fleet", id=fleet_id, region=region),
                     expect={"target_capacity": capacity}, post={"target_capacity": 0})
    with Stubber(client) as stub:
        for total in (capacity, capacity, capacity):
            stub.add_response("describe_fleets", described(total), {"FleetIds": [fleet_id]})
        stub.add_response("modify_fleet", {"Return": True}, {
            "FleetId": fleet_id, "ExcessCapacityTerminationPolicy": "no-termination",
            "TargetCapacitySpecification": {"TotalTargetCapacity": 0}})
        stub.add_response("describe_fleets", described(0), {"FleetIds": [fleet_id]})
        stub.add_response("modify_fleet", {"Return": True}, {
            "FleetId": fleet_id, "TargetCapacitySpecification": {"TotalTargetCapacity": capacity}})
        stub.add_response("describe_fleets", described(capacity), {"FleetIds": [fleet_id]})
        result = run_step(ctx, step)
        assert result == {"previous_capacity": capacity}
        undo_step(ctx, step, result)
        stub.assert_no_pending_responses()
