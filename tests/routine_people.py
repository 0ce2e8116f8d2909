"""People and pipelines of the routine account: CI deploying Lambda code through OIDC, Terraform,
developers (IAM users or Identity Center sessions), an administrator's rare work, a legacy service key."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from awsrespond.emulator.cloudtrail import GLOBAL_EVENT_REGION, iam_date
from tests.routine_account import (
    Account,
    Network,
    Role,
    Trail,
    User,
    role_identity,
    trust_document,
    user_identity,
)
from tests.routine_agents import Agent, aws_cli, boto3, browser, terraform
from tests.routine_reads import CLI, CONSOLE, TERRAFORM, Read
from tests.routine_shapes import (
    assume_role,
    function_arn,
    function_configuration,
    new_credential,
    policy_document,
    run_instances,
    s3_bucket_request,
    s3_object_resources,
    saml,
    secret_value,
    terminate_instances,
    web_identity,
)

GITHUB_OIDC = "token.actions.githubusercontent.com"
SERVICE_POLICIES = {
    "lambda.amazonaws.com": (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
        "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
    ),
    "ecs-tasks.amazonaws.com": (
        "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    ),
    "ec2.amazonaws.com": (
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
    ),
}
SMALL_TYPES = ("t3.micro", "t3.small", "t3.medium", "t3a.small", "t4g.small", "t4g.medium", "m5.large", "m6i.large",
               "c6i.large", "c6g.large")


def _seconds(account: Account, low: float, high: float) -> timedelta:
    return timedelta(seconds=account.rng.uniform(low, high))


def _denied(identity: dict[str, Any], service: str, operation: str) -> tuple[str, str]:
    code = "Client.UnauthorizedOperation" if service == "ec2" else "AccessDenied"
    return code, (f"User: {identity.get('arn')} is not authorized to perform: {service}:{operation} "
                  "because no identity-based policy allows the action")


def read_burst(
    trail: Trail,
    start: datetime,
    catalog: list[Read],
    count: int,
    *,
    identity: dict[str, Any],
    ip: str,
    agent: Agent | str,
    region: str,
    spacing: tuple[float, float] = (0.2, 4.0),
    console: bool = False,
) -> datetime:
    """``count`` reads drawn from ``catalog``, one after the other; returns the time of the last."""
    account = trail.account
    when = start
    for _ in range(count):
        service, operation, request = account.rng.choice(catalog)
        when += _seconds(account, *spacing)
        user_agent = agent.for_call(service, operation) if isinstance(agent, Agent) else agent
        call_region = GLOBAL_EVENT_REGION if service in ("iam", "ce", "organizations") else region
        trail.call(when, service, operation, call_region, identity, ip, user_agent, request(account),
                   console=console, read_only=True)
    return when


# -- CI: Lambda code through GitHub Actions OIDC ---------------------------------------------------


class LambdaDeployCi:
    """GitHub Actions workflows deploying Lambda code: AssumeRoleWithWebIdentity, then per function
    UpdateFunctionCode, waiters, sometimes UpdateFunctionConfiguration, PublishVersion, UpdateAlias."""

    def __init__(self, account: Account, runners: list[Network], exec_roles: dict[str, Role]) -> None:
        rng = account.rng
        self.account = account
        self.runners = runners
        self.exec_roles = exec_roles
        self.role = account.role(rng.choice(
            ("gha-deploy-lambda", "github-actions-deploy", f"{account.slug}-ci-deploy", "oidc-lambda-deployer")))
        self.repos: dict[str, list[str]] = {}
        for function in account.functions:
            self.repos.setdefault(f"{account.github_org}/{function.split('-')[-2]}-service", []).append(function)
        self.agent = (aws_cli(rng, platform="os/linux#6.5.0-1016-azure md/arch#x86_64") if rng.random() < 0.5
                      else boto3(rng))
        self.runs_per_day = rng.randint(2, 5)
        self.versions = {function: rng.randint(3, 200) for function in account.functions}
        self.bucket = account.buckets[0]

    def day(self, trail: Trail, day: datetime) -> None:
        rng = self.account.rng
        weekend_run = 1 if rng.random() < 0.1 else 0
        runs = rng.randint(0, 2 * self.runs_per_day) if self.account.workday(day) else weekend_run
        for _ in range(runs):
            self._run(trail, self.account.local(day, rng.uniform(8.5, 19.5)))

    def _run(self, trail: Trail, when: datetime) -> None:
        account, rng = self.account, self.account.rng
        repo = rng.choice(list(self.repos))
        subject = rng.choice((f"repo:{repo}:ref:refs/heads/main", f"repo:{repo}:environment:{account.env}"))
        ip = rng.choice(self.runners).address(rng)
        credential = new_credential(account, when)
        web_identity(trail, when, provider=GITHUB_OIDC, subject=subject, ip=ip, role=self.role,
                     session="GitHubActions", credential=credential, region=account.home)
        identity = role_identity(self.role, "GitHubActions", credential,
                                 web_identity_provider=f"arn:aws:iam::{account.account_id}:oidc-provider/{GITHUB_OIDC}")
        t = when + _seconds(account, 5, 40)
        for function in self.repos[repo]:
            t = self._deploy(trail, t, function, identity, ip)

    def _deploy(self, trail: Trail, t: datetime, function: str, identity: dict[str, Any], ip: str) -> datetime:
        account, rng = self.account, self.account.rng
        region = account.home
        exec_role = self.exec_roles[function]

        def call(name: str, request: dict[str, Any], response: dict[str, Any] | None = None) -> None:
            nonlocal t
            t += _seconds(account, 0.5, 6)
            trail.call(t, "lambda", name, region, identity, ip, self.agent.for_call("lambda", name), request, response)

        call("GetFunction20150331v2", {"functionName": function})
        sha = account.ids.hex(40)
        call("UpdateFunctionCode20150331v2",
             {"functionName": function, "s3Bucket": self.bucket, "s3Key": f"{function}/{sha}.zip", "publish": False,
              "dryRun": False}, function_configuration(account, function, exec_role, t))
        for _ in range(rng.randint(1, 3)):
            call("GetFunctionConfiguration20150331v2", {"functionName": function})
        if rng.random() < 0.35:
            call("UpdateFunctionConfiguration20150331v2",
                 {"functionName": function, "environment": {}, "timeout": rng.choice((30, 60, 120)),
                  "memorySize": rng.choice((256, 512, 1024))},
                 function_configuration(account, function, exec_role, t))
            call("GetFunctionConfiguration20150331v2", {"functionName": function})
        self.versions[function] += 1
        version = str(self.versions[function])
        configuration = function_configuration(account, function, exec_role, t, version=version)
        call("PublishVersion20150331", {"functionName": function, "codeSha256": configuration["codeSha256"],
                                        "description": sha[:7]}, configuration)
        call("UpdateAlias20150331", {"functionName": function, "name": "live", "functionVersion": version},
             {"aliasArn": f"{function_arn(account, function)}:live", "name": "live", "functionVersion": version,
              "description": "", "revisionId": account.ids.uuid()})
        return t


# -- Terraform -------------------------------------------------------------------------------------


@dataclass
class _Stack:
    roles: list[str] = field(default_factory=list)
    policies: dict[str, int] = field(default_factory=dict)


class Terraform:
    """Terraform plans (many reads in a minute or two, through a deploy role taken with OIDC, after
    taking the state role in the shared-services account) and applies creating service roles,
    security groups, functions, log groups, policy versions and bucket policies."""

    def __init__(self, account: Account, runners: list[Network]) -> None:
        rng = account.rng
        self.account = account
        self.runners = runners
        self.role = account.role(rng.choice(("terraform-deploy", "tf-apply", "infra-deployer", "terraform-ci")))
        self.repo = f"{account.github_org}/{rng.choice(('infrastructure', 'infra', 'terraform', 'platform-iac'))}"
        self.state_role = Role(account.org_accounts[0], rng.choice(("terraform-state", "tfstate-access")),
                               account.ids.unique("AROA"))
        self.agent = terraform(rng)
        self.plans_per_day = rng.randint(1, 4)
        self.stack = _Stack(policies={f"{account.slug}-{t.split('-')[-1]}-access": rng.randint(1, 4)
                                      for t in account.tables})
        self.counter = 0

    def day(self, trail: Trail, day: datetime) -> None:
        rng = self.account.rng
        if not self.account.workday(day):
            return
        for _ in range(rng.randint(0, 2 * self.plans_per_day)):
            when = self.account.local(day, rng.uniform(8.5, 19))
            identity, ip, t = self._start(trail, when)
            t = read_burst(trail, t, TERRAFORM, rng.randint(30, 140), identity=identity, ip=ip, agent=self.agent,
                           region=self.account.home, spacing=(0.05, 1.5))
            if rng.random() < 0.4:
                for _ in range(rng.randint(1, 2)):
                    t = rng.choice((self._service_role, self._security_group, self._function, self._policy_version,
                                    self._bucket_policy, self._log_group))(trail, t, identity, ip)

    def _start(self, trail: Trail, when: datetime) -> tuple[dict[str, Any], str, datetime]:
        account, rng = self.account, self.account.rng
        ip = rng.choice(self.runners).address(rng)
        credential = new_credential(account, when)
        web_identity(trail, when, provider=GITHUB_OIDC, subject=f"repo:{self.repo}:ref:refs/heads/main", ip=ip,
                     role=self.role, session="GitHubActions", credential=credential, region=account.home)
        identity = role_identity(self.role, "GitHubActions", credential,
                                 web_identity_provider=f"arn:aws:iam::{account.account_id}:oidc-provider/{GITHUB_OIDC}")
        t = when + _seconds(account, 10, 60)
        assume_role(trail, t, identity=identity, ip=ip, user_agent=self.agent.for_call("sts", "AssumeRole"),
                    role=self.state_role, session="terraform", credential=new_credential(account, t),
                    region=account.home)
        t += _seconds(account, 1, 5)
        trail.call(t, "sts", "GetCallerIdentity", account.home, identity, ip,
                   self.agent.for_call("sts", "GetCallerIdentity"))
        return identity, ip, t

    def _call(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str, service: str, name: str,
              request: dict[str, Any], response: dict[str, Any] | None = None, region: str | None = None) -> datetime:
        t += _seconds(self.account, 0.3, 3)
        where = region or (GLOBAL_EVENT_REGION if service == "iam" else self.account.home)
        trail.call(t, service, name, where, identity, ip, self.agent.for_call(service, name), request, response)
        return t

    def _service_role(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str) -> datetime:
        account, rng = self.account, self.account.rng
        service = rng.choice(list(SERVICE_POLICIES))
        self.counter += 1
        name = f"{account.env}-{rng.choice(account.tables).split('-')[-1]}-{service.split('.')[0]}-{self.counter}"
        role_id = account.ids.unique("AROA")
        t = self._call(trail, t, identity, ip, "iam", "CreateRole", {
            "roleName": name, "path": "/", "description": "Managed by Terraform",
            "assumeRolePolicyDocument": trust_document({"Service": service}), "maxSessionDuration": 3600,
            "tags": [{"key": "ManagedBy", "value": "terraform"}],
        }, {"role": {"path": "/", "roleName": name, "roleId": role_id,
                     "arn": f"arn:aws:iam::{account.account_id}:role/{name}", "createDate": iam_date(t),
                     "assumeRolePolicyDocument": trust_document({"Service": service})}})
        for policy in rng.sample(SERVICE_POLICIES[service], rng.randint(1, len(SERVICE_POLICIES[service]))):
            t = self._call(trail, t, identity, ip, "iam", "AttachRolePolicy", {"roleName": name, "policyArn": policy})
        bucket = rng.choice(account.buckets)
        t = self._call(trail, t, identity, ip, "iam", "PutRolePolicy", {
            "roleName": name, "policyName": f"{name}-access",
            "policyDocument": policy_document([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                                                "Resource": f"arn:aws:s3:::{bucket}/*"}]),
        })
        if service == "ec2.amazonaws.com":
            t = self._call(trail, t, identity, ip, "iam", "CreateInstanceProfile", {"instanceProfileName": name})
            t = self._call(trail, t, identity, ip, "iam", "AddRoleToInstanceProfile",
                           {"instanceProfileName": name, "roleName": name})
        self.stack.roles.append(name)
        return t

    def _security_group(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str) -> datetime:
        account, rng = self.account, self.account.rng
        group = account.ids.resource("sg")
        name = f"{account.env}-{rng.choice(account.tables).split('-')[-1]}-{account.ids.hex(6)}"
        t = self._call(trail, t, identity, ip, "ec2", "CreateSecurityGroup",
                       {"groupName": name, "groupDescription": "Managed by Terraform", "vpcId": account.vpc_id},
                       {"requestId": account.ids.uuid(), "_return": True, "groupId": group,
                        "securityGroupArn": f"arn:aws:ec2:{account.home}:{account.account_id}:security-group/{group}"})
        t = self._call(trail, t, identity, ip, "ec2", "RevokeSecurityGroupEgress", {
            "groupId": group, "ipPermissions": {"items": [{"ipProtocol": "-1", "ipRanges": {"items": [
                {"cidrIp": "0.0.0.0/0"}]}}]}})
        port = rng.choice((443, 5432, 6379, 8080, 3306))
        vpc = str(account.subnet_cidrs[0].supernet(new_prefix=16))
        for direction in ("AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress"):
            t = self._call(trail, t, identity, ip, "ec2", direction, {
                "groupId": group, "ipPermissions": {"items": [{
                    "ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": {},
                    "ipRanges": {"items": [{"cidrIp": vpc, "description": "vpc"}]},
                    "ipv6Ranges": {}, "prefixListIds": {}}]}},
                {"requestId": account.ids.uuid(), "_return": True, "securityGroupRuleSet": {"items": [
                    {"groupOwnerId": account.account_id, "groupId": group,
                     "securityGroupRuleId": account.ids.resource("sgr"), "isEgress": direction.endswith("Egress"),
                     "ipProtocol": "tcp", "fromPort": port, "toPort": port, "cidrIpv4": vpc}]}})
        return t

    def _function(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str) -> datetime:
        account, rng = self.account, self.account.rng
        name = f"{account.slug}-{rng.choice(account.tables).split('-')[-1]}-{rng.choice(('etl', 'hook', 'job'))}" \
               f"-{account.ids.hex(4)}"
        role = Role(account.account_id, f"{name}-role", account.ids.unique("AROA"))
        t = self._call(trail, t, identity, ip, "logs", "CreateLogGroup", {"logGroupName": f"/aws/lambda/{name}"})
        t = self._call(trail, t, identity, ip, "logs", "PutRetentionPolicy",
                       {"logGroupName": f"/aws/lambda/{name}", "retentionInDays": rng.choice((14, 30, 90))})
        t = self._call(trail, t, identity, ip, "lambda", "CreateFunction20150331", {
            "functionName": name, "runtime": "python3.12", "role": role.arn, "handler": "app.handler",
            "code": {"s3Bucket": account.buckets[0], "s3Key": f"{name}/{account.ids.hex(40)}.zip"},
            "timeout": 30, "memorySize": 256, "publish": False, "packageType": "Zip",
        }, function_configuration(account, name, role, t))
        source = rng.choice((("apigateway.amazonaws.com", f"arn:aws:execute-api:{account.home}:{account.account_id}:"
                                                          f"{account.ids.hex(10)}/*/*/*"),
                             ("events.amazonaws.com", f"arn:aws:events:{account.home}:{account.account_id}:rule/"
                                                      f"{name}-schedule")))
        return self._call(trail, t, identity, ip, "lambda", "AddPermission20150331v2", {
            "functionName": name, "statementId": "terraform-" + account.ids.hex(8), "action": "lambda:InvokeFunction",
            "principal": source[0], "sourceArn": source[1]},
            {"statement": json.dumps({"Sid": "allow", "Effect": "Allow", "Principal": {"Service": source[0]},
                                      "Action": "lambda:InvokeFunction",
                                      "Resource": function_arn(account, name),
                                      "Condition": {"ArnLike": {"AWS:SourceArn": source[1]}}})})

    def _policy_version(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str) -> datetime:
        account, rng = self.account, self.account.rng
        name = rng.choice(list(self.stack.policies))
        arn = f"arn:aws:iam::{account.account_id}:policy/{name}"
        table = f"arn:aws:dynamodb:{account.home}:{account.account_id}:table/{rng.choice(account.tables)}"
        document = policy_document([{"Effect": "Allow", "Action": rng.sample(
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            3), "Resource": [table, f"{table}/index/*"]}])
        self.stack.policies[name] += 1
        version = self.stack.policies[name]
        if version > 5:
            t = self._call(trail, t, identity, ip, "iam", "DeletePolicyVersion",
                           {"policyArn": arn, "versionId": f"v{version - 5}"})
        return self._call(trail, t, identity, ip, "iam", "CreatePolicyVersion",
                          {"policyArn": arn, "policyDocument": document, "setAsDefault": True},
                          {"policyVersion": {"versionId": f"v{version}", "isDefaultVersion": True,
                                             "createDate": iam_date(t)}})

    def _bucket_policy(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str) -> datetime:
        account = self.account
        bucket = account.rng.choice(account.buckets)
        document = policy_document([
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            {"Sid": "AllowCloudFrontServicePrincipal", "Effect": "Allow",
             "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{bucket}/*",
             "Condition": {"StringEquals": {"AWS:SourceArn":
                                            f"arn:aws:cloudfront::{account.account_id}:distribution/E{account.ids.hex(12).upper()}"}}},
        ])
        t = self._call(trail, t, identity, ip, "s3", "PutBucketPolicy",
                       s3_bucket_request(bucket, account.home, policy="", bucketPolicy=json.loads(document)))
        return self._call(trail, t, identity, ip, "s3", "PutBucketPublicAccessBlock", s3_bucket_request(
            bucket, account.home, publicAccessBlock="", PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True}))

    def _log_group(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str) -> datetime:
        account = self.account
        group = f"/{account.env}/{account.rng.choice(account.tables).split('-')[-1]}/{account.ids.hex(4)}"
        t = self._call(trail, t, identity, ip, "logs", "CreateLogGroup", {"logGroupName": group})
        return self._call(trail, t, identity, ip, "logs", "PutRetentionPolicy",
                          {"logGroupName": group, "retentionInDays": 30})


# -- developers ------------------------------------------------------------------------------------


@dataclass
class IdentityCenter:
    """The account's IAM Identity Center: one SAML provider, one role per permission set."""

    provider_arn: str
    roles: dict[str, Role]

    @classmethod
    def draw(cls, account: Account) -> IdentityCenter:
        tag = account.ids.hex(16)
        path = f"/aws-reserved/sso.amazonaws.com/{account.home}/"
        roles = {
            permission_set: account.role(f"AWSReservedSSO_{permission_set}_{account.ids.hex(16)}", path)
            for permission_set in ("AdministratorAccess", "Developer", "ReadOnly")
        }
        return cls(f"arn:aws:iam::{account.account_id}:saml-provider/AWSSSO_{tag}_DO_NOT_DELETE", roles)


