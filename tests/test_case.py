"""The case workspace: private, hashed, redacted evidence."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from awsrespond.case.redact import redact
from awsrespond.case.workspace import Case, default_case_dir, newest_case
from awsrespond.errors import UsageError

ACCOUNT = "123456789012"


def test_case_is_private_and_reopens_for_the_same_account(tmp_path: Path) -> None:
    root = tmp_path / "cases" / "c1"
    case = Case.create(root, account_id=ACCOUNT, caller_arn="arn:aws:iam::123456789012:user/responder")
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "secrets").stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "case.json").stat().st_mode) == 0o600
    case.record_command("triage", findings=3)
    again = Case.create(root, account_id=ACCOUNT, caller_arn="x")
    assert [c.command for c in again.manifest.commands] == ["triage"]
    with pytest.raises(UsageError, match="case of account"):
        Case.create(root, account_id="999999999999", caller_arn="x")


def test_refuses_a_directory_that_is_not_a_case(tmp_path: Path) -> None:
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("hi")
    with pytest.raises(UsageError, match="not an awsrespond case"):
        Case.create(tmp_path / "stuff", account_id=ACCOUNT, caller_arn="x")


def test_evidence_is_hashed_indexed_and_redacted(tmp_path: Path) -> None:
    case = Case.create(tmp_path / "c", account_id=ACCOUNT, caller_arn="x")
    response = {
        "Functions": [{"FunctionName": "f", "Environment": {"Variables": {"DB_PASSWORD": "hunter2-secret"}}}],
        "UserData": "IyEvYmluL3NoCmN1cmwgZXZpbA==",
        "AccessKey": {"AccessKeyId": "AKIAEXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG"},
        "ResponseMetadata": {"RequestId": "r"},
    }
    ref = case.evidence.put(service="lambda", operation="ListFunctions", region="eu-west-1", response=response)
    case.evidence.flush()
    written = (case.root / ref.file).read_bytes()
    assert hashlib.sha256(written).hexdigest() == ref.sha256
    text = written.decode()
    for secret in ("hunter2-secret", "IyEvYmluL3NoCmN1cmwgZXZpbA==", "wJalrXUtnFEMI/K7MDENG"):
        assert secret not in text
    assert "DB_PASSWORD" in text and "AKIAEXAMPLE" in text and "RequestId" not in text
    index = json.loads((case.root / "evidence" / "index.json").read_text())
    assert index["files"][0]["sha256"] == ref.sha256
    assert stat.S_IMODE((case.root / ref.file).stat().st_mode) == 0o600


def test_redaction_keeps_a_comparable_hash() -> None:
    a = redact({"UserData": "x"})
    b = redact({"UserData": "x"})
    c = redact({"UserData": "y"})
    assert a == b != c
    assert redact({"containerDefinitions": [{"environment": [{"name": "K", "value": "secret"}]}]}) == {
        "containerDefinitions": [{"environment": [{"name": "K", "value": redact({"UserData": "secret"})["UserData"]}]}]
    }


def test_default_and_newest_case(tmp_path: Path) -> None:
    when = datetime(2026, 11, 28, 1, 2, 3, tzinfo=UTC)
    assert default_case_dir(ACCOUNT, when, tmp_path).name == "123456789012-20261128T010203Z"
    with pytest.raises(UsageError):
        newest_case(tmp_path)
    Case.create(tmp_path / "a", account_id=ACCOUNT, caller_arn="x")
    assert newest_case(tmp_path) == tmp_path / "a"
