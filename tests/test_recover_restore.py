"""``recover restore``: a volume the seeded attacker deleted comes back from its snapshot taken before the
incident (shipped and generated scenarios, after triage + hunt), S3 versions overwritten or deleted in the
window are made current again, and AWS Backup recovery points (a Stubber: moto has none) are candidates."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity, whoami
from awsrespond.case.workspace import Case
from awsrespond.cli.app import main
from awsrespond.contain.journal import StepStatus
from awsrespond.contain.service import applied_plan, undo
from awsrespond.emulator import EmulatorServer, Scenario, generate_scenario, list_scenarios, load_scenario, seed
from awsrespond.emulator.seeding.ground_truth import SeededScenario
from awsrespond.hunt.run import HuntOptions, run_hunt
from awsrespond.recover.actions.restore import TAG_REPLACES, TAG_RESTORED_FROM
from awsrespond.recover.changes import apply_changes
from awsrespond.recover.restore import CREATE_VOLUME, RESTORE_OBJECT, RestoreDocument, _Planner, plan_restore
from awsrespond.recover.restore_events import OBJECT, Destruction
from awsrespond.recover.restore_sources import recovery_points, volume_snapshots
from awsrespond.triage import TriageOptions, run_triage

GENERATED_SEED = next(s for s in range(4100, 4200) if generate_scenario(s).attacker.delete_volumes)
CASES: list[tuple[str, Scenario]] = [
    (list_scenarios()[0], load_scenario(list_scenarios()[0])),
    (f"random:{GENERATED_SEED}", generate_scenario(GENERATED_SEED)),
]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


def _case(server: EmulatorServer, seeded: SeededScenario, root: Path, with_triage: bool) -> tuple[
        Case, ClientFactory, CallerIdentity]:
    factory = server.factory()
    identity = whoami(factory)
    case = Case.create(root, account_id=identity.account_id, caller_arn=identity.arn)
    if with_triage:
        run_triage(factory, identity, case, TriageOptions(since=seeded.incident_start))
    run_hunt(HuntOptions(sources=[f"s3://{seeded.trail_bucket}/"], since=seeded.incident_start, case_dir=case.root,
                         account_id=identity.account_id, caller_arn=identity.arn), factory)
    return case, factory, identity


def _tags(volume: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in volume.get("Tags") or []}


def _cli(case: Case, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, RestoreDocument]:
    capsys.readouterr()
    code = main(["recover", "restore", "--case", str(case.root), "--format", "json", "--quiet", *extra])
    return code, RestoreDocument.model_validate_json(capsys.readouterr().out)


@pytest.mark.parametrize(("label", "scenario"), CASES, ids=[c[0] for c in CASES])
def test_restores_the_volume_the_attacker_deleted(server: EmulatorServer, tmp_path: Path, label: str,
                                                  scenario: Scenario, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Triage + hunt (hunt alone for the generated seed), the plan, the command's dry run, apply, a second
    plan that finds the work done, undo; then with the snapshot gone the volume is reported lost (exit 1)."""
    server.reset()
    seeded = seed(server, scenario)
    [destroyed] = seeded.destroyed
    spec = scenario.baseline.data_volume
    assert spec is not None and destroyed.restore_from
    case, factory, identity = _case(server, seeded, tmp_path / "case", with_triage=not label.startswith("random"))
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    ec2 = factory.client("ec2", destroyed.region)

    def restored() -> list[dict[str, Any]]:
        volumes = ec2.describe_volumes(Filters=[{"Name": f"tag:{TAG_REPLACES}", "Values": [destroyed.id]}])
        return [v for v in volumes["Volumes"] if v["State"] not in ("deleting", "deleted")]

    code, shown = _cli(case, capsys, "--dry-run")
    assert code == 0 and shown.applied is None and not restored(), "a dry run changed something"
    assert [s.action for s in shown.steps] == [CREATE_VOLUME]
    assert json.loads((case.root / "recovery" / "restore.json").read_text())["candidates"]

    document, changes = plan_restore(case, factory, identity)
    assert not document.not_restorable, document.not_restorable
    [candidate] = [c for c in document.candidates if c.id == destroyed.id]
    assert candidate.event_name == "DeleteVolume" and candidate.region == destroyed.region
    assert candidate.source_ip in seeded.attacker_ips and seeded.compromised_user in (candidate.by or "")
    assert candidate.restore_from is not None and candidate.restore_from.id == destroyed.restore_from
    # "Before the window" is judged against the case's window; seeding took the snapshot before T.
    assert document.window_since is not None and document.window_since <= seeded.incident_start
    assert candidate.restore_from.created is not None and candidate.restore_from.created < document.window_since
    assert any("backup:ListRecoveryPointsByResource" in gap for gap in document.coverage)  # moto: none
    [step] = [s for s in changes.steps if s.id == candidate.step]
    assert step.action == CREATE_VOLUME and step.target.id == destroyed.id
    assert step.params["availability_zone"] == destroyed.availability_zone
    assert step.params["size"] == spec.size_gib and step.params["volume_type"] == spec.volume_type
    assert step.params["tags"]["Name"] == spec.name
    assert spec.iops is None or step.params["iops"] == spec.iops

    plan = changes.to_plan(case, identity)
    result = apply_changes(case, factory, identity, plan, confirm=identity.account_id, ask=None, verify_delay=0)
    assert result.ok, [(s.id, s.status, s.message) for s in result.steps]
    [outcome] = [s for s in result.steps if s.id == step.id]
    [volume] = restored()
    tags = _tags(volume)
    assert volume["VolumeId"] == outcome.result["volume"] and volume["SnapshotId"] == destroyed.restore_from
    assert volume["AvailabilityZone"] == destroyed.availability_zone and volume["Size"] == spec.size_gib
    assert tags["awsrespond:case"] == case.case_id and tags[TAG_RESTORED_FROM] == destroyed.restore_from
    assert tags["Name"] == spec.name

    again, again_changes = plan_restore(case, factory, identity)  # the work is done: no second volume
    assert not again_changes.steps and any(volume["VolumeId"] in note for note in again.notes)

    undone = undo(case, factory, identity, applied_plan(case, plan.plan_id), step_ids=[step.id], all_reversible=False,
                  reopen_attacker_access=False, confirm=identity.account_id, ask=None, verify_delay=0)
    assert undone.ok, undone
    assert not restored()

    ec2.delete_snapshot(SnapshotId=destroyed.restore_from)
    code, shown = _cli(case, capsys, "--dry-run")
    [lost] = shown.not_restorable
    assert code == 1 and lost.id == destroyed.id and "no completed snapshot" in lost.reason and not shown.steps


