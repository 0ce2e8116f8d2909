"""Triage checks for logging posture (CloudTrail, GuardDuty) and for the bill."""

from __future__ import annotations

import statistics
from typing import Any

from awsrespond.detect.judge import JudgeContext, check
from awsrespond.findings import Classification, Severity
from awsrespond.inventory.base import GLOBAL, Item

# A day is a spike when it costs at least this many times the baseline median and this much more.
SPIKE_FACTOR = 3.0
SPIKE_MIN_EXTRA = 10.0
BASELINE_MIN_DAYS = 5


@check(order=60)
def trails(ctx: JudgeContext) -> None:
    all_trails = ctx.inventory.of("AWS::CloudTrail::Trail")
    if not all_trails:
        marker = Item(type="AWS::CloudTrail::Trail", id="none", region=GLOBAL)
        ctx.emit("cloudtrail-none", marker, classification=Classification.POSTURE,
                 details={"note": "only the 90-day event history (LookupEvents) is available"})
        return
    for trail in all_trails:
        data = trail.data
        facts = {k: data.get(k) for k in ("name", "home_region", "is_multi_region", "is_logging",
                                           "stop_logging_time", "s3_bucket", "log_file_validation")}
        if not data.get("is_logging"):
            stopped_in_window = ctx.in_window(data.get("stop_logging_time"))
            ctx.emit("cloudtrail-stopped", trail,
                     severity=Severity.CRITICAL if stopped_in_window else Severity.HIGH,
                     classification=Classification.SUSPECT if stopped_in_window else Classification.POSTURE,
                     details=facts,
                     reasons=["stopped during the incident window" if stopped_in_window else ""])
        if not data.get("is_multi_region"):
            ctx.emit("cloudtrail-single-region", trail, classification=Classification.POSTURE, details=facts)
        if not data.get("log_file_validation"):
            ctx.emit("cloudtrail-no-validation", trail, classification=Classification.POSTURE, details=facts)


@check(order=60)
def guardduty(ctx: JudgeContext) -> None:
    off = sorted({d.region for d in ctx.inventory.of("AWS::GuardDuty::Detector")
                  if str(d.data.get("status", "")).upper() != "ENABLED"})
    if not off:
        return
    normal_off = [r for r in off if ctx.normal_regions is not None and r in ctx.normal_regions]
    marker = Item(type="AWS::GuardDuty::Detector", id="regions-without-guardduty", region=GLOBAL)
    ctx.emit("guardduty-off", marker, classification=Classification.POSTURE,
             severity=Severity.MEDIUM if normal_off else Severity.LOW,
             details={"regions": off, "regions_in_use": normal_off})


def _spikes(daily: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Days that cost far more than the median of the days before them."""
    spikes = []
    amounts = [(str(d["date"]), float(d["amount"])) for d in daily]
    for index, (day, amount) in enumerate(amounts):
        before = [a for _, a in amounts[:index]]
        if len(before) < BASELINE_MIN_DAYS:
            continue
        median = statistics.median(before)
        if amount >= SPIKE_FACTOR * median and amount - median >= SPIKE_MIN_EXTRA:
            spikes.append({"date": day, "amount": round(amount, 2), "baseline_median": round(median, 2)})
    return spikes


def _top(series: dict[str, list[dict[str, Any]]], days: set[str], limit: int = 5) -> list[dict[str, Any]]:
    totals = {name: sum(float(d["amount"]) for d in points if d["date"] in days) for name, points in series.items()}
    ranked = sorted(((n, t) for n, t in totals.items() if t > 0), key=lambda p: -p[1])[:limit]
    return [{"name": n, "amount": round(t, 2)} for n, t in ranked]


@check(order=70)
def cost(ctx: JudgeContext) -> None:
    for usage in ctx.inventory.of("AWS::CE::CostAndUsage"):
        data = usage.data
        spikes = _spikes(data.get("daily_total", []))
        if not spikes:
            continue
        days = {s["date"] for s in spikes}
        ctx.emit("billing-cost-spike", usage, classification=Classification.SUSPECT,
                 details={
                     "currency": data.get("currency", "USD"),
                     "spike_days": spikes,
                     "first_day": min(days),
                     "last_day": max(days),
                     "extra_cost": round(sum(s["amount"] - s["baseline_median"] for s in spikes), 2),
                     "top_services": _top(data.get("by_service", {}), days),
                     "top_regions": _top(data.get("by_region", {}), days),
                 })
