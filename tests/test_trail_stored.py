"""The case's event store: a second run reads nothing it already holds; changes are read again."""

from __future__ import annotations

import gzip
import json
import os
import stat
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.case.workspace import Case
from awsrespond.trail import ingest as ingest_module
from awsrespond.trail.events import EventStore
from awsrespond.trail.lookup import DELIVERY_LAG, LookupSource
from awsrespond.trail.s3 import S3Location, S3TrailSource
from awsrespond.trail.stored import (
    S3Object,
    SourceLedger,
    case_store_path,
    load_files,
    load_lookup,
    load_s3,
    open_case_store,
)
from tests.test_trail_lookup import NOW, VirtualTime, fake_factory

ACCOUNT = "560912378404"


def records(*ids: str, day: str = "2026-10-02") -> list[dict[str, Any]]:
    # The time follows from the id: the same event in two files is the same (eventID, eventTime).
    return [{"eventID": i, "eventTime": f"{day}T10:{sum(map(ord, i)) % 60:02d}:00Z", "eventName": "GetCallerIdentity",
             "eventSource": "sts.amazonaws.com"} for i in ids]


def write_gz(path: Path, recs: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": recs}).encode()))
    return path


@pytest.fixture
def case(tmp_path: Path) -> Case:
    return Case.create(tmp_path / "case", account_id=ACCOUNT, caller_arn=f"arn:aws:iam::{ACCOUNT}:user/ir")


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs" / "AWSLogs" / ACCOUNT / "CloudTrail" / "eu-west-1" / "2026" / "10" / "02"
    write_gz(root / "a.json.gz", records("a1", "a2", "a3"))
    write_gz(root / "b.json.gz", records("b1", "b2"))
    (root / "c.json").write_text(json.dumps(records("c1", "a1")))  # a1 also in a: counted once
    return tmp_path / "logs"


def ids(store: EventStore) -> list[str]:
    return sorted(r[0] for r in store.db.execute("SELECT eventID FROM events").fetchall())


def test_the_store_is_private_and_survives_reopening(case: Case, logs: Path) -> None:
    store = open_case_store(case)
    load_files(store, [logs])
    store.db.close()
    path = case_store_path(case)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = open_case_store(case)
    assert ids(again) == ["a1", "a2", "a3", "b1", "b2", "c1"]


def test_a_second_run_reads_no_file(case: Case, logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_files(open_case_store(case), [logs])
    assert (first.read, first.skipped, first.report.records) == (3, 0, 7)
    reads: list[object] = []
    real = ingest_module._read
    monkeypatch.setattr(ingest_module, "_read", lambda source: reads.append(source) or real(source))
    store = open_case_store(case)
    second = load_files(store, [logs])
    assert (second.read, second.skipped, second.report.files, reads) == (0, 3, 0, [])
    assert store.count() == 6


def test_the_same_file_named_another_way_is_the_same_source(case: Case, logs: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_case_store(case)
    load_files(store, [logs])
    monkeypatch.chdir(logs)
    relative = next(Path(".").rglob("b.json.gz"))
    assert load_files(store, [relative]).read == 0


def test_trust_is_in_size_and_mtime(case: Case, logs: Path) -> None:
    """Unchanged size and mtime: not read (the file is swapped behind the store's back to prove it)."""
    store = open_case_store(case)
    load_files(store, [logs])
    target = next(logs.rglob("c.json"))
    before = target.stat()
    swapped = json.dumps(records("zz", "a1")).encode()
    assert len(swapped) == before.st_size
    target.write_bytes(swapped)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    load_files(store, [logs])
    assert "zz" not in ids(store)


def test_a_changed_file_is_read_again_and_its_old_events_replaced(case: Case, logs: Path) -> None:
    store = open_case_store(case)
    load_files(store, [logs])
    target = next(logs.rglob("a.json.gz"))
    write_gz(target, records("a1", "a4"))  # a2 and a3 gone, a4 new; a1 also still in c.json
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 1_000_000))
    again = load_files(store, [logs])
    assert (again.read, again.skipped) == (1, 2)
    assert ids(store) == ["a1", "a4", "b1", "b2", "c1"]


def test_damaged_files_are_read_again_and_reported_again(case: Case, logs: Path, tmp_path: Path) -> None:
    broken = tmp_path / "logs" / "broken.json.gz"
    broken.write_bytes(gzip.compress(b'{"Records": [')[:-6])
    store = open_case_store(case)
    first = load_files(store, [logs, tmp_path / "nowhere"])
    second = load_files(store, [logs, tmp_path / "nowhere"])
    for run in (first, second):
        assert sorted(Path(p.path).name for p in run.report.problems) == ["broken.json.gz", "nowhere"]
    assert (second.read, second.skipped) == (1, 3)


BUCKET = "org-trail-archive-77"


@pytest.fixture
def bucket() -> Iterator[ClientFactory]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for name, recs in (("k1", records("s1", "s2")), ("k2", records("s3")), ("k3", records("s4"))):
            key = f"AWSLogs/{ACCOUNT}/CloudTrail/ap-south-1/2026/10/02/{name}.json.gz"
            s3.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(json.dumps({"Records": recs}).encode()))
        yield ClientFactory(session=session)


