"""The events table: explicit schema, overlapping sources counted once, damaged records named."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from awsrespond.emulator import cloudtrail_record
from awsrespond.emulator.cloudtrail import iam_user_identity
from awsrespond.trail import ingest
from awsrespond.trail.events import COLUMNS, EventStore


def write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"Records": records}))
    return path


def test_stratus_loads_with_every_record(corpus: Path) -> None:
    store = EventStore()
    report = store.load_paths([corpus / "stratus"])
    expected = sum(len(json.loads(p.read_text())) for p in (corpus / "stratus").glob("*.json"))
    assert report.records == expected and not report.problems
    assert store.count() + report.duplicates == expected
    [(name,)] = store.db.execute(
        "SELECT eventName FROM events WHERE eventSource = 'cloudtrail.amazonaws.com' AND eventName = 'StopLogging'"
    ).fetchall()
    assert name == "StopLogging"


def test_keys_seen_only_late_are_kept_and_nested_paths_work(tmp_path: Path) -> None:
    records: list[dict[str, object]] = [
        {"eventID": str(i), "eventTime": "2026-11-20T09:00:00Z", "eventName": "ListUsers",
         "userIdentity": {"type": "IAMUser", "userName": "u"}, "requestParameters": None} for i in range(50)
    ]
    records.append({"eventID": "late", "eventTime": "2026-11-20T09:01:00Z", "eventName": "AttachUserPolicy",
                    "userIdentity": {"type": "IAMUser", "accessKeyId": "AKIAX", "userName": "ci"},
                    "requestParameters": {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
                                          "userName": "backup"}})
    store = EventStore()
    store.load_paths([write(tmp_path / "a.json", records)])
    [(arn, key)] = store.db.execute(
        "SELECT requestParameters->>'policyArn', userIdentity.accessKeyId FROM events WHERE eventID = 'late'"
    ).fetchall()
    assert arn.endswith("/AdministratorAccess") and key == "AKIAX"


def test_overlapping_sources_count_once_and_keyless_records_stay(tmp_path: Path) -> None:
    event = {"eventID": "e1", "eventTime": "2026-11-20T09:00:00Z", "eventName": "CreateUser"}
    keyless = {"eventName": "ConsoleLogin", "eventTime": "2026-11-20T09:05:00Z"}
    store = EventStore()
    first = store.load_paths([write(tmp_path / "a.json", [event, keyless])])
    second = store.load_paths([write(tmp_path / "b.json", [event, {**event, "eventID": "e2"}])])
    assert store.count() == 3
    assert (first.duplicates, second.duplicates) == (0, 1)
    assert first.without_id_or_time == 1


def test_times_in_other_shapes_and_unreadable_times(tmp_path: Path) -> None:
    records = [
        {"eventID": "a", "eventTime": "2021-05-20 15:53:47Z", "eventName": "X"},
        {"eventID": "b", "eventTime": "2021-05-20T15:53:47.123+09:00", "eventName": "Y", "readOnly": "true"},
        {"eventID": "c", "eventTime": "yesterday", "eventName": "Z"},
    ]
    store = EventStore()
    report = store.load_paths([write(tmp_path / "t.json", records)])
    rows = dict(store.db.execute("SELECT eventID, strftime(eventTime AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S') "
                                 "FROM events").fetchall())
    assert rows["a"] == "2021-05-20T15:53:47" and rows["b"] == "2021-05-20T06:53:47" and rows["c"] is None
    assert [p.record for p in report.problems] == [3]
    assert store.db.execute("SELECT readOnly FROM events WHERE eventID = 'b'").fetchone() == (True,)


# -- the fast path (S3 delivery files read by DuckDB) and the careful path give the same table -------

def delivery_file(path: Path, records: list[dict[str, Any]]) -> Path:
    """A log file as CloudTrail writes it: gzip of compact ``{"Records":[...]}``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": records}, separators=(",", ":")).encode()))
    return path


