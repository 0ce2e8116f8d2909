"""CloudTrail's LookupEvents API as a source, for an account whose trail bucket cannot be read.

LookupEvents keeps 90 days of management events per region and allows 2 requests per second per
region and account. Every region is read in its own thread, each paced by its own token bucket;
one page (up to 50 events) becomes one :class:`TrailFile` named ``lookup-events:<region>`` for
``EventStore.load``. Global services (IAM, STS, sign-in) log in us-east-1, and one event can be
returned by several regions: the store counts it once (same eventID and eventTime).

A region that fails (access denied, not enabled, throttled after the SDK's retries, unreachable)
becomes a coverage gap naming the API and the region; the other regions go on.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import classify_error, describe_error
from awsrespond.coverage import CoverageGap, GapKind, gap_kind
from awsrespond.timeutil import as_utc, iso, now_utc
from awsrespond.trail.files import FileProblem, TrailFile

API = "cloudtrail:LookupEvents"
PERMISSIONS = ("cloudtrail:LookupEvents",)
RETENTION = timedelta(days=90)
RATE_PER_REGION = 2.0  # the documented LookupEvents quota, per account and region
PAGE_SIZE = 50  # LookupEvents' largest MaxResults
# LookupEvents shows an event some minutes after it happened: a range that ended this close to
# the moment it was fetched is not known to be complete.
DELIVERY_LAG = timedelta(minutes=15)
_QUEUE_PAGES = 64  # pages waiting for the consumer; bounds memory when loading is slower than fetching

Interval = tuple[datetime, datetime]
Progress = Callable[[str, int, bool], None]
"""Called with (region, events read so far in that region, whether the region is finished)."""


def path_for(region: str) -> str:
    return f"lookup-events:{region}"


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, ``burst`` at once. Thread-safe."""

    def __init__(self, rate: float, *, burst: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._stamp: float | None = None
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            while True:
                now = self._clock()
                if self._stamp is not None:
                    self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                self._sleep((1.0 - self._tokens) / self.rate)


def subtract(wanted: Interval, held: Sequence[Interval]) -> list[Interval]:
    """The parts of ``wanted`` that none of the ``held`` intervals covers, oldest first."""
    start, end = wanted
    missing: list[Interval] = []
    for held_start, held_end in sorted(held):
        if held_end <= start or held_start >= end:
            continue
        if held_start > start:
            missing.append((start, held_start))
        start = max(start, held_end)
        if start >= end:
            return missing
    if start < end:
        missing.append((start, end))
    return missing


@dataclass
class RegionResult:
    region: str
    events: int = 0
    pages: int = 0
    fetched: list[Interval] = field(default_factory=list)
    """The ranges read to the end: the case's store records them so a later run skips them."""


@dataclass(frozen=True)
class _Page:
    trail: TrailFile


@dataclass(frozen=True)
class _Tick:
    region: str
    events: int
    done: bool


class LookupSource:
    """Reads [since, until] from LookupEvents in every region, in parallel, 2 requests/s each.

    Iterate :meth:`read` (or the object itself) for the pages; afterwards ``gaps``, ``notes`` and
    ``results`` (per region) say what was and was not read; unreadable events are the pages' problems. ``held``
    gives, per region, ranges already in the case's store: only the rest is fetched.
    """

    def __init__(
        self,
        factory: ClientFactory,
        regions: Sequence[str],
        since: datetime | None,
        until: datetime | None,
        *,
        rate_per_region: float = RATE_PER_REGION,
        progress: Progress | None = None,
        held: Mapping[str, Sequence[Interval]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: datetime | None = None,
        max_workers: int = 16,
    ) -> None:
        self.factory = factory
        self.regions = list(dict.fromkeys(regions))
        self.rate_per_region = rate_per_region
        self.progress = progress
        self.held = dict(held or {})
        self._clock = clock
        self._sleep = sleep
        self.max_workers = max(1, max_workers)
        self.fetched_at = as_utc(now) if now is not None else now_utc()
        self.notes: list[str] = []
        self.gaps: list[CoverageGap] = []
        self.results: dict[str, RegionResult] = {}
        self.window = self._clamp(since, until)
        self._lock = threading.Lock()

    def _clamp(self, since: datetime | None, until: datetime | None) -> Interval | None:
        oldest = self.fetched_at - RETENTION
        end = min(as_utc(until), self.fetched_at) if until is not None else self.fetched_at
        start = as_utc(since) if since is not None else oldest
        if start < oldest:
            start = oldest
            self.notes.append(
                f"LookupEvents holds only 90 days of management events: reading from {iso(oldest)}, "
                f"not {iso(since) if since else 'the beginning'}; older events need the trail's S3 bucket"
            )
        if end <= start:
            self.notes.append(
                f"nothing to read from LookupEvents: the window ends ({iso(end)}) before the oldest event it "
                f"holds ({iso(oldest)})"
            )
            return None
        self.notes.append("LookupEvents returns management events only (no S3 or Lambda data events)")
        return start, end

    def __iter__(self) -> Iterator[TrailFile]:
        return self.read()

    def read(self) -> Iterator[TrailFile]:
        """Pages as the regions deliver them. Progress callbacks run in the caller's thread."""
        self.gaps, self.results = [], {}
        if self.window is None or not self.regions:
            return
        mailbox: queue.Queue[_Page | _Tick] = queue.Queue(maxsize=_QUEUE_PAGES)
        stop = threading.Event()
        pending = len(self.regions)
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(self.regions)),
                                thread_name_prefix="lookup-events") as pool:
            workers = [pool.submit(self._region, region, mailbox, stop) for region in self.regions]
            try:
                while pending:
                    item = mailbox.get()
                    if isinstance(item, _Page):
                        yield item.trail
                        continue
                    if item.done:
                        pending -= 1
                    if self.progress is not None:
                        self.progress(item.region, item.events, item.done)
            finally:
                stop.set()  # a consumer that stops early must not leave workers blocked on the queue
                while pending:
                    try:
                        item = mailbox.get(timeout=0.1)
                    except queue.Empty:
                        continue
                    if isinstance(item, _Tick) and item.done:
                        pending -= 1
        for worker in workers:
            worker.result()  # a bug in a worker (not an AWS answer) must not pass silently

    def _post(self, mailbox: queue.Queue[_Page | _Tick], item: _Page | _Tick, stop: threading.Event) -> bool:
        while not stop.is_set():
            try:
                mailbox.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        if isinstance(item, _Tick) and item.done:
            mailbox.put(item)  # the final tick always goes through: read() waits for one per region
        return False

    def _region(self, region: str, mailbox: queue.Queue[_Page | _Tick], stop: threading.Event) -> None:
        result = RegionResult(region)
        with self._lock:
            self.results[region] = result
        try:
            self._fetch_region(result, mailbox, stop)
        except (ClientError, BotoCoreError) as exc:
            self._gap(region, gap_kind(classify_error(exc)), f"{describe_error(exc)} (after {result.events} events)")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # An answer in a shape we did not expect: name it and let the other regions go on.
            self._gap(region, GapKind.ERROR, f"unexpected response shape: {type(exc).__name__}: {exc}")
        finally:
            self._post(mailbox, _Tick(region, result.events, True), stop)

    def _gap(self, region: str, kind: GapKind, message: str) -> None:
        if kind is GapKind.NOT_ENABLED:
            message = f"region not enabled for this account: {message}"
        with self._lock:
            self.gaps.append(CoverageGap(kind=kind, scope=API, region=region, message=message))

    def _fetch_region(self, result: RegionResult, mailbox: queue.Queue[_Page | _Tick],
                      stop: threading.Event) -> None:
        assert self.window is not None
        client = self.factory.client("cloudtrail", result.region)
        bucket = TokenBucket(self.rate_per_region, clock=self._clock, sleep=self._sleep)
        for start, end in subtract(self.window, self.held.get(result.region, ())):
            token: str | None = None
            while not stop.is_set():
                bucket.acquire()
                kwargs: dict[str, Any] = {"StartTime": start, "EndTime": end, "MaxResults": PAGE_SIZE}
                if token:
                    kwargs["NextToken"] = token
                page = client.lookup_events(**kwargs)
                result.pages += 1
                trail = self._page_records(result, page.get("Events") or [])
                if not self._post(mailbox, _Page(trail), stop):
                    return
                self._post(mailbox, _Tick(result.region, result.events, False), stop)
                token = page.get("NextToken")
                if not token:
                    # The last few minutes before the fetch may still be arriving: leave them out of
                    # what is recorded as read, so that a later run asks for them again.
                    complete_until = min(end, self.fetched_at - DELIVERY_LAG)
                    if complete_until > start:
                        result.fetched.append((start, complete_until))
                    break

    def _page_records(self, result: RegionResult, events: list[Any]) -> TrailFile:
        origin = path_for(result.region)
        trail = TrailFile(path=origin, shape="lookup-events")
        for summary in events:
            result.events += 1
            position = result.events
            record = _record(summary)
            if isinstance(record, str):
                event_id = summary.get("EventId") if isinstance(summary, dict) else None
                named = f" (EventId {event_id})" if event_id else ""
                trail.problems.append(FileProblem(origin, position, f"{record}{named}, page {result.pages}"))
            else:
                trail.records.append(record)
        return trail


def _record(summary: Any) -> dict[str, Any] | str:
    """The CloudTrail record inside one LookupEvents summary, or what is wrong with it."""
    if not isinstance(summary, dict):
        return f"event is a {type(summary).__name__}, not an object"
    text = summary.get("CloudTrailEvent")
    if not isinstance(text, str):
        return "event has no CloudTrailEvent string"
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"CloudTrailEvent is not JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(record, dict):
        return f"CloudTrailEvent is a {type(record).__name__}, not an object"
    return record
