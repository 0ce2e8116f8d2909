"""What the case says, in plain words from the ``respond`` catalog: for a person under stress, in their language.

Every function returns plain strings; the caller prints them as inert text (``safe``). Values quoted from
AWS or the logs (names, ids, addresses) are data, never markup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from awsrespond.findings import Classification, Finding, Severity
from awsrespond.i18n import Messages
from awsrespond.recover.attack_cost import AttackCostDocument
from awsrespond.recover.checklist import ItemStatus
from awsrespond.recover.passwords import ROOT_CREDENTIALS_URL
from awsrespond.report.casedata import CaseData
from awsrespond.timeutil import iso

MAX_LISTED = 5
SUPPORT_CASE_URL = "https://console.aws.amazon.com/support/home#/case/create"
# Checklist items the catalog names in the person's language (the rest keep the check's own title).
KNOWN_ITEMS = ("contain.applied", "root.password", "passwords.rotated", "mfa.console-users", "iam.root-mfa",
               "account.security-contact", "budgets.alerting-budget", "restore", "aws.report")


def listed(values: Iterable[str], limit: int = MAX_LISTED) -> str:
    """``a, b, c`` (at most ``limit``, then ``+N``)."""
    items = [value for value in values if value]
    head = ", ".join(items[:limit])
    return head + (f" +{len(items) - limit}" if len(items) > limit else "")


def severity_counts(findings: Iterable[Finding]) -> Counter[Severity]:
    return Counter(f.severity for f in findings)


def explain_triage(msg: Messages, findings: list[Finding], partial_gaps: int) -> list[str]:
    suspicious = [f for f in findings if f.suspicious]
    lines: list[str] = []
    if not suspicious:
        lines.append(msg.t("triage.clean", total=len(findings)))
    else:
        counts = severity_counts(suspicious)
        lines.append(msg.t("triage.counts", total=len(suspicious), critical=counts[Severity.CRITICAL],
                           high=counts[Severity.HIGH], medium=counts[Severity.MEDIUM], low=counts[Severity.LOW]))
        kinds = Counter(f.classification for f in suspicious)
        lines.append(msg.t("triage.kinds", created=kinds[Classification.ATTACKER_CREATED],
                           used=kinds[Classification.ATTACKER_USED], suspect=kinds[Classification.SUSPECT]))
        serious = [f for f in suspicious if f.severity.at_least(Severity.HIGH)]
        if serious:
            lines.append(msg.t("triage.serious_title"))
        for finding in serious[:MAX_LISTED]:
            lines.append(msg.t("triage.serious_item", severity=msg.t(f"severity.{finding.severity.value}"),
                               type=finding.resource.type, id=finding.resource.id,
                               region=finding.resource.region or "global"))
        if len(serious) > MAX_LISTED:
            lines.append(msg.t("triage.more", count=len(serious) - MAX_LISTED))
    if partial_gaps:
        lines.append(msg.t("triage.partial", count=partial_gaps))
    return lines


def explain_hunt(msg: Messages, data: CaseData, cost: AttackCostDocument | None, sources: list[str]) -> list[str]:
    lines = [msg.t("hunt.sources", sources=listed(sources) or msg.t("word.none"))]
    attacker = data.attacker
    if not (attacker.access_key_ids or attacker.principals or data.sessions):
        lines.append(msg.t("hunt.nothing"))
    else:
        lines.append(msg.t("hunt.who", keys=listed(attacker.access_key_ids) or msg.t("word.unknown"),
                           principals=listed(attacker.principals) or msg.t("word.unknown")))
        lines.append(msg.t("hunt.from", count=len(attacker.source_ips),
                           ips=listed(attacker.source_ips) or msg.t("word.unknown")))
        if attacker.first_seen is not None:
            lines.append(msg.t("hunt.when", first=iso(attacker.first_seen), last=iso(attacker.last_seen),
                               events=attacker.events))
        if data.regions_touched:
            ranked = sorted(data.regions_touched.items(), key=lambda kv: (-kv[1], kv[0]))
            lines.append(msg.t("hunt.regions", count=len(ranked),
                               regions=listed([f"{region} ({n})" for region, n in ranked], limit=8)))
    created = data.created_resources()
    if created:
        lines.append(msg.t("hunt.created_title", count=len(created)))
        by_region: dict[str, Counter[str]] = {}
        for finding in created:
            by_region.setdefault(finding.resource.region or "global", Counter())[finding.resource.type] += 1
        for region, types in sorted(by_region.items()):
            lines.append(msg.t("hunt.created_region", region=region,
                               items=listed([f"{n} x {kind}" for kind, n in sorted(types.items())], limit=10)))
    elif attacker.access_key_ids or data.sessions:
        lines.append(msg.t("hunt.created_none"))
    lines.extend(_cost(msg, data, cost))
    if data.hunt_errors:
        lines.append(msg.t("hunt.errors", count=len(data.hunt_errors), first=data.hunt_errors[0]))
    return lines


def _cost(msg: Messages, data: CaseData, cost: AttackCostDocument | None) -> list[str]:
    lines: list[str] = []
    if cost is not None and cost.instances:
        lines.append(msg.t("hunt.cost_instances", count=len(cost.instances),
                           usd=f"{cost.attacker_instance_cost:.2f}", as_of=cost.prices.as_of))
    curve = cost.curve if cost is not None and cost.curve is not None else data.cost_curve
    if curve is not None and curve.spike_days:
        lines.append(msg.t("hunt.cost_spike", days=listed([str(day) for day in curve.spike_days])))
    if not lines:
        lines.append(msg.t("hunt.cost_unknown"))
    return lines


def item_title(msg: Messages, item_id: str, title: str) -> str:
    return msg.t(f"item.{item_id}") if item_id in KNOWN_ITEMS else title


def manual_steps(msg: Messages, data: CaseData, aws_text: Path | None, saved_plans: list[Path]) -> list[str]:
    """What the person must still do by hand, most urgent first."""
    lines = [msg.t("manual.root_password", url=ROOT_CREDENTIALS_URL)]
    items = {item.id: item for item in data.checklist.items} if data.checklist is not None else {}
    root_mfa = items.get("iam.root-mfa")
    if root_mfa is None or root_mfa.status is not ItemStatus.DONE:
        lines.append(msg.t("manual.root_mfa", url=ROOT_CREDENTIALS_URL))
    if aws_text is not None:
        lines.append(msg.t("manual.support_text", url=SUPPORT_CASE_URL, path=aws_text))
    else:
        lines.append(msg.t("manual.support", url=SUPPORT_CASE_URL))
    for path in saved_plans:
        lines.append(msg.t("manual.apply_saved", path=path, case=data.root))
    handled = {"root.password", "iam.root-mfa", "aws.report"}
    for item in items.values():
        if item.id in handled or item.status is ItemStatus.DONE:
            continue
        lines.append(msg.t("manual.item", status=msg.t(f"status.{item.status.value}"),
                           title=item_title(msg, item.id, item.title), next=item.next or "-"))
    if data.checklist is None:
        lines.append(msg.t("manual.no_checklist"))
    return lines
