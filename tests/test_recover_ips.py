"""``recover ips``: public IPv4 inventory (new in the window, the attacker's, cost per hour), attacker
source addresses enriched offline, and every region tried with a failing API reported as a gap."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import whoami
from awsrespond.case.workspace import Case
from awsrespond.cli.app import main
from awsrespond.coverage import GapKind
from awsrespond.emulator import EmulatorServer, generate_scenario, seed
from awsrespond.emulator.seeding.ground_truth import SeededScenario
from awsrespond.hunt.run import HuntOptions, run_hunt
from awsrespond.recover.geo import AddressKind, GeoLookup, HostingHint, classify_address
from awsrespond.recover.prices import shipped_prices
from awsrespond.recover.public_ips import DOCUMENT, PublicIpDocument, public_ip_insights
from awsrespond.triage import TriageOptions, run_triage

SEED = random.Random(20251).randrange(10_000)


@dataclass
class Seeded:
    server: EmulatorServer
    seeded: SeededScenario
    case: Case
    regions: list[str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with EmulatorServer() as server:
        seeded = seed(server, generate_scenario(SEED))
        factory = server.factory()
        identity = whoami(factory)
        case = Case.create(tmp_path_factory.mktemp("ips") / "case", account_id=identity.account_id,
                           caller_arn=identity.arn)
        regions = sorted({*seeded.home_regions, *seeded.attacker_regions})
        run_triage(factory, identity, case, TriageOptions(since=seeded.incident_start, regions=regions))
        # Hunt names the attacker's source addresses (CloudTrail) and attributes what they created.
        run_hunt(HuntOptions(sources=[f"s3://{seeded.trail_bucket}/"], since=seeded.incident_start,
                             case_dir=case.root, account_id=identity.account_id, caller_arn=identity.arn), factory)
        yield Seeded(server, seeded, case, regions)


def _public_ip(factory: ClientFactory, region: str, instance_id: str) -> str | None:
    [reservation] = factory.client("ec2", region).describe_instances(InstanceIds=[instance_id])["Reservations"]
    value = reservation["Instances"][0].get("PublicIpAddress")
    return str(value) if value else None


def test_attacker_instances_addresses_are_listed_as_new_and_the_attackers(world: Seeded) -> None:
    factory = world.server.factory()
    extra = random.Random(SEED).choice([r for r in ("eu-north-1", "sa-east-1", "ca-central-1")
                                        if r not in world.regions])
    document = public_ip_insights(world.case, factory, [*world.regions, extra])
    listed = {(a.region, a.ip): a for a in document.public_ips}
    attacker = world.seeded.attacker_of("AWS::EC2::Instance")
    assert attacker, "scenario invariant: the attacker launched instances"
    for instance in attacker:
        ip = _public_ip(factory, instance.region, instance.id)
        assert ip, f"moto gives instances in the default VPC a public IP ({instance.id} has none)"
        entry = listed[(instance.region, ip)]
        assert entry.resource_id == instance.id and entry.new_in_window is True, entry
        assert entry.attacker and entry.attacker_classification == "attacker-created", entry
    for instance in world.seeded.legitimate_of("AWS::EC2::Instance"):
        ip = _public_ip(factory, instance.region, instance.id)
        if ip and (instance.region, ip) in listed:
            entry = listed[(instance.region, ip)]
            assert not entry.attacker and entry.new_in_window is False, entry
    price = shipped_prices().public_ipv4_hourly
    assert document.totals.usd_per_hour == price * len(document.public_ips)
    assert document.totals.attacker_usd_per_hour == price * sum(1 for a in document.public_ips if a.attacker)
    assert extra in document.regions and not document.coverage
    # The attacker's source addresses come from the generator's documentation ranges: named as such.
    sources = {s.ip: s for s in document.attacker_source_ips}
    assert set(world.seeded.attacker_ips) <= set(sources)
    for ip in world.seeded.attacker_ips:
        assert sources[ip].info.kind is AddressKind.DOCUMENTATION
    assert document.geo_source is not None and "GeoLite2" in document.geo_source.database
    assert "MaxMind" in document.geo_source.licence


def test_cli_writes_the_document_and_exits_1(world: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["recover", "ips", "--case", str(world.case.root), "--region", ",".join(world.regions),
                 "--endpoint-url", world.server.endpoint_url, "--format", "json", "--quiet"])
    assert code == 1
    printed = PublicIpDocument.model_validate_json(capsys.readouterr().out)
    stored = PublicIpDocument.model_validate(json.loads((world.case.root / DOCUMENT).read_text()))
    assert printed.totals == stored.totals and printed.totals.attacker >= 1


class _DeniedFactory:
    """Real (moto) clients, except in one region where every describe call is refused."""

    def __init__(self, inner: ClientFactory, denied: str) -> None:
        self.inner = inner
        self.denied = denied
        self.stubs: list[Stubber] = []

    def client(self, service: str, region: str | None = None) -> Any:
        if region != self.denied:
            return self.inner.client(service, region)
        client = boto3.client(service, region_name=region)
        stub = Stubber(client)
        operations = (["describe_network_interfaces", "describe_addresses", "describe_instances",
                       "describe_nat_gateways"] if service == "ec2" else ["describe_load_balancers"])
        for operation in operations:
            stub.add_client_error(operation, service_error_code="UnauthorizedOperation", http_status_code=403,
                                  service_message="You are not authorized to perform this operation.")
        stub.activate()
        self.stubs.append(stub)
        return client


@mock_aws
def test_a_refused_region_is_a_gap_naming_api_and_region(tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    regions = rng.sample(["us-east-2", "eu-west-3", "ap-south-1", "ca-central-1", "eu-central-1"], 3)
    denied, *others = regions
    session = boto3.Session(region_name="us-east-1")
    inner = ClientFactory(session=session, max_attempts=1)
    ec2 = inner.client("ec2", others[0])
    launched = ec2.run_instances(ImageId="ami-12345678", InstanceType=rng.choice(["t3.micro", "c5.large"]),
                                 MinCount=1, MaxCount=1)["Instances"][0]
    allocation = inner.client("ec2", others[1]).allocate_address(Domain="vpc")
    case = Case.create(tmp_path / "case", account_id="123456789012", caller_arn="arn:aws:iam::123456789012:user/x")
    document = public_ip_insights(case, _DeniedFactory(inner, denied), regions)  # type: ignore[arg-type]
    gaps = {(g.scope, g.region, g.kind) for g in document.coverage}
    assert ("ec2:DescribeNetworkInterfaces", denied, GapKind.ACCESS_DENIED) in gaps
    assert ("elbv2:DescribeLoadBalancers", denied, GapKind.ACCESS_DENIED) in gaps
    listed = {(a.region, a.ip): a for a in document.public_ips}
    assert (others[0], launched["PublicIpAddress"]) in listed
    idle = listed[(others[1], allocation["PublicIp"])]
    assert idle.elastic_ip and idle.owner.value == "elastic-ip" and idle.resource_id == allocation["AllocationId"]
    # No window, no findings: nothing is new or the attacker's, and the output says why.
    assert all(a.new_in_window is None and not a.attacker for a in document.public_ips)
    assert any("incident window" in n for n in document.notes)
    assert document.totals.usd_per_hour == Decimal("0.005") * len(document.public_ips)


def test_source_addresses_are_classified_and_enriched_offline() -> None:
    geo = GeoLookup()
    assert classify_address("10.20.30.40") is AddressKind.PRIVATE
    assert classify_address("100.64.1.1") is AddressKind.PRIVATE
    assert classify_address("203.0.113.9") is AddressKind.DOCUMENTATION
    assert classify_address("2001:db8::5") is AddressKind.DOCUMENTATION
    assert classify_address("ec2.amazonaws.com") is AddressKind.INVALID
    assert classify_address("127.0.0.1") is AddressKind.LOOPBACK
    hetzner = geo.lookup("5.9.1.1")  # a Hetzner network in the shipped GeoLite2 data
    assert hetzner.country_code == "DE" and HostingHint.HOSTING in hetzner.hints and "Hetzner" in hetzner.matched
    tor = geo.lookup("185.220.101.1")
    assert HostingHint.TOR in tor.hints
    google = geo.lookup("8.8.8.8")
    assert google.country_code == "US" and google.asn_name and not google.hints
    private = geo.lookup("192.168.1.1")
    assert private.kind is AddressKind.PRIVATE and private.country_code is None
    assert "not on the internet" in private.note
    v6 = geo.lookup("2a01:4f8::1")
    assert v6.country_code == "DE" and HostingHint.HOSTING in v6.hints
