"""Setting the account's alternate contacts and its primary contact information (Account API).

Both are reversible: the previous contact goes into the step's result (contact details are account
data, not secrets), and undo puts it back, or deletes an alternate contact that was not set before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awsrespond.contain.actions.base import Action, ActionContext, ActionError, register
from awsrespond.contain.model import Step
from awsrespond.findings import EvidenceRef
from awsrespond.recover.contacts import CONTACT_TYPES, read_alternate_contact, read_contact_information

ALTERNATE_FIELDS = {"name": "Name", "email": "EmailAddress", "phone": "PhoneNumber", "title": "Title"}


def alternate_state(contact: Mapping[str, Any] | None) -> dict[str, Any]:
    """An alternate contact as observe() reports it: the four fields, None when not set."""
    return {ours: (contact or {}).get(theirs) for ours, theirs in ALTERNATE_FIELDS.items()}


def _contact_type(step: Step) -> str:
    contact_type = step.target.id.upper()
    if contact_type not in CONTACT_TYPES:
        raise ActionError(f"{step.target.id!r} is not an alternate contact type ({', '.join(CONTACT_TYPES)})")
    return contact_type


@register
class PutAlternateContact(Action):
    name = "account.put-alternate-contact"
    title = "Set an alternate contact (billing, operations or security)"
    resource_type = "AWS::Account::AlternateContact"
    permissions = ("account:GetAlternateContact", "account:PutAlternateContact")
    reversible = True
    how_to_undo = ("PutAlternateContact with the contact it had before (kept in the step's result), or "
                   "DeleteAlternateContact when none was set")
    undo_permissions = ("account:PutAlternateContact", "account:DeleteAlternateContact")

    def _read(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        return read_alternate_contact(ctx.client("account", step.target.region), _contact_type(step))

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return alternate_state(self._read(ctx, step))

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        return [ctx.evidence(step, "account", "GetAlternateContact", {"AlternateContact": self._read(ctx, step)},
                             suffix="before")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        previous = self._read(ctx, step)
        wanted = {theirs: step.params[ours] for ours, theirs in ALTERNATE_FIELDS.items() if step.params.get(ours)}
        missing = [f for f in ("name", "email", "phone", "title") if not step.params.get(f)]
        if missing:
            raise ActionError(f"the step lacks {', '.join(missing)}: PutAlternateContact needs all four")
        ctx.client("account", step.target.region).put_alternate_contact(
            AlternateContactType=_contact_type(step), **wanted)
        return {"type": _contact_type(step), "previous": alternate_state(previous) if previous else None}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        client = ctx.client("account", step.target.region)
        previous = result.get("previous")
        if not previous:
            client.delete_alternate_contact(AlternateContactType=_contact_type(step))
            return {"deleted": _contact_type(step)}
        client.put_alternate_contact(AlternateContactType=_contact_type(step),
                                     **{theirs: previous[ours] for ours, theirs in ALTERNATE_FIELDS.items()
                                        if previous.get(ours)})
        return {"restored": _contact_type(step)}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous")
        return dict(previous) if previous else alternate_state(None)


def contact_state(information: Mapping[str, Any] | None) -> dict[str, Any]:
    """observe() of the primary contact: the ContactInformation fields that are set."""
    return {"contact": {k: str(v) for k, v in sorted((information or {}).items()) if v}}


@register
class PutContactInformation(Action):
    name = "account.put-contact-information"
    title = "Set the account's primary contact information"
    resource_type = "AWS::Account::ContactInformation"
    permissions = ("account:GetContactInformation", "account:PutContactInformation")
    reversible = True
    how_to_undo = "PutContactInformation with the contact information it had before (kept in the step's result)"
    undo_permissions = ("account:PutContactInformation",)

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return contact_state(read_contact_information(ctx.client("account", step.target.region)))

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        answer = read_contact_information(ctx.client("account", step.target.region))
        return [ctx.evidence(step, "account", "GetContactInformation", {"ContactInformation": answer},
                             suffix="before")]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        client = ctx.client("account", step.target.region)
        previous = read_contact_information(client)
        wanted = step.params.get("contact")
        if not isinstance(wanted, dict) or not wanted:
            raise ActionError("the step names no contact information to set")
        client.put_contact_information(ContactInformation=dict(wanted))
        return {"previous": {k: str(v) for k, v in previous.items() if v}}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous")
        if not isinstance(previous, dict) or not previous:
            raise ActionError("the step's result holds no previous contact information to put back")
        ctx.client("account", step.target.region).put_contact_information(ContactInformation=dict(previous))
        return {"restored": "contact information"}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous")
        return contact_state(previous if isinstance(previous, dict) else None)
