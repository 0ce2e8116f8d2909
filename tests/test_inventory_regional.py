"""Regional collectors (EC2, Auto Scaling, Lambda, logging posture) and the Cost Explorer collector,
against moto in-process."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.ce.models import ce_backends

from awsrespond.aws.clients import ApiCall, ClientFactory
from awsrespond.case.workspace import EvidenceStore
from awsrespond.coverage import GapKind
from awsrespond.inventory import collectors as _registered  # noqa: F401  (registers every collector)
from awsrespond.inventory.autoscaling import AutoScalingGroups
from awsrespond.inventory.base import Collector, Item, registry
from awsrespond.inventory.billing import CostExplorer
from awsrespond.inventory.ec2 import (
    Ec2Fleets,
    ElasticIps,
    Images,
    Instances,
    KeyPairs,
    LaunchTemplates,
    SecurityGroups,
    Snapshots,
    SpotFleets,
    SpotInstanceRequests,
)
from awsrespond.inventory.lambda_ import LambdaFunctions
from awsrespond.inventory.logging_posture import GuardDutyDetectors, Trails
from awsrespond.inventory.sweep import SweepResult, sweep

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "111122223333"
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-2"]
SECRET_VALUE = "sk_live_attacker_wallet_0xDEADBEEF"
CE_REGIONS = {"us-east-1", "aws-global"}
AMI = "ami-12345678"  # moto runs instances from an AMI it does not know (no default AMIs loaded)

COLLECTORS: list[type[Collector]] = [
    Instances,
    SpotInstanceRequests,
    SpotFleets,
    Ec2Fleets,
    KeyPairs,
    SecurityGroups,
    Snapshots,
    Images,
    ElasticIps,
    LaunchTemplates,
    AutoScalingGroups,
    LambdaFunctions,
    Trails,
    GuardDutyDetectors,
    CostExplorer,
]


def make_factory(region: str = "us-east-1") -> ClientFactory:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    return ClientFactory(session=session, max_attempts=2)


def run(
    factory: ClientFactory, root: Path, collectors: list[type[Collector]], regions: list[str] | None = None
) -> SweepResult:
    evidence = EvidenceStore(root / "evidence")
    result = sweep(
        factory,
        account_id=ACCOUNT,
        partition="aws",
        regions=regions or REGIONS,
        evidence=evidence,
        collectors=collectors,
    )
    evidence.flush()
    return result


def raise_on(
    factory: ClientFactory, service: str, region: str, *, operation: str, code: str, message: str
) -> None:
    """Make one operation of one cached client answer with an AWS error."""

    def handler(model: Any, **_: Any) -> None:
        if model.name == operation:
            raise ClientError({"Error": {"Code": code, "Message": message}}, operation)

    factory.client(service, region).meta.events.register("before-call", handler)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("main.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


def cost_result(
    dimension_values: dict[str, list[tuple[str, str]]], token: str | None = None
) -> dict[str, Any]:
    """A GetCostAndUsage answer: {group key: [(day, amount)]}."""
    days: dict[str, list[dict[str, Any]]] = {}
    for key, points in dimension_values.items():
        for day, amount in points:
            days.setdefault(day, []).append(
                {"Keys": [key], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}
            )
    result: dict[str, Any] = {
        "ResultsByTime": [
            {"TimePeriod": {"Start": day, "End": day}, "Total": {}, "Groups": groups, "Estimated": False}
            for day, groups in sorted(days.items())
        ],
        "DimensionValueAttributes": [],
    }
    if token:
        result["NextPageToken"] = token
    return result


@dataclass
class Scenario:
    ids: dict[str, str] = field(default_factory=dict)
    result: SweepResult | None = None
    root: Path = Path()
    calls_by_collector: dict[str, list[ApiCall]] = field(default_factory=dict)
    full_calls: list[ApiCall] = field(default_factory=list)

    @property
    def sweep(self) -> SweepResult:
        assert self.result is not None
        return self.result

    def item(self, rtype: str, rid: str, region: str | None = None) -> Item:
        matches = [i for i in self.sweep.inventory.of(rtype) if i.id == rid and region in (None, i.region)]
        assert len(matches) == 1, (rtype, rid, [i.id for i in self.sweep.inventory.of(rtype)])
        return matches[0]


def seed(ids: dict[str, str]) -> None:
    # --- us-east-1: the legitimate side plus a few attacker traces -------------------------------
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ec2.create_key_pair(KeyName="ops-key")
    web = ec2.run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        KeyName="ops-key",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}],
    )["Instances"][0]["InstanceId"]
    # moto ignores RunInstances(DisableApiTermination=True); only ModifyInstanceAttribute sticks.
    ec2.modify_instance_attribute(InstanceId=web, DisableApiTermination={"Value": True})
    plain = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="m5.large")["Instances"][0][
        "InstanceId"
    ]
    gone = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, InstanceType="t2.nano")["Instances"][0][
        "InstanceId"
    ]
    ec2.terminate_instances(InstanceIds=[gone])
    assert ec2.describe_instance_attribute(InstanceId=web, Attribute="disableApiTermination")[
        "DisableApiTermination"
    ]["Value"]
    ids.update(web=web, plain=plain, gone=gone)

    open_ssh = ec2.create_security_group(GroupName="open-ssh", Description="ssh from anywhere")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=open_ssh,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    open_v6 = ec2.create_security_group(GroupName="open-v6", Description="all from ::/0")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=open_v6, IpPermissions=[{"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]
    )
    internal = ec2.create_security_group(GroupName="internal", Description="https inside")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=internal,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            {
                "IpProtocol": "tcp",
                "FromPort": 8080,
                "ToPort": 8080,
                "UserIdGroupPairs": [{"GroupId": open_ssh}],
            },
        ],
    )
    ids.update(open_ssh=open_ssh, open_v6=open_v6, internal=internal)

    spot = ec2.request_spot_instances(
        SpotPrice="0.50",
        InstanceCount=1,
        Type="persistent",
        LaunchSpecification={"ImageId": AMI, "InstanceType": "c5.xlarge"},
    )["SpotInstanceRequests"][0]["SpotInstanceRequestId"]
    ids["spot"] = spot

    volume = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a")["VolumeId"]
    public_snap = ec2.create_snapshot(VolumeId=volume, Description="db dump")["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=public_snap, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
    )
    shared_snap = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ec2.modify_snapshot_attribute(
        SnapshotId=shared_snap,
        Attribute="createVolumePermission",
        OperationType="add",
        UserIds=[OTHER_ACCOUNT],
    )
    private_snap = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ids.update(public_snap=public_snap, shared_snap=shared_snap, private_snap=private_snap)

    shared_image = ec2.create_image(InstanceId=plain, Name="golden")["ImageId"]
    ec2.modify_image_attribute(ImageId=shared_image, LaunchPermission={"Add": [{"UserId": OTHER_ACCOUNT}]})
    public_image = ec2.create_image(InstanceId=plain, Name="leaked")["ImageId"]
    ec2.modify_image_attribute(ImageId=public_image, LaunchPermission={"Add": [{"Group": "all"}]})
    ids.update(shared_image=shared_image, public_image=public_image)

    allocation = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=allocation["AllocationId"], InstanceId=web)
    ids.update(eip=allocation["AllocationId"], eip_ip=allocation["PublicIp"])

    template = ec2.create_launch_template(
        LaunchTemplateName="lt-miner",
        LaunchTemplateData={"ImageId": AMI, "InstanceType": "p3.2xlarge", "UserData": "c2VjcmV0LXVzZXJkYXRh"},
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "team", "Value": "x"}]}],
    )["LaunchTemplate"]
    ids["template"] = template["LaunchTemplateId"]

    autoscaling = boto3.client("autoscaling", region_name="us-east-1")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="asg-miner",
        LaunchTemplate={"LaunchTemplateName": "lt-miner", "Version": "$Latest"},
        MinSize=1,
        MaxSize=5,
        DesiredCapacity=2,
        AvailabilityZones=["us-east-1a"],
    )

    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="lambda-exec", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ids["role"] = role
    lam = boto3.client("lambda", region_name="us-east-1")
    lam.create_function(
        FunctionName="exfil",
        Runtime="python3.12",
        Role=role,
        Handler="main.handler",
        Code={"ZipFile": _zip()},
        Environment={"Variables": {"WALLET_KEY": SECRET_VALUE, "STAGE": "prod"}},
    )

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="org-trail-logs")
    trail = boto3.client("cloudtrail", region_name="us-east-1")
    trail.create_trail(
        Name="org-main", S3BucketName="org-trail-logs", IsMultiRegionTrail=True, EnableLogFileValidation=True
    )
    trail.start_logging(Name="org-main")

    # --- eu-west-1: what an attacker leaves in a region nobody watches ---------------------------
    ec2_eu = boto3.client("ec2", region_name="eu-west-1")
    ec2_eu.import_key_pair(
        KeyName="attacker-key",
        PublicKeyMaterial=b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKzmfFzKdlZ4Bp9cBWVfZ0zJcY8OXlN1lXHwVhQhZ8xL",
    )
    miner = ec2_eu.run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        InstanceType="c5.4xlarge",
        KeyName="attacker-key",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "miner"}]}],
    )["Instances"][0]["InstanceId"]
    ids["miner"] = miner
    ids["spot_fleet"] = ec2_eu.request_spot_fleet(
        SpotFleetRequestConfig={
            "IamFleetRole": f"arn:aws:iam::{ACCOUNT}:role/fleet",
            "AllocationStrategy": "lowestPrice",
            "SpotPrice": "0.2",
            "TargetCapacity": 3,
            "Type": "maintain",
            "LaunchSpecifications": [{"ImageId": AMI, "InstanceType": "g4dn.xlarge"}],
        }
    )["SpotFleetRequestId"]
    ec2_eu.create_launch_template(
        LaunchTemplateName="lt-eu", LaunchTemplateData={"ImageId": AMI, "InstanceType": "g5.xlarge"}
    )
    ids["fleet"] = ec2_eu.create_fleet(
        LaunchTemplateConfigs=[
            {"LaunchTemplateSpecification": {"LaunchTemplateName": "lt-eu", "Version": "1"}}
        ],
        TargetCapacitySpecification={"TotalTargetCapacity": 2, "DefaultTargetCapacityType": "spot"},
        Type="maintain",
    )["FleetId"]

    autoscaling_eu = boto3.client("autoscaling", region_name="eu-west-1")
    autoscaling_eu.create_launch_configuration(
        LaunchConfigurationName="lc-old", ImageId=AMI, InstanceType="t2.micro"
    )
    autoscaling_eu.create_auto_scaling_group(
        AutoScalingGroupName="asg-lc",
        LaunchConfigurationName="lc-old",
        MinSize=0,
        MaxSize=1,
        DesiredCapacity=0,
        AvailabilityZones=["eu-west-1a"],
    )

    lam_eu = boto3.client("lambda", region_name="eu-west-1")
    layer = lam_eu.publish_layer_version(LayerName="miner-lib", Content={"ZipFile": _zip()})[
        "LayerVersionArn"
    ]
    ids["layer"] = layer
    lam_eu.create_function(
        FunctionName="cron-miner",
        Runtime="nodejs20.x",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip()},
        Layers=[layer],
    )

    trail_eu = boto3.client("cloudtrail", region_name="eu-west-1")
    trail_eu.create_trail(Name="eu-local", S3BucketName="org-trail-logs")
    trail_eu.start_logging(Name="eu-local")
    trail_eu.stop_logging(Name="eu-local")

    guardduty = boto3.client("guardduty", region_name="eu-west-1")
    ids["detector"] = guardduty.create_detector(Enable=True)["DetectorId"]

    # --- Cost Explorer: the emulator hands queued results out per distinct query, in order -------
    queue = ce_backends[ACCOUNT]["aws"].cost_usage_results_queue
    queue.append(
        cost_result(
            {"Amazon Elastic Compute Cloud - Compute": [("2026-01-01", "1.10"), ("2026-01-02", "250.20")]},
            token="page-2",
        )
    )
    queue.append(
        cost_result(
            {"AWS Lambda": [("2026-01-01", "0.10"), ("2026-01-02", "0.05")], "Tax": [("2026-01-02", "1")]}
        )
    )
    queue.append(
        cost_result({"us-east-1": [("2026-01-01", "1.20")], "eu-west-1": [("2026-01-02", "251.25")]})
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            data = Scenario(root=tmp_path_factory.mktemp("case"))
            seed(data.ids)
            factory = make_factory()
            data.result = run(factory, data.root, COLLECTORS)
            data.full_calls = list(factory.calls)
            # Each collector alone, to see exactly which operations it calls (clients are reused).
            for cls in COLLECTORS:
                factory.calls.clear()
                run(factory, tmp_path_factory.mktemp(cls.name), [cls])
                data.calls_by_collector[cls.name] = list(factory.calls)
    # Everything is captured: no mock stays open to leak into the tests that start their own.
    yield data


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


# --- the sweep as a whole -----------------------------------------------------------------------


def test_sweep_has_no_gaps_but_the_declared_ones(scenario: Scenario) -> None:
    partial = [g for g in scenario.sweep.gaps if g.partial]
    assert partial == []
    assert scenario.sweep.not_enabled == []


def test_every_item_has_existing_evidence(scenario: Scenario) -> None:
    items = list(scenario.sweep.inventory)
    assert items
    for item in items:
        assert item.evidence, item.id
        for ref in item.evidence:
            assert (scenario.root / ref.file).is_file(), ref.file
    index = json.loads((scenario.root / "evidence" / "index.json").read_text())
    files = {entry["file"] for entry in index["files"]}
    assert "evidence/us-east-1/ec2.DescribeInstances.json" in files
    assert "evidence/eu-west-1/ec2.DescribeInstances.json" in files
    assert f"evidence/us-east-1/ec2.DescribeInstanceAttribute.{scenario.ids['web']}.json" in files
    assert "evidence/global/ce.GetCostAndUsage.SERVICE.json" in files
    assert "evidence/global/ce.GetCostAndUsage.REGION.json" in files


def test_created_times_are_utc_aware(scenario: Scenario) -> None:
    for item in scenario.sweep.inventory:
        if item.created is not None:
            offset = item.created.utcoffset()
            assert offset is not None and offset.total_seconds() == 0


# --- EC2 --------------------------------------------------------------------------------------------


def test_instances(scenario: Scenario) -> None:
    ids = scenario.ids
    web = scenario.item("AWS::EC2::Instance", ids["web"])
    assert web.region == "us-east-1"
    assert web.name == "web"
    assert web.arn == f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{ids['web']}"
    assert web.created is not None
    expected = {
        "instance_type",
        "state",
        "launch_time",
        "key_name",
        "public_ip",
        "private_ip",
        "instance_profile_arn",
        "security_group_ids",
        "spot_request_id",
        "image_id",
        "vpc_id",
        "termination_protection",
        "tags",
    }
    assert expected <= set(web.data)
    assert web.data["instance_type"] == "t3.micro"
    assert web.data["state"] == "running"
    assert web.data["key_name"] == "ops-key"
    assert web.data["launch_time"].endswith("Z")
    assert web.data["image_id"] == AMI
    assert web.data["tags"] == {"Name": "web"}
    assert web.data["security_group_ids"] and all(g.startswith("sg-") for g in web.data["security_group_ids"])
    assert web.data["public_ip"] and web.data["private_ip"]
    assert web.data["termination_protection"] is True

    plain = scenario.item("AWS::EC2::Instance", ids["plain"])
    assert plain.data["termination_protection"] is False
    assert plain.data["spot_request_id"] is None

    gone = scenario.item("AWS::EC2::Instance", ids["gone"])
    assert gone.data["state"] == "terminated"
    assert gone.data["termination_protection"] is None
    asked = {c.operation for c in scenario.full_calls if c.operation == "DescribeInstanceAttribute"}
    assert asked  # and, per instance, never for the terminated one:
    gone_file = f"ec2.DescribeInstanceAttribute.{ids['gone']}.json"
    assert not list((scenario.root / "evidence").rglob(gone_file))

    miner = scenario.item("AWS::EC2::Instance", ids["miner"])
    assert (miner.region, miner.name, miner.data["instance_type"]) == ("eu-west-1", "miner", "c5.4xlarge")
    assert miner.data["key_name"] == "attacker-key"

    spot_instances = [
        i for i in scenario.sweep.inventory.of("AWS::EC2::Instance") if i.data["lifecycle"] == "spot"
    ]
    assert spot_instances  # moto leaves SpotInstanceRequestId unset on them (see the spot request item)


def test_spot_requests_and_fleets(scenario: Scenario) -> None:
    spot = scenario.item("AWS::EC2::SpotInstanceRequest", scenario.ids["spot"])
    assert spot.region == "us-east-1"
    assert spot.data["type"] == "persistent"
    assert spot.data["state"] == "active"
    assert spot.data["instance_type"] == "c5.xlarge"
    assert spot.data["instance_id"] and spot.data["instance_id"].startswith("i-")
    assert {"create_time", "valid_until"} <= set(spot.data)
    assert spot.created is not None  # moto: a fixed 2015 time, kept as AWS says it
    assert spot.data["create_time"] == spot.created.isoformat().replace("+00:00", "Z")

    fleet = scenario.item("AWS::EC2::SpotFleet", scenario.ids["spot_fleet"])
    assert fleet.region == "eu-west-1"
    assert fleet.data["state"] == "active"
    assert fleet.data["target_capacity"] == 3
    assert {"type", "create_time"} <= set(fleet.data)

    ec2_fleet = scenario.item("AWS::EC2::EC2Fleet", scenario.ids["fleet"])
    assert ec2_fleet.data["state"] == "active"
    assert ec2_fleet.data["type"] == "maintain"
    assert ec2_fleet.data["target_capacity"] == 2
    assert "create_time" in ec2_fleet.data


def test_key_pairs(scenario: Scenario) -> None:
    ops = scenario.item("AWS::EC2::KeyPair", "ops-key")
    assert ops.region == "us-east-1"
    assert ops.data["key_pair_id"].startswith("key-")
    assert ops.data["fingerprint"]
    assert "key_type" in ops.data
    assert ops.created is not None
    attacker = scenario.item("AWS::EC2::KeyPair", "attacker-key")
    assert attacker.region == "eu-west-1"


def test_security_groups_world_open(scenario: Scenario) -> None:
    ssh = scenario.item("AWS::EC2::SecurityGroup", scenario.ids["open_ssh"])
    assert ssh.data["group_name"] == "open-ssh"
    assert ssh.data["description"] == "ssh from anywhere"
    assert ssh.data["vpc_id"]
    assert ssh.data["world_open"] == [
        {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr": "0.0.0.0/0"}
    ]
    assert ssh.data["ingress_rule_count"] == 1

    v6 = scenario.item("AWS::EC2::SecurityGroup", scenario.ids["open_v6"])
    assert v6.data["world_open"] == [{"protocol": "-1", "from_port": None, "to_port": None, "cidr": "::/0"}]

    internal = scenario.item("AWS::EC2::SecurityGroup", scenario.ids["internal"])
    assert internal.data["world_open"] == []
    assert internal.data["ingress_rule_count"] == 2

    # Default groups exist in every region swept.
    regions = {i.region for i in scenario.sweep.inventory.of("AWS::EC2::SecurityGroup")}
    assert regions == set(REGIONS)


def test_snapshot_sharing(scenario: Scenario) -> None:
    ids = scenario.ids
    public = scenario.item("AWS::EC2::Snapshot", ids["public_snap"])
    assert public.data["public"] is True
    assert public.data["shared_with"] == []
    assert public.data["volume_size"] == 8
    assert public.data["volume_id"].startswith("vol-")
    assert public.data["state"] == "completed"
    assert public.data["start_time"] and public.created is not None
    assert public.arn == f"arn:aws:ec2:us-east-1::snapshot/{ids['public_snap']}"

    shared = scenario.item("AWS::EC2::Snapshot", ids["shared_snap"])
    assert (shared.data["public"], shared.data["shared_with"]) == (False, [OTHER_ACCOUNT])
    private = scenario.item("AWS::EC2::Snapshot", ids["private_snap"])
    assert (private.data["public"], private.data["shared_with"]) == (False, [])
    assert len(private.evidence) == 2  # the listing and its own attribute call


def test_image_sharing(scenario: Scenario) -> None:
    shared = scenario.item("AWS::EC2::Image", scenario.ids["shared_image"])
    assert shared.data["public"] is False
    assert shared.data["shared_with"] == [OTHER_ACCOUNT]
    assert shared.data["creation_date"] and shared.created is not None
    public = scenario.item("AWS::EC2::Image", scenario.ids["public_image"])
    assert public.data["public"] is True
    assert public.data["shared_with"] == []


def test_elastic_ips_and_launch_templates(scenario: Scenario) -> None:
    eip = scenario.item("AWS::EC2::EIP", scenario.ids["eip"])
    assert eip.data["public_ip"] == scenario.ids["eip_ip"]
    assert eip.data["instance_id"] == scenario.ids["web"]
    assert eip.data["association_id"].startswith("eipassoc-")
    assert eip.data["network_interface_id"].startswith("eni-")

    template = scenario.item("AWS::EC2::LaunchTemplate", scenario.ids["template"])
    assert template.name == template.data["name"] == "lt-miner"
    assert template.data["latest_version"] == 1
    assert template.data["created_by"]
    assert template.data["tags"] == {"team": "x"}
    assert template.created is not None
    called = {c.operation for c in scenario.full_calls}
    assert "DescribeLaunchTemplateVersions" not in called


# --- Auto Scaling and Lambda --------------------------------------------------------------------------


def test_auto_scaling_groups(scenario: Scenario) -> None:
    group = scenario.item("AWS::AutoScaling::AutoScalingGroup", "asg-miner")
    assert group.region == "us-east-1"
    assert (group.data["min_size"], group.data["max_size"], group.data["desired_capacity"]) == (1, 5, 2)
    assert len(group.data["instance_ids"]) == 2
    assert group.data["launch_template"]["name"] == "lt-miner"
    assert group.data["launch_template"]["id"] == scenario.ids["template"]
    assert group.data["launch_template"]["version"] == "$Latest"
    assert group.data["launch_configuration_name"] is None
    assert group.created is not None
    assert group.arn and group.arn.startswith("arn:aws:autoscaling:us-east-1:")

    old = scenario.item("AWS::AutoScaling::AutoScalingGroup", "asg-lc")
    assert old.region == "eu-west-1"
    assert old.data["launch_template"] is None
    assert old.data["launch_configuration_name"] == "lc-old"
    assert old.data["instance_ids"] == []


def test_lambda_functions_never_carry_variable_values(scenario: Scenario) -> None:
    exfil = scenario.item("AWS::Lambda::Function", "exfil")
    assert exfil.region == "us-east-1"
    assert exfil.data["runtime"] == "python3.12"
    assert exfil.data["role"] == scenario.ids["role"]
    assert exfil.data["handler"] == "main.handler"
    assert exfil.data["package_type"] == "Zip"
    assert exfil.data["code_size"] > 0
    assert exfil.data["env_var_names"] == ["STAGE", "WALLET_KEY"]
    assert exfil.data["created_is_last_modified"] is True
    assert exfil.data["last_modified"].endswith("Z") and exfil.created is not None
    assert exfil.data["layers"] == []

    miner = scenario.item("AWS::Lambda::Function", "cron-miner")
    assert miner.region == "eu-west-1"
    assert miner.data["layers"] == [scenario.ids["layer"]]
    assert miner.data["env_var_names"] == []

    dumped = json.dumps(scenario.sweep.inventory.as_json())
    assert SECRET_VALUE not in dumped
    for path in (scenario.root / "evidence").rglob("*.json"):
        assert SECRET_VALUE not in path.read_text(), path
    listing = (scenario.root / "evidence/us-east-1/lambda.ListFunctions.json").read_text()
    assert "WALLET_KEY" in listing  # names stay, values are hashed


# --- logging posture ----------------------------------------------------------------------------------


def test_trails(scenario: Scenario) -> None:
    trails = scenario.sweep.inventory.of("AWS::CloudTrail::Trail")
    # the multi-region trail is reported once, by its home region
    assert sorted((t.region, t.name) for t in trails) == [
        ("eu-west-1", "eu-local"),
        ("us-east-1", "org-main"),
    ]
    main = next(t for t in trails if t.name == "org-main")
    assert main.id == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-main"
    assert main.data["home_region"] == "us-east-1"
    assert main.data["is_multi_region"] is True
    assert main.data["is_organization_trail"] is False
    assert main.data["log_file_validation"] is True
    assert main.data["s3_bucket"] == "org-trail-logs"
    assert main.data["is_logging"] is True
    assert main.data["start_logging_time"] and main.data["stop_logging_time"] is None
    assert "latest_delivery_time" in main.data

    stopped = next(t for t in trails if t.name == "eu-local")
    assert stopped.data["is_multi_region"] is False
    assert stopped.data["is_logging"] is False
    assert stopped.data["stop_logging_time"] is not None
    assert len(stopped.evidence) == 2


def test_guardduty_detectors_and_their_absence(scenario: Scenario) -> None:
    detectors = scenario.sweep.inventory.of("AWS::GuardDuty::Detector")
    by_region = {d.region: d for d in detectors}
    assert set(by_region) == set(REGIONS)
    eu = by_region["eu-west-1"]
    assert eu.id == scenario.ids["detector"]
    assert eu.data["detector_id"] == scenario.ids["detector"]
    assert eu.data["status"] == "ENABLED"
    assert eu.data["created_at"] and eu.created is not None
    for region in ("us-east-1", "ap-northeast-2"):
        assert by_region[region].id == "none"
        assert by_region[region].data == {"status": "NONE"}


# --- Cost Explorer ------------------------------------------------------------------------------------


def test_cost_explorer_from_queued_results(scenario: Scenario) -> None:
    cost = scenario.item("AWS::CE::CostAndUsage", "last-30-days")
    assert cost.region == "global"
    data = cost.data
    assert data["currency"] == "USD"
    assert len(data["start"]) == 10 and len(data["end"]) == 10 and data["start"] < data["end"]
    # SERVICE answer came in two pages (NextPageToken followed); daily total sums the groups
    assert data["daily_total"] == [
        {"date": "2026-01-01", "amount": pytest.approx(1.2)},
        {"date": "2026-01-02", "amount": pytest.approx(251.25)},
    ]
    assert set(data["by_service"]) == {"Amazon Elastic Compute Cloud - Compute", "AWS Lambda", "Tax"}
    assert data["by_service"]["AWS Lambda"] == [
        {"date": "2026-01-01", "amount": pytest.approx(0.1)},
        {"date": "2026-01-02", "amount": pytest.approx(0.05)},
    ]
    assert data["by_region"]["eu-west-1"] == [{"date": "2026-01-02", "amount": pytest.approx(251.25)}]
    assert set(data["by_region"]) == {"us-east-1", "eu-west-1"}

    ce_calls = [c for c in scenario.full_calls if c.service == "ce"]
    assert [c.operation for c in ce_calls] == ["GetCostAndUsage"] * 3
    # botocore names Cost Explorer's us-east-1 client "aws-global" (endpoint ce.us-east-1.amazonaws.com)
    assert {c.region for c in ce_calls} <= CE_REGIONS


def test_cost_explorer_queries_are_exactly_service_then_region(aws: None, tmp_path: Path) -> None:
    factory = make_factory(region="eu-west-1")
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "GetCostAndUsage":
            seen.append(json.loads(json.dumps(params)))

    factory.client("ce", "us-east-1").meta.events.register("provide-client-params", record)
    result = run(factory, tmp_path, [CostExplorer])
    assert [g for g in result.gaps if g.partial] == []
    assert [p["GroupBy"] for p in seen] == [
        [{"Type": "DIMENSION", "Key": "SERVICE"}],
        [{"Type": "DIMENSION", "Key": "REGION"}],
    ]
    for params in seen:
        assert params["Granularity"] == "DAILY"
        assert params["Metrics"] == ["UnblendedCost"]
        assert params["TimePeriod"] == seen[0]["TimePeriod"]
    assert {c.region for c in factory.calls} <= CE_REGIONS  # not the session's eu-west-1
    item = result.inventory.find("AWS::CE::CostAndUsage", "last-30-days")
    assert item is not None and item.data["daily_total"] == [] and item.data["by_service"] == {}


REFUSALS = {
    "denied": ("AccessDeniedException", "User: arn:aws:iam::123456789012:user/x is not authorized"),
    "not-enabled": ("AccessDeniedException", "User not enabled for cost explorer access"),
    "no-data": ("DataUnavailableException", "Data is not available."),
}


@pytest.mark.parametrize(
    ("refusal", "kind", "needle"),
    [
        ("denied", GapKind.ACCESS_DENIED, "ce:GetCostAndUsage"),
        ("not-enabled", GapKind.UNAVAILABLE, "Enable Cost Explorer"),
        ("no-data", GapKind.UNAVAILABLE, "Enable Cost Explorer"),
    ],
)
def test_cost_explorer_refusal_is_a_gap(
    aws: None, tmp_path: Path, refusal: str, kind: GapKind, needle: str
) -> None:
    code, message = REFUSALS[refusal]
    factory = make_factory()
    raise_on(factory, "ce", "us-east-1", operation="GetCostAndUsage", code=code, message=message)
    result = run(factory, tmp_path, [CostExplorer])
    gaps = [g for g in result.gaps if g.partial]
    assert len(gaps) == 1
    gap = gaps[0]
    assert (gap.kind, gap.scope, gap.region) == (kind, "billing.cost_explorer", "global")
    assert needle in gap.message
    assert "https://console.aws.amazon.com/cost-management/home" in gap.message
    assert result.inventory.of("AWS::CE::CostAndUsage") == []


# --- failure of one per-resource call -----------------------------------------------------------------


def test_denied_attribute_call_is_one_gap_and_items_remain(aws: None, tmp_path: Path) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ec2.run_instances(ImageId=AMI, MinCount=3, MaxCount=3)
    factory = make_factory()
    raise_on(
        factory,
        "ec2",
        "us-east-1",
        operation="DescribeInstanceAttribute",
        code="UnauthorizedOperation",
        message="denied",
    )
    result = run(factory, tmp_path, [Instances], regions=["us-east-1"])
    instances = result.inventory.of("AWS::EC2::Instance")
    assert len(instances) == 3
    assert all(i.data["termination_protection"] is None for i in instances)
    gaps = [g for g in result.gaps if g.partial]
    assert len(gaps) == 1
    assert (gaps[0].kind, gaps[0].scope) == (
        GapKind.ACCESS_DENIED,
        "ec2.instances (DescribeInstanceAttribute)",
    )
    attribute_calls = [c for c in factory.calls if c.operation == "DescribeInstanceAttribute"]
    assert len(attribute_calls) == 1  # not retried for each remaining instance


def test_failing_listing_becomes_a_gap_naming_operation_and_region(aws: None, tmp_path: Path) -> None:
    factory = make_factory()
    raise_on(
        factory, "lambda", "eu-west-1", operation="ListFunctions", code="AccessDeniedException", message="no"
    )
    result = run(factory, tmp_path, [LambdaFunctions], regions=["us-east-1", "eu-west-1"])
    gaps = [g for g in result.gaps if g.partial]
    assert [(g.region, g.scope, g.kind) for g in gaps] == [
        ("eu-west-1", "lambda.functions (ListFunctions)", GapKind.ACCESS_DENIED)
    ]


# --- declarations -------------------------------------------------------------------------------------


def test_collectors_are_registered_and_declare_permissions() -> None:
    for cls in COLLECTORS:
        assert registry[cls.name] is cls
        assert cls.permissions and cls.resource_types
        assert cls.scope == ("global" if cls is CostExplorer else "regional")
        for action in cls.permissions:
            service, _, operation = action.partition(":")
            assert service and operation.startswith(("Describe", "List", "Get")), action


def test_calls_made_are_declared_and_read_only(scenario: Scenario) -> None:
    for cls in COLLECTORS:
        calls = scenario.calls_by_collector[cls.name]
        assert calls, cls.name
        made = {call.iam_action for call in calls}
        assert made <= set(cls.permissions), (cls.name, made - set(cls.permissions))
        # everything declared is exercised by the scenario
        assert made == set(cls.permissions), (cls.name, set(cls.permissions) - made)
        assert all(c.operation.startswith(("Describe", "List", "Get")) for c in calls)
        if cls.scope == "regional":
            assert {c.region for c in calls} == set(REGIONS), cls.name


def test_calls_are_linear(scenario: Scenario) -> None:
    """One listing call per region (moto returns one page), plus at most one call per resource."""
    inventory = scenario.sweep.inventory
    calls = scenario.calls_by_collector
    live = [i for i in inventory.of("AWS::EC2::Instance") if i.data["state"] != "terminated"]
    assert len(calls["ec2.instances"]) == len(REGIONS) + len(live)
    assert len(calls["ec2.snapshots"]) == len(REGIONS) + len(inventory.of("AWS::EC2::Snapshot"))
    assert len(calls["ec2.images"]) == len(REGIONS) + len(inventory.of("AWS::EC2::Image"))
    assert len(calls["ec2.security_groups"]) == len(REGIONS)
    assert len(calls["cloudtrail.trails"]) == len(REGIONS) + len(inventory.of("AWS::CloudTrail::Trail"))


def test_snapshots_and_images_of_other_owners_are_not_ours(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # moto ignores OwnerIds=self and, with its default AMIs loaded (the demo emulator), lists
    # about 1300 public snapshots of Amazon's and Canonical's accounts.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "true")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        volume = ec2.create_volume(Size=1, AvailabilityZone="us-east-1a")["VolumeId"]
        own = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
        assert len(ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]) > 100
        factory = make_factory()
        result = run(factory, tmp_path, [Snapshots, Images], regions=["us-east-1"])
    assert [i.id for i in result.inventory.of("AWS::EC2::Snapshot")] == [own]
    assert result.inventory.of("AWS::EC2::Image") == []
    assert [c.operation for c in factory.calls].count("DescribeSnapshotAttribute") == 1
