"""``recover cost``: the cost curve with its spike days, and the attacker instances' cost equal to
instance-hours times the shipped on-demand price (computed here from ground truth, independently)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from awsrespond.aws.identity import whoami
from awsrespond.case.workspace import Case
from awsrespond.cli.app import main
from awsrespond.contain.journal import Event, Journal
from awsrespond.emulator import EmulatorServer, Scenario, generate_scenario, seed
from awsrespond.findings import Classification, Finding, ResourceRef, Severity
from awsrespond.recover.attack_cost import DOCUMENT, AttackCostDocument, attack_cost
from awsrespond.timeutil import as_utc, iso
from awsrespond.triage import TriageOptions, run_triage

US = ("us-east-1", "us-east-2", "us-west-2")


def _table() -> dict[str, Any]:
    text = resources.files("awsrespond.recover").joinpath("data", "ec2_prices.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def _price(table: dict[str, Any], region: str, itype: str) -> Decimal | None:
    value = (table["regions"].get(region) or {}).get(itype)
    return None if value is None else Decimal(str(value))


def _scenario_with_priced_instances(rng: random.Random) -> Scenario:
    """A generated scenario with at least one attacker instance group the table prices."""
    table = _table()
    start = rng.randrange(100_000)
    for offset in range(2_000):
        scenario = generate_scenario(start + offset)
        if any(g.region in US and _price(table, g.region, g.instance_type) for g in scenario.attacker.instances):
            return scenario
    raise AssertionError("no generated scenario with a priced attacker instance")


def _expected_hours(started: datetime, ended: datetime) -> Decimal:
    seconds = max(int((ended - started).total_seconds()), 60)
    return (Decimal(seconds) / Decimal(3600)).quantize(Decimal("0.000001"))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    rng = random.Random(7301)
    scenario = _scenario_with_priced_instances(rng)
    with EmulatorServer() as server:
        seeded = seed(server, scenario)
        factory = server.factory()
        identity = whoami(factory)
        case = Case.create(tmp_path_factory.mktemp("cost") / "case", account_id=identity.account_id,
                           caller_arn=identity.arn)
        regions = sorted({*seeded.home_regions, *seeded.attacker_regions})
        run_triage(factory, identity, case, TriageOptions(since=seeded.incident_start, regions=regions))
        launches: dict[str, tuple[str, str, datetime]] = {}
        where = {a.id: a.region for a in seeded.attacker_artefacts}
        spot_regions = [s.region for s in scenario.attacker.spot_requests]
        attacker = {a.id for a in seeded.attacker_of("AWS::EC2::Instance")} | set(seeded.spot_instances.values())
        for instance_id in attacker:
            for region in [where[instance_id]] if instance_id in where else spot_regions:
                found = factory.client("ec2", region).describe_instances(
                    Filters=[{"Name": "instance-id", "Values": [instance_id]}])["Reservations"]
                if found:
                    instance = found[0]["Instances"][0]
                    launches[instance_id] = (region, instance["InstanceType"], as_utc(instance["LaunchTime"]))
        yield scenario, seeded, case, launches, rng


def test_the_figure_is_instance_hours_times_the_shipped_price(world: Any) -> None:
    scenario, seeded, case, launches, rng = world
    table = _table()
    now = max(t for _, _, t in launches.values()) + timedelta(hours=rng.randint(3, 40), seconds=rng.randint(0, 3599))
    document = attack_cost(case, now=now)
    rows = {r.instance_id: r for r in document.instances}
    assert set(launches) <= set(rows), (set(launches) - set(rows))
    # Types from the scenario's ground truth, not from what the code read.
    truth_types = {g.region: g.instance_type for g in scenario.attacker.instances}
    spot_types = {s.region: s.instance_type for s in scenario.attacker.spot_requests}
    expected = Decimal(0)
    unpriced = set()
    for instance_id, (region, described_type, launched) in launches.items():
        spot = instance_id in seeded.spot_instances.values()
        itype = spot_types[region] if spot else truth_types[region]
        assert described_type == itype
        row = rows[instance_id]
        assert row.spot == spot and (not spot or "upper bound" in row.note)
        price = _price(table, region, itype)
        if price is None:
            unpriced.add(instance_id)
            assert row.cost is None and f"no price in the table for {itype} in {region}" in row.note
            continue
        expected += _expected_hours(launched, now) * price
    assert expected > 0
    assert document.attacker_instance_cost == expected
    assert unpriced <= set(document.unpriced)
    # The spike: the seeded Cost Explorer curve jumps on the incident day.
    assert document.curve is not None
    assert as_utc(seeded.incident_start).date().isoformat() in document.curve.spike_days
    assert all(d.spike == (d.date in document.curve.spike_days) for d in document.curve.days)


def test_cli_writes_the_document_and_exits_1(world: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, _, case, _, _ = world
    assert main(["recover", "cost", "--case", str(case.root), "--format", "json", "--quiet"]) == 1
    printed = AttackCostDocument.model_validate_json(capsys.readouterr().out)
    stored = AttackCostDocument.model_validate(json.loads((case.root / DOCUMENT).read_text()))
    assert {r.instance_id for r in printed.instances} == {r.instance_id for r in stored.instances}


def _finding(instance_id: str, region: str, classification: Classification) -> Finding:
    return Finding(id=f"ec2-new-{instance_id}", rule="ec2-instance-new", title="new instance", severity=Severity.HIGH,
                   classification=classification,
                   resource=ResourceRef(type="AWS::EC2::Instance", id=instance_id, region=region))


def test_termination_from_the_journal_and_unknown_prices(tmp_path: Path) -> None:
    rng = random.Random(911)
    table = _table()
    region = rng.choice(US)
    itype = rng.choice(["p3.8xlarge", "g5.12xlarge", "g4dn.metal", "inf2.48xlarge"])
    launched = datetime(2025, 3, rng.randint(1, 20), rng.randint(0, 23), tzinfo=as_utc(datetime.now()).tzinfo)
    ended = launched + timedelta(hours=rng.randint(2, 30), minutes=rng.randint(0, 59))
    ids = [f"i-{rng.randrange(16**17):017x}" for _ in range(3)]
    case = Case.create(tmp_path / "case", account_id="123456789012", caller_arn="arn:aws:iam::123456789012:user/x")
    inventory = [
        {"type": "AWS::EC2::Instance", "id": ids[0], "region": region,
         "data": {"instance_type": itype, "state": "running", "launch_time": iso(launched)}},
        {"type": "AWS::EC2::Instance", "id": ids[1], "region": "me-central-1",
         "data": {"instance_type": itype, "state": "running", "launch_time": iso(launched), "lifecycle": "spot"}},
        {"type": "AWS::EC2::Instance", "id": ids[2], "region": region,
         "data": {"instance_type": itype, "state": "running", "launch_time": iso(launched)}},
    ]
    daily = [{"date": f"2025-03-{d:02d}", "amount": 10.0 + (d % 3)} for d in range(1, 11)]
    daily[-1]["amount"] = 250.0
    case.write_json("triage.json", {"window": {"since": iso(launched - timedelta(hours=1))},
                                    "started": iso(ended + timedelta(days=1)),
                                    "inventory": {"AWS::EC2::Instance": inventory, "AWS::CE::CostAndUsage": [
                                        {"type": "AWS::CE::CostAndUsage", "id": "last-30-days", "region": "global",
                                         "data": {"currency": "USD", "daily_total": daily}}]},
                                    "coverage": []})
    case.write_findings([_finding(ids[0], region, Classification.ATTACKER_CREATED),
                         _finding(ids[1], "me-central-1", Classification.SUSPECT)])
    journal = Journal(case.root / "contain" / "journal.jsonl")
    journal.write("plan-1", Event.INTENT, "s7", action="ec2.terminate-instance",
                  target={"type": "AWS::EC2::Instance", "id": ids[0], "region": region})
    record = journal.path.read_text().replace(json.loads(journal.path.read_text())["at"], iso(ended) or "")
    journal.path.write_text(record)
    with journal.path.open("a") as handle:
        handle.write(json.dumps({"at": iso(ended), "plan": "plan-1", "event": "result", "step": "s7",
                                 "result": {}}) + "\n")
    document = attack_cost(case, now=ended + timedelta(days=3))
    rows = {r.instance_id: r for r in document.instances}
    assert set(rows) == {ids[0], ids[1]}, "only the attacker's and suspect instances are counted"
    first = rows[ids[0]]
    assert first.ended == ended and first.ended_from == "contain apply journal" and not first.running
    price = _price(table, region, itype)
    assert price is not None
    assert document.attacker_instance_cost == _expected_hours(launched, ended) * price
    assert rows[ids[1]].cost is None and document.unpriced == [ids[1]]
    assert "no price in the table" in rows[ids[1]].note and "upper bound" in rows[ids[1]].note
    assert document.curve is not None and document.curve.spike_days == [daily[-1]["date"]]
    assert document.prices.as_of.isoformat() == str(table["as_of"])
