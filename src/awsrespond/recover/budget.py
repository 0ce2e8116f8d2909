"""Cost budgets and their alerts: so the next abuse is caught within hours, not on the monthly bill.

The Budgets API is global (us-east-1 for the aws partition) and always names the account
(AccountId). Reading lists every budget with its spend and its notifications' alert state;
planning (``plan_budget``) turns ``--limit/--email`` into a change set: create the monthly cost
budget, update its limit, add the notifications it lacks.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import describe_error, error_code
from awsrespond.contain.model import Target
from awsrespond.recover.changes import ChangeSet
from awsrespond.recover.contacts import ReadError

BUDGETS_REGION = "us-east-1"
BUDGETS_CONSOLE_URL = "https://console.aws.amazon.com/billing/home#/budgets"
DEFAULT_BUDGET_NAME = "awsrespond-monthly-cost"
THRESHOLDS: tuple[float, ...] = (80.0, 100.0, 120.0)
NOTIFICATION_TYPES: tuple[str, ...] = ("ACTUAL", "FORECASTED")
_NOT_FOUND = frozenset({"NotFoundException"})
_EMAIL = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[A-Za-z0-9-]{2,}$")
_BUDGET_NAME = re.compile(r"^[^:\\]{1,100}$")  # what CreateBudget accepts

AlertState = Literal["ALARM", "OK", "UNKNOWN", "NO_ALERTS"]


class BudgetNotification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notification_type: str = Field(description="ACTUAL or FORECASTED")
    comparison_operator: str
    threshold: float
    threshold_type: str = Field(default="PERCENTAGE", description="PERCENTAGE or ABSOLUTE_VALUE")
    state: str | None = Field(default=None, description="ALARM or OK (NotificationState); None when not given")
    subscribers: int | None = Field(default=None, description="None when DescribeSubscribersForNotification "
                                    "did not answer")
    emails: list[str] = Field(default_factory=list)


class BudgetSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    budget_type: str
    time_unit: str
    limit_amount: str | None = None
    limit_unit: str | None = None
    actual_spend: str | None = None
    forecasted_spend: str | None = None
    spend_unit: str | None = None
    notifications: list[BudgetNotification] = Field(default_factory=list)
    alert_state: AlertState = Field(description="ALARM when any notification is in ALARM; NO_ALERTS without "
                                    "notifications; UNKNOWN when the states were not given")


class BudgetsReport(BaseModel):
    """What ``read_budgets`` returns, and the listing part of ``recover budget --format json``."""

    model_config = ConfigDict(extra="forbid")
    account_id: str
    budgets: list[BudgetSummary] = Field(default_factory=list)
    errors: list[ReadError] = Field(default_factory=list)

    def budget(self, name: str) -> BudgetSummary | None:
        return next((b for b in self.budgets if b.name == name), None)

    @property
    def with_alerts(self) -> list[BudgetSummary]:
        """Budgets with at least one notification that emails someone (or whose subscribers are unknown)."""
        return [b for b in self.budgets if any(n.subscribers != 0 for n in b.notifications)]


def _error(api: str, exc: ClientError | BotoCoreError, region: str = BUDGETS_REGION) -> ReadError:
    return ReadError(api=api, region=region, code=error_code(exc), message=describe_error(exc),
                     console_url=BUDGETS_CONSOLE_URL)


def alert_state(notifications: list[BudgetNotification]) -> AlertState:
    if not notifications:
        return "NO_ALERTS"
    states = {str(n.state).upper() for n in notifications if n.state}
    if "ALARM" in states:
        return "ALARM"
    return "OK" if states else "UNKNOWN"


def notification_key(notification: dict[str, Any]) -> tuple[str, str, float, str]:
    """What identifies a notification within a budget."""
    return (str(notification.get("NotificationType", "")), str(notification.get("ComparisonOperator", "")),
            float(notification.get("Threshold", 0.0)), str(notification.get("ThresholdType") or "PERCENTAGE"))


def notification_api(notification: dict[str, Any]) -> dict[str, Any]:
    """The Notification structure the Budgets API takes (no NotificationState)."""
    return {"NotificationType": notification["NotificationType"],
            "ComparisonOperator": notification["ComparisonOperator"],
            "Threshold": float(notification["Threshold"]),
            "ThresholdType": notification.get("ThresholdType") or "PERCENTAGE"}


def describe_budget(client: Any, account_id: str, name: str) -> dict[str, Any] | None:
    """DescribeBudget's Budget, or None when no budget has that name. Other errors raise."""
    try:
        answer = client.describe_budget(AccountId=account_id, BudgetName=name)
    except ClientError as exc:
        if error_code(exc) in _NOT_FOUND:
            return None
        raise
    budget: dict[str, Any] = answer.get("Budget") or {}
    return budget


