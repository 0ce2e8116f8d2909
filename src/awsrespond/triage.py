"""``triage``: a read-only sweep of the whole account, judged into findings, stored in the case."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from awsrespond.attribution import refresh_case_findings
from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.aws.regions import plan_regions
from awsrespond.case.own_artefacts import drop_own, read_ids
from awsrespond.case.workspace import Case
from awsrespond.coverage import CoverageGap, GapKind
from awsrespond.detect.baseline import Baseline
from awsrespond.detect.triage import judge
from awsrespond.findings import Finding
from awsrespond.inventory import collectors as _collectors  # noqa: F401  (registers every collector)
from awsrespond.inventory.base import Inventory, Item
from awsrespond.inventory.sweep import Progress, sweep
from awsrespond.timeutil import iso, now_utc


@dataclass
class TriageOptions:
    regions: list[str] | None = None  # None: every region
    since: datetime | None = None
    baseline: Baseline | None = None
    known_accounts: Iterable[str] = ()
    max_workers: int = 16


@dataclass
class TriageResult:
    identity: CallerIdentity
    findings: list[Finding]
    inventory: Inventory
    coverage: list[CoverageGap]
    regions: list[str]
    not_enabled: list[str]
    since: datetime | None
    started: datetime
    finished: datetime
    api_calls: int
    notes: list[str] = field(default_factory=list)

    @property
    def suspicious(self) -> bool:
        return any(f.suspicious for f in self.findings)

    @property
    def partial(self) -> bool:
        return any(g.partial for g in self.coverage)

    def document(self, case: str | None = None) -> TriageDocument:
        return TriageDocument(
            account=AccountInfo(id=self.identity.account_id, alias=self.identity.alias,
                                caller_arn=self.identity.arn, user_id=self.identity.user_id),
            window=Window(since=self.since),
            started=self.started,
            finished=self.finished,
            regions=RegionCoverage(swept=self.regions, not_enabled=self.not_enabled),
            api_calls=self.api_calls,
            findings=self.findings,
            inventory={t: self.inventory.of(t) for t in self.inventory.counts()},
            coverage=self.coverage,
            notes=self.notes,
            case=case,
        )

    def as_json(self, case: str | None = None) -> dict[str, Any]:
        return self.document(case).model_dump(mode="json")


class AccountInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    alias: str | None
    caller_arn: str
    user_id: str


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: datetime | None


class RegionCoverage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    swept: list[str]
    not_enabled: list[str]


class TriageDocument(BaseModel):
    """What ``triage --format json`` prints and what ``triage.json`` in the case holds."""

    model_config = ConfigDict(extra="forbid")
    account: AccountInfo
    window: Window
    started: datetime
    finished: datetime
    regions: RegionCoverage
    api_calls: int
    findings: list[Finding]
    inventory: dict[str, list[Item]]
    coverage: list[CoverageGap]
    notes: list[str]
    case: str | None = None


def run_triage(
    factory: ClientFactory,
    identity: CallerIdentity,
    case: Case,
    options: TriageOptions,
    *,
    region_progress: Progress | None = None,
    on_regions: Any = None,
) -> TriageResult:
    started = now_utc()
    calls_before = len(factory.calls)
    plan = plan_regions(factory, options.regions, identity.partition)
    if on_regions is not None:
        on_regions(plan)
    result = sweep(
        factory,
        account_id=identity.account_id,
        partition=identity.partition,
        regions=plan.enabled,
        evidence=case.evidence,
        max_workers=options.max_workers,
        progress=region_progress,
        since=options.since,
    )
    coverage = list(result.gaps)
    coverage += [
        CoverageGap(kind=GapKind.NOT_ENABLED, scope="region", region=r,
                    message="opt-in region not enabled for this account (DescribeRegions)")
        for r in plan.not_enabled
    ]
    if identity.alias_error:
        coverage.append(CoverageGap(kind=GapKind.ACCESS_DENIED, scope="iam:ListAccountAliases", region="global",
                                    message=identity.alias_error))
    findings = judge(
        result.inventory,
        account_id=identity.account_id,
        since=options.since,
        baseline=options.baseline,
        known_accounts=options.known_accounts,
    )
    findings, own = drop_own(findings, result.inventory, read_ids(case))
    notes = list(plan.notes)
    if own:
        notes.append(f"{own} findings on awsrespond's own artefacts (evidence snapshots, replacement keys) "
                     "are not reported")
    if options.since is None and options.baseline is None:
        notes.append(
            "no --since or --baseline: nothing can be judged new, so only risk-based findings are shown; "
            "give the start of the incident window with --since"
        )
    triage = TriageResult(
        identity=identity,
        findings=findings,
        inventory=result.inventory,
        coverage=sorted(coverage, key=lambda g: (g.kind != GapKind.NOT_COLLECTED, g.kind, g.region, g.scope)),
        regions=result.regions,
        not_enabled=sorted(set(result.not_enabled) | set(plan.not_enabled)),
        since=options.since,
        started=started,
        finished=now_utc(),
        api_calls=len(factory.calls) - calls_before,
        notes=notes,
    )
    _store(case, triage)
    return triage


def _store(case: Case, triage: TriageResult) -> None:
    case.evidence.flush()
    case.write_json("triage.json", triage.as_json(str(case.root)))
    # Hunt's attribution (attacker-created / attacker-used) is applied when the case has hunt.json.
    refresh_case_findings(case)
    case.record_command("triage", since=iso(triage.since), findings=len(triage.findings),
                        regions=len(triage.regions))
