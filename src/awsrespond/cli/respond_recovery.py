"""The guided response's recovery step: restore, passwords, MFA, contacts, budget alert, harden, checklist.

Each part runs on its own: one that fails (AccessDenied, a region not answering) is recorded and the next
one still runs. Every write is a plan shown first and applied with the flow's confirmation, else saved.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic import ValidationError

from awsrespond.aws.regions import parse_region_option, plan_regions
from awsrespond.cli.contain_render import apply_summary
from awsrespond.cli.recover_app import changes_table
from awsrespond.cli.recover_checklist_cmd import checklist_table
from awsrespond.contain.planio import write_plan
from awsrespond.errors import AwsRespondError
from awsrespond.harden.model import CheckStatus
from awsrespond.harden.service import plan_fixes, run_checks
from awsrespond.recover.budget import budgets_region, parse_limit, plan_budget, valid_email
from awsrespond.recover.changes import ChangeSet, apply_changes
from awsrespond.recover.checklist import recovery_checklist
from awsrespond.recover.contacts import (
    AlternateContactInput,
    ContactsFile,
    flag_changes,
    plan_contacts,
    read_contacts,
)
from awsrespond.recover.mfa import mfa_status
from awsrespond.recover.passwords import plan_password_policy, plan_password_resets
from awsrespond.recover.restore import plan_restore
from awsrespond.respond.explain import listed
from awsrespond.respond.state import StepStatus

if TYPE_CHECKING:
    from awsrespond.cli.respond_flow import Flow

# The worst outcome of the parts decides the step's status.
_RANK = {StepStatus.DONE: 0, StepStatus.SKIPPED: 1, StepStatus.SAVED: 2, StepStatus.FAILED: 3}


def apply_set(flow: Flow, changes: ChangeSet) -> StepStatus:
    """Show the change set; apply it with the flow's confirmation, or save it (no confirmation possible)."""
    from awsrespond.cli.respond_flow import SkipStep  # noqa: PLC0415 - flow imports this module lazily

    if not changes.steps:
        flow.say("recover.nothing", command=changes.command)
        return StepStatus.DONE
    case, identity = flow.case, flow.identity
    plan = changes.to_plan(case, identity)
    changes.planned = plan
    changes_table(flow.ui, plan)
    if not flow.can_apply:
        path = write_plan(case, plan)
        flow.saved_plans.append(path)
        flow.note("recover.saved", command=changes.command, path=path, case=case.root)
        return StepStatus.SAVED
    try:
        document = apply_changes(case, flow.factory, identity, plan, confirm=flow.options.confirm,
                                 ask=flow.confirmer(), progress=flow.progress, max_steps=max(100, len(plan.steps)),
                                 verify_delay=flow.options.verify_delay)
    except SkipStep:
        path = write_plan(case, plan)
        flow.saved_plans.append(path)
        flow.note("recover.saved", command=changes.command, path=path, case=case.root)
        return StepStatus.SKIPPED
    apply_summary(flow.ui, document)
    if not document.ok:
        flow.note("recover.not_ok", command=changes.command,
                  counts=", ".join(f"{n} {s}" for s, n in sorted(document.counts.items())))
        return StepStatus.FAILED
    return StepStatus.DONE


def _restore(flow: Flow) -> StepStatus:
    restore, changes = plan_restore(flow.case, flow.factory, flow.identity)
    flow.say("recover.restore", candidates=len(restore.candidates), lost=len(restore.not_restorable))
    status = apply_set(flow, changes)
    restore.applied = None if not changes.steps or status is not StepStatus.DONE else True
    flow.case.write_json("recovery/restore.json", restore.model_dump(mode="json"))
    return status


def _passwords(flow: Flow) -> StepStatus:
    changes = ChangeSet(command="recover passwords")
    console, planned, skipped = plan_password_resets(changes, flow.factory, flow.identity, users=[],
                                                     all_console_users=True, include_me=False, never_touch=[])
    plan_password_policy(changes, flow.factory)
    flow.say("recover.passwords", console=len(console), planned=len(planned), skipped=len(skipped))
    status = apply_set(flow, changes)
    if planned and status is StepStatus.DONE:
        flow.say("recover.passwords_secrets", path=flow.case.root / "secrets")
    return status


def _mfa(flow: Flow) -> StepStatus:
    document = mfa_status(flow.factory, flow.identity.account_id, flow.case)
    users = [user.user for user in document.console_users_without_mfa]
    flow.say("recover.mfa_users", count=len(users), users=listed(users) or flow.msg.t("word.none"))
    if users:
        flow.say("recover.mfa_enrol")
    if document.root_mfa is not True:
        flow.say("recover.mfa_root")
    for error in document.errors:
        flow.note("recover.read_error", error=error)
    return StepStatus.DONE


