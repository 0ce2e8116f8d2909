"""Run the checks (each isolated: one failing read never stops the others) and build the fixes' change set."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import PrivateAttr

import awsrespond.recover.actions.hardening  # noqa: F401  (registers the actions the fixers plan)
from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import describe_error
from awsrespond.aws.identity import CallerIdentity
from awsrespond.aws.regions import RegionPlan, plan_regions
from awsrespond.contain.safety import caller_key
from awsrespond.harden.model import CheckResult, CheckStatus, HardenReport
from awsrespond.harden.registry import (
    CheckSpec,
    HardenContext,
    Outcome,
    ReadError,
    all_fixers,
    errored,
    select,
)
from awsrespond.recover.changes import ChangeSet
from awsrespond.timeutil import now_utc

CHECK_WORKERS = 4
COMMAND = "harden --fix"


class HardenRun(HardenReport):
    """The report plus what the fixers need (the context and each check's facts); serialises as the report."""

    _context: HardenContext | None = PrivateAttr(default=None)
    _outcomes: dict[str, Outcome] = PrivateAttr(default_factory=dict)

    def report(self) -> HardenReport:
        return HardenReport.model_validate(self.model_dump())


def _run_one(ctx: HardenContext, spec: CheckSpec) -> Outcome:
    try:
        return spec.run(ctx)
    except ReadError as exc:
        return errored(str(exc), f"allow {exc.api} to the caller (or check by hand in the console) and run again",
                       errors=[str(exc)])
    except (ClientError, BotoCoreError) as exc:
        call = ctx.factory.last_call()
        api = f"{call.iam_action} in {call.region or 'global'}" if call else "an AWS call"
        message = f"{api} failed: {describe_error(exc)}"
        return errored(message, "check the caller's permissions and run again", errors=[message])
    except Exception as exc:  # noqa: BLE001 - a bug in one check must not hide the other checks' results
        message = f"internal error in check {spec.id}: {type(exc).__name__}: {exc}"
        return errored(message, "report this as an awsrespond bug; check this item by hand", errors=[message])


def run_checks(
    factory: ClientFactory,
    identity: CallerIdentity,
    regions: list[str] | RegionPlan | None = None,
    *,
    only: Iterable[str] | None = None,
    never_touch: Iterable[str] = (),
    now: datetime | None = None,
    workers: int = 8,
    on_check: Callable[[CheckResult], None] | None = None,
) -> HardenRun:
    """Every check (or those ``only`` names: ids, or prefixes such as ``iam.``), read-only.

    ``regions``: the regional checks' regions (None: every region of the partition, not-enabled ones
    reported as such). The result is a :class:`HardenReport` (``.report()`` for the plain model).
    """
    region_plan = regions if isinstance(regions, RegionPlan) else plan_regions(factory, regions, identity.partition)
    ctx = HardenContext(factory=factory, identity=identity, regions=region_plan, now=now or now_utc(),
                        workers=workers, never_touch=list(never_touch), caller_key=caller_key(factory))
    specs = select(only)
    fixers = {check_id for fix in all_fixers() for check_id in fix.checks}
    with ThreadPoolExecutor(max_workers=CHECK_WORKERS, thread_name_prefix="harden-check") as pool:
        outcomes = list(pool.map(lambda spec: _run_one(ctx, spec), specs))
    results: list[CheckResult] = []
    for spec, outcome in zip(specs, outcomes, strict=True):
        result = CheckResult(
            id=spec.id, title=spec.title, status=outcome.status, detail=outcome.detail,
            fix="" if outcome.status is CheckStatus.PASS else outcome.fix, severity=spec.severity,
            fixable=outcome.status is CheckStatus.FAIL and outcome.fixable and spec.id in fixers,
            regions=outcome.regions, resources=outcome.resources, errors=outcome.errors)
        results.append(result)
        if on_check is not None:
            on_check(result)
    run = HardenRun(account_id=identity.account_id, generated=ctx.now, checks=results,
                    regions=list(region_plan.enabled), not_enabled_regions=list(region_plan.not_enabled),
                    notes=list(region_plan.notes))
    run._context = ctx
    run._outcomes = {spec.id: outcome for spec, outcome in zip(specs, outcomes, strict=True)}
    return run


def plan_fixes(run: HardenRun, *, command: str = COMMAND) -> ChangeSet:
    """The change set that fixes every failing check that needs no more input; the rest become notes."""
    ctx = run._context
    if ctx is None:
        raise ValueError("plan_fixes needs the HardenRun that run_checks returned")
    changes = ChangeSet(command=command, never_touch=list(ctx.never_touch))
    failing = {cid: o for cid, o in run._outcomes.items() if o.status is CheckStatus.FAIL}
    for fix in all_fixers():
        mine = {cid: failing[cid] for cid in fix.checks if cid in failing and failing[cid].fixable}
        if not mine:
            continue
        try:
            fix.plan(ctx, mine, changes)
        except ReadError as exc:
            changes.note(f"{', '.join(mine)}: no fix planned, {exc}")
        except (ClientError, BotoCoreError) as exc:
            changes.note(f"{', '.join(mine)}: no fix planned, {describe_error(exc)}")
    for result in run.checks:
        if result.status is CheckStatus.FAIL and not result.fixable:
            changes.note(f"{result.id} needs you: {result.fix}")
    return changes
