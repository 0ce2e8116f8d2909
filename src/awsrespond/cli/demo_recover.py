"""The demo's last step: take the emulated account back (restore, passwords, budget, harden) and print the
recovery checklist. Every change goes through a plan applied with the demo's automatic confirmation."""

from __future__ import annotations

from decimal import Decimal

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.aws.regions import plan_regions
from awsrespond.case.workspace import Case
from awsrespond.cli.recover_checklist_cmd import checklist_table
from awsrespond.cli.ui import Ui, safe
from awsrespond.harden.service import plan_fixes, run_checks
from awsrespond.i18n import Lang, Messages
from awsrespond.recover.attack_cost import attack_cost
from awsrespond.recover.attack_cost import write_document as write_cost
from awsrespond.recover.budget import plan_budget
from awsrespond.recover.changes import ChangeSet, apply_changes
from awsrespond.recover.checklist import Checklist, recovery_checklist
from awsrespond.recover.passwords import plan_password_policy, plan_password_resets
from awsrespond.recover.public_ips import public_ip_insights
from awsrespond.recover.public_ips import write_document as write_ips
from awsrespond.recover.restore import plan_restore

DEMO_BUDGET_LIMIT = Decimal(100)


def _apply(ui: Ui, case: Case, factory: ClientFactory, identity: CallerIdentity, changes: ChangeSet) -> bool | None:
    if not changes.steps:
        ui.info(safe(f"  {changes.command}: nothing to change"))
        return None
    document = apply_changes(case, factory, identity, changes.to_plan(case, identity), confirm=identity.account_id,
                             ask=None, max_steps=max(100, len(changes.steps)), verify_delay=0.0)
    ui.info(safe(f"  {changes.command}: plan {document.plan_id}, {len(document.steps)} steps, "
                 + ", ".join(f"{n} {status}" for status, n in sorted(document.counts.items()))))
    return document.ok


def demo_public_ips(ui: Ui, case: Case, factory: ClientFactory, identity: CallerIdentity,
                    msg: Messages | None = None) -> None:
    """While the attacker's instances still run: which public addresses are theirs, and which are new."""
    texts = msg or Messages(Lang.EN, "respond")
    regions = plan_regions(factory, None, identity.partition)
    document = public_ip_insights(case, factory, regions.enabled, not_enabled=regions.not_enabled)
    write_ips(case, document)
    totals = document.totals
    sources = ", ".join(f"{s.ip} ({s.info.country_code or s.info.kind.value})" for s in document.attacker_source_ips)
    ui.out.print(safe(texts.t("demo.public_ips", total=totals.public_ips, new=totals.new_in_window,
                              attacker=totals.attacker, attacker_usd=totals.attacker_usd_per_hour,
                              usd=totals.usd_per_hour, sources=sources or texts.t("word.none"))))


def demo_recovery(ui: Ui, case: Case, factory: ClientFactory, identity: CallerIdentity, email: str) -> Checklist:
    ui.info(safe("Step 5 - recover and harden (the demo confirms each plan for you)"))
    cost = attack_cost(case)
    write_cost(case, cost)
    ui.out.print(safe(f"Cost of the attack: ${cost.attacker_instance_cost:.2f} for the attacker's "
                      f"{len(cost.instances)} instances (instance-hours x the on-demand price table of "
                      f"{cost.prices.as_of}; the emulated instances ran for minutes)"
                      + (f"; no price for {len(cost.unpriced)}: {', '.join(cost.unpriced)}" if cost.unpriced else "")))
    restore, changes = plan_restore(case, factory, identity)
    restore.applied = _apply(ui, case, factory, identity, changes)
    case.write_json("recovery/restore.json", restore.model_dump(mode="json"))

    passwords = ChangeSet(command="recover passwords")
    plan_password_resets(passwords, factory, identity, users=[], all_console_users=True, include_me=False,
                         never_touch=[])
    plan_password_policy(passwords, factory)
    _apply(ui, case, factory, identity, passwords)
    _apply(ui, case, factory, identity, plan_budget(factory, identity.account_id, limit=DEMO_BUDGET_LIMIT,
                                                    emails=[email]))

    regions = plan_regions(factory, None, identity.partition)
    before = run_checks(factory, identity, regions)
    fixes = plan_fixes(before)
    fixes.command = "harden --fix"
    _apply(ui, case, factory, identity, fixes)
    after = run_checks(factory, identity, regions).report()
    case.write_json("recovery/harden.json", after.model_dump(mode="json"))
    checklist = recovery_checklist(case, factory, identity, after)
    case.write_json("recovery/checklist.json", checklist.model_dump(mode="json"))
    checklist_table(ui, checklist)
    return checklist
