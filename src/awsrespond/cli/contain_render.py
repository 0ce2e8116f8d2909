"""Text views of a containment plan and of what apply / undo did. Every AWS string goes through safe()."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from awsrespond.cli.ui import Ui, safe
from awsrespond.contain.documents import ApplyDocument, UndoDocument
from awsrespond.contain.model import Plan

STATUS_STYLE = {"verified": "green", "done": "yellow", "failed": "bold red", "refused": "red", "skipped": "dim",
                "pending": "dim", "in-flight": "yellow"}


def plan_table(ui: Ui, plan: Plan, path: str) -> None:
    table = Table(title=f"Containment plan {plan.plan_id} for account {plan.account_id}", title_justify="left",
                  show_lines=False, expand=False)
    for column in ("step", "phase", "action", "target", "undo", "after", "why"):
        table.add_column(column, overflow="fold")
    for step in plan.steps:
        undo = Text("reversible", style="green") if step.reversible else Text("one-way", style="yellow")
        why = ", ".join(sorted({w.rsplit("-", 1)[0] for w in step.why})) or step.reason
        table.add_row(safe(step.id), safe(step.phase.value), safe(step.action), safe(step.target.label()), undo,
                      safe(",".join(step.after)), safe(why))
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
        table.add_row(safe(step.id), safe(step.action), safe(step.target.label()),
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
