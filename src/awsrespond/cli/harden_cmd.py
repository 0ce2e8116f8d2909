"""``awsrespond harden``: the account's security checks; ``--fix`` applies the fixes that need no more input."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from awsrespond.aws.clients import SessionSpec
from awsrespond.aws.regions import parse_region_option, plan_regions
from awsrespond.case.workspace import Case
from awsrespond.cli import options as opt
from awsrespond.cli.recover_app import Confirm, DryRun, case_for, run_changes
from awsrespond.cli.triage_cmd import EXIT_OK, EXIT_PARTIAL, EXIT_SUSPICIOUS, connect
from awsrespond.cli.ui import OutputFormat, Ui, safe
from awsrespond.errors import UsageError
from awsrespond.harden.model import CheckStatus, HardenReport
from awsrespond.harden.registry import all_checks, select
from awsrespond.harden.service import plan_fixes, run_checks

CASE_FILE = "recovery/harden.json"
STATUS_STYLE = {CheckStatus.PASS: "green", CheckStatus.FAIL: "bold red", CheckStatus.ERROR: "yellow"}



def checks_table(ui: Ui, report: HardenReport, title: str | Text) -> None:
    table = Table(title=title, title_justify="left", box=None, pad_edge=False)
    for column in ("status", "check", "detail"):
        table.add_column(ui.t(f"harden.column.{column}"), overflow="fold")
    for result in report.checks:
        table.add_row(Text(ui.t(f"harden.status.{result.status.value}"), style=STATUS_STYLE[result.status]),
                      safe(result.id), safe(result.detail))
    ui.out.print(table)
    for result in report.checks:
        if result.status is not CheckStatus.PASS:
            line = Text(f"{result.id}: ", style="bold")
            line.append(ui.t("harden.fix_auto") if result.fixable else ui.t("harden.fix"))
            line.append(safe(result.fix))
            ui.out.print(line)


def harden(
    fix: Annotated[bool, typer.Option("--fix", help="Fix the failing checks that need no more input "
                                                    "(shown first; typed account id or --confirm).")] = False,
    only: Annotated[list[str] | None, typer.Option(
        "--only", metavar="ID", help="Run only these checks (ids, comma-separated or repeated; 'iam.' for an area).")
    ] = None,
    confirm: Confirm = None,
    dry_run: DryRun = False,
    never_touch: Annotated[list[str] | None, typer.Option(
        "--never-touch", metavar="NAME|ARN", help="Principals --fix must never change (break-glass).")] = None,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", exists=True, dir_okay=False,
        help="The baseline YAML; its never_touch list is added to --never-touch.")] = None,
    regions: opt.Regions = "all",
    case: opt.CaseDir = None,
    strict: opt.Strict = False,
    fmt: opt.Format = OutputFormat.TEXT,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """Security checks with stable ids (pass, fail or error, each with its fix). Read-only unless --fix."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    wanted = opt.split_values(only)
    if wanted and not select(wanted):
        known = ", ".join(c.id for c in all_checks())
        raise UsageError(ui.t("harden.unknown_only", only=",".join(wanted), known=known))
    if (dry_run or confirm is not None) and not fix:
        raise UsageError(ui.t("harden.fix_options"))
    protected = opt.never_touch_names(never_touch, baseline)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    region_plan = plan_regions(factory, parse_region_option(regions), identity.partition)
    line = ui.text("harden.regions", count=len(region_plan.enabled))
    if region_plan.not_enabled:
        line.append(ui.text("triage.regions_not_enabled", count=len(region_plan.not_enabled)))
    ui.info(line)
    with ui.progress(ui.t("checklist.checking")) as bar:
        bar.set_total(len(select(wanted)))
        run = run_checks(factory, identity, region_plan, only=wanted, never_touch=protected,
                         on_check=bar.advance)
    opened: Case | None = case_for(identity, case) if (fix or case is not None) else None
    if fix and opened is not None:
        if fmt is OutputFormat.TEXT:
            checks_table(ui, run, ui.text("harden.title", account=identity.account_id))
        document = run_changes(ui, opened, factory, identity, plan_fixes(run), confirm=confirm, dry_run=dry_run)
        if document is not None:
            plan_id = document.plan_id
            ui.info(ui.text("harden.recheck"))
            run = run_checks(factory, identity, region_plan, only=wanted, never_touch=protected)
            run.fix_plan = plan_id
    report = run.report()
    if opened is not None:
        path = opened.write_json(CASE_FILE, report.model_dump(mode="json"))
        opened.record_command("harden" + (" --fix" if fix else ""), checks=len(report.checks),
                              failing=len(report.failing), plan=report.fix_plan)
        ui.info(ui.text("harden.kept", path=path))
    if fmt is OutputFormat.JSON:
        ui.json(report.model_dump_json())
    else:
        title = (ui.text("harden.after") if report.fix_plan
                 else ui.text("harden.title", account=identity.account_id))
        if not (fix and not report.fix_plan):  # --fix without changes applied printed the table already
            checks_table(ui, report, title)
    if report.failing:
        return EXIT_SUSPICIOUS
    return EXIT_PARTIAL if strict and report.errored else EXIT_OK