def event(n: int, *, name: str = "DescribeInstances", region: str = "eu-west-3", **changes: Any) -> dict[str, Any]:
    record = cloudtrail_record(
        event_time=datetime(2026, 11, 20, 9, n % 60, n % 59, tzinfo=UTC), event_source="ec2.amazonaws.com",
        event_name=name, aws_region=region,
        user_identity=iam_user_identity(account_id="210987654321", user_name=f"ops-{n % 7}", principal_id=f"AIDA{n}",
                                        access_key_id=f"AKIA{n:016d}"),
        source_ip=f"198.51.100.{n % 250}", user_agent="Boto3/1.35.2", event_id=f"ev-{n:05d}",
        request_parameters={"filterSet": {"items": [{"name": "tag:team", "valueSet": {"items": [{"value": n}]}}]}},
        resources=[{"ARN": f"arn:aws:ec2:eu-west-3:210987654321:instance/i-{n:017x}"}],
    )
    record.update(changes)
    return record


def table(store: EventStore) -> list[tuple[Any, ...]]:
    """Every row, JSON columns parsed (key order and spacing do not matter), in a stable order."""
    names = list(COLUMNS)
    rows = store.db.execute(f"SELECT {', '.join(repr(n).replace(chr(39), chr(34)) for n in names)} FROM events "
                            "ORDER BY source, eventID, eventName").fetchall()
    kinds = [COLUMNS[n] for n in names]
    return [tuple(json.loads(v) if k == "JSON" and v is not None else v for v, k in zip(row, kinds, strict=True))
            for row in rows]


def careful_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "_delivery_lines", lambda raw, number: None)


def varied_records(seed: int) -> list[dict[str, Any]]:
    records = [event(seed * 100 + n) for n in range(30)]
    records[1]["eventTime"] = "2026-11-20T09:01:02.250Z"
    records[2].update(readOnly="TRUE", managementEvent="false")
    records[3]["eventID"] = 31337 + seed  # not a string: stored as its text on both paths
    records[4].update(vpcEndpointId="vpce-0a1b2c3d", sessionCredentialFromConsole="true")
    records[5]["tlsDetails"] = None
    records[6]["errorCode"] = "Client.UnauthorizedOperation"
    records[7]["userIdentity"] = {**records[7]["userIdentity"], "sessionContext": {"attributes": {"mfa": "x"}}}
    del records[8]["eventID"]
    records[9]["requestParameters"] = None
    return records


def test_fast_and_careful_paths_give_the_same_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "AWSLogs"
    for n in range(5):
        delivery_file(root / f"ap-south-2/2026/11/20/f{n}.json.gz", varied_records(n))
    fast = EventStore()
    fast_report = fast.load_paths([root])
    assert fast_report.fast_files == 5 and not fast_report.problems
    assert fast_report.records == 150 and fast_report.without_id_or_time == 5
    careful_only(monkeypatch)
    careful = EventStore()
    careful_report = careful.load_paths([root])
    assert careful_report.fast_files == 0 and careful_report.records == 150
    assert table(fast) == table(careful)
    extras = {row[0]: row[-2] for row in table(fast) if row[-2] is not None}
    assert extras["ev-00104"] == {"vpcEndpointId": "vpce-0a1b2c3d", "sessionCredentialFromConsole": "true",
                                  "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                                                 "clientProvidedHostHeader": "ec2.eu-west-3.amazonaws.com"}}
    assert "ev-00105" not in extras  # a null extra key carries nothing
    assert fast.db.execute("SELECT readOnly, managementEvent FROM events WHERE eventID = 'ev-00102'").fetchone() \
        == (True, False)
    assert fast.db.execute("SELECT count(*) FROM events WHERE eventID = '31338'").fetchone() == (1,)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"eventTime": 1795000000}, "eventTime is a number"),
     ({"eventTime": "20 Nov 2026"}, "is not a time"),
     ({"userIdentity": "arn:aws:iam::210987654321:root"}, "userIdentity is a string"),
     ({"requestParameters": ["i-0abc"]}, "requestParameters is a list"),
     ({"resources": {"ARN": "x"}}, "resources is an object")],
)
def test_a_wrong_field_sends_only_its_file_the_careful_way(tmp_path: Path, change: dict[str, Any],
                                                           message: str) -> None:
    root = tmp_path / "AWSLogs"
    for n in range(6):
        records = [event(n * 10 + i) for i in range(10)]
        if n == 3:
            records[6].update(change)
        delivery_file(root / f"us-west-1/2026/11/20/g{n}.json.gz", records)
    store = EventStore()
    report = store.load_paths([root])
    assert report.fast_files == 5 and report.records == 60 and store.count() == 60
    [problem] = report.problems
    assert problem.path.endswith("g3.json.gz") and problem.record == 7 and message in problem.message


