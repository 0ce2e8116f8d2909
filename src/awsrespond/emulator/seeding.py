"""Apply a :class:`Scenario` to a running emulator, and say exactly what was created by whom.

The baseline is created with the emulator's fake administrator credentials, before the incident
start T. Every attacker request is signed with the CI user's real access key, so moto's
GetAccessKeyLastUsed shows the misuse. Each API call made is also written as a CloudTrail record
into the trail's bucket (moto records none), and Cost Explorer results are queued.

The returned :class:`SeededScenario` is the ground truth tests compare triage and hunt against.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import random
import re
import string
import time
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, SecretStr

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import error_code
from awsrespond.emulator.cloudtrail import (
    GLOBAL_EVENT_REGION,
    cloudtrail_record,
    console_login_record,
    iam_date,
    iam_user_identity,
    root_identity,
    write_log_files,
)
from awsrespond.emulator.scenario import (
    ADMINISTRATOR_ACCESS,
    AttackerInstances,
    LambdaFunction,
    Scenario,
    SpotRequest,
    hourly_price,
)
from awsrespond.emulator.server import EmulatorServer
from awsrespond.errors import AwsCallError, AwsRespondError
from awsrespond.timeutil import as_utc, coerce_instant, now_utc

GLOBAL = "global"
LAMBDA_BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
ADMIN_CONSOLE_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)
SENSITIVE = "<sensitiveDataRemoved>"
# today - 30 .. today: the billing collector's window (it asks for 30 days back, End exclusive).
COST_DAYS = 31

_GLOBAL_SERVICES = frozenset({"iam"})
_UPPER_ALNUM = string.ascii_uppercase + string.digits


class Clock(Protocol):
    """Where seeding reads the time and waits. It must agree with the emulator's clock (moto stamps
    creation times with the host's), so substitutes are for observing, not for time travel."""

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return now_utc()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Artefact(BaseModel):
    """One resource of the scenario: ``type`` is the CloudFormation type name, ``region`` is
    ``global`` for IAM."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    id: str
    region: str
    name: str


class SeededScenario(BaseModel):
    """The ground truth of a seeded scenario.

    ``legitimate_artefacts`` includes the compromised CI user and its key: they are legitimate
    (deactivate, never delete) but attacker-used; ``compromised_user`` and
    ``compromised_access_key_id`` name them. The secret of that key is kept for tests that must act
    as the attacker; it serialises as ``**********``.
    """

    model_config = ConfigDict(extra="forbid")

    scenario: str
    endpoint_url: str
    account_id: str
    home_regions: list[str]
    attacker_regions: list[str]
    incident_start: datetime
    compromised_user: str
    compromised_access_key_id: str
    compromised_secret_access_key: SecretStr
    attacker_user: str
    attacker_ips: list[str]
    attacker_user_agent: str
    trail_name: str
    trail_arn: str
    trail_region: str
    trail_bucket: str
    cloudtrail_keys: list[str]
    cloudtrail_record_count: int
    attacker_artefacts: list[Artefact]
    legitimate_artefacts: list[Artefact]
    termination_protected: list[str]
    spot_instances: dict[str, str]

    def attacker_of(self, resource_type: str) -> list[Artefact]:
        return [a for a in self.attacker_artefacts if a.type == resource_type]

    def legitimate_of(self, resource_type: str) -> list[Artefact]:
        return [a for a in self.legitimate_artefacts if a.type == resource_type]


# -- one actor's API calls, each recorded as a CloudTrail record ------------------------------------


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _epoch_ms(value: Any) -> int | None:
    moment = coerce_instant(value)
    return int(moment.timestamp() * 1000) if moment else None


@dataclass
class _Actor:
    factory: ClientFactory
    identity: dict[str, Any]
    source_ip: str
    user_agent: str
    clock: Clock
    records: list[dict[str, Any]]
    console: bool = False

    def call(
        self,
        service: str,
        region: str,
        operation: str,
        params: dict[str, Any] | None = None,
        *,
        event_name: str | None = None,
        request: dict[str, Any] | None = None,
        response: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """Call ``operation`` and record it. ``request`` defaults to the parameters in camelCase."""
        arguments = params or {}
        when = self.clock.now()
        try:
            result: dict[str, Any] = getattr(self.factory.client(service, region), xform_name(operation))(**arguments)
        except (ClientError, BotoCoreError) as exc:
            hint = ""
            if re.search(r"AlreadyExists|Duplicate", error_code(exc)):
                hint = " (seed a fresh emulator, or reset it first)"
            raise AwsCallError(
                f"seeding the scenario failed: {exc}{hint}",
                operation=f"{service}:{operation}",
                region=region,
                code=error_code(exc),
            ) from exc
        request_id = str(uuid.uuid4())
        elements = response(result) if response else None
        if elements is not None and "requestId" in elements:
            elements["requestId"] = request_id
        self.records.append(
            cloudtrail_record(
                event_time=when,
                event_source=f"{service}.amazonaws.com",
                event_name=event_name or operation,
                aws_region=GLOBAL_EVENT_REGION if service in _GLOBAL_SERVICES else region,
                user_identity=self.identity,
                source_ip=self.source_ip,
                user_agent=self.user_agent,
                request_parameters=request if request is not None else (_camel(arguments) or None),
                response_elements=elements,
                session_credential_from_console=self.console,
                request_id=request_id,
            )
        )
        return result


def _ec2_response(**fields: Any) -> dict[str, Any]:
    """EC2's response elements; :meth:`_Actor.call` fills ``requestId`` with the record's."""
    return {"requestId": "", **fields}


def _iam_user_element(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": user.get("Path", "/"),
        "userName": user["UserName"],
        "userId": user["UserId"],
        "arn": user["Arn"],
        "createDate": iam_date(user["CreateDate"]),
    }


def _iam_role_element(role: dict[str, Any]) -> dict[str, Any]:
    document = role.get("AssumeRolePolicyDocument")
    return {
        "role": {
            "path": role.get("Path", "/"),
            "roleName": role["RoleName"],
            "roleId": role["RoleId"],
            "arn": role["Arn"],
            "createDate": iam_date(role["CreateDate"]),
            "assumeRolePolicyDocument": document if isinstance(document, str) else json.dumps(document),
        }
    }


def _iam_policy_element(policy: dict[str, Any]) -> dict[str, Any]:
    return {
        "policy": {
            "policyName": policy["PolicyName"],
            "policyId": policy["PolicyId"],
            "arn": policy["Arn"],
            "path": policy.get("Path", "/"),
            "defaultVersionId": policy.get("DefaultVersionId", "v1"),
            "attachmentCount": 0,
            "permissionsBoundaryUsageCount": 0,
            "isAttachable": True,
            "createDate": iam_date(policy["CreateDate"]),
            "updateDate": iam_date(policy.get("UpdateDate") or policy["CreateDate"]),
        }
    }


def _access_key_element(key: dict[str, Any]) -> dict[str, Any]:
    return {
        "accessKey": {
            "userName": key["UserName"],
            "accessKeyId": key["AccessKeyId"],
            "status": key.get("Status", "Active"),
            "createDate": iam_date(key["CreateDate"]),
        }
    }


def _trust(principal: dict[str, str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
    )


def _instances_element(result: dict[str, Any], account_id: str) -> dict[str, Any]:
    items = []
    for instance in result.get("Instances", []):
        items.append(
            {
                "instanceId": instance["InstanceId"],
                "imageId": instance.get("ImageId"),
                "instanceState": {"code": 0, "name": "pending"},
                "privateDnsName": instance.get("PrivateDnsName"),
                "keyName": instance.get("KeyName"),
                "amiLaunchIndex": instance.get("AmiLaunchIndex", 0),
                "productCodes": {},
                "instanceType": instance.get("InstanceType"),
                "launchTime": _epoch_ms(instance.get("LaunchTime")),
                "placement": {
                    "availabilityZone": instance.get("Placement", {}).get("AvailabilityZone"),
                    "tenancy": "default",
                },
                "monitoring": {"state": "disabled"},
                "subnetId": instance.get("SubnetId"),
                "vpcId": instance.get("VpcId"),
                "privateIpAddress": instance.get("PrivateIpAddress"),
                "groupSet": {
                    "items": [
                        {"groupId": g["GroupId"], "groupName": g["GroupName"]}
                        for g in instance.get("SecurityGroups", [])
                    ]
                },
                "blockDeviceMapping": {},
                "iamInstanceProfile": (
                    {"arn": instance["IamInstanceProfile"].get("Arn")} if instance.get("IamInstanceProfile") else None
                ),
            }
        )
    return _ec2_response(
        reservationId=result.get("ReservationId"),
        ownerId=account_id,
        groupSet={},
        instancesSet={"items": items},
    )


def _run_request(
    image_id: str,
    instance_type: str,
    count: int,
    *,
    key_name: str | None,
    group_ids: list[str],
    tags: dict[str, str],
    profile: str | None,
    user_data: bool,
) -> dict[str, Any]:
    item: dict[str, Any] = {"imageId": image_id, "minCount": count, "maxCount": count}
    if key_name:
        item["keyName"] = key_name
    request: dict[str, Any] = {
        "instancesSet": {"items": [item]},
        "instanceType": instance_type,
        "blockDeviceMapping": {},
        "monitoring": {"enabled": False},
        "disableApiTermination": False,
        "disableApiStop": False,
        "clientToken": str(uuid.uuid4()),
    }
    if group_ids:
        request["groupSet"] = {"items": [{"groupId": g} for g in group_ids]}
    if user_data:
        request["userData"] = SENSITIVE
    if profile:
        request["iamInstanceProfile"] = {"name": profile}
    if tags:
        request["tagSpecificationSet"] = {
            "items": [
                {"resourceType": "instance", "tags": [{"key": k, "value": v} for k, v in tags.items()]},
            ]
        }
    return request


def _permission_request(ports: list[int] | str) -> list[dict[str, Any]]:
    if ports == "all":
        return [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    return [
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]} for port in ports
    ]


def _permissions_trail(permissions: list[dict[str, Any]]) -> dict[str, Any]:
    items = []
    for permission in permissions:
        item: dict[str, Any] = {"ipProtocol": permission["IpProtocol"]}
        if "FromPort" in permission:
            item["fromPort"] = permission["FromPort"]
            item["toPort"] = permission["ToPort"]
        item.update(
            groups={},
            ipRanges={"items": [{"cidrIp": r["CidrIp"]} for r in permission["IpRanges"]]},
            ipv6Ranges={},
            prefixListIds={},
        )
        items.append(item)
    return {"items": items}


def _rule_set(result: dict[str, Any], account_id: str) -> dict[str, Any]:
    return {
        "items": [
            {
                "groupOwnerId": account_id,
                "groupId": rule.get("GroupId"),
                "securityGroupRuleId": rule.get("SecurityGroupRuleId"),
                "isEgress": False,
                "ipProtocol": rule.get("IpProtocol"),
                "fromPort": rule.get("FromPort", -1),
                "toPort": rule.get("ToPort", -1),
                "cidrIpv4": rule.get("CidrIpv4"),
            }
            for rule in result.get("SecurityGroupRules", [])
        ]
    }


# -- the seeding run ---------------------------------------------------------------------------------


@dataclass
class _Run:
    server: EmulatorServer
    scenario: Scenario
    clock: Clock
    rng: random.Random
    records: list[dict[str, Any]] = field(default_factory=list)
    attacker: list[Artefact] = field(default_factory=list)
    legitimate: list[Artefact] = field(default_factory=list)
    protected_instances: list[str] = field(default_factory=list)
    spot_instances: dict[str, str] = field(default_factory=dict)
    security_group_ids: dict[str, str] = field(default_factory=dict)
    key_names: dict[str, str] = field(default_factory=dict)
    # Filled in as the run goes.
    ci_key_id: str = ""
    ci_secret: str = ""
    ci_user_id: str = ""
    trail_arn: str = ""

    @functools.cached_property
    def admin_factory(self) -> ClientFactory:
        return self.server.factory(self.primary)

    @functools.cached_property
    def ci_factory(self) -> ClientFactory:
        """Signs with the CI user's key: the legitimate CI runner's calls, and then the attacker's."""
        if not self.ci_key_id:
            raise AwsRespondError("the CI user's key does not exist yet")
        return self.server.factory_for_key(self.ci_key_id, self.ci_secret, self.primary)

    @property
    def account_id(self) -> str:
        return self.server.account_id

    @property
    def primary(self) -> str:
        return self.scenario.primary_region

    def _session_key(self) -> str:
        return "ASIA" + "".join(self.rng.choices(_UPPER_ALNUM, k=16))

    def _password(self) -> str:
        return "".join(self.rng.choices(string.ascii_letters + string.digits, k=20)) + "!7a"

    # -- baseline ---------------------------------------------------------------------------------

    def baseline(self) -> None:
        base = self.scenario.baseline
        factory = self.admin_factory
        root = _Actor(
            factory,
            root_identity(
                account_id=self.account_id,
                access_key_id=self._session_key(),
                session_created=self.clock.now(),
                mfa_authenticated=True,
            ),
            base.admin_ip,
            ADMIN_CONSOLE_USER_AGENT,
            self.clock,
            self.records,
            console=True,
        )
        admin_user = root.call(
            "iam",
            self.primary,
            "CreateUser",
            {"UserName": base.admin_user},
            response=lambda r: {"user": _iam_user_element(r["User"])},
        )["User"]
        self._legit("AWS::IAM::User", base.admin_user, GLOBAL, base.admin_user)
        root.call(
            "iam",
            self.primary,
            "AttachUserPolicy",
            {"UserName": base.admin_user, "PolicyArn": ADMINISTRATOR_ACCESS},
        )
        root.call(
            "iam",
            self.primary,
            "CreateLoginProfile",
            {"UserName": base.admin_user, "Password": self._password(), "PasswordResetRequired": False},
            request={"userName": base.admin_user, "passwordResetRequired": False},
            response=lambda r: {
                "loginProfile": {
                    "userName": base.admin_user,
                    "createDate": iam_date(r["LoginProfile"]["CreateDate"]),
                    "passwordResetRequired": False,
                }
            },
        )
        device = root.call(
            "iam",
            self.primary,
            "CreateVirtualMFADevice",
            {"VirtualMFADeviceName": base.admin_user},
            request={"virtualMFADeviceName": base.admin_user, "path": "/"},
            response=lambda r: {"virtualMFADevice": {"serialNumber": r["VirtualMFADevice"]["SerialNumber"]}},
        )["VirtualMFADevice"]
        serial = device["SerialNumber"]
        root.call(
            "iam",
            self.primary,
            "EnableMFADevice",
            {
                "UserName": base.admin_user,
                "SerialNumber": serial,
                "AuthenticationCode1": "123456",
                "AuthenticationCode2": "654321",
            },
            request={"userName": base.admin_user, "serialNumber": serial},
        )
        self._legit("AWS::IAM::VirtualMFADevice", serial, GLOBAL, base.admin_user)

        login_time = self.clock.now()
        self.records.append(
            console_login_record(
                event_time=login_time,
                account_id=self.account_id,
                user_name=base.admin_user,
                principal_id=admin_user["UserId"],
                source_ip=base.admin_ip,
                user_agent=ADMIN_CONSOLE_USER_AGENT,
                mfa_used=True,
            )
        )
        admin = _Actor(
            factory,
            iam_user_identity(
                account_id=self.account_id,
                user_name=base.admin_user,
                principal_id=admin_user["UserId"],
                access_key_id=self._session_key(),
                session_created=login_time,
                mfa_authenticated=True,
            ),
            base.admin_ip,
            ADMIN_CONSOLE_USER_AGENT,
            self.clock,
            self.records,
            console=True,
        )
        self._baseline_iam(admin)
        self._baseline_logging(admin)
        self._baseline_ec2(admin)

        ci = _Actor(
            self.ci_factory,
            iam_user_identity(
                account_id=self.account_id,
                user_name=base.ci_user,
                principal_id=self.ci_user_id,
                access_key_id=self.ci_key_id,
            ),
            base.ci_ip,
            base.ci_user_agent,
            self.clock,
            self.records,
        )
        ci.call("ec2", self.primary, "DescribeInstances", request={"instancesSet": {}, "filterSet": {}})

    def _baseline_iam(self, admin: _Actor) -> None:
        base = self.scenario.baseline
        policy = admin.call(
            "iam",
            self.primary,
            "CreatePolicy",
            {"PolicyName": base.ci_policy_name, "PolicyDocument": json.dumps(base.ci_policy)},
            response=lambda r: _iam_policy_element(r["Policy"]),
        )["Policy"]
        self._legit("AWS::IAM::ManagedPolicy", policy["Arn"], GLOBAL, base.ci_policy_name)
        ci_user = admin.call(
            "iam",
            self.primary,
            "CreateUser",
            {"UserName": base.ci_user},
            response=lambda r: {"user": _iam_user_element(r["User"])},
        )["User"]
        self.ci_user_id = ci_user["UserId"]
        self._legit("AWS::IAM::User", base.ci_user, GLOBAL, base.ci_user)
        admin.call("iam", self.primary, "AttachUserPolicy", {"UserName": base.ci_user, "PolicyArn": policy["Arn"]})
        key = admin.call(
            "iam",
            self.primary,
            "CreateAccessKey",
            {"UserName": base.ci_user},
            response=lambda r: _access_key_element(r["AccessKey"]),
        )["AccessKey"]
        self.ci_key_id, self.ci_secret = key["AccessKeyId"], key["SecretAccessKey"]
        self._legit("AWS::IAM::AccessKey", self.ci_key_id, GLOBAL, base.ci_user)

        admin.call(
            "iam",
            self.primary,
            "CreateRole",
            {"RoleName": base.app_role, "AssumeRolePolicyDocument": _trust({"Service": "ec2.amazonaws.com"})},
            response=lambda r: _iam_role_element(r["Role"]),
        )
        self._legit("AWS::IAM::Role", base.app_role, GLOBAL, base.app_role)
        admin.call(
            "iam",
            self.primary,
            "AttachRolePolicy",
            {"RoleName": base.app_role, "PolicyArn": base.app_role_policy},
        )
        admin.call(
            "iam",
            self.primary,
            "CreateInstanceProfile",
            {"InstanceProfileName": base.instance_profile},
            response=lambda r: {
                "instanceProfile": {
                    "path": "/",
                    "instanceProfileName": r["InstanceProfile"]["InstanceProfileName"],
                    "instanceProfileId": r["InstanceProfile"]["InstanceProfileId"],
                    "arn": r["InstanceProfile"]["Arn"],
                    "createDate": iam_date(r["InstanceProfile"]["CreateDate"]),
                    "roles": [],
                }
            },
        )
        admin.call(
            "iam",
            self.primary,
            "AddRoleToInstanceProfile",
            {"InstanceProfileName": base.instance_profile, "RoleName": base.app_role},
        )
        self._legit("AWS::IAM::InstanceProfile", base.instance_profile, GLOBAL, base.instance_profile)

    def _baseline_logging(self, admin: _Actor) -> None:
        base = self.scenario.baseline
        host = f"{base.trail_bucket}.s3.{self.primary}.amazonaws.com"
        bucket_params: dict[str, Any] = {"Bucket": base.trail_bucket}
        bucket_request: dict[str, Any] = {"bucketName": base.trail_bucket, "Host": host}
        if self.primary != "us-east-1":
            bucket_params["CreateBucketConfiguration"] = {"LocationConstraint": self.primary}
            bucket_request["CreateBucketConfiguration"] = {"LocationConstraint": self.primary}
        admin.call("s3", self.primary, "CreateBucket", bucket_params, request=bucket_request)
        self._legit("AWS::S3::Bucket", base.trail_bucket, self.primary, base.trail_bucket)
        trail_arn = f"arn:aws:cloudtrail:{self.primary}:{self.account_id}:trail/{base.trail_name}"
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AWSCloudTrailAclCheck",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{base.trail_bucket}",
                    "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
                },
                {
                    "Sid": "AWSCloudTrailWrite",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{base.trail_bucket}/AWSLogs/{self.account_id}/*",
                    "Condition": {
                        "StringEquals": {
                            "s3:x-amz-acl": "bucket-owner-full-control",
                            "aws:SourceArn": trail_arn,
                        }
                    },
                },
            ],
        }
        admin.call(
            "s3",
            self.primary,
            "PutBucketPolicy",
            {"Bucket": base.trail_bucket, "Policy": json.dumps(policy)},
            request={"bucketName": base.trail_bucket, "bucketPolicy": policy, "policy": "", "Host": host},
        )
        trail = admin.call(
            "cloudtrail",
            self.primary,
            "CreateTrail",
            {
                "Name": base.trail_name,
                "S3BucketName": base.trail_bucket,
                "IsMultiRegionTrail": True,
                "IncludeGlobalServiceEvents": True,
            },
            response=lambda r: {
                "name": r["Name"],
                "s3BucketName": r["S3BucketName"],
                "includeGlobalServiceEvents": True,
                "isMultiRegionTrail": True,
                "trailARN": r["TrailARN"],
                "logFileValidationEnabled": False,
                "isOrganizationTrail": False,
            },
        )
        self.trail_arn = trail["TrailARN"]
        self._legit("AWS::CloudTrail::Trail", self.trail_arn, self.primary, base.trail_name)
        admin.call("cloudtrail", self.primary, "StartLogging", {"Name": base.trail_name})
        for region in self.scenario.home_regions:
            token = str(uuid.uuid4())
            detector = admin.call(
                "guardduty",
                region,
                "CreateDetector",
                {"Enable": True, "ClientToken": token},
                response=lambda r: {"detectorId": r["DetectorId"]},
            )
            self._legit("AWS::GuardDuty::Detector", detector["DetectorId"], region, detector["DetectorId"])

    def _baseline_ec2(self, admin: _Actor) -> None:
        base = self.scenario.baseline
        group_ids: list[str] = []
        if base.web_security_group:
            group_id = self._create_security_group(
                admin, self.primary, base.web_security_group, f"{base.web_security_group} HTTPS", [443]
            )
            group_ids.append(group_id)
            self._legit("AWS::EC2::SecurityGroup", group_id, self.primary, base.web_security_group)
        first_volume: str | None = None
        first_name = ""
        for group in base.instances:
            tags = {"Name": group.name, "Environment": "production"}
            params: dict[str, Any] = {
                "ImageId": "ami-0c9c942bd7bf113a2",
                "InstanceType": group.instance_type,
                "MinCount": group.count,
                "MaxCount": group.count,
                "IamInstanceProfile": {"Name": base.instance_profile},
                "TagSpecifications": [
                    {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
                ],
            }
            if group_ids:
                params["SecurityGroupIds"] = group_ids
            result = admin.call(
                "ec2",
                self.primary,
                "RunInstances",
                params,
                request=_run_request(
                    params["ImageId"],
                    group.instance_type,
                    group.count,
                    key_name=None,
                    group_ids=group_ids,
                    tags=tags,
                    profile=base.instance_profile,
                    user_data=False,
                ),
                response=lambda r: _instances_element(r, self.account_id),
            )
            for instance in result["Instances"]:
                self._legit("AWS::EC2::Instance", instance["InstanceId"], self.primary, group.name)
                mappings = instance.get("BlockDeviceMappings") or []
                if first_volume is None and mappings:
                    first_volume = mappings[0]["Ebs"]["VolumeId"]
                    first_name = group.name
        if base.snapshot:
            if first_volume is None:
                raise AwsRespondError("moto gave the baseline instance no volume to snapshot")
            description = f"nightly backup of {first_name}"
            snapshot = admin.call(
                "ec2",
                self.primary,
                "CreateSnapshot",
                {"VolumeId": first_volume, "Description": description},
                response=lambda r: _ec2_response(
                    snapshotId=r["SnapshotId"],
                    volumeId=r["VolumeId"],
                    status="pending",
                    startTime=_epoch_ms(r.get("StartTime")),
                    progress="",
                    ownerId=self.account_id,
                    volumeSize=r.get("VolumeSize"),
                    encrypted=False,
                    description=description,
                ),
            )
            self._legit("AWS::EC2::Snapshot", snapshot["SnapshotId"], self.primary, description)

    def _create_security_group(
        self, actor: _Actor, region: str, name: str, description: str, ports: list[int] | str
    ) -> str:
        group = actor.call(
            "ec2",
            region,
            "CreateSecurityGroup",
            {"GroupName": name, "Description": description},
            request={"groupName": name, "groupDescription": description},
            response=lambda r: _ec2_response(_return=True, groupId=r["GroupId"]),
        )
        group_id: str = group["GroupId"]
        permissions = _permission_request(ports)
        actor.call(
            "ec2",
            region,
            "AuthorizeSecurityGroupIngress",
            {"GroupId": group_id, "IpPermissions": permissions},
            request={"groupId": group_id, "ipPermissions": _permissions_trail(permissions)},
            response=lambda r: _ec2_response(_return=True, securityGroupRuleSet=_rule_set(r, self.account_id)),
        )
        return group_id

    # -- the attack -------------------------------------------------------------------------------

    def attack(self) -> None:
        spec, base = self.scenario.attacker, self.scenario.baseline
        actor = _Actor(
            self.ci_factory,
            iam_user_identity(
                account_id=self.account_id,
                user_name=base.ci_user,
                principal_id=self.ci_user_id,
                access_key_id=self.ci_key_id,
            ),
            spec.source_ips[0],
            spec.user_agent,
            self.clock,
            self.records,
        )
        actor.call("sts", GLOBAL_EVENT_REGION, "GetCallerIdentity")
        if spec.recon:
            actor.call("iam", GLOBAL_EVENT_REGION, "ListUsers")
            actor.call("iam", GLOBAL_EVENT_REGION, "ListAttachedUserPolicies", {"UserName": base.ci_user})
            actor.call(
                "ec2",
                GLOBAL_EVENT_REGION,
                "DescribeRegions",
                {"AllRegions": True},
                request={"regionSet": {}, "allRegions": True},
            )
            actor.call("ec2", self.primary, "DescribeInstances", request={"instancesSet": {}, "filterSet": {}})
            actor.call(
                "s3",
                GLOBAL_EVENT_REGION,
                "ListBuckets",
                request={"Host": "s3.amazonaws.com"},
            )
        self._attack_iam(actor)
        for region in spec.regions:
            self._attack_region(actor, region)
        actor.call("cloudtrail", self.primary, "StopLogging", {"Name": base.trail_name})

    def _attack_iam(self, actor: _Actor) -> None:
        spec = self.scenario.attacker
        user = actor.call(
            "iam",
            GLOBAL_EVENT_REGION,
            "CreateUser",
            {"UserName": spec.user_name},
            response=lambda r: {"user": _iam_user_element(r["User"])},
        )["User"]
        self._bad("AWS::IAM::User", spec.user_name, GLOBAL, spec.user_name)
        actor.call(
            "iam",
            GLOBAL_EVENT_REGION,
            "AttachUserPolicy",
            {"UserName": spec.user_name, "PolicyArn": ADMINISTRATOR_ACCESS},
        )
        key = actor.call(
            "iam",
            GLOBAL_EVENT_REGION,
            "CreateAccessKey",
            {"UserName": spec.user_name},
            response=lambda r: _access_key_element(r["AccessKey"]),
        )["AccessKey"]
        self._bad("AWS::IAM::AccessKey", key["AccessKeyId"], GLOBAL, spec.user_name)
        actor.call(
            "iam",
            GLOBAL_EVENT_REGION,
            "CreateLoginProfile",
            {"UserName": spec.user_name, "Password": self._password(), "PasswordResetRequired": False},
            request={"userName": spec.user_name, "passwordResetRequired": False},
            response=lambda r: {
                "loginProfile": {
                    "userName": spec.user_name,
                    "createDate": iam_date(r["LoginProfile"]["CreateDate"]),
                    "passwordResetRequired": False,
                }
            },
        )
        self.records.append(
            console_login_record(
                event_time=self.clock.now(),
                account_id=self.account_id,
                user_name=spec.user_name,
                principal_id=user["UserId"],
                source_ip=spec.source_ips[-1],
                user_agent=spec.console_user_agent,
                mfa_used=False,
            )
        )
        actor.call(
            "iam",
            GLOBAL_EVENT_REGION,
            "CreateRole",
            {
                "RoleName": spec.backdoor_role,
                "AssumeRolePolicyDocument": _trust({"AWS": f"arn:aws:iam::{spec.external_account_id}:root"}),
            },
            response=lambda r: _iam_role_element(r["Role"]),
        )
        self._bad("AWS::IAM::Role", spec.backdoor_role, GLOBAL, spec.backdoor_role)
        actor.call(
            "iam",
            GLOBAL_EVENT_REGION,
            "AttachRolePolicy",
            {"RoleName": spec.backdoor_role, "PolicyArn": ADMINISTRATOR_ACCESS},
        )
        if spec.custom_policy is not None:
            document = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
            policy = actor.call(
                "iam",
                GLOBAL_EVENT_REGION,
                "CreatePolicy",
                {"PolicyName": spec.custom_policy.name, "PolicyDocument": json.dumps(document)},
                response=lambda r: _iam_policy_element(r["Policy"]),
            )["Policy"]
            self._bad("AWS::IAM::ManagedPolicy", policy["Arn"], GLOBAL, spec.custom_policy.name)
            if spec.custom_policy.attach_to == "user":
                actor.call(
                    "iam",
                    GLOBAL_EVENT_REGION,
                    "AttachUserPolicy",
                    {"UserName": spec.user_name, "PolicyArn": policy["Arn"]},
                )
            else:
                actor.call(
                    "iam",
                    GLOBAL_EVENT_REGION,
                    "AttachRolePolicy",
                    {"RoleName": spec.backdoor_role, "PolicyArn": policy["Arn"]},
                )
        for function in spec.lambda_functions:
            actor.call(
                "iam",
                GLOBAL_EVENT_REGION,
                "CreateRole",
                {
                    "RoleName": function.role_name,
                    "AssumeRolePolicyDocument": _trust({"Service": "lambda.amazonaws.com"}),
                },
                response=lambda r: _iam_role_element(r["Role"]),
            )
            self._bad("AWS::IAM::Role", function.role_name, GLOBAL, function.role_name)
            actor.call(
                "iam",
                GLOBAL_EVENT_REGION,
                "AttachRolePolicy",
                {"RoleName": function.role_name, "PolicyArn": LAMBDA_BASIC_EXECUTION},
            )

    def _attack_region(self, actor: _Actor, region: str) -> None:
        spec = self.scenario.attacker
        for pair in (p for p in spec.key_pairs if p.region == region):
            actor.call(
                "ec2",
                region,
                "CreateKeyPair",
                {"KeyName": pair.name},
                request={"keyName": pair.name, "keyType": "rsa", "keyFormat": "pem"},
                response=lambda r: _ec2_response(
                    keyName=r["KeyName"],
                    keyFingerprint=r.get("KeyFingerprint"),
                    keyPairId=r.get("KeyPairId"),
                    keyMaterial=SENSITIVE,
                ),
            )
            self.key_names[region] = pair.name
            self._bad("AWS::EC2::KeyPair", pair.name, region, pair.name)
        for group in (g for g in spec.security_groups if g.region == region):
            group_id = self._create_security_group(actor, region, group.name, group.description, group.ports)
            self.security_group_ids[region] = group_id
            self._bad("AWS::EC2::SecurityGroup", group_id, region, group.name)
        for launch in (g for g in spec.instances if g.region == region):
            self._launch(actor, launch)
        for spot in (s for s in spec.spot_requests if s.region == region):
            self._request_spot(actor, spot)
        for function in (f for f in spec.lambda_functions if f.region == region):
            self._create_function(actor, function)

    def _launch(self, actor: _Actor, launch: AttackerInstances) -> None:
        spec = self.scenario.attacker
        region = launch.region
        group_ids = [self.security_group_ids[region]] if launch.security_group else []
        key_name = self.key_names[region] if launch.key_pair else None
        tags = {"Name": launch.name} if launch.name else {}
        params: dict[str, Any] = {
            "ImageId": spec.image_id,
            "InstanceType": launch.instance_type,
            "MinCount": launch.count,
            "MaxCount": launch.count,
            "UserData": spec.user_data,
        }
        if group_ids:
            params["SecurityGroupIds"] = group_ids
        if key_name:
            params["KeyName"] = key_name
        if tags:
            params["TagSpecifications"] = [
                {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ]
        result = actor.call(
            "ec2",
            region,
            "RunInstances",
            params,
            request=_run_request(
                spec.image_id,
                launch.instance_type,
                launch.count,
                key_name=key_name,
                group_ids=group_ids,
                tags=tags,
                profile=None,
                user_data=True,
            ),
            response=lambda r: _instances_element(r, self.account_id),
        )
        for instance in result["Instances"]:
            instance_id = instance["InstanceId"]
            self._bad("AWS::EC2::Instance", instance_id, region, launch.name or instance_id)
            if launch.termination_protection:
                # moto ignores DisableApiTermination on RunInstances; only ModifyInstanceAttribute
                # sets it (and attackers commonly do it this way, after launch).
                actor.call(
                    "ec2",
                    region,
                    "ModifyInstanceAttribute",
                    {"InstanceId": instance_id, "DisableApiTermination": {"Value": True}},
                    request={"instanceId": instance_id, "disableApiTermination": {"value": True}},
                    response=lambda r: _ec2_response(_return=True),
                )
                self.protected_instances.append(instance_id)

    def _request_spot(self, actor: _Actor, spot: SpotRequest) -> None:
        spec = self.scenario.attacker
        region = spot.region
        specification: dict[str, Any] = {
            "ImageId": spec.image_id,
            "InstanceType": spot.instance_type,
            "UserData": base64.b64encode(spec.user_data.encode()).decode(),
        }
        trail_spec: dict[str, Any] = {
            "imageId": spec.image_id,
            "instanceType": spot.instance_type,
            "userData": SENSITIVE,
            "monitoring": {"enabled": False},
        }
        if spot.key_pair:
            specification["KeyName"] = trail_spec["keyName"] = self.key_names[region]
        if spot.security_group:
            # moto honours group names in a spot launch specification, not SecurityGroupIds.
            name = next(g.name for g in spec.security_groups if g.region == region)
            specification["SecurityGroups"] = [name]
            trail_spec["groupSet"] = {"items": [{"groupName": name}]}
        result = actor.call(
            "ec2",
            region,
            "RequestSpotInstances",
            {
                "SpotPrice": spot.max_price,
                "InstanceCount": 1,
                "Type": "persistent",
                "LaunchSpecification": specification,
            },
            request={
                "spotPrice": spot.max_price,
                "instanceCount": 1,
                "type": "persistent",
                "launchSpecification": trail_spec,
            },
            response=lambda r: _ec2_response(
                spotInstanceRequestSet={
                    "items": [
                        {
                            "spotInstanceRequestId": item["SpotInstanceRequestId"],
                            "spotPrice": item.get("SpotPrice"),
                            "type": "persistent",
                            "state": "open",
                            "status": {
                                "code": "pending-evaluation",
                                "updateTime": _epoch_ms(self.clock.now()),
                            },
                            "launchSpecification": {**trail_spec, "userData": None},
                            "createTime": _epoch_ms(self.clock.now()),
                            "productDescription": "Linux/UNIX",
                            "instanceInterruptionBehavior": "terminate",
                        }
                        for item in r["SpotInstanceRequests"]
                    ]
                },
            ),
        )
        for item in result["SpotInstanceRequests"]:
            request_id = item["SpotInstanceRequestId"]
            self._bad("AWS::EC2::SpotInstanceRequest", request_id, region, request_id)
            instance_id = item.get("InstanceId")
            if instance_id is None:
                # Not fulfilled in the answer: look again (moto fulfils at once, AWS later).
                described = self.admin_factory.client("ec2", region).describe_spot_instance_requests(
                    SpotInstanceRequestIds=[request_id]
                )["SpotInstanceRequests"]
                instance_id = described[0].get("InstanceId") if described else None
            if instance_id:
                # The fleet's instance is the attacker's too, launched by EC2 on the request's behalf.
                self.spot_instances[request_id] = instance_id
                self._bad("AWS::EC2::Instance", instance_id, region, f"spot {request_id}")

    def _create_function(self, actor: _Actor, function: LambdaFunction) -> None:
        name, region, runtime, environment = (
            function.name,
            function.region,
            function.runtime,
            function.environment,
        )
        role_name = function.role_name
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr(
                "index.py",
                "import os\n\n\ndef handler(event, context):\n    return {'pool': os.environ.get('POOL')}\n",
            )
        role_arn = f"arn:aws:iam::{self.account_id}:role/{role_name}"
        params: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": runtime,
            "Role": role_arn,
            "Handler": "index.handler",
            "Code": {"ZipFile": code.getvalue()},
            "Timeout": 900,
        }
        if environment:
            params["Environment"] = {"Variables": environment}
        actor.call(
            "lambda",
            region,
            "CreateFunction",
            params,
            event_name="CreateFunction20150331",
            request={
                "functionName": name,
                "runtime": runtime,
                "role": role_arn,
                "handler": "index.handler",
                "code": {},
                "timeout": 900,
                **({"environment": {}} if environment else {}),
            },
            response=lambda r: {
                "functionName": r["FunctionName"],
                "functionArn": r["FunctionArn"],
                "runtime": r.get("Runtime"),
                "role": r.get("Role"),
                "handler": r.get("Handler"),
                "codeSize": r.get("CodeSize"),
                "timeout": r.get("Timeout"),
                "memorySize": r.get("MemorySize"),
                "lastModified": r.get("LastModified"),
                "codeSha256": r.get("CodeSha256"),
                "version": r.get("Version", "$LATEST"),
                "state": "Pending",
                "packageType": "Zip",
            },
        )
        self._bad("AWS::Lambda::Function", name, region, name)

    # -- bookkeeping ------------------------------------------------------------------------------

    def _legit(self, resource_type: str, resource_id: str, region: str, name: str) -> None:
        self.legitimate.append(Artefact(type=resource_type, id=resource_id, region=region, name=name))

    def _bad(self, resource_type: str, resource_id: str, region: str, name: str) -> None:
        self.attacker.append(Artefact(type=resource_type, id=resource_id, region=region, name=name))


# -- Cost Explorer -----------------------------------------------------------------------------------

_BASELINE_SERVICES = (
    ("Amazon Elastic Compute Cloud - Compute", Decimal("0.52")),
    ("EC2 - Other", Decimal("0.12")),
    ("Amazon Simple Storage Service", Decimal("0.11")),
    ("Amazon GuardDuty", Decimal("0.08")),
    ("AmazonCloudWatch", Decimal("0.07")),
    ("AWS Key Management Service", Decimal("0.04")),
    ("Amazon Virtual Private Cloud", Decimal("0.05")),
    ("AWS CloudTrail", Decimal("0.01")),
)
_EC2_COMPUTE = "Amazon Elastic Compute Cloud - Compute"
_CENT = Decimal("0.0001")


def cost_explorer_results(scenario: Scenario, incident_start: datetime, today: date) -> list[dict[str, Any]]:
    """``[by_service, by_region]`` GetCostAndUsage answers, one day each from ``today`` - 30 on.

    A quiet baseline in the home regions every day; attacker compute (instances, spot, their EBS
    volumes, Lambda) on the days from the incident start on. Both answers sum to the same daily totals.
    """
    noise = random.Random(f"{scenario.name}/cost")
    incident_day = as_utc(incident_start).date()
    first = today - timedelta(days=COST_DAYS - 1)
    homes = scenario.home_regions
    home_shares = (
        [Decimal("0.8")] + [Decimal("0.2") / (len(homes) - 1)] * (len(homes) - 1) if len(homes) > 1 else [Decimal(1)]
    )
    hours = Decimal(str(scenario.cost.incident_hours))
    lines: dict[date, list[tuple[str, str, Decimal]]] = defaultdict(list)
    for offset in range(COST_DAYS):
        day = first + timedelta(days=offset)
        total = Decimal(str(scenario.cost.baseline_daily_usd)) * Decimal(str(noise.uniform(0.88, 1.12)))
        for service, share in _BASELINE_SERVICES:
            for region, region_share in zip(homes, home_shares, strict=True):
                lines[day].append((service, region, total * share * region_share))
        if day >= incident_day:
            for group in scenario.attacker.instances:
                price = Decimal(str(hourly_price(group.instance_type)))
                lines[day].append((_EC2_COMPUTE, group.region, price * group.count * hours))
                lines[day].append(("EC2 - Other", group.region, Decimal("0.011") * 100 * group.count * hours / 24))
            for spot in scenario.attacker.spot_requests:
                price = Decimal(str(hourly_price(spot.instance_type))) * Decimal("0.38")
                lines[day].append((_EC2_COMPUTE, spot.region, price * hours))
            for function in scenario.attacker.lambda_functions:
                lines[day].append(("AWS Lambda", function.region, Decimal("0.42") * hours))
    by_service: list[dict[str, Any]] = []
    by_region: list[dict[str, Any]] = []
    for day in sorted(lines):
        services: dict[str, Decimal] = defaultdict(Decimal)
        regions: dict[str, Decimal] = defaultdict(Decimal)
        for service, region, amount in lines[day]:
            rounded = amount.quantize(_CENT)
            services[service] += rounded
            regions[region] += rounded
        period = {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()}
        estimated = day >= today - timedelta(days=1)
        by_service.append(_day_result(period, services, estimated))
        by_region.append(_day_result(period, regions, estimated))
    return [
        _answer(by_service, "SERVICE"),
        _answer(by_region, "REGION"),
    ]


def _day_result(period: dict[str, str], amounts: dict[str, Decimal], estimated: bool) -> dict[str, Any]:
    return {
        "TimePeriod": period,
        "Total": {},
        "Groups": [
            {"Keys": [key], "Metrics": {"UnblendedCost": {"Amount": str(amount), "Unit": "USD"}}}
            for key, amount in sorted(amounts.items(), key=lambda kv: -kv[1])
            if amount > 0
        ],
        "Estimated": estimated,
    }


def _answer(days: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return {
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": key}],
        "ResultsByTime": days,
        "DimensionValueAttributes": [],
    }


# -- checks ---------------------------------------------------------------------------------------

# Types AWS reports no creation time for (moto gives spot requests a fixed 2015 time).
_UNTIMED = frozenset(
    {
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::SpotInstanceRequest",
        "AWS::S3::Bucket",
        "AWS::CloudTrail::Trail",
        "AWS::GuardDuty::Detector",
    }
)


def check_seeded(
    server: EmulatorServer, scenario: Scenario, seeded: SeededScenario, *, factory: ClientFactory | None = None
) -> list[str]:
    """What is wrong with a seeded scenario (empty when every invariant holds).

    Checks that every artefact exists as described, creation times fall on the right side of T
    where AWS reports one, instance types and volumes, termination protection, persistent spot
    requests, the stopped trail, and the leaked key's last use.
    """
    problems: list[str] = []
    start = seeded.incident_start
    factory = factory or server.factory()
    iam = factory.client("iam")
    for attacker, artefacts in ((True, seeded.attacker_artefacts), (False, seeded.legitimate_artefacts)):
        for artefact in artefacts:
            label = f"{artefact.type} {artefact.id} ({artefact.region})"
            try:
                created = _describe(factory, artefact)
            except (ClientError, BotoCoreError, IndexError, KeyError, StopIteration) as exc:
                problems.append(f"{label}: missing ({exc})")
                continue
            if artefact.type in _UNTIMED:
                continue
            if created is None:
                problems.append(f"{label}: no creation time")
            elif attacker and not created > start:
                problems.append(f"{label}: created {created.isoformat()}, not after T {start.isoformat()}")
            elif not attacker and not created < start:
                problems.append(f"{label}: created {created.isoformat()}, not before T {start.isoformat()}")

    spot_instances = set(seeded.spot_instances.values())
    for artefact in seeded.attacker_of("AWS::EC2::Instance"):
        ec2 = factory.client("ec2", artefact.region)
        instance = ec2.describe_instances(InstanceIds=[artefact.id])["Reservations"][0]["Instances"][0]
        if not instance.get("BlockDeviceMappings"):
            problems.append(f"instance {artefact.id}: no volumes")
        launched = [g.instance_type for g in scenario.attacker.instances if g.region == artefact.region]
        if artefact.id in spot_instances:
            launched = [s.instance_type for s in scenario.attacker.spot_requests if s.region == artefact.region]
        if instance.get("InstanceType") not in launched:
            problems.append(f"instance {artefact.id}: type {instance.get('InstanceType')}, expected one of {launched}")
        attribute = ec2.describe_instance_attribute(InstanceId=artefact.id, Attribute="disableApiTermination")
        protected = attribute["DisableApiTermination"]["Value"]
        if protected != (artefact.id in seeded.termination_protected):
            problems.append(f"instance {artefact.id}: termination protection is {protected}")
    if not seeded.termination_protected:
        problems.append("no attacker instance has termination protection")
    for request_id, instance_id in seeded.spot_instances.items():
        region = next(a.region for a in seeded.attacker_artefacts if a.id == request_id)
        ec2 = factory.client("ec2", region)
        request = ec2.describe_spot_instance_requests(SpotInstanceRequestIds=[request_id])["SpotInstanceRequests"][0]
        if request.get("Type") != "persistent":
            problems.append(f"spot request {request_id}: type {request.get('Type')}, expected persistent")
        if request.get("InstanceId") != instance_id:
            problems.append(f"spot request {request_id}: instance {request.get('InstanceId')}, expected {instance_id}")

    trail = factory.client("cloudtrail", seeded.trail_region)
    if trail.get_trail_status(Name=seeded.trail_name).get("IsLogging"):
        problems.append(f"trail {seeded.trail_name} is still logging")
    last = iam.get_access_key_last_used(AccessKeyId=seeded.compromised_access_key_id)["AccessKeyLastUsed"]
    last_used = coerce_instant(last.get("LastUsedDate"))
    if last_used is None or not last_used > start:
        problems.append(f"leaked key {seeded.compromised_access_key_id}: last used {last_used}, not after T")
    return problems


def _describe(factory: ClientFactory, artefact: Artefact) -> datetime | None:
    """Look the artefact up; its creation time as AWS reports it (None where none is reported).

    Raises ClientError (IndexError, StopIteration on an empty answer) when it does not exist.
    """
    kind, ident, region = artefact.type, artefact.id, artefact.region
    iam = factory.client("iam")
    if kind == "AWS::IAM::User":
        return coerce_instant(iam.get_user(UserName=ident)["User"]["CreateDate"])
    if kind == "AWS::IAM::Role":
        return coerce_instant(iam.get_role(RoleName=ident)["Role"]["CreateDate"])
    if kind == "AWS::IAM::ManagedPolicy":
        return coerce_instant(iam.get_policy(PolicyArn=ident)["Policy"]["CreateDate"])
    if kind == "AWS::IAM::InstanceProfile":
        return coerce_instant(iam.get_instance_profile(InstanceProfileName=ident)["InstanceProfile"]["CreateDate"])
    if kind == "AWS::IAM::AccessKey":
        keys = iam.list_access_keys(UserName=artefact.name)["AccessKeyMetadata"]
        return coerce_instant(next(k for k in keys if k["AccessKeyId"] == ident)["CreateDate"])
    if kind == "AWS::IAM::VirtualMFADevice":
        devices = iam.list_mfa_devices(UserName=artefact.name)["MFADevices"]
        return coerce_instant(next(d for d in devices if d["SerialNumber"] == ident)["EnableDate"])
    if kind == "AWS::EC2::Instance":
        reservations = factory.client("ec2", region).describe_instances(InstanceIds=[ident])["Reservations"]
        return coerce_instant(reservations[0]["Instances"][0]["LaunchTime"])
    if kind == "AWS::EC2::KeyPair":
        pairs = factory.client("ec2", region).describe_key_pairs(KeyNames=[ident])["KeyPairs"]
        return coerce_instant(pairs[0].get("CreateTime"))
    if kind == "AWS::EC2::Snapshot":
        snapshots = factory.client("ec2", region).describe_snapshots(SnapshotIds=[ident])["Snapshots"]
        return coerce_instant(snapshots[0]["StartTime"])
    if kind == "AWS::Lambda::Function":
        configuration = factory.client("lambda", region).get_function(FunctionName=ident)["Configuration"]
        return coerce_instant(configuration["LastModified"])
    if kind == "AWS::EC2::SecurityGroup":
        factory.client("ec2", region).describe_security_groups(GroupIds=[ident])["SecurityGroups"][0]
    elif kind == "AWS::EC2::SpotInstanceRequest":
        factory.client("ec2", region).describe_spot_instance_requests(SpotInstanceRequestIds=[ident])[
            "SpotInstanceRequests"
        ][0]
    elif kind == "AWS::S3::Bucket":
        factory.client("s3", region).head_bucket(Bucket=ident)
    elif kind == "AWS::CloudTrail::Trail":
        factory.client("cloudtrail", region).get_trail(Name=artefact.name)["Trail"]
    elif kind == "AWS::GuardDuty::Detector":
        factory.client("guardduty", region).get_detector(DetectorId=ident)
    else:
        raise AwsRespondError(f"no existence check for {kind}")
    return None


# -- entry point ------------------------------------------------------------------------------------


def seed(server: EmulatorServer, scenario: Scenario, *, clock: Clock | None = None) -> SeededScenario:
    """Apply ``scenario`` to a fresh (or reset) emulator and return its ground truth.

    Raises :class:`SafetyError` when the server is not a loopback emulator, :class:`AwsCallError`
    when a call fails, and :class:`AwsRespondError` when an invariant does not hold afterwards.
    """
    server.verify()
    run = _Run(server=server, scenario=scenario, clock=clock or SystemClock(), rng=random.Random())
    run.baseline()

    # Creation times have 1-second resolution in places (EC2), so T is the next whole second after
    # the baseline, and the attacker starts a whole second after T.
    incident_start = run.clock.now().replace(microsecond=0) + timedelta(seconds=1)
    wait = (incident_start + timedelta(seconds=1) - run.clock.now()).total_seconds()
    if wait > 0:
        run.clock.sleep(wait)
    run.attack()

    writer = run.admin_factory.client("s3", scenario.primary_region)
    keys = write_log_files(writer, scenario.baseline.trail_bucket, run.records, server.account_id, rng=run.rng)
    server.post_moto_api(
        "/moto-api/static/ce/cost-and-usage-results",
        {"results": cost_explorer_results(scenario, incident_start, run.clock.now().date())},
    )
    seeded = SeededScenario(
        scenario=scenario.name,
        endpoint_url=server.endpoint_url,
        account_id=server.account_id,
        home_regions=list(scenario.home_regions),
        attacker_regions=scenario.unused_regions,
        incident_start=incident_start,
        compromised_user=scenario.baseline.ci_user,
        compromised_access_key_id=run.ci_key_id,
        compromised_secret_access_key=SecretStr(run.ci_secret),
        attacker_user=scenario.attacker.user_name,
        attacker_ips=list(scenario.attacker.source_ips),
        attacker_user_agent=scenario.attacker.user_agent,
        trail_name=scenario.baseline.trail_name,
        trail_arn=run.trail_arn,
        trail_region=scenario.primary_region,
        trail_bucket=scenario.baseline.trail_bucket,
        cloudtrail_keys=keys,
        cloudtrail_record_count=len(run.records),
        attacker_artefacts=run.attacker,
        legitimate_artefacts=run.legitimate,
        termination_protected=run.protected_instances,
        spot_instances=run.spot_instances,
    )
    problems = check_seeded(server, scenario, seeded, factory=run.admin_factory)
    if problems:
        raise AwsRespondError(f"scenario {scenario.name} did not seed as specified: " + "; ".join(problems))
    return seeded
