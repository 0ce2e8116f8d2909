"""The ``awsrespond recover`` command group and what its subcommands share: the case, and how a change set
is shown, confirmed and applied (DESIGN.md 3.4: typed account id, or ``--confirm ACCOUNT_ID``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.case.workspace import CASES_ROOT, Case, default_case_dir
from awsrespond.cli.contain_cmd import _ask
from awsrespond.cli.contain_render import apply_summary, status_name
from awsrespond.cli.ui import OutputFormat, Ui, safe
from awsrespond.contain.documents import ApplyDocument
from awsrespond.contain.journal import StepStatus
from awsrespond.contain.model import Plan, Step
from awsrespond.contain.planio import write_plan
from awsrespond.recover.changes import ChangeSet, apply_changes

recover = typer.Typer(
    help="Take the account back: contacts, MFA, passwords, budget alerts, restore, public IPs, cost.",
    no_args_is_help=True, rich_markup_mode=None,
)

Confirm = Annotated[
    str | None, typer.Option("--confirm", metavar="ACCOUNT_ID",
                             help="Non-interactive confirmation of the changes: must equal the target account id.")
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show and save the plan of changes; change nothing.")]


def case_for(identity: CallerIdentity, case_dir: Path | None, root: Path = CASES_ROOT) -> Case:
    """``--case DIR``; else the newest case of this account under ./cases/; else a new case."""
    if case_dir is not None:
        return Case.create(case_dir, account_id=identity.account_id, caller_arn=identity.arn)
    mine = [p.parent for p in root.glob(f"{identity.account_id}-*/case.json")] if root.is_dir() else []
    if mine:
        return Case.open(max(mine, key=lambda p: (p / "case.json").stat().st_mtime))
    return Case.create(default_case_dir(identity.account_id, root=root), account_id=identity.account_id,
                       caller_arn=identity.arn)


def changes_table(ui: Ui, plan: Plan) -> None:
    """What will change, step by step (stderr in JSON mode, so stdout stays one document)."""
    console = ui.err if ui.fmt is OutputFormat.JSON else ui.out
    table = Table(title=ui.text("changes.title", command=plan.options.get("command", ""), plan=plan.plan_id),
                  title_justify="left", box=None, pad_edge=False)
    for column in ("step", "action", "target", "why", "undo"):
        table.add_column(ui.t(f"changes.column.{column}"), overflow="fold")
    for step in plan.steps:
        undo = (Text(ui.t("plan.reversible"), style="green") if step.reversible
                else Text(ui.t("plan.one_way"), style="yellow"))
        table.add_row(safe(step.id), safe(step.action), safe(step.target.label()), safe(step.reason), undo)
    console.print(table)
    for note in plan.notes:
        console.print(Text(ui.t("plan.note"), style="cyan"), safe(note))


def run_changes(ui: Ui, case: Case, factory: ClientFactory, identity: CallerIdentity, changes: ChangeSet, *,
                confirm: str | None, dry_run: bool = False, verify_delay: float = 1.0) -> ApplyDocument | None:
    """Show the change set, then (unless ``dry_run`` or empty) apply it after confirmation.

    Returns the apply document, or None when nothing was applied. Raises SafetyError (exit 2) when the
    confirmation is missing or wrong, before anything changes.
    """
    plan = changes.to_plan(case, identity)
    changes.planned = plan
    if not plan.steps:
        ui.info(ui.text("changes.nothing", command=changes.command))
        for note in plan.notes:
            ui.info(Text(ui.t("plan.note"), style="cyan"), safe(note))
        return None
    if not ui.quiet or ui.fmt is OutputFormat.TEXT:
        changes_table(ui, plan)
    if dry_run:
        path = write_plan(case, plan)
        ui.info(ui.text("changes.dry_run", path=path))
        return None

    def progress(step: Step, status: StepStatus, message: str) -> None:
        ui.info(safe(f"{step.id} {step.action} {step.target.label()}: {status_name(ui, status.value)}"
                     + (f" - {message}" if message else "")))

    document = apply_changes(case, factory, identity, plan, confirm=confirm, ask=_ask(ui), progress=progress,
                             verify_delay=verify_delay)
    if ui.fmt is OutputFormat.TEXT:
        apply_summary(ui, document)
    return document
