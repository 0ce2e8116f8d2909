"""LookupEvents as a source: pacing per region, regions in parallel, pagination, damage and gaps named."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from awsrespond.aws.clients import ClientFactory
from awsrespond.coverage import GapKind
from awsrespond.emulator.cloudtrail import cloudtrail_record, iam_user_identity
from awsrespond.trail.events import EventStore
from awsrespond.trail.lookup import DELIVERY_LAG, LookupSource, TokenBucket, subtract
from tests.faults import Fault, FaultyFactory

ACCOUNT = "318274650091"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def record(name: str, region: str, when: datetime, event_id: str) -> dict[str, Any]:
    identity = iam_user_identity(account_id=ACCOUNT, user_name="deploy-bot", principal_id="AIDAEXAMPLE7",
                                 access_key_id="AKIAEXAMPLE7")
    return cloudtrail_record(event_time=when, event_source="ec2.amazonaws.com", event_name=name, aws_region=region,
                             user_identity=identity, source_ip="198.51.100.23", user_agent="aws-cli/2.15",
                             event_id=event_id)


def summary(rec: dict[str, Any]) -> dict[str, Any]:
    return {"EventId": rec["eventID"], "EventName": rec["eventName"], "CloudTrailEvent": json.dumps(rec)}


def page(events: list[dict[str, Any]], token: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"Events": events}
    if token:
        answer["NextToken"] = token
    return answer


class VirtualTime:
    """A clock per thread: sleeping advances only the sleeping thread's time, so tests do not wait."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return float(getattr(self._local, "t", 0.0))

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._local.t = self.clock() + seconds


@dataclass
class FakeCloudTrail:
    region: str
    pages: int
    on_call: Callable[[str, dict[str, Any]], None]
    served: int = 0

    def lookup_events(self, **kwargs: Any) -> dict[str, Any]:
        self.on_call(self.region, kwargs)
        self.served += 1
        when = kwargs["EndTime"] - timedelta(minutes=self.served)
        events = [summary(record("DescribeInstances", self.region, when, f"{self.region}-{self.served}-{i}"))
                  for i in range(3)]
        return page(events, f"t{self.served}" if self.served < self.pages else None)


@dataclass
class FakeFactory(ClientFactory):
    pages: dict[str, int] = field(default_factory=dict)
    on_call: Callable[[str, dict[str, Any]], None] = lambda region, kwargs: None
    fakes: dict[str, FakeCloudTrail] = field(default_factory=dict)

    def client(self, service: str, region: str | None = None) -> Any:
        assert service == "cloudtrail" and region is not None
        return self.fakes.setdefault(region, FakeCloudTrail(region, self.pages[region], self.on_call))


def fake_factory(pages: dict[str, int], on_call: Callable[[str, dict[str, Any]], None]) -> FakeFactory:
    return FakeFactory(session=boto3.Session(region_name="us-east-1"), pages=pages, on_call=on_call)


def test_each_region_is_paced_to_two_requests_per_second() -> None:
    time = VirtualTime()
    calls: dict[str, list[float]] = {}
    lock = threading.Lock()

    def on_call(region: str, kwargs: dict[str, Any]) -> None:
        with lock:
            calls.setdefault(region, []).append(time.clock())

    pages = {"us-east-1": 5, "ap-south-2": 3, "eu-central-1": 1}
    source = LookupSource(fake_factory(pages, on_call), list(pages), NOW - timedelta(days=2), None,
                          clock=time.clock, sleep=time.sleep, now=NOW)
    store = EventStore()
    report = store.load(source)
    assert report.records == 3 * sum(pages.values()) and store.count() == report.records
    for region, count in pages.items():
        # A pool thread may serve one region after another: time counts from the region's first call.
        relative = [t - calls[region][0] for t in calls[region]]
        assert relative == pytest.approx([n * 0.5 for n in range(count)]), region
    assert not source.gaps


def test_a_faster_rate_is_honoured_too() -> None:
    time = VirtualTime()
    stamps: list[float] = []
    source = LookupSource(fake_factory({"ca-central-1": 4}, lambda r, k: stamps.append(time.clock())),
                          ["ca-central-1"], NOW - timedelta(hours=3), NOW, rate_per_region=5.0,
                          clock=time.clock, sleep=time.sleep, now=NOW)
    list(source)
    assert [t - stamps[0] for t in stamps] == pytest.approx([0.0, 0.2, 0.4, 0.6])


def test_regions_are_read_in_parallel() -> None:
    regions = ["us-east-1", "eu-west-3", "sa-east-1", "ap-southeast-4"]
    # Every region's first call waits for all the others: only concurrent regions get through.
    barrier = threading.Barrier(len(regions), timeout=10)
    first: set[str] = set()
    lock = threading.Lock()

    def on_call(region: str, kwargs: dict[str, Any]) -> None:
        with lock:
            is_first = region not in first
            first.add(region)
        if is_first:
            barrier.wait()

    source = LookupSource(fake_factory(dict.fromkeys(regions, 2), on_call), regions, NOW - timedelta(days=1), None,
                          rate_per_region=1000.0, now=NOW)
    assert sum(len(t.records) for t in source) == 3 * 2 * len(regions)
    assert not source.gaps and first == set(regions)


