"""Reading CloudTrail records from local files, whatever shape they were saved in.

Shapes met in practice: S3 delivery objects (``{"Records": [...]}``, gzipped), JSON arrays of
records, JSON lines, and the output of ``aws cloudtrail lookup-events`` (``{"Events": [...]}``
whose ``CloudTrailEvent`` is the record as a JSON string). A file or record that cannot be read is
reported with its place and the rest is read: logs from a compromised account may be damaged.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import orjson
from isal import isal_zlib

GZIP_MAGIC = b"\x1f\x8b"
_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")
MAX_INFLATED = 4 << 30
"""A file that inflates past this many bytes is reported and skipped (a gzip bomb, or not a log)."""
MAX_PROBLEMS_PER_FILE = 50
"""Per-record problems named one by one in a file; past that, one line counts the rest."""
_CHUNK = 8 << 20
_RECORD_KEYS = ("eventName", "eventSource", "eventTime", "eventID")
_LONG_DIGITS = re.compile(r"[0-9]{19}")
_ISAL_ERROR = cast("type[Exception]", isal_zlib.error)  # typed as an instance in isal's stubs


@dataclass(frozen=True)
class FileProblem:
    path: str
    record: int | None  # 1-based record or line number; None for the whole file
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.record}" if self.record is not None else self.path
        return f"{where}: {self.message}"


@dataclass
class TrailFile:
    path: str
    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    shape: str = "unknown"
    skipped: int = 0
    """Items found in the file but not kept as records (each named in ``problems``, up to a limit)."""
    _unnamed: int = 0

    def problem(self, record: int | None, message: str) -> None:
        """Name a problem; past :data:`MAX_PROBLEMS_PER_FILE` record problems only count them."""
        if record is not None and sum(p.record is not None for p in self.problems) >= MAX_PROBLEMS_PER_FILE:
            self._unnamed += 1
            return
        self.problems.append(FileProblem(self.path, record, message))

    def skip(self, record: int | None, message: str) -> None:
        self.skipped += 1
        self.problem(record, message)

    def close(self) -> None:
        """Add the count of problems not named one by one (call once, after the last record)."""
        if self._unnamed:
            self.problems.append(FileProblem(self.path, None, f"{self._unnamed} more record problem(s) not listed"))
            self._unnamed = 0


class InflateError(ValueError):
    pass


def inflate(raw: bytes, limit: int = MAX_INFLATED) -> bytes:
    """The bytes of a gzip file (every member), with isal; plain bytes are returned as they are."""
    if not raw.startswith(GZIP_MAGIC):
        return raw
    out: list[bytes] = []
    size = 0
    data = raw
    try:
        while data:
            engine = isal_zlib.decompressobj(wbits=31)
            chunk = engine.decompress(data, _CHUNK)
            while True:
                size += len(chunk)
                if size > limit:
                    raise InflateError(f"inflates to more than {limit:,} bytes; skipped")
                out.append(chunk)
                tail = engine.unconsumed_tail
                if engine.eof:
                    break
                chunk = engine.decompress(tail, _CHUNK)
                if not chunk and not tail:
                    raise InflateError(f"gzip data ends early (truncated: {len(raw):,} bytes, "
                                       f"{size:,} inflated before the end)")
            data = engine.unused_data
            if data and not data.startswith(GZIP_MAGIC):
                if not data.strip(b"\0"):
                    break
                raise InflateError(f"not gzip data after byte {len(raw) - len(data):,}")
    except _ISAL_ERROR as exc:
        raise InflateError(f"damaged gzip data after {size:,} inflated bytes: {exc}") from exc
    return b"".join(out)


def find_trail_files(paths: Iterable[Path]) -> tuple[list[Path], list[FileProblem]]:
    """Every file under ``paths`` that may hold CloudTrail records, in a stable order.

    CloudTrail digest files (``CloudTrail-Digest/``) hold hashes, not events, and are left out;
    a path that does not exist is a problem, not an exception.
    """
    found: list[Path] = []
    problems: list[FileProblem] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and p.name.endswith(_SUFFIXES) and "CloudTrail-Digest" not in p.parts
            )
        else:
            problems.append(FileProblem(str(path), None, "no such file or directory"))
    return found, problems


def read_trail_file(path: Path) -> TrailFile:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return TrailFile(path=str(path), problems=[FileProblem(str(path), None, f"cannot read: {exc}")])
    return parse_trail_bytes(raw, str(path))


def parse_trail_bytes(raw: bytes, origin: str, *, limit: int = MAX_INFLATED) -> TrailFile:
    """Records from the bytes of one file or S3 object (gzipped or not); ``origin`` names it."""
    result = TrailFile(path=origin)
    try:
        raw = inflate(raw, limit)
    except (InflateError, OSError, EOFError, zlib.error) as exc:
        result.problems.append(FileProblem(result.path, None, f"cannot read: {exc}"))
        return result
    parse_json_bytes(raw, result)
    result.close()
    return result


def loads(text: str) -> Any:
    """orjson where it can (fast), the standard library where orjson refuses (NaN, lone surrogates)
    or would round (integers past 64 bits become floats in orjson), so that what is read does not
    depend on which parser ran."""
    if _LONG_DIGITS.search(text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def parse_json_bytes(raw: bytes, result: TrailFile) -> None:
    """Records from inflated bytes into ``result``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result.problems.append(FileProblem(result.path, None, f"not UTF-8 text: {exc}"))
        return
    try:
        document = loads(text)
    except json.JSONDecodeError as exc:
        if not _looks_like_json_lines(text):
            result.problems.append(FileProblem(result.path, None, f"not JSON: {exc.msg} at character {exc.pos}"))
            return
        result.shape = "json-lines"
        _json_lines(text, result)
        return
    except RecursionError:
        result.problems.append(FileProblem(result.path, None, "not JSON that can be read: nested too deeply"))
        return
    _document(document, result)


