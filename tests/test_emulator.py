"""The embedded AWS (a real moto server on loopback) and the seeded compromise scenarios."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ProfileNotFound

from awsrespond.aws.clients import ClientFactory
from awsrespond.emulator import (
    DEFAULT_SCENARIO,
    FAKE_ACCESS_KEY_ID,
    EmulatorServer,
    Scenario,
    SeededScenario,
    check_seeded,
    cloudtrail_record,
    generate_scenario,
    list_scenarios,
    load_scenario,
    seed,
    verify_emulator,
)
from awsrespond.emulator.cloudtrail import delivery_key, iam_user_identity, read_log_file
from awsrespond.emulator.instance_types import ACCELERATED_FAMILIES
from awsrespond.errors import AwsRespondError, InputError, SafetyError, UsageError
from awsrespond.timeutil import coerce_instant

pytestmark = pytest.mark.server

GENERATED_SEEDS = (3, 17, 2024)
# The default scenario and generated ones; the other shipped scenarios are seeded by the triage tests.
CASES: tuple[str | int, ...] = (DEFAULT_SCENARIO, *GENERATED_SEEDS)
KEY_PATTERN = re.compile(
    r"^AWSLogs/(?P<acct>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=acct)_CloudTrail_(?P=region)_(?P<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$"
)
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SERVICE_QUERY = {"Type": "DIMENSION", "Key": "SERVICE"}
REGION_QUERY = {"Type": "DIMENSION", "Key": "REGION"}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def factory(server: EmulatorServer) -> ClientFactory:
    """One factory for the module: its clients stay valid across resets, and creating them is slow."""
    return server.factory()


class Case:
    def __init__(
        self, server: EmulatorServer, factory: ClientFactory, scenario: Scenario, seeded: SeededScenario
    ) -> None:
        self.server = server
        self.scenario = scenario
        self.seeded = seeded
        self.factory = factory
        self._records: list[dict[str, Any]] | None = None

    def client(self, service: str, region: str = "us-east-1") -> Any:
        return self.factory.client(service, region)

    @property
    def regions(self) -> list[str]:
        return sorted({*self.scenario.home_regions, *self.scenario.attacker.regions, "us-east-1"})

    @property
    def records(self) -> list[dict[str, Any]]:
        if self._records is None:
            s3 = self.client("s3", self.seeded.trail_region)
            records: list[dict[str, Any]] = []
            for key in self.seeded.cloudtrail_keys:
                records += read_log_file(s3.get_object(Bucket=self.seeded.trail_bucket, Key=key)["Body"].read())
            self._records = records
        return self._records


@pytest.fixture(scope="module", params=CASES, ids=str)
def case(request: pytest.FixtureRequest, server: EmulatorServer, factory: ClientFactory) -> Case:
    """One seeded scenario at a time: moto has one state per process, reset between them."""
    param = request.param
    scenario = load_scenario(param) if isinstance(param, str) else generate_scenario(param)
    server.reset()
    return Case(server, factory, scenario, seed(server, scenario))


def _time(value: Any) -> datetime:
    moment = coerce_instant(value)
    assert moment is not None, value
    return moment


# -- the server ------------------------------------------------------------------------------------


def test_server_listens_on_loopback_only(server: EmulatorServer) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.endpoint_url)
    assert server.port > 0
    tcp = Path("/proc/net/tcp")
    if not tcp.exists():
        pytest.skip("no /proc/net/tcp to read the listening address from")
    listening = [
        line.split()[1]
        for line in tcp.read_text().splitlines()[1:]
        if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == server.port
    ]
    assert listening == [f"0100007F:{server.port:04X}"]


def test_one_emulator_per_process(server: EmulatorServer) -> None:
    with pytest.raises(AwsRespondError, match="already running"):
        EmulatorServer().start()
    assert server.running


def test_factory_ignores_hostile_environment(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[default]\nregion = us-west-1\nendpoint_url = http://198.51.100.1:9\nca_bundle = /nonexistent.pem\n"
    )
    for name, value in {
        "AWS_PROFILE": "does-not-exist",
        "AWS_DEFAULT_PROFILE": "does-not-exist",
        "AWS_ENDPOINT_URL": "http://198.51.100.1:9",
        "AWS_ENDPOINT_URL_STS": "http://198.51.100.1:9",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(config),
        "AWS_ACCESS_KEY_ID": "AKIAREALLOOKINGKEY01",
        "AWS_SECRET_ACCESS_KEY": "not-the-emulator",
        "AWS_SESSION_TOKEN": "a-real-session-token",
        "AWS_DEFAULT_REGION": "eu-west-3",
        "AWS_USE_FIPS_ENDPOINT": "true",
        "AWS_CA_BUNDLE": str(tmp_path / "missing.pem"),
        "HTTP_PROXY": "http://198.51.100.1:9",
        "HTTPS_PROXY": "http://198.51.100.1:9",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ProfileNotFound):
        boto3.Session()  # what an ordinary session makes of this environment

    factory = server.factory()
    sts = factory.client("sts")
    sent: list[tuple[str, dict[str, Any]]] = []
    sts.meta.events.register("before-send", lambda request, **_: sent.append((request.url, dict(request.headers))))
    assert sts.get_caller_identity()["Account"] == server.account_id
    url, headers = sent[0]
    assert url.startswith(server.endpoint_url)
    assert f"Credential={FAKE_ACCESS_KEY_ID}/".encode() in headers["Authorization"]
    assert "X-Amz-Security-Token" not in headers
    assert factory.client("iam").list_users()["Users"] is not None
    server.verify()


_HOSTILE_SERVER_SCRIPT = """
from botocore.exceptions import ClientError
from awsrespond.emulator import EmulatorServer
with EmulatorServer() as server:
    factory = server.factory("eu-west-1")
    factory.client("s3", "eu-west-1").create_bucket(
        Bucket="trail-logs-x", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    factory.client("cloudtrail", "eu-west-1").create_trail(Name="trail-x", S3BucketName="trail-logs-x")
    assert factory.client("ec2", "eu-west-1").describe_regions()["Regions"]
    try:
        factory.client("iam").get_user(UserName="nobody")
    except ClientError as exc:
        print(exc.response["Error"]["Code"])
"""


def test_server_side_survives_hostile_environment(tmp_path: Path) -> None:
    """moto's own code reads the process environment (profiles, config files) to list regions and to
    format errors: a server started where AWS_PROFILE names no profile must still answer."""
    config = tmp_path / "config"
    config.write_text("this is [not an ini file\n")
    env = {
        **os.environ,
        "AWS_PROFILE": "does-not-exist",
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(config),
        # Loopback but closed: if these were honoured the calls would fail, without leaving the machine.
        "AWS_ENDPOINT_URL": "http://127.0.0.2:9",
        "HTTPS_PROXY": "http://127.0.0.2:9",
        "HTTP_PROXY": "http://127.0.0.2:9",
    }
    result = subprocess.run(
        [sys.executable, "-c", _HOSTILE_SERVER_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "NoSuchEntity"


def test_env_points_the_cli_at_the_emulator(server: EmulatorServer) -> None:
    env = server.env("ap-northeast-2")
    assert env["AWS_ENDPOINT_URL"] == server.endpoint_url
    assert env["AWS_ACCESS_KEY_ID"] == FAKE_ACCESS_KEY_ID
    assert env["AWS_DEFAULT_REGION"] == "ap-northeast-2"
    assert set(env) >= {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"}
    exports = server.shell_exports()
    assert f"export AWS_ENDPOINT_URL={server.endpoint_url}" in exports
    assert re.search(r"^unset .*AWS_PROFILE.*AWS_SESSION_TOKEN", exports, re.MULTILINE)


@pytest.mark.parametrize(
    "endpoint",
    ["http://198.51.100.1:9", "http://localhost:4566", "http://10.0.0.5:5000", "ftp://127.0.0.1:21", "127.0.0.1"],
)
def test_verify_refuses_endpoints_that_are_not_loopback(endpoint: str) -> None:
    with pytest.raises(SafetyError, match="refusing"):
        verify_emulator(endpoint)


def test_verify_refuses_a_silent_loopback_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SafetyError, match="did not answer"):
        verify_emulator(f"http://127.0.0.1:{port}")


def test_verify_refuses_another_account(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")  # moto then answers as that account
    with pytest.raises(SafetyError, match="111122223333"):
        server.verify()


# -- scenarios as data ---------------------------------------------------------------------------


def test_shipped_scenarios() -> None:
    names = list_scenarios()
    assert DEFAULT_SCENARIO in names and len(names) >= 2
    loaded = [load_scenario(name) for name in names]
    assert [s.name for s in loaded] == names
    assert len({s.company for s in loaded}) == len(loaded)
    assert len({tuple(s.home_regions) for s in loaded}) == len(loaded)
    assert len({frozenset(g.instance_type for g in s.attacker.instances) for s in loaded}) == len(loaded)


def test_load_scenario_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="available"):
        load_scenario("no-such-scenario")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="YAML"):
        load_scenario(str(broken))
    data = load_scenario(DEFAULT_SCENARIO).model_dump(mode="json")
    for group in data["attacker"]["instances"]:
        group["region"] = "us-east-1"  # one region only
    one_region = tmp_path / "one-region.yaml"
    one_region.write_text(json.dumps(data))  # JSON is YAML
    with pytest.raises(InputError, match="two regions"):
        load_scenario(str(one_region))


def test_generator_is_deterministic_and_varied() -> None:
    assert generate_scenario(7) == generate_scenario(7)
    scenarios = [generate_scenario(seed_) for seed_ in range(40)]
    assert len({s.company for s in scenarios}) >= 8
    assert len({s.primary_region for s in scenarios}) >= 3
    assert len({r for s in scenarios for r in s.unused_regions}) >= 10
    types = {g.instance_type for s in scenarios for g in (*s.attacker.instances, *s.attacker.spot_requests)}
    assert len({t.split(".")[0] for t in types}) >= 6
    assert all(t.split(".")[0] in ACCELERATED_FAMILIES for t in types)
    assert len({s.attacker.user_name for s in scenarios}) >= 5
    assert len({s.baseline.ci_user for s in scenarios}) >= 5
    assert {s.attacker.custom_policy is None for s in scenarios} == {True, False}
    assert {s.attacker.recon for s in scenarios} == {True, False}
    assert any(sg.region in s.home_regions for s in scenarios for sg in s.attacker.security_groups)
    assert any(kp.region in s.home_regions for s in scenarios for kp in s.attacker.key_pairs)
    assert any(kp.region not in s.home_regions for s in scenarios for kp in s.attacker.key_pairs)
    for s in scenarios:
        assert 2 <= len(s.unused_regions) <= 4
        assert s.attacker.external_account_id != "123456789012"


# -- seeded scenarios ----------------------------------------------------------------------------


def test_seeded_invariants_hold(case: Case) -> None:
    assert check_seeded(case.server, case.scenario, case.seeded, factory=case.factory) == []
    truth = case.seeded
    assert truth.attacker_regions == case.scenario.unused_regions
    assert len(truth.attacker_regions) >= 2
    kinds = Counter(a.type for a in truth.attacker_artefacts)
    for kind in (
        "AWS::IAM::User",
        "AWS::IAM::AccessKey",
        "AWS::IAM::Role",
        "AWS::EC2::Instance",
        "AWS::EC2::SpotInstanceRequest",
        "AWS::EC2::KeyPair",
        "AWS::EC2::SecurityGroup",
        "AWS::Lambda::Function",
    ):
        assert kinds[kind] >= 1, kind
    assert not {(a.type, a.id, a.region) for a in truth.attacker_artefacts} & {
        (a.type, a.id, a.region) for a in truth.legitimate_artefacts
    }


def test_attacker_iam(case: Case) -> None:
    iam, spec = case.client("iam"), case.scenario.attacker
    user = spec.user_name
    attached = {p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]}
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in attached
    assert iam.get_login_profile(UserName=user)["LoginProfile"]["UserName"] == user
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []
    keys = [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]
    assert keys == [a.id for a in case.seeded.attacker_of("AWS::IAM::AccessKey")]
    trust = iam.get_role(RoleName=spec.backdoor_role)["Role"]["AssumeRolePolicyDocument"]
    text = json.dumps(trust)
    assert f"arn:aws:iam::{spec.external_account_id}:root" in text
    assert case.seeded.account_id not in text
    if spec.custom_policy:
        (policy,) = case.seeded.attacker_of("AWS::IAM::ManagedPolicy")
        version = iam.get_policy(PolicyArn=policy.id)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=policy.id, VersionId=version)["PolicyVersion"]["Document"]
        document = json.loads(document) if isinstance(document, str) else document
        assert document["Statement"][0]["Action"] == "*"
    # The admin is legitimate and protected by MFA; the CI user keeps its one key.
    assert iam.list_mfa_devices(UserName=case.scenario.baseline.admin_user)["MFADevices"]
    ci_keys = iam.list_access_keys(UserName=case.seeded.compromised_user)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in ci_keys] == [case.seeded.compromised_access_key_id]


def test_attacker_ec2_and_lambda(case: Case) -> None:
    spec, truth = case.scenario.attacker, case.seeded
    expected_protected = 0
    for region in spec.regions:
        ec2 = case.client("ec2", region)
        ids = [a.id for a in truth.attacker_of("AWS::EC2::Instance") if a.region == region]
        described = (
            [i for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]] if ids else []
        )
        expected_types = sorted(
            [g.instance_type for g in spec.instances if g.region == region for _ in range(g.count)]
            + [s.instance_type for s in spec.spot_requests if s.region == region]
        )
        assert sorted(i["InstanceType"] for i in described) == expected_types, region
        expected_protected += sum(g.count for g in spec.instances if g.region == region and g.termination_protection)
        for instance in described:
            protected = ec2.describe_instance_attribute(
                InstanceId=instance["InstanceId"], Attribute="disableApiTermination"
            )["DisableApiTermination"]["Value"]
            assert protected is (instance["InstanceId"] in truth.termination_protected)
            assert instance["BlockDeviceMappings"], "evidence snapshots need volumes"
        for group in (a for a in truth.attacker_of("AWS::EC2::SecurityGroup") if a.region == region):
            (sg,) = ec2.describe_security_groups(GroupIds=[group.id])["SecurityGroups"]
            assert any(r.get("CidrIp") == "0.0.0.0/0" for p in sg["IpPermissions"] for r in p.get("IpRanges", []))
            assert any(group.id in {g["GroupId"] for g in i["SecurityGroups"]} for i in described)
        pairs = {p["KeyName"] for p in ec2.describe_key_pairs()["KeyPairs"]}
        assert pairs == {k.name for k in spec.key_pairs if k.region == region}
        for function in (f for f in spec.lambda_functions if f.region == region):
            configuration = case.client("lambda", region).get_function(FunctionName=function.name)["Configuration"]
            assert configuration["Role"].endswith(f":role/{function.role_name}")
    assert len(truth.termination_protected) == expected_protected >= 1

    assert len(truth.spot_instances) == len(spec.spot_requests)
    for request_id, instance_id in truth.spot_instances.items():
        region = next(a.region for a in truth.attacker_of("AWS::EC2::SpotInstanceRequest") if a.id == request_id)
        (request,) = case.client("ec2", region).describe_spot_instance_requests(SpotInstanceRequestIds=[request_id])[
            "SpotInstanceRequests"
        ]
        assert request["Type"] == "persistent"
        assert request["InstanceId"] == instance_id
        assert any(a.id == instance_id for a in truth.attacker_of("AWS::EC2::Instance"))

    status = case.client("cloudtrail", truth.trail_region).get_trail_status(Name=truth.trail_name)
    assert status["IsLogging"] is False


def test_timeline_splits_at_incident_start(case: Case) -> None:
    start, iam = case.seeded.incident_start, case.client("iam")
    assert start.tzinfo is not None and start.microsecond == 0

    def created(kind: str, ident: str, region: str, name: str) -> datetime | None:
        if kind == "AWS::IAM::User":
            return _time(iam.get_user(UserName=ident)["User"]["CreateDate"])
        if kind == "AWS::IAM::Role":
            return _time(iam.get_role(RoleName=ident)["Role"]["CreateDate"])
        if kind == "AWS::IAM::ManagedPolicy":
            return _time(iam.get_policy(PolicyArn=ident)["Policy"]["CreateDate"])
        if kind == "AWS::IAM::AccessKey":
            keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
            return _time(next(k for k in keys if k["AccessKeyId"] == ident)["CreateDate"])
        if kind == "AWS::EC2::Instance":
            reservations = case.client("ec2", region).describe_instances(InstanceIds=[ident])["Reservations"]
            return _time(reservations[0]["Instances"][0]["LaunchTime"])
        if kind == "AWS::EC2::KeyPair":
            return _time(case.client("ec2", region).describe_key_pairs(KeyNames=[ident])["KeyPairs"][0]["CreateTime"])
        if kind == "AWS::Lambda::Function":
            return _time(
                case.client("lambda", region).get_function(FunctionName=ident)["Configuration"]["LastModified"]
            )
        return None

    checked = 0
    for artefact in case.seeded.attacker_artefacts:
        when = created(artefact.type, artefact.id, artefact.region, artefact.name)
        if when is not None:
            assert when > start, artefact
            checked += 1
    for artefact in case.seeded.legitimate_artefacts:
        when = created(artefact.type, artefact.id, artefact.region, artefact.name)
        if when is not None:
            assert when < start, artefact
            checked += 1
    assert checked >= 10

    last = iam.get_access_key_last_used(AccessKeyId=case.seeded.compromised_access_key_id)["AccessKeyLastUsed"]
    assert _time(last["LastUsedDate"]) > start


def test_ground_truth_is_complete(case: Case) -> None:
    """Everything in the emulator is in exactly one of the two lists (nothing more, nothing less)."""
    truth = case.seeded
    listed = {(a.type, a.id, a.region) for a in (*truth.attacker_artefacts, *truth.legitimate_artefacts)}
    found: set[tuple[str, str, str]] = set()
    iam = case.client("iam")
    users = [u["UserName"] for u in iam.list_users()["Users"]]
    found |= {("AWS::IAM::User", u, "global") for u in users}
    found |= {
        ("AWS::IAM::AccessKey", k["AccessKeyId"], "global")
        for u in users
        for k in iam.list_access_keys(UserName=u)["AccessKeyMetadata"]
    }
    found |= {("AWS::IAM::Role", r["RoleName"], "global") for r in iam.list_roles()["Roles"]}
    found |= {("AWS::IAM::ManagedPolicy", p["Arn"], "global") for p in iam.list_policies(Scope="Local")["Policies"]}
    found |= {
        ("AWS::IAM::InstanceProfile", p["InstanceProfileName"], "global")
        for p in iam.list_instance_profiles()["InstanceProfiles"]
    }
    found |= {
        ("AWS::IAM::VirtualMFADevice", d["SerialNumber"], "global")
        for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]
    }
    for region in case.regions:
        ec2 = case.client("ec2", region)
        found |= {
            ("AWS::EC2::Instance", i["InstanceId"], region)
            for r in ec2.describe_instances()["Reservations"]
            for i in r["Instances"]
        }
        found |= {("AWS::EC2::KeyPair", p["KeyName"], region) for p in ec2.describe_key_pairs()["KeyPairs"]}
        found |= {
            ("AWS::EC2::SecurityGroup", g["GroupId"], region)
            for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["GroupName"] != "default"
        }
        found |= {
            ("AWS::EC2::SpotInstanceRequest", s["SpotInstanceRequestId"], region)
            for s in ec2.describe_spot_instance_requests()["SpotInstanceRequests"]
        }
        found |= {("AWS::EC2::Snapshot", s["SnapshotId"], region) for s in ec2.describe_snapshots()["Snapshots"]}
        found |= {
            ("AWS::Lambda::Function", f["FunctionName"], region)
            for f in case.client("lambda", region).list_functions()["Functions"]
        }
        found |= {
            ("AWS::GuardDuty::Detector", d, region)
            for d in case.client("guardduty", region).list_detectors()["DetectorIds"]
        }
    found |= {("AWS::S3::Bucket", b["Name"], truth.trail_region) for b in case.client("s3").list_buckets()["Buckets"]}
    found |= {
        ("AWS::CloudTrail::Trail", t["TrailARN"], t["HomeRegion"])
        for t in case.client("cloudtrail", truth.trail_region).describe_trails()["trailList"]
    }
    assert found == listed


def test_cloudtrail_delivery_and_consistency(case: Case) -> None:
    truth = case.seeded
    s3 = case.client("s3", truth.trail_region)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=truth.trail_bucket)["Contents"]]
    assert sorted(keys) == sorted(truth.cloudtrail_keys)
    for key in keys:
        match = KEY_PATTERN.match(key)
        assert match, key
        assert match["acct"] == truth.account_id
        assert match["stamp"].startswith(match["y"] + match["m"] + match["d"])
    records = case.records
    assert len(records) == truth.cloudtrail_record_count
    assert len({r["eventID"] for r in records}) == len(records)
    start = truth.incident_start
    ci_key = truth.compromised_access_key_id
    attacker_records = [r for r in records if r["sourceIPAddress"] in truth.attacker_ips]
    assert attacker_records
    for record in records:
        assert record["eventVersion"] == "1.08" and UUID4.match(record["eventID"])
        assert record["recipientAccountId"] == truth.account_id
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", record["eventTime"])
        when = _time(record["eventTime"])
        if record in attacker_records:
            assert when > start
        else:
            assert when < start
    for record in attacker_records:
        identity = record["userIdentity"]
        if record["eventName"] == "ConsoleLogin":
            assert identity["userName"] == truth.attacker_user
            assert record["additionalEventData"]["MFAUsed"] == "No"
            continue
        assert identity["type"] == "IAMUser"
        assert identity["accessKeyId"] == ci_key
        assert identity["userName"] == truth.compromised_user
        assert record["userAgent"] == truth.attacker_user_agent
    names = Counter(r["eventName"] for r in attacker_records)
    for required in ("GetCallerIdentity", "CreateUser", "CreateAccessKey", "CreateLoginProfile", "ConsoleLogin",
                     "CreateRole", "RunInstances", "ModifyInstanceAttribute", "RequestSpotInstances",
                     "CreateKeyPair", "CreateSecurityGroup", "AuthorizeSecurityGroupIngress",
                     "CreateFunction20150331", "StopLogging"):  # fmt: skip
        assert names[required] >= 1, required
    stop = next(r for r in attacker_records if r["eventName"] == "StopLogging")
    assert stop["awsRegion"] == truth.trail_region and stop["requestParameters"] == {"name": truth.trail_name}

    # Every attacker artefact's id appears in the attacker's records, where the call returned it.
    attacker_text = json.dumps(attacker_records)
    for artefact in truth.attacker_artefacts:
        if artefact.id in truth.spot_instances.values():
            continue  # launched by EC2 for the spot request, not by an API call of the attacker
        assert json.dumps(artefact.id) in attacker_text, artefact
    for record in attacker_records:
        if record["eventName"] == "ModifyInstanceAttribute":
            assert record["requestParameters"]["instanceId"] in truth.termination_protected
    # Secrets never reach the log.
    all_text = json.dumps(records)
    assert truth.compromised_secret_access_key.get_secret_value() not in all_text
    assert "SecretAccessKey" not in all_text and "Base32StringSeed" not in all_text


def test_cost_explorer_curve(case: Case) -> None:
    ce = case.client("ce")
    today = datetime.now(case.seeded.incident_start.tzinfo).date()
    query: dict[str, Any] = {
        "TimePeriod": {
            "Start": (today - timedelta(days=30)).isoformat(),
            "End": (today + timedelta(days=1)).isoformat(),
        },
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
    }
    by_service = ce.get_cost_and_usage(GroupBy=[SERVICE_QUERY], **query)["ResultsByTime"]
    by_region = ce.get_cost_and_usage(GroupBy=[REGION_QUERY], **query)["ResultsByTime"]
    assert len(by_service) == len(by_region) == 31

    def totals(days: list[dict[str, Any]]) -> dict[str, float]:
        return {
            d["TimePeriod"]["Start"]: sum(float(g["Metrics"]["UnblendedCost"]["Amount"]) for g in d["Groups"])
            for d in days
        }

    services, regions = totals(by_service), totals(by_region)
    assert services.keys() == regions.keys()
    for day, amount in services.items():
        assert amount == pytest.approx(regions[day], abs=0.01)
    incident_day = case.seeded.incident_start.date().isoformat()
    quiet = [amount for day, amount in services.items() if day < incident_day]
    assert services[incident_day] > 3 * max(quiet)
    spike_regions = {g["Keys"][0] for d in by_region if d["TimePeriod"]["Start"] == incident_day for g in d["Groups"]}
    assert set(case.seeded.attacker_regions) <= spike_regions


def test_seeded_scenario_serialises_without_the_secret(case: Case) -> None:
    text = case.seeded.model_dump_json()
    assert case.seeded.compromised_secret_access_key.get_secret_value() not in text
    again = SeededScenario.model_validate_json(text)
    assert again.attacker_artefacts == case.seeded.attacker_artefacts
    assert again.incident_start == case.seeded.incident_start


# -- the record builder ----------------------------------------------------------------------------


def test_cloudtrail_record_builder() -> None:
    identity = iam_user_identity(
        account_id="123456789012", user_name="ci", principal_id="AIDAEXAMPLE", access_key_id="AKIAEXAMPLE"
    )
    record = cloudtrail_record(
        event_time=datetime(2026, 1, 2, 3, 4, 5, 678000).astimezone(),
        event_source="ec2.amazonaws.com",
        event_name="DescribeInstances",
        aws_region="eu-west-1",
        user_identity=identity,
        source_ip="203.0.113.9",
        user_agent="aws-cli/2",
    )
    assert record["readOnly"] is True and record["eventType"] == "AwsApiCall"
    assert record["managementEvent"] is True and record["recipientAccountId"] == "123456789012"
    assert record["userIdentity"]["accessKeyId"] == "AKIAEXAMPLE"
    assert UUID4.match(record["eventID"]) and record["eventVersion"] == "1.08"
    assert record["eventTime"].endswith("Z") and "." not in record["eventTime"]
    key = delivery_key("123456789012", "eu-west-1", _time("2026-01-02T03:10:00Z"))
    assert KEY_PATTERN.match(key)
    assert "/2026/01/02/" in key and "_20260102T0310Z_" in key
