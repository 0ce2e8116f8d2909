"""The account behind the routine-activity generator: names, networks and identities drawn from a seed.

Everything that could let a detection pass by knowing the test data (account id, regions, names,
IP ranges, user agents) comes from ``random.Random(seed)``. :class:`Trail` collects records built
with :func:`awsrespond.emulator.cloudtrail.cloudtrail_record`, with event ids from the same seed.
"""

from __future__ import annotations

import ipaddress
import json
import random
import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from awsrespond.emulator.cloudtrail import (
    GLOBAL_EVENT_REGION,
    cloudtrail_record,
    format_event_time,
    iam_date,
    iam_user_identity,
)

BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
UPPER_DIGITS = string.ascii_uppercase + string.digits

COMMERCIAL_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2", "eu-west-3",
    "eu-central-1", "eu-north-1", "eu-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
    "ap-northeast-2", "ap-south-1", "sa-east-1", "me-south-1", "af-south-1", "ap-east-1",
)
_HOME_CANDIDATES = COMMERCIAL_REGIONS[:12]
# First octets of public ranges where offices, homes and VPS providers sit; AWS and Azure are apart.
_ISP_FIRST_OCTETS = (24, 50, 62, 64, 66, 67, 68, 71, 73, 76, 77, 78, 81, 82, 84, 86, 88, 90, 91, 92, 93, 94,
                     95, 96, 97, 98, 99, 108, 109, 151, 173, 174, 176, 178, 188, 190, 201, 212, 213, 217)
_AWS_FIRST_OCTETS = (3, 13, 15, 18, 34, 35, 44, 52, 54, 99)
_AZURE_FIRST_OCTETS = (4, 13, 20, 40, 52, 104, 172)
_WORDS = ("atlas", "birch", "cobalt", "delta", "ember", "fjord", "granite", "harbor", "indigo", "juniper",
          "kestrel", "lumen", "meridian", "nimbus", "orchid", "pylon", "quartz", "raven", "sierra", "tundra",
          "umber", "vertex", "willow", "xenon", "yarrow", "zephyr")
_FIRST_NAMES = ("ana", "bo", "chen", "dara", "eli", "fatima", "goran", "hana", "ivan", "jo", "kai", "lena",
                "mateo", "nora", "omar", "priya", "quinn", "rosa", "sven", "tara", "uma", "viktor", "wei",
                "yusuf", "zoe", "amir", "beatriz", "cyril", "dmitri", "esther")
_LAST_NAMES = ("alvarez", "becker", "costa", "dubois", "eriksen", "fischer", "garcia", "haddad", "ito",
               "jansen", "kowalski", "lindqvist", "moreau", "nakamura", "okafor", "petrov", "rossi",
               "schmidt", "tanaka", "urban", "varga", "weber", "yilmaz", "zhang")


def az(region: str, rng: random.Random) -> str:
    return region + rng.choice("abc")


class Ids:
    """Identifiers in AWS's shapes, all drawn from one seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def access_key(self, *, temporary: bool) -> str:
        return ("ASIA" if temporary else "AKIA") + "".join(self.rng.choices(BASE32, k=16))

    def unique(self, prefix: str) -> str:
        """An IAM unique id (AIDA..., AROA..., ANPA...)."""
        return prefix + "".join(self.rng.choices(UPPER_DIGITS, k=17))

    def hex(self, length: int) -> str:
        return "".join(self.rng.choices("0123456789abcdef", k=length))

    def resource(self, prefix: str) -> str:
        """``i-0...``, ``snap-0...``, ``sg-0...``: 17 hex digits after the prefix."""
        return f"{prefix}-0{self.hex(16)}"

    def token(self) -> str:
        return "IQoJb3JpZ2luX2Vj" + "".join(self.rng.choices(string.ascii_letters + string.digits, k=40))


@dataclass(frozen=True)
class Role:
    account_id: str
    name: str
    role_id: str
    path: str = "/"

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role{self.path}{self.name}"

    def session_arn(self, session: str) -> str:
        return f"arn:aws:sts::{self.account_id}:assumed-role/{self.name}/{session}"


@dataclass(frozen=True)
class User:
    account_id: str
    name: str
    user_id: str
    key: str
    """The user's long-term access key (AKIA...)."""

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:user/{self.name}"


