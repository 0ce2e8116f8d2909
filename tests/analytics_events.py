"""Builders for the analytics tests: seeded accounts, identities, networks and CloudTrail records.

Every name, account id, region, address and user agent comes from a ``random.Random`` so that an
analytic cannot pass by knowing the test data.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from awsrespond.emulator.cloudtrail import (
    GLOBAL_EVENT_REGION,
    cloudtrail_record,
    console_login_record,
    iam_user_identity,
)
from awsrespond.findings import Severity
from awsrespond.hunt.analytics import run_analytics
from awsrespond.hunt.analytics.registry import AnalyticResult
from awsrespond.hunt.detections import Window
from awsrespond.trail.events import EventStore
from awsrespond.trail.files import TrailFile

REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2",
           "eu-west-3", "eu-central-1", "eu-north-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
           "ap-south-1", "sa-east-1", "me-south-1", "af-south-1")
_PUBLIC_FIRST = (24, 31, 37, 46, 50, 62, 64, 68, 71, 73, 77, 81, 84, 86, 88, 91, 94, 98, 109, 151, 176, 188,
                 190, 201, 212, 217)
_WORDS = ("atlas", "birch", "cobalt", "delta", "ember", "fjord", "granite", "harbor", "indigo", "juniper",
          "kestrel", "lumen", "meridian", "nimbus", "orchid", "pylon", "quartz", "raven", "sierra", "tundra")
_PEOPLE = ("ana", "bo", "chen", "dara", "eli", "fatima", "goran", "hana", "ivan", "kai", "lena", "mateo",
           "nora", "omar", "priya", "quinn", "rosa", "sven", "tara", "wei", "yusuf", "zoe")

SOURCES = {
    "iam": ("CreateUser", "DeleteUser", "ListUsers", "ListRoles", "GetUser", "GetRole", "CreateRole",
            "AttachRolePolicy", "PutRolePolicy", "PutUserPolicy", "PutGroupPolicy", "AttachGroupPolicy",
            "AddUserToGroup", "CreateAccessKey", "ListPolicies", "GetAccountAuthorizationDetails",
            "UpdateAssumeRolePolicy", "CreatePolicyVersion", "ListGroups", "GetPolicy", "GetRolePolicy",
            "ListAttachedRolePolicies", "ListAttachedUserPolicies", "ListGroupsForUser", "ListAccessKeys",
            "GetAccountSummary", "ListMFADevices", "CreateLoginProfile", "PassRole", "TagRole",
            "ListRolePolicies", "ListInstanceProfilesForRole", "GetLoginProfile", "ListUserPolicies",
            "ListEntitiesForPolicy", "GetPolicyVersion", "ListServerCertificates", "ListSSHPublicKeys"),
    "sts": ("GetCallerIdentity", "AssumeRole", "GetSessionToken", "AssumeRoleWithWebIdentity"),
    "lambda": ("UpdateFunctionCode20150331v2", "PublishVersion20150331", "GetFunction20150331v2",
               "ListFunctions20150331", "UpdateAlias20150331", "GetFunctionConfiguration20150331v2",
               "ListVersionsByFunction20150331", "GetPolicy20150331v2", "CreateFunction20150331",
               "ListTags20170331", "GetFunctionCodeSigningConfig"),
    "secretsmanager": ("GetSecretValue", "ListSecrets", "DescribeSecret"),
    "ssm": ("GetParameter", "GetParameters", "GetParametersByPath", "DescribeParameters", "SendCommand",
            "UpdateInstanceInformation", "ListCommands"),
    "s3": ("ListBuckets", "GetBucketAcl", "GetBucketPolicy", "GetBucketVersioning", "GetBucketLogging",
           "GetBucketTagging", "GetBucketEncryption", "GetBucketLocation", "GetBucketPublicAccessBlock",
           "GetBucketCors", "GetBucketWebsite", "GetBucketLifecycle", "GetBucketReplication",
           "GetBucketRequestPayment", "GetAccelerateConfiguration", "GetBucketObjectLockConfiguration",
           "PutBucketPolicy"),
    "ec2": ("DescribeInstances", "RunInstances", "DescribeRegions", "DescribeVpcs", "DescribeSubnets",
            "DescribeSecurityGroups", "DescribeImages", "DescribeVolumes", "DescribeSnapshots", "CreateSnapshot",
            "DescribeKeyPairs", "DescribeAddresses", "DescribeInstanceStatus", "DescribeTags",
            "DescribeLaunchTemplates", "DescribeAvailabilityZones", "DescribeAccountAttributes",
            "DescribeNetworkInterfaces", "DescribeRouteTables", "DescribeInternetGateways", "DescribeNatGateways",
            "DescribeVpcEndpoints", "DescribeInstanceTypes", "RequestSpotInstances", "TerminateInstances",
            "DescribeHosts", "DescribePlacementGroups", "DescribeCapacityReservations", "GetPasswordData",
            "CreateTags", "DescribeSpotInstanceRequests", "StartInstances", "StopInstances"),
    "logs": ("DescribeLogGroups", "CreateLogStream", "PutLogEvents"),
    "cloudtrail": ("DescribeTrails", "GetTrailStatus", "LookupEvents", "StopLogging"),
    "dynamodb": ("DescribeTable", "ListTables", "GetItem", "Query"),
    "kms": ("ListKeys", "Decrypt", "DescribeKey", "ListAliases"),
    "guardduty": ("ListDetectors", "GetDetector"),
    "organizations": ("DescribeOrganization", "ListAccounts"),
    "rds": ("DescribeDBInstances", "DescribeDBSnapshots", "DescribeDBClusters"),
    "sns": ("ListTopics", "ListSubscriptions"),
    "sqs": ("ListQueues", "GetQueueAttributes"),
    "cloudformation": ("DescribeStacks", "ListStacks"),
    "elasticloadbalancing": ("DescribeLoadBalancers", "DescribeTargetGroups"),
    "autoscaling": ("DescribeAutoScalingGroups",),
    "backup": ("StartBackupJob", "ListBackupJobs"),
    "ecr": ("GetAuthorizationToken", "DescribeRepositories"),
    "signin": ("ConsoleLogin",),
}
_SOURCE_OF = {name: f"{service}.amazonaws.com" for service, names in SOURCES.items() for name in names}

RECON_NAMES = [name for name in _SOURCE_OF if name.startswith(("List", "Describe", "Get")) and name != "GetObject"]


def source_of(name: str) -> str:
    return _SOURCE_OF.get(name, "ec2.amazonaws.com")


def start_time(rng: random.Random) -> datetime:
    """A random day in a random year as the beginning of an account's history."""
    return datetime(rng.randint(2021, 2026), rng.randint(1, 12), rng.randint(1, 28), tzinfo=UTC)