@pytest.fixture
def account() -> Iterator[tuple[ClientFactory, random.Random]]:
    rng = random.Random()
    region = rng.choice(["eu-west-3", "ap-south-1", "us-east-2", "sa-east-1", "ca-central-1"])
    with mock_aws():
        yield ClientFactory(session=boto3.Session(region_name=region), max_attempts=2), rng


def test_only_snapshots_from_before_the_window(account: tuple[ClientFactory, random.Random]) -> None:
    factory, rng = account
    region = factory.default_region
    ec2 = factory.client("ec2", region)
    zone = f"{region}{rng.choice('abc')}"
    volume = ec2.create_volume(AvailabilityZone=zone, Size=rng.randint(1, 64))["VolumeId"]
    old = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    older = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]  # same second: either may be "newest"
    time.sleep(1.05)
    window = datetime.now(UTC).replace(microsecond=0)
    time.sleep(0.05)
    inside = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    found = volume_snapshots(factory, region, volume, window)
    assert {s.id for s in found.sources} == {old, older}
    assert [r for r in found.rejected if inside in r and "inside the incident window" in r]


def _planner(factory: ClientFactory, tmp_path: Path) -> tuple[_Planner, Case, CallerIdentity]:
    identity = whoami(factory)
    case = Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)
    return _Planner(case, factory, identity, since=None), case, identity


