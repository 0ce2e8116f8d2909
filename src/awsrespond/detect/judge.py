"""Turning an inventory into findings.

Triage has no CloudTrail attribution, so what it can say is *suspect* (created at or after the
start of the incident window, or absent from the owner's baseline) or *posture* (risky whoever
made it). Hunt later upgrades suspects to attacker-created or attacker-used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from awsrespond.detect.baseline import REGION_EVIDENCE, Baseline
from awsrespond.detect.catalog import RuleMeta, triage_rules
from awsrespond.findings import Classification, Finding, ResourceRef, Severity, finding_id
from awsrespond.inventory.base import Inventory, Item
from awsrespond.timeutil import coerce_instant

GPU_FAMILIES = frozenset(
    {"p2", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6", "g2", "g3", "g3s", "g4dn", "g4ad", "g5",
     "g5g", "g6", "g6e", "gr6", "g6f", "inf1", "inf2", "trn1", "trn1n", "trn2", "dl1", "dl2q", "f1", "f2",
     "vt1"}
)
LARGE_SIZES = frozenset({"metal", "metal-24xl", "metal-48xl"})


def instance_profile(instance_type: str) -> tuple[bool, bool]:
    """(accelerated, unusually large) for an EC2 instance type such as ``g5.12xlarge``."""
    family, _, size = instance_type.partition(".")
    accelerated = family in GPU_FAMILIES
    large = size in LARGE_SIZES or (
        size.endswith("xlarge") and size[: -len("xlarge")].isdigit() and int(size[: -len("xlarge")]) >= 16
    )
    return accelerated, large


@dataclass
class JudgeContext:
    account_id: str
    inventory: Inventory
    since: datetime | None = None
    baseline: Baseline | None = None
    known_accounts: set[str] = field(default_factory=set)
    findings: dict[str, Finding] = field(default_factory=dict)
    normal_regions: set[str] | None = None
    suspect_ids: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        # AWS reports creation times to the second: an inclusive --since must compare at that grain.
        if self.since is not None:
            self.since = self.since.replace(microsecond=0)
        self.rules = triage_rules()
        if self.baseline is not None:
            self.known_accounts |= set(self.baseline.known_accounts)
        for org in self.inventory.of("AWS::Organizations::Organization"):
            self.known_accounts |= set(org.data.get("accounts", []))
            if org.data.get("management_account"):
                self.known_accounts.add(str(org.data["management_account"]))
        self.normal_regions = self._normal_regions()

    def _normal_regions(self) -> set[str] | None:
        if self.baseline is not None and self.baseline.regions:
            return set(self.baseline.regions)
        if self.since is None:
            return None
        since = self.since
        used = {
            item.region
            for item in self.inventory
            if item.type in REGION_EVIDENCE and item.created is not None and item.created < since
        }
        return used or None

    # -- judgements shared by the checks --------------------------------------------------------

    def in_window(self, when: datetime | str | None) -> bool:
        instant = coerce_instant(when)
        return self.since is not None and instant is not None and instant >= self.since

    def is_new(self, item: Item, created: datetime | None = None) -> bool:
        """Created at or after ``--since``, or absent from the baseline."""
        if self.in_window(created if created is not None else item.created):
            return True
        if self.baseline is not None:
            known = self.baseline.knows(item.type, item.id)
            if known is False:
                return True
            if item.type == "AWS::EC2::Instance":
                itype = item.data.get("instance_type")
                if self.baseline.instance_types and itype not in self.baseline.instance_types:
                    return True
        return False

    def unusual_region(self, region: str) -> bool:
        return self.normal_regions is not None and region not in ("global", *self.normal_regions)

    def mark_suspect(self, item: Item) -> None:
        self.suspect_ids.add((item.type, item.id))

    def is_suspect(self, resource_type: str, resource_id: str) -> bool:
        return (resource_type, resource_id) in self.suspect_ids

    # -- emitting -------------------------------------------------------------------------------

    def emit(
        self,
        rule_id: str,
        item: Item,
        *,
        severity: Severity | None = None,
        classification: Classification = Classification.SUSPECT,
        details: dict[str, Any] | None = None,
        reasons: Iterable[str] = (),
        principal: str | None = None,
        access_key_id: str | None = None,
    ) -> Finding:
        meta: RuleMeta = self.rules[rule_id]
        fid = finding_id(rule_id, item.type, item.id, item.region)
        facts = dict(details or {})
        if item.name and item.name != item.id:
            facts.setdefault("name", item.name)
        reason_list = [r for r in reasons if r]
        if reason_list:
            facts["reasons"] = reason_list
        finding = Finding(
            id=fid,
            rule=rule_id,
            title=meta.title,
            severity=severity or meta.severity,
            classification=classification,
            resource=ResourceRef(type=item.type, id=item.id, region=item.region, arn=item.arn),
            created=item.created,
            principal=principal,
            access_key_id=access_key_id,
            mitre=list(meta.mitre),
            evidence=list(item.evidence),
            details=facts,
            recommendation=meta.recommendation,
        )
        self.findings[fid] = finding
        return finding


Check = Callable[[JudgeContext], None]
_checks: list[tuple[int, Check]] = []


def check(order: int) -> Callable[[Check], Check]:
    """Register a check. Lower ``order`` runs first: primary artefacts before what links to them."""

    def register(fn: Check) -> Check:
        _checks.append((order, fn))
        return fn

    return register


def registered_checks() -> list[Check]:
    return [fn for _, fn in sorted(_checks, key=lambda pair: pair[0])]


def raise_to(current: Severity, condition: bool, target: Severity) -> Severity:
    return Severity.max(current, target) if condition else current
