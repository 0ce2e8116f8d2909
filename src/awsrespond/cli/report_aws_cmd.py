"""``awsrespond report aws``: the text for AWS (manual step 2), written into the case and printed; with
``--submit``, opened as an AWS Support case after the typed account id or ``--confirm ACCOUNT_ID``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from awsrespond.aws.clients import SessionSpec
from awsrespond.case.workspace import newest_case, write_private
from awsrespond.cli import options as opt
from awsrespond.cli.report_app import report
from awsrespond.cli.triage_cmd import connect
from awsrespond.cli.ui import Ui, fill, safe
from awsrespond.errors import SafetyError
from awsrespond.i18n import Messages
from awsrespond.report.aws_text import ABUSE_EMAIL, ABUSE_FORM_URL, SUPPORT_CENTER_URL, AwsLetter, aws_letter
from awsrespond.report.casedata import load_case
from awsrespond.report.exports.case_json import REPORTS_DIR
from awsrespond.report.support_case import (
    SubmitRefused,
    SubmitUncertain,
    SupportAccessDenied,
    SupportPlanRequired,
    check_submitter,
    previous_submission,
    record_path,
    submit,
)
from awsrespond.textsafe import one_line

TEXT_NAME = "aws-report.txt"
EXIT_OK = 0
EXIT_NOT_SENT = 1
EXIT_USAGE = 2

Asker = Callable[[str], str]


def terminal_ask(ui: Ui) -> Asker | None:
    """Typed confirmation on a terminal; None without one (then only --confirm can go ahead)."""
    if not sys.stdin.isatty():
        return None

    def ask(prompt: str) -> str:
        ui.err.print(safe(prompt + ": "), end="", soft_wrap=True)
        return sys.stdin.readline()

    return ask


def _say(ui: Ui, text: Text) -> None:
    """One message on stderr, never wrapped (paths and URLs stay whole for copying)."""
    ui.err.print(text, soft_wrap=True)


def _error(ui: Ui, message: str) -> None:
    _say(ui, Text(ui.t("ui.error") + " ", style="bold red") + safe(message))


def write_text(root: Path, letter: AwsLetter, output: Path | None) -> list[Path]:
    """``<case>/reports/aws-report.txt`` (0600 in a 0700 directory), and ``output`` if given."""
    data = letter.text.encode("utf-8")
    path = root / REPORTS_DIR / TEXT_NAME
    write_private(path, data)
    paths = [path]
    if output is not None:
        write_private(output, data)
        paths.append(output)
    return paths


def _where_to_send(ui: Ui, msg: Messages, *, submit_hint: bool) -> None:
    _say(ui, Text(msg.t("send.title"), style="bold"))
    _say(ui, fill(msg.t("send.form"), url=ABUSE_FORM_URL))
    _say(ui, fill(msg.t("send.email"), email=ABUSE_EMAIL))
    _say(ui, fill(msg.t("send.support"), url=SUPPORT_CENTER_URL))
    if submit_hint:
        _say(ui, Text(msg.t("send.submit")))
    _say(ui, Text(msg.t("send.contact"), style="yellow"))


def _confirmed(ui: Ui, msg: Messages, account: str, confirm: str | None, ask: Asker | None) -> bool:
    if confirm is not None:
        if confirm.strip() != account:
            _error(ui, msg.t("submit.wrong_confirm", confirm=one_line(confirm, 40), account=account))
            return False
        return True
    if ask is None:
        _error(ui, msg.t("submit.no_terminal"))
        return False
    if ask(msg.t("submit.confirm_prompt", account=account)).strip() != account:
        _error(ui, msg.t("submit.wrong_typed"))
        return False
    return True


def submit_letter(ui: Ui, msg: Messages, *, root: Path, text_path: Path, letter: AwsLetter, spec: SessionSpec,
                  confirm: str | None, ask: Asker | None) -> int:
    """The ``--submit`` part: refuse a second case, check the account and caller, confirm, CreateCase once."""
    data = load_case(root)
    previous = previous_submission(root)
    if previous is not None:
        key = "submit.previous_created" if previous.get("status") == "created" else "submit.previous_pending"
        _error(ui, msg.t(key, case_id=one_line(previous.get("case_id", ""), 80), path=record_path(root)))
        return EXIT_USAGE
    factory, identity = connect(ui, spec)
    try:
        check_submitter(identity, factory, data)
    except SafetyError as exc:
        _error(ui, str(exc))
        return EXIT_USAGE
    if not _confirmed(ui, msg, identity.account_id, confirm, ask):
        return EXIT_USAGE
    try:
        created = submit(factory, identity, data, letter)
    except (SupportPlanRequired, SupportAccessDenied, SubmitRefused, SubmitUncertain) as exc:
        _error(ui, str(exc))
        _say(ui, fill(msg.t("submit.failed"), path=text_path))
        _where_to_send(ui, msg, submit_hint=False)
        return EXIT_NOT_SENT
    except SafetyError as exc:
        _error(ui, str(exc))
        return EXIT_USAGE
    _say(ui, fill(msg.t("submit.codes"), service=created.codes.service_code, category=created.codes.category_code,
                      severity=created.severity_code, source=created.codes.source))
    _say(ui, fill(msg.t("submit.created"), "bold green", case_id=created.case_id))
    _say(ui, fill(msg.t("submit.recorded"), path=created.record))
    return EXIT_OK


@report.command("aws")
def report_aws(
    case: Annotated[Path | None, typer.Option("--case", file_okay=False,
                                              help="Case directory (default: the newest under ./cases/).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE", dir_okay=False,
                                                help="Also write the text here.")] = None,
    do_submit: Annotated[bool, typer.Option(
        "--submit", help="Open an AWS Support case with the text (a write to AWS: confirm the account id). "
                         "Needs a Business or Enterprise support plan.")] = False,
    confirm: Annotated[str | None, typer.Option(
        "--confirm", metavar="ACCOUNT_ID", help="Non-interactive confirmation of --submit: must equal the account id.")
    ] = None,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """The text for AWS (English, whatever --lang): for the abuse form, abuse@amazonaws.com or a support case."""
    ui = Ui(quiet=quiet, lang=lang)
    msg = Messages(ui.lang, "report_aws")
    root = case if case is not None else newest_case()
    data = load_case(root)
    # The files hold the text to send by hand (contact lines to fill in); with --submit, stdout shows
    # exactly the body that goes into the support case.
    manual = aws_letter(data)
    letter = aws_letter(data, via_support_case=True) if do_submit else manual
    paths = write_text(root, manual, output)
    sys.stdout.write(letter.text)
    sys.stdout.flush()
    if not quiet:
        _say(ui, fill(msg.t("written"), "bold", path=paths[0]))
        for extra in paths[1:]:
            _say(ui, fill(msg.t("also_written"), path=extra))
    if not do_submit:
        if not quiet:
            _where_to_send(ui, msg, submit_hint=True)
        return EXIT_OK
    code = submit_letter(ui, msg, root=root, text_path=paths[0], letter=letter,
                         spec=SessionSpec(profile=profile, endpoint_url=endpoint_url), confirm=confirm,
                         ask=terminal_ask(ui))
    if code != EXIT_OK:
        raise typer.Exit(code)
    return code
