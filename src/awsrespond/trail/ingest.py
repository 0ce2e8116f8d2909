"""Loading millions of CloudTrail records into the events table: parallel, streaming, bounded.

Worker processes (one per core) inflate each file with isal and decide its path:

* **fast**: an S3 delivery file in CloudTrail's own compact shape (``{"Records":[{"eventVersion":...``,
  no line breaks) has its wrapper cut off and one record per line written to a scratch file;
  DuckDB's JSON reader (C++, on every core) reads a batch of them with the explicit schema, and one
  ``INSERT ... SELECT`` normalises in SQL. A record the SQL cannot take as it is (an odd
  ``eventTime``, a ``userIdentity`` or a blob of the wrong type, a non-object, bad UTF-8) makes the
  statement fail naming the file, and that file alone goes the careful way: nothing is lost.
* **careful**: any other shape (JSON arrays, JSON lines, LookupEvents output, pretty-printed or
  damaged files) is parsed and normalised in Python (:func:`awsrespond.trail.events.normalise`),
  which names every problem, and written as newline JSON in the table's shape.

Memory holds a few batches of scratch files (in ``/dev/shm`` when there is one), never the whole
input: a bounded number of files is in flight at any time. Duplicates (same eventID and eventTime,
from overlapping sources) are dropped once at the end of a load, keeping the row that was there
first.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
import shutil
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import duckdb

from awsrespond.trail.events import (
    BLOBS,
    COLUMNS,
    SCALARS,
    USER_IDENTITY,
    EventStore,
    LoadReport,
    encode_row,
    normalise,
)
from awsrespond.trail.files import (
    MAX_INFLATED,
    FileProblem,
    InflateError,
    TrailFile,
    inflate,
    parse_json_bytes,
)

if TYPE_CHECKING:
    from collections.abc import Callable

_HEAD = b'{"Records":['
_FIRST = b'{"eventVersion":'
_SEPARATOR = b'},{"eventVersion":'
# Top-level keys AWS documents for CloudTrail records beyond the table's columns: the fast path
# reads them into ``extra``; a record with any other key sends its file the careful way.
DOCUMENTED_EXTRA = ("tlsDetails", "sessionCredentialFromConsole", "vpcEndpointId", "vpcEndpointAccountId",
                    "apiVersion", "addendum", "edgeDeviceDetails", "insightDetails", "eventContext")
_CANONICAL_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z"
TAG = "_awsrespond_source"
"""Key the fast path adds to each record: the number of its source in the load."""
_MARK = "awsrespond-careful-source:"
_SOURCE_IN_ERROR = re.compile(_MARK + r"(\d+)")
_FILE_IN_ERROR = re.compile(r'in file "([^"]+)"')
# DuckDB's own errors; and its message about a record it cannot read can cut a UTF-8 character in two,
# which the Python binding raises as UnicodeDecodeError instead.
_DUCKDB_ERRORS = (duckdb.Error, UnicodeDecodeError)
BATCH_FILES = 96
"""Files per INSERT: large enough that DuckDB's per-statement cost vanishes, small enough that the
scratch space of a few batches stays in the tens of megabytes."""
JOB_FILES = 24
"""Files per task sent to a worker process; their records share one scratch file (DuckDB reads a
few large files much faster than many small ones)."""
PARSED_ROWS = 100_000
"""Rows of already-parsed files (LookupEvents pages, S3 objects read elsewhere) per INSERT."""
SMALL_LOAD = 16
"""Below this many sources, the load runs in this process (starting workers costs more)."""


@dataclass(frozen=True)
class Source:
    """One log file or object: ``origin`` names it (the ``source`` column, problems); its bytes come
    from ``path`` or are ``data``."""

    origin: str
    path: str | None = None
    data: bytes | None = None


@dataclass
class Chunk:
    """Some sources made ready for DuckDB by a worker: the fast ones in one scratch file (each record
    tagged with its source's number), the careful ones normalised in another."""

    files: int = 0
    fast_file: str | None = None
    fast: dict[int, Source] = field(default_factory=dict)
    careful_file: str | None = None
    careful: list[Source] = field(default_factory=list)
    rows: int = 0
    """Rows in ``careful_file`` (the fast records are counted when inserted)."""
    problems: list[FileProblem] = field(default_factory=list)
    skipped: int = 0


def _delivery_lines(raw: bytes, number: int) -> bytes | None:
    """The records of a compact S3 delivery file, one per line, each tagged with ``number``; None
    for any other shape."""
    if not raw.startswith(_HEAD):
        return None
    end = len(raw)
    while end and raw[end - 1] in b" \t\r\n":
        end -= 1
    if raw[end - 2:end] != b"]}":
        return None
    body = raw[len(_HEAD):end - 2]
    if not body:
        return body
    if not body.startswith(_FIRST) or b"\n" in body or b"\r" in body:
        return None
    # The separator cannot occur inside a string (quotes are escaped there). Where it occurs nested
    # (an object in a list inside a record), the split leaves unbalanced lines that DuckDB rejects,
    # and the file goes the careful way.
    tag = b'{"%s":%d,"eventVersion":' % (TAG.encode(), number)
    return tag + body[len(_FIRST):].replace(_SEPARATOR, b"}\n" + tag) + b"\n"


def _read(source: Source) -> bytes:
    if source.data is not None:
        return source.data
    return Path(source.path or source.origin).read_bytes()


def stage_chunk(sources: list[tuple[int, Source]], scratch: str, name: str, careful: bool = False,
                limit: int = MAX_INFLATED) -> Chunk:
    """Inflate sources and write them for DuckDB (in a worker process, or in this one)."""
    chunk = Chunk(files=len(sources))
    fast_path, careful_path = os.path.join(scratch, f"{name}.fast"), os.path.join(scratch, f"{name}.careful")
    with open(fast_path, "wb") as fast_out, open(careful_path, "wb") as careful_out:
        for number, source in sources:
            try:
                raw = inflate(_read(source), limit)
            except (OSError, InflateError, EOFError) as exc:
                chunk.problems.append(FileProblem(source.origin, None, f"cannot read: {exc}"))
                continue
            if not careful:
                lines = _delivery_lines(raw, number)
                if lines is not None:
                    if lines:
                        fast_out.write(lines)
                        chunk.fast[number] = source
                    continue
            trail = TrailFile(path=source.origin)
            parse_json_bytes(raw, trail)
            del raw
            rows = chunk.rows
            write_careful(trail, careful_out, chunk)
            trail.close()
            chunk.problems.extend(trail.problems)
            chunk.skipped += trail.skipped
            if chunk.rows > rows:
                chunk.careful.append(source)
    chunk.fast_file = _kept(fast_path, bool(chunk.fast))
    chunk.careful_file = _kept(careful_path, bool(chunk.rows))
    return chunk


def _kept(path: str, used: bool) -> str | None:
    if used:
        return path
    os.unlink(path)
    return None


def write_careful(trail: TrailFile, out: BinaryIO, chunk: Chunk) -> None:
    """The records of ``trail``, normalised, one JSON line each; their problems into ``trail``."""
    for number, record in enumerate(trail.records, start=1):
        row, problems = normalise(record, trail.path)
        try:
            line, note = encode_row(row)
        except (RecursionError, ValueError) as exc:
            trail.skip(number, f"cannot be stored: {exc}")
            continue
        for problem in problems if note is None else [*problems, note]:
            trail.problem(number, problem)
        out.write(line)
        out.write(b"\n")
        chunk.rows += 1


def _spec(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"


def _fast_select() -> tuple[str, str]:
    """The read_json column spec of the fast path and the SELECT that normalises its rows."""
    raw: dict[str, str] = {TAG: "UBIGINT"}
    raw.update({name: "VARCHAR" for name in SCALARS})
    raw["userIdentity"] = USER_IDENTITY
    raw.update(dict.fromkeys(BLOBS, "JSON"))
    raw.update(dict.fromkeys(DOCUMENTED_EXTRA, "JSON"))
    refuse = f"error('{_MARK}' || r.{TAG})"
    exprs: dict[str, str] = {}
    for name in SCALARS:
        exprs[name] = f"r.{name}"
    exprs["eventTime"] = (
        f"CASE WHEN r.eventTime IS NULL THEN NULL "
        f"WHEN regexp_full_match(r.eventTime, '{_CANONICAL_TIME}') "
        f"THEN coalesce(try_cast(r.eventTime AS TIMESTAMPTZ), {refuse}) ELSE {refuse} END"
    )
    for name in ("readOnly", "managementEvent"):
        exprs[name] = f"CASE lower(r.{name}) WHEN 'true' THEN true WHEN 'false' THEN false END"
    exprs["userIdentity"] = "r.userIdentity"
    for blob in BLOBS:
        opener = "[" if blob == "resources" else "{"
        exprs[blob] = f"CASE WHEN r.{blob} IS NULL OR starts_with(r.{blob}, '{opener}') THEN r.{blob} ELSE {refuse} END"
    # The documented keys present (JSON null counts as absent, as on the careful path), joined as
    # text: each value is already JSON text from the reader.
    members = ", ".join(f"""CASE WHEN r.{key} IS NOT NULL THEN '"{key}":' || r.{key} END""" for key in DOCUMENTED_EXTRA)
    present = " OR ".join(f"r.{key} IS NOT NULL" for key in DOCUMENTED_EXTRA)
    exprs["extra"] = f"CASE WHEN {present} THEN '{{' || concat_ws(',', {members}) || '}}' END"
    exprs["source"] = f"coalesce(m.origin, {refuse})"
    select = ", ".join(f'{exprs[name]} AS "{name}"' for name in COLUMNS)
    return _spec(raw), select


_FAST_SPEC, _FAST_SELECT = _fast_select()
_CAREFUL_SPEC = _spec(COLUMNS)
_ALLOWED_KEYS = [TAG, *SCALARS, "userIdentity", *BLOBS, *DOCUMENTED_EXTRA]
_TARGET = ", ".join(f'"{name}"' for name in COLUMNS)


class Loader:
    """One load into an :class:`EventStore`; see the module notes."""

    def __init__(self, store: EventStore, *, workers: int | None = None, batch_files: int = BATCH_FILES,
                 job_files: int = JOB_FILES, small_load: int = SMALL_LOAD, scratch_root: str | None = None,
                 max_inflated: int = MAX_INFLATED, check_keys: bool = True,
                 on_batch: Callable[[LoadReport], None] | None = None) -> None:
        """``check_keys=False`` skips the check that sends a delivery file with an undocumented
        top-level key the careful way: a quarter less CPU, but such a key is then dropped, not kept
        in ``extra`` (bench/RESULTS.md, hunt section)."""
        self.store = store
        self.db = store.db
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.batch_files = batch_files
        self.job_files = job_files
        self.small_load = small_load
        self.scratch_root = scratch_root or _scratch_root()
        self.max_inflated = max_inflated
        self.check_keys = check_keys
        self.on_batch = on_batch
        self.report = LoadReport()
        self._scratch = ""
        self._names = 0

    # -- entry points ----------------------------------------------------------------------------

    def run(self, sources: Iterable[Source]) -> LoadReport:
        """Load raw files or objects (fast path where their shape allows)."""
        numbered = enumerate(sources)
        with self._session():
            head = list(itertools.islice(numbered, self.small_load))
            rest = itertools.chain(head, numbered)
            if self.workers <= 1 or len(head) < self.small_load:
                self._consume(self.stage(job) for job in _jobs(rest, self.job_files))
            else:
                self._consume(self._parallel(rest))
        return self.report

    def run_parsed(self, trail_files: Iterable[TrailFile]) -> LoadReport:
        """Load files already parsed into records (the careful path, in this process)."""
        with self._session():
            self._consume(self._write_parsed(trail_files))
        return self.report

    # -- plumbing --------------------------------------------------------------------------------

    def _session(self) -> _Session:
        return _Session(self)

    def _name(self) -> str:
        self._names += 1
        return f"m{self._names:08d}"

    def stage(self, job: list[tuple[int, Source]], careful: bool = False) -> Chunk:
        return stage_chunk(job, self._scratch, self._name(), careful, self.max_inflated)

    def _write_parsed(self, trail_files: Iterable[TrailFile]) -> Iterator[Chunk]:
        chunk = Chunk()
        out = None
        for trail in trail_files:
            if out is None:
                chunk.careful_file = os.path.join(self._scratch, self._name() + ".careful")
                out = open(chunk.careful_file, "wb")  # noqa: SIM115 - closed when the chunk is full
            rows = chunk.rows
            write_careful(trail, out, chunk)
            trail.close()
            chunk.files += 1
            chunk.problems.extend(trail.problems)
            chunk.skipped += trail.skipped
            if chunk.rows > rows:
                chunk.careful.append(Source(trail.path))
            if chunk.rows >= PARSED_ROWS:
                out.close()
                yield chunk
                chunk, out = Chunk(), None
        if out is not None:
            out.close()
        if chunk.files:
            chunk.careful_file = chunk.careful_file if chunk.rows else _kept(chunk.careful_file or "", False)
            yield chunk

    def _parallel(self, numbered: Iterator[tuple[int, Source]]) -> Iterator[Chunk]:
        context = multiprocessing.get_context("spawn")  # never fork a process that runs DuckDB threads
        in_flight = max(2, self.batch_files // self.job_files) + 2 * self.workers
        jobs = _jobs(numbered, self.job_files)
        pending: deque[Future[Chunk]] = deque()
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=context) as pool:
            while True:
                for job in itertools.islice(jobs, in_flight - len(pending)):
                    pending.append(pool.submit(stage_chunk, job, self._scratch, self._name(), False,
                                               self.max_inflated))
                if not pending:
                    return
                yield pending.popleft().result()

    def _consume(self, chunks: Iterable[Chunk]) -> None:
        keyless_before = self._keyless()
        batch: list[Chunk] = []
        files = 0
        for chunk in chunks:
            self.report.files += chunk.files
            self.report.problems.extend(chunk.problems)
            self.report.skipped += chunk.skipped
            batch.append(chunk)
            files += chunk.files
            if files >= self.batch_files:
                self._flush(batch)
                batch, files = [], 0
        if batch:
            self._flush(batch)
        self.report.without_id_or_time += self._keyless() - keyless_before
        loaded = self.store.count()
        self._dedupe()
        self.report.duplicates += loaded - self.store.count()

    def _keyless(self) -> int:
        return self.store.scalar("SELECT count(*) FROM events WHERE eventID IS NULL OR eventTime IS NULL")

    def _flush(self, batch: list[Chunk]) -> None:
        fast = [c for c in batch if c.fast_file]
        redo = self._insert_fast(fast) if fast else []
        careful = [c for c in batch if c.careful_file]
        if redo:
            again = self.stage(redo, careful=True)
            self.report.problems.extend(again.problems)
            self.report.skipped += again.skipped
            if again.careful_file:
                careful.append(again)
        for chunk in careful:
            self._insert_careful(chunk)
        for chunk in [*batch, *careful]:
            for path in (chunk.fast_file, chunk.careful_file):
                if path:
                    _unlink(path)
        if self.on_batch is not None:
            self.on_batch(self.report)

    def _insert_fast(self, chunks: list[Chunk]) -> list[tuple[int, Source]]:
        """Insert the fast files; returns the sources that must go the careful way.

        A record the SQL refuses names its source, which is left out and tried again; a file DuckDB
        cannot read at all (bad UTF-8, broken JSON) names the file, whose sources are then tried one
        by one.
        """
        sources = {n: s for c in chunks for n, s in c.fast.items()}
        files = {c.fast_file or "": c for c in chunks}
        left_out: set[int] = set()
        redo: list[tuple[int, Source]] = []
        checked: set[str] = set()
        while files:
            for number in self._unknown_keys([f for f in files if f not in checked]) - left_out:
                left_out.add(number)
                redo.append((number, sources[number]))
            checked.update(files)
            try:
                self.report.records += self._fast_statement(list(files), sources, left_out)
                self.report.fast_files += sum(n not in left_out for c in files.values() for n in c.fast)
                break
            except _DUCKDB_ERRORS as exc:
                message = str(exc)
                refused = _SOURCE_IN_ERROR.search(message)
                if refused is not None and int(refused.group(1)) in sources:
                    left_out.add(int(refused.group(1)))
                    redo.append((int(refused.group(1)), sources[int(refused.group(1))]))
                    continue
                named = [f for f in _FILE_IN_ERROR.findall(message) if f in files]
                chunk = files.pop(named[0] if named else next(iter(files)))  # unknown cause: each file alone
                remaining = [(n, s) for n, s in chunk.fast.items() if n not in left_out]
                if len(remaining) == 1:
                    redo.extend(remaining)
                    continue
                for n, source in remaining:
                    single = self.stage([(n, source)])
                    redo.extend(self._insert_fast([single]) if single.fast_file else [(n, source)])
                    for path in (single.fast_file, single.careful_file):
                        if path:
                            _unlink(path)
        return redo

    def _unknown_keys(self, files: list[str]) -> set[int]:
        """Sources with a record whose top-level keys are not all known: the SQL would drop such a key,
        the careful path keeps it in ``extra``. (A file DuckDB cannot read is found by the insert.)"""
        if not files or not self.check_keys:
            return set()
        try:
            rows = self.db.execute(
                f"""SELECT DISTINCT json_extract(json, '$.{TAG}')::UBIGINT
                    FROM read_json_objects(?, format='newline_delimited')
                    WHERE NOT list_has_all(?::VARCHAR[], json_keys(json))""",
                [files, _ALLOWED_KEYS],
            ).fetchall()
        except _DUCKDB_ERRORS:
            return set()
        return {int(n) for (n,) in rows if n is not None}

    def _fast_statement(self, files: list[str], sources: dict[int, Source], left_out: set[int]) -> int:
        numbers = [n for n in sources if n not in left_out]
        row = self.db.execute(
            f"""INSERT INTO events ({_TARGET})
                SELECT {_FAST_SELECT}
                FROM read_json(?, format='newline_delimited', columns={_FAST_SPEC}) r
                LEFT JOIN (SELECT unnest(?::UBIGINT[]) AS n, unnest(?::VARCHAR[]) AS origin) m ON m.n = r.{TAG}
                WHERE r.{TAG} NOT IN (SELECT unnest(?::UBIGINT[]))""",
            [files, numbers, [sources[n].origin for n in numbers], sorted(left_out)],
        ).fetchone()
        return int(row[0]) if row else 0

    def _insert_careful(self, chunk: Chunk) -> None:
        if not chunk.careful_file:
            return
        try:
            self.report.records += self._careful_statement(chunk.careful_file)
            return
        except _DUCKDB_ERRORS as exc:
            error = str(exc).splitlines()[0]
        if len(chunk.careful) > 1:  # which source? each alone
            for source in chunk.careful:
                single = self.stage([(0, source)], careful=True)
                if single.careful_file:
                    self._insert_careful(single)
                    _unlink(single.careful_file)
            return
        for source in chunk.careful:
            self.report.problems.append(FileProblem(source.origin, None, f"cannot be stored: {error}"))
        self.report.skipped += chunk.rows

    def _careful_statement(self, file: str) -> int:
        row = self.db.execute(
            f"INSERT INTO events ({_TARGET}) SELECT * FROM read_json(?, format='newline_delimited', "
            f"columns={_CAREFUL_SPEC})",
            [file],
        ).fetchone()
        return int(row[0]) if row else 0

    def _dedupe(self) -> None:
        """Drop the second and later rows of each (eventID, eventTime); the earliest row stays.

        A hash of the pair finds candidate groups with a small hash table; only their rows are
        compared exactly.
        """
        keyed = "eventID IS NOT NULL AND eventTime IS NOT NULL"
        self.db.execute(
            f"""DELETE FROM events WHERE rowid IN (
                SELECT rowid FROM (
                    SELECT rowid, row_number() OVER (PARTITION BY eventID, eventTime ORDER BY rowid) AS rn
                    FROM events
                    WHERE {keyed} AND hash(eventID, eventTime) IN (
                        SELECT hash(eventID, eventTime) FROM events WHERE {keyed} GROUP BY 1 HAVING count(*) > 1)
                ) WHERE rn > 1)"""
        )


def _jobs(numbered: Iterator[tuple[int, Source]], size: int) -> Iterator[list[tuple[int, Source]]]:
    while job := list(itertools.islice(numbered, size)):
        yield job


class _Session:
    """Scratch directory and per-load DuckDB settings, undone at the end."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader

    def __enter__(self) -> None:
        self.loader._scratch = tempfile.mkdtemp(prefix="awsrespond-ingest-", dir=self.loader.scratch_root)
        # Rows of one load need no order (their rowid is their identity); letting DuckDB insert in
        # any order keeps every core busy.
        self.loader.db.execute("SET preserve_insertion_order = false")

    def __exit__(self, *_exc: object) -> None:
        self.loader.db.execute("RESET preserve_insertion_order")
        shutil.rmtree(self.loader._scratch, ignore_errors=True)


def _scratch_root() -> str | None:
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        return shm
    return None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
