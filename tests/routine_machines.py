"""Machines of the routine account: applications on EC2 (autoscaled) and ECS reading their SecureString
parameters and secrets on a schedule, Lambda functions, AWS services working for the account
(Config, GuardDuty, Backup, DLM, CloudTrail to CloudWatch Logs) and a monitoring vendor's crawler."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from awsrespond.emulator.cloudtrail import GLOBAL_EVENT_REGION
from tests.routine_account import (
    COMMERCIAL_REGIONS,
    Account,
    Credential,
    Role,
    Trail,
    role_identity,
)
from tests.routine_agents import Agent, boto3, go, node, sdk, ssm_agent
from tests.routine_people import read_burst
from tests.routine_reads import CONFIG, GUARDDUTY, MONITORING
from tests.routine_shapes import (
    assume_role,
    new_credential,
    run_instances,
    s3_object_resources,
    secret_value,
    service_assume_role,
    terminate_instances,
)

APP_TYPES = ("m5.large", "m6i.large", "c6i.large", "c5.xlarge", "t3.medium", "m7g.large", "r6i.large")


def business_time(account: Account, day: datetime) -> datetime:
    """A moment of ``day``, twice as likely in office hours as at night."""
    rng = account.rng
    if rng.random() < 0.6:
        return account.local(day, rng.uniform(8, 20))
    return day + timedelta(seconds=rng.uniform(0, 86_400))


@dataclass
class Workload:
    """One instance or task of an application: its session name is the instance id or the task id."""

    session: str
    start: datetime
    end: datetime
    private_ip: str
    credential: Credential | None = None


class App:
    """An application on EC2 (instance role, autoscaled) or ECS (task role)."""

    def __init__(self, account: Account, name: str, *, ecs: bool, size: int, autoscaling: Role,
                 start: datetime) -> None:
        rng = account.rng
        self.account = account
        self.name = name
        self.ecs = ecs
        self.service = "ecs-tasks.amazonaws.com" if ecs else "ec2.amazonaws.com"
        self.role = account.role(f"{name}-task-role" if ecs else f"{account.env}-{name}-instance-role")
        self.agent = sdk(rng, exec_env="AWS_ECS_FARGATE" if ecs else None)
        self.ssm_agent = ssm_agent(rng)
        self.secrets = rng.sample(list(account.secrets), rng.randint(1, 2))
        self.parameters = [p for p in account.parameters if f"/{name}/" in p] or rng.sample(account.parameters, 2)
        self.parameter_minutes = rng.choice((15, 30, 60))
        self.secret_minutes = rng.choice((60, 120, 240, 360))
        self.batch = rng.random() < 0.5
        self.vpce = account.vpce_ids[account.home] if rng.random() < 0.4 else None
        self.size = size
        self.peak = rng.randint(0, max(1, size))
        self.instance_type = rng.choice(APP_TYPES)
        self.template = account.ids.resource("lt")
        self.autoscaling = autoscaling
        self.bucket = rng.choice(account.buckets)
        self.table = rng.choice(account.tables)
        self.queue = rng.choice(account.queues)
        self.denied: tuple[float, str, str, dict[str, Any]] | None = None
        self.workloads = [self._workload(start - timedelta(days=rng.uniform(1, 30))) for _ in range(size)]

    def _workload(self, start: datetime, end: datetime | None = None) -> Workload:
        ids = self.account.ids
        session = ids.hex(32) if self.ecs else ids.resource("i")
        return Workload(session, start, end or datetime.max.replace(tzinfo=start.tzinfo), self.account.private_ip())

    # -- fleet changes --

    def _autoscaling_identity(self, when: datetime) -> dict[str, Any]:
        return role_identity(self.autoscaling, "AutoScaling", new_credential(self.account, when),
                             invoked_by="autoscaling.amazonaws.com")

    def _launch(self, trail: Trail, when: datetime, end: datetime | None) -> None:
        workload = self._workload(when + timedelta(seconds=40), end)
        if not self.ecs:
            run_instances(trail, when, identity=self._autoscaling_identity(when), ip="autoscaling.amazonaws.com",
                          user_agent="autoscaling.amazonaws.com", region=self.account.home,
                          instance_type=self.instance_type, instance_ids=[workload.session],
                          image_id=f"ami-0{self.account.ids.hex(16)}", subnet=self.account.rng.choice(
                              self.account.subnets), security_group=self.account.app_security_group,
                          profile=self.role.name, launch_template=self.template)
        self.workloads.append(workload)

    def _retire(self, trail: Trail, workload: Workload, when: datetime) -> None:
        workload.end = when
        if not self.ecs:
            terminate_instances(trail, when, identity=self._autoscaling_identity(when), ip="autoscaling.amazonaws.com",
                                user_agent="autoscaling.amazonaws.com", region=self.account.home,
                                instance_ids=[workload.session])

    def _fleet(self, trail: Trail, day: datetime) -> None:
        account, rng = self.account, self.account.rng
        live = [w for w in self.workloads if w.end > day]
        if self.ecs:
            if account.workday(day) and rng.random() < 0.5:
                when = account.local(day, rng.uniform(9, 18))
                for workload in live:
                    workload.end = when + timedelta(seconds=rng.uniform(30, 300))
                    self.workloads.append(self._workload(when + timedelta(seconds=rng.uniform(5, 60))))
            return
        for _ in range(rng.randint(0, self.peak)):
            self._launch(trail, account.local(day, rng.uniform(6.5, 9.5)), None)
            extra = self.workloads[-1]
            self._retire(trail, extra, account.local(day, rng.uniform(19, 23)))
        if live and rng.random() < 0.08:
            when = day + timedelta(seconds=rng.uniform(0, 86_000))
            self._retire(trail, rng.choice(live), when)
            self._launch(trail, when + timedelta(seconds=20), None)

    # -- calls --

    def _identity(self, trail: Trail, workload: Workload, when: datetime) -> dict[str, Any]:
        if workload.credential is None or not workload.credential.valid(when):
            issued = when - timedelta(seconds=self.account.rng.uniform(1, 30))
            workload.credential = new_credential(self.account, issued, hours=6)
            service_assume_role(trail, issued, self.service, self.role, workload.session, workload.credential,
                                self.account.home)
        return role_identity(self.role, workload.session, workload.credential, ec2_role_delivery=not self.ecs)

    def _address(self, workload: Workload, service: str) -> tuple[str, str | None]:
        if self.vpce is not None and service in ("ssm", "secretsmanager", "s3", "dynamodb"):
            return workload.private_ip, self.vpce
        return self.account.rng.choice(self.account.nat_ips[self.account.home]), None

    def day(self, trail: Trail, day: datetime, budget: int) -> None:
        account, rng = self.account, self.account.rng
        self._fleet(trail, day)
        end = day + timedelta(days=1)
        live = [w for w in self.workloads if w.start < end and w.end > day]
        plan: list[tuple[datetime, int, str]] = []
        for index, workload in enumerate(live):
            first = max(workload.start, day)
            last = min(workload.end, end)
            if workload.start >= day:
                plan.append((workload.start + timedelta(seconds=5), index, "parameters"))
                plan.append((workload.start + timedelta(seconds=6), index, "secrets"))
            for kind, minutes in (("parameters", self.parameter_minutes), ("secrets", self.secret_minutes),
                                  ("heartbeat", 0 if self.ecs else 60)):
                if minutes == 0:
                    continue
                phase = (workload.start - day).total_seconds() % (minutes * 60)
                t = day + timedelta(seconds=phase)
                while t < last:
                    if t >= first:
                        plan.append((t + timedelta(seconds=rng.uniform(0, 3)), index, kind))
                    t += timedelta(minutes=minutes)
        if live:
            for _ in range(budget):
                t = business_time(account, day)
                candidates = [i for i, w in enumerate(live) if w.start <= t < w.end]
                if candidates:
                    plan.append((t, rng.choice(candidates), "data"))
        if self.denied is not None and live and rng.random() < 0.7:
            t = account.local(day, self.denied[0])
            for _ in range(rng.randint(5, 30)):
                t += timedelta(seconds=rng.uniform(5, 40))
                candidates = [i for i, w in enumerate(live) if w.start <= t < w.end]
                if candidates:
                    plan.append((t, candidates[0], "denied"))
        plan.sort(key=lambda item: item[0])
        for when, index, kind in plan:
            self._call(trail, live[index], when, kind)

    def _call(self, trail: Trail, workload: Workload, when: datetime, kind: str) -> None:
        account, rng = self.account, self.account.rng
        identity = self._identity(trail, workload, when)
        region = account.home
        if kind == "parameters":
            ip, vpce = self._address(workload, "ssm")
            if self.batch:
                trail.call(when, "ssm", "GetParameters", region, identity, ip,
                           self.agent.for_call("ssm", "GetParameters"),
                           {"names": self.parameters, "withDecryption": True}, vpce=vpce)
            else:
                for parameter in self.parameters:
                    trail.call(when, "ssm", "GetParameter", region, identity, ip,
                               self.agent.for_call("ssm", "GetParameter"),
                               {"name": parameter, "withDecryption": True}, vpce=vpce)
        elif kind == "secrets":
            ip, vpce = self._address(workload, "secretsmanager")
            for secret in self.secrets:
                secret_value(trail, when, identity=identity, ip=ip,
                             user_agent=self.agent.for_call("secretsmanager", "GetSecretValue"), secret=secret,
                             region=region, vpce=vpce)
        elif kind == "heartbeat":
            ip, vpce = self._address(workload, "ssm")
            trail.call(when, "ssm", "UpdateInstanceInformation", region, identity, ip, self.ssm_agent,
                       {"instanceId": workload.session, "agentVersion": self.ssm_agent.rsplit("/", 1)[-1],
                        "agentStatus": "Active", "platformType": "Linux", "iPAddress": workload.private_ip},
                       vpce=vpce, read_only=False)
        elif kind == "denied":
            assert self.denied is not None
            _, service, operation, request = self.denied
            ip, vpce = self._address(workload, service)
            trail.call(when, service, operation, region, identity, ip, self.agent.for_call(service, operation), request,
                       error=("AccessDenied", f"User: {identity['arn']} is not authorized to perform: "
                                              f"{service}:{operation} because no identity-based policy allows the "
                                              f"{service}:{operation} action"), vpce=vpce)
        else:
            data_call(trail, when, identity, self.agent, self._address(workload, rng.choice(("s3", "dynamodb", "sqs"))),
                      self.bucket, self.table, self.queue)


def data_call(trail: Trail, when: datetime, identity: dict[str, Any], agent: Agent, address: tuple[str, str | None],
              bucket: str, table: str, queue: str) -> None:
    """One S3, DynamoDB or SQS data event of an application."""
    account, rng = trail.account, trail.account.rng
    ip, vpce = address
    region = account.home
    kind = rng.random()
    if kind < 0.4:
        operation = rng.choice(("GetObject", "GetObject", "PutObject", "HeadObject"))
        key = f"{rng.choice(('in', 'out', 'cache', 'tmp'))}/{account.ids.hex(12)}.json"
        trail.call(when, "s3", operation, region, identity, ip, agent.for_call("s3", operation),
                   {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com", "key": key}, None,
                   data=True, resources=s3_object_resources(account, bucket, key), vpce=vpce,
                   read_only=operation != "PutObject")
    elif kind < 0.75:
        operation = rng.choice(("GetItem", "GetItem", "Query", "PutItem", "UpdateItem"))
        trail.call(when, "dynamodb", operation, region, identity, ip, agent.for_call("dynamodb", operation),
                   {"tableName": table, "key": {"pk": "HIDDEN_DUE_TO_SECURITY_REASONS"}}, None, data=True,
                   resources=[{"accountId": account.account_id, "type": "AWS::DynamoDB::Table",
                               "ARN": f"arn:aws:dynamodb:{region}:{account.account_id}:table/{table}"}],
                   vpce=vpce, read_only=operation in ("GetItem", "Query"))
    else:
        operation = rng.choice(("ReceiveMessage", "ReceiveMessage", "SendMessage", "DeleteMessage"))
        trail.call(when, "sqs", operation, region, identity, address[0] if vpce is None else rng.choice(
            account.nat_ips[region]), agent.for_call("sqs", operation), {"queueUrl": account.queue_url(queue)}, None,
                   data=True, resources=[{"accountId": account.account_id, "type": "AWS::SQS::Queue",
                                          "ARN": f"arn:aws:sqs:{region}:{account.account_id}:{queue}"}],
                   read_only=operation == "ReceiveMessage")


class Functions:
    """Lambda functions running: cold starts (the service takes the execution role), a secret or a
    parameter read at start, then data calls; outside a VPC every environment has a new AWS address."""

    def __init__(self, account: Account, exec_roles: dict[str, Role]) -> None:
        rng = account.rng
        self.account = account
        self.exec_roles = exec_roles
        self.agents: dict[str, Agent] = {}
        self.in_vpc: dict[str, bool] = {}
        self.reads: dict[str, str | None] = {}
        for function in account.functions:
            self.agents[function] = (boto3(rng, exec_env="AWS_Lambda_python3.12") if rng.random() < 0.5
                                     else node(rng, exec_env="AWS_Lambda_nodejs20.x"))
            self.in_vpc[function] = rng.random() < 0.3
            self.reads[function] = rng.choice((None, "secret", "parameter"))
        self.bucket = rng.choice(account.buckets)

    def day(self, trail: Trail, day: datetime, budget: int) -> None:
        account, rng = self.account, self.account.rng
        environments: list[tuple[datetime, str, dict[str, Any], str]] = []
        for function in account.functions:
            for _ in range(rng.randint(3, 20)):
                start = business_time(account, day)
                role = self.exec_roles[function]
                credential = new_credential(account, start, hours=12)
                service_assume_role(trail, start, "lambda.amazonaws.com", role, function, credential, account.home)
                identity = role_identity(role, function, credential)
                ip = rng.choice(account.nat_ips[account.home]) if self.in_vpc[function] else account.aws_ip()
                agent = self.agents[function]
                read = self.reads[function]
                t = start + timedelta(milliseconds=rng.randint(200, 1500))
                if read == "secret":
                    secret_value(trail, t, identity=identity, ip=ip,
                                 user_agent=agent.for_call("secretsmanager", "GetSecretValue"),
                                 secret=rng.choice(list(account.secrets)), region=account.home)
                elif read == "parameter":
                    trail.call(t, "ssm", "GetParameter", account.home, identity, ip,
                               agent.for_call("ssm", "GetParameter"),
                               {"name": rng.choice(account.parameters), "withDecryption": True})
                environments.append((start, function, identity, ip))
        environments.sort(key=lambda item: item[0])
        starts = [item[0] for item in environments]
        for _ in range(budget):
            t = business_time(account, day)
            index = bisect.bisect_right(starts, t) - 1
            if index < 0:
                continue
            start, function, identity, ip = environments[index]
            data_call(trail, t, identity, self.agents[function], (ip, None), self.bucket,
                      rng.choice(account.tables), rng.choice(account.queues))


class AwsServices:
    """AWS working for the account: Config and GuardDuty reading configuration, AWS Backup and DLM
    snapshotting (copies to the DR region, retention deletes), CloudTrail writing to CloudWatch Logs."""

    def __init__(self, account: Account) -> None:
        ids = account.ids
        self.account = account
        self.config = account.role("AWSServiceRoleForConfig", "/aws-service-role/config.amazonaws.com/")
        self.guardduty = account.role("AWSServiceRoleForAmazonGuardDuty", "/aws-service-role/guardduty.amazonaws.com/")
        self.backup = account.role("AWSBackupDefaultServiceRole", "/service-role/")
        self.dlm = account.role("AWSDataLifecycleManagerDefaultRole", "/service-role/")
        self.trail_logs = account.role("CloudTrail_CloudWatchLogs_Role")
        self.volumes = [ids.resource("vol") for _ in range(account.rng.randint(2, 6))]
        self.instances = [ids.resource("i") for _ in range(account.rng.randint(1, 3))]
        self.snapshots: list[tuple[str, str]] = []
        self.vault = account.rng.choice(("Default", f"{account.slug}-vault", "daily-backups"))
        self.backup_hour = account.rng.uniform(0, 4)

    def _service(self, role: Role, session: str, service: str, when: datetime) -> dict[str, Any]:
        return role_identity(role, session, new_credential(self.account, when), invoked_by=service)

    def day(self, trail: Trail, day: datetime) -> None:
        account, rng = self.account, self.account.rng
        for region in (account.home, account.dr):
            for _ in range(rng.randint(1, 5)):
                t = day + timedelta(seconds=rng.uniform(0, 86_000))
                read_burst(trail, t, CONFIG, rng.randint(3, 20),
                           identity=self._service(self.config, "AWSConfig-Describe", "config.amazonaws.com", t),
                           ip="config.amazonaws.com", agent="config.amazonaws.com", region=region)
            for hour in range(0, 24, 6):
                t = day + timedelta(hours=hour, seconds=rng.uniform(0, 3000))
                read_burst(trail, t, GUARDDUTY, rng.randint(2, 8),
                           identity=self._service(self.guardduty, "GuardDuty", "guardduty.amazonaws.com", t),
                           ip="guardduty.amazonaws.com", agent="guardduty.amazonaws.com", region=region)
        self._backup(trail, account.local(day, self.backup_hour))
        self._dlm(trail, account.local(day, self.backup_hour + 1))
        t = day + timedelta(seconds=rng.uniform(0, 86_000))
        trail.call(t, "logs", "CreateLogStream", account.home,
                   self._service(self.trail_logs, account.ids.hex(8), "cloudtrail.amazonaws.com", t),
                   "cloudtrail.amazonaws.com", "cloudtrail.amazonaws.com",
                   {"logGroupName": f"aws-cloudtrail-logs-{account.account_id}-{account.ids.hex(8)}",
                    "logStreamName": f"{account.account_id}_CloudTrail_{account.home}_{day:%Y%m%d}"})

    def _backup(self, trail: Trail, when: datetime) -> None:
        account, rng = self.account, self.account.rng
        home, dr = account.home, account.dr
        t = when
        identity = self._service(self.backup, "AWSBackup-AWSBackupDefaultServiceRole", "backup.amazonaws.com", t)
        for volume in self.volumes:
            t += timedelta(seconds=rng.uniform(1, 30))
            job = account.ids.uuid().upper()
            trail.call(t, "backup", "StartBackupJob", home,
                       {"type": "AWSService", "invokedBy": "backup.amazonaws.com"}, "backup.amazonaws.com",
                       "backup.amazonaws.com",
                       {"backupVaultName": self.vault,
                        "resourceArn": f"arn:aws:ec2:{home}:{account.account_id}:volume/{volume}",
                        "iamRoleArn": self.backup.arn, "idempotencyToken": account.ids.uuid(),
                        "startWindowMinutes": 60, "completeWindowMinutes": 10080,
                        "lifecycle": {"deleteAfterDays": 35}},
                       {"backupJobId": job, "creationDate": t.strftime("%b %d, %Y, %I:%M:%S %p"), "isParent": False})
            snapshot = account.ids.resource("snap")
            t += timedelta(seconds=rng.uniform(5, 90))
            trail.call(t, "ec2", "CreateSnapshot", home, identity, "backup.amazonaws.com", "backup.amazonaws.com",
                       {"volumeId": volume, "description": "This snapshot is created by the AWS Backup service.",
                        "tagSpecificationSet": {"items": [{"resourceType": "snapshot", "tags": [
                            {"key": "aws:backup:source-resource", "value": volume}]}]}},
                       {"requestId": account.ids.uuid(), "snapshotId": snapshot, "volumeId": volume,
                        "status": "pending", "ownerId": account.account_id})
            copy = account.ids.resource("snap")
            trail.call(t + timedelta(minutes=rng.uniform(10, 40)), "ec2", "CopySnapshot", dr, identity,
                       "backup.amazonaws.com", "backup.amazonaws.com",
                       {"sourceRegion": home, "sourceSnapshotId": snapshot, "destinationRegion": dr,
                        "description": f"Copied for DestinationSnapshot {copy} from SourceSnapshot {snapshot}",
                        "encrypted": True}, {"requestId": account.ids.uuid(), "snapshotId": copy})
            self.snapshots.append((home, snapshot))
            self.snapshots.append((dr, copy))
        while len(self.snapshots) > 2 * 35 * len(self.volumes) // 7:
            region, snapshot = self.snapshots.pop(0)
            t += timedelta(seconds=rng.uniform(1, 10))
            trail.call(t, "ec2", "DeleteSnapshot", region, identity, "backup.amazonaws.com", "backup.amazonaws.com",
                       {"snapshotId": snapshot}, {"requestId": account.ids.uuid(), "_return": True})

    def _dlm(self, trail: Trail, when: datetime) -> None:
        account, rng = self.account, self.account.rng
        identity = self._service(self.dlm, "DLM", "dlm.amazonaws.com", when)
        for instance in self.instances:
            t = when + timedelta(seconds=rng.uniform(0, 600))
            trail.call(t, "ec2", "CreateSnapshots", account.home, identity, "dlm.amazonaws.com", "dlm.amazonaws.com",
                       {"instanceSpecification": {"instanceId": instance, "excludeBootVolume": False},
                        "copyTagsFromSource": "volume", "description": "Created for policy: policy-" +
                        account.ids.hex(17)},
                       {"requestId": account.ids.uuid(), "snapshotSet": {"items": [
                           {"snapshotId": account.ids.resource("snap"), "ownerId": account.account_id}]}})
            if rng.random() < 0.9:
                trail.call(t + timedelta(seconds=5), "ec2", "DeleteSnapshot", account.home, identity,
                           "dlm.amazonaws.com", "dlm.amazonaws.com", {"snapshotId": account.ids.resource("snap")},
                           {"requestId": account.ids.uuid(), "_return": True})


class VendorMonitoring:
    """A monitoring SaaS taking a read-only role from its own account (with an external id) every hour
    or two, reading metrics and inventory; twice a day it sweeps every region for instances."""

    def __init__(self, account: Account) -> None:
        rng = account.rng
        self.account = account
        self.role = account.role(rng.choice(("DatadogIntegrationRole", "NewRelicInfrastructure-Integrations",
                                             "monitoring-integration", "observability-readonly")))
        self.external_id = account.ids.hex(32)
        self.agent = rng.choice((go(rng), boto3(rng)))
        self.addresses = [account.aws_ip() for _ in range(rng.randint(4, 12))]
        self.minutes = rng.choice((60, 90, 120))
        self.caller_role_id = account.ids.unique("AROA")

    def day(self, trail: Trail, day: datetime) -> None:
        account, rng = self.account, self.account.rng
        t = day + timedelta(minutes=rng.uniform(0, self.minutes))
        sweeps = {rng.randint(0, 23), rng.randint(0, 23)}
        while t < day + timedelta(days=1):
            session = f"{account.ids.hex(8)}-{int(t.timestamp())}"
            ip = rng.choice(self.addresses)
            credential = new_credential(account, t)
            caller = {"type": "AWSAccount", "principalId": f"{self.caller_role_id}:{account.ids.hex(10)}",
                      "accountId": account.vendor_account}
            assume_role(trail, t, identity=caller, ip=ip, user_agent=self.agent.for_call("sts", "AssumeRole"),
                        role=self.role, session=session, credential=credential, external_id=self.external_id,
                        region=GLOBAL_EVENT_REGION)
            identity = role_identity(self.role, session, credential)
            for region in (account.home, account.dr):
                read_burst(trail, t, MONITORING, rng.randint(1, 4), identity=identity, ip=ip, agent=self.agent,
                           region=region, spacing=(0.1, 2))
            if t.hour in sweeps:
                for region in COMMERCIAL_REGIONS:
                    trail.call(t + timedelta(seconds=rng.uniform(1, 60)), "ec2", "DescribeInstances", region,
                               identity, ip, self.agent.for_call("ec2", "DescribeInstances"),
                               {"instancesSet": {}, "filterSet": {}})
            t += timedelta(minutes=self.minutes + rng.uniform(-5, 5))
