"""A case directory: one incident, one account, everything the commands learn and do.

Layout::

    <case>/case.json          manifest: case id, account, commands run
    <case>/findings.json      the current findings (triage and hunt)
    <case>/triage.json        the last triage result (account, inventory, coverage)
    <case>/evidence/...       raw API responses, redacted, each listed with its SHA-256
    <case>/evidence/index.json
    <case>/secrets/           new keys and passwords only; 0600 files; never exported

Directories are created 0700 and files 0600: a case holds an account's IAM configuration.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from awsrespond.case.redact import redact
from awsrespond.errors import UsageError
from awsrespond.findings import EvidenceRef, Finding
from awsrespond.timeutil import iso, now_utc

CASES_ROOT = Path("cases")


class CommandRecord(BaseModel):
    model_config = ConfigDict(extra="allow")
    command: str
    at: datetime


class CaseManifest(BaseModel):
    """``case.json``."""

    model_config = ConfigDict(extra="forbid")
    case_id: str
    account_id: str
    created: datetime
    created_by: str
    commands: list[CommandRecord] = Field(default_factory=list)


class EvidenceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    sha256: str
    service: str
    operation: str
    region: str


class EvidenceIndex(BaseModel):
    """``evidence/index.json``: every evidence file with its SHA-256."""

    model_config = ConfigDict(extra="forbid")
    files: list[EvidenceEntry]


class FindingsFile(BaseModel):
    """``findings.json``: the case's current findings from every command."""

    model_config = ConfigDict(extra="forbid")
    updated: datetime
    findings: list[Finding]
_SAFE_PART = re.compile(r"[^A-Za-z0-9._-]+")


def default_case_dir(account_id: str, when: datetime | None = None, root: Path = CASES_ROOT) -> Path:
    stamp = (when or now_utc()).strftime("%Y%m%dT%H%M%SZ")
    return root / f"{account_id}-{stamp}"


def newest_case(root: Path = CASES_ROOT) -> Path:
    candidates = [p for p in root.glob("*/case.json")] if root.is_dir() else []
    if not candidates:
        raise UsageError(f"no case found under {root}/; run `awsrespond triage` first or pass --case DIR")
    return max(candidates, key=lambda p: p.stat().st_mtime).parent


def _json_bytes(value: Any, *, compact: bool = False) -> bytes:
    # Evidence is compact: pretty-printing hundreds of raw responses costs real CPU in a sweep.
    return json.dumps(value, indent=None if compact else 2, separators=(",", ":") if compact else None,
                      sort_keys=True, default=_json_default, ensure_ascii=False).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, bytes):
        return {"bytes_sha256": hashlib.sha256(value).hexdigest(), "length": len(value)}
    if hasattr(value, "read"):  # a streaming body must never be dumped by accident
        return "<stream>"
    return str(value)


