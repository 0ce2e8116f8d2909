"""Phase (a): copying the trail's objects and LookupEvents into the case, restarting a trail, GuardDuty."""

from __future__ import annotations

import gzip
import json
import random
import stat
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.contain.actions.base import ActionContext, get_action, matches
from awsrespond.contain.actions.logs import TRAIL_DIR, local_trail_path
from awsrespond.contain.model import Phase, Step, Target
from awsrespond.contain.planner.builder import PlanBuilder, PlanContext, Subject, Treatment, recipes
from awsrespond.contain.planner.recipes.logs import plan_preserve
from awsrespond.findings import Classification, Finding, ResourceRef, Severity
from awsrespond.timeutil import iso, now_utc
from tests.contain_support import ACCOUNT, CallLog, make_context, make_factory, make_step, run_step, undo_step

REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "eu-central-1", "us-west-2"]
TRAIL = "AWS::CloudTrail::Trail"
DETECTOR = "AWS::GuardDuty::Detector"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _name(rng: random.Random, stem: str) -> str:
    return f"{stem}-{rng.randrange(16**6):06x}"


def _log_key(folder: str, region: str, day: datetime, rng: random.Random) -> str:
    stamp = day.strftime("%Y%m%dT%H%MZ")
    return (f"{folder}CloudTrail/{region}/{day:%Y/%m/%d}/{ACCOUNT}_CloudTrail_{region}_{stamp}_"
            f"{rng.randrange(16**8):08x}.json.gz")


def _body(rng: random.Random) -> bytes:
    records = [{"eventID": f"{rng.randrange(16**12):012x}", "eventName": "DescribeInstances"}
               for _ in range(rng.randint(1, 4))]
    return gzip.compress(json.dumps({"Records": records}).encode(), mtime=rng.randrange(10**6))


class Bucket:
    """A trail bucket in account or organization layout, with logs inside and outside the window."""

    def __init__(self, factory: ClientFactory, rng: random.Random, region: str) -> None:
        self.s3 = factory.client("s3", region)
        self.name = _name(rng, "trail-logs")
        self.prefix = rng.choice(["", "cloudtrail", "org/logs"])
        kwargs: dict[str, Any] = {} if region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": region}}
        self.s3.create_bucket(Bucket=self.name, **kwargs)
        logs = f"{self.prefix}/AWSLogs/" if self.prefix else "AWSLogs/"
        self.organization = rng.random() < 0.5
        self.folder = f"{logs}o-{rng.randrange(16**10):010x}/{ACCOUNT}/" if self.organization else f"{logs}{ACCOUNT}/"
        self.other_account = f"{logs}{rng.randrange(10**11, 10**12)}/"
        self.wanted: dict[str, bytes] = {}
        self.unwanted: list[str] = []

    def put(self, key: str, body: bytes, *, wanted: bool) -> None:
        self.s3.put_object(Bucket=self.name, Key=key, Body=body)
        (self.wanted.__setitem__(key, body) if wanted else self.unwanted.append(key))


def _seed_logs(factory: ClientFactory, rng: random.Random, since: datetime) -> tuple[Bucket, list[str]]:
    home, other = rng.sample(REGIONS, 2)
    bucket = Bucket(factory, rng, home)
    now = now_utc()
    inside = [since - timedelta(days=1), since, since + (now - since) / 2, now - timedelta(minutes=5)]
    outside = [since - timedelta(days=2), since - timedelta(days=rng.randint(3, 40))]
    for day in inside:
        for region in (home, other):
            bucket.put(_log_key(bucket.folder, region, day, rng), _body(rng), wanted=True)
    for day in outside:
        bucket.put(_log_key(bucket.folder, home, day, rng), _body(rng), wanted=False)
    # Another account's logs in the same bucket, and a digest file: neither is this copy's business.
    bucket.put(_log_key(bucket.other_account, home, since, rng), _body(rng), wanted=False)
    digest = f"{bucket.folder}CloudTrail-Digest/{home}/{since:%Y/%m/%d}/{ACCOUNT}_digest.json.gz"
    bucket.put(digest, _body(rng), wanted=False)
    return bucket, [home, other]


