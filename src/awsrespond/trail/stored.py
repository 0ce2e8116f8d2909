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


def case_store_path(case: Case) -> Path:
    return case.root / EVENTS_DIR / DATABASE


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
    """``loaded_sources``: what the case's events table already holds."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.db = store.db
        self.db.execute(
            f"""CREATE TABLE IF NOT EXISTS {LEDGER} (
                kind VARCHAR NOT NULL, name VARCHAR NOT NULL, size BIGINT, mtime_ns BIGINT, etag VARCHAR,
                range_start TIMESTAMPTZ, range_end TIMESTAMPTZ, records BIGINT, loaded_at TIMESTAMPTZ NOT NULL)"""
        )

    def _row(self, kind: str, name: str) -> tuple[Any, ...] | None:
        return self.db.execute(
            f"SELECT size, mtime_ns, etag FROM {LEDGER} WHERE kind = ? AND name = ?", [kind, name]
        ).fetchone()

    def _put(self, kind: str, name: str, *, size: int | None = None, mtime_ns: int | None = None,
             etag: str | None = None, records: int | None = None) -> None:
        self.db.execute(f"DELETE FROM {LEDGER} WHERE kind = ? AND name = ?", [kind, name])
        self.db.execute(
            f"INSERT INTO {LEDGER} (kind, name, size, mtime_ns, etag, records, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [kind, name, size, mtime_ns, etag, records, now_utc()],
        )

    def _forget(self, kind: str, name: str) -> None:
        """Drop a changed source and the events it brought, before it is read again."""
        self.db.execute(f"DELETE FROM {LEDGER} WHERE kind = ? AND name = ?", [kind, name])
        self.db.execute("DELETE FROM events WHERE source = ?", [name])

    # Local files
    def file_is_loaded(self, file: LocalFile) -> bool:
        row = self._row(FILE, file.path)
        if row is None:
            return False
        if (row[0], row[1]) == (file.size, file.mtime_ns):
            return True
        self._forget(FILE, file.path)
        return False

    def record_file(self, file: LocalFile, records: int | None = None) -> None:
        self._put(FILE, file.path, size=file.size, mtime_ns=file.mtime_ns, records=records)

    # S3 objects: CloudTrail never rewrites a log object, so bucket and key name it; ETag and size,
    # when the listing gave them, catch an object replaced under the same key.
    def object_is_loaded(self, obj: S3Object) -> bool:
        row = self._row(S3, obj.url)
        if row is None:
            return False
        same = (obj.size is None or row[0] is None or row[0] == obj.size) and \
               (obj.etag is None or row[2] is None or row[2] == obj.etag)
        if not same:
            self._forget(S3, obj.url)
        return same

    def record_object(self, obj: S3Object, records: int) -> None:
        self._put(S3, obj.url, size=obj.size, etag=obj.etag, records=records)

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
    todo: dict[str, LocalFile | None] = {}
    skipped = 0
    for found_path in found:
        try:
            entry = LocalFile.of(found_path)
        except OSError:
            todo[str(found_path)] = None  # the reader names the error
            continue
        if entry.path in todo:
            continue
        if ledger.file_is_loaded(entry):
            skipped += 1
        else:
            todo[entry.path] = entry
    report = store.load_paths([Path(name) for name in todo]) if todo else LoadReport()
    report.problems[:0] = missing
    damaged = {problem.path for problem in report.problems}
    for name, state in todo.items():
        if state is not None and name not in damaged:
            ledger.record_file(state)
    return StoredLoad(report=report, read=len(todo), skipped=skipped)


def load_s3(store: EventStore, source: S3TrailSource, objects: Sequence[str | S3Object]) -> StoredLoad:
    """Read the listed objects (keys of ``source``'s bucket, or :class:`S3Object`) not yet held."""
    ledger = SourceLedger(store)
    bucket = source.location.bucket
    wanted = [o if isinstance(o, S3Object) else S3Object(bucket, o) for o in objects]
    todo = {o.url: o for o in wanted if not ledger.object_is_loaded(o)}
    outcome: dict[str, tuple[int, bool]] = {}
    report = store.load(_counted(source.read([o.key for o in todo.values()]), outcome))
    for url, obj in todo.items():
        records, clean = outcome.get(url, (0, False))
        if clean:
            ledger.record_object(obj, records)
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
