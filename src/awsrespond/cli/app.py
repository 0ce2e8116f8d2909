"""The ``awsrespond`` command."""

from __future__ import annotations

import sys

import typer

from awsrespond.cli import (
    contain_cmd,
    emulator_cmd,
    harden_cmd,
    hunt_cmd,
    recover_app,
    recover_budget_cmd,  # noqa: F401
    recover_checklist_cmd,  # noqa: F401
    recover_contacts_cmd,  # noqa: F401
    recover_insights_cmd,  # noqa: F401
    recover_mfa_cmd,  # noqa: F401
    recover_passwords_cmd,  # noqa: F401
    recover_restore_cmd,  # noqa: F401
    report_app,
    report_aws_cmd,  # noqa: F401
    respond_cmd,
    triage_cmd,
)
from awsrespond.cli.ui import Ui
from awsrespond.errors import AwsRespondError

EXIT_OK = 0
EXIT_SUSPICIOUS = 1
EXIT_ERROR = 2
EXIT_PARTIAL = 3

app = typer.Typer(
    name="awsrespond",
    help="Incident response for a compromised AWS account. Read-only unless you apply a plan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("triage")(triage_cmd.triage)
app.command("hunt")(hunt_cmd.hunt)
app.command("baseline")(triage_cmd.baseline)
app.command("policy")(triage_cmd.policy)
app.add_typer(contain_cmd.contain, name="contain")
app.add_typer(recover_app.recover, name="recover")
app.command("harden")(harden_cmd.harden)
app.command("emulator")(emulator_cmd.emulator)
app.command("demo")(emulator_cmd.demo)
app.add_typer(report_app.report, name="report")
app.command("respond")(respond_cmd.respond)


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs a command and turns the outcome into the documented exit code."""
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.Abort:
        Ui().error("interrupted")
        return _exit(EXIT_ERROR, argv)
    except typer.TyperException as exc:  # usage errors: Typer's own (vendored) click exceptions
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            Ui().error(str(exc))
        return _exit(EXIT_ERROR, argv)
    except AwsRespondError as exc:
        Ui().error(str(exc))
        return _exit(EXIT_ERROR, argv)
    code = result if isinstance(result, int) else EXIT_OK
    return _exit(code, argv)


def _exit(code: int, argv: list[str] | None) -> int:
    if argv is None:  # console script
        sys.exit(code)
    return code
