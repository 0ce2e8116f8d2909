"""What the demo adds to the guided flow (the public IPv4 addresses while the attacker's instances run), and the
flow's recovery step on an open case with the demo's automatic confirmation."""

from __future__ import annotations

from decimal import Decimal

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.aws.regions import plan_regions
from awsrespond.case.workspace import Case
from awsrespond.cli.respond_flow import Flow, RespondOptions
from awsrespond.cli.respond_recovery import run_recovery
from awsrespond.cli.ui import Ui, safe
from awsrespond.errors import UsageError
from awsrespond.i18n import Lang, Messages
from awsrespond.recover.attack_cost import attack_cost
from awsrespond.recover.attack_cost import write_document as write_cost
from awsrespond.recover.checklist import Checklist
from awsrespond.recover.contacts import AlternateContactInput, ContactsFile
from awsrespond.recover.public_ips import public_ip_insights
from awsrespond.recover.public_ips import write_document as write_ips

DEMO_BUDGET_LIMIT = Decimal(100)


def demo_contacts(company: str) -> ContactsFile:
    """The emulated company's security, billing and operations contacts, as the owner would give them."""
    def contact(kind: str, title: str) -> AlternateContactInput:
        return AlternateContactInput(name=f"{company} {kind} team", email=f"{kind}@{company}.example",
                                     phone="+82 2 555 0100", title=title)

    return ContactsFile(alternate_contacts={"SECURITY": contact("security", "Security lead"),
                                            "BILLING": contact("billing", "Finance"),
                                            "OPERATIONS": contact("operations", "Cloud operations")})


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
    """The guided flow's recovery step on an open case, every plan confirmed as the demo confirms (the report
    tests build their case with it): restore, passwords, MFA, contacts, budget, harden --fix, the checklist."""
    write_cost(case, attack_cost(case))
    flow = Flow(ui, ui.lang, factory, identity, RespondOptions(confirm=identity.account_id,
                                                               budget_limit=DEMO_BUDGET_LIMIT, email=email,
                                                               verify_delay=0.0), prompt=None, case=case)
    run_recovery(flow)
    document = case.read_json("recovery/checklist.json")
    if document is None:
        raise UsageError("the recovery checklist was not made: " + "; ".join(flow.record.messages))
    return Checklist.model_validate(document)
