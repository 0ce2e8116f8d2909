"""Generate a realistic CloudTrail corpus in S3 delivery layout for the hunt benchmark.

``AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<stamp>_<16>.json.gz``,
each file the gzip (zlib level 6, as ``gzip`` does) of ``{"Records": [...]}`` with about
``--per-file`` records. The account has stable personas (IAM users with long-term keys, CI
roles, application roles, AWS services, developers in the console), each with its own regions,
networks, user agents and calls, so the analytics see real history; a small attack campaign
(new IP, enumeration, persistence, defence evasion) sits in the last two days. Records carry
the blobs CloudTrail puts in them (``requestParameters`` of varied keys, ``responseElements``,
``additionalEventData``, ``resources``, ``tlsDetails``), about 1.1 KB each on average.

    .venv/bin/python bench/hunt_corpus.py --events 10000000 --out /work/benchdata/hunt-10M

Deterministic for a given ``--seed``; files are written by ``--workers`` processes; a
``manifest.json`` at the top says what was generated (and makes a second call a no-op).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ACCOUNT = "684219753012"
OTHER_ACCOUNT = "990044117285"
END = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
DAYS = 30
ATTACK_DAYS = 2
REGIONS = [("us-east-1", 40), ("eu-west-1", 20), ("us-west-2", 15), ("eu-central-1", 10),
           ("ap-southeast-2", 6), ("ap-northeast-1", 5), ("sa-east-1", 4)]
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
TLS = [("TLSv1.3", "TLS_AES_128_GCM_SHA256"), ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"),
       ("TLSv1.3", "TLS_AES_256_GCM_SHA384")]
AGENTS = {
    "cli": "aws-cli/2.{v}.3 md/awscrt#0.19.19 ua/2.0 os/linux#5.10.{v}-200.amzn2.x86_64 md/arch#x86_64 "
           "lang/python#3.11.{v} md/pyimpl#CPython cfg/retry-mode#standard md/command#{cmd}",
    "boto3": "Boto3/1.34.{v} md/Botocore#1.34.{v} ua/2.0 os/linux#5.10.{v}-204.amzn2.x86_64 md/arch#x86_64 "
             "lang/python#3.12.{v} Botocore/1.34.{v}",
    "terraform": "APN/1.0 HashiCorp/1.0 Terraform/1.7.{v} (+https://www.terraform.io) terraform-provider-aws/5.3{v}.0 "
                 "aws-sdk-go-v2/1.24.{v} os/linux lang/go#1.21.{v} md/GOOS#linux api/{svc}#1.1{v}.0",
    "java": "aws-sdk-java/2.21.{v} Linux/5.10.{v}-200.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS "
            "Java/17.0.9 vendor/Amazon.com_Inc.",
    "console": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/119.0.0.{v} Safari/537.36",
    "service": "{svc}.amazonaws.com",
}


def rid(rng: random.Random, prefix: str, n: int = 16) -> str:
    return prefix + "".join(rng.choices(ALNUM, k=n))


def hexid(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


@dataclass
class Persona:
    kind: str  # user, role, service, console, root
    name: str
    identity: dict[str, Any]
    regions: list[str]
    ips: list[str]
    agent: str
    calls: list[tuple[str, str]]  # (event source service, event name)
    weight: int


def _ip(rng: random.Random) -> str:
    return f"{rng.choice([3, 18, 34, 52, 54, 35, 44, 98, 203, 81])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}." \
           f"{rng.randint(1, 254)}"


READS = {
    "ec2": ["DescribeInstances", "DescribeVolumes", "DescribeSecurityGroups", "DescribeSubnets", "DescribeImages",
            "DescribeSnapshots", "DescribeNetworkInterfaces", "DescribeTags", "DescribeVpcs"],
    "s3": ["GetBucketAcl", "GetBucketPolicy", "ListBuckets", "GetBucketLocation", "GetBucketVersioning",
           "GetBucketEncryption"],
    "iam": ["GetUser", "ListUsers", "ListRoles", "GetRole", "ListAttachedRolePolicies", "GetPolicy",
            "ListAccessKeys", "GetPolicyVersion"],
    "sts": ["GetCallerIdentity"],
    "kms": ["Decrypt", "DescribeKey", "GenerateDataKey"],
    "ssm": ["GetParameter", "GetParameters", "DescribeInstanceInformation", "GetParametersByPath"],
    "secretsmanager": ["GetSecretValue", "DescribeSecret"],
    "lambda": ["GetFunction", "ListFunctions20150331", "GetFunctionConfiguration20150331v2"],
    "logs": ["DescribeLogGroups", "DescribeLogStreams", "FilterLogEvents"],
    "cloudwatch": ["GetMetricData", "DescribeAlarms", "ListMetrics"],
    "dynamodb": ["DescribeTable", "ListTables", "DescribeContinuousBackups"],
    "autoscaling": ["DescribeAutoScalingGroups", "DescribeScalingActivities"],
    "elasticloadbalancing": ["DescribeTargetHealth", "DescribeLoadBalancers"],
    "ecr": ["GetAuthorizationToken", "BatchGetImage", "DescribeRepositories"],
    "cloudtrail": ["LookupEvents", "DescribeTrails", "GetTrailStatus"],
}
WRITES = {
    "ec2": ["CreateTags", "RunInstances", "TerminateInstances", "CreateSnapshot", "AuthorizeSecurityGroupIngress",
            "CreateNetworkInterface", "StartInstances", "StopInstances"],
    "s3": ["PutBucketTagging", "PutBucketPolicy", "CreateBucket", "PutBucketEncryption"],
    "iam": ["CreateRole", "AttachRolePolicy", "PutRolePolicy", "TagRole", "CreateServiceLinkedRole"],
    "sts": ["AssumeRole", "AssumeRoleWithWebIdentity"],
    "kms": ["Encrypt", "CreateGrant", "RetireGrant"],
    "ssm": ["PutParameter", "UpdateInstanceInformation", "SendCommand"],
    "lambda": ["UpdateFunctionCode20150331v2", "PublishVersion20150331", "UpdateFunctionConfiguration20150331v2",
               "CreateFunction20150331"],
    "logs": ["CreateLogStream", "PutRetentionPolicy", "CreateLogGroup"],
    "cloudwatch": ["PutMetricAlarm", "PutMetricData"],
    "dynamodb": ["UpdateTable", "CreateBackup"],
    "autoscaling": ["UpdateAutoScalingGroup", "SetDesiredCapacity"],
    "elasticloadbalancing": ["RegisterTargets", "DeregisterTargets"],
    "ecr": ["PutImage", "InitiateLayerUpload"],
    "cloudtrail": ["CreateTrail"],
    "secretsmanager": ["PutSecretValue", "RotateSecret"],
}


def _calls(rng: random.Random, services: list[str], writes: float) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for svc in services:
        out += [(svc, n) for n in rng.sample(READS[svc], k=min(len(READS[svc]), rng.randint(2, 5)))]
        if svc in WRITES and rng.random() < writes:
            out += [(svc, n) for n in rng.sample(WRITES[svc], k=min(len(WRITES[svc]), rng.randint(1, 2)))]
    return out


def _agent(rng: random.Random, kind: str, svc: str = "ec2") -> str:
    return AGENTS[kind].format(v=rng.randint(0, 40), cmd="ec2.describe-instances", svc=svc)


def _session_context(issuer_arn: str, principal: str, name: str, created: str, mfa: bool) -> dict[str, Any]:
    return {
        "sessionIssuer": {"type": "Role", "principalId": principal, "arn": issuer_arn, "accountId": ACCOUNT,
                          "userName": name},
        "webIdFederationData": {},
        "attributes": {"creationDate": created, "mfaAuthenticated": "true" if mfa else "false"},
        "ec2RoleDelivery": "2.0",
    }


def personas(seed: int) -> list[Persona]:
    rng = random.Random(seed)
    regions = [r for r, _ in REGIONS]
    everyone: list[Persona] = []
    services = list(READS)
    for i in range(60):
        name = rng.choice(["svc", "deploy", "backup", "etl", "report", "monitor", "app"]) + f"-{i:02d}"
        home = rng.sample(regions[:4], k=rng.randint(1, 2))
        everyone.append(Persona(
            "user", name,
            {"type": "IAMUser", "principalId": rid(rng, "AIDA", 17), "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
             "accountId": ACCOUNT, "accessKeyId": rid(rng, "AKIA"), "userName": name},
            home, [_ip(rng) for _ in range(rng.randint(1, 3))], _agent(rng, rng.choice(["cli", "boto3", "java"])),
            _calls(rng, rng.sample(services, k=rng.randint(2, 5)), 0.4), rng.randint(1, 30)))
    for i in range(40):
        kind_of_role = rng.choice(["app-server", "worker", "github-ci", "ecs-task", "batch", "api", "lambda-exec"])
        role = f"{kind_of_role}-{i:02d}"
        principal = rid(rng, "AROA", 17)
        home = rng.sample(regions[:5], k=rng.randint(1, 3))
        kind = rng.choice(["boto3", "java", "terraform"])
        everyone.append(Persona(
            "role", role,
            {"type": "AssumedRole", "principalId": f"{principal}:i-{hexid(rng, 17)}",
             "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/i-{hexid(rng, 17)}", "accountId": ACCOUNT,
             "accessKeyId": rid(rng, "ASIA"),
             "sessionContext": _session_context(f"arn:aws:iam::{ACCOUNT}:role/{role}", principal, role,
                                                "2026-10-21T06:12:44Z", False)},
            home, [_ip(rng) for _ in range(rng.randint(2, 8))], _agent(rng, kind),
            _calls(rng, rng.sample(services, k=rng.randint(2, 6)), 0.6), rng.randint(10, 80)))
    for svc in ["autoscaling", "elasticloadbalancing", "lambda", "ecs", "config", "backup", "cloudformation"]:
        everyone.append(Persona(
            "service", svc,
            {"type": "AWSService", "invokedBy": f"{svc}.amazonaws.com"},
            regions, [f"{svc}.amazonaws.com"], f"{svc}.amazonaws.com",
            _calls(rng, rng.sample(services, k=3), 0.9), rng.randint(20, 60)))
    for i in range(15):
        name = f"{rng.choice(['alice', 'bob', 'chen', 'dana', 'emeka', 'farah', 'goran', 'hana'])}.{i}"
        principal = rid(rng, "AROA", 17)
        everyone.append(Persona(
            "console", name,
            {"type": "AssumedRole", "principalId": f"{principal}:{name}@example.com",
             "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin_{hexid(rng, 16)}/{name}@example.com",
             "accountId": ACCOUNT, "accessKeyId": rid(rng, "ASIA"),
             "sessionContext": _session_context(
                 f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_x", principal,
                 "AWSReservedSSO_Admin", "2026-11-01T08:00:00Z", True)},
            rng.sample(regions[:3], k=1), [_ip(rng)], _agent(rng, "console"),
            _calls(rng, rng.sample(services, k=4), 0.5), rng.randint(2, 8)))
    return everyone


def _request(rng: random.Random, svc: str, name: str, region: str) -> tuple[Any, Any, list[dict[str, Any]] | None]:
    """requestParameters, responseElements, resources for one call: blobs of varied keys."""
    if svc == "s3":
        bucket = f"{rng.choice(['data', 'logs', 'assets', 'backups', 'artifacts'])}-{ACCOUNT}-{region}"
        params: dict[str, Any] = {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com"}
        if name.startswith("Put"):
            params[name[3:].lower()] = {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "Status": "Enabled"}
        return params, None, [{"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
    if svc == "ec2":
        instance = f"i-{hexid(rng, 17)}"
        if name == "RunInstances":
            itype = rng.choice(["t3.micro", "t3.small", "m5.large", "c6g.medium"])
            return ({"instancesSet": {"items": [{"imageId": f"ami-{hexid(rng, 17)}", "minCount": 1, "maxCount": 1}]},
                     "instanceType": itype, "subnetId": f"subnet-{hexid(rng, 17)}",
                     "blockDeviceMapping": {}, "monitoring": {"enabled": False}, "disableApiTermination": False},
                    {"requestId": str(uuid.UUID(int=rng.getrandbits(128))), "reservationId": f"r-{hexid(rng, 17)}",
                     "instancesSet": {"items": [{"instanceId": instance, "instanceType": itype,
                                                 "currentState": {"code": 0, "name": "pending"}}]}}, None)
        if name.startswith("Describe"):
            return ({"filterSet": {"items": [{"name": rng.choice(["tag:Name", "vpc-id", "instance-state-name"]),
                                              "valueSet": {"items": [{"value": rid(rng, "", 8).lower()}]}}]},
                     "maxResults": rng.choice([100, 200, 1000])}, None, None)
        return ({"resourcesSet": {"items": [{"resourceId": instance}]},
                 "tagSet": {"items": [{"key": "Owner", "value": rid(rng, "", 6).lower()}]}},
                {"requestId": str(uuid.UUID(int=rng.getrandbits(128))), "_return": True}, None)
    if svc == "iam":
        user = rng.choice(["svc-01", "deploy-02", "backup-03", "report-09"])
        return ({"userName": user, "maxItems": 100} if "User" in name or "Key" in name
                else {"roleName": f"role-{rid(rng, '', 5).lower()}",
                      "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}), None, None
    if svc == "sts":
        if name.startswith("AssumeRole"):
            session = rid(rng, "", 10).lower()
            return ({"roleArn": f"arn:aws:iam::{ACCOUNT}:role/{rng.choice(['deploy', 'reader', 'ops'])}",
                     "roleSessionName": session, "durationSeconds": 3600},
                    {"credentials": {"accessKeyId": rid(rng, "ASIA"), "sessionToken": rid(rng, "IQoJ", 120),
                                     "expiration": "Nov 20, 2026, 10:12:44 AM"},
                     "assumedRoleUser": {"assumedRoleId": f"{rid(rng, 'AROA', 17)}:{session}",
                                         "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/{session}"}},
                    [{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": f"arn:aws:iam::{ACCOUNT}:role/deploy"}])
        return None, None, None
    if svc == "kms":
        key = str(uuid.UUID(int=rng.getrandbits(128)))
        return ({"encryptionContext": {"aws:lambda:FunctionArn": f"arn:aws:lambda:{region}:{ACCOUNT}:function:f"},
                 "encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": f"arn:aws:kms:{region}:{ACCOUNT}:key/{key}"},
                None, [{"accountId": ACCOUNT, "type": "AWS::KMS::Key",
                        "ARN": f"arn:aws:kms:{region}:{ACCOUNT}:key/{key}"}])
    if svc in ("ssm", "secretsmanager"):
        path = f"/{rng.choice(['prod', 'staging'])}/{rng.choice(['db', 'api', 'cache'])}/{rid(rng, '', 6).lower()}"
        if svc == "ssm":
            return {"name": path, "withDecryption": rng.random() < 0.5}, None, None
        secret = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{path[1:]}-{rid(rng, '', 6)}"
        return {"secretId": secret}, None, None
    if svc == "lambda":
        fn = f"{rng.choice(['ingest', 'resize', 'notify', 'cleanup'])}-{rid(rng, '', 4).lower()}"
        return ({"functionName": f"arn:aws:lambda:{region}:{ACCOUNT}:function:{fn}"},
                ({"functionName": fn, "runtime": "python3.12", "codeSize": rng.randint(1000, 9_000_000),
                  "memorySize": 256, "lastModified": "2026-11-19T10:00:00.000+0000"} if not name.startswith("Get")
                 else None), None)
    if svc == "logs":
        return ({"logGroupName": f"/aws/lambda/{rid(rng, '', 8).lower()}", "limit": 50,
                 "startTime": rng.getrandbits(40)}, None, None)
    if svc == "dynamodb":
        return {"tableName": f"{rng.choice(['orders', 'users', 'sessions'])}-{region}"}, None, None
    if svc == "cloudwatch":
        return ({"metricDataQueries": [{"id": "m1", "metricStat": {"metric": {"namespace": "AWS/EC2",
                 "metricName": "CPUUtilization"}, "period": 300, "stat": "Average"}}]}, None, None)
    return ({rng.choice(["maxResults", "limit", "nextToken"]): rng.randint(1, 100),
             rng.choice(["name", "id", "arn"]): rid(rng, "", 12).lower()}, None, None)


def _record(rng: random.Random, p: Persona, svc: str, name: str, region: str, when: datetime) -> dict[str, Any]:
    params, response, resources = _request(rng, svc, name, region)
    error = rng.random() < 0.02
    record: dict[str, Any] = {
        "eventVersion": "1.09" if rng.random() < 0.5 else "1.08",
        "userIdentity": p.identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": f"{svc}.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": rng.choice(p.ips),
        "userAgent": p.agent,
    }
    if error:
        record["errorCode"] = rng.choice(["AccessDenied", "Client.UnauthorizedOperation", "ThrottlingException"])
        record["errorMessage"] = (f"User: {p.identity.get('arn', p.name)} is not authorized to perform: "
                                  f"{svc}:{name} because no identity-based policy allows the {svc}:{name} action")
        response = None
    record["requestParameters"] = params
    record["responseElements"] = response
    if p.kind == "console" and rng.random() < 0.5:
        record["additionalEventData"] = {"SignatureVersion": "SigV4", "CipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
                                         "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader"}
    record["requestID"] = str(uuid.UUID(int=rng.getrandbits(128)))
    record["eventID"] = str(uuid.UUID(int=rng.getrandbits(128)))
    record["readOnly"] = not name.startswith(tuple(w[:6] for w in ("Create", "Update", "Put", "Attach", "Run",
                                                                      "Terminate", "Start", "Stop", "Send",
                                                                      "Publish", "Assume", "Register", "Deregister",
                                                                      "Set", "Authorize", "Retire", "Encrypt", "Tag",
                                                                      "Initiate", "Delete")))
    if resources is not None:
        record["resources"] = resources
    record["eventType"] = "AwsApiCall"
    record["managementEvent"] = True
    record["recipientAccountId"] = ACCOUNT
    if p.kind == "console":
        record["sessionCredentialFromConsole"] = "true"
    record["eventCategory"] = "Management"
    if p.kind != "service":
        tls = rng.choice(TLS)
        record["tlsDetails"] = {"tlsVersion": tls[0], "cipherSuite": tls[1],
                                "clientProvidedHostHeader": f"{svc}.{region}.amazonaws.com"}
    else:
        record["sourceIPAddress"] = p.identity["invokedBy"]
    return record


ATTACKER_IP = "185.220.101.47"
ATTACKER_KEY = "AKIA" + "Q5ZJ4XW2M7PLK3D9"


def _attack(rng: random.Random, everyone: list[Persona], region: str, when: datetime) -> dict[str, Any]:
    """One step of the campaign: the CI user's key from a Tor exit, enumeration, then persistence."""
    victim = next(p for p in everyone if p.kind == "user")
    identity = {**victim.identity, "accessKeyId": ATTACKER_KEY}
    step = rng.choice([
        ("iam", "ListUsers", {}), ("iam", "ListRoles", {}), ("s3", "ListBuckets", {}),
        ("iam", "CreateUser", {"userName": "support-admin"}),
        ("iam", "CreateAccessKey", {"userName": "support-admin"}),
        ("iam", "AttachUserPolicy", {"userName": "support-admin",
                                     "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        ("cloudtrail", "StopLogging", {"name": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"}),
        ("ec2", "RunInstances", {"instanceType": "p4d.24xlarge", "instancesSet": {"items": [{"minCount": 4}]}}),
        ("guardduty", "DeleteDetector", {"detectorId": hexid(rng, 32)}),
        ("secretsmanager", "GetSecretValue", {"secretId": "prod/db/master"}),
    ])
    svc, name, params = step
    return {
        "eventVersion": "1.09", "userIdentity": identity, "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": f"{svc}.amazonaws.com", "eventName": name, "awsRegion": region,
        "sourceIPAddress": ATTACKER_IP, "userAgent": "Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.8.0",
        "requestParameters": params or None, "responseElements": None,
        "requestID": str(uuid.UUID(int=rng.getrandbits(128))), "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
        "readOnly": name.startswith(("List", "Get")), "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": ACCOUNT, "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": f"{svc}.{region}.amazonaws.com"},
    }


