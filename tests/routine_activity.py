"""Several weeks of a busy account's routine CloudTrail activity, written in S3 delivery layout.

The noise test of ``awsrespond hunt`` runs the hunt over this with ``since`` at the start of the last
week (earlier weeks are each principal's history) and measures how much of the window's activity
findings at medium or above cover. The personas (``routine_people``, ``routine_machines``):

* CI deploying Lambda code through a GitHub Actions OIDC role, from runners in a few Azure /16s;
* Terraform plans (bursts of reads, SecureString reads, a role in the shared-services account) and
  applies (service roles trusting lambda/ecs-tasks/ec2 with AWS-managed service policies, security
  groups, functions with service-principal permissions, policy versions, Deny-TLS bucket policies);
* applications on autoscaled EC2 (instance roles, ``i-...`` sessions) and ECS (task roles) reading
  SecureString parameters and secrets on a schedule, SSM agent heartbeats, S3/DynamoDB/SQS data
  events; one of them denied on one call every night; Lambda functions (new AWS address per
  environment) reading a secret or parameter at cold start;
* developers (IAM users with MFA and sometimes GetSessionToken, or Identity Center sessions whose
  federated ConsoleLogin says MFAUsed No) in the console and the CLI, from the office or home
  (home addresses change; one may travel), small instances in their usual region, SSM sessions,
  occasional AccessDenied, now and then a role in another account of the organization;
* an administrator's rare changes (rotating a service user's key, group membership, a security
  vendor's role trusting its account, bucket policy for a partner account, password policy);
* a legacy service user's nightly Boto3 job; a monitoring vendor's crawler (all regions twice a day);
* AWS services: autoscaling, instance/task/Lambda credential hand-outs, Config, GuardDuty, AWS Backup
  (StartBackupJob, CreateSnapshot, CopySnapshot to the DR region, retention deletes), DLM,
  CloudTrail writing to CloudWatch Logs.

Everything is drawn from ``random.Random(seed)``; ``events`` sets the size (the applications' and
functions' data calls fill the volume the other personas leave).
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from awsrespond.emulator.cloudtrail import delivery_key, format_event_time
from tests.routine_account import Account, Network, Role, Trail, azure_network, draw_account, isp_network
from tests.routine_machines import App, AwsServices, Functions, VendorMonitoring
from tests.routine_people import (
    Administrator,
    Developer,
    IdentityCenter,
    LambdaDeployCi,
    LegacyServiceUser,
    Terraform,
)

DELIVERY_MINUTES = 15
_FIRST_NAMES = ("ana", "bo", "chen", "dara", "eli", "fatima", "goran", "hana", "ivan", "jo", "kai", "lena", "mateo",
                "nora", "omar", "priya", "quinn", "rosa", "sven", "tara", "uma", "viktor", "wei", "yusuf", "zoe")
_LAST_NAMES = ("alvarez", "becker", "costa", "dubois", "eriksen", "fischer", "garcia", "haddad", "ito", "jansen",
               "kowalski", "lindqvist", "moreau", "nakamura", "okafor", "petrov", "rossi", "schmidt", "tanaka")


class Persona(Protocol):
    def day(self, trail: Trail, day: datetime) -> None: ...


@dataclass
class RoutineDataset:
    root: Path
    seed: int
    account: Account
    start: datetime
    since: datetime
    """Start of the last week: the hunt's window; everything before is history."""
    end: datetime
    events: int
    window_events: int
    files: int
    developers: list[Developer]
    legacy: LegacyServiceUser
    apps: list[App]
    exec_roles: dict[str, Role]
    deploy_role: Role
    terraform_role: Role


def write_records(root: Path, account_id: str, records: list[dict[str, Any]], account: Account,
                  minutes: int = DELIVERY_MINUTES) -> int:
    """Write records as CloudTrail delivers them (one gzip ``{"Records": [...]}`` per region and delivery
    window) under ``root``; returns the number of files."""
    batches: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        stamp = str(record["eventTime"])
        minute = int(stamp[14:16])
        window = f"{stamp[:14]}{minute - minute % minutes:02d}"
        batches[(str(record["awsRegion"]), window)].append(record)
    for (region, window), batch in batches.items():
        delivered = datetime.strptime(window, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC) + timedelta(minutes=minutes)
        batch.sort(key=lambda r: str(r["eventTime"]))
        path = root / delivery_key(account_id, region, delivered, rng=account.rng)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"Records": batch}, separators=(",", ":")).encode()
        path.write_bytes(gzip.compress(body, compresslevel=5, mtime=0))
    return len(batches)


