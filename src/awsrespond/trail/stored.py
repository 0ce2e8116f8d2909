"""The case's own store of the events it has read, so that a second hunt is instant.

``<case>/events/events.duckdb`` holds the ``events`` table and ``loaded_sources``, the ledger of
what went into it: a local file (path, size, mtime_ns), an S3 object (bucket, key, and its ETag
and size when known), a LookupEvents range (region, start, end). A source already in the ledger
and unchanged is not read again; a changed file has its events dropped and is read again.

LookupEvents ranges: only the parts of the window not yet held are fetched. The minutes just
before a fetch are not recorded as held (events reach LookupEvents late), so the next run asks for
them again and the store counts any event it already had once.

A source read with problems (damaged file, unreadable records) is not recorded: the next run
reads it again and reports its problems again rather than hiding them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from awsrespond.case.workspace import Case
from awsrespond.errors import UsageError
from awsrespond.timeutil import as_utc, now_utc
from awsrespond.trail.events import EventStore, LoadReport
from awsrespond.trail.files import TrailFile, find_trail_files
from awsrespond.trail.lookup import Interval, LookupSource, subtract
from awsrespond.trail.s3 import S3TrailSource

EVENTS_DIR = "events"
DATABASE = "events.duckdb"
LEDGER = "loaded_sources"
FILE, S3, LOOKUP = "file", "s3", "lookup"
_ANY = "(SELECT unnest(?::VARCHAR[]))"  # a list parameter as a set: a hash join, not a scan per row


def case_store_path(case: Case) -> Path:
    return case.root / EVENTS_DIR / DATABASE


def connect_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection for reading the case's store. When this process still holds it open read-write
    (hunt ran just before, as in the demo), DuckDB only shares that same instance, so use it."""
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.ConnectionException:
        return duckdb.connect(str(path))


def open_case_store(case: Case) -> EventStore:
    """The case's event store, created on first use (directory 0700, database 0600)."""
    path = case_store_path(case)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path.parent, 0o700)
    try:
        store = EventStore(database=str(path))
    except duckdb.Error as exc:
        raise UsageError(f"cannot open the case's event store {path} (another awsrespond run on this case?): "
                         f"{exc}") from exc
    for file in path.parent.iterdir():  # the database and its write-ahead log
        if file.is_file():
            os.chmod(file, 0o600)
    SourceLedger(store)
    return store


