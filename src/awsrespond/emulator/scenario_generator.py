"""Random but valid scenarios from a seed, and the name, region and address pools they draw on."""

from __future__ import annotations

import ipaddress
import random
from typing import Literal

from awsrespond.emulator.instance_types import ACCELERATED_FAMILIES, ACCELERATED_TYPES, hourly_price
from awsrespond.emulator.scenario import (
    Attacker,
    AttackerInstances,
    Baseline,
    CostProfile,
    CustomPolicy,
    DataVolume,
    InstanceGroup,
    KeyPair,
    LambdaFunction,
    OpenSecurityGroup,
    Scenario,
    SpotRequest,
)

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
_DATA_VOLUMES = ("customer-db-data", "orders-archive", "media-store", "reports-data", "ledger-db", "build-cache")
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
    # A separate stream, so that adding the destroyed volume left every other draw of a seed as it was.
    destroy_rng = random.Random(f"destroy-{seed}")
    data_volume = DataVolume(
        name=destroy_rng.choice(_DATA_VOLUMES), size_gib=destroy_rng.choice((8, 20, 50, 100, 200)),
        volume_type=destroy_rng.choice(("gp2", "gp3", "io1")),
    ) if destroy_rng.random() < 0.85 else None
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
        data_volume=data_volume,
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
        delete_volumes=data_volume is not None,
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
