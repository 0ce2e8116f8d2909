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


def status_name(ui: Ui, status: str) -> str:
    key = f"status.{status}"
    return ui.t(key) if ui.msg.has(key) else status


def plan_table(ui: Ui, plan: Plan, path: str) -> None:
    ui.out.print(ui.text("plan.head", "bold", plan=plan.plan_id, account=plan.account_id))
    for phase in Phase:
        steps = [s for s in plan.steps if s.phase is phase]
        if not steps:
            continue
        ui.out.print(Text(f"{phase.order + 1}. {ui.t('phase.' + phase.value)} ({len(steps)})", style="bold"))
        table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1))
        table.add_column("step", no_wrap=True)
        table.add_column("action", no_wrap=True)
        table.add_column("target", overflow="fold")
        table.add_column("undo", no_wrap=True)
        for step in steps:
            undo = (Text(ui.t("plan.reversible"), style="green") if step.reversible
                    else Text(ui.t("plan.one_way"), style="yellow"))
            table.add_row(safe(step.id), safe(step.action), safe(_short(step.target.label())), undo)
        ui.out.print(table)
    for item in plan.not_planned:
        if not item.reason.startswith(("posture", "informational")):
            ui.out.print(Text(ui.t("plan.not_planned"), style="yellow"),
                         safe(f"{item.resource.label()}: {item.reason}"))
    posture = sum(1 for i in plan.not_planned if i.reason.startswith(("posture", "informational")))
    if posture:
        ui.out.print(ui.text("plan.posture", count=posture))
    for note in plan.notes:
        ui.out.print(Text(ui.t("plan.note"), style="cyan"), safe(note))
    ui.out.print(ui.text("plan.summary", steps=len(plan.steps), reversible=sum(s.reversible for s in plan.steps),
                         path=path))
    ui.out.print(safe(f"  awsrespond contain apply {path}"))


def apply_summary(ui: Ui, document: ApplyDocument) -> None:
    table = Table(title=ui.text("apply.title", plan=document.plan_id), title_justify="left")
    for column in ("step", "action", "target", "status", "detail"):
        table.add_column(ui.t(f"apply.column.{column}"), overflow="fold")
    for step in document.steps:
        status = step.status.value
        table.add_row(safe(step.id), safe(step.action), safe(_short(step.target.label())),
                      Text(status_name(ui, status), style=STATUS_STYLE.get(status, "")), safe(step.message))
    ui.out.print(table)
    counts = ", ".join(ui.t("apply.count", count=count, status=status_name(ui, status))
                       for status, count in sorted(document.counts.items()))
    ui.out.print(ui.text("apply.counts", steps=len(document.steps), counts=counts))
    if document.new_since_plan:
        ui.out.print(Text(ui.t("apply.recheck"), style="bold red"),
                     ui.text("apply.new_since_plan", resources=", ".join(document.new_since_plan)))
    if document.ok:
        ui.out.print(ui.text("apply.ok", "green"))
    else:
        ui.out.print(ui.text("apply.not_ok", "yellow"))


def undo_summary(ui: Ui, document: UndoDocument) -> None:
    for step in document.steps:
        style = "green" if step.ok else "bold red"
        ui.out.print(Text(ui.t("undo.done") if step.ok else ui.t("undo.failed"), style=style),
                     ui.text("undo.step", id=step.id, action=step.action, target=step.target.label(),
                             message=step.message))
