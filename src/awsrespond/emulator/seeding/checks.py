"""The invariants a seeded scenario must hold against the emulator: :func:`check_seeded`."""

from __future__ import annotations

from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.emulator.scenario import Scenario
from awsrespond.emulator.seeding.ground_truth import Artefact, SeededScenario
from awsrespond.emulator.server import EmulatorServer
from awsrespond.errors import AwsRespondError
from awsrespond.timeutil import coerce_instant

# Types AWS reports no creation time for (moto gives spot requests a fixed 2015 time).
_UNTIMED = frozenset(
    {
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SpotInstanceRequest",
        "AWS::S3::Bucket",
        "AWS::CloudTrail::Trail",
        "AWS::GuardDuty::Detector",
    }
)


def check_seeded(
    server: EmulatorServer, scenario: Scenario, seeded: SeededScenario, *, factory: ClientFactory | None = None
) -> list[str]:
    """What is wrong with a seeded scenario (empty when every invariant holds).

    Checks that every artefact exists as described, creation times fall on the right side of T
    where AWS reports one, instance types and volumes, termination protection, persistent spot
    requests, the stopped trail, and the leaked key's last use.
    """
    problems: list[str] = []
    start = seeded.incident_start
    factory = factory or server.factory()
    iam = factory.client("iam")
    for attacker, artefacts in ((True, seeded.attacker_artefacts), (False, seeded.legitimate_artefacts)):
        for artefact in artefacts:
            label = f"{artefact.type} {artefact.id} ({artefact.region})"
            try:
                created = _describe(factory, artefact)
            except (ClientError, BotoCoreError, IndexError, KeyError, StopIteration) as exc:
                problems.append(f"{label}: missing ({exc})")
                continue
            if artefact.type in _UNTIMED:
                continue
            if created is None:
                problems.append(f"{label}: no creation time")
            elif attacker and not created > start:
                problems.append(f"{label}: created {created.isoformat()}, not after T {start.isoformat()}")
            elif not attacker and not created < start:
                problems.append(f"{label}: created {created.isoformat()}, not before T {start.isoformat()}")

    spot_instances = set(seeded.spot_instances.values())
    for artefact in seeded.attacker_of("AWS::EC2::Instance"):
        ec2 = factory.client("ec2", artefact.region)
        instance = ec2.describe_instances(InstanceIds=[artefact.id])["Reservations"][0]["Instances"][0]
        if not instance.get("BlockDeviceMappings"):
            problems.append(f"instance {artefact.id}: no volumes")
        launched = [g.instance_type for g in scenario.attacker.instances if g.region == artefact.region]
        if artefact.id in spot_instances:
            launched = [s.instance_type for s in scenario.attacker.spot_requests if s.region == artefact.region]
        if instance.get("InstanceType") not in launched:
            problems.append(f"instance {artefact.id}: type {instance.get('InstanceType')}, expected one of {launched}")
        attribute = ec2.describe_instance_attribute(InstanceId=artefact.id, Attribute="disableApiTermination")
        protected = attribute["DisableApiTermination"]["Value"]
        if protected != (artefact.id in seeded.termination_protected):
            problems.append(f"instance {artefact.id}: termination protection is {protected}")
    if not seeded.termination_protected:
        problems.append("no attacker instance has termination protection")
    for request_id, instance_id in seeded.spot_instances.items():
        region = next(a.region for a in seeded.attacker_artefacts if a.id == request_id)
        ec2 = factory.client("ec2", region)
        request = ec2.describe_spot_instance_requests(SpotInstanceRequestIds=[request_id])["SpotInstanceRequests"][0]
        if request.get("Type") != "persistent":
            problems.append(f"spot request {request_id}: type {request.get('Type')}, expected persistent")
        if request.get("InstanceId") != instance_id:
            problems.append(f"spot request {request_id}: instance {request.get('InstanceId')}, expected {instance_id}")

    trail = factory.client("cloudtrail", seeded.trail_region)
    if trail.get_trail_status(Name=seeded.trail_name).get("IsLogging"):
        problems.append(f"trail {seeded.trail_name} is still logging")
    last = iam.get_access_key_last_used(AccessKeyId=seeded.compromised_access_key_id)["AccessKeyLastUsed"]
    last_used = coerce_instant(last.get("LastUsedDate"))
    if last_used is None or not last_used > start:
        problems.append(f"leaked key {seeded.compromised_access_key_id}: last used {last_used}, not after T")
    return problems


def _describe(factory: ClientFactory, artefact: Artefact) -> datetime | None:
    """Look the artefact up; its creation time as AWS reports it (None where none is reported).

    Raises ClientError (IndexError, StopIteration on an empty answer) when it does not exist.
    """
    kind, ident, region = artefact.type, artefact.id, artefact.region
    iam = factory.client("iam")
    if kind == "AWS::IAM::User":
        return coerce_instant(iam.get_user(UserName=ident)["User"]["CreateDate"])
    if kind == "AWS::IAM::Role":
        return coerce_instant(iam.get_role(RoleName=ident)["Role"]["CreateDate"])
    if kind == "AWS::IAM::ManagedPolicy":
        return coerce_instant(iam.get_policy(PolicyArn=ident)["Policy"]["CreateDate"])
    if kind == "AWS::IAM::InstanceProfile":
        return coerce_instant(iam.get_instance_profile(InstanceProfileName=ident)["InstanceProfile"]["CreateDate"])
    if kind == "AWS::IAM::AccessKey":
        keys = iam.list_access_keys(UserName=artefact.name)["AccessKeyMetadata"]
        return coerce_instant(next(k for k in keys if k["AccessKeyId"] == ident)["CreateDate"])
    if kind == "AWS::IAM::VirtualMFADevice":
        devices = iam.list_mfa_devices(UserName=artefact.name)["MFADevices"]
        return coerce_instant(next(d for d in devices if d["SerialNumber"] == ident)["EnableDate"])
    if kind == "AWS::EC2::Instance":
        reservations = factory.client("ec2", region).describe_instances(InstanceIds=[ident])["Reservations"]
        return coerce_instant(reservations[0]["Instances"][0]["LaunchTime"])
    if kind == "AWS::EC2::KeyPair":
        pairs = factory.client("ec2", region).describe_key_pairs(KeyNames=[ident])["KeyPairs"]
        return coerce_instant(pairs[0].get("CreateTime"))
    if kind == "AWS::EC2::Snapshot":
        snapshots = factory.client("ec2", region).describe_snapshots(SnapshotIds=[ident])["Snapshots"]
        return coerce_instant(snapshots[0]["StartTime"])
    if kind == "AWS::Lambda::Function":
        configuration = factory.client("lambda", region).get_function(FunctionName=ident)["Configuration"]
        return coerce_instant(configuration["LastModified"])
    if kind == "AWS::EC2::SecurityGroup":
        factory.client("ec2", region).describe_security_groups(GroupIds=[ident])["SecurityGroups"][0]
    elif kind == "AWS::EC2::SpotInstanceRequest":
        factory.client("ec2", region).describe_spot_instance_requests(SpotInstanceRequestIds=[ident])[
            "SpotInstanceRequests"
        ][0]
    elif kind == "AWS::S3::Bucket":
        factory.client("s3", region).head_bucket(Bucket=ident)
    elif kind == "AWS::CloudTrail::Trail":
        factory.client("cloudtrail", region).get_trail(Name=artefact.name)["Trail"]
    elif kind == "AWS::GuardDuty::Detector":
        factory.client("guardduty", region).get_detector(DetectorId=ident)
    else:
        raise AwsRespondError(f"no existence check for {kind}")
    return None
