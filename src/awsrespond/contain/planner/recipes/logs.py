"""Planning phase (a), preserve the logs, and phase (c), the re-check (DESIGN.md 3.9).

``plan_preserve`` copies every readable trail's objects for the window and each relevant region's
LookupEvents history into the case, and restarts stopped trails; the trail recipe restarts a trail
the case shows stopped; the detector recipe re-creates or re-enables a GuardDuty detector the
attacker deleted or disabled (GuardDuty merely off is posture, for ``awsrespond harden``).
``plan_recheck`` adds the step that looks for what appeared after the plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.errors import describe_error, error_code
from awsrespond.contain.model import Phase, Target
from awsrespond.contain.planner.builder import PlanBuilder, PlanContext, Subject, recipe
from awsrespond.timeutil import coerce_instant, iso

TRAIL = "AWS::CloudTrail::Trail"
DETECTOR = "AWS::GuardDuty::Detector"
LOOKUP_ID = "lookup-events"
# Where each partition's global services (IAM, STS, sign-in) log their events.
GLOBAL_EVENTS_REGION = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
TRAIL_CHANGES = frozenset({"UpdateTrail", "PutEventSelectors", "PutInsightSelectors", "DeleteTrail"})
DETECTOR_TAMPERING = frozenset({"DeleteDetector", "UpdateDetector"})
MEMBER_TAMPERING = frozenset({"DeleteMembers", "DisassociateMembers", "StopMonitoringMembers",
                              "DisassociateFromMasterAccount", "DisassociateFromAdministratorAccount"})
POSTURE_GUARDDUTY = ("GuardDuty off is posture: `awsrespond harden` enables it; containment re-creates only a "
                     "detector the case shows the attacker deleted or disabled")
_EC2_LIKE = ("AWS::EC2::", "AWS::AutoScaling::", "AWS::Lambda::")


def _get(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _trail_name(ident: str) -> str:
    """``arn:aws:cloudtrail:region:account:trail/NAME`` -> NAME; a name stays a name."""
    return ident.rsplit("trail/", 1)[-1] if ident.startswith("arn:") else ident


def _trail_item(pctx: PlanContext, ident: str) -> dict[str, Any] | None:
    items = pctx.inventory(TRAIL)
    for item in items:
        if ident in (item.get("id"), item.get("arn")):
            return item
    name = _trail_name(ident)
    owned = [i for i in items if (i.get("data") or {}).get("name") == name]
    return owned[0] if len(owned) == 1 else None


def _resolve_trail(pctx: PlanContext, subject: Subject) -> tuple[str, str] | None:
    """(ARN or name, home region) of the subject's trail, from the inventory or DescribeTrails."""
    item = _trail_item(pctx, subject.target.id)
    if item is not None:
        data = item.get("data") or {}
        return str(item.get("arn") or item.get("id")), str(data.get("home_region") or item.get("region"))
    region = subject.target.region if subject.target.region != "global" else pctx.factory.default_region
    answer = pctx.client("cloudtrail", region).describe_trails(trailNameList=[subject.target.id],
                                                                includeShadowTrails=True)
    for trail in answer.get("trailList", []):
        return str(trail.get("TrailARN") or trail["Name"]), str(trail.get("HomeRegion") or region)
    return None


def _owner(arn: str, account_id: str) -> str:
    parts = arn.split(":")
    return parts[4] if arn.startswith("arn:") and len(parts) > 5 and parts[4] else account_id


def _event_names(pctx: PlanContext, subject: Subject, ids: Iterable[str]) -> set[str]:
    """What the case says happened to the subject: its findings' events and the sessions' changes."""
    wanted = set(ids)
    names: set[str] = set()
    for finding in subject.findings:
        if isinstance(finding.details.get("event_name"), str):
            names.add(finding.details["event_name"])
        listed = finding.details.get("event_names")
        if isinstance(listed, list):
            names.update(n for n in listed if isinstance(n, str))
    for session in pctx.sessions:
        for change in _get(session, "changed") or []:
            if _get(change, "id") in wanted and _get(change, "type") == subject.target.type:
                names.add(str(_get(change, "event_name")))
    return names


def _start_logging(pctx: PlanContext, builder: PlanBuilder, trail: str, region: str, *, why: Iterable[str],
                   reason: str) -> str | None:
    """A start-logging step when the trail is not logging now; None when it is."""
    status = pctx.client("cloudtrail", region).get_trail_status(Name=trail)
    if status.get("IsLogging"):
        return None
    target = Target(type=TRAIL, id=trail, region=region, arn=trail if trail.startswith("arn:") else None)
    return builder.add(Phase.PRESERVE, "cloudtrail.start-logging", target, expect={"is_logging": False},
                       post={"is_logging": True}, why=why, reason=reason)


