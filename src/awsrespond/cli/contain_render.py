"""Text views of a containment plan and of what apply / undo did. Every AWS string goes through safe()."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from awsrespond.cli.ui import Ui, safe
from awsrespond.contain.documents import ApplyDocument, UndoDocument
from awsrespond.contain.model import Phase, Plan

STATUS_STYLE = {"verified": "green", "done": "yellow", "failed": "bold red", "refused": "red", "skipped": "dim",
                "pending": "dim", "in-flight": "yellow"}


def _short(label: str) -> str:
    """``Trail arn:aws:cloudtrail:...:trail/name (region)`` -> ``Trail name (region)``."""
    kind, _, rest = label.partition(" ")
    ident, sep, where = rest.partition(" (")
    if ident.startswith("arn:"):
        ident = ident.rsplit("/", 1)[-1] if "/" in ident else ident.rsplit(":", 1)[-1]
    return f"{kind} {ident}{sep}{where}"


def plan_table(ui: Ui, plan: Plan, path: str) -> None:
    ui.out.print(Text(f"Containment plan {plan.plan_id} for account {plan.account_id}", style="bold"))
    for phase in Phase:
        steps = [s for s in plan.steps if s.phase is phase]
        if not steps:
            continue
        ui.out.print(Text(f"{phase.order + 1}. {phase.value} ({len(steps)})", style="bold"))
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
        table.add_column("step", no_wrap=True)
        table.add_column("action", no_wrap=True)
        table.add_column("target", overflow="fold")
        table.add_column("undo", no_wrap=True)
        for step in steps:
            undo = Text("reversible", style="green") if step.reversible else Text("one-way", style="yellow")
            table.add_row(safe(step.id), safe(step.action), safe(_short(step.target.label())), undo)
        ui.out.print(table)
    for item in plan.not_planned:
        if not item.reason.startswith(("posture", "informational")):
            ui.out.print(Text("not planned: ", style="yellow"), safe(f"{item.resource.label()}: {item.reason}"))
    posture = sum(1 for i in plan.not_planned if i.reason.startswith(("posture", "informational")))
    if posture:
        ui.out.print(safe(f"{posture} posture/informational findings are not containment steps (see the plan JSON)."))
    for note in plan.notes:
        ui.out.print(Text("note: ", style="cyan"), safe(note))
    ui.out.print(safe(f"{len(plan.steps)} steps, {sum(s.reversible for s in plan.steps)} reversible. "
                      f"Plan written to {path}. Review it (you may delete steps from the JSON), then:"))
    ui.out.print(safe(f"  awsrespond contain apply {path}"))


def apply_summary(ui: Ui, document: ApplyDocument) -> None:
    table = Table(title=f"Applied plan {document.plan_id}", title_justify="left")
    for column in ("step", "action", "target", "status", "detail"):
        table.add_column(column, overflow="fold")
    for step in document.steps:
        status = step.status.value
        table.add_row(safe(step.id), safe(step.action), safe(_short(step.target.label())),
                      Text(status, style=STATUS_STYLE.get(status, "")), safe(step.message))
    ui.out.print(table)
    counts = ", ".join(f"{count} {status}" for status, count in sorted(document.counts.items()))
    ui.out.print(safe(f"{len(document.steps)} steps: {counts}."))
    if document.new_since_plan:
        ui.out.print(Text("re-check: ", style="bold red"),
                     safe("created after the plan was made: " + ", ".join(document.new_since_plan)
                          + ". Run `awsrespond triage` and `contain plan` again."))
    if document.ok:
        ui.out.print(Text("Every step is done and verified.", style="green"))
    else:
        ui.out.print(Text("Not every step is done and verified: see the table. `--resume` finishes the plan; "
                          "refused (stale) steps need a new plan.", style="yellow"))


def undo_summary(ui: Ui, document: UndoDocument) -> None:
    for step in document.steps:
        style = "green" if step.ok else "bold red"
        ui.out.print(Text("undone " if step.ok else "undo failed ", style=style),
                     safe(f"{step.id} {step.action} on {step.target.label()}: {step.message}"))