def _looks_like_json_lines(text: str) -> bool:
    """Whether one of the first lines is a JSON object on its own (else the file is one damaged document)."""
    lines = (line for line in text.splitlines() if line.strip())
    for _, line in zip(range(10), lines, strict=False):
        try:
            if isinstance(loads(line), dict):
                return True
        except (json.JSONDecodeError, RecursionError):
            continue
    return False


def _document(document: Any, result: TrailFile) -> None:
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        result.shape = "records"
        _add_all(document["Records"], result)
    elif isinstance(document, dict) and isinstance(document.get("Events"), list):
        result.shape = "lookup-events"
        _add_all(document["Events"], result)
    elif isinstance(document, list):
        result.shape = "array"
        _add_all(document, result)
    elif isinstance(document, dict) and "eventName" in document:
        result.shape = "single-record"
        _add(document, 1, result)
    else:
        result.problems.append(FileProblem(result.path, None, "JSON, but no CloudTrail records in it"))
        return
    if result.skipped and not result.records and all(p.record is not None for p in result.problems):
        result.problems.append(FileProblem(result.path, None, "no CloudTrail records in it"))


def _json_lines(text: str, result: TrailFile) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            _add(loads(line), number, result)
        except json.JSONDecodeError as exc:
            result.skip(number, f"not JSON: {exc.msg} at column {exc.colno}")
        except RecursionError:
            result.skip(number, "not JSON that can be read: nested too deeply")


def _add_all(items: list[Any], result: TrailFile) -> None:
    for number, item in enumerate(items, start=1):
        _add(item, number, result)


def _add(item: Any, number: int, result: TrailFile) -> None:
    if isinstance(item, dict) and isinstance(item.get("CloudTrailEvent"), str):
        # LookupEvents: the record itself is a JSON string inside the event summary.
        try:
            item = loads(item["CloudTrailEvent"])
        except json.JSONDecodeError as exc:
            result.skip(number, f"CloudTrailEvent is not JSON: {exc.msg}")
            return
        except RecursionError:
            result.skip(number, "CloudTrailEvent is not JSON that can be read: nested too deeply")
            return
    if not isinstance(item, dict):
        result.skip(number, f"record is a {type(item).__name__}, not an object")
        return
    if not any(key in item for key in _RECORD_KEYS):
        result.skip(number, "not a CloudTrail record (no eventName, eventSource, eventTime or eventID)")
        return
    result.records.append(item)