def _copy_step(bucket: Bucket, region: str, since: datetime) -> Step:
    arn = f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{bucket.name}"
    return make_step("logs.copy-trail-objects", Target(type=TRAIL, id=arn, region=region, arn=arn),
                     expect={"copied": False}, post={"copied": True}, phase=Phase.PRESERVE,
                     params={"bucket": bucket.name, "prefix": bucket.prefix, "since": iso(since), "until": None,
                             "account_id": ACCOUNT})


def _deny_get(client: Any, key: str) -> Any:
    def handler(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key") == key:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied (kms:Decrypt)"}},
                              "GetObject")

    client.meta.events.register("before-parameter-build.s3.GetObject", handler)
    return handler


@pytest.mark.parametrize("seed", [3, 17, 41])
def test_copy_takes_the_window_and_the_day_before_byte_for_byte_and_resumes(aws: None, tmp_path: Path,
                                                                            seed: int) -> None:
    rng = random.Random(seed)
    factory = make_factory()
    since = now_utc() - timedelta(days=rng.randint(2, 6), hours=rng.randint(0, 20))
    bucket, (home, _) = _seed_logs(factory, rng, since)
    ctx = make_context(tmp_path, factory)
    ctx.extra["copy_workers"] = rng.choice([1, 4])
    step = _copy_step(bucket, home, since)

    result = run_step(ctx, step)
    copied = sorted(p.relative_to(ctx.case.root / TRAIL_DIR / bucket.name).as_posix()
                    for p in (ctx.case.root / TRAIL_DIR / bucket.name).rglob("*") if p.is_file())
    assert copied == sorted(bucket.wanted)
    for key, body in bucket.wanted.items():
        path = ctx.case.root / TRAIL_DIR / bucket.name / key
        assert path.read_bytes() == body  # no re-compression
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    manifest = json.loads((ctx.case.root / TRAIL_DIR / "manifest.json").read_text())
    assert set(manifest["objects"]) == {f"s3://{bucket.name}/{k}" for k in bucket.wanted}
    entry = manifest["objects"][f"s3://{bucket.name}/{sorted(bucket.wanted)[0]}"]
    assert entry["size"] == len(bucket.wanted[sorted(bucket.wanted)[0]]) and len(entry["sha256"]) == 64
    assert entry["etag"]
    assert result["fetched"] == len(bucket.wanted) and not result["unreadable"]

    log = CallLog(factory)
    log.attach(factory.client("s3", home))
    again = get_action(step.action).apply(ctx, step)
    assert again["fetched"] == 0 and again["already_in_case"] == len(bucket.wanted)
    assert "GetObject" not in log.operations("s3", writes_only=False)


def test_an_unreadable_object_is_named_by_url_the_rest_is_copied_and_the_step_does_not_verify(
        aws: None, tmp_path: Path) -> None:
    rng = random.Random(5)
    factory = make_factory()
    since = now_utc() - timedelta(days=3)
    bucket, (home, _) = _seed_logs(factory, rng, since)
    ctx = make_context(tmp_path, factory)
    step = _copy_step(bucket, home, since)
    impl = get_action(step.action)
    bad = rng.choice(sorted(bucket.wanted))
    client = factory.client("s3", home)
    handler = _deny_get(client, bad)

    result = impl.apply(ctx, step)
    assert [u["url"] for u in result["unreadable"]] == [f"s3://{bucket.name}/{bad}"]
    assert "AccessDenied" in result["unreadable"][0]["error"]
    assert result["fetched"] == len(bucket.wanted) - 1
    ok, state = impl.verify(ctx, step, result)
    assert not ok and state["unreadable"] == [f"s3://{bucket.name}/{bad}"] and state["copied"] is False

    # Readable again (the responder got kms:Decrypt): a retry fetches only that object.
    client.meta.events.unregister("before-parameter-build.s3.GetObject", handler)
    log = CallLog(factory)
    log.attach(client)
    retry = impl.apply(ctx, step)
    gets = [params["Key"] for svc, op, params in log.calls if op == "GetObject"]
    assert gets == [bad] and not retry["unreadable"]
    assert impl.verify(ctx, step, retry)[0]