def account_id(rng: random.Random) -> str:
    return "".join(rng.choices(string.digits, k=12))


def word(rng: random.Random) -> str:
    return f"{rng.choice(_WORDS)}-{rng.randint(10, 999)}"


def key(rng: random.Random, *, temporary: bool = False) -> str:
    return ("ASIA" if temporary else "AKIA") + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k=16))


def unique_id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choices(string.ascii_uppercase + string.digits, k=17))


def instance_id(rng: random.Random) -> str:
    return "i-0" + "".join(rng.choices("0123456789abcdef", k=16))


def public_net(rng: random.Random, avoid: Iterable[str] = ()) -> str:
    """A public /24 as ``a.b.c``, outside every /16 in ``avoid`` (``a.b`` or ``a.b.c`` prefixes)."""
    taken = {".".join(p.split(".")[:2]) for p in avoid}
    while True:
        prefix = f"{rng.choice(_PUBLIC_FIRST)}.{rng.randint(0, 255)}"
        if prefix not in taken:
            return f"{prefix}.{rng.randint(0, 255)}"


def ip_in(net: str, rng: random.Random) -> str:
    return f"{net}.{rng.randint(1, 254)}"


def private_net(rng: random.Random) -> str:
    return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}"


def user_agent(rng: random.Random, family: str) -> str:
    """A realistic agent of ``family`` with random versions."""
    major, minor, patch = rng.randint(1, 2), rng.randint(0, 40), rng.randint(0, 99)
    python = f"3.{rng.randint(8, 13)}.{rng.randint(0, 12)}"
    agents = {
        "aws-cli": f"aws-cli/{major}.{minor}.{patch} md/awscrt#0.{minor}.{patch} ua/2.0 os/linux#6.{minor} "
                   f"md/arch#x86_64 lang/python#{python} md/pyimpl#CPython cfg/retry-mode#standard "
                   f"md/installer#exe md/distrib#ubuntu.22 prompt/off command/ec2.describe-instances",
        "boto3": f"Boto3/1.{minor}.{patch} md/Botocore#1.{minor}.{patch} ua/2.0 os/linux#5.{minor} md/arch#x86_64 "
                 f"lang/python#{python} md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.{minor}.{patch}",
        "boto3-lambda": f"Boto3/1.{minor}.{patch} md/Botocore#1.{minor}.{patch} ua/2.0 os/linux#5.10 "
                        f"md/arch#x86_64 lang/python#{python} md/pyimpl#CPython "
                        f"exec-env/AWS_Lambda_python3.{rng.randint(9, 13)} cfg/retry-mode#legacy "
                        f"Botocore/1.{minor}.{patch}",
        "terraform": f"APN/1.0 HashiCorp/1.0 Terraform/1.{minor}.{patch} (+https://www.terraform.io) "
                     f"terraform-provider-aws/5.{minor}.{patch} (+https://registry.terraform.io/providers/hashicorp/"
                     f"aws) aws-sdk-go-v2/1.{minor}.{patch} os/linux lang/go#1.22.{patch % 10} md/GOOS#linux",
        "go": f"aws-sdk-go-v2/1.{minor}.{patch} os/linux lang/go#1.21.{patch % 10} md/GOOS#linux md/GOARCH#amd64 "
              f"api/ec2#1.{minor}.{patch}",
        "java": f"aws-sdk-java/2.{minor}.{patch} Linux/5.15 OpenJDK_64-Bit_Server_VM/17.0.{patch % 10}+7 "
                f"Java/17.0.{patch % 10} vendor/Eclipse_Adoptium io/sync http/Apache cfg/retry-mode/standard",
        "js": f"aws-sdk-js/3.{minor}{patch} ua/2.1 os/linux#5.15 lang/js md/nodejs#20.{minor}.0 "
              f"api/lambda#3.{minor}{patch}",
        "ssm-agent": f"aws-sdk-go/1.{minor}.{patch} (go1.21.{patch % 10}; linux; amd64) amazon-ssm-agent/3.3.{patch}",
        "browser": f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   f"Chrome/12{rng.randint(0, 9)}.0.0.0 Safari/537.36",
        "console": "AWS Internal",
    }
    return agents[family]