def write_private(path: Path, data: bytes, *, durable: bool = True, parent_exists: bool = False) -> None:
    """Atomically write ``data`` to ``path`` with mode 0600; fsynced unless ``durable`` is False."""
    if not parent_exists:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class EvidenceStore:
    """Stores raw, redacted API responses and indexes them by SHA-256. Thread-safe."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._index: dict[str, dict[str, Any]] = {}
        self._made_dirs: set[Path] = set()
        index_file = root / "index.json"
        if index_file.exists():
            for entry in json.loads(index_file.read_text()).get("files", []):
                self._index[entry["file"]] = entry

    def put(self, *, service: str, operation: str, region: str, response: Any, suffix: str = "") -> EvidenceRef:
        """Store one API response (or a list of pages) and return its reference."""
        name = f"{service}.{operation}"
        if suffix:
            name += "." + _SAFE_PART.sub("_", suffix)[:120]
        rel = Path("evidence") / _SAFE_PART.sub("_", region) / f"{name}.json"
        body = {
            "service": service,
            "operation": operation,
            "region": region,
            "captured_at": iso(now_utc()),
            "response": redact(_strip_metadata(response)),
        }
        data = _json_bytes(body, compact=True)
        digest = hashlib.sha256(data).hexdigest()
        target = self.root.parent / rel
        with self._lock:
            known = target.parent in self._made_dirs
        if not known:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with self._lock:
                self._made_dirs.add(target.parent)
        # Evidence is re-collected by running triage again; the index is fsynced at flush.
        write_private(target, data, durable=False, parent_exists=True)
        entry = {"file": rel.as_posix(), "sha256": digest, "service": service, "operation": operation,
                 "region": region}
        with self._lock:
            self._index[entry["file"]] = entry
        return EvidenceRef(file=rel.as_posix(), sha256=digest)

    def flush(self) -> None:
        with self._lock:
            files = sorted(self._index.values(), key=lambda e: e["file"])
        write_private(self.root / "index.json", _json_bytes({"files": files}))


def _strip_metadata(response: Any) -> Any:
    if isinstance(response, Mapping):
        return {k: _strip_metadata(v) for k, v in response.items() if k != "ResponseMetadata"}
    if isinstance(response, list):
        return [_strip_metadata(v) for v in response]
    return response


class Case:
    """An open case directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.evidence = EvidenceStore(root / "evidence")

    @classmethod
    def create(cls, root: Path, *, account_id: str, caller_arn: str) -> Case:
        """Create ``root`` (0700) or reopen it if it is a case of the same account."""
        manifest_path = root / "case.json"
        if manifest_path.exists():
            case = cls.open(root)
            if case.account_id != account_id:
                raise UsageError(
                    f"{root} is a case of account {case.account_id}, not {account_id}; choose another --case"
                )
            return case
        if root.exists() and any(root.iterdir()):
            raise UsageError(f"{root} exists and is not an awsrespond case; choose another --case")
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        for sub in ("evidence", "secrets"):
            (root / sub).mkdir(mode=0o700, exist_ok=True)
        case = cls(root)
        manifest = CaseManifest(case_id=root.name, account_id=account_id, created=now_utc(), created_by=caller_arn)
        case.write_json("case.json", manifest.model_dump(mode="json"))
        return case

    @classmethod
    def open(cls, root: Path) -> Case:
        if not (root / "case.json").exists():
            raise UsageError(f"{root} is not an awsrespond case (no case.json)")
        return cls(root)

    @property
    def manifest(self) -> CaseManifest:
        return CaseManifest.model_validate_json((self.root / "case.json").read_bytes())

    @property
    def account_id(self) -> str:
        return self.manifest.account_id

    @property
    def case_id(self) -> str:
        return self.manifest.case_id

    def record_command(self, command: str, **details: Any) -> None:
        manifest = self.manifest
        manifest.commands.append(CommandRecord(command=command, at=now_utc(), **details))
        self.write_json("case.json", manifest.model_dump(mode="json"))

    def findings(self) -> FindingsFile | None:
        path = self.root / "findings.json"
        return FindingsFile.model_validate_json(path.read_bytes()) if path.exists() else None

    def write_findings(self, findings: list[Finding]) -> None:
        document = FindingsFile(updated=now_utc(), findings=findings)
        self.write_json("findings.json", document.model_dump(mode="json"))

    def write_json(self, name: str, value: Any) -> Path:
        if name.startswith("secrets"):
            raise UsageError("secrets are written with write_secret, never as case JSON")
        path = self.root / name
        write_private(path, _json_bytes(value))
        return path

    def read_json(self, name: str) -> Any:
        path = self.root / name
        if not path.exists():
            return None
        return json.loads(path.read_text())

    def write_secret(self, name: str, value: dict[str, Any]) -> str:
        """Write a new credential to ``secrets/NAME`` (0600, fsynced, never overwritten).

        Only containment and recovery create secrets; nothing else reads this directory.
        """
        if "/" in name or name.startswith("."):
            raise UsageError(f"bad secret name {name!r}")
        directory = self.root / "secrets"
        directory.mkdir(mode=0o700, exist_ok=True)
        path = directory / name
        if path.exists():
            raise UsageError(f"{path} exists: a secret is never overwritten")
        write_private(path, _json_bytes(value))
        return f"secrets/{name}"

    def read_secret(self, name: str) -> dict[str, Any] | None:
        path = self.root / "secrets" / name
        if not path.exists():
            return None
        value: dict[str, Any] = json.loads(path.read_text())
        return value