def test_records_that_are_not_objects_are_named_and_the_rest_loaded(tmp_path: Path) -> None:
    root = tmp_path / "AWSLogs"
    delivery_file(root / "a.json.gz", [event(1), event(2)])
    bad = root / "b.json.gz"
    bad.write_bytes(gzip.compress(b'{"Records":[{"eventVersion":"1.08","eventID":"x1"},7,"text",{"eventVersion":'
                                  b'"1.08","eventID":"x2"}]}'))
    store = EventStore()
    report = store.load_paths([root])
    assert report.records == 4 and report.skipped == 2 and report.fast_files == 1
    assert [(p.record, p.message) for p in report.problems] == [
        (2, "record is a int, not an object"), (3, "record is a str, not an object")]


def test_bad_utf8_in_a_delivery_file_is_named_and_other_files_load(tmp_path: Path) -> None:
    root = tmp_path / "AWSLogs"
    delivery_file(root / "ok.json.gz", [event(5)])
    body = json.dumps({"Records": [event(6)]}, separators=(",", ":")).encode().replace(b"Boto3", b"Bot\xff3")
    (root / "latin.json.gz").write_bytes(gzip.compress(body))
    store = EventStore()
    report = store.load_paths([root])
    assert store.count() == 1 and report.fast_files == 1
    [problem] = report.problems
    assert problem.path.endswith("latin.json.gz") and "not UTF-8" in problem.message and "position" in problem.message


def test_worker_processes_give_the_same_table(tmp_path: Path) -> None:
    root = tmp_path / "AWSLogs"
    for n in range(40):
        records = [event(n * 7 + i, region=("sa-east-1", "me-south-1")[n % 2]) for i in range(7)]
        if n == 13:
            records[2]["eventTime"] = 1795000000.5
        delivery_file(root / f"r/2026/11/2{n % 3}/h{n:02d}.json.gz", records)
    (root / "broken.json.gz").write_bytes(gzip.compress(b'{"Records":[{"eventVersion":"1.08"}]}')[:-9])
    parallel = EventStore()
    report = ingest.Loader(parallel, workers=2, small_load=4, job_files=3, batch_files=9).run(
        ingest.Source(str(p), path=str(p)) for p in sorted(root.rglob("*.gz")))
    serial = EventStore()
    serial.load_paths([root], workers=0)
    assert report.records == 280 and report.fast_files == 39 and report.files == 41
    assert sorted(p.path.rsplit("/", 1)[1] for p in report.problems) == ["broken.json.gz", "h13.json.gz"]
    assert table(parallel) == table(serial)


