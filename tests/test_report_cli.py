"""`awsrespond report --format ...` on a case from an emulated compromise: every format, -o, stdout holds
only the document for the machine formats and only the path for HTML/Markdown, exit codes (1 while
suspicious findings are open, 0 when none, 2 for an unreadable case), no credentials needed, Korean
messages with --lang ko, the newest case by default; write_reports writes every report 0600 in a 0700
directory."""

from __future__ import annotations

import csv
import io
import json
import random
import stat
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from awsrespond.case.workspace import Case
from awsrespond.cli import main
from awsrespond.emulator import EmulatorServer, generate_scenario
from awsrespond.i18n import Lang
from awsrespond.report.exports.case_json import ReportDocument
from awsrespond.report.service import report_names, write_reports
from awsrespond.schemas import shipped
from tests.report_case import BuiltCase, build_case

RNG = random.Random(62)
HANGUL = "\uac00-\ud7a3"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltCase]:
    with EmulatorServer() as server:
        # Triage and hunt only: faster, and the attacker's findings stay open (exit code 1).
        yield build_case(server, generate_scenario(RNG.randrange(10**6)), tmp_path_factory.mktemp("cli") / "case",
                         contain=False)


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a case needs no AWS access: any attempt would fail loudly."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("fmt", ["json", "ocsf", "asff"])
def test_machine_formats_print_only_the_document(built: BuiltCase, capsys: pytest.CaptureFixture[str],
                                                 fmt: str) -> None:
    code, out, err = _run(capsys, "report", "--case", str(built.root), "--format", fmt)
    document = json.loads(out)  # stdout is exactly one JSON document
    if fmt == "json":
        ReportDocument.model_validate(document)
        jsonschema.validate(document, shipped("report"))
    else:
        assert isinstance(document, list) and document
    assert built.seeded.compromised_access_key_id in out
    assert code == 1 and "still open" in err  # nothing was contained


def test_csv_to_stdout_parses(built: BuiltCase, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "report", "--case", str(built.root), "--format", "csv", "--quiet")
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0][:3] == ["id", "severity", "classification"] and len(rows) > 2
    assert any(built.seeded.attacker_ips[0] in cell for row in rows for cell in row)
    assert code == 1


@pytest.mark.parametrize(("fmt", "lang"), [("html", "en"), ("md", "ko")])
def test_documents_are_written_to_the_case_and_their_path_printed(
        built: BuiltCase, capsys: pytest.CaptureFixture[str], fmt: str, lang: str) -> None:
    code, out, err = _run(capsys, "report", "--case", str(built.root), "--format", fmt, "--lang", lang)
    path = Path(out.strip())
    assert out.count("\n") == 1 and path == built.root / "reports" / f"report.{lang}.{fmt}"
    assert path.is_file() and _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert built.seeded.compromised_access_key_id in path.read_text()
    if lang == "ko":
        import re  # noqa: PLC0415

        assert re.search(f"[{HANGUL}]", err), err  # the CLI's own messages are Korean
    assert code == 1


@pytest.mark.parametrize("fmt", ["html", "json", "csv"])
def test_output_file(built: BuiltCase, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    target = tmp_path / "sub" / f"out.{fmt}"
    code, out, _ = _run(capsys, "report", "--case", str(built.root), "--format", fmt, "-o", str(target))
    assert target.is_file() and _mode(target) == 0o600 and target.stat().st_size > 100
    assert out == (f"{target}\n" if fmt == "html" else "")
    assert code == 1


def test_no_open_findings_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "empty"
    Case.create(root, account_id="210987654321", caller_arn="arn:aws:iam::210987654321:user/r")
    code, out, _ = _run(capsys, "report", "--case", str(root), "--format", "json")
    assert code == 0 and json.loads(out)["account"]["id"] == "210987654321"


def test_unreadable_case_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "report", "--case", str(tmp_path), "--format", "json")
    assert code == 2 and out == ""
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "case.json").write_text("{not json")
    code, out, err = _run(capsys, "report", "--case", str(broken), "--format", "csv")
    assert code == 2 and out == "" and "Traceback" not in err
    code, _, _ = _run(capsys, "report", "--case", str(broken), "--format", "pdf")
    assert code == 2


def test_newest_case_by_default(built: BuiltCase, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "report", "--format", "json")
    assert code == 2 and out == "" and "no case" in err
    older = tmp_path / "cases" / "older"
    Case.create(older, account_id="111122223333", caller_arn="arn:aws:iam::111122223333:user/r")
    newest = tmp_path / "cases" / "newest"
    Case.create(newest, account_id="444455556666", caller_arn="arn:aws:iam::444455556666:user/r")
    import os  # noqa: PLC0415

    os.utime(older / "case.json", (1, 1))
    code, out, _ = _run(capsys, "report", "--format", "json")
    assert code == 0 and json.loads(out)["account"]["id"] == "444455556666"


def test_confirm_without_security_hub_is_a_usage_error(built: BuiltCase, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "report", "--case", str(built.root), "--format", "json", "--confirm", "1")
    assert code == 2 and out == ""


@pytest.mark.parametrize("lang", [Lang.EN, Lang.KO])
def test_write_reports_writes_every_report(built: BuiltCase, lang: Lang) -> None:
    written = write_reports(built.root, lang)
    assert set(written) == {"html", "md", "json", "csv", "ocsf", "asff", "aws"}
    names = report_names(lang)
    for key, path in written.items():
        assert path == built.root / "reports" / names[key]
        assert _mode(path) == 0o600 and path.stat().st_size > 0
    assert _mode(built.root / "reports") == 0o700
    assert built.seeded.account_id in written["aws"].read_text()
    assert f'lang="{lang.value}"' in written["html"].read_text()
    # the JSON of the case never includes the reports themselves
    paths = [f.path for f in ReportDocument.model_validate_json(written["json"].read_text()).case_files]
    assert not [p for p in paths if p.startswith("reports/")]
