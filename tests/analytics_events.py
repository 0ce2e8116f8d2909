"""Builders for the analytics tests: seeded accounts, identities, networks and CloudTrail records.

Every name, account id, region, address and user agent comes from a ``random.Random`` so that an
analytic cannot pass by knowing the test data.
"""

from __future__ import annotations

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