def list_notifications(client: Any, account_id: str, name: str) -> list[dict[str, Any]]:
    """Every notification of a budget (DescribeNotificationsForBudget, paginated by hand: moto's
    answer has no NextToken)."""
    notifications: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"AccountId": account_id, "BudgetName": name}
        if token:
            kwargs["NextToken"] = token
        answer = client.describe_notifications_for_budget(**kwargs)
        notifications.extend(answer.get("Notifications") or [])
        token = answer.get("NextToken")
        if not token:
            return notifications


def list_subscribers(client: Any, account_id: str, name: str, notification: dict[str, Any]) -> list[dict[str, Any]]:
    subscribers: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"AccountId": account_id, "BudgetName": name,
                                  "Notification": notification_api(notification)}
        if token:
            kwargs["NextToken"] = token
        answer = client.describe_subscribers_for_notification(**kwargs)
        subscribers.extend(answer.get("Subscribers") or [])
        token = answer.get("NextToken")
        if not token:
            return subscribers


def _list_budgets(client: Any, account_id: str) -> list[dict[str, Any]]:
    budgets: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"AccountId": account_id}
        if token:
            kwargs["NextToken"] = token
        answer = client.describe_budgets(**kwargs)
        budgets.extend(answer.get("Budgets") or [])
        token = answer.get("NextToken")
        if not token:
            return budgets


def _money(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, dict):
        return None, None
    amount, unit = value.get("Amount"), value.get("Unit")
    return (str(amount) if amount is not None else None), (str(unit) if unit is not None else None)


class _Subscribers:
    """Subscriber reads, given up after the first failure (one error, not one per notification)."""

    def __init__(self, client: Any, account_id: str, errors: list[ReadError]) -> None:
        self.client, self.account_id, self.errors = client, account_id, errors
        self.failed = False

    def of(self, name: str, notification: dict[str, Any]) -> list[dict[str, Any]] | None:
        if self.failed:
            return None
        try:
            return list_subscribers(self.client, self.account_id, name, notification)
        except (ClientError, BotoCoreError) as exc:
            self.errors.append(_error("budgets:DescribeSubscribersForNotification", exc))
        except NotImplementedError as exc:  # moto's in-process mock lacks this API
            self.errors.append(ReadError(api="budgets:DescribeSubscribersForNotification", region=BUDGETS_REGION,
                                         code="NotImplemented", message=str(exc), console_url=BUDGETS_CONSOLE_URL))
        self.failed = True
        return None


def summarize(budget: dict[str, Any], notifications: list[BudgetNotification]) -> BudgetSummary:
    limit, limit_unit = _money(budget.get("BudgetLimit"))
    spend = budget.get("CalculatedSpend") or {}
    actual, unit = _money(spend.get("ActualSpend"))
    forecast, forecast_unit = _money(spend.get("ForecastedSpend"))
    return BudgetSummary(
        name=str(budget.get("BudgetName", "")), budget_type=str(budget.get("BudgetType", "")),
        time_unit=str(budget.get("TimeUnit", "")), limit_amount=limit, limit_unit=limit_unit,
        actual_spend=actual, forecasted_spend=forecast, spend_unit=unit or forecast_unit,
        notifications=notifications, alert_state=alert_state(notifications))


