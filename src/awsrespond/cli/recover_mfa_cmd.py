"""``awsrespond recover mfa``: MFA posture (read-only), and ``recover mfa enrol``: a virtual MFA device for the
person at the keyboard, its seed shown only as a QR code on the terminal."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from awsrespond.aws.clients import SessionSpec
from awsrespond.cli import options as opt
from awsrespond.cli.contain_cmd import confirm_prompt
from awsrespond.cli.recover_app import Confirm, case_for, recover
from awsrespond.cli.triage_cmd import EXIT_OK, EXIT_SUSPICIOUS, connect
from awsrespond.cli.ui import OutputFormat, Ui, safe
from awsrespond.recover.mfa import MfaDocument, mfa_status
from awsrespond.recover.mfa_enrol import Terminal, enrol

mfa = typer.Typer(help="MFA: root status, console users without MFA, unassigned devices; `enrol` adds one.",
                  invoke_without_command=True, rich_markup_mode=None)
recover.add_typer(mfa, name="mfa")


def render(ui: Ui, document: MfaDocument) -> None:
    root = {True: Text(ui.t("mfa.enabled"), style="green"), False: Text(ui.t("mfa.not_enabled"), style="bold red"),
            None: Text(ui.t("mfa.unknown"), style="yellow")}[document.root_mfa]
    ui.out.print(Text(ui.t("mfa.root")), root)
    attackers = Text(ui.t("mfa.attackers"), style="bold red")
    if document.console_users_without_mfa:
        table = Table(title=ui.t("mfa.users_title"), title_justify="left", box=None, pad_edge=False)
        table.add_column(ui.t("mfa.column.user"), overflow="fold")
        table.add_column(ui.t("mfa.column.attacker"))
        for user in document.console_users_without_mfa:
            table.add_row(safe(user.user), attackers if user.attacker else Text("-"))
        ui.out.print(table)
    else:
        ui.out.print(Text(ui.t("mfa.all_users"), style="green"))
    if document.unassigned_virtual_mfa:
        table = Table(title=ui.t("mfa.devices_title"), title_justify="left", box=None, pad_edge=False)
        for column in ("serial", "created", "attacker"):
            table.add_column(ui.t(f"mfa.column.{column}"), overflow="fold")
        for device in document.unassigned_virtual_mfa:
            table.add_row(safe(device.serial), safe(device.created.isoformat() if device.created else "-"),
                          attackers if device.attacker else Text("-"))
        ui.out.print(table)
    for error in document.errors:
        ui.warn(safe(error))
    for line in document.guidance:
        ui.out.print(Text("- "), safe(line))


@mfa.callback()
def mfa_cmd(
    ctx: typer.Context,
    case: opt.CaseDir = None,
    fmt: opt.Format = OutputFormat.TEXT,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int | None:
    """Root MFA, console users without MFA, unassigned virtual MFA devices (the attacker's flagged). Read-only."""
    if ctx.invoked_subcommand is not None:
        return None
    ui = Ui(fmt, quiet=quiet, lang=lang)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    opened = case_for(identity, case)
    document = mfa_status(factory, identity.account_id, opened)
    opened.write_json("recovery/mfa.json", document.model_dump(mode="json"))
    opened.record_command("recover mfa", without_mfa=len(document.console_users_without_mfa),
                          unassigned=len(document.unassigned_virtual_mfa))
    if fmt is OutputFormat.JSON:
        ui.json(document.model_dump_json())
    else:
        render(ui, document)
    return EXIT_SUSPICIOUS if document.needs_attention else EXIT_OK


def terminal(ui: Ui) -> Terminal:
    """The real terminal: prompts and the QR code on stderr's console, answers from stdin."""
    def ask(prompt: str) -> str:
        ui.err.print(confirm_prompt(ui, prompt), end="")
        return sys.stdin.readline()

    def show(text: str) -> None:
        ui.err.file.write(text if text.endswith("\n") else text + "\n")
        ui.err.file.flush()

    return Terminal(ask=ask, show=show, is_tty=sys.stdin.isatty() and ui.err.is_terminal)


@mfa.command("enrol")
def enrol_cmd(
    user: Annotated[str | None, typer.Option("--user", metavar="NAME",
                                             help="The IAM user of the person at the keyboard (default: "
                                                  "your own IAM user).")] = None,
    confirm: Confirm = None,
    case: opt.CaseDir = None,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """Create a virtual MFA device, show its QR code on this terminal only, enable it with two consecutive codes."""
    ui = Ui(OutputFormat.TEXT, quiet=quiet, lang=lang)
    term = terminal(ui)
    if not term.is_tty:
        ui.error(ui.t("mfa.enrol_needs_tty"))
        return 2
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    result = enrol(case_for(identity, case), factory, identity, term, user=user, confirm=confirm)
    if result.enabled:
        ui.out.print(Text(ui.t("mfa.enrol_done"), style="green"), safe(result.message))
        return EXIT_OK
    ui.out.print(Text(ui.t("mfa.enrol_failed"), style="yellow"), safe(result.message))
    return EXIT_SUSPICIOUS
