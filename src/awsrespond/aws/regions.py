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


_PARTITION_PREFIXES = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"),
                       ("us-iso-", "aws-iso"), ("eu-isoe-", "aws-iso-e"), ("us-isof-", "aws-iso-f"))


def partition_of(region: str) -> str:
    return next((p for prefix, p in _PARTITION_PREFIXES if region.startswith(prefix)), "aws")


def plan_regions(factory: ClientFactory, requested: list[str] | None, partition: str = "aws") -> RegionPlan:
    """Resolve the regions to sweep.

    ``DescribeRegions(AllRegions=True)`` also lists regions the account has not opted in to; those
    are reported as "not enabled" coverage rather than silently dropped. Regions of another
    partition (an emulator may list China and GovCloud next to the rest) cannot hold this
    account's resources and are left out with a note.
    """
    try:
        answer = factory.client("ec2").describe_regions(AllRegions=True)
        statuses = {r["RegionName"]: r.get("OptInStatus", "opt-in-not-required") for r in answer["Regions"]}
        notes: list[str] = []
    except (ClientError, BotoCoreError) as exc:
        fallback = factory.session.get_available_regions("ec2")
        statuses = dict.fromkeys(fallback, "unknown")
        notes = [f"ec2:DescribeRegions failed ({describe_error(exc)}); using the SDK's region list"]
    foreign = sorted(r for r in statuses if partition_of(r) != partition)
    if foreign and requested is None:
        notes.append(f"regions of other partitions than {partition} not swept: {', '.join(foreign)}")
    if requested is None:
        chosen = sorted(r for r in statuses if r not in foreign)
    else:
        unknown = [r for r in requested if r not in statuses]
        if unknown:
            notes.append(f"regions not known to this account's partition, tried anyway: {', '.join(unknown)}")
        chosen = list(dict.fromkeys(requested))
    enabled = [r for r in chosen if statuses.get(r) != "not-opted-in"]
    not_enabled = [r for r in chosen if statuses.get(r) == "not-opted-in"]
    return RegionPlan(enabled=enabled, not_enabled=not_enabled, notes=notes)
