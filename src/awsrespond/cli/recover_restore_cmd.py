"""``awsrespond recover restore``: what the attacker destroyed, what it can come back from, and the plan."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from awsrespond.aws.clients import SessionSpec
from awsrespond.cli import options as opt
from awsrespond.cli.recover_app import Confirm, DryRun, case_for, recover, run_changes
from awsrespond.cli.triage_cmd import EXIT_OK, EXIT_SUSPICIOUS, connect
from awsrespond.cli.ui import OutputFormat, Ui, safe
from awsrespond.recover.restore import RestoreDocument, plan_restore
from awsrespond.timeutil import iso


def render(ui: Ui, document: RestoreDocument) -> None:
    console = ui.err if ui.fmt is OutputFormat.JSON else ui.out
    console.print(safe(f"Incident window from {iso(document.window_since) or 'unknown'}: restore sources must "
                       "be older."))
    if document.candidates:
        table = Table(title="Destroyed or overwritten, with a restore source", title_justify="left", box=None,
                      pad_edge=False)
        for column in ("resource", "destroyed", "by", "restore from", "step"):
            table.add_column(column, overflow="fold")
        for item in document.candidates:
            chosen = item.restore_from
            source = (f"{chosen.kind} {chosen.id} ({iso(chosen.created)})" if chosen else
                      "by hand: " + "; ".join(f"{s.kind} {s.id}" for s in item.other_sources))
            table.add_row(safe(f"{item.type.rsplit('::', 1)[-1]} {item.id} ({item.region})"),
                          safe(f"{item.event_name} {iso(item.destroyed_at)}"),
                          safe(f"{item.by or item.credential} from {item.source_ip or '?'}"), safe(source),
                          safe(item.step or "-"))
        console.print(table)
        for item in document.candidates:
            if item.note:
                console.print(Text("note: ", style="cyan"), safe(f"{item.id}: {item.note}"))
            if item.restore_from is None:
                for other in item.other_sources:
                    if other.command:
                        console.print(safe(f"  {item.id} from {other.id}: {other.command}"))
    if document.not_restorable:
        table = Table(title="Destroyed, with no restore source", title_justify="left", box=None, pad_edge=False)
        for column in ("resource", "destroyed", "by", "why not"):
            table.add_column(column, overflow="fold")
        for lost in document.not_restorable:
            table.add_row(Text(f"{lost.type.rsplit('::', 1)[-1]} ", style="red") + safe(f"{lost.id} ({lost.region})"),
                          safe(f"{lost.event_name} {iso(lost.destroyed_at)}"),
                          safe(f"{lost.by or lost.credential} from {lost.source_ip or '?'}"),
                          safe(lost.reason + ("; rejected: " + "; ".join(lost.checked) if lost.checked else "")))
        console.print(table)
    if not document.candidates and not document.not_restorable:
        console.print(safe("Nothing the attacker destroyed was found in the case's events."))
    for gap in document.coverage:
        ui.warn(safe(gap))


@recover.command("restore")
def restore_cmd(
    case: opt.CaseDir = None,
    confirm: Confirm = None,
    dry_run: DryRun = False,
    fmt: opt.Format = OutputFormat.TEXT,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
) -> int:
    """Restore what the attacker destroyed (EBS volumes from earlier snapshots, earlier S3 object versions);
    list AMIs and AWS Backup recovery points for the rest, and what cannot be restored."""
    ui = Ui(fmt, quiet=quiet)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    opened = case_for(identity, case)
    ui.info(safe(f"Case {opened.root}"))
    document, changes = plan_restore(opened, factory, identity)
    if fmt is OutputFormat.TEXT or not quiet:
        render(ui, document)
    applied = run_changes(ui, opened, factory, identity, changes, confirm=confirm, dry_run=dry_run)
    if changes.steps:
        document.steps = list(changes.steps)
    if applied is not None:
        document.plan_id, document.applied = applied.plan_id, applied.ok
    elif dry_run and changes.planned is not None and changes.steps:
        document.plan_id = changes.planned.plan_id
    opened.write_json("recovery/restore.json", document.model_dump(mode="json"))
    if fmt is OutputFormat.JSON:
        ui.json(document.model_dump_json())
    return EXIT_SUSPICIOUS if document.not_restorable or document.applied is False else EXIT_OK
