"""Reading CloudTrail files in every shape they are met in, and reporting what cannot be read."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from awsrespond.emulator import cloudtrail_record
from awsrespond.emulator.cloudtrail import iam_user_identity
from awsrespond.trail import find_trail_files, read_trail_file
from awsrespond.trail.files import MAX_PROBLEMS_PER_FILE


def record(name: str, when: datetime) -> dict[str, object]:
    return cloudtrail_record(
        event_time=when, event_source="iam.amazonaws.com", event_name=name, aws_region="us-east-1",
        user_identity=iam_user_identity(account_id="123456789012", user_name="ci", principal_id="AIDA1",
                                        access_key_id="AKIAEXAMPLE"),
        source_ip="203.0.113.9", user_agent="aws-cli/2", recipient_account_id="123456789012",
    )


def test_stratus_arrays_read_whole(corpus: Path) -> None:
    files, problems = find_trail_files([corpus / "stratus"])
    assert {p.name for p in files} == {p.name for p in (corpus / "stratus").glob("*.json")} and not problems
    for path in files:
        assert len(read_trail_file(path).records) == len(json.loads(path.read_text())), path
        trail = read_trail_file(path)
        assert trail.shape == "array" and trail.records and not trail.problems, path
        assert all("eventName" in r for r in trail.records)


def test_panther_records_document(corpus: Path) -> None:
    path = corpus / "panther" / "panther_cloudtrail_records.json"
    trail = read_trail_file(path)
    assert trail.shape == "records" and not trail.problems
    assert len(trail.records) == len(json.loads(path.read_text())["Records"]) > 400


def test_delivery_layout_gz_and_digests(tmp_path: Path) -> None:
    day = tmp_path / "AWSLogs" / "123456789012" / "CloudTrail" / "us-east-1" / "2026" / "11" / "20"
    day.mkdir(parents=True)
    when = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    (day / "123456789012_CloudTrail_us-east-1_20261120T0930Z_abc.json.gz").write_bytes(
        gzip.compress(json.dumps({"Records": [record("CreateUser", when), record("CreateAccessKey", when)]}).encode()))
    digest = tmp_path / "AWSLogs" / "123456789012" / "CloudTrail-Digest" / "us-east-1"
    digest.mkdir(parents=True)
    (digest / "d.json.gz").write_bytes(gzip.compress(b'{"digestStartTime": "x"}'))
    files, problems = find_trail_files([tmp_path])
    assert [p.name for p in files] == ["123456789012_CloudTrail_us-east-1_20261120T0930Z_abc.json.gz"]
    trail = read_trail_file(files[0])
    assert [r["eventName"] for r in trail.records] == ["CreateUser", "CreateAccessKey"]
    assert trail.shape == "records" and not problems


def test_lookup_events_output(tmp_path: Path) -> None:
    when = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    events = [{"EventId": "1", "EventName": "StopLogging", "CloudTrailEvent": json.dumps(record("StopLogging", when))},
              {"EventId": "2", "CloudTrailEvent": "{not json"}]
    path = tmp_path / "lookup.json"
    path.write_text(json.dumps({"Events": events}))
    trail = read_trail_file(path)
    assert trail.shape == "lookup-events"
    assert [r["eventName"] for r in trail.records] == ["StopLogging"]
    assert [(p.record, "CloudTrailEvent is not JSON" in p.message) for p in trail.problems] == [(2, True)]


def test_json_lines_with_a_broken_line(tmp_path: Path) -> None:
    when = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(record("A", when)) + "\n\n" + '{"eventName": "B", "truncat\n' + json.dumps([1]) + "\n"
                    + json.dumps(record("C", when)) + "\n")
    trail = read_trail_file(path)
    assert trail.shape == "json-lines"
    assert [r["eventName"] for r in trail.records] == ["A", "C"]
    assert [p.record for p in trail.problems] == [3, 4]
    assert str(trail.problems[0]).startswith(f"{path}:3: not JSON")


@pytest.mark.parametrize(
    ("content", "message"),
    [(gzip.compress(b'{"Records": []}')[:-6], "cannot read"), (b"\xff\xfe\x00bad", "not UTF-8"),
     (b'{"hello": "world"}', "no CloudTrail records")],
)
def test_unreadable_files_are_named(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json.gz"
    path.write_bytes(content)
    trail = read_trail_file(path)
    assert not trail.records
    [problem] = trail.problems
    assert problem.path == str(path) and message in problem.message


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    files, problems = find_trail_files([tmp_path / "nope"])
    assert not files and problems[0].message == "no such file or directory"


def test_truncated_gzip_names_how_far_it_got(tmp_path: Path) -> None:
    when = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    whole = gzip.compress(json.dumps({"Records": [record(f"Op{n}", when) for n in range(300)]}).encode())
    path = tmp_path / "cut.json.gz"
    path.write_bytes(whole[: len(whole) // 2])
    trail = read_trail_file(path)
    [problem] = trail.problems
    assert not trail.records and "truncated" in problem.message and f"{len(whole) // 2:,} bytes" in problem.message


def test_gzip_members_are_all_read_and_trailing_garbage_is_named(tmp_path: Path) -> None:
    when = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    text = json.dumps([record("A", when), record("B", when)]).encode()
    path = tmp_path / "two.json.gz"
    path.write_bytes(gzip.compress(text[:40]) + gzip.compress(text[40:]))
    assert [r["eventName"] for r in read_trail_file(path).records] == ["A", "B"]
    path.write_bytes(gzip.compress(text) + b"PK\x03\x04 not gzip")
    [problem] = read_trail_file(path).problems
    assert "not gzip data after byte" in problem.message


def test_one_damaged_document_is_one_problem_with_its_offset(tmp_path: Path) -> None:
    when = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    pretty = json.dumps({"Records": [record("A", when), record("B", when)]}, indent=2)
    path = tmp_path / "pretty.json"
    path.write_text(pretty[:-200])
    trail = read_trail_file(path)
    [problem] = trail.problems
    assert problem.record is None and problem.message.startswith("not JSON") and "at character" in problem.message


def test_many_bad_lines_are_named_up_to_a_limit_then_counted(tmp_path: Path) -> None:
    when = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    lines = [json.dumps(record("Good", when))] + ["{broken"] * (MAX_PROBLEMS_PER_FILE + 25)
    path = tmp_path / "noisy.jsonl"
    path.write_text("\n".join(lines) + "\n")
    trail = read_trail_file(path)
    assert len(trail.records) == 1 and trail.skipped == MAX_PROBLEMS_PER_FILE + 25
    assert sum(p.record is not None for p in trail.problems) == MAX_PROBLEMS_PER_FILE
    assert trail.problems[-1].message == "25 more record problem(s) not listed"


def test_json_that_is_not_cloudtrail_is_named(tmp_path: Path) -> None:
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps([{"InstanceId": "i-1", "State": "running"}, {"InstanceId": "i-2"}]))
    trail = read_trail_file(path)
    assert not trail.records and trail.skipped == 2
    assert trail.problems[-1].message == "no CloudTrail records in it"
    assert "not a CloudTrail record" in trail.problems[0].message


def test_a_byte_order_mark_is_allowed(tmp_path: Path) -> None:
    when = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"Records": [record("ListUsers", when)]}).encode())
    trail = read_trail_file(path)
    assert [r["eventName"] for r in trail.records] == ["ListUsers"] and not trail.problems


def test_numbers_and_escapes_orjson_refuses_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text('[{"eventName": "X", "requestParameters": {"n": NaN, "big": 123456789012345678901234567890,'
                    ' "s": "\\ud800"}}]')
    trail = read_trail_file(path)
    [only] = trail.records
    assert only["requestParameters"]["big"] == 123456789012345678901234567890 and not trail.problems