@dataclass(frozen=True)
class Job:
    out: str
    seed: int
    first: int  # index of the first file
    count: int  # files in this job
    files_total: int
    per_file: int


def _region_of(rng: random.Random) -> str:
    return rng.choices([r for r, _ in REGIONS], weights=[w for _, w in REGIONS])[0]


def make_file(index: int, job: Job, everyone: list[Persona], weights: list[int]) -> tuple[str, bytes, int, int]:
    rng = random.Random(job.seed * 1_000_003 + index)
    region = _region_of(rng)
    span = timedelta(days=DAYS).total_seconds()
    start = END - timedelta(days=DAYS) + timedelta(seconds=span * index / job.files_total)
    start = start.replace(minute=start.minute - start.minute % 5, second=0)
    n = max(1, int(rng.gauss(job.per_file, job.per_file * 0.15)))
    in_attack = start >= END - timedelta(days=ATTACK_DAYS)
    records: list[dict[str, Any]] = []
    local = [(p, w) for p, w in zip(everyone, weights, strict=True) if region in p.regions]
    chosen = rng.choices([p for p, _ in local], weights=[w for _, w in local], k=n)
    offsets = sorted(rng.random() * 300 for _ in range(n))
    for p, offset in zip(chosen, offsets, strict=True):
        when = start + timedelta(seconds=offset)
        if in_attack and rng.random() < 0.0004:
            records.append(_attack(rng, everyone, region, when))
            continue
        svc, name = rng.choice(p.calls)
        records.append(_record(rng, p, svc, name, region, when))
    body = orjson.dumps({"Records": records})
    deliver = start + timedelta(minutes=5)
    key = (f"AWSLogs/{ACCOUNT}/CloudTrail/{region}/{deliver:%Y/%m/%d}/"
           f"{ACCOUNT}_CloudTrail_{region}_{deliver:%Y%m%dT%H%MZ}_{rid(rng, '', 16)}.json.gz")
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    return key, packer.compress(body) + packer.flush(), len(records), len(body)


