"""Attacker sessions: linking keys, users, roles and minted credentials back to the stolen one."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from awsrespond.attribution import attribute, combine
from awsrespond.emulator.cloudtrail import cloudtrail_record, console_login_record, iam_user_identity
from awsrespond.findings import Classification, Finding, ResourceRef, Severity
from awsrespond.hunt.detections import Detection, Window
from awsrespond.hunt.hunt_findings import session_findings
from awsrespond.hunt.session_model import Origin
from awsrespond.hunt.sessions import build_sessions
from awsrespond.trail.events import EventStore
from awsrespond.trail.files import TrailFile


def _key(rng: random.Random, prefix: str = "AKIA") -> str:
    return prefix + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16))


def _name(rng: random.Random, stem: str) -> str:
    return f"{stem}-{''.join(rng.choices(string.ascii_lowercase, k=6))}"


class Story:
    """A stolen CI key with weeks of history, an attacker campaign from it, and a bystander."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        self.rng = rng
        self.account = "".join(rng.choices(string.digits, k=12))
        self.outside = "".join(rng.choices(string.digits, k=12))
        self.since = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 200))
        self.ci_user, self.ci_key = _name(rng, "ci"), _key(rng)
        self.ci_ip = f"192.0.2.{rng.randint(2, 250)}"
        self.attacker_ip = f"198.51.100.{rng.randint(2, 250)}"
        self.second_ip = f"203.0.113.{rng.randint(2, 250)}"
        self.region = rng.choice(["ap-northeast-2", "eu-west-1", "us-west-2"])
        self.far_region = rng.choice(["sa-east-1", "ap-south-1", "eu-north-1"])
        self.new_user, self.new_key, self.minted = _name(rng, "svc"), _key(rng), _key(rng, "ASIA")
        self.console_key = _key(rng, "ASIA")
        self.role = _name(rng, "ops")
        self.legit_user = _name(rng, "dev")
        self.instance = "i-" + "".join(rng.choices("0123456789abcdef", k=17))
        self.records: list[dict[str, Any]] = []
        self.marked: list[str] = []  # event ids a rule flags
        self.ci_window_legit = 0

    def ci(self, key: str | None = None) -> dict[str, Any]:
        return iam_user_identity(account_id=self.account, user_name=self.ci_user, principal_id="AIDA" + self.ci_user,
                                 access_key_id=key or self.ci_key)

    def add(self, when: datetime, source: str, name: str, identity: dict[str, Any], ip: str, region: str = "",
            flag: bool = False, **fields: Any) -> dict[str, Any]:
        record = cloudtrail_record(event_time=when, event_source=source, event_name=name,
                                   aws_region=region or self.region, user_identity=identity, source_ip=ip,
                                   user_agent="Boto3/1.34.1 md/Botocore#1.34.1 Python/3.11.4", **fields)
        self.records.append(record)
        if flag:
            self.marked.append(record["eventID"])
        return record

    def build(self) -> None:
        t = self.since - timedelta(days=20)
        while t < self.since + timedelta(days=2):  # the CI job, before and during the window
            self.add(t, "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", self.ci(), self.ci_ip,
                     request_parameters={"functionName": "api"})
            if t >= self.since:
                self.ci_window_legit += 1
            t += timedelta(hours=6)
        t = self.since + timedelta(hours=3)
        step = timedelta(minutes=1)
        self.add(t, "sts.amazonaws.com", "GetCallerIdentity", self.ci(), self.attacker_ip)
        self.add(t + step, "iam.amazonaws.com", "CreateUser", self.ci(), self.attacker_ip, "us-east-1", flag=True,
                 request_parameters={"userName": self.new_user},
                 response_elements={"user": {"userName": self.new_user,
                                             "arn": f"arn:aws:iam::{self.account}:user/{self.new_user}"}})
        self.add(t + 2 * step, "iam.amazonaws.com", "AttachUserPolicy", self.ci(), self.attacker_ip, "us-east-1",
                 request_parameters={"userName": self.new_user,
                                     "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
        self.add(t + 3 * step, "iam.amazonaws.com", "CreateAccessKey", self.ci(), self.attacker_ip, "us-east-1",
                 request_parameters={"userName": self.new_user},
                 response_elements={"accessKey": {"accessKeyId": self.new_key, "userName": self.new_user}})
        self.add(t + 4 * step, "iam.amazonaws.com", "CreateLoginProfile", self.ci(), self.attacker_ip, "us-east-1",
                 request_parameters={"userName": self.new_user})
        self.add(t + 5 * step, "iam.amazonaws.com", "AttachUserPolicy", self.ci(), self.attacker_ip, "us-east-1",
                 request_parameters={"userName": self.legit_user,
                                     "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
        self.add(t + 6 * step, "sts.amazonaws.com", "GetSessionToken", self.ci(), self.attacker_ip, "us-east-1",
                 response_elements={"credentials": {"accessKeyId": self.minted}})
        self.add(t + 7 * step, "iam.amazonaws.com", "CreateRole", self.ci(self.minted), self.attacker_ip,
                 "us-east-1",
                 request_parameters={"roleName": self.role},
                 response_elements={"role": {"roleName": self.role,
                                             "arn": f"arn:aws:iam::{self.account}:role/{self.role}"}})
        new_user = iam_user_identity(account_id=self.account, user_name=self.new_user, principal_id="AIDANEW",
                                     access_key_id=self.new_key)
        self.add(t + 8 * step, "ec2.amazonaws.com", "RunInstances", new_user, self.second_ip, self.far_region,
                 response_elements={"instancesSet": {"items": [{"instanceId": self.instance}]}})
        self.add(t + 9 * step, "ec2.amazonaws.com", "CreateSecurityGroup", new_user, self.second_ip, self.far_region,
                 response_elements={"groupId": "sg-0abc" + self.new_key[-6:].lower()})
        self.add(t + 10 * step, "ec2.amazonaws.com", "RunInstances", new_user, self.second_ip, self.far_region,
                 error_code="Client.UnauthorizedOperation")
        self.records.append(console_login_record(event_time=t + 11 * step, account_id=self.account,
                                                 user_name=self.new_user, principal_id="AIDANEW",
                                                 source_ip=self.second_ip, user_agent="Mozilla/5.0", mfa_used=False))
        console = iam_user_identity(account_id=self.account, user_name=self.new_user, principal_id="AIDANEW",
                                    access_key_id=self.console_key)
        self.add(t + 12 * step, "ec2.amazonaws.com", "DescribeRegions", console, self.second_ip)
        role_session = {
            "type": "AssumedRole", "principalId": "AROA:x", "accountId": self.account,
            "arn": f"arn:aws:sts::{self.account}:assumed-role/{self.role}/x", "accessKeyId": _key(self.rng, "ASIA"),
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{self.account}:role/{self.role}",
                                                 "userName": self.role}},
        }
        self.add(t + 13 * step, "s3.amazonaws.com", "ListBuckets", role_session, "192.0.2.99")
        bystander = iam_user_identity(account_id=self.account, user_name=self.legit_user, principal_id="AIDALEGIT",
                                      access_key_id=_key(self.rng))
        self.add(t + 14 * step, "ec2.amazonaws.com", "DescribeInstances", bystander, "10.1.2.3")

    def store(self) -> EventStore:
        store = EventStore()
        store.load([TrailFile(path="story.json", records=self.records)])
        return store

    def detections(self, store: EventStore) -> list[Detection]:
        rows = store.db.execute("SELECT rowid FROM events WHERE eventID IN (SELECT unnest(?::VARCHAR[]))",
                                [self.marked]).fetchall()
        return [Detection(rule="test-create-user", title="t", severity=Severity.HIGH, rowids=tuple(r for (r,) in rows))]


@pytest.mark.parametrize("seed", [3, 41, 977])
def test_one_campaign_links_everything_back_to_the_stolen_key(seed: int) -> None:
    story = Story(seed)
    story.build()
    store = story.store()
    result = build_sessions(store.db, Window(since=story.since), story.detections(store))

    assert len(result.sessions) == 1
    session = result.sessions[0]
    assert session.started_from == story.ci_key
    origins = {c.credential: c.origin for c in session.credentials}
    assert origins[story.ci_key] is Origin.PRE_EXISTING
    assert origins[story.new_key] is Origin.CREATED
    assert origins[story.minted] is Origin.MINTED
    assert origins[story.console_key] is Origin.SIGNED_IN
    assert any(c.startswith("principal:") and story.new_user in c for c in origins)  # the console sign-in
    created = {(r.type, r.id, r.region) for r in session.created}
    assert ("AWS::IAM::User", story.new_user, "global") in created
    assert ("AWS::IAM::AccessKey", story.new_key, "global") in created
    assert ("AWS::IAM::LoginProfile", story.new_user, "global") in created
    assert ("AWS::IAM::Role", story.role, "global") in created
    assert ("AWS::EC2::Instance", story.instance, story.far_region) in created
    assert any(t == "AWS::EC2::SecurityGroup" and r == story.far_region for t, _, r in created)
    # The legitimate user it made admin is changed, not created; its own new user is not "changed".
    assert {(r.type, r.id) for r in session.changed} == {("AWS::IAM::User", story.legit_user)}
    # The role it created is followed into its sessions; the bystander is not in the campaign.
    assert "192.0.2.99" in session.source_ips and "10.1.2.3" not in session.source_ips
    # The CI job still running from its usual network is its owner's, not the attacker's.
    assert session.excluded_events == story.ci_window_legit
    assert story.ci_ip not in session.source_ips
    assert [e.time for e in session.timeline] == sorted(e.time for e in session.timeline)
    assert session.regions and story.far_region in session.regions


def test_findings_and_attribution_of_a_session() -> None:
    story = Story(8)
    story.build()
    store = story.store()
    session = build_sessions(store.db, Window(since=story.since), story.detections(store)).sessions[0]
    findings = session_findings([session])
    used = {(f.resource.type, f.resource.id) for f in findings if f.classification is Classification.ATTACKER_USED}
    assert ("AWS::IAM::AccessKey", story.ci_key) in used and ("AWS::IAM::User", story.ci_user) in used
    assert all(f.severity is Severity.CRITICAL for f in findings if f.rule == "hunt-credential-used-by-attacker")

    def triage(kind: str, rid: str, region: str = "global") -> Finding:
        return Finding(id=f"t-{rid}", rule="triage-x", title="new", severity=Severity.MEDIUM,
                       classification=Classification.SUSPECT, resource=ResourceRef(type=kind, id=rid, region=region))

    triaged = [triage("AWS::IAM::User", story.new_user), triage("AWS::IAM::AccessKey", story.ci_key),
               triage("AWS::EC2::Instance", story.instance, story.far_region),
               triage("AWS::EC2::Instance", story.instance, story.region),  # same id, other region: not it
               triage("AWS::IAM::User", story.legit_user + "x")]
    result = {(f.resource.id, f.resource.region): f for f in attribute(triaged, [session])}
    assert result[(story.new_user, "global")].classification is Classification.ATTACKER_CREATED
    assert result[(story.new_user, "global")].severity is Severity.HIGH
    assert result[(story.ci_key, "global")].classification is Classification.ATTACKER_USED
    assert result[(story.ci_key, "global")].severity is Severity.CRITICAL
    assert result[(story.instance, story.far_region)].classification is Classification.ATTACKER_CREATED
    assert result[(story.instance, story.region)].classification is Classification.SUSPECT
    assert result[(story.legit_user + "x", "global")].classification is Classification.SUSPECT
    combined = combine(triaged, findings, [session])
    keys = [(f.rule, f.resource.type, f.resource.id, f.resource.region) for f in combined]
    assert len(keys) == len(set(keys))
    # A resource triage already reports is not reported twice as "created by the attacker".
    assert not any(f.rule == "hunt-created-by-attacker" and (f.resource.type, f.resource.id)
                   == ("AWS::IAM::User", story.new_user) for f in combined)


def test_no_detection_no_session() -> None:
    story = Story(5)
    story.build()
    store = story.store()
    assert build_sessions(store.db, Window(since=story.since), []).sessions == []
    medium = [Detection(rule="one", title="t", severity=Severity.MEDIUM, rowids=d.rowids)
              for d in story.detections(store)]
    assert build_sessions(store.db, Window(since=story.since), medium).sessions == []  # one medium rule is not enough
