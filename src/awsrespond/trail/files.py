"""Reading CloudTrail records from local files, whatever shape they were saved in.

Shapes met in practice: S3 delivery objects (``{"Records": [...]}``, gzipped), JSON arrays of
records, JSON lines, and the output of ``aws cloudtrail lookup-events`` (``{"Events": [...]}``
whose ``CloudTrailEvent`` is the record as a JSON string). A file or record that cannot be read is
reported with its place and the rest is read: logs from a compromised account may be damaged.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GZIP_MAGIC = b"\x1f\x8b"
_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")


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


def parse_trail_bytes(raw: bytes, origin: str) -> TrailFile:
    """Records from the bytes of one file or S3 object (gzipped or not); ``origin`` names it."""
    result = TrailFile(path=origin)
    try:
        if raw.startswith(GZIP_MAGIC):
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        result.problems.append(FileProblem(result.path, None, f"cannot read: {exc}"))
        return result
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result.problems.append(FileProblem(result.path, None, f"not UTF-8 text: {exc}"))
        return result
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        result.shape = "json-lines"
        _json_lines(text, result)
        return result
    _document(document, result)
    return result


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


def _json_lines(text: str, result: TrailFile) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            _add(json.loads(line), number, result)
        except json.JSONDecodeError as exc:
            result.problems.append(FileProblem(result.path, number, f"not JSON: {exc.msg} at column {exc.colno}"))


def _add_all(items: list[Any], result: TrailFile) -> None:
    for number, item in enumerate(items, start=1):
        _add(item, number, result)


def _add(item: Any, number: int, result: TrailFile) -> None:
    if isinstance(item, dict) and isinstance(item.get("CloudTrailEvent"), str):
        # LookupEvents: the record itself is a JSON string inside the event summary.
        try:
            item = json.loads(item["CloudTrailEvent"])
        except json.JSONDecodeError as exc:
            result.problems.append(FileProblem(result.path, number, f"CloudTrailEvent is not JSON: {exc.msg}"))
            return
    if not isinstance(item, dict):
        result.problems.append(FileProblem(result.path, number, f"record is a {type(item).__name__}, not an object"))
        return
    result.records.append(item)

