"""Fuzzing the CloudTrail reader and loader: whatever the bytes, nothing raises, every record is
either loaded or reported, the counts add up, and the fast path builds the same table as the
careful one."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from awsrespond.trail import ingest
from awsrespond.trail.events import BLOBS, COLUMNS, SCALARS, EventStore, LoadReport
from awsrespond.trail.files import parse_trail_bytes

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_STORES: dict[str, EventStore] = {}

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=30)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
with_floats = st.recursive(scalars | st.floats(allow_nan=True, allow_infinity=True),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=8)
FIELDS = [*SCALARS, "userIdentity", *BLOBS, "tlsDetails", "vpcEndpointId", "sessionCredentialFromConsole",
          "customField", "eventVersion"]


def good_record(n: int) -> dict[str, Any]:
    return {"eventVersion": "1.09", "userIdentity": {"type": "IAMUser", "userName": f"u{n}", "accessKeyId": "AKIAX"},
            "eventTime": f"2026-11-20T10:{n % 60:02d}:00Z", "eventSource": "s3.amazonaws.com",
            "eventName": "GetBucketAcl", "awsRegion": "ca-central-1", "sourceIPAddress": "192.0.2.4",
            "requestParameters": {"bucketName": f"b{n}"}, "responseElements": None, "eventID": f"id-{n}",
            "readOnly": True, "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": "012345678901",
            "tlsDetails": {"tlsVersion": "TLSv1.3"}}


def delivery_bytes(records: list[Any]) -> bytes:
    return json.dumps({"Records": records}, separators=(",", ":")).encode()


def items_in(data: bytes) -> tuple[int, int]:
    """The careful reader's view: (records, items skipped) - the oracle for the loader's counts."""
    trail = parse_trail_bytes(data, "oracle")
    return len(trail.records), trail.skipped


def fresh_store(role: str) -> EventStore:
    """An empty events table; one DuckDB per role for the whole run (opening one costs 0.1-0.2 s)."""
    store = _STORES.get(role)
    if store is None:
        store = _STORES[role] = EventStore()
    store.db.execute("DELETE FROM events")
    return store


def load_bytes(data: bytes, name: str = "f.json.gz", *, careful: bool = False) -> tuple[EventStore, LoadReport, str]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / name
        path.write_bytes(data)
        store = fresh_store("careful" if careful else "fast")
        original = ingest._delivery_lines
        if careful:
            ingest._delivery_lines = lambda raw, number: None  # type: ignore[assignment]
        try:
            report = store.load_paths([path], workers=0)
        finally:
            ingest._delivery_lines = original
        return store, report, str(path)


def check_counts(data: bytes, report: LoadReport, store: EventStore, path: str) -> None:
    records, skipped = items_in(data)
    assert report.records + report.skipped == records + skipped
    assert store.count() + report.duplicates == report.records
    assert all(problem.path == path for problem in report.problems)
    if report.skipped or (not records and not skipped and data.strip() not in (b"", b"[]")):
        assert report.problems or not data.strip()


@FUZZ
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    trail = parse_trail_bytes(data, "fuzz")
    assert trail.records or trail.problems or trail.shape in ("array", "records", "lookup-events")
    store, report, path = load_bytes(data, "fuzz.json")
    check_counts(data, report, store, path)


@FUZZ
@given(st.binary(max_size=300), st.booleans())
def test_bytes_inside_a_delivery_wrapper(middle: bytes, compress: bool) -> None:
    data = b'{"Records":[{"eventVersion":' + middle + b"}]}"
    store, report, path = load_bytes(gzip.compress(data) if compress else data)
    check_counts(data, report, store, path)


@st.composite
def mutated_delivery_file(draw: st.DrawFn) -> tuple[bytes, bytes]:
    plain = delivery_bytes([good_record(n) for n in range(draw(st.integers(1, 6)))])
    target = bytearray(plain)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(target)))
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if action == "flip" and where < len(target):
            target[where] = draw(st.integers(0, 255))
        elif action == "cut":
            del target[where:]
        elif action == "insert":
            target[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif where < len(target):
            del target[where:where + draw(st.integers(1, 20))]
    mutated = bytes(target)
    if draw(st.booleans()):
        packed = bytearray(gzip.compress(mutated))
        if draw(st.booleans()) and len(packed) > 20:  # damage the compressed stream itself
            packed[draw(st.integers(10, len(packed) - 1))] ^= 0x5A
        return bytes(packed), mutated
    return mutated, mutated


@FUZZ
@given(mutated_delivery_file())
def test_mutated_delivery_files(case: tuple[bytes, bytes]) -> None:
    data, _ = case
    store, report, path = load_bytes(data)
    check_counts(data, report, store, path)


@st.composite
def odd_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    records = [good_record(n) for n in range(draw(st.integers(1, 5)))]
    for record in records:
        for key in draw(st.lists(st.sampled_from(FIELDS), max_size=5, unique=True)):
            record[key] = draw(json_values)
    # The delivery shape starts every record with eventVersion (the fast path relies on it).
    return [{"eventVersion": "1.09", **{k: v for k, v in r.items() if k != "eventVersion"}} for r in records]


def rows(store: EventStore) -> list[tuple[Any, ...]]:
    """Every row but ``source`` (each load names its own scratch file), JSON parsed, sorted."""
    names = ", ".join(f'"{name}"' for name in COLUMNS if name != "source")
    found = store.db.execute(f"SELECT {names} FROM events").fetchall()
    kinds = [kind for name, kind in COLUMNS.items() if name != "source"]
    decoded = [tuple(json.loads(v) if k == "JSON" and v is not None else v for v, k in zip(row, kinds, strict=True))
               for row in found]
    return sorted(decoded, key=repr)


@FUZZ
@given(odd_records())
def test_random_values_in_every_field_fast_equals_careful(records: list[dict[str, Any]]) -> None:
    data = gzip.compress(delivery_bytes(records))
    fast_store, fast, _ = load_bytes(data)
    careful_store, careful, _ = load_bytes(data, careful=True)
    assert fast.records == careful.records == len(records) and not fast.skipped
    assert rows(fast_store) == rows(careful_store)
    assert sorted((p.record, p.message) for p in fast.problems) == sorted((p.record, p.message)
                                                                          for p in careful.problems)


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(FIELDS), with_floats, max_size=6), min_size=1, max_size=4),
       st.sampled_from(["records", "array", "lines", "lookup"]))
def test_any_values_in_any_shape_are_loaded_or_named(records: list[dict[str, Any]], shape: str) -> None:
    records = [{"eventName": "X", **r} for r in records]
    text = {"records": lambda: json.dumps({"Records": records}),
            "array": lambda: json.dumps(records),
            "lines": lambda: "\n".join(json.dumps(r) for r in records),
            "lookup": lambda: json.dumps({"Events": [{"CloudTrailEvent": json.dumps(r)} for r in records]})}[shape]()
    data = text.encode()
    store, report, path = load_bytes(data, "any.json")
    check_counts(data, report, store, path)
    assert report.records == len(records)
