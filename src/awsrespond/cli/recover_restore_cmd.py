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
    console.print(ui.text("restore.window", since=iso(document.window_since) or ui.t("mfa.unknown")))
    if document.candidates:
        table = Table(title=ui.t("restore.candidates_title"), title_justify="left", box=None, pad_edge=False)
        for column in ("resource", "destroyed", "by", "source", "step"):
            table.add_column(ui.t(f"restore.column.{column}"), overflow="fold")
        for item in document.candidates:
            chosen = item.restore_from
            source = (safe(f"{chosen.kind} {chosen.id} ({iso(chosen.created)})") if chosen else
                      ui.text("restore.by_hand", sources="; ".join(f"{s.kind} {s.id}" for s in item.other_sources)))
            table.add_row(safe(f"{item.type.rsplit('::', 1)[-1]} {item.id} ({item.region})"),
                          safe(f"{item.event_name} {iso(item.destroyed_at)}"),
                          ui.text("restore.by", who=item.by or item.credential, ip=item.source_ip or "?"), source,
                          safe(item.step or "-"))
        console.print(table)
        for item in document.candidates:
            if item.note:
                console.print(Text(ui.t("plan.note"), style="cyan"), safe(f"{item.id}: {item.note}"))
            if item.restore_from is None:
                for other in item.other_sources:
                    if other.command:
                        console.print(ui.text("restore.other_source", id=item.id, source=other.id,
                                              command=other.command))
    if document.not_restorable:
        table = Table(title=ui.t("restore.lost_title"), title_justify="left", box=None, pad_edge=False)
        for column in ("resource", "destroyed", "by", "why_not"):
            table.add_column(ui.t(f"restore.column.{column}"), overflow="fold")
        for lost in document.not_restorable:
            why = safe(lost.reason)
            if lost.checked:
                why.append(ui.text("restore.rejected", checked="; ".join(lost.checked)))
            table.add_row(Text(f"{lost.type.rsplit('::', 1)[-1]} ", style="red") + safe(f"{lost.id} ({lost.region})"),
                          safe(f"{lost.event_name} {iso(lost.destroyed_at)}"),
                          ui.text("restore.by", who=lost.by or lost.credential, ip=lost.source_ip or "?"), why)
        console.print(table)
    if not document.candidates and not document.not_restorable:
        console.print(ui.text("restore.nothing"))
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
    lang: opt.Language = None,
) -> int:
    """Restore what the attacker destroyed (EBS volumes from earlier snapshots, earlier S3 object versions);
    list AMIs and AWS Backup recovery points for the rest, and what cannot be restored."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    opened = case_for(identity, case)
    ui.info(ui.text("common.case_opened", path=opened.root))
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
