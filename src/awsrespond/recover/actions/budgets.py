"""Creating and changing cost budgets and their email alerts (Budgets API, global: us-east-1).

Every step's params name the account (``account_id``: the API always asks for it) and the budget
(``budget_name``). CreateBudget is not idempotent (a repeat fails as a duplicate): ``reconcile``
looks the budget up by name. UpdateBudget's undo puts the old budget back from the step's result.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from awsrespond.contain.actions.base import Action, ActionContext, ActionError, register
from awsrespond.contain.model import Step
from awsrespond.findings import EvidenceRef
from awsrespond.recover.budget import (
    describe_budget,
    limit_text,
    list_notifications,
    list_subscribers,
    notification_api,
    notification_key,
)
from awsrespond.timeutil import iso

# What DescribeBudget returns that UpdateBudget's NewBudget must not carry back
_READ_ONLY_BUDGET_KEYS = frozenset({"CalculatedSpend", "LastUpdatedTime", "HealthStatus"})


def _budget_name(step: Step) -> str:
    return str(step.params.get("budget_name") or step.target.id)


def _account(step: Step) -> str:
    account = step.params.get("account_id")
    if not account:
        raise ActionError("the step names no account_id (the Budgets API needs it)")
    return str(account)


def _jsonable(value: Any) -> Any:
    """A DescribeBudget answer as the journal can keep it (times as ISO strings, which botocore accepts)."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _budget_limit(budget: Mapping[str, Any] | None) -> str | None:
    limit = (budget or {}).get("BudgetLimit")
    return limit_text(limit.get("Amount")) if isinstance(limit, dict) else None


def _missing_notifications(client: Any, step: Step) -> int:
    have = {notification_key(n) for n in list_notifications(client, _account(step), _budget_name(step))}
    wanted = [n["Notification"] for n in step.params.get("notifications", [])]
    return sum(1 for n in wanted if notification_key(n) not in have)


