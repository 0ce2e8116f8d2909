"""The ``awsrespond`` command."""

from __future__ import annotations

import sys

import typer

from awsrespond.cli.lazy import LazyCommand, lazy_group
from awsrespond.cli.ui import Ui
from awsrespond.errors import AwsRespondError

EXIT_OK = 0
EXIT_SUSPICIOUS = 1
EXIT_ERROR = 2
EXIT_PARTIAL = 3

_RECOVER_COMMANDS = tuple(f"awsrespond.cli.recover_{name}_cmd" for name in (
    "budget", "checklist", "contacts", "insights", "mfa", "passwords", "restore"))

COMMANDS = {
    "triage": LazyCommand("awsrespond.cli.triage_cmd", "triage"),
    "hunt": LazyCommand("awsrespond.cli.hunt_cmd", "hunt"),
    "contain": LazyCommand("awsrespond.cli.contain_cmd", "contain"),
    "recover": LazyCommand("awsrespond.cli.recover_app", "recover", also=_RECOVER_COMMANDS),
    "harden": LazyCommand("awsrespond.cli.harden_cmd", "harden"),
    "report": LazyCommand("awsrespond.cli.report_app", "report", also=("awsrespond.cli.report_aws_cmd",)),
    "respond": LazyCommand("awsrespond.cli.respond_cmd", "respond"),
    "demo": LazyCommand("awsrespond.cli.emulator_cmd", "demo"),
    "baseline": LazyCommand("awsrespond.cli.triage_cmd", "baseline"),
    "policy": LazyCommand("awsrespond.cli.triage_cmd", "policy"),
    "emulator": LazyCommand("awsrespond.cli.emulator_cmd", "emulator"),
}

app = typer.Typer(
    name="awsrespond",
    cls=lazy_group(COMMANDS),
    help="Incident response for a compromised AWS account. Read-only unless you apply a plan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Incident response for a compromised AWS account. Read-only unless you apply a plan."""


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
