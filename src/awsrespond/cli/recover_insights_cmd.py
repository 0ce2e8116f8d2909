"""``awsrespond recover ips`` and ``recover cost``: read-only insights for the recovery report."""

from __future__ import annotations

from decimal import Decimal

from rich.table import Table
from rich.text import Text

from awsrespond.aws.clients import SessionSpec
from awsrespond.aws.regions import parse_region_option, plan_regions
from awsrespond.case.workspace import Case, newest_case
from awsrespond.cli import options as opt
from awsrespond.cli.recover_app import case_for, recover
from awsrespond.cli.triage_cmd import EXIT_OK, EXIT_SUSPICIOUS, connect
from awsrespond.cli.ui import OutputFormat, Ui, safe
from awsrespond.coverage import CoverageGap
from awsrespond.recover.attack_cost import AttackCostDocument, attack_cost
from awsrespond.recover.attack_cost import write_document as write_cost
from awsrespond.recover.public_ips import PublicIpDocument, public_ip_insights
from awsrespond.recover.public_ips import write_document as write_ips


def _money(value: Decimal | None, places: str = "0.01") -> str:
    return "-" if value is None else f"{value.quantize(Decimal(places))}"


def _gaps(ui: Ui, gaps: list[CoverageGap]) -> None:
    for gap in gaps:
        ui.out.print(Text(ui.t("insights.gap"), style="yellow"),
                     ui.text("coverage.gap", scope=gap.scope, region=gap.region,
                             message=f"{gap.kind.value}: {gap.message}"))


def _render_ips(ui: Ui, doc: PublicIpDocument) -> None:
    table = Table(title=ui.text("insights.ips_title", count=doc.totals.public_ips,
                                per_hour=_money(doc.totals.usd_per_hour, "0.001"), price=doc.price_per_ip_hour,
                                effective=doc.price_effective),
                  title_justify="left", box=None, pad_edge=False)
    for column in ("region", "address", "owner", "resource", "new", "attacker", "why"):
        table.add_column(ui.t(f"insights.column.{column}"), overflow="fold")
    for a in doc.public_ips:
        new = "?" if a.new_in_window is None else (ui.t("insights.new") if a.new_in_window else "")
        table.add_row(safe(a.region), safe(a.ip), safe(a.owner.value + (" (EIP)" if a.elastic_ip else "")),
                      safe(a.resource_id), Text(new, style="yellow" if a.new_in_window else ""),
                      Text(a.attacker_classification or "", style="bold red" if a.attacker else ""),
                      safe(a.attacker_because or a.new_because))
    ui.out.print(table)
    if doc.attacker_source_ips:
        sources = Table(title=ui.t("insights.sources_title"), title_justify="left", box=None, pad_edge=False)
        for column in ("address", "kind", "country", "network", "hint", "seen_in"):
            sources.add_column(ui.t(f"insights.column.{column}"), overflow="fold")
        for s in doc.attacker_source_ips:
            info = s.info
            sources.add_row(safe(s.ip), safe(info.kind.value), safe(info.country_code or ""),
                            safe(info.asn_name or info.note), safe(", ".join(h.value for h in info.hints)),
                            safe(", ".join(s.seen_in)))
        ui.out.print(sources)
        if doc.geo_source:
            ui.out.print(ui.text("insights.geo_source", database=doc.geo_source.database,
                                 licence=doc.geo_source.licence))
    _gaps(ui, doc.coverage)
    for note in doc.notes:
        ui.out.print(Text(ui.t("plan.note"), style="cyan"), safe(note))


def _render_cost(ui: Ui, doc: AttackCostDocument) -> None:
    if doc.curve is not None:
        curve = doc.curve
        ui.out.print(ui.text("insights.daily_cost", currency=curve.currency, start=curve.start, end=curve.end,
                             spikes=", ".join(curve.spike_days) or ui.t("budget.no_alerts"),
                             extra=_money(curve.extra_cost)))
        peak = max((d.amount for d in curve.days), default=Decimal(0)) or Decimal(1)
        for day in curve.days:
            bar = "#" * int(Decimal(40) * day.amount / peak)
            ui.out.print(safe(f"{day.date} {_money(day.amount):>10} "), Text(bar, style="red" if day.spike else ""),
                         Text(ui.t("insights.spike") if day.spike else "", style="bold red"))
    table = Table(title=ui.text("insights.instances_title", cost=_money(doc.attacker_instance_cost),
                                as_of=doc.prices.as_of), title_justify="left", box=None, pad_edge=False)
    for column in ("instance", "region", "type", "hours", "per_hour", "cost", "ran", "note"):
        table.add_column(ui.t(f"insights.column.{column}"), overflow="fold")
    for row in doc.instances:
        ran = f"{row.started_from} -> {row.ended_from}"
        table.add_row(safe(row.instance_id), safe(row.region), safe(row.instance_type or "?"),
                      safe(_money(row.hours)), safe(row.usd_per_hour if row.usd_per_hour is not None else "-"),
                      safe(_money(row.cost)), safe(ran), safe(row.note))
    ui.out.print(table)
    if doc.unpriced:
        ui.out.print(Text(ui.t("insights.unpriced"), style="yellow"), safe(", ".join(doc.unpriced)))
    _gaps(ui, doc.coverage)
    for note in doc.notes:
        ui.out.print(Text(ui.t("plan.note"), style="cyan"), safe(note))


@recover.command("ips")
def ips_cmd(
    case: opt.CaseDir = None,
    region: opt.Regions = "all",
    max_workers: opt.Workers = 8,
    fmt: opt.Format = OutputFormat.TEXT,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """Public IPv4 addresses per region (new in the incident window, the attacker's, cost per hour) and
    the attacker's source addresses with country, network and hosting/VPN/Tor hints (offline data)."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url))
    opened = case_for(identity, case)
    ui.info(ui.text("common.case_opened", path=opened.root))
    plan = plan_regions(factory, parse_region_option(region), identity.partition)
    document = public_ip_insights(opened, factory, plan.enabled, not_enabled=plan.not_enabled,
                                  max_workers=max_workers, notes=plan.notes)
    write_ips(opened, document)
    opened.record_command("recover ips", public_ips=document.totals.public_ips, attacker=document.totals.attacker)
    if fmt is OutputFormat.JSON:
        ui.json(document.model_dump_json())
    else:
        _render_ips(ui, document)
    return EXIT_SUSPICIOUS if document.attention else EXIT_OK


@recover.command("cost")
def cost_cmd(
    case: opt.CaseDir = None,
    fmt: opt.Format = OutputFormat.TEXT,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """The daily cost curve with its spike days, and what the attacker's instances cost (instance-hours
    times the shipped on-demand price). Reads only the case: no AWS call."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    opened = Case.open(case) if case else Case.open(newest_case())
    ui.info(ui.text("common.case_opened", path=opened.root))
    document = attack_cost(opened)
    write_cost(opened, document)
    opened.record_command("recover cost", attacker_instance_cost=str(document.attacker_instance_cost))
    if fmt is OutputFormat.JSON:
        ui.json(document.model_dump_json())
    else:
        _render_cost(ui, document)
    return EXIT_SUSPICIOUS if document.attention else EXIT_OK