def _destruction(region: str, bucket: str, key: str, event: str, when: datetime, made: str | None) -> Destruction:
    return Destruction(type=OBJECT, id=f"{bucket}/{key}", region=region, event_name=event, event_id="e-1",
                       time=when, session="session-x", credential="AKIAEXAMPLE", principal="arn:aws:iam::1:user/ci",
                       source_ip="203.0.113.9", details={"bucket": bucket, "key": key, "version_made": made})


def test_s3_versions_restored_and_undone(account: tuple[ClientFactory, random.Random], tmp_path: Path) -> None:
    factory, rng = account
    region = factory.default_region
    s3 = factory.client("s3", region)
    bucket = f"data-{rng.randrange(16**8):08x}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    overwritten, deleted = f"reports/{rng.randrange(10**6)}.csv", f"db/{rng.randrange(10**6)}.dump"
    good = {overwritten: rng.randbytes(40), deleted: rng.randbytes(70)}
    first = {k: s3.put_object(Bucket=bucket, Key=k, Body=v)["VersionId"] for k, v in good.items()}
    when = datetime.now(UTC) + timedelta(seconds=1)
    bad = s3.put_object(Bucket=bucket, Key=overwritten, Body=b"ransom note")["VersionId"]
    s3.delete_object(Bucket=bucket, Key=deleted)

    planner, case, identity = _planner(factory, tmp_path)
    planner.s3_object(_destruction(region, bucket, overwritten, "PutObject", when, bad), {bad})
    planner.s3_object(_destruction(region, bucket, deleted, "DeleteObject", when, None), {bad})
    assert not planner.lost
    by_key = {c.id: c for c in planner.candidates}
    assert by_key[f"{bucket}/{overwritten}"].restore_from.id == first[overwritten]  # type: ignore[union-attr]
    assert by_key[f"{bucket}/{deleted}"].restore_from.id == first[deleted]  # type: ignore[union-attr]
    assert {s.action for s in planner.changes.steps} == {RESTORE_OBJECT}

    plan = planner.changes.to_plan(case, identity)
    result = apply_changes(case, factory, identity, plan, confirm=identity.account_id, ask=None, verify_delay=0)
    assert result.ok and all(s.status is StepStatus.VERIFIED for s in result.steps)
    for key, body in good.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    undone = undo(case, factory, identity, applied_plan(case, plan.plan_id), step_ids=[], all_reversible=True,
                  reopen_attacker_access=False, confirm=identity.account_id, ask=None, verify_delay=0)
    assert undone.ok
    assert s3.get_object(Bucket=bucket, Key=overwritten)["Body"].read() == b"ransom note"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=deleted)


def test_unversioned_bucket_is_not_restorable(account: tuple[ClientFactory, random.Random], tmp_path: Path) -> None:
    factory, rng = account
    region = factory.default_region
    bucket = f"logs-{rng.randrange(16**8):08x}"
    factory.client("s3", region).create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    planner, _, _ = _planner(factory, tmp_path)
    planner.s3_object(_destruction(region, bucket, "k", "DeleteObject", datetime.now(UTC), None), set())
    [lost] = planner.lost
    assert "versioning is never enabled" in lost.reason and not planner.changes.steps


def test_backup_recovery_points(account: tuple[ClientFactory, random.Random]) -> None:
    factory, rng = account
    region = factory.default_region
    arn = f"arn:aws:ec2:{region}:123456789012:volume/vol-{rng.randrange(16**17):017x}"
    window = datetime(2025, 3, rng.randint(2, 27), 12, tzinfo=UTC)
    before_arn = f"arn:aws:ec2:{region}::snapshot/snap-0{rng.randrange(16**16):016x}"
    after_arn = f"arn:aws:ec2:{region}::snapshot/snap-0{rng.randrange(16**16):016x}"

    def point(point_arn: str, created: datetime, status: str) -> dict[str, Any]:
        return {"RecoveryPointArn": point_arn, "CreationDate": created, "Status": status,
                "EncryptionKeyArn": f"arn:aws:kms:{region}:123456789012:key/abc", "BackupSizeBytes": 10,
                "BackupVaultName": "Default", "IsParent": False, "ParentRecoveryPointArn": "",
                "ResourceName": "data", "VaultType": "BACKUP_VAULT"}

    client = factory.client("backup", region)
    with Stubber(client) as stub:
        stub.add_response("list_recovery_points_by_resource", {"RecoveryPoints": [
            point(before_arn, window - timedelta(days=1), "COMPLETED"),
            point(after_arn, window + timedelta(hours=1), "COMPLETED")]}, {"ResourceArn": arn})
        found = recovery_points(factory, region, arn, window)
        stub.add_client_error("list_recovery_points_by_resource", "AccessDeniedException", "not allowed", 400)
        denied = recovery_points(factory, region, arn, window)
    assert [s.id for s in found.sources] == [before_arn] and "start-restore-job" in (found.sources[0].command or "")
    assert any(after_arn in r for r in found.rejected)
    [error] = denied.errors
    assert "backup:ListRecoveryPointsByResource" in error and region in error
    assert "AccessDeniedException" in error and "console.aws.amazon.com/backup" in error
    # moto has no recovery points at all: the runtime names the call and goes on.
    assert recovery_points(factory, region, arn, window).errors