def test_verify_rehashes_the_copied_files(aws: None, tmp_path: Path) -> None:
    rng = random.Random(8)
    factory = make_factory()
    since = now_utc() - timedelta(days=2)
    bucket, (home, _) = _seed_logs(factory, rng, since)
    ctx = make_context(tmp_path, factory)
    step = _copy_step(bucket, home, since)
    impl = get_action(step.action)
    result = run_step(ctx, step)
    victim = ctx.case.root / TRAIL_DIR / bucket.name / rng.choice(sorted(bucket.wanted))
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF  # same size, different bytes
    victim.write_bytes(bytes(data))
    ok, state = impl.verify(ctx, step, result)
    assert not ok and len(state["hash_mismatch"]) == 1


# -- LookupEvents --------------------------------------------------------------------------------


class CountingBucket:
    def __init__(self) -> None:
        self.taken = 0

    def acquire(self) -> None:
        self.taken += 1


def _summary(rng: random.Random, region: str, *, pretty: bool = False) -> dict[str, Any]:
    record = {"eventID": f"{rng.randrange(16**12):012x}", "eventName": rng.choice(["RunInstances", "CreateUser"]),
              "awsRegion": region, "eventTime": "2026-11-20T10:00:00Z"}
    text = json.dumps(record, indent=2 if pretty else None)
    return {"EventId": record["eventID"], "EventName": record["eventName"], "CloudTrailEvent": text}