def _developers(account: Account, center: IdentityCenter, start: datetime, days: int) -> list[Developer]:
    rng = account.rng
    sso_share = rng.choice((0.0, 0.3, 0.7, 1.0))
    names = {f"{rng.choice(_FIRST_NAMES)}.{rng.choice(_LAST_NAMES)}" for _ in range(rng.randint(4, 10))}
    developers = []
    traveller = rng.choice(sorted(names)) if rng.random() < 0.6 else None
    for name in sorted(names):
        trip: tuple[datetime, datetime, Network] | None = None
        if name == traveller:
            leave = start + timedelta(days=rng.randint(0, days - 3))
            trip = (leave, leave + timedelta(days=rng.randint(2, 4)), isp_network(account))
        developers.append(Developer(account, name, center=center if rng.random() < sso_share else None,
                                    home=isp_network(account), trip=trip))
    return developers


def write_routine_activity(directory: Path, *, seed: int, events: int = 60_000, weeks: int = 4) -> RoutineDataset:
    """Generate ``weeks`` weeks (the last is the window) of about ``events`` events into ``directory``."""
    account = draw_account(seed)
    rng = account.rng
    days = weeks * 7
    end = datetime(2025, 1, 6, tzinfo=UTC) + timedelta(days=rng.randint(0, 600))
    start = end - timedelta(days=days)
    since = end - timedelta(days=7)

    runners = [azure_network(account) for _ in range(rng.randint(2, 4))]
    exec_roles = {f: account.role(f"{f}-role-{account.ids.hex(8)}", "/service-role/") for f in account.functions}
    center = IdentityCenter.draw(account)
    developers = _developers(account, center, start, days)
    legacy = LegacyServiceUser(account, isp_network(account))
    ci = LambdaDeployCi(account, runners, exec_roles)
    terraform = Terraform(account, runners)
    autoscaling = account.role("AWSServiceRoleForAutoScaling", "/aws-service-role/autoscaling.amazonaws.com/")
    per_day = events / days
    size = max(1, min(12, round(per_day / 2500)))
    app_names = sorted({table.split("-")[-1] for table in account.tables})
    apps = [App(account, name, ecs=rng.random() < 0.4, size=size + rng.randint(0, 1), autoscaling=autoscaling,
                start=start) for name in app_names]
    broken = rng.choice(apps)
    broken.denied = rng.choice((
        (rng.uniform(0, 6), "sqs", "GetQueueAttributes",
         {"queueUrl": account.queue_url(f"{account.env}-partner-events"), "attributeNames": ["All"]}),
        (rng.uniform(0, 6), "kms", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
        (rng.uniform(0, 6), "s3", "ListObjects", {"bucketName": account.buckets[-1], "prefix": "exports/"}),
        (rng.uniform(0, 6), "ssm", "GetParameter", {"name": f"/{account.env}/shared/license-key",
                                                    "withDecryption": True}),
    ))
    fixed: list[Persona] = [
        ci, terraform, *developers, legacy, Administrator(account, center, account.office, legacy, developers),
        AwsServices(account), VendorMonitoring(account),
    ]
    functions = Functions(account, exec_roles)

    total = window = files = 0
    scheduled = 0
    since_text = format_event_time(since)
    for number in range(days):
        day = start + timedelta(days=number)
        trail = Trail(account)
        for persona in fixed:
            persona.day(trail, day)
        before_machines = len(trail.records)
        budget = max(int(per_day * 0.15), int(per_day * (number + 1)) - total - before_machines - scheduled)
        for app in apps:
            app.day(trail, day, int(budget * 0.75 / len(apps)))
        functions.day(trail, day, int(budget * 0.25))
        scheduled = max(0, len(trail.records) - before_machines - budget)
        total += len(trail.records)
        window += sum(1 for record in trail.records if str(record["eventTime"]) >= since_text)
        files += write_records(directory, account.account_id, trail.records, account)
    return RoutineDataset(
        root=directory, seed=seed, account=account, start=start, since=since, end=end, events=total,
        window_events=window, files=files, developers=developers, legacy=legacy, apps=apps, exec_roles=exec_roles,
        deploy_role=ci.role, terraform_role=terraform.role,
    )
