"""``awsrespond hunt`` as a library call: sources -> events table -> rules and analytics -> sessions
-> findings (and, with a case, ``hunt.json`` and the case's findings)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from awsrespond.attribution import mark_existing, refresh_case_findings
from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import whoami
from awsrespond.aws.regions import parse_region_option
from awsrespond.case.workspace import Case, default_case_dir
from awsrespond.coverage import CoverageGap
from awsrespond.errors import UsageError
from awsrespond.findings import Finding, Severity, sort_key
from awsrespond.hunt.analytics import run_analytics
from awsrespond.hunt.detections import Detection, Window
from awsrespond.hunt.hunt_findings import detection_findings, session_findings
from awsrespond.hunt.session_model import AttackerSession
from awsrespond.hunt.sessions import build_sessions
from awsrespond.sigma import load_rules, match_rules, to_detections
from awsrespond.timeutil import iso
from awsrespond.trail.discover import SourcePlan, parse_sources, resolve_sources
from awsrespond.trail.events import EventStore, LoadReport
from awsrespond.trail.files import find_trail_files, read_trail_file
from awsrespond.trail.lookup import LookupSource
from awsrespond.trail.s3 import S3TrailSource
from awsrespond.trail.stored import SourceLedger, load_files, load_lookup, load_s3, open_case_store

Progress = Callable[[str], None]


@dataclass
class HuntOptions:
    sources: Sequence[str] = ()
    """Local files or directories, ``s3://bucket/prefix`` URLs."""
    since: datetime | None = None
    until: datetime | None = None
    rules: Sequence[Path] = ()
    """Rule files or directories added to the built-in pack."""
    case_dir: Path | None = None
    """Where to keep the results (created if needed). None: no case, unless ``default_case``."""
    default_case: bool = False
    """Without ``case_dir``, keep the results in ``./cases/<account>-<time>`` (what the CLI does)."""
    account_id: str | None = None
    """The account hunted; None: the account most events were recorded in."""
    caller_arn: str | None = None
    regions: str = "all"
    """Regions for LookupEvents (comma-separated, or all)."""
    partition: str = "aws"
    history_days: int = 14
    """How far before ``since`` to read from S3 or LookupEvents: each principal's normal behaviour."""


class HuntWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: datetime | None
    until: datetime | None


class HuntDocument(BaseModel):
    """What ``hunt --format json`` prints and ``hunt.json`` in the case holds."""

    model_config = ConfigDict(extra="forbid")
    window: HuntWindow
    sources: list[str]
    findings: list[Finding]
    sessions: list[AttackerSession]
    stats: dict[str, Any]
    errors: list[str] = Field(description="Every file, record, rule or source that could not be used")
    notes: list[str] = Field(default_factory=list)


@dataclass
class HuntResult:
    store: EventStore
    window: Window
    sources: list[str]
    findings: list[Finding]
    detections: list[Detection]
    sessions: list[AttackerSession]
    stats: dict[str, Any]
    errors: list[str]
    notes: list[str] = field(default_factory=list)
    case_dir: Path | None = None

    @property
    def partial(self) -> bool:
        return bool(self.errors)

    @property
    def suspicious(self) -> bool:
        return bool(self.sessions) or any(f.severity.at_least(Severity.MEDIUM) for f in self.findings)

    def document(self) -> HuntDocument:
        return HuntDocument(
            window=HuntWindow(since=self.window.since, until=self.window.until),
            sources=self.sources,
            findings=self.findings,
            sessions=self.sessions,
            stats=self.stats,
            errors=self.errors,
            notes=self.notes,
        )


def _gap_text(gap: CoverageGap) -> str:
    return f"{gap.scope} in {gap.region}: {gap.kind.value}: {gap.message}"


def _load(store: EventStore, plan: SourcePlan, options: HuntOptions, window: Window,
          factory: ClientFactory | None, errors: list[str], notes: list[str], say: Progress) -> LoadReport:
    """Read every source the case does not hold yet; history before ``since`` comes too (analytics)."""
    total = LoadReport()
    history_from = window.since - timedelta(days=options.history_days) if window.since is not None else None
    if plan.files:
        say(f"reading {len(plan.files)} local path(s)")
        loaded = load_files(store, plan.files)
        total.merge(loaded.report)
        if loaded.skipped:
            notes.append(f"{loaded.skipped} file(s) were already in the case's store and were not read again")
    for location in plan.s3:
        if factory is None:
            raise UsageError(f"{location.url(location.prefix)}: reading S3 needs AWS credentials")
        source = S3TrailSource(factory, location)
        listing = source.find_objects(history_from, window.until)
        errors.extend(str(problem) for problem in listing.problems)
        say(f"reading {len(listing.keys)} object(s) from {location.url(location.prefix)}")
        total.merge(load_s3(store, source, listing.keys).report)
    if plan.lookup:
        if factory is None:
            raise UsageError("LookupEvents needs AWS credentials")
        lookup = LookupSource(
            factory, plan.lookup_regions, history_from, window.until,
            held=SourceLedger(store).lookup_ranges(plan.lookup_regions),
            progress=lambda region, count, done: say(f"LookupEvents {region}: {count} events"
                                                     + (" (done)" if done else "")),
        )
        say(f"reading LookupEvents in {len(plan.lookup_regions)} region(s), 2 requests/s each")
        total.merge(load_lookup(store, lookup).report)
        notes.extend(lookup.notes)
        errors.extend(_gap_text(gap) for gap in lookup.gaps if gap.partial)
    notes.extend(plan.notes)
    errors.extend(_gap_text(gap) for gap in plan.gaps if gap.partial)
    errors.extend(str(problem) for problem in total.problems)
    return total


