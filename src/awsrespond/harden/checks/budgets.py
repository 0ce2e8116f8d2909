"""A cost budget with alerts, so the next abuse is caught within hours (``recover budget`` makes one)."""

from __future__ import annotations

from awsrespond.harden.model import CheckSeverity
from awsrespond.harden.registry import HardenContext, Outcome, check, errored, failed, passed
from awsrespond.recover.budget import BUDGETS_CONSOLE_URL, read_budgets

CHECK_ID = "budgets.alerting-budget"
FIX = ("`awsrespond recover budget --limit AMOUNT --email ADDRESS` (a monthly cost budget alerting at 80, 100 "
       f"and 120 percent of actual and forecasted spend); console: {BUDGETS_CONSOLE_URL}")


@check(CHECK_ID, "A cost budget sends alerts", CheckSeverity.MEDIUM)
def alerting_budget(ctx: HardenContext) -> Outcome:
    report = read_budgets(ctx.factory, ctx.account_id)
    errors = [f"{e.api} in {e.region} failed: {e.message}" for e in report.errors]
    listing_failed = any(e.api == "budgets:DescribeBudgets" for e in report.errors)
    if listing_failed:
        return errored(f"could not list the budgets: {'; '.join(errors)}", FIX, errors=errors)
    alerting = [b for b in report.with_alerts if b.budget_type == "COST"]
    if alerting:
        names = ", ".join(f"{b.name} ({len(b.notifications)} alerts, {b.alert_state})" for b in alerting)
        unknown = " (subscribers not readable: check the e-mail addresses in the console)" if errors else ""
        return passed(f"cost budgets with alerts: {names}{unknown}", errors=errors)
    notifications_failed = any(e.api == "budgets:DescribeNotificationsForBudget" for e in report.errors)
    if notifications_failed and report.budgets:
        return errored(f"could not read the budgets' notifications: {'; '.join(errors)}", FIX, errors=errors)
    detail = ("no budget" if not report.budgets else
              f"no cost budget with alerts among {len(report.budgets)} budgets: "
              + ", ".join(f"{b.name} ({b.budget_type}, {len(b.notifications)} alerts)" for b in report.budgets))
    return failed(detail, FIX, fixable=False, resources=[b.name for b in report.budgets], errors=errors)
