"""Behaviour analytics: each fires on its scenario and stays quiet on the near miss."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from awsrespond.findings import Severity
from awsrespond.hunt.analytics import ANALYTICS
from awsrespond.hunt.analytics.bursts import DENIED, ENUMERATION_CALLS
from awsrespond.hunt.analytics.network import network_of
from awsrespond.hunt.analytics.useragent import ua_family
from tests.analytics_events import (
    RECON_NAMES,
    REGIONS,
    Principal,
    account_id,
    analyse,
    call,
    history,
    iam_user,
    instance_id,
    ip_in,
    login,
    medium_plus_share,
    private_net,
    public_net,
    role_session,
    routine,
    source_of,
    start_time,
    user_agent,
)

SEEDS = [11, 202, 3033]


# -- building blocks -------------------------------------------------------------------------------


def test_networks_group_by_24_and_48_and_ignore_service_names() -> None:
    assert network_of("203.0.113.7") == network_of("203.0.113.250")
    assert network_of("203.0.113.7") != network_of("203.0.114.7")
    assert network_of("06.237.252.245") == network_of("6.237.252.1")
    assert network_of("2001:db8:aa::1") == network_of("2001:0db8:00aa:ffff::2")
    assert network_of("2001:db8:aa::1") != network_of("2001:db8:ab::1")
    assert network_of("::ffff:198.51.100.4") == network_of("198.51.100.9")
    for not_an_address in ("ec2.amazonaws.com", "AWS Internal", "", None, "999.1.1.1", "host:name"):
        assert network_of(not_an_address) is None
    private, public = network_of("10.1.2.3"), network_of("52.1.2.3")
    assert private is not None and private.internal
    assert public is not None and not public.internal and public.wide == "52.1.0.0/16"


@pytest.mark.parametrize("seed", SEEDS)
def test_the_view_cuts_networks_as_network_of_does(seed: int) -> None:
    rng = random.Random(seed)
    addresses = [f"{rng.randint(0, 300)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"
                 for _ in range(200)]
    addresses += [f"0{rng.randint(1, 9)}.{rng.randint(0, 99):03d}.{rng.randint(0, 255)}.{rng.randint(0, 255)}",
                  f"10.{rng.randint(0, 255)}.1.2", f"172.{rng.randint(16, 31)}.3.4", f"172.{rng.randint(32, 99)}.3.4",
                  f"100.{rng.randint(64, 127)}.0.1", f"2001:db8:{rng.randint(0, 65535):x}::{rng.randint(1, 99)}",
                  f"fd00:{rng.randint(0, 65535):x}::1", f"::ffff:192.168.{rng.randint(0, 255)}.9",
                  "ec2.amazonaws.com", "AWS Internal", "1.2.3", "1.2.3.4.5"]
    who = iam_user(rng, account_id(rng))
    when = start_time(rng)
    records = [call(who, "ListBuckets", when, address, "aws-cli/2.0", "us-east-1") for address in addresses]
    loaded = analyse(records, since=None, only=[])
    rows = loaded.store.db.execute("SELECT ip, net, wide, internal FROM awsr_events").fetchall()
    assert len(rows) == len(addresses)
    for ip, net, wide, internal in rows:
        expected = network_of(ip)
        assert (net, wide, internal) == ((expected.net, expected.wide, expected.internal) if expected
                                         else (None, None, None)), ip


@pytest.mark.parametrize("seed", SEEDS)
def test_user_agent_families_ignore_versions(seed: int) -> None:
    rng = random.Random(seed)
    for family in ("aws-cli", "boto3", "terraform", "go", "java", "js", "browser"):
        first, second = user_agent(rng, family), user_agent(rng, family)
        assert ua_family(first) == ua_family(second) is not None
    assert ua_family(user_agent(rng, "boto3")) != ua_family(user_agent(rng, "boto3-lambda"))
    assert ua_family(user_agent(rng, "terraform")) == "terraform"
    assert ua_family("stratus-red-team_5c59eb79-6dac-405c-a4c4-e19aec03c666") == ua_family(
        "stratus-red-team_10e7edf3-5063-4eba-8842-68f83bb52d65")
    for service in ("AWS Internal", "cloudformation.amazonaws.com", None, ""):
        assert ua_family(service) is None


def test_registry_lists_every_analytic_with_title_severity_and_mitre() -> None:
    assert {"aws-new-source-ip", "aws-new-user-agent", "aws-new-region"} <= set(ANALYTICS)
    for spec in ANALYTICS.values():
        assert spec.title and spec.description and spec.mitre
        assert isinstance(spec.severity, Severity)


# -- first seen ------------------------------------------------------------------------------------


@dataclass
class Developer:
    """A developer with ten days of history from home and office in one region."""

    rng: random.Random
    account: str
    who: Principal
    records: list[dict[str, Any]]
    since: datetime
    region: str
    home: str
    office: str
    family: str

    @classmethod
    def make(cls, seed: int) -> Developer:
        rng = random.Random(seed)
        account = account_id(rng)
        start = start_time(rng)
        region = rng.choice(REGIONS)
        home, office = public_net(rng), public_net(rng)
        family = rng.choice(["aws-cli", "boto3"])
        who = iam_user(rng, account)
        records = history(rng, who, start, 10, [home, office], [family], region)
        return cls(rng, account, who, records, start + timedelta(days=10), region, home, office, family)

    def stranger_ip(self, *avoid: str) -> str:
        return ip_in(public_net(self.rng, avoid=[self.home, self.office, *avoid]), self.rng)

    def agent(self, family: str | None = None) -> str:
        return user_agent(self.rng, family or self.family)


def _attack(rng: random.Random, who: Principal, when: datetime, ip: str, family: str,
            region: str) -> list[dict[str, Any]]:
    names = ["GetCallerIdentity", "ListUsers", "CreateUser", "CreateAccessKey", "AttachUserPolicy"]
    return [call(who, name, when + timedelta(seconds=20 * i), ip, user_agent(rng, family), region)
            for i, name in enumerate(names)]


@pytest.mark.parametrize("seed", SEEDS)
def test_new_network_with_sensitive_calls_is_high_even_with_the_usual_agent(seed: int) -> None:
    dev = Developer.make(seed)
    attacker_ip = dev.stranger_ip()
    attack = _attack(dev.rng, dev.who, dev.since + timedelta(hours=dev.rng.uniform(1, 20)), attacker_ip,
                     dev.family, dev.region)
    usual = history(dev.rng, dev.who, dev.since, 1, [dev.home], [dev.family], dev.region, per_day=5)
    loaded = analyse([*dev.records, *usual, *attack], since=dev.since)
    [found] = loaded.by_rule("aws-new-source-ip")
    assert found.severity == Severity.HIGH
    assert found.subject == dev.who.arn
    assert loaded.event_ids(found.rowids) == {r["eventID"] for r in attack}
    assert found.details["source_ips"] == [attacker_ip]
    assert "CreateAccessKey" in found.details["sensitive_calls"]
    assert not found.details["new_user_agent_family"]
    assert not loaded.by_rule("aws-new-user-agent")


@pytest.mark.parametrize("seed", SEEDS)
def test_new_network_ranks_by_activity_reads_low_writes_medium(seed: int) -> None:
    dev = Developer.make(seed)
    when = dev.since + timedelta(hours=3)
    reader = dev.stranger_ip()
    writer = dev.stranger_ip(reader)
    window = [call(dev.who, "DescribeInstances", when, reader, dev.agent(), dev.region),
              call(dev.who, "CreateTags", when, writer, dev.agent(), dev.region)]
    loaded = analyse([*dev.records, *window], since=dev.since)
    severity = {d.details["source_ips"][0]: d.severity for d in loaded.by_rule("aws-new-source-ip")}
    assert severity == {reader: Severity.LOW, writer: Severity.MEDIUM}


@pytest.mark.parametrize("seed", SEEDS)
def test_new_24_in_a_known_16_is_low_and_new_private_networks_are_not_judged(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    first, second, third = (int(x) for x in dev.home.split("."))
    moved = f"{first}.{second}.{(third + rng.randint(1, 200)) % 256}"  # the ISP handed out another /24
    when = dev.since + timedelta(hours=5)
    from_moved = [call(dev.who, "CreateAccessKey", when, ip_in(moved, rng), dev.agent(), dev.region)]
    from_vpc = [call(dev.who, "CreateTags", when, ip_in(private_net(rng), rng), dev.agent(), dev.region)]
    loaded = analyse([*dev.records, *from_moved, *from_vpc], since=dev.since, only=["aws-new-source-ip"])
    [found] = loaded.result.detections
    assert found.severity == Severity.LOW and found.details["in_a_known_wider_network"]
    assert loaded.event_ids(found.rowids) == {from_moved[0]["eventID"]}


@pytest.mark.parametrize("seed", SEEDS)
def test_same_24_is_not_a_new_network_and_service_names_are_not_addresses(seed: int) -> None:
    dev = Developer.make(seed)
    when = dev.since + timedelta(hours=2)
    window = [call(dev.who, "CreateUser", when, ip_in(dev.office, dev.rng), dev.agent(), dev.region),
              call(dev.who, "CreateAccessKey", when, "AWS Internal", dev.agent(), dev.region),
              call(dev.who, "RunInstances", when, "autoscaling.amazonaws.com", dev.agent(), dev.region)]
    loaded = analyse([*dev.records, *window], since=dev.since)
    assert not loaded.by_rule("aws-new-source-ip")


@pytest.mark.parametrize("seed", SEEDS)
def test_principal_without_history_gets_a_note_not_an_alarm(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    newcomer = iam_user(rng, dev.account)
    thin = history(rng, newcomer, dev.since - timedelta(days=1), 1, [public_net(rng)], ["boto3"], dev.region,
                   per_day=3)
    attack = _attack(rng, newcomer, dev.since + timedelta(hours=1), dev.stranger_ip(), "aws-cli", dev.region)
    loaded = analyse([*dev.records, *thin, *attack], since=dev.since)
    assert not [d for d in loaded.result.detections if d.rule.startswith("aws-new-") and d.subject == newcomer.arn]
    assert any(newcomer.arn in note and "no history" in note for note in loaded.result.notes)


@pytest.mark.parametrize("seed", SEEDS)
def test_roaming_role_is_quiet_on_new_networks_unless_the_client_is_new(seed: int) -> None:
    rng = random.Random(seed)
    account, start, region = account_id(rng), start_time(rng), rng.choice(REGIONS)
    role = f"deploy-{rng.randint(100, 999)}"
    records = []
    for day in range(12):  # a CI role: a fresh runner network every day
        runner = role_session(rng, account, role, f"run-{rng.randint(10**6, 10**7)}")
        records += history(rng, runner, start + timedelta(days=day), 1, [public_net(rng)], ["aws-cli"], region,
                           per_day=4, names=("UpdateFunctionCode20150331v2", "GetFunction20150331v2"))
    since = start + timedelta(days=12)
    run = role_session(rng, account, role, f"run-{rng.randint(10**6, 10**7)}")
    routine = history(rng, run, since, 1, [public_net(rng)], ["aws-cli"], region, per_day=4,
                      names=("UpdateFunctionCode20150331v2", "PublishVersion20150331"))
    loaded = analyse([*records, *routine], since=since)
    assert not loaded.by_rule("aws-new-source-ip")
    assert any("new networks on most days" in note for note in loaded.result.notes)

    stolen = role_session(rng, account, role, f"run-{rng.randint(10**6, 10**7)}")
    theft = [call(stolen, "CreateAccessKey", since + timedelta(hours=5), ip_in(public_net(rng), rng),
                  user_agent(rng, "boto3"), region)]
    loaded = analyse([*records, *routine, *theft], since=since)
    [found] = loaded.by_rule("aws-new-source-ip")
    assert found.severity == Severity.HIGH and found.details["new_user_agent_family"]
    assert loaded.event_ids(found.rowids) == {theft[0]["eventID"]}


@pytest.mark.parametrize("seed", SEEDS)
def test_new_user_agent_family_but_not_a_new_version(seed: int) -> None:
    dev = Developer.make(seed)
    other = "go" if dev.family != "go" else "java"
    when = dev.since + timedelta(hours=1)
    ip = ip_in(dev.home, dev.rng)
    upgraded = call(dev.who, "DescribeInstances", when, ip, dev.agent(), dev.region)
    new_client = [call(dev.who, "GetSecretValue", when, ip, dev.agent(other), dev.region),
                  call(dev.who, "ListSecrets", when, ip, dev.agent(other), dev.region)]
    loaded = analyse([*dev.records, upgraded], since=dev.since)
    assert not loaded.by_rule("aws-new-user-agent")
    loaded = analyse([*dev.records, upgraded, *new_client], since=dev.since)
    [found] = loaded.by_rule("aws-new-user-agent")
    assert found.severity == Severity.MEDIUM and found.details["sensitive_calls"] == ["GetSecretValue"]
    assert loaded.event_ids(found.rowids) == {r["eventID"] for r in new_client}
    assert set(found.details["user_agents"]) == {r["userAgent"] for r in new_client}


@pytest.mark.parametrize("seed", SEEDS)
def test_new_region_writes_where_the_account_never_worked_are_high(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    colleague = iam_user(rng, dev.account)
    team_region = rng.choice([r for r in REGIONS if r != dev.region])
    unused = rng.choice([r for r in REGIONS if r not in (dev.region, team_region)])
    records = [*dev.records,
               *history(rng, colleague, dev.since - timedelta(days=5), 5, [public_net(rng)], ["boto3"], team_region)]
    when = dev.since + timedelta(hours=4)
    ip = ip_in(dev.home, rng)
    in_team_region = call(dev.who, "CreateTags", when, ip, dev.agent(), team_region)
    loaded = analyse([*records, in_team_region], since=dev.since)
    [found] = loaded.by_rule("aws-new-region")
    assert found.severity == Severity.LOW and not found.details["regions_account_never_used"]

    launch = call(dev.who, "RunInstances", when, ip, dev.agent(), unused, params={"instanceType": "c5.large"})
    loaded = analyse([*records, in_team_region, launch], since=dev.since)
    [found] = loaded.by_rule("aws-new-region")
    assert found.severity == Severity.HIGH and found.details["regions_account_never_used"] == [unused]
    assert loaded.event_ids(found.rowids) == {launch["eventID"], in_team_region["eventID"]}

    usual = call(dev.who, "RunInstances", when, ip, dev.agent(), dev.region)
    loaded = analyse([*records, usual], since=dev.since)
    assert not loaded.by_rule("aws-new-region")


# -- console ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_console_login_from_a_network_the_user_never_used(seed: int) -> None:
    dev = Developer.make(seed)
    browser = dev.agent("browser")
    when = dev.since + timedelta(hours=dev.rng.uniform(0, 30))
    at_office = login(dev.who, when, ip_in(dev.office, dev.rng), browser)
    loaded = analyse([*dev.records, at_office], since=dev.since, only=["aws-console-login-new-ip"])
    assert not loaded.result.detections

    stranger = dev.stranger_ip()
    with_mfa = login(dev.who, when, stranger, browser)
    loaded = analyse([*dev.records, at_office, with_mfa], since=dev.since, only=["aws-console-login-new-ip"])
    [found] = loaded.result.detections
    assert found.severity == Severity.MEDIUM and found.subject == dev.who.arn
    assert loaded.event_ids(found.rowids) == {with_mfa["eventID"]}

    without_mfa = login(dev.who, when, dev.stranger_ip(stranger), browser, mfa=False)
    loaded = analyse([*dev.records, without_mfa], since=dev.since, only=["aws-console-login-new-ip"])
    [found] = loaded.result.detections
    assert found.severity == Severity.HIGH and found.details["without_mfa"]


@pytest.mark.parametrize("seed", SEEDS)
def test_console_login_from_a_known_16_is_low_and_federated_sign_ins_are_not_without_mfa(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    first, second, third = (int(x) for x in dev.office.split("."))
    moved = f"{first}.{second}.{(third + rng.randint(1, 200)) % 256}"
    when = dev.since + timedelta(hours=3)
    nearby = login(dev.who, when, ip_in(moved, rng), dev.agent("browser"), mfa=False)
    [found] = analyse([*dev.records, nearby], since=dev.since, only=["aws-console-login-new-ip"]).result.detections
    assert found.severity == Severity.LOW

    person = f"{rng.choice(['ana', 'bo', 'kai'])}@{rng.choice(['example', 'corp'])}.com"
    sso = role_session(rng, dev.account, f"AWSReservedSSO_Developer_{rng.randint(10**15, 10**16):x}", person)
    home = public_net(rng)
    federated = history(rng, sso, dev.since - timedelta(days=8), 8, [home], ["aws-cli"], dev.region, per_day=4)
    signin = call(sso, "ConsoleLogin", when, dev.stranger_ip(home), dev.agent("browser"), dev.region,
                  response={"ConsoleLogin": "Success"})
    signin["additionalEventData"] = {"MFAUsed": "No", "MobileVersion": "No"}
    [found] = analyse([*dev.records, *federated, signin], since=dev.since,
                      only=["aws-console-login-new-ip"]).result.detections
    assert found.severity == Severity.MEDIUM and not found.details["without_mfa"]
    assert found.subject == sso.arn


@pytest.mark.parametrize("seed", SEEDS)
def test_console_success_after_failures_for_the_user(seed: int) -> None:
    dev = Developer.make(seed)
    rng, browser = dev.rng, dev.agent("browser")
    ip = dev.stranger_ip()
    success_at = dev.since + timedelta(hours=rng.uniform(1, 20))
    failures = [login(dev.who, success_at - timedelta(minutes=rng.uniform(1, 29)), ip_in(public_net(rng), rng),
                      browser, success=False) for _ in range(3)]
    success = login(dev.who, success_at, ip, browser)
    loaded = analyse([*dev.records, *failures, success], since=dev.since, only=["aws-console-login-after-failures"])
    [found] = loaded.result.detections
    assert found.severity == Severity.HIGH and found.details["most_failures_for_user"] == 3
    assert loaded.event_ids(found.rowids) == {r["eventID"] for r in [*failures, success]}

    two = analyse([*dev.records, *failures[:2], success], since=dev.since, only=["aws-console-login-after-failures"])
    assert not two.result.detections
    stale = [login(dev.who, success_at - timedelta(minutes=31 + i), ip, browser, success=False) for i in range(4)]
    old = analyse([*dev.records, *stale, success], since=dev.since, only=["aws-console-login-after-failures"])
    assert not old.result.detections


@pytest.mark.parametrize("seed", SEEDS)
def test_console_success_after_failures_from_the_same_address_spraying_users(seed: int) -> None:
    dev = Developer.make(seed)
    rng, browser = dev.rng, dev.agent("browser")
    sprayer = dev.stranger_ip()
    success_at = dev.since + timedelta(hours=rng.uniform(1, 20))
    others = [iam_user(rng, dev.account) for _ in range(4)]
    sprays = [login(user, success_at - timedelta(minutes=rng.uniform(1, 25)), sprayer, browser, success=False)
              for user in others]
    success = login(dev.who, success_at, sprayer, browser)
    loaded = analyse([*dev.records, *sprays, success], since=dev.since, only=["aws-console-login-after-failures"])
    [found] = loaded.result.detections
    assert found.subject == dev.who.arn and found.details["users_tried_from_address"] == 4
    assert found.details["most_failures_for_user"] == 0


# -- bursts ----------------------------------------------------------------------------------------


def _reads(dev: Developer, who: Principal, names: list[str], start: datetime, spread: timedelta, ip: str,
           *, error: str | None = None, source: str | None = None) -> list[dict[str, Any]]:
    step = spread / max(len(names) - 1, 1)
    agent = dev.agent()
    return [call(who, name, start + step * i, ip, agent, dev.region, error=error, source=source)
            for i, name in enumerate(names)]


def _services(names: list[str]) -> int:
    return len({source_of(name) for name in names})


@pytest.mark.parametrize("seed", SEEDS)
def test_enumeration_burst_across_services(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    stolen = iam_user(rng, dev.account)  # no history: bursts need none
    names = rng.sample(RECON_NAMES, 30)
    assert _services(names) >= 6
    start, ip = dev.since + timedelta(hours=rng.uniform(1, 20)), dev.stranger_ip()
    burst = _reads(dev, stolen, names, start, timedelta(minutes=rng.uniform(1, 4.5)), ip)
    calm = _reads(dev, dev.who, rng.sample(RECON_NAMES, 20), start, timedelta(minutes=3), ip_in(dev.home, rng))
    loaded = analyse([*dev.records, *burst, *calm], since=dev.since, only=["aws-enumeration-burst"])
    [found] = loaded.result.detections
    assert found.severity == Severity.HIGH and found.subject == stolen.key
    assert loaded.event_ids(found.rowids) == {r["eventID"] for r in burst}

    under = _reads(dev, stolen, names[:ENUMERATION_CALLS - 1], start, timedelta(minutes=2), ip)
    slow = _reads(dev, stolen, names, start, timedelta(minutes=45), ip)
    for near_miss in (under, slow):
        assert not analyse([*dev.records, *near_miss], since=dev.since,
                           only=["aws-enumeration-burst"]).result.detections


@pytest.mark.parametrize("seed", SEEDS)
def test_enumeration_burst_that_is_routine_or_within_one_service_is_a_note(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    plan = rng.sample(RECON_NAMES, 40)  # what this principal's Terraform plan reads every day
    daily = [r for day in range(1, 6) for r in _reads(dev, dev.who, plan, dev.since - timedelta(days=day, hours=3),
                                                          timedelta(minutes=2), ip_in(dev.home, rng))]
    today = _reads(dev, dev.who, rng.sample(plan, 36), dev.since + timedelta(hours=2), timedelta(minutes=2),
                   ip_in(dev.home, rng))
    loaded = analyse([*dev.records, *daily, *today], since=dev.since, only=["aws-enumeration-burst"])
    assert not loaded.result.detections
    [note] = loaded.result.notes
    assert "1 enumeration bursts judged routine" in note and "before since" in note and dev.who.arn in note

    service = f"{rng.choice(['ec2', 'rds', 'glue'])}.amazonaws.com"
    console_page = [f"Describe{w.title()}{i}" for i, w in enumerate(rng.sample(["vpcs", "hosts", "tags", "zones",
                                                                                 "images", "fleets"], 6) * 5)]
    page = _reads(dev, iam_user(rng, dev.account), console_page, dev.since + timedelta(hours=1),
                  timedelta(minutes=1), dev.stranger_ip(), source=service)
    loaded = analyse([*dev.records, *page], since=dev.since, only=["aws-enumeration-burst"])
    assert not loaded.result.detections
    assert "fewer than 3 services" in loaded.result.notes[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_access_denied_storm(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    prober = role_session(rng, dev.account, f"app-{rng.randint(1, 99)}", f"s-{rng.randint(1, 10**6)}")
    code = rng.choice(["AccessDenied", "Client.UnauthorizedOperation", "AccessDeniedException"])
    start, ip = dev.since + timedelta(hours=rng.uniform(1, 20)), dev.stranger_ip()
    names = rng.sample(RECON_NAMES, 12)
    probing = _reads(dev, prober, names, start, timedelta(minutes=3), ip, error=code)
    loaded = analyse([*dev.records, *probing], since=dev.since, only=["aws-access-denied-storm"])
    [found] = loaded.result.detections
    assert found.severity == Severity.HIGH and found.subject == prober.key
    assert loaded.event_ids(found.rowids) == {r["eventID"] for r in probing}

    medium = _reads(dev, prober, names[:6] * 2, start, timedelta(minutes=3), ip, error=code)
    [found] = analyse([*dev.records, *medium], since=dev.since, only=["aws-access-denied-storm"]).result.detections
    assert found.severity == Severity.MEDIUM

    under = _reads(dev, prober, names[:DENIED - 1], start, timedelta(minutes=3), ip, error=code)
    allowed = _reads(dev, prober, names, start, timedelta(minutes=3), ip)
    for near_miss in (under, allowed):
        assert not analyse([*dev.records, *near_miss], since=dev.since,
                           only=["aws-access-denied-storm"]).result.detections

    retries = _reads(dev, prober, [rng.choice(names)] * 30, start, timedelta(seconds=40), ip, error=code)
    [found] = analyse([*dev.records, *retries], since=dev.since, only=["aws-access-denied-storm"]).result.detections
    assert found.severity == Severity.LOW


@pytest.mark.parametrize("seed", SEEDS)
def test_access_denied_storm_seen_in_history_is_a_note(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    names = rng.sample(RECON_NAMES, 8)
    code = "AccessDenied"
    before = [r for day in (1, 3, 5) for r in _reads(dev, dev.who, names * 2, dev.since - timedelta(days=day),
                                                         timedelta(minutes=2), ip_in(dev.home, rng), error=code)]
    now = _reads(dev, dev.who, names * 2, dev.since + timedelta(hours=1), timedelta(minutes=2),
                 ip_in(dev.home, rng), error=code)
    loaded = analyse([*dev.records, *before, *now], since=dev.since, only=["aws-access-denied-storm"])
    assert not loaded.result.detections
    assert "1 AccessDenied storms judged routine" in loaded.result.notes[0]
    fresh = analyse([*dev.records, *now], since=dev.since, only=["aws-access-denied-storm"])
    assert [d.severity for d in fresh.result.detections] == [Severity.MEDIUM]


# -- one key, several places -----------------------------------------------------------------------


def _interleave(dev: Developer, a: tuple[Principal, str], b: tuple[Principal, str], start: datetime, count: int,
                gap: timedelta) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``count`` calls alternating between two (principal, /24) places, ``gap`` apart."""
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for i in range(count):
        who, net = (a, b)[i % 2]
        record = call(who, dev.rng.choice(["DescribeInstances", "ListBuckets", "CreateTags"]), start + gap * i,
                      ip_in(net, dev.rng), dev.agent(), dev.region)
        (first, second)[i % 2].append(record)
    return first, second


