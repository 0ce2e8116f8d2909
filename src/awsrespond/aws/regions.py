"""Which regions to sweep, and which ones the account has not enabled."""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import describe_error
from awsrespond.errors import UsageError


@dataclass
class RegionPlan:
    enabled: list[str]
    not_enabled: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def parse_region_option(value: str | None) -> list[str] | None:
    """``None`` or ``all`` means every region; otherwise a comma-separated list."""
    if value is None or value.strip().lower() == "all":
        return None
    regions = [part.strip() for part in value.split(",") if part.strip()]
    if not regions:
        raise UsageError("--region needs a comma-separated list of regions or 'all'")
    return regions


def plan_regions(factory: ClientFactory, requested: list[str] | None) -> RegionPlan:
    """Resolve the regions to sweep.

    ``DescribeRegions(AllRegions=True)`` also lists regions the account has not opted in to; those
    are reported as "not enabled" coverage rather than silently dropped.
    """
    try:
        answer = factory.client("ec2").describe_regions(AllRegions=True)
        statuses = {r["RegionName"]: r.get("OptInStatus", "opt-in-not-required") for r in answer["Regions"]}
        notes: list[str] = []
    except (ClientError, BotoCoreError) as exc:
        fallback = factory.session.get_available_regions("ec2")
        statuses = dict.fromkeys(fallback, "unknown")
        notes = [f"ec2:DescribeRegions failed ({describe_error(exc)}); using the SDK's region list"]
    if requested is None:
        chosen = sorted(statuses)
    else:
        unknown = [r for r in requested if r not in statuses]
        if unknown:
            notes.append(f"regions not known to this account's partition, tried anyway: {', '.join(unknown)}")
        chosen = list(dict.fromkeys(requested))
    enabled = [r for r in chosen if statuses.get(r) != "not-opted-in"]
    not_enabled = [r for r in chosen if statuses.get(r) == "not-opted-in"]
    return RegionPlan(enabled=enabled, not_enabled=not_enabled, notes=notes)
