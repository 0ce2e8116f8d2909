"""``awsrespond contain plan | apply | undo``: containment and eradication (DESIGN.md section 3)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from awsrespond.aws.clients import SessionSpec
from awsrespond.case.workspace import CASES_ROOT, Case, newest_case
from awsrespond.cli import options as opt
from awsrespond.cli.contain_render import apply_summary, plan_table, status_name, undo_summary
from awsrespond.cli.triage_cmd import EXIT_OK, EXIT_SUSPICIOUS, connect
from awsrespond.cli.ui import OutputFormat, Ui, safe
from awsrespond.contain.executor import ApplyOptions
from awsrespond.contain.journal import StepStatus
from awsrespond.contain.model import Step
from awsrespond.contain.planio import write_plan
from awsrespond.contain.planner.plan import PlanOptions, build_plan
from awsrespond.contain.safety import DEFAULT_MAX_STEPS
from awsrespond.contain.service import applied_plan, apply_plan, load_for_case, undo

contain = typer.Typer(
    help="Containment: plan (read-only), apply a reviewed plan, undo reversible steps.",
    no_args_is_help=True, rich_markup_mode=None,
)

Confirm = Annotated[
    str | None, typer.Option("--confirm", metavar="ACCOUNT_ID",
                             help="Non-interactive confirmation: must equal the target account id.")
]
ListOption = Annotated[list[str] | None, typer.Option(metavar="PATTERN")]



def _open_case(case_dir: Path | None) -> Case:
    return Case.open(case_dir) if case_dir else Case.open(newest_case())


ACCOUNT_PROMPT = re.compile(r"Type the account id (\S+) to apply this plan")


def confirm_prompt(ui: Ui, prompt: str) -> Text:
    """The library's (English) confirmation prompt in the user's language; other prompts as they are."""
    match = ACCOUNT_PROMPT.fullmatch(prompt)
    if match:
        return ui.text("confirm.type_account", "bold", account=match.group(1))
    return safe(prompt + ": ")


def _ask(ui: Ui) -> Callable[[str], str] | None:
    """Typed confirmation on a terminal; None without one (then only --confirm can go ahead)."""
    if not sys.stdin.isatty():
        return None

    def ask(prompt: str) -> str:
        ui.err.print(confirm_prompt(ui, prompt), end="")
        return sys.stdin.readline()

    return ask


@contain.command("plan")
def plan_cmd(
    case: opt.CaseDir = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE", dir_okay=False,
                                                help="Also write the plan here (default: in the case).")] = None,
    suspect_as_attacker: Annotated[bool, typer.Option(
        "--suspect-as-attacker", help="Treat suspect artefacts (new in the window, no attribution) as the "
                                      "attacker's: remove them instead of reversible steps.")] = False,
    only: Annotated[list[str] | None, typer.Option("--only", metavar="PATTERN",
                                                   help="Keep only steps whose action or target matches.")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", metavar="PATTERN",
                                                      help="Drop steps whose action or target matches.")] = None,
    never_touch: Annotated[list[str] | None, typer.Option(
        "--never-touch", metavar="NAME|ARN", help="Break-glass principals the plan must never change.")] = None,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", exists=True, dir_okay=False,
        help="The baseline YAML; its never_touch list is added to --never-touch.")] = None,
    fmt: opt.Format = OutputFormat.TEXT,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """Turn the case's findings into a containment plan (read-only: nothing is changed)."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    opened = _open_case(case)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    ui.info(ui.text("common.case_opened", path=opened.root))
    plan = build_plan(opened, factory, identity, PlanOptions(
        suspect_as_attacker=suspect_as_attacker, only=opt.split_values(only), exclude=opt.split_values(exclude),
        never_touch=opt.never_touch_names(never_touch, baseline)))
    path = write_plan(opened, plan, output)
    opened.record_command("contain plan", plan=plan.plan_id, steps=len(plan.steps))
    if fmt is OutputFormat.JSON:
        ui.json(plan.model_dump_json())
    else:
        plan_table(ui, plan, str(path))
    changes = [s for s in plan.steps if s.action != "awsrespond.recheck" and not s.action.startswith("logs.")]
    return EXIT_SUSPICIOUS if changes else EXIT_OK