def read_budgets(factory: ClientFactory, account_id: str, *, region: str = BUDGETS_REGION) -> BudgetsReport:
    """Every budget of the account with its spend and its notifications (read-only)."""
    client = factory.client("budgets", region)
    report = BudgetsReport(account_id=account_id)
    try:
        budgets = _list_budgets(client, account_id)
    except (ClientError, BotoCoreError) as exc:
        if error_code(exc) in _NOT_FOUND:  # the API's answer for an account with no budget at all
            return report
        report.errors.append(_error("budgets:DescribeBudgets", exc, region))
        return report
    subscribers = _Subscribers(client, account_id, report.errors)
    for budget in budgets:
        name = str(budget.get("BudgetName", ""))
        notifications: list[BudgetNotification] = []
        try:
            raw = list_notifications(client, account_id, name)
        except (ClientError, BotoCoreError) as exc:
            report.errors.append(_error("budgets:DescribeNotificationsForBudget", exc, region))
            raw = []
        for item in raw:
            people = subscribers.of(name, item)
            notifications.append(BudgetNotification(
                notification_type=str(item.get("NotificationType", "")),
                comparison_operator=str(item.get("ComparisonOperator", "")),
                threshold=float(item.get("Threshold", 0.0)),
                threshold_type=str(item.get("ThresholdType") or "PERCENTAGE"),
                state=item.get("NotificationState"),
                subscribers=None if people is None else len(people),
                emails=[str(p.get("Address", "")) for p in people or [] if p.get("SubscriptionType") == "EMAIL"]))
        report.budgets.append(summarize(budget, notifications))
    return report


# -- validation of what the user asks for --------------------------------------------------------