def test_objects_fetched_elsewhere_are_named_by_their_url(tmp_path: Path) -> None:
    body = gzip.compress(json.dumps({"Records": [event(1), event(2)]}, separators=(",", ":")).encode())
    url = "s3://trail-bucket-x/AWSLogs/210987654321/CloudTrail/eu-west-3/2026/11/20/o.json.gz"
    store = EventStore()
    report = store.load_objects([(url, body), ("s3://trail-bucket-x/bad.json.gz", b"\x1f\x8b\x08garbage")])
    assert report.records == 2 and report.fast_files == 1
    assert store.db.execute("SELECT DISTINCT source FROM events").fetchall() == [(url,)]
    assert report.problems[0].path == "s3://trail-bucket-x/bad.json.gz"


def test_duplicates_across_shapes_and_loads_count_once_and_the_first_row_stays(tmp_path: Path) -> None:
    records = [event(n) for n in range(20)]
    first = delivery_file(tmp_path / "AWSLogs/one.json.gz", records[:12])
    second = tmp_path / "lookup.json"
    second.write_text(json.dumps({"Events": [{"CloudTrailEvent": json.dumps(r)} for r in records[8:]]}))
    store = EventStore()
    a = store.load_paths([first])
    b = store.load_paths([second, first])
    assert (a.records, a.duplicates) == (12, 0)
    assert (b.records, b.duplicates) == (24, 16)
    assert store.count() == 20
    sources = dict(store.db.execute("SELECT eventID, source FROM events").fetchall())
    assert sources["ev-00009"] == str(first) and sources["ev-00019"] == str(second)


def test_a_file_that_inflates_past_the_limit_is_skipped(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b" " * 5_000_000 + b'{"Records":[]}'))
    ok = delivery_file(tmp_path / "ok.json.gz", [event(3)])
    store = EventStore()
    report = ingest.Loader(store, max_inflated=1_000_000).run(
        ingest.Source(str(p), path=str(p)) for p in (bomb, ok))
    assert store.count() == 1
    [problem] = report.problems
    assert problem.path == str(bomb) and "more than 1,000,000 bytes" in problem.message


def test_a_100_mb_file_loads_in_seconds(tmp_path: Path) -> None:
    template = event(1, name="GetObject")
    template["requestParameters"] = {"bucketName": "media-archive-eu", "key": "x" * 700}
    text = json.dumps(template, separators=(",", ":"))
    head, tail = text.split('"ev-00001"')
    count = 100_000_000 // len(text) + 1
    body = b'{"Records":[' + b",".join(f'{head}"big-{n}"{tail}'.encode() for n in range(count)) + b"]}"
    assert len(body) > 100_000_000
    path = tmp_path / "huge.json.gz"
    path.write_bytes(gzip.compress(body, compresslevel=1))
    del body
    started = time.monotonic()
    store = EventStore()
    report = store.load_paths([path])
    assert report.records == count == store.count() and report.fast_files == 1 and not report.problems
    assert time.monotonic() - started < 20


def test_a_key_outside_the_documented_ones_is_kept_in_extra(tmp_path: Path) -> None:
    root = tmp_path / "AWSLogs"
    delivery_file(root / "plain.json.gz", [event(1), event(2)])
    delivery_file(root / "novel.json.gz", [event(3), event(4, futureField={"level": 3}, annotation="x")])
    store = EventStore()
    report = store.load_paths([root])
    assert report.fast_files == 1 and report.records == 4 and not report.problems
    extra = store.db.execute("SELECT extra FROM events WHERE eventID = 'ev-00004'").fetchone()
    assert extra is not None and json.loads(extra[0])["futureField"] == {"level": 3}


def test_without_the_key_check_an_undocumented_key_is_dropped_but_the_record_kept(tmp_path: Path) -> None:
    path = delivery_file(tmp_path / "novel.json.gz", [event(7, futureField="kept?")])
    store = EventStore()
    report = ingest.Loader(store, check_keys=False).run([ingest.Source(str(path), path=str(path))])
    assert report.fast_files == 1 and store.count() == 1
    assert store.db.execute("SELECT extra->>'futureField', (extra->'tlsDetails') IS NOT NULL FROM events").fetchone() \
        == (None, True)