def test_progress_reports_each_region_and_its_end() -> None:
    time = VirtualTime()
    ticks: list[tuple[str, int, bool]] = []
    pages = {"me-central-1": 2, "af-south-1": 1}
    source = LookupSource(fake_factory(pages, lambda r, k: None), list(pages), NOW - timedelta(days=1), None,
                          clock=time.clock, sleep=time.sleep, now=NOW, progress=lambda *t: ticks.append(t))
    list(source)
    assert [t for t in ticks if t[0] == "me-central-1"] == [("me-central-1", 3, False), ("me-central-1", 6, False),
                                                            ("me-central-1", 6, True)]
    assert ("af-south-1", 3, True) in ticks
    assert threading.current_thread() is threading.main_thread()  # callbacks ran in the caller's thread


def stubbed(factory: ClientFactory, region: str) -> Stubber:
    stub = Stubber(factory.client("cloudtrail", region))
    stub.activate()
    return stub


def test_pagination_window_and_bad_events_named_with_region_and_position() -> None:
    factory = ClientFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=1)
    since, until = NOW - timedelta(days=3), NOW - timedelta(days=1)
    good = [record("RunInstances", "eu-north-1", since + timedelta(hours=h), f"ev-{h}") for h in range(4)]
    stub = stubbed(factory, "eu-north-1")
    expected = {"StartTime": since, "EndTime": until, "MaxResults": 50}
    stub.add_response("lookup_events", page([summary(good[0]), summary(good[1])], "next-1"), expected)
    bad = {"EventId": "b0rk", "CloudTrailEvent": '{"eventName": "Run'}
    stub.add_response("lookup_events", page([summary(good[2]), bad], "next-2"), {**expected, "NextToken": "next-1"})
    stub.add_response("lookup_events", page([{"EventId": "no-body"}, summary(good[3]),
                                             {"EventId": "x", "CloudTrailEvent": "[1]"}]),
                      {**expected, "NextToken": "next-2"})
    source = LookupSource(factory, ["eu-north-1"], since, until, rate_per_region=1000.0, now=NOW)
    store = EventStore()
    report = store.load(source)
    stub.assert_no_pending_responses()
    assert store.count() == 4 and report.records == 4
    where = [(p.path, p.record) for p in report.problems]
    assert where == [("lookup-events:eu-north-1", 4), ("lookup-events:eu-north-1", 5),
                     ("lookup-events:eu-north-1", 7)]
    assert "b0rk" in report.problems[0].message and "not JSON" in report.problems[0].message
    assert "page 2" in report.problems[0].message and "not an object" in report.problems[2].message
    [(src,)] = store.db.execute("SELECT DISTINCT source FROM events").fetchall()
    assert src == "lookup-events:eu-north-1"
    assert source.results["eu-north-1"].fetched == [(since, until)]


def test_window_is_clamped_to_90_days_and_said() -> None:
    factory = ClientFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=1)
    stub = stubbed(factory, "us-west-2")
    stub.add_response("lookup_events", page([]),
                      {"StartTime": NOW - timedelta(days=90), "EndTime": NOW, "MaxResults": 50})
    source = LookupSource(factory, ["us-west-2"], NOW - timedelta(days=200), None, rate_per_region=1000.0, now=NOW)
    pages = list(source)
    assert len(pages) == 1 and not pages[0].records and not pages[0].problems
    stub.assert_no_pending_responses()
    assert any("90 days" in n for n in source.notes)
    # The last minutes may still be arriving: they are not recorded as read.
    assert source.results["us-west-2"].fetched == [(NOW - timedelta(days=90), NOW - DELIVERY_LAG)]


def test_a_window_older_than_90_days_reads_nothing_and_says_why() -> None:
    source = LookupSource(fake_factory({}, lambda r, k: pytest.fail("no call expected")), ["us-east-1"],
                          NOW - timedelta(days=200), NOW - timedelta(days=100), now=NOW)
    assert list(source) == []
    assert any("nothing to read" in n for n in source.notes)