@dataclass
class _DevBox:
    instance_id: str
    region: str
    until: datetime


class Developer:
    """One engineer: console (IAM user with MFA, or an Identity Center session) and CLI from the office
    or home (the home address changes now and then; one trip may bring a hotel network), small
    instances in their usual region, SSM sessions, now and then an AccessDenied."""

    def __init__(self, account: Account, name: str, *, center: IdentityCenter | None, home: Network,
                 trip: tuple[datetime, datetime, Network] | None) -> None:
        rng = account.rng
        self.account = account
        self.email = f"{name}@{account.slug}.com"
        self.center = center
        self.user = account.user(name.replace(".", "-") if rng.random() < 0.5 else name) if center is None else None
        self.home = home
        self.home_ip = home.address(rng)
        self.next_move = datetime.min.replace(tzinfo=None)
        self.trip = trip
        self.office_share = rng.uniform(0.2, 0.9)
        self.cli = aws_cli(rng)
        self.browser = browser(rng)
        self.region = account.home if rng.random() < 0.85 else account.dr
        self.session_token = center is None and rng.random() < 0.5
        self.uses_ssm = rng.random() < 0.5
        self.instance_types = rng.sample(SMALL_TYPES, 3)
        self.image = f"ami-0{account.ids.hex(16)}"
        self.key_pair = f"{name.split('.', maxsplit=1)[0]}-{rng.choice(('laptop', 'dev', 'key'))}"
        self.boxes: list[_DevBox] = []
        self.activity = rng.uniform(0.6, 1.4)

    @property
    def role(self) -> Role:
        assert self.center is not None
        return self.center.roles["Developer"]

    def _where(self, day: datetime) -> str:
        rng = self.account.rng
        if self.trip is not None and self.trip[0] <= day < self.trip[1]:
            return self.trip[2].address(rng)
        if day.replace(tzinfo=None) >= self.next_move:
            self.home_ip = self.home.address(rng)
            self.next_move = day.replace(tzinfo=None) + timedelta(days=rng.randint(5, 25))
        return self.account.office_ip() if rng.random() < self.office_share else self.home_ip

    def day(self, trail: Trail, day: datetime) -> None:
        account, rng = self.account, self.account.rng
        ip = self._where(day)
        if not account.workday(day) or rng.random() < 0.12:
            self._terminate_due(trail, day + timedelta(hours=23), ip)
            return
        start = account.local(day, rng.uniform(8, 10.5))
        end = account.local(day, rng.uniform(16.5, 19.5))
        if rng.random() < 0.65:
            self._console(trail, start, end, ip)
        if rng.random() < 0.75:
            self._cli(trail, start + (end - start) * rng.uniform(0, 0.5), end, ip)
        self._terminate_due(trail, end, ip)

    def _console(self, trail: Trail, start: datetime, end: datetime, ip: str) -> None:
        account, rng = self.account, self.account.rng
        credential = new_credential(account, start, hours=12)
        if self.user is not None:
            if rng.random() < 0.03:
                self._login(trail, start - timedelta(seconds=40), ip, success=False)
            self._login(trail, start, ip, success=True)
            identity = user_identity(self.user, credential, mfa=True)
        else:
            assert self.center is not None
            saml(trail, start, provider_arn=self.center.provider_arn, subject=self.email, ip=ip,
                 user_agent=self.browser, role=self.role, credential=credential)
            login_identity = role_identity(self.role, self.email, credential)
            login_identity.pop("accessKeyId")
            trail.call(start + timedelta(seconds=2), "signin", "ConsoleLogin", GLOBAL_EVENT_REGION, login_identity,
                       ip, self.browser, None, {"ConsoleLogin": "Success"}, event_type="AwsConsoleSignIn",
                       read_only=False, additional={
                           "LoginTo": f"https://console.aws.amazon.com/console/home?region={self.region}",
                           "MobileVersion": "No", "MFAUsed": "No", "SamlProviderArn": self.center.provider_arn})
            identity = role_identity(self.role, self.email, credential)
        count = int(rng.randint(8, 50) * self.activity)
        span = (end - start).total_seconds()
        for _ in range(max(1, count // 8)):
            t = start + timedelta(seconds=rng.uniform(30, span))
            agent = "AWS Internal" if rng.random() < 0.2 else self.browser
            read_burst(trail, t, CONSOLE, rng.randint(3, 12), identity=identity, ip=ip, agent=agent,
                       region=self.region, console=True)

    def _login(self, trail: Trail, when: datetime, ip: str, *, success: bool) -> None:
        assert self.user is not None
        account = self.account
        trail.call(
            when, "signin", "ConsoleLogin", GLOBAL_EVENT_REGION,
            {"type": "IAMUser", "principalId": self.user.user_id, "arn": self.user.arn,
             "accountId": account.account_id, "userName": self.user.name},
            ip, self.browser, None, {"ConsoleLogin": "Success" if success else "Failure"},
            error=None if success else ("Failed authentication", "Failed authentication"),
            event_type="AwsConsoleSignIn", read_only=False,
            additional={"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                        "MobileVersion": "No", "MFAUsed": "Yes" if success else "No",
                        **({"MFAIdentifier": f"arn:aws:iam::{account.account_id}:mfa/{self.user.name}"}
                           if success else {})},
        )

    def _cli_identity(self, trail: Trail, when: datetime, ip: str) -> dict[str, Any]:
        account = self.account
        if self.user is None:
            return role_identity(self.role, self.email, new_credential(account, when, hours=8))
        if not self.session_token:
            return user_identity(self.user)
        credential = new_credential(account, when, hours=12)
        trail.call(when, "sts", "GetSessionToken", GLOBAL_EVENT_REGION, user_identity(self.user), ip,
                   self.cli.for_call("sts", "GetSessionToken"),
                   {"durationSeconds": 43200,
                    "serialNumber": f"arn:aws:iam::{account.account_id}:mfa/{self.user.name}"},
                   {"credentials": {"accessKeyId": credential.key, "sessionToken": account.ids.token(),
                                    "expiration": iam_date(credential.expires)}}, read_only=True)
        return user_identity(self.user, credential, mfa=True)

    def _cli(self, trail: Trail, start: datetime, end: datetime, ip: str) -> None:
        account, rng = self.account, self.account.rng
        identity = self._cli_identity(trail, start, ip)
        span = max(60.0, (end - start).total_seconds())
        for _ in range(rng.randint(1, 4)):
            t = start + timedelta(seconds=rng.uniform(0, span))
            read_burst(trail, t, CLI, int(rng.randint(2, 12) * self.activity), identity=identity, ip=ip,
                       agent=self.cli, region=self.region)
        t = start + timedelta(seconds=rng.uniform(0, span))
        if self.uses_ssm and rng.random() < 0.3:
            self._ssm_session(trail, t, identity, ip)
        if rng.random() < 0.12:
            parameter = rng.choice(account.parameters)
            trail.call(t, "ssm", "GetParameter", account.home, identity, ip, self.cli.for_call("ssm", "GetParameter"),
                       {"name": parameter, "withDecryption": True})
        if rng.random() < 0.06:
            secret_value(trail, t, identity=identity, ip=ip, user_agent=self.cli.for_call("secretsmanager",
                         "GetSecretValue"), secret=rng.choice(list(account.secrets)), region=account.home)
        if rng.random() < 0.15:
            self._launch(trail, t + timedelta(minutes=3), identity, ip)
        if rng.random() < 0.1:
            for _ in range(rng.randint(1, 3)):
                service, operation, request = rng.choice(CLI[1:])
                t += _seconds(account, 1, 20)
                trail.call(t, service, operation, self.region, identity, ip, self.cli.for_call(service, operation),
                           request(account), error=_denied(identity, service, operation))
        if rng.random() < 0.04:
            other = rng.choice(account.org_accounts)
            role = Role(other, rng.choice(("ReadOnly", "developer", "support-readonly")), account.ids.unique("AROA"))
            assume_role(trail, t + timedelta(minutes=1), identity=identity, ip=ip,
                        user_agent=self.cli.for_call("sts", "AssumeRole"), role=role,
                        session=f"{self.email.split('@')[0]}-{account.ids.hex(4)}",
                        credential=new_credential(account, t))

    def _ssm_session(self, trail: Trail, when: datetime, identity: dict[str, Any], ip: str) -> None:
        account = self.account
        target = self.boxes[0].instance_id if self.boxes else account.ids.resource("i")
        session = f"{self.email.split('@')[0]}-{account.ids.hex(17)}"
        trail.call(when, "ssm", "StartSession", self.region, identity, ip, self.cli.for_call("ssm", "StartSession"),
                   {"target": target},
                   {"sessionId": session, "tokenValue": "Value hidden due to security reasons.",
                    "streamUrl": f"wss://ssmmessages.{self.region}.amazonaws.com/v1/data-channel/{session}"
                                 "?role=publish_subscribe&cell-number=AAEAAQ"})
        trail.call(when + _seconds(account, 120, 3600), "ssm", "TerminateSession", self.region, identity, ip,
                   self.cli.for_call("ssm", "TerminateSession"), {"sessionId": session}, {"sessionId": session})

    def _launch(self, trail: Trail, when: datetime, identity: dict[str, Any], ip: str) -> None:
        account, rng = self.account, self.account.rng
        instance = account.ids.resource("i")
        run_instances(trail, when, identity=identity, ip=ip, user_agent=self.cli.for_call("ec2", "RunInstances"),
                      region=self.region, instance_type=rng.choice(self.instance_types), instance_ids=[instance],
                      image_id=self.image, subnet=rng.choice(account.subnets),
                      security_group=account.app_security_group, key_name=self.key_pair,
                      tags={"Name": f"{self.key_pair}-scratch", "Owner": self.email})
        self.boxes.append(_DevBox(instance, self.region, when + timedelta(days=rng.uniform(0.1, 5))))

    def _terminate_due(self, trail: Trail, when: datetime, ip: str) -> None:
        due = [box for box in self.boxes if box.until <= when]
        if not due:
            return
        identity = self._cli_identity(trail, when, ip) if self.user is None or not self.session_token else (
            user_identity(self.user))
        for box in due:
            terminate_instances(trail, when, identity=identity, ip=ip,
                                user_agent=self.cli.for_call("ec2", "TerminateInstances"), region=box.region,
                                instance_ids=[box.instance_id])
            self.boxes.remove(box)


# -- the legacy service user and the administrator -------------------------------------------------


class LegacyServiceUser:
    """An old IAM user whose long-term key runs a nightly reporting job from the data centre with Boto3."""

    def __init__(self, account: Account, datacenter: Network) -> None:
        rng = account.rng
        self.account = account
        self.user = account.user(rng.choice(("svc-reporting", "jenkins", "svc-billing-export", "etl-runner")))
        self.ip = datacenter.address(rng)
        self.agent = boto3(rng)
        self.hour = rng.uniform(0, 5)
        self.bucket = rng.choice(account.buckets)

    def rotate(self, key: str) -> None:
        self.user = User(self.user.account_id, self.user.name, self.user.user_id, key)

    def day(self, trail: Trail, day: datetime) -> None:
        account, rng = self.account, self.account.rng
        t = account.local(day, self.hour) + _seconds(account, 0, 300)
        identity = user_identity(self.user)
        calls: list[tuple[str, str, dict[str, Any] | None, bool]] = [("sts", "GetCallerIdentity", None, False)]
        calls += [("ce", "GetCostAndUsage", {"granularity": "DAILY", "metrics": ["UnblendedCost"]}, False)] * 2
        calls += [("athena", "StartQueryExecution", {"queryString": "SELECT ...", "workGroup": "primary"}, False)]
        calls += [("athena", "GetQueryExecution", {"queryExecutionId": account.ids.uuid()}, False)] * rng.randint(2, 6)
        calls += [("athena", "GetQueryResults", {"queryExecutionId": account.ids.uuid()}, False)]
        for _ in range(rng.randint(3, 15)):
            key = f"daily/{day:%Y-%m-%d}/{account.ids.hex(8)}.csv"
            calls.append(("s3", "PutObject", dict(s3_bucket_request(self.bucket, account.home), key=key), True))
        for service, operation, request, data in calls:
            t += _seconds(account, 0.5, 20)
            region = GLOBAL_EVENT_REGION if service == "ce" else account.home
            resources = None
            if data and request is not None:
                resources = s3_object_resources(account, self.bucket, str(request["key"]))
            trail.call(t, service, operation, region, identity, self.ip, self.agent.for_call(service, operation),
                       request, None, data=data, resources=resources)


@dataclass
class _Pending:
    due: datetime
    operation: str
    request: dict[str, Any]


class Administrator:
    """The platform lead: an Identity Center administrator session with MFA, a few changes a month
    (rotating the service key, group membership, a vendor's read-only role, bucket policy, password policy)."""

    def __init__(self, account: Account, center: IdentityCenter, office: str, legacy: LegacyServiceUser,
                 developers: list[Developer]) -> None:
        self.account = account
        self.center = center
        self.legacy = legacy
        self.developers = developers
        self.browser = browser(account.rng)
        self.name = f"admin.{account.rng.choice(('ops', 'platform', 'cloud'))}@{account.slug}.com"
        self.pending: list[_Pending] = []
        self.vendor_day = account.rng.randint(0, 27)
        self.days = 0

    def day(self, trail: Trail, day: datetime) -> None:
        account, rng = self.account, self.account.rng
        self.days += 1
        tasks = [task for task in self.pending if task.due <= day + timedelta(days=1)]
        todo: list[str] = []
        if account.workday(day) and rng.random() < 0.15:
            todo.append(rng.choice(("rotate", "group", "bucket", "password", "sg")))
        if self.days == self.vendor_day:
            todo.append("vendor")
        if not tasks and not todo:
            return
        when = account.local(day, rng.uniform(9, 17))
        ip = account.office_ip()
        role = self.center.roles["AdministratorAccess"]
        credential = new_credential(account, when, hours=8)
        saml(trail, when, provider_arn=self.center.provider_arn, subject=self.name, ip=ip, user_agent=self.browser,
             role=role, credential=credential)
        identity = role_identity(role, self.name, credential)
        t = read_burst(trail, when, CONSOLE, rng.randint(3, 10), identity=identity, ip=ip, agent=self.browser,
                       region=account.home, console=True)
        for task in tasks:
            self.pending.remove(task)
            t += _seconds(account, 10, 120)
            trail.call(t, "iam", task.operation, GLOBAL_EVENT_REGION, identity, ip, self.browser, task.request,
                       console=True)
        for name in todo:
            t += _seconds(account, 10, 120)
            getattr(self, f"_{name}")(trail, t, identity, ip)

    def _iam(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str, operation: str,
             request: dict[str, Any], response: dict[str, Any] | None = None) -> None:
        trail.call(t, "iam", operation, GLOBAL_EVENT_REGION, identity, ip, self.browser, request, response,
                   console=True)

    def _rotate(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str) -> None:
        account = self.account
        old = self.legacy.user.key
        new = account.ids.access_key(temporary=False)
        self._iam(trail, t, identity, ip, "CreateAccessKey", {"userName": self.legacy.user.name},
                  {"accessKey": {"userName": self.legacy.user.name, "accessKeyId": new, "status": "Active",
                                 "createDate": iam_date(t)}})
        self.legacy.rotate(new)
        self.pending.append(_Pending(t + timedelta(days=2), "UpdateAccessKey",
                                     {"userName": self.legacy.user.name, "accessKeyId": old, "status": "Inactive"}))
        self.pending.append(_Pending(t + timedelta(days=9), "DeleteAccessKey",
                                     {"userName": self.legacy.user.name, "accessKeyId": old}))

    def _group(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str) -> None:
        users = [d.user.name for d in self.developers if d.user is not None]
        if users:
            self._iam(trail, t, identity, ip, "AddUserToGroup",
                      {"groupName": self.account.rng.choice(("developers", "readonly", "oncall")),
                       "userName": self.account.rng.choice(users)})

    def _vendor(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str) -> None:
        account = self.account
        vendor = account.rng.choice(("464622532012", "797873946194", "998000999111", "318474219453"))
        name = f"{account.rng.choice(('wiz', 'lacework', 'orca', 'vanta'))}-access-role"
        self._iam(trail, t, identity, ip, "CreateRole", {
            "roleName": name, "assumeRolePolicyDocument": trust_document({"AWS": f"arn:aws:iam::{vendor}:root"},
                                                                         external_id=account.ids.uuid())},
            {"role": {"roleName": name, "roleId": account.ids.unique("AROA"), "path": "/",
                      "arn": f"arn:aws:iam::{account.account_id}:role/{name}", "createDate": iam_date(t)}})
        for policy in ("arn:aws:iam::aws:policy/SecurityAudit", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"):
            self._iam(trail, t + timedelta(seconds=20), identity, ip, "AttachRolePolicy",
                      {"roleName": name, "policyArn": policy})

    def _bucket(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str) -> None:
        account = self.account
        bucket = account.rng.choice(account.buckets)
        partner = account.org_accounts[-1]
        trail.call(t, "s3", "PutBucketPolicy", account.home, identity, ip, self.browser, s3_bucket_request(
            bucket, account.home, policy="", bucketPolicy={"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{partner}:root"}, "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/shared/*"}]}), console=True)

    def _password(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str) -> None:
        self._iam(trail, t, identity, ip, "UpdateAccountPasswordPolicy", {
            "minimumPasswordLength": 14, "requireSymbols": True, "requireNumbers": True,
            "requireUppercaseCharacters": True, "requireLowercaseCharacters": True, "allowUsersToChangePassword": True,
            "maxPasswordAge": 90, "passwordReusePrevention": 24})

    def _sg(self, trail: Trail, t: datetime, identity: dict[str, Any], ip: str) -> None:
        account = self.account
        trail.call(t, "ec2", "AuthorizeSecurityGroupIngress", account.home, identity, ip, self.browser, {
            "groupId": account.app_security_group, "ipPermissions": {"items": [{
                "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {},
                "ipRanges": {"items": [{"cidrIp": f"{account.office}.0/24", "description": "office"}]}}]}},
            {"_return": True}, console=True)
