"""The triage judge on synthetic inventories: what is new, what is risky, what is left alone."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from awsrespond.detect.baseline import Baseline
from awsrespond.detect.judge import instance_profile
from awsrespond.detect.policy import analyse_trust, is_admin_document
from awsrespond.detect.triage import judge
from awsrespond.findings import Classification, Finding, Severity
from awsrespond.inventory.base import Inventory, Item

ACCOUNT = "123456789012"
T = datetime(2026, 11, 20, 9, 0, 0, tzinfo=UTC)
BEFORE = T - timedelta(days=40)
AFTER = T + timedelta(hours=2)


def item(rtype: str, rid: str, region: str = "global", created: datetime | None = BEFORE, **data: Any) -> Item:
    return Item(type=rtype, id=rid, region=region, created=created, data=data, arn=f"arn:test:{rid}")


def inventory(*items: Item) -> Inventory:
    inv = Inventory()
    for it in items:
        inv.add(it)
    return inv


def by_resource(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.resource.id, []).append(f)
    return out


def top(findings: list[Finding], rid: str) -> Severity:
    return Severity.max(*(f.severity for f in by_resource(findings)[rid]))


def home(region: str = "ap-northeast-2") -> list[Item]:
    """A legitimate account with instances in its home region, made long before T."""
    return [item("AWS::EC2::Instance", f"i-legit{n}", region, instance_type="m5.large", security_group_ids=["sg-web"])
            for n in range(2)] + [
        item("AWS::EC2::SecurityGroup", "sg-web", region, created=None, group_name="web",
             world_open=[{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr": "0.0.0.0/0"}]),
        item("AWS::CloudTrail::Trail", "trail", region, is_logging=True, is_multi_region=True,
             log_file_validation=True),
        item("AWS::IAM::Account", ACCOUNT, root_mfa_enabled=True),
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_attacker_artefacts_are_medium_or_more_and_legit_ones_below_high(seed: int) -> None:
    rng = random.Random(seed)
    home_region = rng.choice(["ap-northeast-2", "eu-west-1", "us-west-2"])
    odd = rng.sample([r for r in ("sa-east-1", "ap-south-1", "eu-north-1", "ca-central-1") if r != home_region], 2)
    gpu = rng.choice(["p3.2xlarge", "g5.12xlarge", "p4d.24xlarge", "inf2.xlarge"])
    user = f"svc-{rng.randrange(10**6)}"
    legit = [
        *home(home_region),
        item("AWS::IAM::User", "admin-kim", password_enabled=True, mfa_active=True,
             attached_policies=["arn:aws:iam::aws:policy/AdministratorAccess"]),
        item("AWS::IAM::User", "ci-deploy", access_keys=["AKIALEGIT"]),
        item("AWS::IAM::AccessKey", "AKIALEGIT", user="ci-deploy", status="Active",
             last_used_date=(T - timedelta(days=1)).isoformat()),
        item("AWS::IAM::Role", "app-role", trust_policy={"Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
    ]
    attacker = [
        item("AWS::IAM::User", user, created=AFTER, password_enabled=True, access_keys=["AKIAEVIL"],
             attached_policies=["arn:aws:iam::aws:policy/AdministratorAccess"]),
        item("AWS::IAM::AccessKey", "AKIAEVIL", created=AFTER, user=user, status="Active"),
        item("AWS::IAM::Role", "backup-sync", created=AFTER, trust_policy={"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"}, "Action": "sts:AssumeRole"}]}),
        *[item("AWS::EC2::Instance", f"i-evil{n}", region, created=AFTER, instance_type=gpu,
               security_group_ids=["sg-evil"]) for n, region in enumerate(odd)],
        item("AWS::EC2::SecurityGroup", "sg-evil", odd[0], created=None, group_name=f"g-{seed}",
             world_open=[{"protocol": "-1", "from_port": None, "to_port": None, "cidr": "0.0.0.0/0"}]),
        item("AWS::EC2::KeyPair", f"kp-{seed}", home_region, created=AFTER),
        item("AWS::EC2::SpotInstanceRequest", "sir-1", odd[1], created=datetime(2015, 1, 1, tzinfo=UTC),
             type="persistent", state="open", instance_type=gpu),
        item("AWS::Lambda::Function", f"fn-{seed}", home_region, created=AFTER, role="arn:aws:iam::1:role/backup-sync"),
    ]
    findings = judge(inventory(*legit, *attacker), account_id=ACCOUNT, since=T)
    found = by_resource(findings)
    for artefact in attacker:
        assert artefact.id in found, f"{artefact.type} {artefact.id} not reported"
        assert top(findings, artefact.id).at_least(Severity.MEDIUM), artefact.id
    for artefact in legit:
        if artefact.id in found:
            assert not top(findings, artefact.id).at_least(Severity.HIGH), found[artefact.id]
    assert top(findings, user) is Severity.HIGH
    assert any(f.rule == "region-unusual" for f in findings)


def test_since_is_inclusive_at_the_second_aws_reports() -> None:
    since = T + timedelta(milliseconds=700)
    findings = judge(inventory(*home(), item("AWS::IAM::User", "u", created=T)), account_id=ACCOUNT, since=since)
    assert "u" in by_resource(findings)


def test_without_since_or_baseline_nothing_is_called_new() -> None:
    findings = judge(inventory(*home(), item("AWS::IAM::User", "u", created=AFTER)), account_id=ACCOUNT)
    assert "u" not in by_resource(findings)


def test_baseline_makes_unknown_principals_and_types_suspect() -> None:
    baseline = Baseline(users=["alice"], access_key_ids=["AKIAOK"], regions=["eu-west-1"],
                        instance_types=["t3.micro"])
    inv = inventory(
        item("AWS::IAM::User", "alice"), item("AWS::IAM::User", "mallory"),
        item("AWS::IAM::AccessKey", "AKIAOK", user="alice", status="Active"),
        item("AWS::IAM::AccessKey", "AKIANEW", user="alice", status="Active"),
        item("AWS::EC2::Instance", "i-ok", "eu-west-1", instance_type="t3.micro"),
        item("AWS::EC2::Instance", "i-big", "eu-west-1", instance_type="c5.24xlarge"),
        item("AWS::EC2::Instance", "i-far", "sa-east-1", instance_type="t3.micro"),
    )
    found = by_resource(judge(inv, account_id=ACCOUNT, baseline=baseline))
    assert {"mallory", "AKIANEW", "i-big", "i-far"} <= set(found)
    assert not {"alice", "AKIAOK", "i-ok"} & set(found)
    # a new key on a legitimate user is persistence: high
    assert Severity.max(*(f.severity for f in found["AKIANEW"])) is Severity.HIGH


def test_quarantine_policy_is_critical_attacker_used() -> None:
    inv = inventory(item("AWS::IAM::User", "ci", attached_policies=[
        "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"]))
    [finding] = [f for f in judge(inv, account_id=ACCOUNT) if f.rule == "iam-compromised-key-quarantine"]
    assert finding.severity is Severity.CRITICAL
    assert finding.classification is Classification.ATTACKER_USED


def test_known_and_organization_accounts_are_not_outside() -> None:
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["111122223333", "arn:aws:iam::444455556666:root"]},
                            "Action": "sts:AssumeRole"}]}
    inv = inventory(
        item("AWS::IAM::Role", "partner", trust_policy=trust),
        item("AWS::Organizations::Organization", "o-1", accounts=["444455556666"], management_account="444455556666"),
    )
    rules = {f.rule for f in judge(inv, account_id=ACCOUNT, known_accounts=["111122223333"])}
    assert "iam-role-trust-outside" not in rules
    rules = {f.rule for f in judge(inv, account_id=ACCOUNT)}
    assert "iam-role-trust-outside" in rules


def test_default_security_group_is_never_attacker_created() -> None:
    inv = inventory(*home(), item("AWS::EC2::Instance", "i-x", "sa-east-1", created=AFTER, instance_type="g5.xlarge",
                                  security_group_ids=["sg-def"]),
                    item("AWS::EC2::SecurityGroup", "sg-def", "sa-east-1", created=None, group_name="default",
                         world_open=[]))
    assert "sg-def" not in by_resource(judge(inv, account_id=ACCOUNT, since=T))


def test_trail_stopped_in_window_is_critical() -> None:
    inv = inventory(item("AWS::CloudTrail::Trail", "t", "us-east-1", is_logging=False, is_multi_region=True,
                         log_file_validation=True, stop_logging_time=AFTER.isoformat()))
    [finding] = [f for f in judge(inv, account_id=ACCOUNT, since=T) if f.rule == "cloudtrail-stopped"]
    assert finding.severity is Severity.CRITICAL


def test_no_trail_at_all_is_reported() -> None:
    assert any(f.rule == "cloudtrail-none" for f in judge(inventory(), account_id=ACCOUNT))


def test_cost_spike_against_preceding_baseline() -> None:
    days = [{"date": f"2026-11-{d:02d}", "amount": 4.0 + (d % 3) * 0.5} for d in range(1, 20)]
    days += [{"date": "2026-11-20", "amount": 310.0}, {"date": "2026-11-21", "amount": 295.0}]
    usage = item("AWS::CE::CostAndUsage", "last-30-days", daily_total=days,
                 by_service={"Amazon Elastic Compute Cloud - Compute": [{"date": "2026-11-20", "amount": 300.0}]},
                 by_region={"sa-east-1": [{"date": "2026-11-20", "amount": 300.0}]})
    [finding] = [f for f in judge(inventory(usage), account_id=ACCOUNT) if f.rule == "billing-cost-spike"]
    assert finding.details["first_day"] == "2026-11-20"
    assert finding.details["top_regions"][0]["name"] == "sa-east-1"
    flat = item("AWS::CE::CostAndUsage", "last-30-days", daily_total=days[:19])
    assert not [f for f in judge(inventory(flat), account_id=ACCOUNT) if f.rule == "billing-cost-spike"]


def test_finding_ids_are_stable_across_runs() -> None:
    inv = inventory(*home(), item("AWS::IAM::User", "u", created=AFTER))
    first = [f.id for f in judge(inv, account_id=ACCOUNT, since=T)]
    second = [f.id for f in judge(inv, account_id=ACCOUNT, since=T)]
    assert first == second and len(set(first)) == len(first)


@pytest.mark.parametrize(
    ("instance_type", "accelerated", "large"),
    [("p3.2xlarge", True, False), ("g5.48xlarge", True, True), ("m5.large", False, False),
     ("c5.metal", False, True), ("x2iedn.32xlarge", False, True), ("t3.micro", False, False)],
)
def test_instance_type_profile(instance_type: str, accelerated: bool, large: bool) -> None:
    assert instance_profile(instance_type) == (accelerated, large)


def test_policy_admin_and_trust_analysis() -> None:
    assert is_admin_document({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}})
    assert is_admin_document('{"Statement": [{"Effect": "Allow", "Action": ["iam:*"], "Resource": ["*"]}]}')
    assert not is_admin_document({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    assert not is_admin_document({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})
    trust = analyse_trust({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]})
    assert trust.anyone
    narrowed = analyse_trust({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                                             "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]})
    assert not narrowed.anyone


def test_inline_admin_on_an_existing_principal_is_medium_posture() -> None:
    admin_doc = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    inv = inventory(*home(), item("AWS::IAM::User", "ci", inline_policies={"x": admin_doc}),
                    item("AWS::IAM::Role", "r", inline_policies={"ok": {"Statement": []}}))
    [finding] = [f for f in judge(inv, account_id=ACCOUNT, since=T) if f.rule == "iam-inline-admin"]
    assert finding.resource.id == "ci" and finding.severity is Severity.MEDIUM
    assert finding.details["inline_policies"] == ["x"]
