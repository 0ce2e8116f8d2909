"""Triage through the library against moto in-process: read-only, least privilege, failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import jsonschema
import pytest
from moto import mock_aws

from awsrespond.aws.identity import whoami
from awsrespond.case.workspace import Case, EvidenceStore
from awsrespond.coverage import GapKind
from awsrespond.inventory.base import CollectContext, Collector
from awsrespond.inventory.ec2 import KeyPairs
from awsrespond.inventory.sweep import sweep
from awsrespond.policies import readonly_actions, readonly_policy_document, shipped_readonly_policy
from awsrespond.schemas import generate, shipped
from awsrespond.triage import TriageOptions, TriageResult, run_triage
from tests.faults import Fault, FaultyFactory

REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-2"]
READ_PREFIXES = ("Describe", "List", "Get", "Generate", "Lookup")


@pytest.fixture
def account() -> Iterator[boto3.Session]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        iam = session.client("iam")
        iam.create_user(UserName="ops")
        iam.create_access_key(UserName="ops")
        iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps({"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        for region in REGIONS:
            ec2 = session.client("ec2", region_name=region)
            ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.small")
            ec2.create_key_pair(KeyName=f"kp-{region}")
        s3 = session.client("s3")
        s3.create_bucket(Bucket="trail-bucket-x")
        trail = session.client("cloudtrail")
        trail.create_trail(Name="main", S3BucketName="trail-bucket-x", IsMultiRegionTrail=True)
        trail.start_logging(Name="main")
        yield session


def run(session: boto3.Session, tmp_path: Path, faults: list[Fault] | None = None,
        regions: list[str] | None = None) -> tuple[TriageResult, FaultyFactory]:
    factory = FaultyFactory(session=session, max_attempts=2, faults=faults or [])
    identity = whoami(factory)
    case = Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)
    options = TriageOptions(regions=regions or REGIONS, since=datetime(2020, 1, 1, tzinfo=UTC))
    return run_triage(factory, identity, case, options), factory


def test_triage_only_reads_and_stays_within_the_shipped_policy(account: boto3.Session, tmp_path: Path) -> None:
    result, factory = run(account, tmp_path)
    operations = {call.operation for call in factory.calls}
    writes = sorted(op for op in operations if not op.startswith(READ_PREFIXES))
    assert not writes, f"triage called non-read operations: {writes}"
    allowed = set(shipped_readonly_policy()["Statement"][0]["Action"])
    used = {call.iam_action for call in factory.calls}
    assert used <= allowed, f"missing from the shipped read-only policy: {sorted(used - allowed)}"
    assert result.findings and result.regions == REGIONS


def test_shipped_policy_matches_the_collectors_declarations() -> None:
    assert shipped_readonly_policy() == readonly_policy_document()
    assert all(":" in action and "*" not in action for action in readonly_actions())


@pytest.mark.parametrize("name", ["finding", "findings-file", "triage", "case", "evidence-index"])
def test_shipped_schemas_match_the_models(name: str) -> None:
    assert shipped(name) == generate(name), "run: python -m awsrespond.schemas"


def test_case_files_validate_against_the_shipped_schemas(account: boto3.Session, tmp_path: Path) -> None:
    result, _ = run(account, tmp_path)
    root = tmp_path / "case"
    for name, file in (("triage", "triage.json"), ("findings-file", "findings.json"), ("case", "case.json"),
                       ("evidence-index", "evidence/index.json")):
        jsonschema.validate(json.loads((root / file).read_text()), shipped(name))
    for finding in result.findings:
        for ref in finding.evidence:
            assert (root / ref.file).is_file(), ref.file


def test_access_denied_in_one_region_is_a_gap_and_the_rest_goes_on(account: boto3.Session, tmp_path: Path) -> None:
    faults = [Fault("ec2", "DescribeInstances", "eu-west-1", "UnauthorizedOperation", 403)]
    result, _ = run(account, tmp_path, faults)
    denied = [g for g in result.coverage if g.kind is GapKind.ACCESS_DENIED]
    assert [(g.region, "DescribeInstances" in g.scope) for g in denied] == [("eu-west-1", True)]
    regions_with_instances = {i.region for i in result.inventory.of("AWS::EC2::Instance")}
    assert regions_with_instances == {"us-east-1", "ap-northeast-2"}
    assert {i.region for i in result.inventory.of("AWS::EC2::KeyPair")} == set(REGIONS)
    assert result.partial


def test_region_that_is_not_enabled_is_coverage_not_error(account: boto3.Session, tmp_path: Path) -> None:
    faults = [Fault(svc, "*", "ap-northeast-2", "AuthFailure" if svc == "ec2" else "UnrecognizedClientException",
                    401) for svc in ("ec2", "lambda", "cloudtrail", "guardduty", "autoscaling")]
    result, _ = run(account, tmp_path, faults)
    assert result.not_enabled == ["ap-northeast-2"]
    assert [g.region for g in result.coverage if g.kind is GapKind.NOT_ENABLED] == ["ap-northeast-2"]
    assert not result.partial
    assert "ap-northeast-2" not in result.regions


def test_unreachable_region_and_throttling_are_named(account: boto3.Session, tmp_path: Path) -> None:
    faults = [Fault("lambda", "ListFunctions", "eu-west-1", "unreachable"),
              Fault("ec2", "DescribeKeyPairs", "us-east-1", "RequestLimitExceeded", 503)]
    result, _ = run(account, tmp_path, faults)
    gaps = {(g.kind, g.region): g for g in result.coverage}
    assert "ListFunctions" in gaps[(GapKind.UNREACHABLE, "eu-west-1")].scope
    assert "DescribeKeyPairs" in gaps[(GapKind.THROTTLED, "us-east-1")].scope
    assert {i.region for i in result.inventory.of("AWS::EC2::KeyPair")} == {"eu-west-1", "ap-northeast-2"}
    assert result.inventory.of("AWS::IAM::User")


def test_cost_explorer_not_enabled_is_a_clear_gap(account: boto3.Session, tmp_path: Path) -> None:
    faults = [Fault("ce", "GetCostAndUsage", None, "AccessDeniedException", 400)]
    result, _ = run(account, tmp_path, faults)
    [gap] = [g for g in result.coverage if g.scope.startswith("billing")]
    assert gap.kind is GapKind.ACCESS_DENIED and "ce:GetCostAndUsage" in gap.message


def test_a_service_not_enabled_in_one_region_does_not_hide_the_region(account: boto3.Session, tmp_path: Path) -> None:
    faults = [Fault("guardduty", "*", "eu-west-1", "UnrecognizedClientException", 403)]
    result, _ = run(account, tmp_path, faults)
    assert "eu-west-1" in result.regions and not result.not_enabled
    [gap] = [g for g in result.coverage if g.kind is GapKind.NOT_ENABLED]
    assert gap.region == "eu-west-1" and "guardduty" in gap.scope
    assert "eu-west-1" in {i.region for i in result.inventory.of("AWS::EC2::Instance")}


def test_an_unexpected_response_shape_is_a_gap_not_a_crash(tmp_path: Path) -> None:
    """A collector that meets an answer it cannot read reports it by name; the others go on."""
    class Broken(Collector):
        name = "test.broken"
        scope = "regional"
        resource_types = ("AWS::Test::Thing",)
        permissions = ("ec2:DescribeKeyPairs",)

        def collect(self, ctx: CollectContext) -> None:
            ctx.client("ec2").describe_key_pairs()["NoSuchKey"]

    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.client("ec2", region_name="eu-west-1").create_key_pair(KeyName="k")
        factory = FaultyFactory(session=session)
        result = sweep(factory, account_id="123456789012", partition="aws", regions=["eu-west-1"],
                       evidence=EvidenceStore(tmp_path / "evidence"), collectors=[Broken, KeyPairs])
    [gap] = [g for g in result.gaps if g.scope == "test.broken"]
    assert gap.kind is GapKind.ERROR and gap.region == "eu-west-1" and "NoSuchKey" in gap.message
    assert [i.id for i in result.inventory.of("AWS::EC2::KeyPair")] == ["k"]
