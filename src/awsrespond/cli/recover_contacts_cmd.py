"""``awsrespond recover contacts``: the account's contact information and alternate contacts, which are
missing, which the case's CloudTrail events show changed during the incident; set them from a file or
from prompts (manual step 3.5)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from awsrespond.aws.clients import SessionSpec
from awsrespond.cli import options as opt
from awsrespond.cli.recover_app import Confirm, DryRun, case_for, recover, run_changes
from awsrespond.cli.triage_cmd import EXIT_OK, EXIT_SUSPICIOUS, connect
from awsrespond.cli.ui import OutputFormat, Ui, safe
from awsrespond.recover.budget import budgets_region
from awsrespond.recover.contacts import (
    AlternateContactInput,
    ContactEvent,
    ContactsFile,
    ContactsReport,
    flag_changes,
    load_contacts_file,
    plan_contacts,
    read_contacts,
)


def prompt_missing(ui: Ui, report: ContactsReport) -> ContactsFile:
    """Ask, on a terminal, for each missing alternate contact (an empty answer skips it)."""
    wanted = ContactsFile()
    for contact_type in report.missing:
        if not typer.confirm(ui.t("contacts.ask_set", type=contact_type), default=True, err=True):
            continue
        answers = {field: typer.prompt(f"  {contact_type} {field}", err=True)
                   for field in ("name", "email", "phone", "title")}
        try:
            wanted.alternate_contacts[contact_type] = AlternateContactInput(**answers)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            ui.error(ui.t("contacts.not_set", type=contact_type, problems=problems))
    return wanted


def _events(events: list[ContactEvent]) -> str:
    return "; ".join(f"{e.event_name} {e.event_time:%Y-%m-%d %H:%M}Z by {e.actor or '?'}" if e.event_time
                     else f"{e.event_name} by {e.actor or '?'}" for e in events)


def render(ui: Ui, report: ContactsReport) -> None:
    table = Table(title=ui.t("contacts.title"), title_justify="left", box=None, pad_edge=False)
    for column in ("type", "set", "name", "email", "phone", "title", "changed"):
        table.add_column(ui.t(f"contacts.column.{column}"), overflow="fold")
    for contact in report.alternate_contacts:
        if contact.read_error:
            state = Text(ui.t("contacts.unknown"), style="yellow")
        elif contact.set:
            state = Text(ui.t("contacts.yes"), style="green")
        else:
            state = Text(ui.t("contacts.missing"), style="bold red")
        changed = Text(_events(contact.changed_in_window), style="bold red") if contact.changed_in_window else \
            Text("")
        table.add_row(safe(contact.type), state, safe(contact.name), safe(contact.email), safe(contact.phone),
                      safe(contact.title), changed)
    ui.out.print(table)
    info = report.contact_information
    if info is not None:
        ui.out.print(Text(ui.t("contacts.information"), style="bold"))
        for key, value in info.model_dump().items():
            if value:
                ui.out.print(Text(f"  {key.replace('_', ' ')}: "), safe(value))
    if report.contact_information_changed_in_window:
        ui.out.print(Text(ui.t("contacts.information_changed"), style="bold red"),
                     safe(_events(report.contact_information_changed_in_window)))


def warn_errors(ui: Ui, report: ContactsReport) -> None:
    """On stderr in both formats: what could not be read and where to check it by hand."""
    for error in report.errors:
        ui.warn(ui.text("recover.could_not_read", api=error.api, region=error.region, message=error.message,
                        url=error.console_url))
    for note in report.notes:
        ui.info(Text(ui.t("plan.note"), style="cyan"), safe(note))


@recover.command("contacts")
def contacts_cmd(
    from_file: Annotated[Path | None, typer.Option("--from", metavar="FILE.yaml", dir_okay=False,
                                                   help="Set the contacts this file names.")] = None,
    confirm: Confirm = None,
    dry_run: DryRun = False,
    case: opt.CaseDir = None,
    fmt: opt.Format = OutputFormat.TEXT,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """Show (and set) the account's contact information and its billing, operations and security contacts."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    wanted = load_contacts_file(from_file) if from_file is not None else None
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    region = budgets_region(identity.partition)
    opened = case_for(identity, case)
    report = flag_changes(read_contacts(factory, identity.account_id, region=region), opened)
    if wanted is None and report.missing and fmt is OutputFormat.TEXT and sys.stdin.isatty():
        render(ui, report)
        wanted = prompt_missing(ui, report)
    steps_ok = True
    if wanted is not None and (wanted.alternate_contacts or wanted.contact_information is not None):
        changes = plan_contacts(report, wanted, region=region)
        applied = run_changes(ui, opened, factory, identity, changes, confirm=confirm, dry_run=dry_run)
        if applied is not None:
            after = flag_changes(read_contacts(factory, identity.account_id, region=region), opened)
            after.plan_id, after.applied, steps_ok = applied.plan_id, True, applied.ok
            report = after
        elif dry_run and changes.planned is not None and changes.steps:
            report.plan_id = changes.planned.plan_id
        report.notes.extend(changes.notes)
    opened.write_json("recovery/contacts.json", report.model_dump(mode="json"))
    if fmt is OutputFormat.JSON:
        ui.json(report.model_dump_json())
    else:
        render(ui, report)
    warn_errors(ui, report)
    return EXIT_SUSPICIOUS if report.needs_attention or not steps_ok else EXIT_OK