def _plan_case(plan_file: Path, case_dir: Path | None) -> Case:
    if case_dir:
        return Case.open(case_dir)
    try:
        case_id = json.loads(plan_file.read_bytes()).get("case_id")
    except (OSError, ValueError, AttributeError):
        case_id = None
    if isinstance(case_id, str) and (CASES_ROOT / case_id / "case.json").exists():
        return Case.open(CASES_ROOT / case_id)
    return Case.open(newest_case())


@contain.command("apply")
def apply_cmd(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN", exists=True, dir_okay=False,
                                              help="The plan written by `contain plan`.")],
    case: opt.CaseDir = None,
    confirm: Confirm = None,
    resume: Annotated[bool, typer.Option("--resume", help="Finish a plan a previous run did not complete.")] = False,
    max_steps: Annotated[int, typer.Option("--max-steps", min=1, metavar="N",
                                           help="Circuit breaker: refuse plans with more steps.")] = DEFAULT_MAX_STEPS,
    workers: Annotated[int, typer.Option("--max-workers", min=1, max=32, metavar="N",
                                         help="Independent steps run in parallel.")] = 8,
    fmt: opt.Format = OutputFormat.TEXT,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """Apply a reviewed plan exactly: journaled, verified, resumable."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    opened = _plan_case(plan_file, case)
    loaded = load_for_case(plan_file, opened)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    line = ui.text("apply.loaded", path=opened.root, plan=loaded.plan.plan_id, steps=len(loaded.plan.steps))
    if loaded.dropped:
        line.append(ui.text("apply.dropped", count=len(loaded.dropped), ids=", ".join(loaded.dropped)))
    ui.info(line)
    if fmt is OutputFormat.TEXT and not quiet:
        plan_table(ui, loaded.plan, str(plan_file))

    def progress(step: Step, status: StepStatus, message: str) -> None:
        ui.info(safe(f"{step.id} {step.action} {step.target.label()}: {status_name(ui, status.value)}"
                     + (f" - {message}" if message else "")))

    ask = _ask(ui)
    document = apply_plan(opened, factory, identity, loaded, confirm=confirm,
                          ask=ask, max_steps=max_steps,
                          options=ApplyOptions(resume=resume, workers=workers), progress=progress)
    if fmt is OutputFormat.JSON:
        ui.json(document.model_dump_json())
    else:
        apply_summary(ui, document)
    return EXIT_OK if document.ok else EXIT_SUSPICIOUS


@contain.command("undo")
def undo_cmd(
    case: opt.CaseDir = None,
    step: Annotated[list[str] | None, typer.Option("--step", metavar="ID", help="A step to undo (repeatable).")] = None,
    all_reversible: Annotated[bool, typer.Option("--all-reversible",
                                                 help="Undo every applied reversible step, newest first.")] = False,
    reopen_attacker_access: Annotated[bool, typer.Option(
        "--reopen-attacker-access", help="Also undo steps that cut the attacker's access (reactivate a key, "
                                         "remove a deny policy, restart an instance).")] = False,
    plan_id: Annotated[str | None, typer.Option("--plan", metavar="PLAN_ID",
                                                help="Which applied plan (default: the last containment plan; "
                                                     "recover and harden plans are undone by id).")] = None,
    confirm: Confirm = None,
    fmt: opt.Format = OutputFormat.TEXT,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """Reverse applied reversible steps, newest first."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    opened = _open_case(case)
    plan = applied_plan(opened, plan_id)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    ask = _ask(ui)
    document = undo(opened, factory, identity, plan, step_ids=opt.split_values(step), all_reversible=all_reversible,
                    reopen_attacker_access=reopen_attacker_access, confirm=confirm,
                    ask=ask)
    if fmt is OutputFormat.JSON:
        ui.json(document.model_dump_json())
    else:
        undo_summary(ui, document)
    return EXIT_OK if document.ok else EXIT_SUSPICIOUS
