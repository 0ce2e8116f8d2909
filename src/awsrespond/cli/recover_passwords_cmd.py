"""``awsrespond recover passwords``: new temporary console passwords (reset required, kept only in the case's
``secrets/``), a strong account password policy, and the root user's guided steps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from botocore.exceptions import ClientError
from rich.text import Text

from awsrespond.aws.clients import SessionSpec
from awsrespond.cli import options as opt
from awsrespond.cli.recover_app import Confirm, DryRun, case_for, recover, run_changes
from awsrespond.cli.triage_cmd import EXIT_OK, EXIT_SUSPICIOUS, connect
from awsrespond.cli.ui import OutputFormat, Ui, safe
from awsrespond.contain.journal import StepStatus
from awsrespond.recover.changes import ChangeSet
from awsrespond.recover.passwords import (
    RESET_ACTION,
    PasswordsDocument,
    organization_role,
    plan_password_policy,
    plan_password_resets,
    root_guidance,
)

POLICY_URL = "https://console.aws.amazon.com/iam/home#/account_settings"
_DONE = (StepStatus.VERIFIED, StepStatus.DONE)



@recover.command("passwords")
def passwords_cmd(
    user: Annotated[list[str] | None, typer.Option("--user", metavar="NAME",
                                                   help="Reset this IAM user's console password (repeatable).")] = None,
    all_console_users: Annotated[bool, typer.Option(
        "--all-console-users", help="Reset every IAM user that has a console password (the default "
                                    "without --user; with --user, in addition).")] = False,
    include_me: Annotated[bool, typer.Option(
        "--include-me", help="Consider your own IAM user too (the executor still refuses to change the principal "
                             "you are signed in as: you are told how to change it yourself).")] = False,
    never_touch: Annotated[list[str] | None, typer.Option(
        "--never-touch", metavar="NAME|ARN", help="Break-glass users never reset (repeatable).")] = None,
    baseline: Annotated[Path | None, typer.Option(
        "--baseline", exists=True, dir_okay=False,
        help="The baseline YAML; its never_touch list is added to --never-touch.")] = None,
    password_policy: Annotated[bool, typer.Option(
        "--password-policy/--no-password-policy",
        help="Also set a strong account password policy (14+ characters, every class, 24 remembered).")] = True,
    max_age: Annotated[int | None, typer.Option("--max-password-age", min=1, max=1095, metavar="DAYS",
                                                help="Passwords expire after DAYS (default: as before).")] = None,
    confirm: Confirm = None,
    dry_run: DryRun = False,
    case: opt.CaseDir = None,
    fmt: opt.Format = OutputFormat.TEXT,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """Rotate IAM users' console passwords (temporary, reset required) and set a strong password policy."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    users = opt.split_values(user)
    # The manual resets every console password after a compromise: that is the default without --user.
    all_console_users = all_console_users or not users
    protected = opt.never_touch_names(never_touch, baseline)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    opened = case_for(identity, case)
    changes = ChangeSet(command="recover passwords")
    console, planned, skipped = plan_password_resets(changes, factory, identity, users=users,
                                                     all_console_users=all_console_users, include_me=include_me,
                                                     never_touch=protected)
    for entry in skipped:
        changes.note(f"{entry.user} not reset: {entry.reason}")
    policy_step = None
    if password_policy:
        try:
            policy_step = plan_password_policy(changes, factory, max_age=max_age)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            ui.warn(ui.text("passwords.policy_unreadable", code=code, url=POLICY_URL))
        else:
            if policy_step is None:
                changes.note("the account password policy is already strong")
    organization = organization_role(factory, identity.account_id)
    document = PasswordsDocument(
        account_id=identity.account_id, console_users=console, planned=planned, skipped=skipped,
        password_policy_step=policy_step, applied=None,
        root_guidance=root_guidance(identity.account_id, identity.partition, organization))
    applied = run_changes(ui, opened, factory, identity, changes, confirm=confirm, dry_run=dry_run)
    ok = True
    if applied is not None:
        document.applied = applied
        document.secrets = sorted(str(s.result["secret_file"]) for s in applied.steps
                                  if s.action == RESET_ACTION and s.status in _DONE and s.result.get("secret_file"))
        ok = applied.ok
    opened.write_json("recovery/passwords.json", document.model_dump(mode="json"))
    if fmt is OutputFormat.JSON:
        ui.json(document.model_dump_json())
    else:
        if document.secrets:
            ui.out.print(Text(ui.t("passwords.secrets"), style="bold"), safe(f"{opened.root}/"))
            for path in document.secrets:
                ui.out.print(safe(f"  {path}"))
            ui.out.print(ui.text("passwords.hand_over"))
        ui.out.print(Text(ui.t("passwords.root"), style="bold"))
        for line in document.root_guidance:
            ui.out.print(safe(line))
    pending = dry_run and bool(changes.steps)
    return EXIT_OK if ok and not pending and not [s for s in skipped if s.user in users] else EXIT_SUSPICIOUS
