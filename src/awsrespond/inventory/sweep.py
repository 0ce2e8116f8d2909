"""Run every registered collector: global ones once, regional ones in every enabled region.

The work is fanned out over a bounded thread pool; each (collector, region) task fails on its
own, and its failure becomes a coverage gap naming the API and the region.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import REGION_NOT_ENABLED_CODES, ErrorKind, classify_error, describe_error, error_code
from awsrespond.case.workspace import EvidenceStore
from awsrespond.coverage import CoverageGap, GapKind, gap_kind
from awsrespond.inventory.base import GLOBAL, CollectContext, Collector, Inventory, registry
from awsrespond.inventory.not_collected import not_collected_gaps

log = logging.getLogger(__name__)

Progress = Callable[[str, str], None]  # (collector name, region) when a task ends



@dataclass
class SweepResult:
    inventory: Inventory
    gaps: list[CoverageGap]
    regions: list[str]
    not_enabled: list[str] = field(default_factory=list)


def sweep(
    factory: ClientFactory,
    *,
    account_id: str,
    partition: str,
    regions: list[str],
    evidence: EvidenceStore,
    collectors: Iterable[type[Collector]] | None = None,
    max_workers: int = 16,
    progress: Progress | None = None,
    since: datetime | None = None,
) -> SweepResult:
    """Collect everything. ``since`` (the incident window) limits per-resource follow-up calls to
    resources created in the window."""
    chosen = list(collectors) if collectors is not None else list(registry.values())
    inventory = Inventory()
    gaps: list[CoverageGap] = []
    lock = threading.Lock()
    not_enabled: set[str] = set()
    # (collector, region, message): a service that calls itself not enabled where EC2 may still answer
    service_not_enabled: list[tuple[str, str, str]] = []

    # Global collectors first: IAM is the longest chain of calls and must not start last.
    tasks: list[tuple[type[Collector], str]] = [(cls, GLOBAL) for cls in chosen if cls.scope == "global"]
    tasks += [(cls, region) for region in regions for cls in chosen if cls.scope == "regional"]

    def run(cls: type[Collector], region: str) -> None:
        ctx = CollectContext(
            factory=factory,
            region=region,
            account_id=account_id,
            partition=partition,
            evidence=evidence,
            inventory=inventory,
            gaps=gaps,
            gaps_lock=lock,
            since=since,
        )
        try:
            cls().collect(ctx)
        except (ClientError, BotoCoreError) as exc:
            kind = classify_error(exc)
            last = factory.last_call()
            operation = getattr(exc, "operation_name", None) or (last.iam_action if last else cls.name)
            if kind is ErrorKind.NOT_ENABLED and region != GLOBAL:
                # EC2's OptInRequired/AuthFailure speak for the region; other services only for
                # themselves (a service may not be offered in a region the account has enabled).
                with lock:
                    if error_code(exc) in REGION_NOT_ENABLED_CODES:
                        not_enabled.add(region)
                    else:
                        service_not_enabled.append((f"{cls.name} ({operation})", region, describe_error(exc)))
                return
            ctx.gap(gap_kind(kind), f"{cls.name} ({operation})", describe_error(exc))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # An answer in a shape we did not expect (an API change, an emulator gap): report it
            # with its place and carry on with the other collectors.
            log.warning("collector %s in %s failed on an unexpected response", cls.name, region, exc_info=True)
            ctx.gap(GapKind.ERROR, cls.name, f"unexpected response shape: {type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="sweep") as pool:
        futures = {pool.submit(run, cls, region): (cls.name, region) for cls, region in tasks}
        for future in as_completed(futures):
            future.result()  # anything but an AWS error is a bug: let it surface
            if progress is not None:
                progress(*futures[future])

    for region in sorted(not_enabled):
        gaps.append(
            CoverageGap(
                kind=GapKind.NOT_ENABLED,
                scope="region",
                region=region,
                message="region answered as not enabled for this account (opt-in region not enabled)",
            )
        )
    gaps.extend(
        CoverageGap(kind=GapKind.NOT_ENABLED, scope=scope, region=region, message=f"service not enabled here: {msg}")
        for scope, region, msg in service_not_enabled
        if region not in not_enabled
    )
    gaps.extend(not_collected_gaps())
    enabled = [r for r in regions if r not in not_enabled]
    return SweepResult(inventory=inventory, gaps=gaps, regions=enabled, not_enabled=sorted(not_enabled))