@dataclass
class Principal:
    """Who makes calls: an IAM user (long-term key) or a role session (temporary key)."""

    account: str
    identity: dict[str, Any]

    @property
    def arn(self) -> str:
        return str(self.identity["arn"])

    @property
    def key(self) -> str | None:
        value = self.identity.get("accessKeyId")
        return str(value) if value else None


def iam_user(rng: random.Random, account: str, name: str | None = None, *, access_key: str | None = None) -> Principal:
    user = name or f"{rng.choice(_PEOPLE)}.{word(rng)}"
    return Principal(account, iam_user_identity(account_id=account, user_name=user,
                                                principal_id=unique_id(rng, "AIDA"),
                                                access_key_id=access_key or key(rng)))


def role_session(
    rng: random.Random,
    account: str,
    role: str,
    session: str,
    *,
    access_key: str | None = None,
    role_id: str | None = None,
    ec2_instance: bool = False,
    created: datetime | None = None,
) -> Principal:
    """An ``AssumedRole`` identity; ``ec2_instance`` adds what instance-profile credentials carry."""
    role_arn = f"arn:aws:iam::{account}:role/{role}"
    identifier = role_id or unique_id(rng, "AROA")
    context: dict[str, Any] = {
        "sessionIssuer": {"type": "Role", "principalId": identifier, "arn": role_arn, "accountId": account,
                          "userName": role},
        "webIdFederationData": {},
        "attributes": {"creationDate": (created or datetime(2020, 1, 1, tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "mfaAuthenticated": "false"},
    }
    if ec2_instance:
        context["ec2RoleDelivery"] = rng.choice(("1.0", "2.0"))
    identity = {
        "type": "AssumedRole",
        "principalId": f"{identifier}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": access_key or key(rng, temporary=True),
        "sessionContext": context,
    }
    return Principal(account, identity)


def call(
    who: Principal,
    name: str,
    when: datetime,
    ip: str,
    agent: str,
    region: str,
    *,
    params: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error: str | None = None,
    source: str | None = None,
    recipient: str | None = None,
) -> dict[str, Any]:
    service = source or source_of(name)
    return cloudtrail_record(
        event_time=when,
        event_source=service,
        event_name=name,
        aws_region=GLOBAL_EVENT_REGION if service in ("iam.amazonaws.com", "signin.amazonaws.com") else region,
        user_identity=who.identity,
        source_ip=ip,
        user_agent=agent,
        request_parameters=params,
        response_elements=response,
        error_code=error,
        error_message="You are not authorized to perform this operation." if error else None,
        recipient_account_id=recipient,
    )


def login(
    who: Principal, when: datetime, ip: str, agent: str, *, success: bool = True, mfa: bool = True
) -> dict[str, Any]:
    identity = who.identity
    return console_login_record(
        event_time=when, account_id=who.account, user_name=str(identity["userName"]),
        principal_id=str(identity["principalId"]), source_ip=ip, user_agent=agent, mfa_used=mfa, success=success,
    )


def history(
    rng: random.Random,
    who: Principal,
    start: datetime,
    days: int,
    nets: list[str],
    agent_families: list[str],
    region: str,
    *,
    per_day: int = 12,
    names: tuple[str, ...] = ("DescribeInstances", "ListBuckets", "GetCallerIdentity", "DescribeVpcs",
                              "DescribeSecurityGroups", "ListFunctions20150331"),
) -> list[dict[str, Any]]:
    """Ordinary reads by ``who`` on ``days`` days from ``nets``, with fresh versions of its agents."""
    records = []
    for day in range(days):
        for _ in range(per_day):
            when = start + timedelta(days=day, hours=rng.uniform(8, 18))
            agent = user_agent(rng, rng.choice(agent_families))
            records.append(call(who, rng.choice(names), when, ip_in(rng.choice(nets), rng), agent, region))
    return records


@dataclass
class Loaded:
    store: EventStore
    window: Window
    result: AnalyticResult = field(default_factory=AnalyticResult)

    def by_rule(self, rule: str) -> list[Any]:
        return [d for d in self.result.detections if d.rule == rule]

    def event_ids(self, rowids: Iterable[int]) -> set[str]:
        ids = list(rowids)
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        return {r[0] for r in self.store.db.execute(f"SELECT eventID FROM events WHERE rowid IN ({marks})",
                                                    ids).fetchall()}


def analyse(records: list[dict[str, Any]], since: datetime | None, until: datetime | None = None,
            only: Iterable[str] | None = None) -> Loaded:
    store = EventStore()
    store.load([TrailFile("analytics-test", records)])
    window = Window(since, until)
    return Loaded(store, window, run_analytics(store.db, window, only))


# -- routine activity ------------------------------------------------------------------------------

_AWS_FIRST = (3, 13, 18, 34, 35, 44, 52, 54)
_AZURE_FIRST = (4, 20, 40, 52, 104, 137, 168)


def aws_net(rng: random.Random) -> str:
    return f"{rng.choice(_AWS_FIRST)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"


def runner_net(rng: random.Random) -> str:
    """A hosted CI runner's /24 (cloud ranges, new on nearly every run)."""
    return f"{rng.choice(_AZURE_FIRST)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"


def web_identity(account: str, repo: str) -> dict[str, Any]:
    subject = f"repo:{repo}:ref:refs/heads/main"
    provider = f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
    return {"type": "WebIdentityUser", "principalId": f"{provider}:sts.amazonaws.com:{subject}",
            "userName": subject, "identityProvider": provider}


@dataclass
class Person:
    """A developer of the routine account."""

    who: Principal
    home: str
    office: str
    families: list[str]
    region: str


@dataclass
class Routine:
    """Days of a busy account's routine: developers, CI through OIDC, Terraform, an autoscaled app on
    EC2 reading parameters and secrets, a Lambda function, a scheduled job on a server, backups and
    autoscaling. ``since`` starts the window (the last ``window_days``)."""

    rng: random.Random
    account: str
    region: str
    since: datetime
    until: datetime
    records: list[dict[str, Any]] = field(default_factory=list)
    developers: list[Person] = field(default_factory=list)


def _dev_day(r: Routine, dev: Person, day: datetime, partner: str | None) -> None:
    rng = r.rng
    net = rng.choice([dev.home, dev.office])
    start = day + timedelta(hours=rng.uniform(7, 10))
    if rng.random() < 0.6:  # a console session: sign-in, then pages that fire many reads of one service
        r.records.append(login(dev.who, start, ip_in(net, rng), user_agent(rng, "browser")))
        console = Principal(dev.who.account, {**dev.who.identity, "accessKeyId": key(rng, temporary=True)})
        names = [n for n in SOURCES["ec2"] if n.startswith("Describe")]
        for i, name in enumerate(rng.sample(names, rng.randint(10, len(names)))):
            agent = rng.choice([user_agent(rng, "browser"), "AWS Internal"])
            r.records.append(call(console, name, start + timedelta(seconds=2 * i + 30), ip_in(net, rng), agent,
                                  dev.region))
    when = start + timedelta(minutes=rng.uniform(5, 60))
    for _ in range(rng.randint(10, 30)):
        when += timedelta(minutes=rng.uniform(1, 20))
        name = rng.choice(("DescribeInstances", "DescribeSecurityGroups", "ListBuckets", "GetCallerIdentity",
                           "DescribeLogGroups", "ListFunctions20150331", "DescribeStacks", "CreateTags",
                           "DescribeImages", "GetFunction20150331v2", "StartInstances", "StopInstances"))
        r.records.append(call(dev.who, name, when, ip_in(net, rng), user_agent(rng, rng.choice(dev.families)),
                              dev.region))
    if rng.random() < 0.3:
        r.records.append(call(dev.who, "RunInstances", when, ip_in(net, rng), user_agent(rng, dev.families[0]),
                              dev.region, params={"instanceType": rng.choice(("t3.micro", "t3.small", "t3.medium")),
                                                  "instancesSet": {"items": [{"imageId": "ami-0abc"}]}}))
    if partner:
        r.records.append(call(dev.who, "AssumeRole", when, ip_in(net, rng), user_agent(rng, dev.families[0]),
                              dev.region, params={"roleArn": f"arn:aws:iam::{partner}:role/staging-readonly",
                                                  "roleSessionName": "dev"}))


def _ci_run(r: Routine, when: datetime, repo: str, role: str, functions: list[str]) -> None:
    rng = r.rng
    net = runner_net(rng)
    ip = ip_in(net, rng)
    r.records.append(cloudtrail_record(
        event_time=when, event_source="sts.amazonaws.com", event_name="AssumeRoleWithWebIdentity",
        aws_region=r.region, user_identity=web_identity(r.account, repo), source_ip=ip,
        user_agent=user_agent(rng, "js"), recipient_account_id=r.account,
        request_parameters={"roleArn": f"arn:aws:iam::{r.account}:role/{role}", "roleSessionName": "GitHubActions"},
    ))
    session = role_session(rng, r.account, role, "GitHubActions", role_id=f"AROA{role.upper()[:10]}CI")
    function = rng.choice(functions)
    for i, name in enumerate(("GetCallerIdentity", "GetFunction20150331v2", "UpdateFunctionCode20150331v2",
                              "GetFunctionConfiguration20150331v2", "PublishVersion20150331", "UpdateAlias20150331")):
        r.records.append(call(session, name, when + timedelta(seconds=5 + 7 * i), ip, user_agent(rng, "aws-cli"),
                              r.region, params={"functionName": function}))


def _terraform_run(r: Routine, when: datetime, plan: list[str], apply: bool) -> None:
    rng = r.rng
    ip = ip_in(runner_net(rng), rng)
    session = role_session(rng, r.account, "terraform-ci", "terraform", role_id="AROATERRAFORMCI0000")
    agent = user_agent(rng, "terraform")
    for i, name in enumerate(plan):
        r.records.append(call(session, name, when + timedelta(seconds=1.5 * i), ip, agent, r.region))
    if apply:
        role = f"svc-{rng.choice(_WORDS)}-{rng.randint(1, 999)}"
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "lambda.amazonaws.com"}}]}
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem"],
                                                          "Resource": f"arn:aws:dynamodb:*:{r.account}:table/t"}]}
        at = when + timedelta(minutes=3)
        r.records += [
            call(session, "CreateRole", at, ip, agent, r.region,
                 params={"roleName": role, "assumeRolePolicyDocument": json.dumps(trust)}),
            call(session, "AttachRolePolicy", at, ip, agent, r.region,
                 params={"roleName": role,
                         "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}),
            call(session, "PutRolePolicy", at, ip, agent, r.region,
                 params={"roleName": role, "policyName": "data", "policyDocument": json.dumps(policy)}),
        ]


def _app_fleet(r: Routine, start: datetime, days: int, role: str, nat: str, subnets: list[str]) -> None:
    """An autoscaled app: instances replaced every other day, keys every 6 hours, reads every 30 min."""
    rng = r.rng
    for pair in range(0, days * 24, 48):
        for _ in range(2):
            instance = instance_id(rng)
            private = ip_in(rng.choice(subnets), rng)
            for rotation in range(0, 48, 6):
                session = role_session(rng, r.account, role, instance, role_id=f"AROA{role.upper()[:8]}APP00",
                                       ec2_instance=True)
                for half_hour in range(12):
                    when = start + timedelta(hours=pair + rotation + half_hour / 2, minutes=rng.uniform(0, 5))
                    r.records.append(call(session, rng.choice(("GetParameters", "GetSecretValue")), when, private,
                                          user_agent(rng, "java"), r.region,
                                          params={"withDecryption": True}))
                    if half_hour % 4 == 0:
                        r.records.append(call(session, "UpdateInstanceInformation", when, ip_in(nat, rng),
                                              user_agent(rng, "ssm-agent"), r.region))


def _lambda_function(r: Routine, start: datetime, days: int, function: str) -> None:
    rng = r.rng
    for hour in range(0, days * 24, 2):  # a cold start every two hours, from a new AWS address
        session = role_session(rng, r.account, f"{function}-role", function, role_id="AROALAMBDAFN0000000")
        ip = ip_in(aws_net(rng), rng)
        when = start + timedelta(hours=hour, minutes=rng.uniform(0, 100))
        for i, name in enumerate(("GetSecretValue", "GetParameter", "Decrypt")):
            r.records.append(call(session, name, when + timedelta(seconds=i), ip, user_agent(rng, "boto3-lambda"),
                                  r.region))


def _service_day(r: Routine, day: datetime) -> None:
    rng = r.rng
    backup = role_session(rng, r.account, "AWSServiceRoleForBackup", "AWSBackup-ServiceRole")
    scaler = role_session(rng, r.account, "AWSServiceRoleForAutoScaling", "AutoScaling")
    when = day + timedelta(hours=rng.uniform(1, 4))
    for name in ("StartBackupJob", "CreateSnapshot", "CreateSnapshot"):
        r.records.append(call(backup, name, when, "backup.amazonaws.com", "backup.amazonaws.com", r.region))
    for _ in range(rng.randint(1, 4)):
        when += timedelta(hours=rng.uniform(1, 5))
        r.records.append(call(scaler, "RunInstances", when, "autoscaling.amazonaws.com", "autoscaling.amazonaws.com",
                              r.region, params={"instanceType": "m5.large", "launchTemplate": {"version": "3"}}))
        r.records.append(call(scaler, "TerminateInstances", when + timedelta(hours=1), "autoscaling.amazonaws.com",
                              "autoscaling.amazonaws.com", r.region))


def _scheduled_job(r: Routine, start: datetime, days: int, who: Principal, net: str) -> None:
    for hour in range(days * 24):
        when = start + timedelta(hours=hour, minutes=r.rng.uniform(0, 3))
        r.records.append(call(who, "GetSecretValue", when, ip_in(net, r.rng), user_agent(r.rng, "go"), r.region))


def routine(seed: int, *, days: int = 14, window_days: int = 2, start: datetime | None = None) -> Routine:
    rng = random.Random(seed)
    start = start or start_time(rng)
    account = account_id(rng)
    region = rng.choice(REGIONS)
    r = Routine(rng, account, region, start + timedelta(days=days - window_days), start + timedelta(days=days))
    r.developers = [
        Person(iam_user(rng, account), public_net(rng), public_net(rng),
                  rng.sample(["aws-cli", "boto3", "go"], rng.randint(1, 2)), rng.choice([region, region, *REGIONS]))
        for _ in range(3)
    ]
    partner = account_id(rng)
    functions = [f"{rng.choice(_WORDS)}-{rng.randint(1, 99)}" for _ in range(3)]
    plan = rng.sample(RECON_NAMES, 40)
    for number in range(days):
        day = start + timedelta(days=number)
        workday = day.weekday() < 5
        for i, dev in enumerate(r.developers):
            if workday:
                _dev_day(r, dev, day, partner if i == 0 else None)
        for _ in range(rng.randint(2, 5) if workday else 0):
            _ci_run(r, day + timedelta(hours=rng.uniform(8, 19)), f"org-{account[:4]}/app", "gha-deploy", functions)
        _terraform_run(r, day + timedelta(hours=rng.uniform(5, 7)), rng.sample(plan, rng.randint(34, 40)),
                       apply=number % 3 == 0)
        _service_day(r, day)
    _app_fleet(r, start, days, f"app-{rng.choice(_WORDS)}", public_net(rng), [private_net(rng) for _ in range(2)])
    _lambda_function(r, start, days, functions[0])
    _scheduled_job(r, start, days, iam_user(rng, account, f"svc-{rng.choice(_WORDS)}"), public_net(rng))
    return r


def medium_plus_share(loaded: Loaded) -> tuple[int, int, float]:
    """Events covered by medium-or-above detections, window events, and their ratio."""
    covered = {rid for d in loaded.result.detections if d.severity.at_least(Severity.MEDIUM) for rid in d.rowids}
    window = loaded.store.db.execute(
        "SELECT count(*) FROM events WHERE eventTime >= ? AND (? IS NULL OR eventTime <= ?)",
        [loaded.window.since, loaded.window.until, loaded.window.until]).fetchone()
    total = int(window[0]) if window else 0
    return len(covered), total, len(covered) / total if total else 0.0