def _contacts(flow: Flow) -> StepStatus:
    report = flag_changes(read_contacts(flow.factory, flow.identity.account_id,
                                        region=budgets_region(flow.identity.partition)), flow.case)
    changed = [contact.type for contact in report.alternate_contacts if contact.changed_in_window]
    if report.contact_information_changed_in_window:
        changed.append(flow.msg.t("recover.contact_information"))
    flow.say("recover.contacts", missing=listed(report.missing) or flow.msg.t("word.none"),
             changed=listed(changed) or flow.msg.t("word.none"))
    # A contact that cannot be read is a check left to the person (the checklist says so), not a failed recovery.
    for error in report.errors:
        flow.note("recover.read_error", error=f"{error.api} ({error.region}): {error.message}")
    wanted = flow.options.contacts or _security_contact_asked(flow, report.missing)
    if wanted is None:
        if report.needs_attention or changed:
            flow.say("recover.contacts_next")
        return StepStatus.DONE
    return apply_set(flow, plan_contacts(report, wanted, region=budgets_region(flow.identity.partition)))


def _security_contact_asked(flow: Flow, missing: list[str]) -> ContactsFile | None:
    """On a terminal, when the security contact is missing: who AWS should write to about security."""
    if not flow.interactive or SECURITY not in missing:
        return None
    name = flow.ask("ask.security_name")
    if not name or name.lower() == "skip":
        return None
    fields = {"name": name, "email": flow.ask("ask.security_email"), "phone": flow.ask("ask.security_phone"),
              "title": flow.ask("ask.security_title")}
    try:
        return ContactsFile(alternate_contacts={SECURITY: AlternateContactInput(**fields)})
    except ValidationError as exc:
        flow.note("recover.contacts_invalid", problems="; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()))
        return None


def _budget_inputs(flow: Flow) -> tuple[Decimal | None, str | None]:
    limit, email = flow.options.budget_limit, flow.options.email
    if flow.interactive and limit is None:
        answer = flow.ask("ask.budget_limit")
        limit = parse_limit(answer) if answer and answer.lower() != "skip" else None
    if flow.interactive and limit is not None and not email:
        answer = flow.ask("ask.budget_email")
        email = answer if answer and answer.lower() != "skip" else None
    return limit, email


def _budget(flow: Flow) -> StepStatus:
    limit, email = _budget_inputs(flow)
    if limit is None or not email:
        flow.note("recover.budget_skipped")
        return StepStatus.DONE
    if not valid_email(email):
        flow.note("recover.budget_bad_email", email=email)
        return StepStatus.FAILED
    flow.say("recover.budget", limit=limit, email=email)
    return apply_set(flow, plan_budget(flow.factory, flow.identity.account_id, limit=limit, emails=[email],
                                       region=budgets_region(flow.identity.partition)))


def _harden_and_checklist(flow: Flow) -> StepStatus:
    requested = parse_region_option(flow.options.regions)
    regions = plan_regions(flow.factory, requested, flow.identity.partition)
    before = run_checks(flow.factory, flow.identity, regions)
    failing = [check for check in before.checks if check.status is not CheckStatus.PASS]
    flow.say("recover.harden", total=len(before.checks), failing=len(failing))
    fixes = plan_fixes(before)
    fixes.command = "harden --fix"
    status = apply_set(flow, fixes)
    after = run_checks(flow.factory, flow.identity, regions).report()
    flow.case.write_json("recovery/harden.json", after.model_dump(mode="json"))
    checklist = recovery_checklist(flow.case, flow.factory, flow.identity, after)
    flow.case.write_json("recovery/checklist.json", checklist.model_dump(mode="json"))
    checklist_table(flow.ui, checklist)
    return status


SECURITY = "SECURITY"

PARTS: tuple[tuple[str, Callable[[Flow], StepStatus]], ...] = (
    ("restore", _restore), ("passwords", _passwords), ("mfa", _mfa), ("contacts", _contacts),
    ("budget", _budget), ("harden", _harden_and_checklist),
)


def run_recovery(flow: Flow) -> StepStatus:
    worst = StepStatus.DONE
    for name, part in PARTS:
        flow.say("recover.part", title=flow.msg.t(f"recover.part.{name}"))
        # ValueError: a budget of that name that is not a cost budget
        status = flow.guarded(functools.partial(part, flow), expected=(AwsRespondError, ValueError))
        if _RANK[status] > _RANK[worst]:
            worst = status
    return worst
