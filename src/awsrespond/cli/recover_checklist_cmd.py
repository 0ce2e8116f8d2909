"""``awsrespond recover checklist``: what is done and what is left of taking the account back."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from awsrespond.aws.clients import ClientFactory, SessionSpec
from awsrespond.aws.identity import CallerIdentity
from awsrespond.aws.regions import parse_region_option, plan_regions
from awsrespond.case.workspace import Case
from awsrespond.cli import options as opt
from awsrespond.cli.recover_app import case_for, recover
from awsrespond.cli.triage_cmd import EXIT_OK, EXIT_SUSPICIOUS, connect
from awsrespond.cli.ui import OutputFormat, Ui, safe
from awsrespond.harden.service import run_checks
from awsrespond.recover.checklist import Checklist, ItemStatus, recovery_checklist
from awsrespond.report.localize import checklist_title

STATUS_STYLE = {ItemStatus.DONE: "green", ItemStatus.TODO: "yellow", ItemStatus.MANUAL: "cyan",
                ItemStatus.UNKNOWN: "red"}


def checklist_table(ui: Ui, checklist: Checklist) -> None:
    table = Table(title=ui.text("checklist.title", account=checklist.account_id), title_justify="left")
    table.add_column("", overflow="fold")
    for column in ("item", "found", "next"):
        table.add_column(ui.t(f"checklist.column.{column}"), overflow="fold")
    for item in checklist.items:
        table.add_row(Text(ui.t(f"checklist.status.{item.status.value}"), style=STATUS_STYLE[item.status]),
                      safe(checklist_title(item, ui.lang)), safe(item.detail), safe(item.next))
    ui.out.print(table)
    done = sum(1 for item in checklist.items if item.status is ItemStatus.DONE)
    ui.out.print(ui.text("checklist.summary", done=done, total=len(checklist.items),
                         manual=sum(1 for i in checklist.items if i.status is ItemStatus.MANUAL)))


def build_checklist(ui: Ui, case: Case, factory: ClientFactory, identity: CallerIdentity, regions: str) -> Checklist:
    region_plan = plan_regions(factory, parse_region_option(regions), identity.partition)
    with ui.progress(ui.t("checklist.checking")):
        checklist = recovery_checklist(case, factory, identity, run_checks(factory, identity, region_plan).report())
    case.write_json("recovery/checklist.json", checklist.model_dump(mode="json"))
    return checklist


@recover.command("checklist")
def checklist_cmd(
    case: opt.CaseDir = None,
    regions: opt.Regions = "all",
    fmt: opt.Format = OutputFormat.TEXT,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """The recovery checklist (read-only): each step of the manual done, to do (with the command), or by hand."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    checklist = build_checklist(ui, case_for(identity, case), factory, identity, regions)
    if fmt is OutputFormat.JSON:
        ui.json(checklist.model_dump_json())
    else:
        checklist_table(ui, checklist)
    open_items = [i for i in checklist.items if i.status in (ItemStatus.TODO, ItemStatus.UNKNOWN)]
    return EXIT_SUSPICIOUS if open_items else EXIT_OK