def parse_limit(text: str) -> Decimal:
    """A positive decimal amount with at most two decimals; ValueError otherwise."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation as exc:
        raise ValueError(f"--limit {text!r} is not a number") from exc
    if not amount.is_finite() or amount <= 0:
        raise ValueError(f"--limit {text!r} must be a positive amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"--limit {text!r} has more than two decimals")
    return amount.quantize(Decimal("0.01"))


def valid_email(address: str) -> bool:
    return bool(_EMAIL.match(address)) and len(address) <= 254


def valid_budget_name(name: str) -> bool:
    return bool(_BUDGET_NAME.match(name))


# -- the plan of changes ---------------------------------------------------------------------------


def wanted_notifications(emails: list[str]) -> list[dict[str, Any]]:
    """ACTUAL and FORECASTED spend above 80, 100 and 120 percent of the limit, each emailing everyone."""
    subscribers = [{"SubscriptionType": "EMAIL", "Address": address} for address in emails]
    return [{"Notification": {"NotificationType": kind, "ComparisonOperator": "GREATER_THAN", "Threshold": threshold,
                              "ThresholdType": "PERCENTAGE"},
             "Subscribers": subscribers}
            for kind in NOTIFICATION_TYPES for threshold in THRESHOLDS]


def limit_text(amount: Any) -> str | None:
    """A budget limit as compared by the steps: two decimals ("100" and "100.0" are the same limit)."""
    if amount is None:
        return None
    try:
        return str(Decimal(str(amount)).quantize(Decimal("0.01")))
    except InvalidOperation:
        return str(amount)


def _notification_id(name: str, notification: dict[str, Any]) -> str:
    return f"{name}/{notification['NotificationType']}>{notification['Threshold']:g}%"


def plan_budget(factory: ClientFactory, account_id: str, *, limit: Decimal, emails: list[str],
                name: str = DEFAULT_BUDGET_NAME, currency: str = "USD", region: str = BUDGETS_REGION) -> ChangeSet:
    """The steps that leave a monthly cost budget ``name`` at ``limit`` with the six email alerts.

    Read-only. ValueError when a budget of that name exists but is not a monthly cost budget.
    AWS errors (access denied...) propagate: without reading, nothing can be planned.
    """
    changes = ChangeSet(command="recover budget")
    client = factory.client("budgets", region)
    target = Target(type="AWS::Budgets::Budget", id=name, region=region,
                    arn=f"arn:aws:budgets::{account_id}:budget/{name}")
    wanted = wanted_notifications(emails)
    amount = str(limit.quantize(Decimal("0.01")))
    base = {"account_id": account_id, "budget_name": name}
    existing = describe_budget(client, account_id, name)
    if existing is None:
        budget = {"BudgetName": name, "BudgetType": "COST", "TimeUnit": "MONTHLY",
                  "BudgetLimit": {"Amount": amount, "Unit": currency}}
        changes.add("budgets.create-budget", target, expect={"exists": False},
                    post={"exists": True, "limit": amount, "missing_notifications": 0},
                    params={**base, "budget": budget, "notifications": wanted},
                    reason=f"no budget alerts on spend: create a monthly cost budget of {amount} {currency} "
                           f"alerting {', '.join(emails)} at 80/100/120% of actual and forecasted spend")
        return changes
    kind, unit = existing.get("BudgetType"), existing.get("TimeUnit")
    if kind != "COST" or unit != "MONTHLY":
        raise ValueError(f"budget {name!r} exists as a {kind} {unit} budget, not a monthly cost budget: "
                         "choose another --name")
    old_limit = limit_text((existing.get("BudgetLimit") or {}).get("Amount"))
    old_unit = (existing.get("BudgetLimit") or {}).get("Unit")
    if old_limit != amount or old_unit != currency:
        changes.add("budgets.update-budget", target, expect={"limit": old_limit}, post={"limit": amount},
                    params={**base, "limit": {"Amount": amount, "Unit": currency}},
                    reason=f"the budget's limit is {old_limit} {old_unit}: set it to {amount} {currency}")
    have = list_notifications(client, account_id, name)
    have_keys = {notification_key(n) for n in have}
    missing = [w for w in wanted if notification_key(w["Notification"]) not in have_keys]
    if len(have) + len(missing) > 10:
        changes.note(f"budget {name!r} has {len(have)} alerts; only 10 fit: some of the wanted alerts are left out")
        missing = missing[:max(0, 10 - len(have))]
    for item in missing:
        note = item["Notification"]
        changes.add("budgets.create-notification",
                    Target(type="AWS::Budgets::Notification", id=_notification_id(name, note), region=region),
                    expect={"present": False}, post={"present": True},
                    params={**base, "notification": note, "subscribers": item["Subscribers"]},
                    reason=f"alert on {note['NotificationType'].lower()} spend above {note['Threshold']:g}% "
                           "is missing")
    present = [w["Notification"] for w in wanted if notification_key(w["Notification"]) in have_keys]
    for note in present:
        try:
            people = list_subscribers(client, account_id, name, note)
        except (ClientError, BotoCoreError, NotImplementedError) as exc:
            changes.note(f"could not read who receives the existing alert {_notification_id(name, note)} "
                         f"({exc}): check its recipients in the console at {BUDGETS_CONSOLE_URL}")
            break
        addresses = {str(p.get("Address", "")).lower() for p in people if p.get("SubscriptionType") == "EMAIL"}
        for address in emails:
            if address.lower() in addresses:
                continue
            if len(addresses) >= 10:
                changes.note(f"alert {_notification_id(name, note)} already emails 10 addresses: "
                             f"{address} not added")
                continue
            addresses.add(address.lower())
            changes.add("budgets.create-subscriber",
                        Target(type="AWS::Budgets::Notification", id=_notification_id(name, note), region=region),
                        expect={"subscribed": False}, post={"subscribed": True},
                        params={**base, "notification": note, "email": address},
                        reason=f"the alert does not email {address}")
    return changes


class BudgetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    limit: str
    currency: str
    emails: list[str]


class BudgetDocument(BaseModel):
    """What ``recover budget --format json`` prints: the budgets (after any change) and what was asked."""

    model_config = ConfigDict(extra="forbid")
    account_id: str
    budgets: list[BudgetSummary]
    errors: list[ReadError] = Field(default_factory=list)
    request: BudgetRequest | None = Field(default=None, description="--limit/--email, when given")
    plan_id: str | None = Field(default=None, description="The applied plan (contain undo --plan ID reverses it)")
    applied: bool = False
    ok: bool = Field(description="No budget in ALARM, at least one budget with alerts, every step verified")
    notes: list[str] = Field(default_factory=list)


_PARTITION_REGION = {"aws": "us-east-1", "aws-cn": "cn-northwest-1", "aws-us-gov": "us-gov-west-1"}


def budgets_region(partition: str) -> str:
    """Where the global Budgets (and Account) API answers for a partition."""
    return _PARTITION_REGION.get(partition, BUDGETS_REGION)