def run_job(job: Job) -> tuple[int, int, int]:
    everyone = personas(job.seed)
    weights = [p.weight for p in everyone]
    events = raw = packed = 0
    root = Path(job.out)
    for index in range(job.first, job.first + job.count):
        key, data, n, size = make_file(index, job, everyone, weights)
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        events += n
        raw += size
        packed += len(data)
    return events, raw, packed


def generate(out: Path, events: int, per_file: int, workers: int, seed: int,
             progress: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    manifest_path = out / "manifest.json"
    wanted = {"events_requested": events, "per_file": per_file, "seed": seed, "version": 1}
    if manifest_path.exists():
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        if all(manifest.get(k) == v for k, v in wanted.items()):
            return manifest
        raise SystemExit(f"{out} holds another corpus ({manifest}); remove it or choose another --out")
    files = max(1, round(events / per_file))
    chunk = 200
    jobs = [Job(str(out), seed, first, min(chunk, files - first), files, per_file) for first in range(0, files, chunk)]
    started = time.monotonic()
    totals = [0, 0, 0]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done, result in enumerate(pool.map(run_job, jobs), start=1):
            for i, value in enumerate(result):
                totals[i] += value
            if done % 10 == 0 or done == len(jobs):
                progress(f"{done}/{len(jobs)} jobs, {totals[0]:,} events, {time.monotonic() - started:.0f} s")
    manifest = {**wanted, "events": totals[0], "files": files, "bytes_json": totals[1], "bytes_gz": totals[2],
                "account": ACCOUNT, "generated_in_s": round(time.monotonic() - started, 1),
                "bytes_per_event": round(totals[1] / max(totals[0], 1)), "attacker_ip": ATTACKER_IP}
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--per-file", type=int, default=500)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    manifest = generate(args.out, args.events, args.per_file, args.workers, args.seed,
                        lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
