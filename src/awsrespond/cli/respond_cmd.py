"""``awsrespond respond``: the whole manual in one guided command (the flow is :mod:`awsrespond.cli.respond_flow`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from awsrespond.aws.clients import SessionSpec
from awsrespond.cli import options as opt
from awsrespond.cli.respond_flow import Prompt, RespondOptions, run_flow
from awsrespond.cli.triage_cmd import connect
from awsrespond.cli.ui import Ui, safe
from awsrespond.errors import UsageError
from awsrespond.recover.budget import parse_limit
from awsrespond.recover.contacts import load_contacts_file
from awsrespond.respond.state import parse_skip
from awsrespond.timeutil import parse_instant


def terminal_prompt(ui: Ui) -> Prompt | None:
    """Questions on the terminal; None without one (then only --confirm can apply anything)."""
    if not sys.stdin.isatty():
        return None

    def ask(question: str) -> str:
        ui.err.print(safe(question + ": "), end="")
        line = sys.stdin.readline()
        if not line:  # end of input: nothing more will be answered
            raise typer.Abort
        return line

    return ask


def respond(
    case: opt.CaseDir = None,
    resume: Annotated[bool, typer.Option("--resume", help="Go on at the first step not done (with --case, or the "
                                                          "newest case of the account).")] = False,
    skip: Annotated[list[str] | None, typer.Option("--skip", metavar="STEP,...",
                                                   help="Steps to skip: triage, hunt, contain, recover, report, "
                                                        "manual.")] = None,
    since: opt.Since = None,
    lang: opt.Language = None,
    confirm: Annotated[str | None, typer.Option("--confirm", metavar="ACCOUNT_ID",
                                                help="Apply every plan unattended: must equal the target account "
                                                     "id.")] = None,
    budget_limit: Annotated[str | None, typer.Option("--budget-limit", metavar="USD",
                                                     help="Monthly budget alert limit (asked on a terminal).")] = None,
    email: Annotated[str | None, typer.Option("--email", metavar="ADDR",
                                              help="Where the budget alerts go (asked on a terminal).")] = None,
    contacts: Annotated[Path | None, typer.Option("--contacts", metavar="FILE.yaml", dir_okay=False,
                                                  help="Contacts to set (the `recover contacts --from` file); on a "
                                                       "terminal the security contact is asked for when missing.")
                        ] = None,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    region: opt.Regions = "all",
    quiet: opt.Quiet = False,
) -> int:
    """The manual from start to end: triage, hunt, contain, recover, reports, and what is left for you."""
    ui = Ui(quiet=quiet, lang=lang)
    try:
        limit = parse_limit(budget_limit) if budget_limit is not None else None
    except ValueError as exc:
        raise UsageError(str(exc).replace("--limit", "--budget-limit")) from None
    options = RespondOptions(case_dir=case, resume=resume, skip=parse_skip(opt.split_values(skip)),
                             since=parse_instant(since) if since else None, confirm=confirm, budget_limit=limit,
                             email=email, contacts=load_contacts_file(contacts) if contacts else None,
                             regions=region)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    result = run_flow(ui, ui.lang, factory, identity, options, prompt=terminal_prompt(ui), endpoint_url=endpoint_url)
    return result.exit_code
