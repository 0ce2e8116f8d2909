"""The cost of the attack, from the case: the daily cost curve with its spike days, and what the
attacker's instances cost (instance-hours times the shipped on-demand price).

An instance runs from its RunInstances event (or its LaunchTime) to its TerminateInstances event, the
terminate step in the case's containment journal, or now. Spot instances are priced at on-demand: an
upper bound. A type or region the price table lacks is listed as unpriced, never counted as 0.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from awsrespond.case.workspace import Case
from awsrespond.contain.journal import Event, Journal
from awsrespond.coverage import CoverageGap, GapKind
from awsrespond.detect.checks_posture import _spikes
from awsrespond.recover.case_facts import CaseFacts, case_events, items_of, read_facts
from awsrespond.recover.prices import PriceSource, PriceTable, shipped_prices
from awsrespond.timeutil import as_utc, now_utc

DOCUMENT = "recovery/attack_cost.json"
INSTANCE = "AWS::EC2::Instance"
MINIMUM_SECONDS = 60  # Linux on-demand: per-second billing, one-minute minimum
HOURS_PLACES = Decimal("0.000001")
_SECONDS_PER_HOUR = Decimal(3600)


class CostDay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: str
    amount: Decimal
    spike: bool
    baseline_median: Decimal | None = None


class CostCurve(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: str
    start: str | None
    end: str | None
    days: list[CostDay]
    spike_days: list[str]
    extra_cost: Decimal = Field(description="Sum over spike days of the amount above the baseline median")


class InstanceCost(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instance_id: str
    region: str
    instance_type: str | None
    classification: str
    spot: bool
    started: datetime | None
    started_from: str
    ended: datetime | None
    ended_from: str
    running: bool = Field(description="Still running when the figure was made (ended = now)")
    hours: Decimal | None
    usd_per_hour: Decimal | None
    cost: Decimal | None
    note: str = ""


class AttackCostDocument(BaseModel):
    """``recover cost --format json`` and ``recovery/attack_cost.json`` in the case."""

    model_config = ConfigDict(extra="forbid")
    generated: datetime
    window_since: datetime | None
    curve: CostCurve | None
    instances: list[InstanceCost]
    attacker_instance_cost: Decimal = Field(description="Sum of the priced instances' cost (USD)")
    unpriced: list[str] = Field(description="Instances with no price in the table or no known run time")
    prices: PriceSource
    coverage: list[CoverageGap]
    notes: list[str] = Field(default_factory=list)

    @property
    def attention(self) -> bool:
        return bool(self.instances) or bool(self.curve and self.curve.spike_days)


def cost_curve(triage: Any) -> CostCurve | None:
    if not isinstance(triage, dict):
        return None
    usages = (triage.get("inventory") or {}).get("AWS::CE::CostAndUsage") or []
    if not usages:
        return None
    data = usages[0].get("data") or {}
    daily = data.get("daily_total") or []
    spikes = {s["date"]: s for s in _spikes(daily)}
    days = [CostDay(date=str(d["date"]), amount=Decimal(str(d["amount"])), spike=str(d["date"]) in spikes,
                    baseline_median=Decimal(str(spikes[d["date"]]["baseline_median"])) if d["date"] in spikes else None)
            for d in daily]
    extra = sum((d.amount - (d.baseline_median or Decimal(0)) for d in days if d.spike), Decimal(0))
    return CostCurve(currency=str(data.get("currency") or "USD"), start=data.get("start"), end=data.get("end"),
                     days=days, spike_days=sorted(spikes), extra_cost=extra)


def _billing_gaps(triage: Any) -> list[CoverageGap]:
    if not isinstance(triage, dict):
        return []
    return [CoverageGap.model_validate(g) for g in triage.get("coverage") or []
            if str(g.get("scope", "")).startswith("billing")]


def _inventory(triage: Any) -> dict[tuple[str, str], dict[str, Any]]:
    if not isinstance(triage, dict):
        return {}
    return {(i["id"], i["region"]): i.get("data") or {} for i in (triage.get("inventory") or {}).get(INSTANCE, [])}


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str) and value:
        try:
            return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _journal_terminations(case: Case) -> dict[str, datetime]:
    """Instance id -> when ``contain apply`` journaled its termination."""
    journal = Journal(case.root / "contain" / "journal.jsonl")
    intents: dict[tuple[str, str], str] = {}
    ended: dict[str, datetime] = {}
    for record in journal.records():
        step = (str(record.get("plan")), str(record.get("step")))
        if record.get("event") == Event.INTENT.value and record.get("action") == "ec2.terminate-instance":
            intents[step] = str((record.get("target") or {}).get("id", ""))
        elif record.get("event") in (Event.RESULT.value, Event.RECONCILED.value) and step in intents:
            when = _parse(record.get("at"))
            if when is not None:
                ended.setdefault(intents[step], when)
    return ended


def _hours(started: datetime, ended: datetime) -> Decimal:
    seconds = max(int((ended - started).total_seconds()), MINIMUM_SECONDS)
    return (Decimal(seconds) / _SECONDS_PER_HOUR).quantize(HOURS_PLACES)


def instance_cost(hours: Decimal, price: Decimal) -> Decimal:
    return hours * price


def attacker_instances(facts: CaseFacts) -> list[tuple[str, str, str]]:
    return sorted((r.id, r.region, r.classification) for r in facts.resources.values() if r.type == INSTANCE)


def attack_cost(case: Case, *, prices: PriceTable | None = None, now: datetime | None = None) -> AttackCostDocument:
    table = prices or shipped_prices()
    moment = as_utc(now) if now is not None else now_utc()
    facts = read_facts(case)
    triage = case.read_json("triage.json")
    inventory = _inventory(triage)
    launches: dict[str, tuple[datetime, str | None]] = {}
    terminations: dict[str, datetime] = {}
    for record in case_events(case, ("RunInstances", "TerminateInstances")):
        when = record["eventTime"]
        if not isinstance(when, datetime):
            continue
        if record["eventName"] == "RunInstances":
            itype = (record.get("requestParameters") or {}).get("instanceType")
            for instance_id in items_of(record.get("responseElements"), "instancesSet.instanceId"):
                launches.setdefault(instance_id, (when, str(itype) if itype else None))
        else:
            for instance_id in items_of(record.get("requestParameters"), "instancesSet.instanceId"):
                terminations.setdefault(instance_id, when)
    journal = _journal_terminations(case)
    triage_time = _parse(triage.get("started")) if isinstance(triage, dict) else None
    created = {f.resource.id: f.created for f in facts.findings if f.resource.type == INSTANCE and f.created}

    rows: list[InstanceCost] = []
    for instance_id, region, classification in attacker_instances(facts):
        data = inventory.get((instance_id, region), {})
        launch = launches.get(instance_id)
        itype = data.get("instance_type") or (launch[1] if launch else None)
        spot = data.get("lifecycle") == "spot" or bool(data.get("spot_request_id"))
        started, started_from = None, "unknown"
        if launch is not None:
            started, started_from = launch[0], "RunInstances event"
        elif _parse(data.get("launch_time")) is not None:
            started, started_from = _parse(data.get("launch_time")), "LaunchTime"
        elif created.get(instance_id) is not None:
            started, started_from = as_utc(created[instance_id]), "finding's creation time"
        ended, ended_from, running = None, "unknown", False
        if instance_id in terminations:
            ended, ended_from = terminations[instance_id], "TerminateInstances event"
        elif instance_id in journal:
            ended, ended_from = journal[instance_id], "contain apply journal"
        elif data.get("state") in ("terminated", "shutting-down") and triage_time is not None:
            ended, ended_from = triage_time, "terminated before triage (upper bound: triage's start)"
        else:
            ended, ended_from, running = moment, "now (still running at the last triage)", True
        price = table.hourly(region, itype) if itype else None
        hours = _hours(started, ended) if started is not None and ended is not None else None
        notes = []
        if spot:
            notes.append("spot instance priced at on-demand (an upper bound)")
        if itype is None:
            notes.append("instance type unknown")
        elif price is None:
            notes.append(f"no price in the table for {itype} in {region}")
        if hours is None:
            notes.append("run time unknown")
        rows.append(InstanceCost(
            instance_id=instance_id, region=region, instance_type=itype, classification=classification, spot=spot,
            started=started, started_from=started_from, ended=ended, ended_from=ended_from, running=running,
            hours=hours, usd_per_hour=price,
            cost=instance_cost(hours, price) if hours is not None and price is not None else None,
            note="; ".join(notes)))
    total = sum((r.cost for r in rows if r.cost is not None), Decimal(0))
    curve = cost_curve(triage)
    gaps = _billing_gaps(triage)
    notes_out = []
    if triage is None:
        notes_out.append("the case has no triage.json: no cost curve and no instance inventory; run triage")
    elif curve is None:
        gaps.append(CoverageGap(kind=GapKind.UNAVAILABLE, scope="billing.cost_explorer", region="global",
                                message="the case's triage holds no Cost Explorer data (see its coverage); review "
                                        "charges at https://console.aws.amazon.com/cost-management/home"))
    if not facts.findings:
        notes_out.append("the case has no findings: no instance can be tied to the attacker")
    notes_out.append("instance cost = hours (per second, one-minute minimum) x on-demand Linux price of the "
                     f"shipped table dated {table.info.as_of.isoformat()}; EBS, data transfer and other charges are "
                     "not included (the cost curve shows them)")
    return AttackCostDocument(
        generated=now_utc(), window_since=facts.since, curve=curve, instances=rows, attacker_instance_cost=total,
        unpriced=[r.instance_id for r in rows if r.cost is None], prices=table.info, coverage=gaps, notes=notes_out)


def write_document(case: Case, document: AttackCostDocument) -> None:
    case.write_json(DOCUMENT, document.model_dump(mode="json"))
