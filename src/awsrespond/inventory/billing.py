"""Charges and usage (DESIGN.md 1.1.4): daily cost for the last 30 days, by service and by region.

A compromised account usually shows up here first (crypto-mining instances, GPU quotas). The
emulator hands out queued Cost Explorer results per distinct query in order, so this collector
issues exactly two queries, one after the other: grouped by SERVICE, then by REGION.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from botocore.exceptions import ClientError

from awsrespond.aws.errors import ACCESS_DENIED_CODES, describe_error, error_code
from awsrespond.coverage import GapKind
from awsrespond.inventory.base import GLOBAL, CollectContext, Collector, Item, collector
from awsrespond.timeutil import now_utc

CONSOLE_URL = "https://console.aws.amazon.com/cost-management/home"
METRIC = "UnblendedCost"
# Cost Explorer has a single endpoint per partition.
_CE_REGION = {"aws-cn": "cn-northwest-1"}
_UNAVAILABLE_CODES = frozenset(
    {"DataUnavailableException", "OptInRequired", "OptInRequiredException", "SubscriptionRequiredException"}
)


@collector
class CostExplorer(Collector):
    name = "billing.cost_explorer"
    scope = "global"
    resource_types = ("AWS::CE::CostAndUsage",)
    permissions = ("ce:GetCostAndUsage",)

    def collect(self, ctx: CollectContext) -> None:
        # End is exclusive: today + 1 includes today's (partial) charges. CE accepts an End up to
        # the first day of next month, which today + 1 never passes.
        today = now_utc().date()
        start, end = today - timedelta(days=30), today + timedelta(days=1)
        client = ctx.factory.client("ce", _CE_REGION.get(ctx.partition, "us-east-1"))
        try:
            by_service_pages = _query(client, start, end, "SERVICE")
            by_region_pages = _query(client, start, end, "REGION")
        except ClientError as exc:
            gap = _gap_for(exc)
            if gap is None:
                raise
            ctx.gap(gap[0], self.name, gap[1])
            return
        evidence = [
            ctx.keep("ce", "GetCostAndUsage", by_service_pages, suffix="SERVICE"),
            ctx.keep("ce", "GetCostAndUsage", by_region_pages, suffix="REGION"),
        ]
        daily, by_service, currency = _series(by_service_pages)
        _, by_region, region_currency = _series(by_region_pages)
        ctx.add(
            Item(
                type="AWS::CE::CostAndUsage",
                id="last-30-days",
                region=GLOBAL,
                data={
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "end_exclusive": True,
                    "metric": METRIC,
                    "currency": currency or region_currency or "USD",
                    "total": float(sum(daily.values(), Decimal(0))),
                    "daily_total": _points(daily),
                    "by_service": {key: _points(days) for key, days in sorted(by_service.items())},
                    "by_region": {key: _points(days) for key, days in sorted(by_region.items())},
                },
                evidence=evidence,
            )
        )


def _query(client: Any, start: date, end: date, dimension: str) -> list[dict[str, Any]]:
    params: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": [METRIC],
        "GroupBy": [{"Type": "DIMENSION", "Key": dimension}],
    }
    pages: list[dict[str, Any]] = []
    seen: set[str] = set()
    while True:  # GetCostAndUsage has no boto3 paginator
        page: dict[str, Any] = client.get_cost_and_usage(**params)
        pages.append(page)
        token = page.get("NextPageToken")
        if not token or token in seen:
            return pages
        seen.add(token)
        params["NextPageToken"] = token


def _gap_for(exc: ClientError) -> tuple[GapKind, str] | None:
    code = error_code(exc)
    detail = describe_error(exc)
    if code in _UNAVAILABLE_CODES or "not enabled" in detail.lower():
        return (
            GapKind.UNAVAILABLE,
            f"Cost Explorer is not enabled or has no data yet for this account ({detail}). Enable Cost "
            f"Explorer in the Billing and Cost Management console (data appears within about 24 hours), "
            f"and meanwhile review charges there: {CONSOLE_URL}",
        )
    if code in ACCESS_DENIED_CODES:
        return (
            GapKind.ACCESS_DENIED,
            f"charges not read: the caller lacks permission ce:GetCostAndUsage ({detail}). Grant it, or "
            f"review charges in the Billing and Cost Management console: {CONSOLE_URL}",
        )
    return None


def _amount(metrics: Mapping[str, Any]) -> tuple[Decimal, str | None]:
    metric = metrics.get(METRIC) or {}
    try:
        return Decimal(str(metric.get("Amount", "0"))), metric.get("Unit")
    except InvalidOperation:
        return Decimal(0), metric.get("Unit")


def _series(
    pages: Iterable[Mapping[str, Any]],
) -> tuple[dict[str, Decimal], dict[str, dict[str, Decimal]], str | None]:
    """(total per day, per group key per day, currency) from grouped GetCostAndUsage pages."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    groups: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    currency: str | None = None
    for page in pages:
        for result in page.get("ResultsByTime", []):
            day = str((result.get("TimePeriod") or {}).get("Start", ""))
            totals[day] += 0
            entries = result.get("Groups") or []
            for group in entries:
                key = str((group.get("Keys") or ["(none)"])[0])
                amount, unit = _amount(group.get("Metrics") or {})
                totals[day] += amount
                groups[key][day] += amount
                currency = currency or unit
            if not entries:
                # Grouped queries carry no Total (the sum is ours to make); use one if present.
                amount, unit = _amount(result.get("Total") or {})
                totals[day] += amount
                currency = currency or (unit if amount else None)
    return totals, groups, currency


def _points(days: Mapping[str, Decimal]) -> list[dict[str, Any]]:
    return [{"date": day, "amount": float(amount)} for day, amount in sorted(days.items())]
