"""The Cost Explorer answers a seeded scenario queues: a quiet baseline, then attacker compute."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from awsrespond.emulator.instance_types import hourly_price
from awsrespond.emulator.scenario import Scenario
from awsrespond.timeutil import as_utc

# today - 30 .. today: the billing collector's window (it asks for 30 days back, End exclusive).
COST_DAYS = 31

_BASELINE_SERVICES = (
    ("Amazon Elastic Compute Cloud - Compute", Decimal("0.52")),
    ("EC2 - Other", Decimal("0.12")),
    ("Amazon Simple Storage Service", Decimal("0.11")),
    ("Amazon GuardDuty", Decimal("0.08")),
    ("AmazonCloudWatch", Decimal("0.07")),
    ("AWS Key Management Service", Decimal("0.04")),
    ("Amazon Virtual Private Cloud", Decimal("0.05")),
    ("AWS CloudTrail", Decimal("0.01")),
)
_EC2_COMPUTE = "Amazon Elastic Compute Cloud - Compute"
_CENT = Decimal("0.0001")


def cost_explorer_results(scenario: Scenario, incident_start: datetime, today: date) -> list[dict[str, Any]]:
    """``[by_service, by_region]`` GetCostAndUsage answers, one day each from ``today`` - 30 on.

    A quiet baseline in the home regions every day; attacker compute (instances, spot, their EBS
    volumes, Lambda) on the days from the incident start on. Both answers sum to the same daily totals.
    """
    noise = random.Random(f"{scenario.name}/cost")
    incident_day = as_utc(incident_start).date()
    first = today - timedelta(days=COST_DAYS - 1)
    homes = scenario.home_regions
    home_shares = (
        [Decimal("0.8")] + [Decimal("0.2") / (len(homes) - 1)] * (len(homes) - 1) if len(homes) > 1 else [Decimal(1)]
    )
    hours = Decimal(str(scenario.cost.incident_hours))
    lines: dict[date, list[tuple[str, str, Decimal]]] = defaultdict(list)
    for offset in range(COST_DAYS):
        day = first + timedelta(days=offset)
        total = Decimal(str(scenario.cost.baseline_daily_usd)) * Decimal(str(noise.uniform(0.88, 1.12)))
        for service, share in _BASELINE_SERVICES:
            for region, region_share in zip(homes, home_shares, strict=True):
                lines[day].append((service, region, total * share * region_share))
        if day >= incident_day:
            for group in scenario.attacker.instances:
                price = Decimal(str(hourly_price(group.instance_type)))
                lines[day].append((_EC2_COMPUTE, group.region, price * group.count * hours))
                lines[day].append(("EC2 - Other", group.region, Decimal("0.011") * 100 * group.count * hours / 24))
            for spot in scenario.attacker.spot_requests:
                price = Decimal(str(hourly_price(spot.instance_type))) * Decimal("0.38")
                lines[day].append((_EC2_COMPUTE, spot.region, price * hours))
            for function in scenario.attacker.lambda_functions:
                lines[day].append(("AWS Lambda", function.region, Decimal("0.42") * hours))
    by_service: list[dict[str, Any]] = []
    by_region: list[dict[str, Any]] = []
    for day in sorted(lines):
        services: dict[str, Decimal] = defaultdict(Decimal)
        regions: dict[str, Decimal] = defaultdict(Decimal)
        for service, region, amount in lines[day]:
            rounded = amount.quantize(_CENT)
            services[service] += rounded
            regions[region] += rounded
        period = {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()}
        estimated = day >= today - timedelta(days=1)
        by_service.append(_day_result(period, services, estimated))
        by_region.append(_day_result(period, regions, estimated))
    return [
        _answer(by_service, "SERVICE"),
        _answer(by_region, "REGION"),
    ]


def _day_result(period: dict[str, str], amounts: dict[str, Decimal], estimated: bool) -> dict[str, Any]:
    return {
        "TimePeriod": period,
        "Total": {},
        "Groups": [
            {"Keys": [key], "Metrics": {"UnblendedCost": {"Amount": str(amount), "Unit": "USD"}}}
            for key, amount in sorted(amounts.items(), key=lambda kv: -kv[1])
            if amount > 0
        ],
        "Estimated": estimated,
    }


def _answer(days: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return {
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": key}],
        "ResultsByTime": days,
        "DimensionValueAttributes": [],
    }