@pytest.mark.parametrize("seed", [2, 9])
def test_lookup_events_are_saved_page_by_page_paced_and_verified(aws: None, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    factory = make_factory()
    ctx = make_context(tmp_path, factory)
    now = now_utc().replace(microsecond=0)
    ctx.clock = lambda: now
    pace = CountingBucket()
    ctx.extra["lookup_bucket"] = pace
    since = now - timedelta(days=rng.randint(1, 30))
    first = [_summary(rng, region) for _ in range(rng.randint(1, 5))]
    second = [_summary(rng, region, pretty=True), {"EventId": "no-body"}, _summary(rng, region)]
    stub = Stubber(factory.client("cloudtrail", region))
    expected = {"StartTime": since, "EndTime": now, "MaxResults": 50}
    stub.add_response("lookup_events", {"Events": first, "NextToken": "page-2"}, expected)
    stub.add_response("lookup_events", {"Events": second}, {**expected, "NextToken": "page-2"})
    stub.activate()
    step = make_step("logs.save-lookup-events", Target(type=TRAIL, id="lookup-events", region=region),
                     expect={"saved": False}, post={"saved": True}, params={"since": iso(since)},
                     phase=Phase.PRESERVE)

    result = run_step(ctx, step)
    stub.assert_no_pending_responses()
    assert pace.taken == 2 and result["pages"] == 2 and result["events"] == len(first) + 2
    assert result["skipped"] == 1
    path = ctx.case.root / "logs" / "lookup" / f"{region}.jsonl.gz"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    assert [json.loads(line)["eventID"] for line in lines] == [
        json.loads(s["CloudTrailEvent"])["eventID"] for s in [*first, second[0], second[2]]]
    assert lines[0] == first[0]["CloudTrailEvent"]  # as AWS gave it

    impl = get_action(step.action)
    path.write_bytes(b"x" * path.stat().st_size)  # same size, other bytes
    ok, state = impl.verify(ctx, step, result)
    assert not ok and state["hash_mismatch"]


def test_lookup_without_since_reads_ninety_days(aws: None, tmp_path: Path) -> None:
    factory = make_factory()
    ctx = make_context(tmp_path, factory)
    now = now_utc().replace(microsecond=0)
    ctx.clock = lambda: now
    ctx.extra["lookup_bucket"] = CountingBucket()
    stub = Stubber(factory.client("cloudtrail", "eu-north-1"))
    stub.add_response("lookup_events", {"Events": []},
                      {"StartTime": now - timedelta(days=90), "EndTime": now, "MaxResults": 50})
    stub.activate()
    step = make_step("logs.save-lookup-events", Target(type=TRAIL, id="lookup-events", region="eu-north-1"),
                     expect={"saved": False}, post={"saved": True}, params={"since": None})
    assert run_step(ctx, step)["events"] == 0
    stub.assert_no_pending_responses()


# -- a stopped trail, a deleted detector ---------------------------------------------------------


def _trail(factory: ClientFactory, rng: random.Random, region: str, *, logging: bool) -> tuple[str, str, str]:
    bucket = _name(rng, "ct")
    kwargs: dict[str, Any] = {} if region == "us-east-1" else {
        "CreateBucketConfiguration": {"LocationConstraint": region}}
    factory.client("s3", region).create_bucket(Bucket=bucket, **kwargs)
    name = _name(rng, "org-trail")
    ct = factory.client("cloudtrail", region)
    arn = ct.create_trail(Name=name, S3BucketName=bucket)["TrailARN"]
    ct.start_logging(Name=name)
    if not logging:
        ct.stop_logging(Name=name)
    return name, arn, bucket


@pytest.mark.parametrize("seed", [1, 6])
def test_start_logging_applies_verifies_and_undoes(aws: None, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    factory = make_factory()
    name, arn, _ = _trail(factory, rng, region, logging=False)
    ctx = make_context(tmp_path, factory)
    trail_id = rng.choice([name, arn])
    step = make_step("cloudtrail.start-logging", Target(type=TRAIL, id=trail_id, region=region),
                     expect={"is_logging": False}, post={"is_logging": True}, phase=Phase.PRESERVE)
    assert step.reversible and not step.cuts_attacker_access and "blinds" in step.undo
    result = run_step(ctx, step)
    assert result == {"was_logging": False}
    ct = factory.client("cloudtrail", region)
    assert ct.get_trail_status(Name=name)["IsLogging"] is True
    log = CallLog(factory)
    log.attach(ct)
    undo_step(ctx, step, result)
    assert log.operations("cloudtrail") == ["StopLogging"]
    assert ct.get_trail_status(Name=name)["IsLogging"] is False


def test_guardduty_detector_is_created_tagged_and_undo_deletes_only_it(aws: None, tmp_path: Path) -> None:
    rng = random.Random(12)
    region = rng.choice(REGIONS)
    factory = make_factory()
    ctx = make_context(tmp_path, factory)
    old_id = f"{rng.randrange(16**32):032x}"
    step = make_step("guardduty.create-detector", Target(type=DETECTOR, id=old_id, region=region),
                     expect={"detector": False}, post={"detector": True}, phase=Phase.PRESERVE)
    impl = get_action(step.action)
    assert impl.reconcile(ctx, step) is None
    result = run_step(ctx, step)
    gd = factory.client("guardduty", region)
    assert gd.list_detectors()["DetectorIds"] == [result["detector_id"]] and result["replaces"] == old_id
    tags = gd.get_detector(DetectorId=result["detector_id"])["Tags"]
    assert tags["awsrespond:case"] == ctx.plan.case_id and tags["awsrespond:step"] == step.id
    reconciled = impl.reconcile(ctx, step)
    assert reconciled is not None and reconciled["detector_id"] == result["detector_id"]
    undo_step(ctx, step, result)
    assert gd.list_detectors()["DetectorIds"] == []


def test_a_disabled_detector_is_enabled_and_undo_restores_its_state(aws: None, tmp_path: Path) -> None:
    region = random.Random(4).choice(REGIONS)
    factory = make_factory()
    gd = factory.client("guardduty", region)
    detector_id = gd.create_detector(Enable=False)["DetectorId"]
    ctx = make_context(tmp_path, factory)
    step = make_step("guardduty.enable-detector", Target(type=DETECTOR, id=detector_id, region=region),
                     expect={"detector": False}, post={"detector": True}, phase=Phase.PRESERVE)
    result = run_step(ctx, step)
    assert result["previous_status"] == "DISABLED"
    assert gd.get_detector(DetectorId=detector_id)["Status"] == "ENABLED"
    undo_step(ctx, step, result)
    assert gd.get_detector(DetectorId=detector_id)["Status"] == "DISABLED"


# -- recipes -------------------------------------------------------------------------------------


def _finding(rule: str, rtype: str, rid: str, region: str, classification: Classification,
             details: dict[str, Any] | None = None) -> Finding:
    return Finding(id=f"f-{rule}-{rid[-6:]}", rule=rule, title=rule, severity=Severity.HIGH,
                   classification=classification, resource=ResourceRef(type=rtype, id=rid, region=region),
                   details=details or {})


def _trail_item(name: str, arn: str, region: str, bucket: str, *, logging: bool) -> dict[str, Any]:
    return {"type": TRAIL, "id": arn, "region": region, "arn": arn, "name": name,
            "data": {"name": name, "home_region": region, "s3_bucket": bucket, "s3_key_prefix": None,
                     "is_logging": logging, "owner_account_id": ACCOUNT}}


def _pctx(factory: ClientFactory, *, inventory: dict[str, list[dict[str, Any]]] | None = None,
          subjects: list[Subject] | None = None, **options: Any) -> PlanContext:
    return PlanContext(factory=factory, account_id=ACCOUNT, partition="aws", caller=None, case_id="case-x",
                       triage={"inventory": inventory or {}}, subjects=subjects or [], options=options)


@pytest.mark.parametrize("seed", [0, 21])
def test_trail_recipe_restarts_a_stopped_trail_found_by_triage_arn_or_hunt_name(aws: None, seed: int) -> None:
    rng = random.Random(seed)
    region = rng.choice(REGIONS)
    factory = make_factory()
    name, arn, bucket = _trail(factory, rng, region, logging=False)
    triage = Subject(Target(type=TRAIL, id=arn, region=region, arn=arn), Treatment.QUARANTINE,
                     [_finding("cloudtrail-stopped", TRAIL, arn, region, Classification.SUSPECT)])
    hunt = Subject(Target(type=TRAIL, id=name, region=region), Treatment.NEUTRALISE,
                   [_finding("hunt-changed-by-attacker", TRAIL, name, region, Classification.ATTACKER_USED,
                             {"event_name": "StopLogging"})])
    with_inventory = rng.random() < 0.5
    inventory = {TRAIL: [_trail_item(name, arn, region, bucket, logging=False)]} if with_inventory else {}
    pctx = _pctx(factory, inventory=inventory, subjects=[triage, hunt])
    builder = PlanBuilder()
    recipe = recipes()[TRAIL]
    recipe(pctx, builder, hunt)
    assert [(s.action, s.target.id, s.target.region) for s in builder.steps] == [
        ("cloudtrail.start-logging", arn, region)]
    recipe(pctx, builder, triage)  # the same trail by its ARN: the same step
    [step] = builder.steps
    assert step.phase is Phase.PRESERVE and step.expect == {"is_logging": False} and step.post == {"is_logging": True}
    assert set(step.why) == {triage.findings[0].id, hunt.findings[0].id}
    assert not builder.not_planned


def test_trail_recipe_plans_nothing_for_a_trail_already_logging(aws: None) -> None:
    rng = random.Random(30)
    region = rng.choice(REGIONS)
    factory = make_factory()
    name, _, _ = _trail(factory, rng, region, logging=True)
    subject = Subject(Target(type=TRAIL, id=name, region=region), Treatment.NEUTRALISE,
                      [_finding("hunt-changed-by-attacker", TRAIL, name, region, Classification.ATTACKER_USED,
                                {"event_name": "StopLogging"})])
    builder = PlanBuilder()
    recipes()[TRAIL](_pctx(factory, subjects=[subject]), builder, subject)
    assert not builder.steps and "logging again" in builder.not_planned[0].reason


def test_guardduty_off_posture_is_left_to_harden(aws: None) -> None:
    factory = make_factory()
    subject = Subject(Target(type=DETECTOR, id="regions-without-guardduty", region="global"), Treatment.QUARANTINE,
                      [_finding("guardduty-off", DETECTOR, "regions-without-guardduty", "global",
                                Classification.SUSPECT, {"regions": ["eu-west-1"]})])
    builder = PlanBuilder()
    recipes()[DETECTOR](_pctx(factory, subjects=[subject]), builder, subject)
    assert not builder.steps and "harden" in builder.not_planned[0].reason


@pytest.mark.parametrize("disabled", [False, True])
def test_guardduty_recipe_restores_a_detector_the_attacker_deleted_or_disabled(aws: None, disabled: bool) -> None:
    rng = random.Random(50 + disabled)
    region = rng.choice(REGIONS)
    factory = make_factory()
    gd = factory.client("guardduty", region)
    old = f"{rng.randrange(16**32):032x}"
    existing = gd.create_detector(Enable=False)["DetectorId"] if disabled else None
    event = "UpdateDetector" if disabled else "DeleteDetector"
    subject = Subject(Target(type=DETECTOR, id=existing or old, region=region), Treatment.NEUTRALISE,
                      [_finding("hunt-changed-by-attacker", DETECTOR, existing or old, region,
                                Classification.ATTACKER_USED, {"event_name": event})])
    builder = PlanBuilder()
    recipes()[DETECTOR](_pctx(factory, subjects=[subject]), builder, subject)
    [step] = builder.steps
    assert step.action == ("guardduty.enable-detector" if disabled else "guardduty.create-detector")
    assert step.target.region == region and step.phase is Phase.PRESERVE and step.post == {"detector": True}


def test_plan_preserve_copies_readable_trails_saves_lookup_and_restarts(aws: None, tmp_path: Path) -> None:
    rng = random.Random(77)
    factory = make_factory()
    home = rng.choice(REGIONS[1:])
    name, arn, bucket = _trail(factory, rng, home, logging=False)
    gone = _trail_item("lost", f"arn:aws:cloudtrail:{home}:{ACCOUNT}:trail/lost", home, "no-such-bucket-x1",
                       logging=True)
    attacker_region = rng.choice([r for r in REGIONS if r not in (home, "us-east-1")])
    instance = Subject(Target(type="AWS::EC2::Instance", id="i-0abc", region=attacker_region), Treatment.REMOVE)
    window = now_utc() - timedelta(days=2)
    pctx = _pctx(factory, inventory={TRAIL: [_trail_item(name, arn, home, bucket, logging=False), gone]},
                 subjects=[instance])
    pctx.window_start = window
    builder = PlanBuilder()
    ids = plan_preserve(pctx, builder)
    steps = {s.id: s for s in builder.steps}
    assert set(ids) == set(steps)
    actions = sorted((s.action, s.target.id, s.target.region) for s in builder.steps)
    assert ("cloudtrail.start-logging", arn, home) in actions
    [copy] = [s for s in builder.steps if s.action == "logs.copy-trail-objects"]
    assert copy.params == {"bucket": bucket, "prefix": "", "since": iso(window), "until": None,
                           "account_id": ACCOUNT}
    assert any("no-such-bucket-x1" in note and "cannot be read" in note for note in builder.notes)
    lookups = sorted(s.target.region for s in builder.steps if s.action == "logs.save-lookup-events")
    assert lookups == sorted({"us-east-1", home, attacker_region})

    # The planned copy runs as planned.
    ctx = make_context(tmp_path, factory, steps=list(builder.steps))
    result = run_step(ctx, copy)
    assert result["listed"] == 0

    only = _pctx(factory, lookup_regions=["ca-central-1"])
    builder2 = PlanBuilder()
    plan_preserve(only, builder2)
    assert [s.target.region for s in builder2.steps] == ["ca-central-1"]
    assert any("90 days" in note for note in builder2.notes)


def test_observe_says_copied_only_after_a_copy(aws: None, tmp_path: Path) -> None:
    rng = random.Random(64)
    factory = make_factory()
    since = now_utc() - timedelta(days=1)
    bucket, (home, _) = _seed_logs(factory, rng, since)
    ctx: ActionContext = make_context(tmp_path, factory)
    step = _copy_step(bucket, home, since)
    impl = get_action(step.action)
    assert impl.observe(ctx, step) == {"copied": False}
    run_step(ctx, step)
    assert matches(impl.observe(ctx, step), step.post)
    # A log delivered after the copy is not part of it: the step stays done.
    time.sleep(1.1)  # S3 times have one-second resolution
    bucket.put(_log_key(bucket.folder, home, now_utc(), rng), _body(rng), wanted=False)
    assert matches(impl.observe(ctx, step), step.post)


@pytest.mark.parametrize("key", ["AWSLogs/1/CloudTrail/r/2026/11/20/../../../../../../../x.json.gz",
                                 "/AWSLogs/x.json.gz", "AWSLogs//x.json.gz", "AWSLogs/./x.json.gz"])
def test_a_key_that_would_leave_the_case_is_not_a_path(key: str) -> None:
    assert local_trail_path("trail-logs-1", key) is None


def test_a_delivery_key_maps_under_its_bucket() -> None:
    key = f"AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1/2026/11/20/{ACCOUNT}_CloudTrail_eu-west-1_x.json.gz"
    assert local_trail_path("trail-logs-1", key) == TRAIL_DIR / "trail-logs-1" / key
    assert local_trail_path("..", key) is None