@dataclass
class Credential:
    """Temporary credentials handed out by STS or the console."""

    key: str
    created: datetime
    expires: datetime

    def valid(self, when: datetime) -> bool:
        return when < self.expires - timedelta(minutes=5)


@dataclass
class Network:
    """Where a persona calls from."""

    prefix16: str
    """``a.b``: the /16 the addresses come from."""

    def address(self, rng: random.Random) -> str:
        return f"{self.prefix16}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


@dataclass
class Account:
    """The routine account's shape: everything drawn from the seed, shared by the personas."""

    rng: random.Random
    ids: Ids
    account_id: str
    slug: str
    env: str
    home: str
    dr: str
    utc_offset: int
    """The team's time zone: local office hours are ``8 - utc_offset`` .. ``19 - utc_offset`` UTC."""
    org_accounts: list[str]
    vendor_account: str
    github_org: str
    office: str
    """The office's /24 (``a.b.c``)."""
    nat_ips: dict[str, list[str]]
    vpc_id: str
    vpce_ids: dict[str, str]
    subnets: list[str]
    subnet_cidrs: list[ipaddress.IPv4Network]
    """The private subnets (a /20, /22 or /24 each) workloads get their addresses from."""
    app_security_group: str
    secrets: dict[str, str]
    """secret name -> ARN (with the 6-character suffix Secrets Manager adds)."""
    parameters: list[str]
    buckets: list[str]
    tables: list[str]
    queues: list[str]
    functions: list[str]
    kms_keys: list[str]
    trail_name: str
    detector_id: str
    recorder_name: str
    used_prefixes: set[str] = field(default_factory=set)
    """Every /16 the routine activity calls from (an attack must come from elsewhere)."""

    @property
    def regions(self) -> tuple[str, ...]:
        return (self.home, self.dr, GLOBAL_EVENT_REGION) if self.home != GLOBAL_EVENT_REGION else (self.home, self.dr)

    def local(self, day: datetime, hour: float) -> datetime:
        """``hour`` o'clock in the team's time zone on ``day`` (a UTC midnight)."""
        return day + timedelta(hours=hour - self.utc_offset)

    def workday(self, day: datetime) -> bool:
        return self.local(day, 12).weekday() < 5

    def role(self, name: str, path: str = "/") -> Role:
        return Role(self.account_id, name, self.ids.unique("AROA"), path)

    def user(self, name: str) -> User:
        return User(self.account_id, name, self.ids.unique("AIDA"), self.ids.access_key(temporary=False))

    def queue_url(self, queue: str, region: str | None = None) -> str:
        return f"https://sqs.{region or self.home}.amazonaws.com/{self.account_id}/{queue}"

    def network(self, first_octets: tuple[int, ...]) -> Network:
        while True:
            prefix = f"{self.rng.choice(first_octets)}.{self.rng.randint(1, 254)}"
            if prefix not in self.used_prefixes:
                self.used_prefixes.add(prefix)
                return Network(prefix)

    def private_ip(self) -> str:
        subnet = self.rng.choice(self.subnet_cidrs)
        return str(subnet[self.rng.randint(4, subnet.num_addresses - 2)])

    def aws_ip(self) -> str:
        """A public address of AWS's (Lambda outside a VPC, a vendor's crawler): new nearly every call."""
        prefix = f"{self.rng.choice(_AWS_FIRST_OCTETS)}.{self.rng.randint(1, 254)}"
        self.used_prefixes.add(prefix)
        return f"{prefix}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"

    def office_ip(self) -> str:
        return f"{self.office}.{self.rng.randint(10, 60)}"


def _account_id(rng: random.Random) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choices(string.digits, k=11))


def _subnets(rng: random.Random) -> list[ipaddress.IPv4Network]:
    vpc = ipaddress.ip_network(rng.choice((f"10.{rng.randint(0, 250)}.0.0/16", f"172.{rng.randint(16, 31)}.0.0/16")))
    assert isinstance(vpc, ipaddress.IPv4Network)
    blocks = list(vpc.subnets(new_prefix=rng.choice((20, 22, 24))))
    start = rng.randint(0, 3)
    return blocks[start:start + 3]