def test_terminated_instance_lists_its_images_without_a_step(account: tuple[ClientFactory, random.Random],
                                                             tmp_path: Path) -> None:
    factory, rng = account
    region = factory.default_region
    ec2 = factory.client("ec2", region)
    base = ec2.describe_images(Owners=["amazon"])["Images"] or []
    image = base[0]["ImageId"] if base else "ami-12c6146b"
    instance_type = rng.choice(["t3.small", "m5.large", "c5.xlarge"])
    [instance] = ec2.run_instances(ImageId=image, InstanceType=instance_type, MinCount=1, MaxCount=1)["Instances"]
    own = ec2.create_image(InstanceId=instance["InstanceId"], Name=f"golden-{rng.randrange(10**6)}")["ImageId"]
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
    planner, _, _ = _planner(factory, tmp_path)
    item = Destruction(type="AWS::EC2::Instance", id=instance["InstanceId"], region=region,
                       event_name="TerminateInstances", event_id="e-2", time=datetime.now(UTC) + timedelta(seconds=2),
                       session="session-x", credential="AKIAEXAMPLE", principal=None, source_ip=None)
    planner.instance(item)
    [candidate] = planner.candidates
    assert candidate.restore_from is None and not planner.changes.steps  # a relaunch is a person's choice
    [ami] = [s for s in candidate.other_sources if s.kind == "ami"]
    assert ami.id == own and f"--instance-type {instance_type}" in (ami.command or "")


def test_text_output_is_inert(capsys: pytest.CaptureFixture[str]) -> None:
    from awsrespond.cli.recover_restore_cmd import render  # noqa: PLC0415
    from awsrespond.cli.ui import OutputFormat, Ui  # noqa: PLC0415
    from awsrespond.recover.restore import NotRestorable, RestoreCandidate  # noqa: PLC0415
    from awsrespond.recover.restore_sources import RestoreSource  # noqa: PLC0415

    hostile = "[bold red]pwned[/bold red]\x1b[2J"
    lost = NotRestorable(type="AWS::S3::Object", id=f"b/{hostile}", region="eu-west-1", event_name="DeleteObject",
                         event_id="e", destroyed_at=datetime.now(UTC), by=hostile, credential="AKIA", source_ip=None,
                         session="s", reason="bucket b versioning is never enabled")
    ami = RestoreSource(kind="ami", id="ami-0abc", created=None, detail="image", command=f"aws ec2 run {hostile}")
    relaunch = RestoreCandidate(**lost.model_dump(exclude={"reason", "checked"}), restore_from=None,
                                other_sources=[ami], note=hostile)
    ui = Ui(OutputFormat.TEXT)
    ui.out.width = 400
    render(ui, RestoreDocument(case="c", window_since=None, candidates=[relaunch], not_restorable=[lost],
                               coverage=[], notes=[]))
    out = capsys.readouterr().out
    assert out.count("[bold red]pwned") >= 4 and "\x1b[2J" not in out and "versioning is never enabled" in out
    assert "by hand: ami ami-0abc" in out and "aws ec2 run [bold red]pwned" in out