@dataclass(frozen=True)
class LocalFile:
    path: str  # absolute: the same file named two ways is one source
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> LocalFile:
        resolved = path.resolve()
        stat = resolved.stat()
        return cls(str(resolved), stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str
    etag: str | None = None
    size: int | None = None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass
class StoredLoad:
    """One source kind loaded through the ledger: what was read now, and what the store already held."""

    report: LoadReport
    read: int = 0
    skipped: int = 0


class SourceLedger:
    """``loaded_sources``: what the case's events table already holds.

    Files and objects are checked and recorded in batches (one statement per batch, not per
    source): a trail has tens of thousands of files and DuckDB's per-statement cost is milliseconds.
    """

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.db = store.db
        self.db.execute(
            f"""CREATE TABLE IF NOT EXISTS {LEDGER} (
                kind VARCHAR NOT NULL, name VARCHAR NOT NULL, size BIGINT, mtime_ns BIGINT, etag VARCHAR,
                range_start TIMESTAMPTZ, range_end TIMESTAMPTZ, records BIGINT, loaded_at TIMESTAMPTZ NOT NULL)"""
        )

    def _known(self, kind: str) -> dict[str, tuple[Any, Any, Any]]:
        rows = self.db.execute(f"SELECT name, size, mtime_ns, etag FROM {LEDGER} WHERE kind = ?", [kind]).fetchall()
        return {name: (size, mtime_ns, etag) for name, size, mtime_ns, etag in rows}

    def _forget(self, kind: str, names: Sequence[str]) -> None:
        """Drop changed sources and the events they brought, before they are read again."""
        if names:
            self.db.execute(f"DELETE FROM {LEDGER} WHERE kind = ? AND name IN {_ANY}", [kind, list(names)])
            self.db.execute(f"DELETE FROM events WHERE source IN {_ANY}", [list(names)])

    def _put(self, kind: str, names: list[str], sizes: list[int | None], mtimes: list[int | None],
             etags: list[str | None], records: list[int | None]) -> None:
        if not names:
            return
        self.db.execute(f"DELETE FROM {LEDGER} WHERE kind = ? AND name IN {_ANY}", [kind, names])
        self.db.execute(
            f"""INSERT INTO {LEDGER} (kind, name, size, mtime_ns, etag, records, loaded_at)
                SELECT ?, unnest(?::VARCHAR[]), unnest(?::BIGINT[]), unnest(?::BIGINT[]), unnest(?::VARCHAR[]),
                       unnest(?::BIGINT[]), ?""",
            [kind, names, sizes, mtimes, etags, records, now_utc()],
        )

    # Local files
    def unread_files(self, files: Sequence[LocalFile]) -> list[LocalFile]:
        """The files not held as they are now; a held file that changed is forgotten first."""
        known = self._known(FILE)
        unread = [f for f in files if known.get(f.path, (None, None, None))[:2] != (f.size, f.mtime_ns)]
        self._forget(FILE, [f.path for f in unread if f.path in known])
        return unread

    def record_files(self, files: Sequence[LocalFile]) -> None:
        self._put(FILE, [f.path for f in files], [f.size for f in files], [f.mtime_ns for f in files],
                  [None] * len(files), [None] * len(files))

    # S3 objects: CloudTrail never rewrites a log object, so bucket and key name it; ETag and size,
    # when the listing gave them, catch an object replaced under the same key.
    def unread_objects(self, objects: Sequence[S3Object]) -> list[S3Object]:
        known = self._known(S3)
        unread: list[S3Object] = []
        changed: list[str] = []
        for obj in objects:
            row = known.get(obj.url)
            if row is None:
                unread.append(obj)
            elif (obj.size is not None and row[0] is not None and row[0] != obj.size) or \
                    (obj.etag is not None and row[2] is not None and row[2] != obj.etag):
                unread.append(obj)
                changed.append(obj.url)
        self._forget(S3, changed)
        return unread

    def record_objects(self, objects: Sequence[tuple[S3Object, int]]) -> None:
        self._put(S3, [o.url for o, _ in objects], [o.size for o, _ in objects], [None] * len(objects),
                  [o.etag for o, _ in objects], [n for _, n in objects])

    # LookupEvents ranges
    def lookup_ranges(self, regions: Iterable[str] | None = None) -> dict[str, list[Interval]]:
        rows = self.db.execute(f"SELECT name, range_start, range_end FROM {LEDGER} WHERE kind = ?", [LOOKUP]).fetchall()
        wanted = set(regions) if regions is not None else None
        held: dict[str, list[Interval]] = {}
        for region, start, end in rows:
            if wanted is None or region in wanted:
                held.setdefault(region, []).append((as_utc(start), as_utc(end)))
        return {region: sorted(ranges) for region, ranges in held.items()}

    def record_lookup(self, region: str, fetched: Sequence[Interval], records: int) -> None:
        for start, end in fetched:
            self.db.execute(
                f"INSERT INTO {LEDGER} (kind, name, range_start, range_end, records, loaded_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [LOOKUP, region, start, end, records, now_utc()],
            )


def _counted(trails: Iterable[TrailFile], outcome: dict[str, tuple[int, bool]]) -> Iterator[TrailFile]:
    """Pass the files through, noting for each its record count and whether it read cleanly."""
    for trail in trails:
        outcome[trail.path] = (len(trail.records), not trail.problems)
        yield trail


def load_files(store: EventStore, paths: Iterable[Path]) -> StoredLoad:
    """Read the files under ``paths`` that the store does not hold yet (or that changed since).

    Reading goes through ``EventStore.load_paths``, the store's fast path for local files.
    """
    ledger = SourceLedger(store)
    found, missing = find_trail_files(paths)
    states: dict[str, LocalFile] = {}
    unstatable: list[str] = []
    for found_path in found:
        try:
            state = LocalFile.of(found_path)
        except OSError:
            unstatable.append(str(found_path))  # the reader names the error
            continue
        states.setdefault(state.path, state)
    todo = ledger.unread_files(list(states.values()))
    names = [f.path for f in todo] + unstatable
    report = store.load_paths([Path(name) for name in names]) if names else LoadReport()
    report.problems[:0] = missing
    damaged = {problem.path for problem in report.problems}
    ledger.record_files([f for f in todo if f.path not in damaged])
    return StoredLoad(report=report, read=len(names), skipped=len(states) - len(todo))


def load_s3(store: EventStore, source: S3TrailSource, objects: Sequence[str | S3Object]) -> StoredLoad:
    """Read the listed objects (keys of ``source``'s bucket, or :class:`S3Object`) not yet held."""
    ledger = SourceLedger(store)
    bucket = source.location.bucket
    wanted = list({o.url: o for o in (o if isinstance(o, S3Object) else S3Object(bucket, o) for o in objects)}.values())
    todo = ledger.unread_objects(wanted)
    outcome: dict[str, tuple[int, bool]] = {}
    report = store.load(_counted(source.read([o.key for o in todo]), outcome))
    clean = [(o, outcome[o.url][0]) for o in todo if outcome.get(o.url, (0, False))[1]]
    ledger.record_objects(clean)
    return StoredLoad(report=report, read=len(todo), skipped=len(wanted) - len(todo))


def load_lookup(store: EventStore, source: LookupSource) -> StoredLoad:
    """Fetch from LookupEvents and record the ranges read to the end.

    Build ``source`` with ``held=SourceLedger(store).lookup_ranges()`` so it asks only for what the
    store does not hold. ``read`` counts requests made; ``skipped`` the regions the store answered
    alone.
    """
    ledger = SourceLedger(store)
    report = store.load(source)
    for region, result in source.results.items():
        if result.fetched:
            ledger.record_lookup(region, result.fetched, result.events)
    window = source.window
    skipped = 0 if window is None else sum(
        1 for region in source.regions if not subtract(window, source.held.get(region, ()))
    )
    return StoredLoad(report=report, read=sum(r.pages for r in source.results.values()), skipped=skipped)