def test_ranges_already_held_are_not_fetched_again() -> None:
    time = VirtualTime()
    asked: list[tuple[datetime, datetime]] = []
    since = NOW - timedelta(days=10)
    held = [(NOW - timedelta(days=8), NOW - timedelta(days=5)), (NOW - timedelta(days=2), NOW - timedelta(days=1))]
    source = LookupSource(fake_factory({"eu-south-1": 1}, lambda r, k: asked.append((k["StartTime"], k["EndTime"]))),
                          ["eu-south-1"], since, NOW - timedelta(hours=1), held={"eu-south-1": held},
                          clock=time.clock, sleep=time.sleep, now=NOW)
    list(source)
    assert asked == [(since, held[0][0]), (held[0][1], held[1][0]), (held[1][1], NOW - timedelta(hours=1))]


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault("cloudtrail", "LookupEvents", "eu-west-2", "AccessDeniedException"), GapKind.ACCESS_DENIED),
        (Fault("cloudtrail", "LookupEvents", "eu-west-2", "UnrecognizedClientException"), GapKind.NOT_ENABLED),
        (Fault("cloudtrail", "LookupEvents", "eu-west-2", "ThrottlingException"), GapKind.THROTTLED),
        (Fault("cloudtrail", "*", "eu-west-2", "unreachable"), GapKind.UNREACHABLE),
    ],
)
def test_a_failing_region_is_a_gap_and_the_others_go_on(fault: Fault, kind: GapKind) -> None:
    factory = FaultyFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=1, faults=[fault])
    since = NOW - timedelta(days=1)
    ok = record("CreateUser", "us-east-1", since + timedelta(hours=2), "iam-1")
    stub = stubbed(factory, "us-east-1")
    stub.add_response("lookup_events", page([summary(ok)]))
    factory.client("cloudtrail", "eu-west-2")  # faults are installed with the client
    store = EventStore()
    source = LookupSource(factory, ["us-east-1", "eu-west-2"], since, None, rate_per_region=1000.0, now=NOW)
    store.load(source)
    assert store.count() == 1
    [gap] = source.gaps
    assert (gap.kind, gap.scope, gap.region) == (kind, "cloudtrail:LookupEvents", "eu-west-2")
    assert "us-east-1" in source.results and not source.results["eu-west-2"].fetched


def test_a_region_failing_midway_keeps_what_it_read_and_is_not_recorded_as_read() -> None:
    factory = ClientFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=1)
    stub = stubbed(factory, "ap-east-1")
    since = NOW - timedelta(days=1)
    stub.add_response("lookup_events", page([summary(record("StopLogging", "ap-east-1", since, "s1"))], "more"))
    stub.add_client_error("lookup_events", "ThrottlingException", "Rate exceeded", 400)
    source = LookupSource(factory, ["ap-east-1"], since, None, rate_per_region=1000.0, now=NOW)
    store = EventStore()
    store.load(source)
    [gap] = source.gaps
    assert store.count() == 1 and gap.kind is GapKind.THROTTLED and "after 1 events" in gap.message
    assert source.results["ap-east-1"].fetched == []


def test_a_global_event_seen_in_two_regions_counts_once() -> None:
    factory = ClientFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=1)
    since = NOW - timedelta(days=1)
    login = record("ConsoleLogin", "us-east-1", since + timedelta(hours=1), "signin-77")
    for region in ("us-east-1", "us-west-1"):
        stubbed(factory, region).add_response("lookup_events", page([summary(login)]))
    store = EventStore()
    report = store.load(LookupSource(factory, ["us-east-1", "us-west-1"], since, None, rate_per_region=1000.0,
                                     now=NOW))
    assert store.count() == 1 and report.duplicates == 1


def test_unreachable_raised_by_a_client_is_a_gap() -> None:
    @dataclass
    class Down(FakeFactory):
        def client(self, service: str, region: str | None = None) -> Any:
            raise EndpointConnectionError(endpoint_url=f"https://cloudtrail.{region}.amazonaws.com")

    source = LookupSource(Down(session=boto3.Session(region_name="us-east-1")), ["il-central-1"], NOW - timedelta(1),
                          None, now=NOW)
    assert list(source) == []
    assert [g.kind for g in source.gaps] == [GapKind.UNREACHABLE]


def test_stopping_early_does_not_hang() -> None:
    regions = [f"r-{n}" for n in range(6)]
    source = LookupSource(fake_factory(dict.fromkeys(regions, 500), lambda r, k: None), regions,
                          NOW - timedelta(days=1), None, rate_per_region=1e6, now=NOW)
    pages = iter(source)
    next(pages)
    pages.close()  # returns only once every worker has stopped


def test_token_bucket_and_interval_subtraction() -> None:
    time = VirtualTime()
    bucket = TokenBucket(2.0, burst=2.0, clock=time.clock, sleep=time.sleep)
    stamps = []
    for _ in range(5):
        bucket.acquire()
        stamps.append(time.clock())
    assert stamps == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.5])
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)
    a, b, c, d = (NOW + timedelta(hours=h) for h in (0, 1, 2, 3))
    assert subtract((a, d), []) == [(a, d)]
    assert subtract((a, d), [(b, c)]) == [(a, b), (c, d)]
    assert subtract((b, c), [(a, d)]) == []
    assert subtract((a, c), [(b, d), (a - timedelta(1), a)]) == [(a, b)]
