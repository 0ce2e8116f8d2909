"""Attacks injected into routine activity: a credential of the account used from a new network with an
ordinary SDK or CLI user agent, then a few steps of what attackers do with it.

Which credential (the legacy service user's key, a developer's key, an instance's role credentials)
and which steps follow from the seed; :func:`attack_plan` rotates through :data:`STEPS` so that a
few consecutive seeds cover every step. Each step names its key events: the calls that are the
behaviour itself, which the hunt must cover with findings at medium or above.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from awsrespond.emulator.cloudtrail import GLOBAL_EVENT_REGION, iam_date
from tests.routine_account import COMMERCIAL_REGIONS, Account, Trail, role_identity, trust_document, user_identity
from tests.routine_activity import RoutineDataset, write_records
from tests.routine_agents import Agent, aws_cli, boto3, go
from tests.routine_shapes import (
    function_arn,
    new_credential,
    policy_document,
    run_instances,
    secret_value,
    service_assume_role,
)

STEPS = (
    "admin-user", "role-backdoor", "gpu-unused-region", "stop-trail", "blind-detection", "snapshot-share",
    "secrets-dump", "lambda-backdoor", "console-backdoor", "federation-token",
)
CREDENTIALS = ("legacy-key", "developer-key", "instance-credentials")
_VPS_FIRST_OCTETS = (5, 23, 37, 45, 46, 80, 89, 103, 139, 141, 146, 159, 165, 167, 185, 193, 194, 195, 206, 209)
GPU_TYPES = ("p3.8xlarge", "p3.16xlarge", "g5.12xlarge", "g5.48xlarge", "g4dn.12xlarge", "p4d.24xlarge",
             "g6.12xlarge", "p5.48xlarge")
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


@dataclass(frozen=True)
class Step:
    name: str
    key_events: tuple[tuple[str, str], ...]
    """(eventName, eventID) of each call that is the behaviour itself."""


@dataclass
class InjectedAttack:
    root: Path
    credential: str
    """Which credential was stolen (one of :data:`CREDENTIALS`) and whose."""
    access_key: str
    source_ip: str
    user_agent: str
    start: datetime
    steps: list[Step] = field(default_factory=list)
    event_ids: set[str] = field(default_factory=set)


def attack_plan(seed: int, count: int = 4) -> tuple[str, list[str]]:
    """The credential and the steps for ``seed``: consecutive seeds cover every step."""
    steps = [STEPS[(seed * count + i) % len(STEPS)] for i in range(count)]
    credential = CREDENTIALS[(seed + 1) % len(CREDENTIALS)]
    if credential == "instance-credentials" and "federation-token" in steps:
        # A role cannot call GetFederationToken: the first step not planned yet takes its place.
        spare = next(n for n in STEPS if n not in steps)
        steps = [spare if n == "federation-token" else n for n in steps]
    return credential, steps


class _Attacker:
    def __init__(self, dataset: RoutineDataset, rng: random.Random, trail: Trail, identity: dict[str, Any],
                 ip: str, agent: Agent, start: datetime, user_name: str | None) -> None:
        self.dataset = dataset
        self.account: Account = dataset.account
        self.rng = rng
        self.trail = trail
        self.identity = identity
        self.ip = ip
        self.agent = agent
        self.t = start
        self.user_name = user_name

    def call(self, service: str, operation: str, request: dict[str, Any] | None = None,
             response: dict[str, Any] | None = None, *, region: str | None = None,
             error: tuple[str, str] | None = None, identity: dict[str, Any] | None = None,
             event_type: str = "AwsApiCall", additional: dict[str, Any] | None = None,
             user_agent: str | None = None) -> dict[str, Any]:
        self.t += timedelta(seconds=self.rng.uniform(1, 25))
        where = region or (GLOBAL_EVENT_REGION if service in ("iam", "sts") else self.account.home)
        return self.trail.call(self.t, service, operation, where, identity or self.identity, self.ip,
                               user_agent or self.agent.for_call(service, operation), request, response, error=error,
                               event_type=event_type, additional=additional)

    def pause(self, minutes: float) -> None:
        self.t += timedelta(minutes=self.rng.uniform(minutes / 2, minutes))

    # -- recon, not a key step --

    def recon(self) -> list[dict[str, Any]]:
        """Who am I, then what is there: a few minutes of distinct reads across services."""
        events = [self.call("sts", "GetCallerIdentity")]
        calls: list[tuple[str, str, dict[str, Any] | None]] = [
            ("iam", "ListUsers", {}), ("iam", "ListRoles", {}), ("iam", "GetAccountSummary", None),
            ("iam", "ListAttachedUserPolicies", {"userName": self.user_name or "admin"}),
            ("iam", "ListAccessKeys", {}), ("iam", "ListGroups", {}), ("iam", "ListPolicies", {"scope": "Local"}),
            ("iam", "GetAccountAuthorizationDetails", {}),
            ("s3", "ListBuckets", {"Host": "s3.amazonaws.com"}), ("ec2", "DescribeInstances", {"instancesSet": {}}),
            ("ec2", "DescribeRegions", {"regionSet": {}}), ("ec2", "DescribeSecurityGroups", {}),
            ("ec2", "DescribeSnapshots", {"ownersSet": {"items": [{"owner": "self"}]}}),
            ("secretsmanager", "ListSecrets", {}), ("ssm", "DescribeParameters", {}),
            ("lambda", "ListFunctions20150331", None), ("organizations", "DescribeOrganization", None),
            ("cloudtrail", "DescribeTrails", {}), ("guardduty", "ListDetectors", {}), ("kms", "ListKeys", {}),
            ("rds", "DescribeDBInstances", None), ("dynamodb", "ListTables", None),
        ]
        for service, operation, request in self.rng.sample(calls, self.rng.randint(8, 16)):
            events.append(self.call(service, operation, request))
        self.pause(10)
        return events

    # -- steps: each returns its key events --

    def admin_user(self) -> list[dict[str, Any]]:
        name = self.rng.choice(("backup-svc", "support-ops", "aws-health-check", "ci-runner2", "monitoring"))
        user_id = self.account.ids.unique("AIDA")
        created = self.call("iam", "CreateUser", {"userName": name}, {"user": {
            "path": "/", "userName": name, "userId": user_id,
            "arn": f"arn:aws:iam::{self.account.account_id}:user/{name}", "createDate": iam_date(self.t)}})
        key = self.account.ids.access_key(temporary=False)
        access = self.call("iam", "CreateAccessKey", {"userName": name}, {"accessKey": {
            "userName": name, "accessKeyId": key, "status": "Active", "createDate": iam_date(self.t)}})
        if self.rng.random() < 0.5:
            grant = self.call("iam", "AttachUserPolicy", {"userName": name, "policyArn": ADMIN})
        else:
            grant = self.call("iam", "PutUserPolicy", {"userName": name, "policyName": "default", "policyDocument":
                              policy_document([{"Effect": "Allow", "Action": "*", "Resource": "*"}])})
        return [created, access, grant]

    def role_backdoor(self) -> list[dict[str, Any]]:
        outside = str(self.rng.randint(100_000_000_000, 999_999_999_999))
        document = trust_document({"AWS": f"arn:aws:iam::{outside}:root"})
        if self.rng.random() < 0.5:
            name = self.rng.choice(("OrganizationAccountAccess", "aws-support-access", "SecurityAuditRole"))
            created = self.call("iam", "CreateRole", {"roleName": name, "assumeRolePolicyDocument": document}, {
                "role": {"roleName": name, "roleId": self.account.ids.unique("AROA"), "path": "/",
                         "arn": f"arn:aws:iam::{self.account.account_id}:role/{name}", "createDate": iam_date(self.t),
                         "assumeRolePolicyDocument": document}})
            attached = self.call("iam", "AttachRolePolicy", {"roleName": name, "policyArn": ADMIN})
            return [created, attached]
        role = self.dataset.terraform_role
        return [self.call("iam", "UpdateAssumeRolePolicy", {"roleName": role.name, "policyDocument": document})]

    def gpu_unused_region(self) -> list[dict[str, Any]]:
        used = set(self.account.regions)
        region = self.rng.choice([r for r in COMMERCIAL_REGIONS if r not in used])
        image = f"ami-0{self.account.ids.hex(16)}"
        group = self.account.ids.resource("sg")
        self.call("ec2", "DescribeImages", {"imagesSet": {}, "filterSet": {}}, region=region)
        keys = [self.call("ec2", "CreateKeyPair", {"keyName": f"k{self.account.ids.hex(6)}"}, region=region)]
        failures = []
        types = self.rng.sample(GPU_TYPES, 4)
        for instance_type in types[:self.rng.randint(2, 4)]:
            self.t += timedelta(seconds=self.rng.uniform(1, 10))
            failures.append(run_instances(
                self.trail, self.t, identity=self.identity, ip=self.ip,
                user_agent=self.agent.for_call("ec2", "RunInstances"), region=region, instance_type=instance_type,
                instance_ids=[], image_id=image, subnet=self.account.ids.resource("subnet"), security_group=group,
                error=self.rng.choice((
                    ("Client.VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU limit "
                                                 "of 0 allows for the instance bucket that the specified instance type "
                                                 "belongs to."),
                    ("Server.InsufficientInstanceCapacity", f"We currently do not have sufficient {instance_type} "
                                                            "capacity in the Availability Zone you requested."),
                ))))
        count = self.rng.randint(1, 8)
        self.t += timedelta(seconds=self.rng.uniform(5, 60))
        launched = run_instances(
            self.trail, self.t, identity=self.identity, ip=self.ip,
            user_agent=self.agent.for_call("ec2", "RunInstances"), region=region,
            instance_type=self.rng.choice(GPU_TYPES[4:]),
            instance_ids=[self.account.ids.resource("i") for _ in range(count)], image_id=image,
            subnet=self.account.ids.resource("subnet"), security_group=group, key_name=keys[0]["requestParameters"]
            ["keyName"])
        spot = self.call("ec2", "RequestSpotInstances", {
            "instanceCount": self.rng.randint(2, 10), "type": "one-time",
            "launchSpecification": {"imageId": image, "instanceType": self.rng.choice(GPU_TYPES)}},
            {"spotInstanceRequestSet": {"items": [{"spotInstanceRequestId": f"sir-{self.account.ids.hex(8)}"}]}},
            region=region)
        return [*failures, launched, spot]

    def stop_trail(self) -> list[dict[str, Any]]:
        arn = f"arn:aws:cloudtrail:{self.account.home}:{self.account.account_id}:trail/{self.account.trail_name}"
        choice = self.rng.choice(("StopLogging", "DeleteTrail", "PutEventSelectors"))
        if choice == "PutEventSelectors":
            return [self.call("cloudtrail", choice, {"trailName": arn, "eventSelectors": [
                {"readWriteType": "ReadOnly", "includeManagementEvents": False, "dataResources": []}]})]
        return [self.call("cloudtrail", choice, {"name": self.rng.choice((arn, self.account.trail_name))})]

    def blind_detection(self) -> list[dict[str, Any]]:
        region = self.rng.choice((self.account.home, self.account.dr))
        events = []
        if self.rng.random() < 0.5:
            events.append(self.call("guardduty", "DeleteDetector", {"detectorId": self.account.detector_id},
                                    region=region))
        else:
            events.append(self.call("guardduty", "CreateIPSet", {
                "detectorId": self.account.detector_id, "name": "trusted", "format": "TXT", "activate": True,
                "location": f"https://s3.amazonaws.com/{self.account.ids.hex(10)}/ips.txt"}, region=region))
        events.append(self.call("config", "StopConfigurationRecorder",
                                {"configurationRecorderName": self.account.recorder_name}, region=region))
        if self.rng.random() < 0.5:
            events.append(self.call("ec2", "DeleteFlowLogs", {"DeleteFlowLogsRequest": {
                "FlowLogId": {"content": f"fl-{self.account.ids.hex(17)}", "tag": 1}}}, region=region))
        return events

    def snapshot_share(self) -> list[dict[str, Any]]:
        outside = str(self.rng.randint(100_000_000_000, 999_999_999_999))
        kind = self.rng.choice(("snapshot", "image", "db-snapshot"))
        if kind == "snapshot":
            snapshot = self.account.ids.resource("snap")
            self.call("ec2", "CreateSnapshot", {"volumeId": self.account.ids.resource("vol")},
                      {"snapshotId": snapshot, "status": "pending"})
            return [self.call("ec2", "ModifySnapshotAttribute", {
                "snapshotId": snapshot, "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"add": {"items": [{"userId": outside}]}}}, {"_return": True})]
        if kind == "image":
            image = f"ami-0{self.account.ids.hex(16)}"
            self.call("ec2", "CreateImage", {"instanceId": self.account.ids.resource("i"), "name": "backup"},
                      {"imageId": image})
            return [self.call("ec2", "ModifyImageAttribute", {
                "imageId": image, "launchPermission": {"add": {"items": [{"userId": outside}]}},
                "attributeType": "launchPermission"}, {"_return": True})]
        name = f"{self.account.env}-db-{self.account.ids.hex(4)}"
        self.call("rds", "CreateDBSnapshot", {"dBSnapshotIdentifier": name, "dBInstanceIdentifier": self.account.env})
        return [self.call("rds", "ModifyDBSnapshotAttribute", {
            "dBSnapshotIdentifier": name, "attributeName": "restore", "valuesToAdd": [outside]})]

    def secrets_dump(self) -> list[dict[str, Any]]:
        self.call("secretsmanager", "ListSecrets", {})
        before = len(self.trail.records)
        for secret in self.account.secrets:
            secret_value(self.trail, self.t, identity=self.identity, ip=self.ip,
                         user_agent=self.agent.for_call("secretsmanager", "GetSecretValue"), secret=secret,
                         region=self.account.home)
            self.t += timedelta(seconds=self.rng.uniform(0.2, 3))
        reads = [r for r in self.trail.records[before:] if r["eventName"] == "GetSecretValue"]
        by_path = self.call("ssm", "GetParametersByPath", {"path": f"/{self.account.env}/", "recursive": True,
                                                           "withDecryption": True})
        return [*reads, by_path]

    def lambda_backdoor(self) -> list[dict[str, Any]]:
        function = self.rng.choice(self.account.functions)
        statement = json.dumps({"Sid": "s3", "Effect": "Allow", "Principal": "*", "Action": "lambda:InvokeFunction",
                                "Resource": function_arn(self.account, function)})
        return [self.call("lambda", "AddPermission20150331v2", {
            "functionName": function, "statementId": self.account.ids.hex(6), "action": "lambda:InvokeFunction",
            "principal": "*"}, {"statement": statement})]

    def console_backdoor(self) -> list[dict[str, Any]]:
        targets = [d.user.name for d in self.dataset.developers if d.user is not None] or [
            self.dataset.legacy.user.name]
        name = self.rng.choice(targets)
        operation = self.rng.choice(("CreateLoginProfile", "UpdateLoginProfile"))
        profile = self.call("iam", operation, {"userName": name, "passwordResetRequired": False})
        self.pause(5)
        user_id = next((d.user.user_id for d in self.dataset.developers if d.user is not None and d.user.name == name),
                       self.dataset.legacy.user.user_id)
        login = self.call(
            "signin", "ConsoleLogin", None, {"ConsoleLogin": "Success"}, region=GLOBAL_EVENT_REGION,
            identity={"type": "IAMUser", "principalId": user_id, "accountId": self.account.account_id,
                      "arn": f"arn:aws:iam::{self.account.account_id}:user/{name}", "userName": name},
            event_type="AwsConsoleSignIn", user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                                     "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
            additional={"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No",
                        "MFAUsed": "No"})
        return [profile, login]

    def federation_token(self) -> list[dict[str, Any]]:
        key = self.account.ids.access_key(temporary=True)
        name = self.rng.choice(("admin", "support", "session"))
        token = self.call("sts", "GetFederationToken", {
            "name": name, "durationSeconds": 129600,
            "policy": policy_document([{"Effect": "Allow", "Action": "*", "Resource": "*"}])},
            {"credentials": {"accessKeyId": key, "sessionToken": self.account.ids.token(), "expiration": ""},
             "federatedUser": {"federatedUserId": f"{self.account.account_id}:{name}",
                               "arn": f"arn:aws:sts::{self.account.account_id}:federated-user/{name}"}})
        federated = {"type": "FederatedUser", "principalId": f"{self.account.account_id}:{name}",
                     "arn": f"arn:aws:sts::{self.account.account_id}:federated-user/{name}",
                     "accountId": self.account.account_id, "accessKeyId": key}
        self.call("sts", "GetCallerIdentity", identity=federated)
        self.call("iam", "ListUsers", {}, identity=federated)
        return [token]


def _identity(dataset: RoutineDataset, kind: str, rng: random.Random, trail: Trail,
              when: datetime) -> tuple[str, dict[str, Any], str | None]:
    """Who the attacker is: a description, the userIdentity, and the IAM user name (None for a role)."""
    account = dataset.account
    developers = [d for d in dataset.developers if d.user is not None]
    if kind == "developer-key" and developers:
        user = rng.choice(developers).user
        assert user is not None
        return f"developer-key {user.name} {user.key}", user_identity(user), user.name
    if kind == "instance-credentials":
        apps = [a for a in dataset.apps if not a.ecs] or dataset.apps
        app = rng.choice(apps)
        workload = rng.choice([w for w in app.workloads if w.start <= when < w.end] or app.workloads)
        session = workload.session
        credential = new_credential(account, when - timedelta(minutes=rng.uniform(5, 50)), hours=6)
        service_assume_role(trail, credential.created, app.service, app.role, session, credential, account.home)
        identity = role_identity(app.role, session, credential, ec2_role_delivery=not app.ecs)
        # The workload keeps using the credentials the attacker copied: its own calls, from its own addresses.
        t = credential.created + timedelta(seconds=rng.uniform(5, 60))
        while t < min(credential.expires, dataset.end):
            private = app.vpce is not None
            trail.call(t, "ssm", "GetParameters", account.home, identity,
                       workload.private_ip if private else rng.choice(account.nat_ips[account.home]),
                       app.agent.for_call("ssm", "GetParameters"), {"names": app.parameters, "withDecryption": True},
                       vpce=app.vpce)
            t += timedelta(minutes=app.parameter_minutes)
        return f"instance-credentials {app.role.name}/{session} {credential.key}", identity, None
    user = dataset.legacy.user
    return f"legacy-key {user.name} {user.key}", user_identity(user), user.name


def inject_attack(dataset: RoutineDataset, directory: Path, *, seed: int, steps: int = 4,
                  credential: str | None = None) -> InjectedAttack:
    """Write one attack on ``dataset``'s account into ``directory`` (S3 delivery layout).

    Its first step is always the reconnaissance from the new network (``recon``); ``steps=0`` leaves
    only that: a leaked credential used to look around. ``credential`` overrides the plan's."""
    rng = random.Random(seed * 7919 + 17 + steps)
    account = dataset.account
    kind, names = attack_plan(seed, steps)
    kind = credential or kind
    start = dataset.since + timedelta(days=rng.uniform(0.5, 5.5))
    trail = Trail(account)
    description, identity, user_name = _identity(dataset, kind, rng, trail, start)
    if user_name is None and "federation-token" in names:
        raise ValueError("a role cannot call GetFederationToken: choose other steps for instance credentials")
    handed_out = len(trail.records)
    ip = account.network(_VPS_FIRST_OCTETS).address(rng)
    agent = rng.choice((boto3(rng), aws_cli(rng, platform="os/linux#6.8.0-1012-aws md/arch#x86_64"), go(rng)))
    attacker = _Attacker(dataset, rng, trail, identity, ip, agent, start, user_name)
    attack = InjectedAttack(directory, description, str(identity.get("accessKeyId")), ip,
                            agent.for_call("sts", "GetCallerIdentity"), start)
    attack.steps.append(Step("recon", tuple((str(r["eventName"]), str(r["eventID"])) for r in attacker.recon())))
    actions: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "admin-user": attacker.admin_user, "role-backdoor": attacker.role_backdoor,
        "gpu-unused-region": attacker.gpu_unused_region, "stop-trail": attacker.stop_trail,
        "blind-detection": attacker.blind_detection, "snapshot-share": attacker.snapshot_share,
        "secrets-dump": attacker.secrets_dump, "lambda-backdoor": attacker.lambda_backdoor,
        "console-backdoor": attacker.console_backdoor, "federation-token": attacker.federation_token,
    }
    for name in names:
        key = actions[name]()
        attack.steps.append(Step(name, tuple((str(r["eventName"]), str(r["eventID"])) for r in key)))
        attacker.pause(20)
    attack.event_ids = {str(r["eventID"]) for r in trail.records[handed_out:]}
    write_records(directory, account.account_id, trail.records, account)
    return attack
