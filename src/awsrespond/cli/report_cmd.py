"""``awsrespond report --format html|md|json|csv|ocsf|asff``: one report or export of a case.

HTML and Markdown are written to ``<case>/reports/`` (or ``-o``) and their path is printed on stdout; the
machine formats go to stdout as the only output (or to ``-o``). Reading needs no credentials: only
``--to-security-hub`` connects, and only after the typed account id or ``--confirm``.
Exit codes: 2 usage or unreadable case; 1 suspicious findings left open; 3 Security Hub refused some; else 0.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from awsrespond.aws.clients import SessionSpec
from awsrespond.case.workspace import newest_case
from awsrespond.cli import options as opt
from awsrespond.cli.triage_cmd import connect
from awsrespond.cli.ui import Ui, safe
from awsrespond.cli.ui import fill as ui_fill
from awsrespond.errors import SafetyError, UsageError
from awsrespond.i18n import Lang, Messages
from awsrespond.report.casedata import CaseData, load_case
from awsrespond.report.exports.asff import AsffFinding, asff_documents, asff_findings, default_region
from awsrespond.report.exports.case_json import REPORTS_DIR
from awsrespond.report.securityhub import SecurityHubNotEnabled, import_findings
from awsrespond.report.service import renderers, report_names, write_one
from awsrespond.textsafe import one_line

EXIT_OK, EXIT_SUSPICIOUS, EXIT_ERROR, EXIT_PARTIAL = 0, 1, 2, 3


class ReportFormat(StrEnum):
    HTML = "html"
    MD = "md"
    JSON = "json"
    CSV = "csv"
    OCSF = "ocsf"
    ASFF = "asff"


DOCUMENT_FORMATS = (ReportFormat.HTML, ReportFormat.MD)  # written to a file, path on stdout


def open_case(case_dir: Path | None, msg: Messages) -> CaseData:
    root = case_dir if case_dir is not None else newest_case()
    try:
        return load_case(root)
    except (ValidationError, OSError, ValueError) as exc:
        raise UsageError(msg.t("unreadable_case", path=root, reason=one_line(exc, 200))) from exc


def render(data: CaseData, fmt: ReportFormat, lang: Lang, asff: list[AsffFinding] | None = None) -> str:
    if fmt is ReportFormat.ASFF and asff is not None:
        return json_text(asff)
    available = renderers(lang)
    if fmt.value not in available:
        raise UsageError(Messages(lang, "report_cmd").t("not_available", fmt=fmt.value))
    return available[fmt.value](data)


def report_main(
    ctx: typer.Context,
    case: Annotated[Path | None, typer.Option("--case", file_okay=False,
                                              help="Case directory (default: the newest under ./cases/).")] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", case_sensitive=False,
                                              help="html or md (a file; its path on stdout), json, csv, ocsf, "
                                                   "asff (the document on stdout).")] = ReportFormat.HTML,
    lang: opt.Language = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE", dir_okay=False,
                                                help="Write the report here (mode 0600) instead.")] = None,
    to_security_hub: Annotated[bool, typer.Option(
        "--to-security-hub", help="Also import the ASFF findings into Security Hub (BatchImportFindings): a write, "
                                  "confirmed by the typed account id or --confirm.")] = False,
    confirm: Annotated[str | None, typer.Option("--confirm", metavar="ACCOUNT_ID",
                                                help="Non-interactive confirmation for --to-security-hub.")] = None,
    region: Annotated[str | None, typer.Option("--region", metavar="REGION",
                                               help="Security Hub region (default: the CloudTrail home region "
                                                    "of the case, else us-east-1).")] = None,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
) -> int:
    """Write a report or export of a case. `report aws` writes the text for AWS."""
    if ctx.invoked_subcommand is not None:
        return EXIT_OK
    ui = Ui(quiet=quiet, lang=lang)
    msg = Messages(ui.lang, "report_cmd")
    if confirm is not None and not to_security_hub:
        raise UsageError(msg.t("sh.needs_confirm_option"))
    data = open_case(case, msg)
    ui.info(fill(msg, "case", path=data.root))
    for problem in data.problems:
        ui.warn(fill(msg, "problem", problem=problem))

    target_region = region or default_region(data)
    asff = asff_findings(data, target_region) if fmt is ReportFormat.ASFF or to_security_hub else None
    text = render(data, fmt, ui.lang, asff)
    if output is not None:
        path = write_one(output, text)
        if fmt in DOCUMENT_FORMATS:
            _stdout(str(path))
        else:
            ui.info(fill(msg, "written", path=path))
    elif fmt in DOCUMENT_FORMATS:
        path = write_one(data.root / REPORTS_DIR / report_names(ui.lang)[fmt.value], text)
        _stdout(str(path))
    else:
        _stdout(text, newline=False)

    code = EXIT_OK
    if to_security_hub:
        code = _security_hub(ui, msg, data, asff or [], target_region, output if fmt is ReportFormat.ASFF else None,
                             confirm=confirm, profile=profile, endpoint_url=endpoint_url)
    if data.open_findings:
        ui.info(Text(msg.t("open_findings", count=len(data.open_findings)), style="yellow"))
    else:
        ui.info(Text(msg.t("all_contained"), style="green"))
    if code != EXIT_OK:
        return code
    return EXIT_SUSPICIOUS if data.open_findings else EXIT_OK


def fill(msg: Messages, key: str, **values: object) -> Text:
    return ui_fill(msg.t(key), "", **values)


def _stdout(text: str, *, newline: bool = True) -> None:
    sys.stdout.write(text + ("\n" if newline else ""))
    sys.stdout.flush()


def _security_hub(ui: Ui, msg: Messages, data: CaseData, findings: list[AsffFinding], region: str,
                  written: Path | None, *, confirm: str | None, profile: str | None,
                  endpoint_url: str | None) -> int:
    if not findings:
        ui.info(msg.t("sh.no_findings"))
        return EXIT_OK
    kept = written or write_one(data.root / REPORTS_DIR / report_names(ui.lang)["asff"],
                                json_text(findings))
    table = Table(title=fill(msg, "sh.title", region=region, account=data.account_id, count=len(findings)),
                  title_justify="left", box=None, pad_edge=False)
    for column in ("id", "severity", "workflow", "title"):
        table.add_column(msg.t(f"sh.column.{column}"), overflow="fold")
    for f in findings:
        table.add_row(safe(f.Id), safe(f.Severity.Label), safe(f.Workflow.Status), safe(f.Title))
    ui.err.print(table)  # what is sent is shown even with --quiet: it is a write
    if confirm is not None:
        if confirm.strip() != data.account_id:
            raise SafetyError(msg.t("sh.wrong_confirm", confirm=confirm, account=data.account_id))
    elif not sys.stdin.isatty():
        raise SafetyError(msg.t("sh.no_terminal"))
    else:
        ui.err.print(fill(msg, "sh.prompt", account=data.account_id), end="")
        if sys.stdin.readline().strip() != data.account_id:
            raise SafetyError(msg.t("sh.wrong_typed"))
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url, region=region))
    if identity.account_id != data.account_id:
        raise SafetyError(msg.t("sh.wrong_account", actual=identity.account_id, account=data.account_id))
    try:
        result = import_findings(factory, findings, region)
    except SecurityHubNotEnabled:
        ui.error(msg.t("sh.not_enabled", region=region))
        ui.err.print(fill(msg, "sh.files_kept", path=kept))
        return EXIT_ERROR
    for failed in result.failed:
        ui.warn(fill(msg, "sh.failed", id=failed.id, code=failed.code, message=failed.message))
    ui.err.print(fill(msg, "sh.done", ok=result.succeeded, sent=result.sent, region=region, calls=result.calls))
    return EXIT_PARTIAL if result.failed else EXIT_OK


def json_text(findings: list[AsffFinding]) -> str:
    return json.dumps(asff_documents(findings), indent=2, ensure_ascii=False) + "\n"