@pytest.mark.parametrize("seed", SEEDS)
def test_long_term_key_in_two_places_within_the_hour(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    stranger = public_net(rng, avoid=[dev.home, dev.office])
    start = dev.since + timedelta(hours=rng.uniform(1, 20))
    owner, thief = _interleave(dev, (dev.who, dev.home), (dev.who, stranger), start, 6,
                               timedelta(minutes=rng.uniform(2, 15)))
    loaded = analyse([*dev.records, *owner, *thief], since=dev.since, only=["aws-access-key-two-networks"])
    [found] = loaded.result.detections
    assert found.severity == Severity.HIGH and found.subject == dev.who.key
    assert {r["eventID"] for r in thief} <= loaded.event_ids(found.rowids)
    assert [n["seen_in_history"] for n in found.details["networks"]].count(False) == 1

    both_known = _interleave(dev, (dev.who, dev.home), (dev.who, dev.office), start, 6, timedelta(minutes=5))
    hours_apart = _interleave(dev, (dev.who, dev.home), (dev.who, stranger), start, 4, timedelta(minutes=61))
    neighbour = ".".join([*stranger.split(".")[:2], str((int(stranger.split(".")[2]) + 1) % 256)])
    same_16 = _interleave(dev, (dev.who, stranger), (dev.who, neighbour), start, 6, timedelta(minutes=5))
    for first, second in (both_known, hours_apart, same_16):
        assert not analyse([*dev.records, *first, *second], since=dev.since,
                           only=["aws-access-key-two-networks"]).result.detections


@pytest.mark.parametrize("seed", SEEDS)
def test_key_in_two_places_without_history_is_low_once_medium_back_and_forth(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    newcomer = iam_user(rng, dev.account)
    here, there = public_net(rng), public_net(rng)
    start = dev.since + timedelta(hours=2)
    once = [call(newcomer, "ListBuckets", start, ip_in(here, rng), dev.agent(), dev.region),
            call(newcomer, "ListBuckets", start + timedelta(minutes=9), ip_in(there, rng), dev.agent(), dev.region)]
    [found] = analyse([*dev.records, *once], since=dev.since, only=["aws-access-key-two-networks"]).result.detections
    assert found.severity == Severity.LOW and not found.details["principal_has_history"]
    first, second = _interleave(dev, (newcomer, here), (newcomer, there), start, 5, timedelta(minutes=7))
    [found] = analyse([*dev.records, *first, *second], since=dev.since,
                      only=["aws-access-key-two-networks"]).result.detections
    assert found.severity == Severity.MEDIUM and found.details["switches"] == 4


@dataclass
class Fleet:
    """An instance role with history: instances calling through a NAT and a VPC endpoint."""

    rng: random.Random
    account: str
    role: str
    role_id: str
    region: str
    nat: str
    endpoint: str
    since: datetime
    records: list[dict[str, Any]]

    @classmethod
    def make(cls, seed: int, *, own_addresses: bool = False) -> Fleet:
        rng = random.Random(seed)
        account, start, region = account_id(rng), start_time(rng), rng.choice(REGIONS)
        fleet = cls(rng, account, f"app-{rng.choice(['api', 'worker', 'web'])}-{rng.randint(1, 99)}",
                    f"AROA{rng.randint(10**16, 10**17)}", region, public_net(rng), private_net(rng),
                    start + timedelta(days=8), [])
        for day in range(8):
            instance = fleet.session(instance_id(rng))
            egress = public_net(rng) if own_addresses else fleet.nat
            fleet.records += history(rng, instance, start + timedelta(days=day), 1, [egress, fleet.endpoint],
                                     ["go", "boto3"], region, per_day=10,
                                     names=("GetParameter", "GetSecretValue", "UpdateInstanceInformation"))
        return fleet

    def session(self, instance: str) -> Principal:
        return role_session(self.rng, self.account, self.role, instance, role_id=self.role_id,
                            ec2_instance=self.rng.random() < 0.7)

    def calls(self, who: Principal, net: str, start: datetime, count: int) -> list[dict[str, Any]]:
        return [call(who, self.rng.choice(["GetParameters", "DescribeInstances", "ListBuckets", "GetSecretValue"]),
                     start + timedelta(minutes=3 * i), ip_in(net, self.rng), user_agent(self.rng, "go"), self.region)
                for i in range(count)]


@pytest.mark.parametrize("seed", SEEDS)
def test_instance_credentials_used_from_outside(seed: int) -> None:
    fleet = Fleet.make(seed)
    rng = fleet.rng
    victim = fleet.session(instance_id(rng))
    start = fleet.since + timedelta(hours=rng.uniform(1, 10))
    own = fleet.calls(victim, fleet.nat, start, 5) + fleet.calls(victim, fleet.endpoint, start, 3)
    stolen = fleet.calls(victim, public_net(rng, avoid=[fleet.nat]), start + timedelta(minutes=20), 4)
    loaded = analyse([*fleet.records, *own, *stolen], since=fleet.since, only=["aws-instance-credentials-outside"])
    [found] = loaded.result.detections
    assert found.severity == Severity.HIGH and found.subject == victim.key
    assert loaded.event_ids(found.rowids) == {r["eventID"] for r in stolen}
    assert found.details["instance"] == victim.identity["arn"].rsplit("/", 1)[1]

    newcomer = fleet.session(instance_id(rng))
    routine = fleet.calls(newcomer, fleet.nat, start, 4) + fleet.calls(newcomer, fleet.endpoint, start, 4)
    assert not analyse([*fleet.records, *own, *routine], since=fleet.since,
                       only=["aws-instance-credentials-outside", "aws-access-key-two-networks"]).result.detections


@pytest.mark.parametrize("seed", SEEDS)
def test_instance_with_its_own_address_is_low_unless_two_public_networks(seed: int) -> None:
    fleet = Fleet.make(seed, own_addresses=True)
    rng = fleet.rng
    newcomer = fleet.session(instance_id(rng))
    start = fleet.since + timedelta(hours=3)
    own_ip = public_net(rng)
    routine = fleet.calls(newcomer, own_ip, start, 4) + fleet.calls(newcomer, fleet.endpoint, start, 4)
    [found] = analyse([*fleet.records, *routine], since=fleet.since,
                      only=["aws-instance-credentials-outside"]).result.detections
    assert found.severity == Severity.LOW
    stolen = fleet.calls(newcomer, public_net(rng, avoid=[own_ip]), start + timedelta(minutes=30), 3)
    [found] = analyse([*fleet.records, *routine, *stolen], since=fleet.since,
                      only=["aws-instance-credentials-outside"]).result.detections
    assert found.severity == Severity.HIGH


# -- other accounts, trust and admin policies ------------------------------------------------------


def _assume(dev: Developer, who: Principal, target: str, when: datetime, *, error: str | None = None,
            recipient: str | None = None) -> dict[str, Any]:
    role = f"arn:aws:iam::{target}:role/{dev.rng.choice(['deploy', 'OrganizationAccountAccessRole', 'audit'])}"
    return call(who, "AssumeRole", when, ip_in(dev.home, dev.rng), dev.agent(), dev.region,
                params={"roleArn": role, "roleSessionName": f"s{dev.rng.randint(1, 10**6)}"}, error=error,
                recipient=recipient)


@pytest.mark.parametrize("seed", SEEDS)
def test_assume_role_into_other_accounts_lists_them(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    usual_target = account_id(rng)
    before = [_assume(dev, dev.who, usual_target, dev.since - timedelta(days=d)) for d in (1, 2, 4)]
    when = dev.since + timedelta(hours=rng.uniform(1, 10))
    routine = [_assume(dev, dev.who, usual_target, when), _assume(dev, dev.who, dev.account, when)]
    loaded = analyse([*dev.records, *before, *routine], since=dev.since, only=["aws-assume-role-other-account"])
    [found] = loaded.result.detections
    assert found.severity == Severity.LOW and [a["account"] for a in found.details["accounts"]] == [usual_target]

    colleague = iam_user(rng, dev.account)
    team_target = account_id(rng)
    team_before = _assume(dev, colleague, team_target, dev.since - timedelta(days=2))
    [found] = analyse([*dev.records, *before, team_before, *routine, _assume(dev, dev.who, team_target, when)],
                      since=dev.since, only=["aws-assume-role-other-account"]).result.detections
    assert found.severity == Severity.LOW and len(found.details["accounts"]) == 2

    fresh = account_id(rng)
    one_new = [*routine, _assume(dev, dev.who, fresh, when + timedelta(minutes=1))]
    [found] = analyse([*dev.records, *before, *one_new], since=dev.since,
                      only=["aws-assume-role-other-account"]).result.detections
    assert found.severity == Severity.MEDIUM and found.details["new_accounts"] == [fresh]

    probes = [_assume(dev, dev.who, account_id(rng), when + timedelta(minutes=i), error="AccessDenied")
              for i in range(2, 4)]
    loaded = analyse([*dev.records, *before, *one_new, *probes], since=dev.since,
                     only=["aws-assume-role-other-account"])
    [found] = loaded.result.detections
    assert found.severity == Severity.HIGH and len(found.details["new_accounts"]) == 3
    assert loaded.event_ids(found.rowids) == {r["eventID"] for r in [*one_new, *probes] if
                                              dev.account not in r["requestParameters"]["roleArn"]}


@pytest.mark.parametrize("seed", SEEDS)
def test_assume_role_logged_in_the_target_account_is_not_outbound(seed: int) -> None:
    dev = Developer.make(seed)
    outsider = iam_user(dev.rng, account_id(dev.rng))
    inbound = _assume(dev, outsider, dev.account, dev.since + timedelta(hours=1), recipient=dev.account)
    assert not analyse([*dev.records, inbound], since=dev.since,
                       only=["aws-assume-role-other-account"]).result.detections


def _trust(*principals: object, service: str | None = None) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Principal": {"AWS": p} if p != "*" else "*", "Action": "sts:AssumeRole"}
        for p in principals
    ]
    if service:
        statements.append({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})
    return {"Version": "2012-10-17", "Statement": statements}


def _encoded(document: dict[str, Any], rng: random.Random) -> str:
    text = json.dumps(document)
    return quote(text) if rng.random() < 0.5 else text


@pytest.mark.parametrize("seed", SEEDS)
def test_role_trusting_an_outside_account(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    partner, stranger = account_id(rng), account_id(rng)
    when = dev.since + timedelta(hours=2)

    def create(document: dict[str, Any], at: datetime, name: str = "CreateRole") -> dict[str, Any]:
        key = "assumeRolePolicyDocument" if name == "CreateRole" else "policyDocument"
        return call(dev.who, name, at, ip_in(dev.home, rng), dev.agent(), dev.region,
                    params={"roleName": f"r-{rng.randint(1, 10**6)}", key: _encoded(document, rng)})

    partner_before = create(_trust(f"arn:aws:iam::{partner}:root"), dev.since - timedelta(days=3))
    service_role = create(_trust(service=rng.choice(["lambda.amazonaws.com", "ec2.amazonaws.com"])), when)
    own = create(_trust(f"arn:aws:iam::{dev.account}:role/ci"), when)
    partner_again = create(_trust(partner), when, "UpdateAssumeRolePolicy")
    backdoor = create(_trust(f"arn:aws:iam::{stranger}:user/x", service="lambda.amazonaws.com"), when,
                      rng.choice(["CreateRole", "UpdateAssumeRolePolicy"]))
    anyone = create(_trust("*"), when)
    loaded = analyse([*dev.records, partner_before, service_role, own, partner_again, backdoor, anyone],
                     since=dev.since, only=["aws-trust-outside-account"])
    found = {loaded.event_ids(d.rowids).pop(): d for d in loaded.result.detections}
    assert set(found) == {partner_again["eventID"], backdoor["eventID"], anyone["eventID"]}
    assert found[partner_again["eventID"]].severity == Severity.LOW
    assert found[backdoor["eventID"]].severity == Severity.HIGH
    assert found[backdoor["eventID"]].details["new_outside_accounts"] == [stranger]
    assert found[anyone["eventID"]].severity == Severity.HIGH and found[anyone["eventID"]].details["anyone"]


@pytest.mark.parametrize("seed", SEEDS)
def test_admin_inline_policies_and_versions(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    when = dev.since + timedelta(hours=5)
    admin = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": rng.choice(["*", "iam:*", ["*"]]), "Resource": "*"}]}
    narrow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::b-{rng.randint(1, 999)}/*"}]}
    events = []
    for name, target in (("PutUserPolicy", "userName"), ("PutRolePolicy", "roleName"),
                         ("PutGroupPolicy", "groupName"), ("CreatePolicyVersion", "policyArn")):
        for document in (admin, narrow):
            events.append(call(dev.who, name, when, ip_in(dev.home, rng), dev.agent(), dev.region,
                               params={target: f"t-{rng.randint(1, 10**6)}", "policyName": "p",
                                       "policyDocument": _encoded(document, rng)}))
    broken = call(dev.who, "PutUserPolicy", when, ip_in(dev.home, rng), dev.agent(), dev.region,
                  params={"userName": "u", "policyName": "p", "policyDocument": "{not json"})
    loaded = analyse([*dev.records, *events, broken], since=dev.since, only=["aws-admin-inline-policy"])
    assert {loaded.event_ids(d.rowids).pop() for d in loaded.result.detections} == {
        e["eventID"] for e in events[0::2]}
    assert all(d.severity == Severity.HIGH for d in loaded.result.detections)
    assert any(broken["eventID"] in note for note in loaded.result.notes)


# -- instances -------------------------------------------------------------------------------------

SMALL = ("t3.micro", "t3.small", "t3a.medium", "m5.large", "m6i.large", "c5.large")


def _launch(dev: Developer, who: Principal, when: datetime, region: str, instance_type: str, *,
            spot: bool = False, ip: str | None = None, agent: str | None = None,
            error: str | None = None) -> dict[str, Any]:
    image = f"ami-0{dev.rng.randint(10**15, 10**16)}"
    if spot:
        return call(who, "RequestSpotInstances", when, ip or ip_in(dev.home, dev.rng), agent or dev.agent(), region,
                    params={"instanceCount": 1, "type": "one-time",
                            "launchSpecification": {"imageId": image, "instanceType": instance_type}}, error=error)
    return call(who, "RunInstances", when, ip or ip_in(dev.home, dev.rng), agent or dev.agent(), region,
                params={"instancesSet": {"items": [{"imageId": image, "minCount": 1, "maxCount": 1}]},
                        "instanceType": instance_type}, error=error)


@pytest.mark.parametrize("seed", SEEDS)
def test_launches_in_a_region_the_account_does_not_use(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    scaler_region = rng.choice([r for r in REGIONS if r != dev.region])
    unused = rng.choice([r for r in REGIONS if r not in (dev.region, scaler_region)])
    scaler = role_session(rng, dev.account, "AWSServiceRoleForAutoScaling", "AutoScaling")
    before = [_launch(dev, dev.who, dev.since - timedelta(days=d), dev.region, rng.choice(SMALL)) for d in (2, 5)]
    before += [_launch(dev, scaler, dev.since - timedelta(days=d), scaler_region, "m5.large",
                       ip="autoscaling.amazonaws.com", agent="autoscaling.amazonaws.com") for d in (1, 3)]
    when = dev.since + timedelta(hours=rng.uniform(1, 20))
    usual = [_launch(dev, dev.who, when, dev.region, rng.choice(SMALL)),
             _launch(dev, scaler, when, scaler_region, "m5.large", ip="autoscaling.amazonaws.com",
                     agent="autoscaling.amazonaws.com")]
    loaded = analyse([*dev.records, *before, *usual], since=dev.since, only=["aws-run-instances-unused-region"])
    assert not loaded.result.detections

    stolen = dev.stranger_ip()
    abroad = [_launch(dev, dev.who, when, unused, "m5.large", ip=stolen),
              _launch(dev, dev.who, when, unused, "c5.large", ip=stolen, spot=True,
                      error="Client.UnauthorizedOperation")]
    loaded = analyse([*dev.records, *before, *usual, *abroad], since=dev.since,
                     only=["aws-run-instances-unused-region"])
    [found] = loaded.result.detections
    assert found.severity == Severity.HIGH and found.details["region"] == unused and found.details["denied"] == 1
    assert loaded.event_ids(found.rowids) == {r["eventID"] for r in abroad}


@pytest.mark.parametrize("seed", SEEDS)
def test_launches_without_history_give_a_note(seed: int) -> None:
    rng = random.Random(seed)
    account = account_id(rng)
    who = iam_user(rng, account)
    since = start_time(rng)
    regions = rng.sample(REGIONS, 3)
    dev = Developer.make(seed)
    launches = [_launch(dev, who, since + timedelta(minutes=i), region, "c5.large") for i, region in enumerate(regions)]
    loaded = analyse(launches, since=since, only=["aws-run-instances-unused-region"])
    assert not loaded.result.detections
    assert any(account in note and "no history" in note for note in loaded.result.notes)


@pytest.mark.parametrize("seed", SEEDS)
def test_launches_of_unusual_instance_families(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    usual_types = rng.sample(SMALL, 3)
    before = [_launch(dev, dev.who, dev.since - timedelta(days=d), dev.region, t) for d, t in enumerate(usual_types, 1)]
    when = dev.since + timedelta(hours=2)
    same_family = usual_types[0].split(".")[0] + rng.choice([".xlarge", ".2xlarge", ".nano"])
    known = _launch(dev, dev.who, when, dev.region, same_family)
    loaded = analyse([*dev.records, *before, known], since=dev.since, only=["aws-run-instances-unusual-type"])
    assert not loaded.result.detections

    small = rng.choice(["r6i.large", "z1d.xlarge", "t4g.small", "hpc7g.4xlarge"])
    big = rng.choice(["x2idn.16xlarge", "c7i.48xlarge", "r7a.metal", "r7a.8xlarge"])
    gpu = rng.choice(["g5.12xlarge", "p4d.24xlarge", "g4dn.xlarge", "trn1.32xlarge", "inf2.xlarge"])
    events = [_launch(dev, dev.who, when, dev.region, small), _launch(dev, dev.who, when, dev.region, big),
              _launch(dev, dev.who, when, dev.region, gpu, spot=rng.random() < 0.5)]
    loaded = analyse([*dev.records, *before, known, *events], since=dev.since, only=["aws-run-instances-unusual-type"])
    severity = {d.details["family"]: d.severity for d in loaded.result.detections}
    family = {t: t.split(".")[0] for t in (small, big, gpu)}
    assert severity == {family[small]: Severity.LOW, family[big]: Severity.MEDIUM, family[gpu]: Severity.HIGH}

    without_history = analyse(events, since=None, only=["aws-run-instances-unusual-type"])
    severity = {d.details["family"]: d.severity for d in without_history.result.detections}
    assert severity == {family[big]: Severity.MEDIUM, family[gpu]: Severity.HIGH}


# -- admin group -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_add_user_to_admin_group(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    admins, named, inline, readers = (f"{rng.choice(['ops', 'core', 'platform'])}-{rng.randint(1, 999)}",
                                      f"{rng.choice(['AWS', 'team', 'Org'])}-{rng.choice(['Admins', 'admin'])}",
                                      f"break-glass-{rng.randint(1, 99)}", f"readers-{rng.randint(1, 99)}")
    ip = ip_in(dev.home, rng)

    def iam(name: str, when: datetime, **params: Any) -> dict[str, Any]:
        return call(dev.who, name, when, ip, dev.agent(), dev.region, params=params)

    arn = rng.choice(["AdministratorAccess", "IAMFullAccess"])
    setup = [iam("AttachGroupPolicy", dev.since - timedelta(days=4), groupName=admins,
                 policyArn=f"arn:aws:iam::aws:policy/{arn}"),
             iam("AttachGroupPolicy", dev.since - timedelta(days=4), groupName=readers,
                 policyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")]
    when = dev.since + timedelta(hours=1)
    adds = {group: iam("AddUserToGroup", when, groupName=group, userName=f"u{rng.randint(1, 999)}")
            for group in (admins, named, inline, readers)}
    later = iam("PutGroupPolicy", when + timedelta(minutes=2), groupName=inline, policyName="p",
                policyDocument=json.dumps({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    loaded = analyse([*dev.records, *setup, *adds.values(), later], since=dev.since,
                     only=["aws-add-user-to-admin-group"])
    found = {d.details["group"]: d for d in loaded.result.detections}
    assert set(found) == {admins, named, inline}
    assert all(d.severity == Severity.HIGH for d in found.values())
    assert found[admins].details["admin_because"] == [f"AttachGroupPolicy arn:aws:iam::aws:policy/{arn}"]
    assert loaded.event_ids(found[inline].rowids) == {adds[inline]["eventID"]}


# -- routine activity and attacks inside it --------------------------------------------------------


@pytest.mark.parametrize("seed", [5, 77])
def test_routine_activity_gives_no_medium_or_higher_detection(seed: int) -> None:
    account = routine(seed)
    loaded = analyse(account.records, since=account.since)
    loud = [(d.rule, d.severity, d.subject) for d in loaded.result.detections if d.severity.at_least(Severity.MEDIUM)]
    covered, total, share = medium_plus_share(loaded)
    print(f"routine seed {seed}: {len(account.records)} events, {total} in the window, "
          f"medium+ cover {covered} ({share:.2%}); detections: {len(loaded.result.detections)}")
    assert total > 300 and not loud


@pytest.mark.parametrize("seed", [5, 77])
def test_a_travelling_developer_stays_under_one_percent(seed: int) -> None:
    account = routine(seed)
    rng = account.rng
    dev = account.developers[0]
    hotel = ip_in(public_net(rng, avoid=[dev.home, dev.office]), rng)
    when = (account.since + timedelta(hours=rng.uniform(2, 20))).replace(second=0, microsecond=0)
    trip = [call(dev.who, rng.choice(["DescribeInstances", "ListBuckets", "StartInstances", "CreateTags"]),
                 when + timedelta(minutes=5 * i), hotel, user_agent(rng, dev.families[0]), dev.region)
            for i in range(4)]
    # The developer is at the hotel, not at home or the office, in the hours around the trip.
    at_hotel = {when + timedelta(minutes=m) for m in range(-120, 140)}
    elsewhere = [r for r in account.records if not (
        r["userIdentity"].get("arn") == dev.who.arn
        and datetime.fromisoformat(r["eventTime"].replace("Z", "+00:00")).replace(second=0) in at_hotel)]
    loaded = analyse([*elsewhere, *trip], since=account.since)
    covered, total, share = medium_plus_share(loaded)
    print(f"travelling developer, seed {seed}: medium+ cover {covered} of {total} window events ({share:.2%})")
    assert loaded.by_rule("aws-new-source-ip") and share < 0.01


@pytest.mark.parametrize("seed", [5, 77])
def test_attacker_with_an_ordinary_sdk_inside_routine_is_caught(seed: int) -> None:
    account = routine(seed)
    rng = account.rng
    victim = rng.choice(account.developers)
    ip = ip_in(public_net(rng, avoid=[d.home for d in account.developers] + [d.office for d in account.developers]),
               rng)
    family = rng.choice(["boto3", "aws-cli"])
    when = account.since + timedelta(hours=rng.uniform(1, 30))
    steps = ["GetCallerIdentity", "ListUsers", "ListRoles", "ListBuckets", "GetSecretValue", "GetSecretValue",
             "CreateUser", "CreateAccessKey", "AttachUserPolicy"]
    attack = [call(victim.who, name, when + timedelta(minutes=i), ip, user_agent(rng, family), account.region)
              for i, name in enumerate(steps)]
    loaded = analyse([*account.records, *attack], since=account.since)
    caught = {rid for d in loaded.result.detections if d.severity.at_least(Severity.HIGH) for rid in d.rowids}
    assert {r["eventID"] for r in attack} <= loaded.event_ids(caught)


@pytest.mark.parametrize("seed", [5, 77])
def test_stolen_instance_credentials_inside_routine_are_caught(seed: int) -> None:
    account = routine(seed)
    rng = account.rng
    in_window = [r for r in account.records if r["userIdentity"].get("sessionContext", {}).get("ec2RoleDelivery")
                 and r["eventTime"] >= account.since.strftime("%Y-%m-%dT%H:%M:%SZ")]
    stolen = rng.choice(in_window)
    ip = ip_in(public_net(rng), rng)
    when = datetime.fromisoformat(stolen["eventTime"].replace("Z", "+00:00")) + timedelta(minutes=rng.uniform(1, 50))
    abuse = [call(Principal(account.account, stolen["userIdentity"]), name, when + timedelta(seconds=30 * i), ip,
                  user_agent(rng, "aws-cli"), account.region)
             for i, name in enumerate(["GetCallerIdentity", "ListBuckets", "GetSecretValue"])]
    loaded = analyse([*account.records, *abuse], since=account.since)
    [found] = loaded.by_rule("aws-instance-credentials-outside")
    assert found.severity == Severity.HIGH
    assert loaded.event_ids(found.rowids) == {r["eventID"] for r in abuse}


# -- routine without history -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_bursts_by_infrastructure_as_code_or_repeated_daily_without_history_are_notes(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    plan = rng.sample(RECON_NAMES, 40)
    runner = role_session(rng, dev.account, f"tf-{rng.randint(1, 99)}", "terraform")
    start = dev.since + timedelta(hours=rng.uniform(1, 5))
    terraform = [call(runner, name, start + timedelta(seconds=2 * i), ip_in(public_net(rng), rng),
                      user_agent(rng, "terraform"), dev.region) for i, name in enumerate(plan)]
    loaded = analyse([*dev.records, *terraform], since=dev.since, only=["aws-enumeration-burst"])
    assert not loaded.result.detections and "infrastructure-as-code" in loaded.result.notes[0]

    job = iam_user(rng, dev.account)
    daily = [r for day in range(4) for r in _reads(dev, job, plan, start + timedelta(days=day), timedelta(minutes=2),
                                                   ip_in(dev.home, rng))]
    loaded = analyse(daily, since=None, only=["aws-enumeration-burst"])
    assert not loaded.result.detections and "days or more of the window" in loaded.result.notes[0]
    once = analyse(daily[:40], since=None, only=["aws-enumeration-burst"])
    assert [d.severity for d in once.result.detections] == [Severity.HIGH]


@pytest.mark.parametrize("seed", SEEDS)
def test_cross_account_without_history_is_routine_when_daily(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    partner = account_id(rng)
    daily = [_assume(dev, dev.who, partner, dev.since + timedelta(days=d, hours=rng.uniform(8, 18))) for d in range(3)]
    [found] = analyse(daily, since=None, only=["aws-assume-role-other-account"]).result.detections
    assert found.severity == Severity.LOW and found.details["accounts"][0]["days_in_window"] == 3
    [found] = analyse(daily[:2], since=None, only=["aws-assume-role-other-account"]).result.detections
    assert found.severity == Severity.MEDIUM


@pytest.mark.parametrize("seed", SEEDS)
def test_instance_role_without_history_needs_two_public_networks(seed: int) -> None:
    fleet = Fleet.make(seed)
    rng = fleet.rng
    instance = fleet.session(instance_id(rng))
    start = fleet.since + timedelta(hours=2)
    own = fleet.calls(instance, public_net(rng), start, 4) + fleet.calls(instance, private_net(rng), start, 4)
    assert not analyse(own, since=None, only=["aws-instance-credentials-outside"]).result.detections
    stolen = fleet.calls(instance, public_net(rng), start + timedelta(minutes=30), 2)
    loaded = analyse([*own, *stolen], since=None, only=["aws-instance-credentials-outside"])
    [found] = loaded.result.detections
    assert found.severity == Severity.HIGH and len(found.details["outside_networks"]) == 2


def test_a_window_too_big_to_copy_gives_the_same_detections(monkeypatch: pytest.MonkeyPatch) -> None:
    account = routine(9)
    rng = account.rng
    victim = account.developers[0]
    ip = ip_in(public_net(rng, avoid=[victim.home, victim.office]), rng)
    attack = [call(victim.who, name, account.since + timedelta(hours=3, minutes=i), ip, user_agent(rng, "boto3"),
                   account.region) for i, name in enumerate(["ListUsers", "CreateUser", "CreateAccessKey"])]
    records = [*account.records, *attack]

    def summary(loaded: Any) -> list[tuple[str, str, tuple[int, ...]]]:
        return sorted((d.rule, str(d.severity), d.rowids) for d in loaded.result.detections)

    copied = analyse(records, since=account.since)
    kinds = {r[0] for r in copied.store.db.execute(
        "SELECT 'table' FROM duckdb_tables() WHERE table_name = 'awsr_win' UNION "
        "SELECT 'view' FROM duckdb_views() WHERE view_name = 'awsr_win'").fetchall()}
    monkeypatch.setattr("awsrespond.hunt.analytics.prepare.MATERIALISED_WINDOW", 0)
    viewed = analyse(records, since=account.since)
    kinds |= {r[0] for r in viewed.store.db.execute(
        "SELECT 'view' FROM duckdb_views() WHERE view_name = 'awsr_win'").fetchall()}
    assert kinds == {"table", "view"}
    assert summary(copied) == summary(viewed) and copied.by_rule("aws-new-source-ip")


@pytest.mark.parametrize("seed", SEEDS)
def test_without_history_networks_a_key_uses_on_several_days_are_its_own(seed: int) -> None:
    dev = Developer.make(seed)
    rng = dev.rng
    office, home = public_net(rng), public_net(rng)
    start = dev.since + timedelta(hours=8)
    habit: list[dict[str, Any]] = []
    for day in range(4):
        here, there = _interleave(dev, (dev.who, office), (dev.who, home), start + timedelta(days=day), 4,
                                  timedelta(minutes=20))
        habit += here + there
    loaded = analyse(habit, since=None, only=["aws-access-key-two-networks"])
    assert dev.who.key and not loaded.result.detections and dev.who.key in loaded.result.notes[0]

    thief = dev.stranger_ip(office, home)
    theft = [call(dev.who, "ListUsers", start + timedelta(days=1, minutes=30 + 5 * i), thief, dev.agent(), dev.region)
             for i in range(3)]
    loaded = analyse([*habit, *theft], since=None, only=["aws-access-key-two-networks"])
    [found] = loaded.result.detections
    assert {r["eventID"] for r in theft} <= loaded.event_ids(found.rowids)
    assert [n["seen_in_history"] for n in found.details["networks"]].count(False) == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_without_history_an_instance_key_at_home_on_two_networks_for_days_is_a_note(seed: int) -> None:
    fleet = Fleet.make(seed)
    rng = fleet.rng
    instance = fleet.session(instance_id(rng))
    first, second = public_net(rng), public_net(rng)
    days = [r for day in range(3) for net in (first, second)
            for r in fleet.calls(instance, net, fleet.since + timedelta(days=day, hours=rng.uniform(0, 5)), 3)]
    loaded = analyse(days, since=None, only=["aws-instance-credentials-outside"])
    assert instance.key and not loaded.result.detections
    assert any(instance.key in note for note in loaded.result.notes)
    one_day = analyse(days[:6], since=None, only=["aws-instance-credentials-outside"])
    assert [d.severity for d in one_day.result.detections] == [Severity.HIGH]