@register
class CreateBudget(Action):
    name = "budgets.create-budget"
    title = "Create a cost budget with email alerts"
    resource_type = "AWS::Budgets::Budget"
    permissions = ("budgets:ViewBudget", "budgets:ModifyBudget")
    reversible = True
    how_to_undo = "DeleteBudget on the budget this step created (its alerts go with it)"
    undo_permissions = ("budgets:ModifyBudget",)
    idempotent = False  # a second CreateBudget fails as a duplicate: reconcile finds it by name

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        client = ctx.client("budgets", step.target.region)
        budget = describe_budget(client, _account(step), _budget_name(step))
        if budget is None:
            return {"exists": False, "limit": None, "missing_notifications": None}
        return {"exists": True, "limit": _budget_limit(budget),
                "missing_notifications": _missing_notifications(client, step)}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        budget = describe_budget(ctx.client("budgets", step.target.region), _account(step), _budget_name(step))
        return [ctx.evidence(step, "budgets", "DescribeBudget", {"Budget": budget}, suffix="before")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        budget = step.params.get("budget")
        if not isinstance(budget, dict) or budget.get("BudgetName") != _budget_name(step):
            raise ActionError("the step's budget does not match its target")
        ctx.client("budgets", step.target.region).create_budget(
            AccountId=_account(step), Budget=budget,
            NotificationsWithSubscribers=list(step.params.get("notifications", [])))
        return {"created": _budget_name(step)}

    def reconcile(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        # The step was only started because no budget had this name (expect): one with it now is ours.
        if describe_budget(ctx.client("budgets", step.target.region), _account(step), _budget_name(step)):
            return {"created": _budget_name(step), "reconciled": "found by name"}
        return None

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        name = result.get("created")
        if not name:
            raise ActionError("the step's result names no budget it created")
        ctx.client("budgets", step.target.region).delete_budget(AccountId=_account(step), BudgetName=str(name))
        return {"deleted": name}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"exists": False}


@register
class UpdateBudget(Action):
    name = "budgets.update-budget"
    title = "Change a budget's limit"
    resource_type = "AWS::Budgets::Budget"
    permissions = ("budgets:ViewBudget", "budgets:ModifyBudget")
    reversible = True
    how_to_undo = "UpdateBudget back to the budget as it was (kept in the step's result)"
    undo_permissions = ("budgets:ModifyBudget",)

    def _read(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        budget = describe_budget(ctx.client("budgets", step.target.region), _account(step), _budget_name(step))
        if budget is None:
            raise ActionError(f"budget {_budget_name(step)!r} no longer exists")
        return budget

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"limit": _budget_limit(self._read(ctx, step))}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        return [ctx.evidence(step, "budgets", "DescribeBudget", {"Budget": self._read(ctx, step)}, suffix="before")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        old = self._read(ctx, step)
        limit = step.params.get("limit")
        if not isinstance(limit, dict) or not limit.get("Amount"):
            raise ActionError("the step names no new limit")
        new = {k: v for k, v in old.items() if k not in _READ_ONLY_BUDGET_KEYS}
        new["BudgetLimit"] = dict(limit)
        ctx.client("budgets", step.target.region).update_budget(AccountId=_account(step), NewBudget=new)
        kept = {k: v for k, v in old.items() if k not in _READ_ONLY_BUDGET_KEYS}
        return {"previous": _jsonable(kept), "previous_limit": _budget_limit(old)}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous")
        if not isinstance(previous, dict) or previous.get("BudgetName") != _budget_name(step):
            raise ActionError("the step's result holds no previous budget to put back")
        ctx.client("budgets", step.target.region).update_budget(AccountId=_account(step), NewBudget=dict(previous))
        return {"restored_limit": result.get("previous_limit")}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"limit": result.get("previous_limit")}


def _notification(step: Step) -> dict[str, Any]:
    notification = step.params.get("notification")
    if not isinstance(notification, dict):
        raise ActionError("the step names no notification")
    return notification_api(notification)


@register
class CreateNotification(Action):
    name = "budgets.create-notification"
    title = "Add an email alert to a budget"
    resource_type = "AWS::Budgets::Notification"
    permissions = ("budgets:ViewBudget", "budgets:ModifyBudget")
    reversible = True
    how_to_undo = "DeleteNotification on the alert this step added (its subscribers go with it)"
    undo_permissions = ("budgets:ModifyBudget",)

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        have = list_notifications(ctx.client("budgets", step.target.region), _account(step), _budget_name(step))
        return {"present": notification_key(_notification(step)) in {notification_key(n) for n in have}}

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        subscribers = list(step.params.get("subscribers", []))
        if not subscribers:
            raise ActionError("the step names no subscriber for the alert")
        ctx.client("budgets", step.target.region).create_notification(
            AccountId=_account(step), BudgetName=_budget_name(step), Notification=_notification(step),
            Subscribers=subscribers)
        return {"budget": _budget_name(step), "notification": _notification(step)}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        ctx.client("budgets", step.target.region).delete_notification(
            AccountId=_account(step), BudgetName=_budget_name(step), Notification=_notification(step))
        return {"deleted": _notification(step)}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"present": False}


@register
class CreateSubscriber(Action):
    name = "budgets.create-subscriber"
    title = "Add an email address to an existing budget alert"
    resource_type = "AWS::Budgets::Notification"
    permissions = ("budgets:ViewBudget", "budgets:ModifyBudget")
    reversible = True
    how_to_undo = "DeleteSubscriber: the address stops receiving this alert"
    undo_permissions = ("budgets:ModifyBudget",)

    def _address(self, step: Step) -> str:
        address = step.params.get("email")
        if not address:
            raise ActionError("the step names no email address")
        return str(address)

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        people = list_subscribers(ctx.client("budgets", step.target.region), _account(step), _budget_name(step),
                                  _notification(step))
        addresses = {str(p.get("Address", "")).lower() for p in people if p.get("SubscriptionType") == "EMAIL"}
        return {"subscribed": self._address(step).lower() in addresses}

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        ctx.client("budgets", step.target.region).create_subscriber(
            AccountId=_account(step), BudgetName=_budget_name(step), Notification=_notification(step),
            Subscriber={"SubscriptionType": "EMAIL", "Address": self._address(step)})
        return {"budget": _budget_name(step), "subscribed": self._address(step)}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        ctx.client("budgets", step.target.region).delete_subscriber(
            AccountId=_account(step), BudgetName=_budget_name(step), Notification=_notification(step),
            Subscriber={"SubscriptionType": "EMAIL", "Address": self._address(step)})
        return {"unsubscribed": self._address(step)}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"subscribed": False}
