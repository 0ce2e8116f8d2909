"""The events table: explicit schema, overlapping sources counted once, damaged records named."""

from __future__ import annotations

import json
from pathlib import Path

from awsrespond.trail.events import EventStore


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
