"""The exports of a case (JSON, CSV, OCSF, ASFF): no secret, every attacker key, IP, user and created
resource of the seeded ground truth present, every OCSF object a valid Detection Finding, every ASFF
finding within the Security Hub API's model, no live spreadsheet formula in the CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.validate import ParamValidator
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from awsrespond.emulator import EmulatorServer, SeededScenario, generate_scenario
from awsrespond.findings import Classification, Finding, ResourceRef, Severity
from awsrespond.report.casedata import CaseData, FindingStatus, ReportFinding, load_case
from awsrespond.report.exports.asff import AsffFinding, asff_documents, asff_findings, render_asff
from awsrespond.report.exports.case_json import ReportDocument, case_files, render_json
from awsrespond.report.exports.csv_export import FORMULA_START, is_number, render_csv, safe_cell
from awsrespond.report.exports.ocsf import ocsf_findings, render_ocsf
from tests.report_case import BuiltCase, build_case

RNG = random.Random(61)
HOSTILE_USERS = ["=1+2", "+SUM", "@A1", "-2+3", "-12"]  # IAM allows = + @ - in user names
SECRET_KEYS = ("secret", "password", "token")


def _plant(server: EmulatorServer, seeded: SeededScenario) -> None:
    iam = server.factory().client("iam")
    for name in HOSTILE_USERS:
        iam.create_user(UserName=name, Tags=[{"Key": "=cmd|' /C calc'!A0", "Value": "\t=HYPERLINK(\"x\")"}])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltCase]:
    with EmulatorServer() as server:
        yield build_case(server, generate_scenario(RNG.randrange(10**6)), tmp_path_factory.mktemp("exports") / "case",
                         plant=_plant)


@pytest.fixture(scope="module")
def data(built: BuiltCase) -> CaseData:
    return load_case(built.root)


@pytest.fixture(scope="module")
def exports(data: CaseData) -> dict[str, str]:
    return {"json": render_json(data), "csv": render_csv(data), "ocsf": render_ocsf(data), "asff": render_asff(data)}


def _secret_values(root: Path) -> list[str]:
    values: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and any(word in key.lower() for word in SECRET_KEYS):
            values.append(value)

    for path in sorted((root / "secrets").glob("*.json")):
        walk(json.loads(path.read_text()))
    return values


def test_no_secret_in_any_export(built: BuiltCase, exports: dict[str, str]) -> None:
    secrets = _secret_values(built.root)
    assert len(secrets) >= 2, "the recovery must have written a new key and a password into secrets/"
    for name, text in exports.items():
        for secret in secrets:
            assert secret not in text, f"a secret from secrets/ is in the {name} export"
    document = ReportDocument.model_validate_json(exports["json"])
    assert all(not f.path.startswith("secrets") for f in document.case_files)
    assert any(f.path == "triage.json" for f in document.case_files)


def test_case_json_validates_and_holds_the_case(built: BuiltCase, data: CaseData, exports: dict[str, str]) -> None:
    document = ReportDocument.model_validate_json(exports["json"])
    assert document.account.id == data.account_id == built.seeded.account_id
    assert len(document.findings) == len(data.findings) > 0
    assert document.actions and document.plans and document.checklist is not None
    files = {f.path: f for f in document.case_files}
    assert files["triage.json"].kind == "json" and files["triage.json"].content["account"]
    assert files["findings.json"].content["findings"]
    journal = files["contain/journal.jsonl"]
    assert journal.kind == "jsonl" and isinstance(journal.content, list) and len(journal.content) > 1
    assert any(p.startswith("contain/plans/") and f.kind == "json" for p, f in files.items())
    assert any(p.startswith("recovery/") and f.kind == "json" for p, f in files.items())
    store = [f for p, f in files.items() if p.startswith("events/")]
    assert store and all(f.kind == "file" and f.content is None and len(f.sha256) == 64 for f in store)
    logs = [f for p, f in files.items() if p.startswith("logs/")]
    assert logs and all(f.content is None for f in logs)
    import hashlib  # noqa: PLC0415

    sample = store[0]
    assert hashlib.sha256((built.root / sample.path).read_bytes()).hexdigest() == sample.sha256


def test_exit_code_follows_open_findings(built: BuiltCase, data: CaseData,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from awsrespond.cli import main  # noqa: PLC0415

    code = main(["report", "--case", str(built.root), "--format", "ocsf", "--quiet"])
    assert json.loads(capsys.readouterr().out)
    assert code == (1 if data.open_findings else 0)
    assert len(data.open_findings) < len([f for f in data.findings if f.finding.suspicious])  # containment counted


def test_case_files_skip_secrets_links_and_reports(built: BuiltCase, tmp_path: Path) -> None:
    root = tmp_path / "case"
    shutil.copytree(built.root, root)
    secret = next((root / "secrets").glob("*.json"))
    os.symlink(secret, root / "innocent.json")
    os.symlink(root / "secrets", root / "recovery" / "more")
    (root / "reports").mkdir(exist_ok=True)
    (root / "reports" / "report.json").write_text("{}")
    paths = [f.path for f in case_files(root)]
    assert "innocent.json" not in paths and "reports/report.json" not in paths
    assert not [p for p in paths if "secrets" in p or p.startswith("recovery/more")]
    assert "triage.json" in paths  # the walk did run


def _truth(seeded: SeededScenario) -> dict[str, list[str]]:
    return {
        "key": [seeded.compromised_access_key_id],
        "ip": list(seeded.attacker_ips),
        "user": [seeded.attacker_user],
        "created": [a.id for a in seeded.attacker_artefacts],
    }


def test_ground_truth_in_every_export(built: BuiltCase, data: CaseData, exports: dict[str, str]) -> None:
    truth = _truth(built.seeded)
    assert truth["ip"] and truth["created"]
    found = {a.finding.resource.id for a in data.findings} | {f.finding.access_key_id for f in data.findings}
    covered = [i for i in truth["created"] if i in found]
    assert len(covered) >= len(truth["created"]) * 0.8, f"findings miss attacker resources: {truth['created']}"
    for name, text in exports.items():
        for kind in ("key", "ip", "user"):
            for value in truth[kind]:
                assert value in text, f"{kind} {value} missing from the {name} export"
        for value in covered:
            assert value in text, f"created resource {value} missing from the {name} export"


def test_ocsf_objects_are_detection_findings(data: CaseData) -> None:
    objects = json.loads(json.dumps(ocsf_findings(data)))
    assert len(objects) == len(data.findings)
    for obj in objects:
        model = DetectionFinding.model_validate(obj)
        assert obj["class_uid"] == 2004 and obj["category_uid"] == 2 and obj["activity_id"] == 1
        assert obj["type_uid"] == 200401 and obj["cloud"]["provider"] == "AWS"
        assert obj["cloud"]["account"]["uid"] == data.account_id
        assert obj["metadata"]["product"]["name"] == "awsrespond" and obj["metadata"]["version"] == "1.5.0"
        for key in ("uid", "title", "desc", "types"):
            assert obj["finding_info"][key]
        _assert_kept(obj, json.loads(model.model_dump_json(exclude_none=True)))
    severities = {o["severity_id"] for o in objects}
    assert severities <= {1, 2, 3, 4, 5} and len(severities) > 1
    assert {o["status_id"] for o in objects} & {4}, "contained findings are Resolved"


def _assert_kept(ours: Any, model: Any, path: str = "") -> None:
    """Every value we wrote survives the OCSF model (no field silently dropped as unknown)."""
    if isinstance(ours, dict):
        assert isinstance(model, dict), path
        for key, value in ours.items():
            assert key in model, f"{path}/{key} is not in the OCSF model"
            _assert_kept(value, model[key], f"{path}/{key}")
    elif isinstance(ours, list):
        assert isinstance(model, list) and len(model) == len(ours), path
        for i, (a, b) in enumerate(zip(ours, model, strict=True)):
            _assert_kept(a, b, f"{path}[{i}]")
    elif isinstance(ours, str) and isinstance(model, str) and ours.endswith("Z") and "T" in ours:
        assert datetime.fromisoformat(ours.replace("Z", "+00:00")) == datetime.fromisoformat(
            model.replace("Z", "+00:00")), path
    else:
        assert ours == model, f"{path}: {ours!r} != {model!r}"


def test_asff_findings_fit_the_model_and_the_api(data: CaseData, exports: dict[str, str]) -> None:
    documents = json.loads(exports["asff"])
    assert len(documents) == len(data.findings)
    shape = boto3.session.Session(region_name="us-east-1").client("securityhub")._service_model.operation_model(
        "BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": documents[:100]}, shape)
    assert not report.has_errors(), report.generate_report()
    for doc in documents:
        finding = AsffFinding.model_validate(doc)
        assert doc["SchemaVersion"] == "2018-10-08" and doc["AwsAccountId"] == data.account_id
        assert doc["ProductArn"].endswith(f":{data.account_id}:product/{data.account_id}/default")
        assert doc["CreatedAt"].endswith("Z") and doc["UpdatedAt"].endswith("Z")
        assert 1 <= len(doc["Resources"]) <= 32 and len(doc["Title"]) <= 256 and len(doc["Description"]) <= 1024
        assert all(k.startswith("awsrespond/") and len(v) <= 2048 for k, v in doc["ProductFields"].items())
        assert finding.Workflow.Status in ("NEW", "RESOLVED")
    by_status = {d["ProductFields"]["awsrespond/Status"]: d["Workflow"]["Status"] for d in documents}
    assert by_status.get("contained") == "RESOLVED" and by_status.get("open", "NEW") == "NEW"
    assert any(d["Types"][0].startswith("TTPs/") for d in documents)


def test_asff_cuts_long_hostile_text_to_the_limits(data: CaseData) -> None:
    long = "x" * 5000
    item = data.findings[0]
    hostile = item.finding.model_copy(update={"title": "\x1b[31m" + long, "recommendation": " \n" + long,
                                              "rule": "r/" + long, "principal": long})
    one = CaseData(**{**data.__dict__, "findings": [ReportFinding(hostile, item.status, item.actions)]})
    doc = asff_documents(asff_findings(one, "eu-west-1"))[0]
    AsffFinding.model_validate(doc)
    assert len(doc["Title"]) == 256 and "\x1b" not in doc["Title"]
    assert len(doc["Remediation"]["Recommendation"]["Text"]) <= 512
    assert ":securityhub:eu-west-1:" in doc["ProductArn"]


# --- CSV ---------------------------------------------------------------------------------------------

def _live_formula(cell: str) -> bool:
    return bool(cell) and cell[0] in FORMULA_START and not is_number(cell)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_of_the_case_has_no_live_formula(data: CaseData, exports: dict[str, str]) -> None:
    rows = _rows(exports["csv"])
    assert len(rows) == len(data.findings) + 1 and len({len(r) for r in rows}) == 1
    cells = [c for r in rows for c in r]
    assert not [c for c in cells if _live_formula(c)]
    planted = [c for c in cells if c.lstrip("'") in HOSTILE_USERS]
    assert planted, "the planted user names must reach the CSV (else this test proves nothing)"
    assert "-12" in cells or "-12" not in planted  # a number stays a number
    assert [c for c in planted if c.startswith("'")]


PAYLOADS = ["=1+2", "+1+2", "-1+2", "@SUM(A1:A9)", "\t=cmd", "\r=cmd", "=HYPERLINK(\"http://x\",\"y\")",
            " =1", "\u200b=1", "\x1b[31m=red", "-12.5", "+3", "1e5", "-", "=", "a\nb", "x\x00y"]


def _hostile_case(data: CaseData, values: list[str]) -> CaseData:
    findings = []
    for number, value in enumerate(values):
        finding = Finding(id=f"f{number}", rule=value, title=value, severity=Severity.HIGH,
                          classification=Classification.ATTACKER_CREATED,
                          resource=ResourceRef(type="AWS::IAM::User", id=value, region="global", arn=value),
                          principal=value, access_key_id=value, source_ip=value, recommendation=value,
                          mitre=[value], first_seen=datetime(2026, 1, 2, tzinfo=UTC), count=3)
        findings.append(ReportFinding(finding, FindingStatus.OPEN, ()))
    return CaseData(**{**data.__dict__, "findings": findings})


def test_csv_neutralises_planted_payloads(data: CaseData) -> None:
    rows = _rows(render_csv(_hostile_case(data, PAYLOADS)))[1:]
    for row, payload in zip(rows, PAYLOADS, strict=True):
        assert not [c for c in row if _live_formula(c)], (payload, row)
        cell = row[5]  # title
        if is_number(payload):
            assert cell == payload
        elif payload[0] in "=+-@\t\r":
            assert cell.startswith("'")
    assert rows[PAYLOADS.index("a\nb")][5] == "a b" and rows[PAYLOADS.index("x\x00y")][5] == "xy"
    assert rows[0][15] == "3"  # count stays a number


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_safe_cell_never_leaves_a_formula(value: str) -> None:
    cell = safe_cell(value)
    assert not _live_formula(cell)
    assert not any(ord(ch) < 32 or 0x7f <= ord(ch) <= 0x9f for ch in cell)
    if is_number(value):
        assert cell == value


@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_numbers_stay_numbers(number: float) -> None:
    assert safe_cell(repr(number)) == repr(number)
    assert safe_cell(str(-abs(number))) == str(-abs(number))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=20), min_size=1, max_size=5))
def test_csv_round_trips_through_the_csv_module(values: list[str]) -> None:
    base = CaseData(root=Path("/nonexistent"), account_id="123456789012", case_id="c", created="", caller_arn="",
                    alias=None, window_since=None, window_until=None, commands=[], findings=[], sessions=[],
                    attacker=load_attacker(), regions_touched={}, cost_curve=None, attack_cost=None, plans=[],
                    actions=[], checklist=None, harden=None, coverage=[], hunt_errors=[], notes=[], evidence=[])
    rows = _rows(render_csv(_hostile_case(base, values)))
    assert len(rows) == len(values) + 1
    for row, value in zip(rows[1:], values, strict=True):
        assert row[5] == safe_cell(value)
        assert not [c for c in row if _live_formula(c)]


def load_attacker() -> Any:
    from awsrespond.report.casedata import Attacker  # noqa: PLC0415

    return Attacker()