def draw_account(seed: int) -> Account:
    rng = random.Random(seed)
    ids = Ids(rng)
    slug = rng.choice(_WORDS) + rng.choice(("", "io", "labs", "hq", "pay", "cloud"))
    env = rng.choice(("prod", "production", "live", "prd"))
    home = rng.choice(_HOME_CANDIDATES)
    dr = rng.choice([r for r in _HOME_CANDIDATES if r != home and r.split("-")[0] == home.split("-")[0]] or
                    [r for r in _HOME_CANDIDATES if r != home])
    account_id = _account_id(rng)
    apps = rng.sample(("orders", "billing", "search", "catalog", "ledger", "notify", "auth", "reports", "media",
                       "pricing", "inventory", "shipping"), 5)
    suffix = account_id[-4:]
    account = Account(
        rng=rng,
        ids=ids,
        account_id=account_id,
        slug=slug,
        env=env,
        home=home,
        dr=dr,
        utc_offset=rng.choice((-8, -7, -6, -5, -4, 0, 1, 2, 3, 5, 8, 9, 10)),
        org_accounts=[_account_id(rng) for _ in range(rng.randint(2, 4))],
        vendor_account=_account_id(rng),
        github_org=f"{slug}-{rng.choice(('eng', 'platform', 'dev', 'tech'))}",
        office="",
        nat_ips={},
        vpc_id=ids.resource("vpc"),
        vpce_ids={},
        subnets=[ids.resource("subnet") for _ in range(3)],
        subnet_cidrs=_subnets(rng),
        app_security_group=ids.resource("sg"),
        secrets={},
        parameters=[],
        buckets=[f"{slug}-{purpose}-{suffix}" for purpose in rng.sample(
            ("assets", "uploads", "exports", "artifacts", "reports", "data-lake", "backups", "static"), 4)],
        tables=[f"{env}-{app}" for app in apps[:3]],
        queues=[f"{env}-{app}-{kind}" for app in apps[:3] for kind in rng.sample(("jobs", "events", "dlq"), 1)],
        functions=[f"{slug}-{app}-{verb}" for app in apps for verb in rng.sample(
            ("api", "worker", "cron", "resize", "webhook", "sync"), rng.randint(1, 2))],
        kms_keys=[ids.uuid() for _ in range(3)],
        trail_name=rng.choice(("management-events", "org-trail", "cloudtrail", f"{slug}-audit", "main-trail")),
        detector_id=ids.hex(32),
        recorder_name=rng.choice(("default", f"{slug}-config", "config-recorder")),
    )
    account.office = f"{account.network(_ISP_FIRST_OCTETS).prefix16}.{rng.randint(0, 255)}"
    for region in (home, dr):
        account.nat_ips[region] = [account.aws_ip() for _ in range(rng.randint(1, 3))]
        account.vpce_ids[region] = ids.resource("vpce")
    for app in apps[:4]:
        name = f"{env}/{app}/{rng.choice(('db-credentials', 'api-token', 'rds-master', 'stripe-key', 'jwt-secret'))}"
        account.secrets[name] = f"arn:aws:secretsmanager:{home}:{account_id}:secret:{name}-{ids.hex(6)}"
        account.parameters.extend(
            f"/{env}/{app}/{param}" for param in rng.sample(
                ("db/password", "db/host", "api/key", "oauth/client-secret", "smtp/password", "feature-flags"), 2)
        )
    return account


def isp_network(account: Account) -> Network:
    return account.network(_ISP_FIRST_OCTETS)


def azure_network(account: Account) -> Network:
    return account.network(_AZURE_FIRST_OCTETS)


# -- identities ------------------------------------------------------------------------------------


