"""Which sources hunt reads: SOURCE arguments, the account's trail bucket, or LookupEvents and why."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.case.workspace import Case
from awsrespond.coverage import GapKind
from awsrespond.errors import UsageError
from awsrespond.policies import readonly_policy_document
from awsrespond.trail.discover import SourcePlan, parse_sources, resolve_sources
from awsrespond.trail.events import EventStore
from awsrespond.trail.s3 import S3Location, S3TrailSource
from tests.faults import Fault, FaultyFactory

REGIONS = ["us-east-1", "eu-central-1", "ap-northeast-3"]


def log_object(region: str, event_id: str) -> bytes:
    record = {"eventID": event_id, "eventTime": "2026-11-03T08:15:00Z", "eventName": "CreateAccessKey",
              "eventSource": "iam.amazonaws.com", "awsRegion": region}
    return gzip.compress(json.dumps({"Records": [record]}).encode())


@dataclass
class Account:
    session: boto3.Session
    id: str

    def factory(self, *faults: Fault) -> FaultyFactory:
        return FaultyFactory(session=self.session, max_attempts=1, faults=list(faults))

    def trail(self, name: str, bucket: str, prefix: str | None = None, *, layout: str = "", logging: bool = True,
              logs: bool = True) -> str:
        """A trail and its bucket; ``layout`` is the part between AWSLogs/ and the account (org id)."""
        s3 = self.session.client("s3")
        s3.create_bucket(Bucket=bucket)
        cloudtrail = self.session.client("cloudtrail")
        kwargs = {"S3KeyPrefix": prefix} if prefix else {}
        cloudtrail.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=True, **kwargs)
        if logging:
            cloudtrail.start_logging(Name=name)
        root = f"{prefix}/AWSLogs/{layout}{self.id}/" if prefix else f"AWSLogs/{layout}{self.id}/"
        if logs:
            s3.put_object(Bucket=bucket, Key=f"{root}CloudTrail-Digest/sa-east-1/2026/11/03/d.json.gz", Body=b"{}")
            for n, region in enumerate(("sa-east-1", "us-east-1")):
                key = f"{root}CloudTrail/{region}/2026/11/03/{self.id}_CloudTrail_{region}_{n}.json.gz"
                s3.put_object(Bucket=bucket, Key=key, Body=log_object(region, f"{name}-{n}"))
        return root


@pytest.fixture
def account() -> Iterator[Account]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        yield Account(session, session.client("sts").get_caller_identity()["Account"])


def resolve(account: Account, factory: ClientFactory, case: Case | None = None,
            arguments: tuple[str, ...] = ()) -> SourcePlan:
    return resolve_sources(parse_sources(arguments), factory, account_id=account.id, case=case, regions=REGIONS)


def test_arguments_are_paths_s3_locations_or_lookup(tmp_path: Path) -> None:
    plan = parse_sources([str(tmp_path / "logs"), "s3://ct-bucket-3/org/AWSLogs/", "lookup", "s3://ct-bucket-3/org/AWSLogs/",
                          "lookups"])
    assert plan.files == [tmp_path / "logs", Path("lookups")]
    assert plan.s3 == [S3Location("ct-bucket-3", "org/AWSLogs/")]
    assert plan.lookup and plan.needs_aws and not plan.empty
    assert not parse_sources([str(tmp_path)]).needs_aws  # reading files needs no credentials
    assert parse_sources([]).empty and parse_sources([]).needs_aws
    with pytest.raises(UsageError, match="s3://"):
        parse_sources(["s3://"])


def test_a_trail_bucket_becomes_the_source(account: Account) -> None:
    root = account.trail("mgmt-events", "ct-logs-a81f", "trail/x")
    factory = account.factory()
    plan = resolve(account, factory)
    assert plan.discovered and not plan.lookup and not plan.gaps
    assert plan.s3 == [S3Location("ct-logs-a81f", root)]
    assert any("mgmt-events" in n and "s3://ct-logs-a81f/trail/x/AWSLogs/" in n for n in plan.notes)
    store = EventStore()
    source = S3TrailSource(factory, plan.s3[0])
    store.load(source.read(source.find_objects(None).keys))
    assert store.count() == 2


def test_organization_layout_is_found_for_this_account(account: Account) -> None:
    root = account.trail("org-trail", "org-archive-5d2", layout="o-7hq2kd91xz/")
    plan = resolve(account, account.factory())
    assert plan.s3 == [S3Location("org-archive-5d2", root)] and root.startswith("AWSLogs/o-7hq2kd91xz/")


def test_two_trails_into_one_bucket_are_read_once(account: Account) -> None:
    account.trail("first", "shared-ct-9")
    account.session.client("cloudtrail").create_trail(Name="second", S3BucketName="shared-ct-9")
    plan = resolve(account, account.factory())
    [bucket] = plan.buckets
    assert sorted(name.rsplit("/", 1)[-1] for name in bucket.trails) == ["first", "second"]


def test_no_trail_falls_back_to_lookup_in_every_enabled_region(account: Account) -> None:
    plan = resolve(account, account.factory())
    assert plan.lookup and plan.lookup_regions == REGIONS and not plan.s3
    assert any("no CloudTrail trail" in n for n in plan.notes)
    assert plan.describe() == [f"LookupEvents: {', '.join(REGIONS)}"]


def test_all_regions_when_none_are_named(account: Account) -> None:
    plan = resolve_sources(SourcePlan(), account.factory(), account_id=account.id)
    assert plan.lookup and len(plan.lookup_regions) > 10 and "eu-central-1" in plan.lookup_regions


@pytest.mark.parametrize(("operation", "action"), [("ListObjectsV2", "s3:ListBucket"), ("GetObject", "s3:GetObject")])
def test_a_denied_bucket_falls_back_to_lookup_and_says_why(account: Account, operation: str, action: str) -> None:
    account.trail("audit", "logarchive-bucket-64")
    plan = resolve(account, account.factory(Fault("s3", operation, None, "AccessDenied", 403)))
    assert plan.lookup and plan.lookup_regions == REGIONS and not plan.s3
    [gap] = plan.gaps
    assert (gap.kind, gap.scope) == (GapKind.ACCESS_DENIED, action) and "logarchive-bucket-64" in gap.message
    [why] = [n for n in plan.notes if "cannot read" in n]
    assert "AccessDenied" in why and "another account" in why and action in why
    assert any("LookupEvents API instead" in n for n in plan.notes)


def test_a_bucket_without_this_accounts_logs_falls_back(account: Account) -> None:
    account.trail("fresh", "new-trail-bucket-1", logs=False)
    plan = resolve(account, account.factory())
    assert plan.lookup and any("holds no CloudTrail logs" in n for n in plan.notes)


def test_a_stopped_trail_is_said(account: Account) -> None:
    account.trail("quiet", "stopped-trail-22", logging=False)
    plan = resolve(account, account.factory())
    assert plan.s3 and any("quiet is not logging" in n and "'lookup'" in n for n in plan.notes)


def test_describe_trails_denied_is_a_gap_and_lookup_is_used(account: Account) -> None:
    account.trail("hidden", "hidden-ct-3")
    plan = resolve(account, account.factory(Fault("cloudtrail", "DescribeTrails", None, "AccessDeniedException")))
    assert plan.lookup and [(g.scope, g.kind) for g in plan.gaps] == [("cloudtrail:DescribeTrails",
                                                                      GapKind.ACCESS_DENIED)]


def test_the_case_inventory_names_the_trails(account: Account, tmp_path: Path) -> None:
    account.trail("from-triage", "triage-known-ct", "p")
    case = Case.create(tmp_path / "case", account_id=account.id, caller_arn="arn:aws:iam::1:user/x")
    item = {"type": "AWS::CloudTrail::Trail", "id": "arn:aws:cloudtrail:us-east-1:1:trail/from-triage",
            "region": "us-east-1", "data": {"name": "from-triage", "s3_bucket": "triage-known-ct",
                                            "s3_key_prefix": "p", "is_logging": True}}
    case.write_json("triage.json", {"inventory": {"AWS::CloudTrail::Trail": [item]}})
    factory = account.factory()
    plan = resolve(account, factory, case)
    assert plan.s3 == [S3Location("triage-known-ct", f"p/AWSLogs/{account.id}/")]
    assert not [c for c in factory.calls if c.service == "cloudtrail"]


def test_explicit_sources_are_not_second_guessed(account: Account, tmp_path: Path) -> None:
    account.trail("ignored", "ignored-bucket-8")
    factory = account.factory()
    plan = resolve(account, factory, arguments=(str(tmp_path), "lookup"))
    assert not plan.discovered and not plan.s3 and plan.lookup_regions == REGIONS
    assert not [c for c in factory.calls if c.service in ("cloudtrail", "s3")]


def test_discovery_stays_within_the_shipped_policy(account: Account) -> None:
    account.trail("audited", "audited-bucket-4", "a/b")
    factory = account.factory()
    resolve(account, factory)
    account.trail("other", "other-bucket-5")
    resolve(account, account.factory(Fault("s3", "GetObject", None, "AccessDenied", 403)))
    allowed = {action for statement in readonly_policy_document()["Statement"] for action in statement["Action"]}
    used = {call.iam_action for call in factory.calls}
    # ListObjectsV2 is authorised by s3:ListBucket.
    used = {"s3:ListBucket" if action == "s3:ListObjectsV2" else action for action in used}
    assert used <= allowed, sorted(used - allowed)


def test_the_policy_grants_reading_only_the_named_trail_buckets() -> None:
    [_, shipped] = readonly_policy_document()["Statement"]
    assert shipped["Resource"] == ["arn:aws:s3:::TRAIL-BUCKET-NAME", "arn:aws:s3:::TRAIL-BUCKET-NAME/*"]
    [everywhere, buckets] = readonly_policy_document(["ct-a-41", "ct-b-07", "ct-a-41"])["Statement"]
    assert buckets["Resource"] == ["arn:aws:s3:::ct-a-41", "arn:aws:s3:::ct-a-41/*",
                                   "arn:aws:s3:::ct-b-07", "arn:aws:s3:::ct-b-07/*"]
    assert sorted(buckets["Action"]) == ["s3:GetObject", "s3:ListBucket"]
    # No S3 data on every bucket; the account-level Block Public Access setting (harden) is not bucket data.
    assert not any(a.startswith("s3:") for a in everywhere["Action"] if a != "s3:GetAccountPublicAccessBlock")
    assert "cloudtrail:LookupEvents" in everywhere["Action"]
