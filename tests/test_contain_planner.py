"""The planner's own decisions: treatments from findings, filters, ordering, numbering."""

from __future__ import annotations

import random

from awsrespond.contain.model import Phase, Step, Target
from awsrespond.contain.planner.builder import PlanBuilder, Treatment
from awsrespond.contain.planner.order import apply_ordering
from awsrespond.contain.planner.plan import _filter, _renumber
from awsrespond.contain.planner.subjects import derive_subjects
from awsrespond.findings import Classification, Finding, ResourceRef, Severity, finding_id


def _finding(rule: str, rtype: str, rid: str, classification: Classification, region: str = "global") -> Finding:
    return Finding(id=finding_id(rule, rtype, rid, region), rule=rule, title=rule, severity=Severity.HIGH,
                   classification=classification, resource=ResourceRef(type=rtype, id=rid, region=region))


def test_treatments_follow_the_three_kinds_and_the_flag() -> None:
    rng = random.Random(5)
    key_new, key_used, user_new = (f"AKIA{rng.randrange(10**15):016d}", f"AKIA{rng.randrange(10**15):016d}",
                                   f"u-{rng.randrange(10**6)}")
    findings = [
        _finding("iam-access-key-new", "AWS::IAM::AccessKey", key_new, Classification.SUSPECT),
        _finding("iam-access-key-used-in-window", "AWS::IAM::AccessKey", key_new, Classification.SUSPECT),
        _finding("iam-access-key-used-in-window", "AWS::IAM::AccessKey", key_used, Classification.SUSPECT),
        _finding("aws-new-source-ip", "AWS::IAM::AccessKey", key_used, Classification.SUSPECT),
        _finding("iam-user-new", "AWS::IAM::User", user_new, Classification.SUSPECT),
        _finding("hunt-created-by-attacker", "AWS::Lambda::Function", "fn", Classification.ATTACKER_CREATED,
                 "eu-west-3"),
        _finding("hunt-credential-used-by-attacker", "AWS::IAM::User", "ci", Classification.ATTACKER_USED),
        _finding("account-root-no-mfa", "AWS::IAM::Account", "1", Classification.POSTURE),
        _finding("region-unusual", "AWS::EC2::Region", "eu-west-3", Classification.SUSPECT, "eu-west-3"),
    ]
    plain, left = derive_subjects(findings, suspect_as_attacker=False)
    by_id = {s.target.id: s.treatment for s in plain}
    assert by_id == {key_new: Treatment.QUARANTINE, key_used: Treatment.QUARANTINE,
                     user_new: Treatment.QUARANTINE, "fn": Treatment.REMOVE, "ci": Treatment.NEUTRALISE}
    assert {f.rule for f in left} == {"account-root-no-mfa", "region-unusual"}
    promoted, _ = derive_subjects(findings, suspect_as_attacker=True)
    by_id = {s.target.id: s.treatment for s in promoted}
    # New things become the attacker's; a key that was only used is replaced, never deleted.
    assert by_id[key_new] is Treatment.REMOVE and by_id[user_new] is Treatment.REMOVE
    assert by_id[key_used] is Treatment.NEUTRALISE
    assert {s.target.id: s.finding_ids for s in promoted}[key_new] == sorted(
        {f.id for f in findings if f.resource.id == key_new})


def _step(step_id: str, action: str, region: str, phase: Phase = Phase.DESTROY, after: tuple[str, ...] = ()) -> Step:
    return Step(id=step_id, phase=phase, action=action, target=Target(type="T", id=step_id, region=region),
                reversible=False, permissions=["x:Y"], expect={}, post={"done": True}, after=list(after))


def test_ordering_rules_link_within_region_and_phase_only() -> None:
    steps = [_step("s001", "ec2.terminate-instance", "eu-west-1"), _step("s002", "ec2.terminate-instance", "us-east-2"),
             _step("s003", "ec2.cancel-spot-request", "eu-west-1"),
             _step("s004", "ec2.cancel-spot-request", "eu-west-1", phase=Phase.CUT)]
    apply_ordering(steps, [("ec2.terminate-instance", "ec2.cancel-spot-request", "region")])
    assert steps[0].after == ["s003"] and steps[1].after == []


def test_renumbering_runs_in_dependency_order_and_filtering_drops_dependants() -> None:
    steps = [_step("s001", "ec2.terminate-instance", "r", after=("s003",)),
             _step("s002", "iam.delete-user", "global"),
             _step("s003", "ec2.snapshot-volume", "r", phase=Phase.DESTROY),
             _step("s004", "iam.deactivate-access-key", "global", phase=Phase.CUT)]
    ordered = _renumber(steps)
    assert [s.action for s in ordered] == ["iam.deactivate-access-key", "iam.delete-user", "ec2.snapshot-volume",
                                           "ec2.terminate-instance"]
    assert [s.id for s in ordered] == ["s001", "s002", "s003", "s004"] and ordered[3].after == ["s003"]
    builder = PlanBuilder()
    kept = _filter(ordered, [], ["ec2.snapshot-*"], builder)
    assert [s.action for s in kept] == ["iam.deactivate-access-key", "iam.delete-user"]
    assert any("terminate-instance" in n for n in builder.notes)
    assert {n.reason for n in builder.not_planned} == {f"{a} filtered out by --only/--exclude" for a in (
        "ec2.snapshot-volume", "ec2.terminate-instance")}
    only = _filter(ordered, ["iam.*"], [], PlanBuilder())
    assert [s.action for s in only] == ["iam.deactivate-access-key", "iam.delete-user"]