def test_s3_objects_already_held_are_not_fetched(case: Case, bucket: ClientFactory) -> None:
    source = S3TrailSource(bucket, S3Location.parse(f"s3://{BUCKET}/"))
    keys = source.find_objects(None).keys
    store = open_case_store(case)
    first = load_s3(store, source, keys)
    gets = sum(1 for c in bucket.calls if c.operation == "GetObject")
    second = load_s3(store, source, keys)
    assert (first.read, second.read, second.skipped) == (3, 0, 3)
    assert sum(1 for c in bucket.calls if c.operation == "GetObject") == gets == 3
    assert store.count() == 4


def test_an_s3_object_with_another_etag_is_fetched_again(case: Case, bucket: ClientFactory) -> None:
    source = S3TrailSource(bucket, S3Location.parse(f"s3://{BUCKET}/"))
    s3 = bucket.client("s3")
    objects = [S3Object(BUCKET, o["Key"], o["ETag"], o["Size"])
               for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    store = open_case_store(case)
    load_s3(store, source, objects)
    s3.put_object(Bucket=BUCKET, Key=objects[1].key,
                  Body=gzip.compress(json.dumps({"Records": records("s9")}).encode()))
    fresh = [S3Object(BUCKET, o["Key"], o["ETag"], o["Size"]) for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    again = load_s3(store, source, fresh)
    assert (again.read, again.skipped) == (1, 2)
    assert "s9" in ids(store)


def lookup(store: EventStore, asked: list[tuple[str, datetime, datetime]], since: datetime,
           until: datetime | None, regions: list[str]) -> LookupSource:
    time = VirtualTime()
    factory = fake_factory(dict.fromkeys(regions, 1),
                           lambda region, kw: asked.append((region, kw["StartTime"], kw["EndTime"])))
    return LookupSource(factory, regions, since, until, held=SourceLedger(store).lookup_ranges(regions),
                        clock=time.clock, sleep=time.sleep, now=NOW)


def test_a_wider_lookup_window_fetches_only_the_missing_part(case: Case) -> None:
    store = open_case_store(case)
    regions = ["us-east-1", "eu-west-3"]
    asked: list[tuple[str, datetime, datetime]] = []
    old, mid = NOW - timedelta(days=20), NOW - timedelta(days=12)
    first = load_lookup(store, lookup(store, asked, old, mid, regions))
    assert (first.read, first.skipped) == (2, 0)
    count = store.count()
    asked.clear()
    wider = load_lookup(store, lookup(store, asked, NOW - timedelta(days=30), None, regions))
    for region in regions:
        assert sorted(a[1:] for a in asked if a[0] == region) == [(NOW - timedelta(days=30), old), (mid, NOW)]
    assert wider.read == 4 and store.count() > count
    asked.clear()
    # Everything is held except the minutes just before the last fetch, which may have been incomplete.
    again = load_lookup(store, lookup(store, asked, NOW - timedelta(days=30), None, regions))
    assert sorted(asked) == sorted((r, NOW - DELIVERY_LAG, NOW) for r in regions)
    assert again.skipped == 0
    asked.clear()
    inside = load_lookup(store, lookup(store, asked, NOW - timedelta(days=25), NOW - timedelta(days=1), regions))
    assert asked == [] and (inside.read, inside.skipped) == (0, 2)


def test_a_region_that_failed_is_asked_again(case: Case) -> None:
    store = open_case_store(case)
    asked: list[tuple[str, datetime, datetime]] = []
    source = lookup(store, asked, NOW - timedelta(days=3), NOW - timedelta(days=2), ["sa-east-1", "eu-west-2"])
    source.factory.pages["eu-west-2"] = 0  # type: ignore[attr-defined]
    original = source.factory.client

    def failing(service: str, region: str | None = None) -> Any:
        if region == "eu-west-2":
            raise ValueError("unexpected answer")
        return original(service, region)

    source.factory.client = failing  # type: ignore[method-assign]
    load_lookup(store, source)
    assert [g.region for g in source.gaps] == ["eu-west-2"]
    assert set(SourceLedger(store).lookup_ranges()) == {"sa-east-1"}