def session_context(
    created: datetime,
    *,
    mfa: bool = False,
    issuer: Role | None = None,
    web_identity_provider: str | None = None,
    ec2_role_delivery: bool = False,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "sessionIssuer": {},
        "webIdFederationData": {},
        "attributes": {"creationDate": format_event_time(created), "mfaAuthenticated": "true" if mfa else "false"},
    }
    if issuer is not None:
        context["sessionIssuer"] = {
            "type": "Role",
            "principalId": issuer.role_id,
            "arn": issuer.arn,
            "accountId": issuer.account_id,
            "userName": issuer.name,
        }
    if web_identity_provider is not None:
        context["webIdFederationData"] = {"federatedProvider": web_identity_provider, "attributes": {}}
    if ec2_role_delivery:
        context["ec2RoleDelivery"] = "2.0"
    return context


def role_identity(
    role: Role,
    session: str,
    credential: Credential,
    *,
    mfa: bool = False,
    web_identity_provider: str | None = None,
    ec2_role_delivery: bool = False,
    invoked_by: str | None = None,
) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"{role.role_id}:{session}",
        "arn": role.session_arn(session),
        "accountId": role.account_id,
        "accessKeyId": credential.key,
        "sessionContext": session_context(
            credential.created,
            mfa=mfa,
            issuer=role,
            web_identity_provider=web_identity_provider,
            ec2_role_delivery=ec2_role_delivery,
        ),
    }
    if invoked_by is not None:
        identity["invokedBy"] = invoked_by
    return identity


def user_identity(user: User, credential: Credential | None = None, *, mfa: bool = False) -> dict[str, Any]:
    """A user signing with the long-term key, or with console / GetSessionToken credentials."""
    if credential is None:
        return iam_user_identity(
            account_id=user.account_id, user_name=user.name, principal_id=user.user_id, access_key_id=user.key
        )
    return iam_user_identity(
        account_id=user.account_id,
        user_name=user.name,
        principal_id=user.user_id,
        access_key_id=credential.key,
        session_created=credential.created,
        mfa_authenticated=mfa,
    )


def service_identity(service: str) -> dict[str, Any]:
    return {"type": "AWSService", "invokedBy": service}


def credentials_element(credential: Credential, ids: Ids) -> dict[str, Any]:
    return {
        "accessKeyId": credential.key,
        "sessionToken": ids.token(),
        "expiration": sts_date(credential.expires),
    }


def sts_date(value: datetime) -> str:
    """STS's date format in ``responseElements`` ("Aug 1, 2024, 11:45:22 AM")."""
    text = iam_date(value)
    return text.replace(f" {value.year} ", f" {value.year}, ", 1)


def trust_document(principal: dict[str, Any], *, external_id: str | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


# -- records ---------------------------------------------------------------------------------------


@dataclass
class Trail:
    """The records of one generated day (or one attack)."""

    account: Account
    records: list[dict[str, Any]] = field(default_factory=list)

    def call(
        self,
        when: datetime,
        service: str,
        name: str,
        region: str,
        identity: dict[str, Any],
        ip: str,
        user_agent: str,
        request: dict[str, Any] | None = None,
        response: dict[str, Any] | None = None,
        *,
        error: tuple[str, str] | None = None,
        data: bool = False,
        read_only: bool | None = None,
        resources: list[dict[str, Any]] | None = None,
        additional: dict[str, Any] | None = None,
        event_type: str = "AwsApiCall",
        vpce: str | None = None,
        console: bool = False,
    ) -> dict[str, Any]:
        ids = self.account.ids
        record = cloudtrail_record(
            event_time=when,
            event_source=f"{service}.amazonaws.com",
            event_name=name,
            aws_region=region,
            user_identity=identity,
            source_ip=ip,
            user_agent=user_agent,
            request_parameters=request,
            response_elements=response,
            additional_event_data=additional,
            resources=resources,
            read_only=read_only,
            event_type=event_type,
            management_event=not data,
            error_code=error[0] if error else None,
            error_message=error[1] if error else None,
            recipient_account_id=self.account.account_id,
            session_credential_from_console=console,
            event_id=ids.uuid(),
            request_id=ids.uuid(),
        )
        if vpce is not None:
            record["vpcEndpointId"] = vpce
        if event_type != "AwsApiCall":
            record.pop("tlsDetails", None)
        self.records.append(record)
        return record