def _never_touch(pctx: PlanContext, *names: str) -> bool:
    listed = set(pctx.options.get("never_touch") or [])
    return any(name in listed for name in names)


@recipe(TRAIL)
def trail(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    resolved = _resolve_trail(pctx, subject)
    if resolved is None:
        builder.skip(subject, "the trail no longer exists (deleted?): re-create it by hand; LookupEvents keeps 90 days")
        return
    arn, region = resolved
    if _never_touch(pctx, arn, _trail_name(arn), subject.target.id):
        builder.skip(subject, "on the never-touch list")
        return
    names = _event_names(pctx, subject, {subject.target.id, arn, _trail_name(arn)})
    for change in sorted(names & TRAIL_CHANGES):
        builder.note(f"trail {_trail_name(arn)}: the attacker called {change}; compare its settings with the "
                     "intended ones and revert by hand (containment only restarts logging)")
    owner = _owner(arn, pctx.account_id)
    if owner != pctx.account_id:
        builder.skip(subject, f"organization trail owned by account {owner}: restart it from that account")
        return
    try:
        step = _start_logging(pctx, builder, arn, region, why=subject.finding_ids,
                              reason="the trail is not logging: what happens now would not be recorded")
    except ClientError as exc:
        if error_code(exc) != "TrailNotFoundException":
            raise
        builder.skip(subject, "the trail no longer exists (deleted?): re-create it by hand; LookupEvents keeps 90 days")
        return
    if step is None:
        builder.skip(subject, "the trail is logging again: nothing to restart"
                     if "StopLogging" in names or any(f.rule == "cloudtrail-stopped" for f in subject.findings)
                     else "trail configuration changes are not reverted by containment: review them by hand")


@recipe(DETECTOR)
def detector(pctx: PlanContext, builder: PlanBuilder, subject: Subject) -> None:
    region = subject.target.region
    names = _event_names(pctx, subject, {subject.target.id})
    for session in pctx.sessions:
        for entry in _get(session, "timeline") or []:
            if _get(entry, "region") == region and _get(entry, "event_name") in DETECTOR_TAMPERING | MEMBER_TAMPERING:
                names.add(str(_get(entry, "event_name")))
    for change in sorted(names & MEMBER_TAMPERING):
        builder.note(f"GuardDuty in {region}: the attacker called {change}; re-associate the member accounts by hand")
    if region == "global" or not names & DETECTOR_TAMPERING:
        builder.skip(subject, POSTURE_GUARDDUTY)
        return
    client = pctx.client("guardduty", region)
    statuses: dict[str, str] = {}
    for page in client.get_paginator("list_detectors").paginate():
        for detector_id in page.get("DetectorIds", []):
            statuses[detector_id] = str(client.get_detector(DetectorId=detector_id).get("Status", "")).upper()
    why = subject.finding_ids
    if "ENABLED" in statuses.values():
        builder.skip(subject, f"GuardDuty is enabled in {region} again: nothing to restore")
    elif statuses:
        detector_id = sorted(statuses)[0]
        builder.add(Phase.PRESERVE, "guardduty.enable-detector", Target(type=DETECTOR, id=detector_id, region=region),
                    expect={"detector": False}, post={"detector": True}, why=why,
                    reason="the attacker disabled GuardDuty in this region")
    else:
        builder.add(Phase.PRESERVE, "guardduty.create-detector", Target(type=DETECTOR, id=subject.target.id,
                                                                         region=region),
                    expect={"detector": False}, post={"detector": True}, why=why,
                    reason="the attacker deleted the GuardDuty detector of this region")


# -- phase (a): the logs --------------------------------------------------------------------------


def _window_start(pctx: PlanContext) -> datetime | None:
    return coerce_instant(pctx.window_start)


def _readable(pctx: PlanContext, bucket: str, prefix: str, region: str) -> str | None:
    """None when the bucket's log folder can be listed, else why not."""
    logs = f"{prefix.strip('/')}/AWSLogs/" if prefix.strip("/") else "AWSLogs/"
    try:
        pctx.client("s3", region).list_objects_v2(Bucket=bucket, Prefix=logs, MaxKeys=1)
    except (ClientError, BotoCoreError) as exc:
        return describe_error(exc)
    return None


def _lookup_regions(pctx: PlanContext) -> list[str]:
    chosen = [str(r) for r in pctx.options.get("lookup_regions") or []]
    if chosen:
        return sorted(set(chosen))
    regions = {pctx.factory.default_region, GLOBAL_EVENTS_REGION.get(pctx.partition, "us-east-1")}
    for subject in pctx.subjects:
        regions.add(subject.target.region)
        regions.update(f.resource.region for f in subject.findings)
    for session in pctx.sessions:
        regions.update(str(r) for r in _get(session, "regions") or [])
    for item in pctx.inventory(TRAIL):
        regions.add(str((item.get("data") or {}).get("home_region") or item.get("region")))
    return sorted(r for r in regions if r and r not in ("global", "None"))


def plan_preserve(pctx: PlanContext, builder: PlanBuilder) -> list[str]:
    """Copy the trails' objects and the LookupEvents history into the case; restart stopped trails."""
    start = _window_start(pctx)
    since = iso(start)
    if start is None:
        builder.note("no incident window is known: the logs of the last 90 days are copied")
    steps: list[str] = []
    copied: dict[tuple[str, str], str] = {}
    for item in pctx.inventory(TRAIL):
        data = item.get("data") or {}
        arn = str(item.get("arn") or item.get("id"))
        name = str(data.get("name") or _trail_name(arn))
        region = str(data.get("home_region") or item.get("region"))
        target = Target(type=TRAIL, id=arn, region=region, arn=arn if arn.startswith("arn:") else None)
        if data.get("is_logging") is False and _owner(arn, pctx.account_id) == pctx.account_id:
            try:
                known = pctx.subject(TRAIL, arn, region)
                step = _start_logging(pctx, builder, arn, region, why=known.finding_ids if known else (),
                                      reason="the trail is not logging: what happens now would not be recorded")
            except (ClientError, BotoCoreError) as exc:
                builder.note(f"trail {name}: its status could not be read ({describe_error(exc)}): not restarted")
                step = None
            if step:
                steps.append(step)
        bucket = data.get("s3_bucket")
        if not bucket:
            builder.note(f"trail {name} delivers to no S3 bucket: only LookupEvents is copied for it")
            continue
        prefix = str(data.get("s3_key_prefix") or "")
        if (bucket, prefix) in copied:
            builder.note(f"trail {name} delivers to the same place as {copied[(bucket, prefix)]}: copied once")
            continue
        problem = _readable(pctx, str(bucket), prefix, region)
        if problem is not None:
            builder.note(f"trail {name}: s3://{bucket}/{prefix} cannot be read ({problem}): its objects are not "
                         "copied; the LookupEvents copies hold its management events of the last 90 days")
            continue
        copied[(bucket, prefix)] = name
        steps.append(builder.add(
            Phase.PRESERVE, "logs.copy-trail-objects", target,
            params={"bucket": bucket, "prefix": prefix, "since": since, "until": None,
                    "account_id": pctx.account_id},
            expect={"copied": False}, post={"copied": True},
            reason="keep the trail's log objects of the incident window (and the day before) in the case",
        ))
    for region in _lookup_regions(pctx):
        steps.append(builder.add(
            Phase.PRESERVE, "logs.save-lookup-events", Target(type=TRAIL, id=LOOKUP_ID, region=region),
            params={"since": since}, expect={"saved": False}, post={"saved": True},
            reason="LookupEvents is the only record of what happened while a trail was stopped",
        ))
    return steps


# -- phase (c): the re-check ----------------------------------------------------------------------


def _ids(pctx: PlanContext, resource_type: str) -> list[str]:
    return sorted({str(item.get("id")) for item in pctx.inventory(resource_type) if item.get("id")})


def plan_recheck(pctx: PlanContext, builder: PlanBuilder) -> str:
    """The step that lists, after the credential cut, what did not exist when the plan was made."""
    users = pctx.inventory("AWS::IAM::User")
    policies = [p for p in _ids(pctx, "AWS::IAM::ManagedPolicy") if _owner(p, pctx.account_id) != "aws"]
    known = {
        "users": _ids(pctx, "AWS::IAM::User"),
        "access_keys": _ids(pctx, "AWS::IAM::AccessKey"),
        "roles": _ids(pctx, "AWS::IAM::Role"),
        "login_profiles": sorted({str(u.get("id")) for u in users if (u.get("data") or {}).get("password_enabled")}),
        "policies": policies,
    }
    regions = {s.target.region for s in builder.steps if s.phase is not Phase.PRESERVE}
    regions |= {s.target.region for s in pctx.subjects if s.target.type.startswith(_EC2_LIKE)}
    regions -= {"global"}
    instances: dict[str, list[str]] = {region: [] for region in sorted(regions)}
    for item in pctx.inventory("AWS::EC2::Instance"):
        region = str(item.get("region"))
        if region in instances and (item.get("data") or {}).get("state") != "terminated":
            instances[region].append(str(item.get("id")))
    for ids in instances.values():
        ids.sort()
    return builder.add(
        Phase.RECHECK, "awsrespond.recheck", Target(type="AWS::IAM::Account", id=pctx.account_id, region="global"),
        params={"known": known, "regions": sorted(regions), "instances": instances},
        expect={}, post={"new": []},
        reason="the attacker may have made more users, keys, roles or instances before the cut: "
               "anything new means re-running `awsrespond contain plan`",
    )