def _account_of_files(paths: Sequence[Path]) -> str | None:
    """The account of the first readable record, for naming a case made from log files alone."""
    found, _ = find_trail_files(paths)
    for path in found[:20]:
        for record in read_trail_file(path).records:
            account = record.get("recipientAccountId") or (record.get("userIdentity") or {}).get("accountId")
            if isinstance(account, str) and account:
                return account
    return None


def _case(options: HuntOptions, plan: SourcePlan) -> Case | None:
    if options.case_dir is None and not options.default_case:
        return None
    if options.case_dir is not None and (options.case_dir / "case.json").exists():
        return Case.open(options.case_dir)
    account = options.account_id or _account_of_files(plan.files) or "unknown-account"
    root = options.case_dir or default_case_dir(account)
    return Case.create(root, account_id=account, caller_arn=options.caller_arn or "awsrespond hunt (log files)")


def run_hunt(
    options: HuntOptions,
    factory: ClientFactory | None = None,
    *,
    store: EventStore | None = None,
    progress: Progress | None = None,
) -> HuntResult:
    say = progress or (lambda _message: None)
    window = Window(options.since, options.until)
    errors: list[str] = []
    notes: list[str] = []
    timings: dict[str, float] = {}
    started = time.perf_counter()
    plan = parse_sources(options.sources)
    if plan.needs_aws and factory is None:
        raise UsageError("reading S3 or LookupEvents needs AWS credentials; give log files to hunt without them")
    case = _case(options, plan)
    if plan.needs_aws and factory is not None:
        account = options.account_id or (case.account_id if case else None) or whoami(factory).account_id
        resolve_sources(plan, factory, account_id=account, case=case, regions=parse_region_option(options.regions),
                        partition=options.partition)
    for line in plan.describe():
        say(f"source {line}")
    if store is None:
        store = open_case_store(case) if case is not None else EventStore()

    report = _load(store, plan, options, window, factory, errors, notes, say)
    timings["read_s"] = time.perf_counter() - started

    say("running rules")
    mark = time.perf_counter()
    ruleset = load_rules(options.rules)
    errors.extend(str(problem) for problem in ruleset.problems)
    where, params = window.sql()
    detections = to_detections(ruleset.rules, match_rules(store.db, ruleset.rules, where=where, params=params))
    timings["rules_s"] = time.perf_counter() - mark

    say("running behaviour analytics")
    mark = time.perf_counter()
    analysed = run_analytics(store.db, window)
    detections += analysed.detections
    notes.extend(analysed.notes)
    timings["analytics_s"] = time.perf_counter() - mark

    say("building attacker sessions")
    mark = time.perf_counter()
    built = build_sessions(store.db, window, detections)
    notes.extend(built.notes)
    if case is not None:
        mark_existing(built.sessions, case.read_json("triage.json"))
    findings = sorted([*detection_findings(store.db, detections, built.sessions), *session_findings(built.sessions)],
                      key=sort_key)
    timings["sessions_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - started

    if report.without_id_or_time:
        notes.append(f"{report.without_id_or_time} record(s) without eventID or eventTime: evaluated by the rules, "
                     "left out of timelines")
    stats = _stats(store, window, report, len(ruleset.rules), detections, built.sessions, timings)
    result = HuntResult(store, window, [*options.sources], findings, detections, built.sessions, stats, errors, notes)
    if case is not None:
        _store(case, result)
        result.case_dir = case.root
    return result


def _stats(store: EventStore, window: Window, report: LoadReport, rules: int, detections: list[Detection],
           sessions: list[AttackerSession], timings: dict[str, float]) -> dict[str, Any]:
    where, params = window.sql()
    row = store.db.execute(f"SELECT count(*) FROM events WHERE {where}", params).fetchone()
    return {
        "files": report.files,
        "records_read": report.records,
        "duplicates": report.duplicates,
        "without_id_or_time": report.without_id_or_time,
        "events": store.count(),
        "window_events": int(row[0]) if row else 0,
        "rules": rules,
        "detections": len(detections),
        "sessions": len(sessions),
        **{name: round(seconds, 3) for name, seconds in timings.items()},
    }


def _store(case: Case, result: HuntResult) -> None:
    case.write_json("hunt.json", result.document().model_dump(mode="json"))
    refresh_case_findings(case)
    case.record_command("hunt", since=iso(result.window.since), until=iso(result.window.until),
                        sessions=len(result.sessions), findings=len(result.findings))
