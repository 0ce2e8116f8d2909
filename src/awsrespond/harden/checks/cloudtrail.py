"""A multi-region trail that logs management events, with log-file validation.

Both checks read the same trails (ListTrails, then DescribeTrails, GetTrailStatus and
GetEventSelectors in each trail's home region) and share one fixer: start a stopped trail, make a
single-region trail multi-region and turn validation on (one UpdateTrail), or - with no trail of this
account at all - create a private bucket with the CloudTrail bucket policy, the trail, and start it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from awsrespond.contain.model import Target
from awsrespond.harden.model import CheckSeverity, CheckStatus
from awsrespond.harden.registry import HardenContext, Outcome, ReadError, check, errored, failed, fixer, passed
from awsrespond.recover.changes import ChangeSet

MULTI_REGION = "cloudtrail.multi-region-logging"
VALIDATION = "cloudtrail.log-file-validation"
TRAIL = "AWS::CloudTrail::Trail"
BUCKET = "AWS::S3::Bucket"
NEW_TRAIL_NAME = "awsrespond-multi-region-trail"
CONSOLE = "https://console.aws.amazon.com/cloudtrail/home#/trails"


@dataclass
class TrailState:
    name: str
    arn: str
    home_region: str
    owner: str
    multi_region: bool = False
    validation: bool = False
    logging: bool = False
    management: bool = True
    organization: bool = False
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def label(self) -> str:
        return f"{self.name} ({self.home_region})"


def _management_events(answer: Mapping[str, Any]) -> bool:
    """Whether the trail records write management events (no selectors at all means it does)."""
    basic = answer.get("EventSelectors") or []
    advanced = answer.get("AdvancedEventSelectors") or []
    if not basic and not advanced:
        return True
    if any(s.get("IncludeManagementEvents", True) and s.get("ReadWriteType", "All") in ("All", "WriteOnly")
           for s in basic):
        return True
    for selector in advanced:
        fields = selector.get("FieldSelectors") or []
        category = [f for f in fields if f.get("Field") == "eventCategory"]
        read_only = [f for f in fields if f.get("Field") == "readOnly" and "true" in (f.get("Equals") or [])]
        if any("Management" in (f.get("Equals") or []) for f in category) and not read_only:
            return True
    return False


def _read_trail(ctx: HardenContext, summary: Mapping[str, Any]) -> TrailState:
    arn = str(summary.get("TrailARN", ""))
    region = str(summary.get("HomeRegion") or ctx.factory.default_region)
    owner = arn.split(":")[4] if arn.count(":") >= 5 else ""
    state = TrailState(name=str(summary.get("Name", arn)), arn=arn, home_region=region, owner=owner)
    try:
        described = ctx.call("cloudtrail", "describe_trails", region, trailNameList=[arn],
                             includeShadowTrails=False).get("trailList") or []
        trail = described[0] if described else {}
        state.multi_region = bool(trail.get("IsMultiRegionTrail"))
        state.validation = bool(trail.get("LogFileValidationEnabled"))
        state.organization = bool(trail.get("IsOrganizationTrail"))
        state.logging = bool(ctx.call("cloudtrail", "get_trail_status", region, Name=arn).get("IsLogging"))
    except ReadError as exc:
        state.errors.append(str(exc))
        return state
    try:
        state.management = _management_events(ctx.call("cloudtrail", "get_event_selectors", region, TrailName=arn))
    except ReadError as exc:
        # An organization trail's selectors may not be readable from a member account: assumed to log
        # management events (the default), and said so.
        state.notes.append(f"{exc}; assumed to log management events")
    return state


def read_trails(ctx: HardenContext) -> list[TrailState]:
    """Every trail ListTrails names, read in its home region (in parallel). Raises ReadError if ListTrails fails."""
    def compute() -> list[TrailState]:
        listed = ctx.pages("cloudtrail", "list_trails", "Trails", ctx.factory.default_region)
        with ThreadPoolExecutor(max_workers=max(1, min(ctx.workers, len(listed) or 1)),
                                thread_name_prefix="harden-trail") as pool:
            return sorted(pool.map(lambda s: _read_trail(ctx, s), listed), key=lambda t: (t.name, t.arn))
    return ctx.shared("cloudtrail.trails", compute)


def _covering(trails: list[TrailState]) -> list[TrailState]:
    return [t for t in trails if not t.errors and t.multi_region and t.logging and t.management]


def _candidate(ctx: HardenContext, trails: list[TrailState], *, among: list[TrailState] | None = None
               ) -> TrailState | None:
    """The trail of this account a fix would change: multi-region first, then logging, then validated."""
    mine = [t for t in (among if among is not None else trails)
            if not t.errors and t.owner == ctx.account_id and t.management]
    ranked = sorted(mine, key=lambda t: (not t.multi_region, not t.logging, not t.validation, t.name))
    return ranked[0] if ranked else None


def _facts(trail: TrailState | None) -> dict[str, Any]:
    return {"candidate": None if trail is None else trail.__dict__.copy()}


NO_TRAIL_FIX = ("Create a multi-region trail with log-file validation into a private S3 bucket "
                f"(`awsrespond harden --fix` does: bucket with the CloudTrail bucket policy, trail, start logging); "
                f"console: {CONSOLE}")


@check(MULTI_REGION, "A multi-region CloudTrail trail is logging management events", CheckSeverity.CRITICAL)
def multi_region_logging(ctx: HardenContext) -> Outcome:
    trails = read_trails(ctx)
    errors = [e for t in trails for e in (*t.errors, *t.notes)]
    covering = _covering(trails)
    if covering:
        return passed(f"{', '.join(t.label() for t in covering)} logs every region", errors=errors)
    if errors and not any(not t.errors for t in trails):
        return errored(f"could not read the trails: {'; '.join(errors)}", f"check the trails in the console: {CONSOLE}",
                       errors=errors)
    candidate = _candidate(ctx, trails)
    if candidate is None:
        others = [t for t in trails if not t.errors]
        detail = ("no trail in this account" if not others else
                  "no usable trail of this account (" + "; ".join(
                      f"{t.label()}: " + ("organization trail of account " + t.owner if t.owner != ctx.account_id
                                          else "no management events") for t in others) + ")")
        fixable = not any(t.owner == ctx.account_id for t in others)
        fix = NO_TRAIL_FIX if fixable else (f"include management events (read and write) in the trail's event "
                                            f"selectors, or ask the trail's owner account; console: {CONSOLE}")
        return failed(detail, fix, fixable=fixable, errors=errors, resources=[t.arn for t in others],
                      facts=_facts(None) | {"create": fixable})
    problems = ([] if candidate.multi_region else ["single-region"]) + ([] if candidate.logging else ["not logging"])
    fix = ("`awsrespond harden --fix`: " + " and ".join(
        (["UpdateTrail IsMultiRegionTrail=true"] if not candidate.multi_region else [])
        + (["StartLogging"] if not candidate.logging else [])) + f" on {candidate.name}")
    return failed(f"trail {candidate.label()} is {' and '.join(problems)}", fix, fixable=True, errors=errors,
                  resources=[candidate.arn], facts=_facts(candidate))


@check(VALIDATION, "The logging multi-region trail has log-file validation on", CheckSeverity.MEDIUM)
def log_file_validation(ctx: HardenContext) -> Outcome:
    trails = read_trails(ctx)
    errors = [e for t in trails for e in (*t.errors, *t.notes)]
    covering = _covering(trails)
    validated = [t for t in covering if t.validation]
    if validated:
        return passed(f"{', '.join(t.label() for t in validated)} writes digest files", errors=errors)
    if errors and not any(not t.errors for t in trails):
        return errored(f"could not read the trails: {'; '.join(errors)}", f"check the trails in the console: {CONSOLE}",
                       errors=errors)
    candidate = _candidate(ctx, trails, among=covering) or _candidate(ctx, trails)
    if candidate is None:
        fixable = not any(t.owner == ctx.account_id and not t.errors for t in trails)
        return failed("no trail of this account to validate" if trails else "no trail in this account",
                      NO_TRAIL_FIX if fixable else f"turn on log-file validation on the trail; console: {CONSOLE}",
                      fixable=fixable, errors=errors, facts=_facts(None) | {"create": fixable})
    return failed(f"trail {candidate.label()} has log-file validation off",
                  f"`awsrespond harden --fix`: UpdateTrail EnableLogFileValidation=true on {candidate.name}",
                  fixable=True, errors=errors, resources=[candidate.arn], facts=_facts(candidate))


def bucket_name(account_id: str) -> str:
    return f"awsrespond-cloudtrail-{account_id}-{secrets.token_hex(4)}"


@fixer(MULTI_REGION, VALIDATION)
def fix_trail(ctx: HardenContext, outcomes: Mapping[str, Outcome], changes: ChangeSet) -> None:
    fixable = {k: o for k, o in outcomes.items() if o.status is CheckStatus.FAIL and o.fixable}
    if not fixable:
        return
    if any(o.facts.get("create") for o in fixable.values()):
        _plan_new_trail(ctx, changes)
        return
    # The multi-region check's candidate wins: its trail is the one that will cover every region.
    chosen = next((o.facts["candidate"] for k in (MULTI_REGION, VALIDATION)
                   if (o := fixable.get(k)) is not None and o.facts.get("candidate")), None)
    if chosen is None:
        return
    trail = TrailState(**chosen)
    target = Target(type=TRAIL, id=trail.arn, region=trail.home_region, arn=trail.arn)
    settings: dict[str, bool] = {}
    if MULTI_REGION in fixable and not trail.multi_region:
        settings["multi_region"] = True
    if VALIDATION in fixable and not trail.validation:
        settings["log_file_validation"] = True
    after: list[str] = []
    if settings:
        after.append(changes.add(
            "cloudtrail.update-trail", target, params={"settings": settings},
            expect={key: not value for key, value in settings.items()}, post=dict(settings),
            reason=" and ".join({"multi_region": "record every region, including ones the attacker may use next",
                                 "log_file_validation": "digest files prove the logs were not altered"}[k]
                                for k in settings)))
    if MULTI_REGION in fixable and not trail.logging:
        changes.add("cloudtrail.start-logging", target, expect={"is_logging": False}, post={"is_logging": True},
                    after=after, reason="the trail is not logging: what happens now would not be recorded")


def _plan_new_trail(ctx: HardenContext, changes: ChangeSet) -> None:
    region = ctx.factory.default_region
    bucket = bucket_name(ctx.account_id)
    trail_arn = f"arn:{ctx.partition}:cloudtrail:{region}:{ctx.account_id}:trail/{NEW_TRAIL_NAME}"
    made = changes.add(
        "s3.create-trail-bucket",
        Target(type=BUCKET, id=bucket, region=region, arn=f"arn:{ctx.partition}:s3:::{bucket}"),
        params={"trail_arn": trail_arn, "account_id": ctx.account_id},
        expect={"exists": False}, post={"exists": True, "public_access_blocked": True, "cloudtrail_policy": True},
        reason="the new trail's log bucket: private, public access blocked, writable only by this trail")
    created = changes.add(
        "cloudtrail.create-trail", Target(type=TRAIL, id=NEW_TRAIL_NAME, region=region, arn=trail_arn),
        params={"bucket": bucket}, after=[made],
        expect={"exists": False}, post={"exists": True, "multi_region": True, "log_file_validation": True},
        reason="no trail records this account: a multi-region trail with log-file validation")
    changes.add("cloudtrail.start-logging", Target(type=TRAIL, id=trail_arn, region=region, arn=trail_arn),
                expect={"is_logging": False}, post={"is_logging": True}, after=[created],
                reason="a new trail does not log until started")
