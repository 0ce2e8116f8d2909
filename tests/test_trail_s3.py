"""CloudTrail from S3: the delivery layouts, pruning by the date in the key, damage named."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.errors import UsageError
from awsrespond.trail.events import EventStore
from awsrespond.trail.s3 import S3Location, S3TrailSource, window_days

BUCKET = "trail-logs-4417"
ACCOUNT = "210987654321"


def key(root: str, region: str, day: str, name: str) -> str:
    return f"{root}CloudTrail/{region}/{day}/{ACCOUNT}_CloudTrail_{region}_{name}.json.gz"


def body(*events: tuple[str, str]) -> bytes:
    records = [{"eventID": eid, "eventTime": when, "eventName": "RunInstances"} for eid, when in events]
    return gzip.compress(json.dumps({"Records": records}).encode())


@pytest.fixture
def bucket() -> Iterator[ClientFactory]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        own = f"logs/AWSLogs/{ACCOUNT}/"
        org = f"logs/AWSLogs/o-abc123/{ACCOUNT}/"
        objects = {
            key(own, "sa-east-1", "2026/11/18", "a"): body(("old", "2026-11-18T10:00:00Z")),
            key(own, "sa-east-1", "2026/11/19", "b"): body(("late", "2026-11-20T00:05:00Z")),  # delivered late
            key(own, "sa-east-1", "2026/11/20", "c"): body(("in1", "2026-11-20T09:00:00Z")),
            key(org, "eu-west-1", "2026/11/21", "d"): body(
                ("in2", "2026-11-21T09:00:00Z"), ("in1", "2026-11-20T09:00:00Z")  # in1 also in c: counted once
            ),
            key(own, "us-east-1", "2026/11/22", "e"): b"\x1f\x8b not really gzip",
            f"logs/AWSLogs/{ACCOUNT}/CloudTrail-Digest/sa-east-1/2026/11/20/digest.json.gz": body(
                ("x", "2026-11-20T00:00:00Z")
            ),
        }
        for k, data in objects.items():
            s3.put_object(Bucket=BUCKET, Key=k, Body=data)
        yield ClientFactory(session=session)


def test_window_starts_the_day_before() -> None:
    days = window_days(datetime(2026, 11, 20, 8, tzinfo=UTC), datetime(2026, 11, 21, 1, tzinfo=UTC))
    assert [d.isoformat() for d in days] == ["2026-11-19", "2026-11-20", "2026-11-21"]


def test_prunes_by_date_path_in_both_layouts(bucket: ClientFactory) -> None:
    source = S3TrailSource(bucket, S3Location.parse(f"s3://{BUCKET}/logs"))
    listing = source.find_objects(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 21, 23, tzinfo=UTC))
    assert sorted(k.rsplit("_", 1)[1] for k in listing.keys) == ["b.json.gz", "c.json.gz", "d.json.gz"]
    store = EventStore()
    report = store.load(source.read(listing.keys))
    assert store.count() == 3 and report.duplicates == 1 and not report.problems
    fetched = [c for c in bucket.calls if c.operation == "GetObject"]
    assert len(fetched) == 3  # nothing outside the window was downloaded


def test_everything_without_a_window_and_damage_is_named(bucket: ClientFactory) -> None:
    source = S3TrailSource(bucket, S3Location.parse(f"s3://{BUCKET}/"))
    listing = source.find_objects(None)
    assert len(listing.keys) == 5  # digests left out
    report = EventStore().load(source.read(listing.keys))
    [problem] = report.problems
    assert problem.path.endswith("_e.json.gz") and problem.path.startswith("s3://") and "cannot read" in problem.message


def test_pointing_inside_a_trail_folder(bucket: ClientFactory) -> None:
    source = S3TrailSource(bucket, S3Location.parse(f"s3://{BUCKET}/logs/AWSLogs/{ACCOUNT}/CloudTrail/sa-east-1/"))
    listing = source.find_objects(datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 19, 12, tzinfo=UTC))
    assert sorted(k.rsplit("_", 1)[1] for k in listing.keys) == ["a.json.gz", "b.json.gz"]


def test_missing_bucket_and_bad_urls(bucket: ClientFactory, tmp_path: Path) -> None:
    listing = S3TrailSource(bucket, S3Location.parse("s3://no-such-bucket-9/x")).find_objects(None)
    assert not listing.keys and "NoSuchBucket" in listing.problems[0].message
    with pytest.raises(UsageError):
        S3Location.parse("https://example.com/x")
