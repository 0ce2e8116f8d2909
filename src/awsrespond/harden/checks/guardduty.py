"""GuardDuty on in every enabled region (regions the account has not enabled are not failures)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awsrespond.contain.model import Target
from awsrespond.harden.model import CheckSeverity, CheckStatus
from awsrespond.harden.registry import (
    HardenContext,
    Outcome,
    ReadError,
    check,
    errored,
    failed,
    fixer,
    not_enabled,
    passed,
)
from awsrespond.recover.changes import ChangeSet

CHECK_ID = "guardduty.enabled-all-regions"
DETECTOR = "AWS::GuardDuty::Detector"
CONSOLE = "https://console.aws.amazon.com/guardduty/home"
ENABLED, DISABLED, NONE = "enabled", "disabled", "no detector"


def _region(ctx: HardenContext, region: str) -> dict[str, Any]:
    ids = ctx.pages("guardduty", "list_detectors", "DetectorIds", region)
    statuses = {d: str(ctx.call("guardduty", "get_detector", region, DetectorId=d).get("Status", "")).upper()
                for d in ids}
    state = ENABLED if "ENABLED" in statuses.values() else DISABLED if statuses else NONE
    return {"state": state, "detectors": sorted(statuses)}


@check(CHECK_ID, "GuardDuty is on in every enabled region", CheckSeverity.HIGH)
def guardduty_everywhere(ctx: HardenContext) -> Outcome:
    answers = ctx.per_region(lambda region: _region(ctx, region))
    regions: dict[str, str] = {}
    facts: dict[str, Any] = {}
    errors: list[str] = []
    for region, answer in sorted(answers.items()):
        if isinstance(answer, ReadError):
            if not_enabled(answer):
                regions[region] = "region not enabled"
                continue
            regions[region] = "error"
            errors.append(str(answer))
            continue
        regions[region] = answer["state"]
        facts[region] = answer
    off = sorted(r for r, a in facts.items() if a["state"] != ENABLED)
    if off:
        detail = f"GuardDuty is off in {len(off)} of {len(regions)} regions: {', '.join(off)}"
        if errors:
            detail += f"; {len(errors)} regions could not be read"
        return failed(detail, f"`awsrespond harden --fix` enables or creates a detector in each ({CONSOLE})",
                      fixable=True, regions=regions, resources=off, errors=errors, facts={"regions": facts})
    if errors:
        return errored(f"GuardDuty could not be read in {len(errors)} regions: {'; '.join(errors)}",
                       f"check GuardDuty in those regions in the console ({CONSOLE}) and the caller's "
                       "guardduty:ListDetectors / GetDetector permissions", regions=regions, errors=errors)
    if not facts:
        return errored("no enabled region to check", "check the --region option", regions=regions)
    return passed(f"GuardDuty is on in all {len(facts)} enabled regions", regions=regions)


@fixer(CHECK_ID)
def fix_guardduty(ctx: HardenContext, outcomes: Mapping[str, Outcome], changes: ChangeSet) -> None:
    outcome = outcomes.get(CHECK_ID)
    if outcome is None or outcome.status is not CheckStatus.FAIL:
        return
    for region, answer in sorted(outcome.facts.get("regions", {}).items()):
        if answer["state"] == DISABLED:
            changes.add("guardduty.enable-detector", Target(type=DETECTOR, id=answer["detectors"][0], region=region),
                        expect={"detector": False}, post={"detector": True},
                        reason="GuardDuty's detector in this region is disabled")
        elif answer["state"] == NONE:
            changes.add("guardduty.create-detector", Target(type=DETECTOR, id=f"new-detector-{region}", region=region),
                        expect={"detector": False}, post={"detector": True},
                        reason="GuardDuty is not set up in this region")
