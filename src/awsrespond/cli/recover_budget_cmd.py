"""``awsrespond recover budget``: list budgets and their alert state; with ``--limit`` and ``--email``,
create or update a monthly cost budget alerting at 80/100/120% of actual and forecasted spend."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from awsrespond.aws.clients import SessionSpec
from awsrespond.cli import options as opt
from awsrespond.cli.recover_app import Confirm, DryRun, case_for, recover, run_changes
from awsrespond.cli.triage_cmd import EXIT_OK, EXIT_SUSPICIOUS, connect
from awsrespond.cli.ui import OutputFormat, Ui, safe
from awsrespond.errors import UsageError
from awsrespond.recover.budget import (
    DEFAULT_BUDGET_NAME,
    BudgetDocument,
    BudgetRequest,
    BudgetsReport,
    budgets_region,
    parse_limit,
    plan_budget,
    read_budgets,
    valid_budget_name,
    valid_email,
)

MAX_EMAILS = 10  # email subscribers per budget notification
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def validate(limit: str | None, emails: list[str], name: str, currency: str) -> Decimal | None:
    """The parsed limit (None: only list), or UsageError (exit 2) for anything the API would refuse."""
    if limit is None:
        if emails:
            raise UsageError("--email needs --limit AMOUNT (without --limit, recover budget only lists budgets)")
        return None
    try:
        amount = parse_limit(limit)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if not emails:
        raise UsageError("--limit needs at least one --email ADDRESS to alert")
    bad = [e for e in emails if not valid_email(e)]
    if bad:
        raise UsageError(f"--email {', '.join(repr(e) for e in bad)}: not an email address")
    if len({e.lower() for e in emails}) > MAX_EMAILS:
        raise UsageError(f"at most {MAX_EMAILS} --email addresses per alert")
    if not valid_budget_name(name):
        raise UsageError(f"--name {name!r}: 1-100 characters, no ':' or '\\'")
    if not _CURRENCY.match(currency):
        raise UsageError(f"--currency {currency!r}: a three-letter currency code such as USD")
    return amount


def _unique(emails: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for address in emails:
        seen.setdefault(address.strip().lower(), address.strip())
    return list(seen.values())


def render(ui: Ui, report: BudgetsReport) -> None:
    if not report.budgets:
        ui.out.print(Text(ui.t("budget.none"), style="yellow"), Text(ui.t("budget.create_hint")))
    else:
        table = Table(title=ui.t("budget.title"), title_justify="left", box=None, pad_edge=False)
        for column in ("name", "type", "period", "limit", "actual", "forecast", "alerts", "state"):
            table.add_column(ui.t(f"budget.column.{column}"), overflow="fold")
        for budget in report.budgets:
            state = Text(budget.alert_state, style="bold red" if budget.alert_state == "ALARM" else
                         "green" if budget.alert_state == "OK" else "yellow")
            alerts = ", ".join(f"{n.notification_type.lower()}>{n.threshold:g}"
                               + ("%" if n.threshold_type == "PERCENTAGE" else "")
                               + (f"({n.subscribers})" if n.subscribers is not None else "")
                               for n in budget.notifications) or ui.t("budget.no_alerts")
            table.add_row(safe(budget.name), safe(budget.budget_type), safe(budget.time_unit),
                          safe(f"{budget.limit_amount or '-'} {budget.limit_unit or ''}"),
                          safe(budget.actual_spend or "-"), safe(budget.forecasted_spend or "-"), safe(alerts), state)
        ui.out.print(table)


def warn_errors(ui: Ui, report: BudgetsReport) -> None:
    for error in report.errors:
        ui.warn(ui.text("recover.could_not_read", api=error.api, region=error.region, message=error.message,
                        url=error.console_url))


@recover.command("budget")
def budget_cmd(
    limit: Annotated[str | None, typer.Option("--limit", metavar="AMOUNT",
                                              help="Monthly cost limit; with --email creates or updates the "
                                                   "budget. Without it: list budgets and their alert state.")] = None,
    email: Annotated[list[str] | None, typer.Option("--email", metavar="ADDRESS",
                                                    help="Who the alerts email (repeatable).")] = None,
    name: Annotated[str, typer.Option("--name", help="Budget name.")] = DEFAULT_BUDGET_NAME,
    currency: Annotated[str, typer.Option("--currency", help="Currency of the limit.")] = "USD",
    confirm: Confirm = None,
    dry_run: DryRun = False,
    case: opt.CaseDir = None,
    fmt: opt.Format = OutputFormat.TEXT,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """Budget alerts, so the next abuse is caught within hours: list them, or create / update one."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    emails = _unique(email or [])
    amount = validate(limit, emails, name, currency)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    region = budgets_region(identity.partition)
    opened = case_for(identity, case)
    document = BudgetDocument(account_id=identity.account_id, budgets=[], ok=False)
    steps_ok = True
    if amount is not None:
        document.request = BudgetRequest(name=name, limit=str(amount), currency=currency, emails=emails)
        try:
            changes = plan_budget(factory, identity.account_id, limit=amount, emails=emails, name=name,
                                  currency=currency, region=region)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        document.notes.extend(changes.notes)
        applied = run_changes(ui, opened, factory, identity, changes, confirm=confirm, dry_run=dry_run)
        if applied is not None:
            document.plan_id, document.applied, steps_ok = applied.plan_id, True, applied.ok
        elif dry_run and changes.planned is not None and changes.steps:
            document.plan_id = changes.planned.plan_id
    report = read_budgets(factory, identity.account_id, region=region)
    document.budgets, document.errors = report.budgets, report.errors
    document.ok = steps_ok and bool(report.with_alerts) and not any(b.alert_state == "ALARM" for b in report.budgets)
    opened.write_json("recovery/budget.json", document.model_dump(mode="json"))
    if fmt is OutputFormat.JSON:
        ui.json(document.model_dump_json())
    else:
        render(ui, report)
    warn_errors(ui, report)
    return EXIT_OK if document.ok else EXIT_SUSPICIOUS
