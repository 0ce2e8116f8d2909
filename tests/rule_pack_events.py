"""CloudTrail events for the tests of the built-in rule pack: a :class:`Scene` draws every value a rule
could key on by mistake (account, region, names, user agent, IP, access keys, times) from a seed, and
:func:`case` registers builders of positive events (the rule must hit) and near misses (it must not).

Shapes follow real CloudTrail records (the Stratus and Panther corpora, AWS documentation): Lambda
event names carry API-version suffixes, EC2 ``add`` lists are ``{"items": [...]}``, IAM policy documents
are JSON strings whose spacing and key order vary, S3 bucket policies are objects.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from awsrespond.emulator.cloudtrail import cloudtrail_record, format_event_time, iam_user_identity, root_identity

Record = dict[str, Any]
Builder = Callable[["Scene"], list[Record]]

REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "eu-south-2",
    "ap-southeast-1",
    "ap-southeast-3",
    "ap-northeast-1",
    "ap-south-1",
    "sa-east-1",
    "me-central-1",
    "af-south-1",
    "il-central-1",
    "mx-central-1",
)
USER_AGENTS = (
    "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0-1012-aws md/arch#x86_64 lang/python#3.11.9 "
    "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off "
    "md/command#{command}",
    "Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.12.4 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.10",
    "aws-sdk-go-v2/1.30.3 ua/2.0 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/{service}#1.40.0",
    "aws-sdk-java/2.26.25 Linux/5.10.220-209.869.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/21.0.4+7-LTS "
    "Java/21.0.4 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/adaptive",
    "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.64.0 "
    "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.4 ua/2.0 os/linux lang/go#1.22.5",
    "aws-sdk-js/3.637.0 ua/2.1 os/linux#6.1.102 lang/js md/nodejs#20.17.0 api/{service}#3.637.0",
    "python-requests/2.32.3",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36",
)
CONSOLE_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 "
    "Safari/537.36 Edg/128.0.0.0",
)
_WORDS = (
    "atlas",
    "birch",
    "cobalt",
    "delta",
    "ember",
    "fjord",
    "granite",
    "harbor",
    "indigo",
    "juniper",
    "kestrel",
    "lumen",
    "meridian",
    "nimbus",
    "orchid",
    "pylon",
    "quartz",
    "raven",
    "sierra",
    "tundra",
    "umber",
    "vertex",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
)
_KEY_CHARS = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Case:
    behaviour: str
    rule: str
    """The rule's ``name`` in the pack (the tests map it to the rule's id)."""
    hit: bool
    label: str
    build: Builder


CASES: list[Case] = []


def case(behaviour: str, rule: str, label: str, *, hit: bool = True) -> Callable[[Builder], Builder]:
    """Register a builder as a positive (``hit=True``) or near-miss event set for one rule."""

    def register(build: Builder) -> Builder:
        CASES.append(Case(behaviour, rule, hit, label, build))
        return build

    return register


def miss(behaviour: str, rule: str, label: str) -> Callable[[Builder], Builder]:
    return case(behaviour, rule, label, hit=False)


class Scene:
    """One account at one moment, every identifying value drawn from ``seed``."""

    def __init__(self, seed: str) -> None:
        self.rng = random.Random(seed)
        self.account = self.account_id()
        self.region = self.rng.choice(REGIONS)
        self.start = datetime(
            2026,
            self.rng.randint(1, 10),
            self.rng.randint(1, 28),
            self.rng.randint(0, 23),
            self.rng.randint(0, 59),
            tzinfo=UTC,
        )
        self.agent = self.rng.choice(USER_AGENTS).format(command=self.word(), service=self.word())
        self.ip = self.public_ip()

    # -- values ------------------------------------------------------------------------------------

    def word(self) -> str:
        return self.rng.choice(_WORDS)

    def name(self, prefix: str = "") -> str:
        """A resource or principal name such as ``ops-kestrel-4821``."""
        lead = f"{prefix}-" if prefix else ""
        return f"{lead}{self.word()}-{self.rng.randint(100, 9999)}"

    def account_id(self) -> str:
        return str(self.rng.randint(10**11, 10**12 - 1))

    def public_ip(self) -> str:
        first = self.rng.choice((24, 45, 62, 77, 81, 91, 102, 146, 185, 193, 203, 212))
        return ".".join(str(n) for n in (first, *(self.rng.randint(1, 254) for _ in range(3))))

    def key_id(self, prefix: str) -> str:
        return prefix + "".join(self.rng.choices(_KEY_CHARS, k=16))

    def hex_id(self, prefix: str, length: int = 17) -> str:
        return prefix + "".join(self.rng.choices("0123456789abcdef", k=length))

    def other_region(self) -> str:
        return self.rng.choice([r for r in REGIONS if r != self.region])

    def at(self, minutes: float) -> datetime:
        return self.start + timedelta(minutes=minutes)

    # -- identities --------------------------------------------------------------------------------

    def user(self, name: str | None = None) -> Record:
        return iam_user_identity(
            account_id=self.account,
            user_name=name or self.name("user"),
            principal_id=self.key_id("AIDA"),
            access_key_id=self.key_id("AKIA"),
        )

    def root(self, *, console: bool = False) -> Record:
        identity = root_identity(account_id=self.account, access_key_id=None if console else self.key_id("AKIA"))
        if console:
            identity["accessKeyId"] = ""
        return identity

    def role(
        self,
        role: str | None = None,
        session: str | None = None,
        *,
        web_identity: bool = False,
        invoked_by: str | None = None,
        mfa: bool = False,
    ) -> Record:
        """An assumed-role session (optionally from OIDC web identity, or an AWS service acting)."""
        role = role or self.name("role")
        session = session or self.name("session")
        role_id = self.key_id("AROA")
        federation: Record = {}
        if web_identity:
            federation = {
                "federatedProvider": f"arn:aws:iam::{self.account}:oidc-provider/token.actions.githubusercontent.com",
                "attributes": {},
            }
        identity: Record = {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{session}",
            "arn": f"arn:aws:sts::{self.account}:assumed-role/{role}/{session}",
            "accountId": self.account,
            "accessKeyId": self.key_id("ASIA"),
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role_id,
                    "arn": f"arn:aws:iam::{self.account}:role/{role}",
                    "accountId": self.account,
                    "userName": role,
                },
                "webIdFederationData": federation,
                "attributes": {
                    "creationDate": format_event_time(self.start - timedelta(minutes=self.rng.randint(1, 50))),
                    "mfaAuthenticated": "true" if mfa else "false",
                },
            },
        }
        if invoked_by:
            identity["invokedBy"] = invoked_by
        return identity

    def service_role(self, service: str, role: str) -> Record:
        """An AWS service acting through its service-linked role (autoscaling, backup, SSO...)."""
        identity = self.role(role, session=service.split(".", maxsplit=1)[0], invoked_by=service)
        issuer = identity["sessionContext"]["sessionIssuer"]
        issuer["arn"] = f"arn:aws:iam::{self.account}:role/aws-service-role/{service}/{role}"
        return identity

    # -- records -----------------------------------------------------------------------------------

    def call(
        self,
        source: str,
        name: str,
        who: Record,
        params: Record | None = None,
        *,
        response: Record | None = None,
        error: str | None = None,
        minutes: float = 0.0,
        region: str | None = None,
        agent: str | None = None,
        ip: str | None = None,
        read_only: bool | None = None,
    ) -> Record:
        """One API call of ``source`` (``iam``, ``ec2``... or a full ``x.amazonaws.com``)."""
        event_source = source if "." in source else f"{source}.amazonaws.com"
        record = cloudtrail_record(
            event_time=self.at(minutes),
            event_source=event_source,
            event_name=name,
            aws_region=region or ("us-east-1" if event_source in _GLOBAL_SOURCES else self.region),
            user_identity=who,
            source_ip=ip or self.ip,
            user_agent=agent or self.agent,
            request_parameters=params,
            response_elements=response,
            read_only=read_only,
            error_code=error,
            error_message=f"{error}: the request was refused" if error else None,
            event_id=_uuid(self.rng),
            request_id=_uuid(self.rng),
        )
        return record

    def console_login(self, who: Record, *, success: bool = True, mfa: bool = True, minutes: float = 0.0) -> Record:
        record = cloudtrail_record(
            event_time=self.at(minutes),
            event_source="signin.amazonaws.com",
            event_name="ConsoleLogin",
            aws_region="us-east-1",
            user_identity=who,
            source_ip=self.ip,
            user_agent=self.rng.choice(CONSOLE_AGENTS),
            request_parameters=None,
            response_elements={"ConsoleLogin": "Success" if success else "Failure"},
            additional_event_data={
                "LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB",
                "MobileVersion": "No",
                "MFAUsed": "Yes" if mfa else "No",
            },
            read_only=False,
            event_type="AwsConsoleSignIn",
            error_code=None if success else "Failed authentication",
            error_message=None if success else "Failed authentication",
            event_id=_uuid(self.rng),
        )
        record.pop("requestID", None)
        return record


_GLOBAL_SOURCES = {"iam.amazonaws.com", "organizations.amazonaws.com", "signin.amazonaws.com"}


def _uuid(rng: random.Random) -> str:
    hexes = "".join(rng.choices("0123456789abcdef", k=32))
    return f"{hexes[:8]}-{hexes[8:12]}-4{hexes[13:16]}-a{hexes[17:20]}-{hexes[20:]}"


def policy(*statements: Record, pretty: bool = False, sort: bool = False) -> str:
    """An IAM policy document as CloudTrail logs it (a JSON string), compact or pretty-printed."""
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    if pretty:
        return json.dumps(document, indent=4, sort_keys=sort)
    return json.dumps(document, separators=(",", ":"), sort_keys=sort)


def trust(principal: Any, *, condition: Record | None = None) -> Record:
    statement: Record = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return statement


# ==================================================================================================
# Console sign-in
# ==================================================================================================


@case("root_console_login", "aws_console_login_root", "root signs in with MFA")
def _root_login(s: Scene) -> list[Record]:
    return [s.console_login(s.root(console=True), mfa=True)]


@case("root_console_login", "aws_console_login_root", "root signs in without MFA")
def _root_login_no_mfa(s: Scene) -> list[Record]:
    return [s.console_login(s.root(console=True), mfa=False)]


@miss("root_console_login", "aws_console_login_root", "root sign-in fails")
@case("failed_console_login", "aws_console_login_failed", "root sign-in fails")
def _root_login_failed(s: Scene) -> list[Record]:
    return [s.console_login(s.root(console=True), success=False)]


@miss("root_console_login", "aws_console_login_root", "IAM user signs in")
@miss("console_login_without_mfa", "aws_console_login_without_mfa", "IAM user signs in with MFA")
@miss("failed_console_login", "aws_console_login_failed", "IAM user signs in with MFA")
def _user_login_mfa(s: Scene) -> list[Record]:
    return [s.console_login(s.user(), mfa=True)]


@case("console_login_without_mfa", "aws_console_login_without_mfa", "IAM user signs in with a password only")
def _user_login_no_mfa(s: Scene) -> list[Record]:
    return [s.console_login(s.user(), mfa=False)]


@miss("console_login_without_mfa", "aws_console_login_without_mfa", "federated (SSO) sign-in reports MFAUsed No")
def _federated_login(s: Scene) -> list[Record]:
    who = s.role(f"AWSReservedSSO_{s.word().title()}Access_{s.hex_id('', 16)}", s.name("person"))
    return [s.console_login(who, mfa=False)]


@miss("console_login_without_mfa", "aws_console_login_without_mfa", "IAM user federated through a SAML provider")
def _saml_user_login(s: Scene) -> list[Record]:
    record = s.console_login(s.user(), mfa=False)
    record["additionalEventData"]["SamlProviderArn"] = f"arn:aws:iam::{s.account}:saml-provider/{s.word().title()}"
    return [record]


@miss("console_login_without_mfa", "aws_console_login_without_mfa", "IAM user password refused")
@case("failed_console_login", "aws_console_login_failed", "IAM user password refused")
def _user_login_failed(s: Scene) -> list[Record]:
    return [s.console_login(s.user(), success=False, mfa=False)]


# ==================================================================================================
# IAM users, login profiles, access keys
# ==================================================================================================


@case("create_user", "aws_iam_create_user", "IAM user created")
def _create_user(s: Scene) -> list[Record]:
    name = s.name("svc")
    return [
        s.call(
            "iam",
            "CreateUser",
            s.user(),
            {"userName": name},
            response={
                "user": {
                    "userName": name,
                    "userId": s.key_id("AIDA"),
                    "path": "/",
                    "arn": f"arn:aws:iam::{s.account}:user/{name}",
                }
            },
        )
    ]


@miss("create_user", "aws_iam_create_user", "Identity Center directory user created")
def _identity_store_user(s: Scene) -> list[Record]:
    return [
        s.call(
            "identitystore",
            "CreateUser",
            s.role(),
            {"identityStoreId": s.hex_id("d-", 10), "userName": s.name("person")},
        )
    ]


@miss("create_user", "aws_iam_create_user", "IAM users listed")
def _list_users(s: Scene) -> list[Record]:
    return [s.call("iam", "ListUsers", s.user(), None), s.call("iam", "GetUser", s.role(), {"userName": s.name()})]


@case("create_login_profile", "aws_iam_create_login_profile", "console password given to a user")
def _create_login_profile(s: Scene) -> list[Record]:
    return [s.call("iam", "CreateLoginProfile", s.role(), {"userName": s.name("user"), "passwordResetRequired": False})]


@miss("create_login_profile", "aws_iam_create_login_profile", "login profile read")
def _get_login_profile(s: Scene) -> list[Record]:
    return [s.call("iam", "GetLoginProfile", s.user(), {"userName": s.name("user")})]


@case("update_login_profile", "aws_iam_update_login_profile", "another user's password replaced")
def _update_login_profile(s: Scene) -> list[Record]:
    return [s.call("iam", "UpdateLoginProfile", s.user(), {"userName": s.name("user")})]


@miss("update_login_profile", "aws_iam_update_login_profile", "user changes own password")
def _change_password(s: Scene) -> list[Record]:
    return [s.call("iam", "ChangePassword", s.user(), None)]


@case("access_key_for_other_user", "aws_iam_create_access_key_other_user", "user creates a key for another user")
def _key_for_other(s: Scene) -> list[Record]:
    target = s.name("user")
    return [
        s.call(
            "iam",
            "CreateAccessKey",
            s.user(),
            {"userName": target},
            response={"accessKey": {"userName": target, "accessKeyId": s.key_id("AKIA"), "status": "Active"}},
        )
    ]


@case("access_key_for_other_user", "aws_iam_create_access_key_other_user", "root creates a key for a user")
@miss("access_key_for_other_user", "aws_iam_create_root_access_key", "root creates a key for a user")
def _root_key_for_user(s: Scene) -> list[Record]:
    return [s.call("iam", "CreateAccessKey", s.root(), {"userName": s.name("user")})]


@case("access_key_for_other_user", "aws_iam_create_access_key_other_user", "role creates a key for a user")
def _role_key_for_user(s: Scene) -> list[Record]:
    return [s.call("iam", "CreateAccessKey", s.role(), {"userName": s.name("user")})]


@miss("access_key_for_other_user", "aws_iam_create_access_key_other_user", "user names self")
@miss("access_key_for_other_user", "aws_iam_create_root_access_key", "user names self")
def _own_key_named(s: Scene) -> list[Record]:
    who = s.user()
    return [s.call("iam", "CreateAccessKey", who, {"userName": who["userName"]})]


@miss("access_key_for_other_user", "aws_iam_create_access_key_other_user", "user rotates own key")
@miss("access_key_for_other_user", "aws_iam_create_root_access_key", "user rotates own key")
def _own_key(s: Scene) -> list[Record]:
    return [s.call("iam", "CreateAccessKey", s.user(), None)]


@case("access_key_for_other_user", "aws_iam_create_root_access_key", "root creates its own key")
@miss("access_key_for_other_user", "aws_iam_create_access_key_other_user", "root creates its own key")
def _root_own_key(s: Scene) -> list[Record]:
    return [s.call("iam", "CreateAccessKey", s.root(console=True), None, agent="console.amazonaws.com")]


# ==================================================================================================
# Managed and inline admin policies, policy versions, the quarantine policy
# ==================================================================================================


def _attach(s: Scene, event: str, policy_arn: str, who: Record | None = None) -> Record:
    target = {"AttachUserPolicy": "userName", "AttachRolePolicy": "roleName", "AttachGroupPolicy": "groupName"}[event]
    return s.call("iam", event, who or s.user(), {target: s.name(), "policyArn": policy_arn})


@case("admin_managed_policy", "aws_iam_attach_admin_policy", "AdministratorAccess to a user")
def _attach_admin_user(s: Scene) -> list[Record]:
    return [_attach(s, "AttachUserPolicy", "arn:aws:iam::aws:policy/AdministratorAccess")]


@case("admin_managed_policy", "aws_iam_attach_admin_policy", "IAMFullAccess to a role")
def _attach_iam_full_role(s: Scene) -> list[Record]:
    return [_attach(s, "AttachRolePolicy", "arn:aws:iam::aws:policy/IAMFullAccess", s.role())]


@case("admin_managed_policy", "aws_iam_attach_admin_policy", "AdministratorAccess to a group, failed")
def _attach_admin_group(s: Scene) -> list[Record]:
    record = _attach(s, "AttachGroupPolicy", "arn:aws:iam::aws:policy/AdministratorAccess")
    record["errorCode"] = "AccessDenied"
    return [record]


@miss("admin_managed_policy", "aws_iam_attach_admin_policy", "ReadOnlyAccess")
@miss("admin_managed_policy", "aws_iam_attach_poweruser_policy", "ReadOnlyAccess")
def _attach_read_only(s: Scene) -> list[Record]:
    return [_attach(s, "AttachUserPolicy", "arn:aws:iam::aws:policy/ReadOnlyAccess")]


@miss("admin_managed_policy", "aws_iam_attach_admin_policy", "Terraform attaches a service policy")
def _attach_service_policy(s: Scene) -> list[Record]:
    policy_arn = s.rng.choice(
        (
            "service-role/AWSLambdaBasicExecutionRole",
            "AmazonSSMManagedInstanceCore",
            "service-role/AmazonECSTaskExecutionRolePolicy",
        )
    )
    return [_attach(s, "AttachRolePolicy", f"arn:aws:iam::aws:policy/{policy_arn}", s.role(web_identity=True))]


@miss("admin_managed_policy", "aws_iam_attach_admin_policy", "AdministratorAccess-Amplify is not full admin")
def _attach_amplify(s: Scene) -> list[Record]:
    return [_attach(s, "AttachRolePolicy", "arn:aws:iam::aws:policy/AdministratorAccess-Amplify")]


@miss("admin_managed_policy", "aws_iam_attach_admin_policy", "Identity Center provisions a permission set")
def _sso_provisioning(s: Scene) -> list[Record]:
    who = s.service_role("sso.amazonaws.com", "AWSServiceRoleForSSO")
    role = f"AWSReservedSSO_AdministratorAccess_{s.hex_id('', 16)}"
    return [
        s.call(
            "iam",
            "AttachRolePolicy",
            who,
            {"roleName": role, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
            agent="sso.amazonaws.com",
            ip="sso.amazonaws.com",
        )
    ]


@case("admin_managed_policy", "aws_iam_attach_poweruser_policy", "PowerUserAccess to a group")
def _attach_power_user(s: Scene) -> list[Record]:
    return [_attach(s, "AttachGroupPolicy", "arn:aws:iam::aws:policy/PowerUserAccess")]


@case("compromised_key_quarantine", "aws_iam_compromised_key_quarantine", "AWS quarantines a leaked key (V3)")
@miss("admin_managed_policy", "aws_iam_attach_admin_policy", "AWS quarantine policy")
def _quarantine(s: Scene) -> list[Record]:
    version = s.rng.choice(("", "V2", "V3"))
    who = s.role("AWSSupportQuarantine", s.name("aws-internal"))
    return [
        s.call(
            "iam",
            "AttachUserPolicy",
            who,
            {"userName": s.name("ci"), "policyArn": f"arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine{version}"},
            agent="AWS Internal",
            ip="AWS Internal",
        )
    ]


@miss("compromised_key_quarantine", "aws_iam_compromised_key_quarantine", "a deny-all inline policy")
@miss("admin_inline_policy", "aws_iam_inline_admin_policy", "a deny-all inline policy")
def _deny_all_inline(s: Scene) -> list[Record]:
    document = policy({"Sid": "DenyAll", "Effect": "Deny", "Action": ["*"], "Resource": ["*"]}, pretty=True)
    return [
        s.call(
            "iam",
            "PutUserPolicy",
            s.role(),
            {"userName": s.name("user"), "policyName": "DenyAll", "policyDocument": document},
        )
    ]


@case("admin_inline_policy", "aws_iam_inline_admin_policy", "compact Action * on a user")
def _inline_star_user(s: Scene) -> list[Record]:
    document = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    return [
        s.call(
            "iam",
            "PutUserPolicy",
            s.user(),
            {"userName": s.name(), "policyName": s.name("p"), "policyDocument": document},
        )
    ]


@case("admin_inline_policy", "aws_iam_inline_admin_policy", "pretty iam:* in a list on a role")
def _inline_iam_role(s: Scene) -> list[Record]:
    document = policy(
        {"Sid": "Ops", "Effect": "Allow", "Action": ["s3:GetObject", "iam:*"], "Resource": "*"}, pretty=True
    )
    return [
        s.call(
            "iam",
            "PutRolePolicy",
            s.role(),
            {"roleName": s.name(), "policyName": s.name("p"), "policyDocument": document},
        )
    ]


@case("admin_inline_policy", "aws_iam_inline_admin_policy", "sorted keys with a Condition before Effect")
def _inline_sorted_group(s: Scene) -> list[Record]:
    document = policy(
        {
            "Effect": "Allow",
            "Action": ["*"],
            "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        },
        sort=True,
    )
    return [
        s.call(
            "iam",
            "PutGroupPolicy",
            s.user(),
            {"groupName": s.name(), "policyName": s.name("p"), "policyDocument": document},
        )
    ]


@miss("admin_inline_policy", "aws_iam_inline_admin_policy", "service wildcards only")
def _inline_service_wildcards(s: Scene) -> list[Record]:
    document = policy(
        {"Effect": "Allow", "Action": ["s3:*", "logs:*", "iam:PassRole", "iam:Get*"], "Resource": "*"}, pretty=True
    )
    return [
        s.call(
            "iam",
            "PutRolePolicy",
            s.role(web_identity=True),
            {"roleName": s.name(), "policyName": s.name("p"), "policyDocument": document},
        )
    ]


@miss("admin_inline_policy", "aws_iam_inline_admin_policy", "iam:* denied, something else allowed")
def _inline_deny_iam(s: Scene) -> list[Record]:
    document = policy(
        {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
    )
    return [
        s.call(
            "iam",
            "PutUserPolicy",
            s.user(),
            {"userName": s.name(), "policyName": s.name("p"), "policyDocument": document},
        )
    ]


def _policy_version(s: Scene, document: str, default: bool) -> Record:
    return s.call(
        "iam",
        "CreatePolicyVersion",
        s.user(),
        {
            "policyArn": f"arn:aws:iam::{s.account}:policy/{s.name('pol')}",
            "policyDocument": document,
            "setAsDefault": default,
        },
    )


@case("create_policy_version", "aws_iam_create_policy_version_admin", "admin version made default")
@case("create_policy_version", "aws_iam_create_policy_version_default", "admin version made default")
def _version_admin_default(s: Scene) -> list[Record]:
    return [_policy_version(s, policy({"Effect": "Allow", "Action": "*", "Resource": "*"}, pretty=True), True)]


@case("create_policy_version", "aws_iam_create_policy_version_default", "ordinary version made default")
@miss("create_policy_version", "aws_iam_create_policy_version_admin", "ordinary version made default")
@miss("create_policy_version", "aws_iam_policy_version_change", "ordinary version made default")
def _version_default(s: Scene) -> list[Record]:
    return [_policy_version(s, policy({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}), True)]


@case("create_policy_version", "aws_iam_policy_version_change", "admin version kept non-default")
@miss("create_policy_version", "aws_iam_create_policy_version_admin", "admin version kept non-default")
def _version_admin_not_default(s: Scene) -> list[Record]:
    return [_policy_version(s, policy({"Effect": "Allow", "Action": "*", "Resource": "*"}), False)]


@case("create_policy_version", "aws_iam_policy_version_change", "default version switched")
def _set_default_version(s: Scene) -> list[Record]:
    return [
        s.call(
            "iam",
            "SetDefaultPolicyVersion",
            s.user(),
            {"policyArn": f"arn:aws:iam::{s.account}:policy/{s.name('pol')}", "versionId": "v1"},
        )
    ]


# ==================================================================================================
# Role trust, groups, Roles Anywhere, STS tokens
# ==================================================================================================


def _create_role(s: Scene, document: str) -> Record:
    return s.call("iam", "CreateRole", s.role(), {"roleName": s.name("role"), "assumeRolePolicyDocument": document})


def _update_trust(s: Scene, document: str) -> Record:
    return s.call("iam", "UpdateAssumeRolePolicy", s.user(), {"roleName": s.name("role"), "policyDocument": document})


@case("role_trust", "aws_iam_role_trust_any_principal", "CreateRole trusting AWS *")
@miss("role_trust", "aws_iam_role_trust_aws_principal", "CreateRole trusting AWS *")
def _trust_aws_star(s: Scene) -> list[Record]:
    return [_create_role(s, policy(trust({"AWS": "*"})))]


@case("role_trust", "aws_iam_role_trust_any_principal", "UpdateAssumeRolePolicy with Principal *")
def _trust_star(s: Scene) -> list[Record]:
    return [_update_trust(s, policy(trust("*", condition={"StringEquals": {"sts:ExternalId": s.name()}}), pretty=True))]


@case("role_trust", "aws_iam_role_trust_aws_principal", "CreateRole trusting another account")
@miss("role_trust", "aws_iam_role_trust_any_principal", "CreateRole trusting another account")
def _trust_account(s: Scene) -> list[Record]:
    return [_create_role(s, policy(trust({"AWS": f"arn:aws:iam::{s.account_id()}:root"}), pretty=True))]


@case("role_trust", "aws_iam_role_trust_aws_principal", "trust updated to a service and a role")
def _trust_mixed(s: Scene) -> list[Record]:
    principal = {"Service": "ec2.amazonaws.com", "AWS": [f"arn:aws:iam::{s.account_id()}:role/{s.name()}"]}
    return [_update_trust(s, policy(trust(principal)))]


@miss("role_trust", "aws_iam_role_trust_any_principal", "Lambda service role")
@miss("role_trust", "aws_iam_role_trust_aws_principal", "Lambda service role")
def _trust_service(s: Scene) -> list[Record]:
    return [_create_role(s, policy(trust({"Service": "lambda.amazonaws.com"}), pretty=s.rng.random() < 0.5))]


@miss("role_trust", "aws_iam_role_trust_any_principal", "GitHub OIDC role")
@miss("role_trust", "aws_iam_role_trust_aws_principal", "GitHub OIDC role")
def _trust_oidc(s: Scene) -> list[Record]:
    statement = {
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{s.account}:oidc-provider/token.actions.githubusercontent.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": f"repo:{s.word()}/{s.word()}:*"}},
    }
    return [_create_role(s, policy(statement, sort=True))]


@case("add_user_to_group", "aws_iam_add_user_to_admin_group", "user added to Admins")
@miss("add_user_to_group", "aws_iam_add_user_to_group", "user added to Admins")
def _admin_group(s: Scene) -> list[Record]:
    group = s.rng.choice(("Admins", "platform-administrators", "AWSAdmin", f"{s.word()}-admin"))
    return [s.call("iam", "AddUserToGroup", s.user(), {"groupName": group, "userName": s.name("user")})]


@case("add_user_to_group", "aws_iam_add_user_to_group", "user added to developers")
@miss("add_user_to_group", "aws_iam_add_user_to_admin_group", "user added to developers")
def _plain_group(s: Scene) -> list[Record]:
    return [s.call("iam", "AddUserToGroup", s.user(), {"groupName": s.name("developers"), "userName": s.name("user")})]


@miss("add_user_to_group", "aws_iam_add_user_to_admin_group", "user removed from Admins")
def _remove_from_admin(s: Scene) -> list[Record]:
    return [s.call("iam", "RemoveUserFromGroup", s.user(), {"groupName": "Admins", "userName": s.name("user")})]


@case("roles_anywhere", "aws_rolesanywhere_trust_anchor", "trust anchor created")
def _trust_anchor(s: Scene) -> list[Record]:
    return [
        s.call(
            "rolesanywhere",
            "CreateTrustAnchor",
            s.user(),
            {
                "name": s.name("anchor"),
                "enabled": True,
                "source": {"sourceType": "CERTIFICATE_BUNDLE", "sourceData": {"x509CertificateData": "-----BEGIN"}},
            },
        )
    ]


@case("roles_anywhere", "aws_rolesanywhere_trust_anchor", "trust anchor updated")
def _trust_anchor_update(s: Scene) -> list[Record]:
    return [s.call("rolesanywhere", "UpdateTrustAnchor", s.role(), {"trustAnchorId": _uuid(s.rng)})]


@case("roles_anywhere", "aws_rolesanywhere_profile", "profile created")
def _ra_profile(s: Scene) -> list[Record]:
    return [
        s.call(
            "rolesanywhere",
            "CreateProfile",
            s.user(),
            {"name": s.name("profile"), "roleArns": [f"arn:aws:iam::{s.account}:role/{s.name()}"]},
        )
    ]


@miss("roles_anywhere", "aws_rolesanywhere_trust_anchor", "anchors and profiles listed")
@miss("roles_anywhere", "aws_rolesanywhere_profile", "anchors and profiles listed")
def _ra_list(s: Scene) -> list[Record]:
    who = s.user()
    return [s.call("rolesanywhere", "ListTrustAnchors", who, None), s.call("rolesanywhere", "ListProfiles", who, None)]


@case("federation_session_tokens", "aws_sts_get_federation_token_iam_user", "IAM user mints a federation token")
def _federation_token(s: Scene) -> list[Record]:
    return [s.call("sts", "GetFederationToken", s.user(), {"name": s.word(), "durationSeconds": 129600})]


@miss("federation_session_tokens", "aws_sts_get_federation_token_iam_user", "IAM user assumes a role")
@miss("federation_session_tokens", "aws_sts_get_session_token_iam_user", "IAM user assumes a role")
def _assume_role(s: Scene) -> list[Record]:
    return [
        s.call(
            "sts",
            "AssumeRole",
            s.user(),
            {"roleArn": f"arn:aws:iam::{s.account}:role/{s.name()}", "roleSessionName": s.name()},
        )
    ]


@case("federation_session_tokens", "aws_sts_get_session_token_iam_user", "IAM user takes an MFA session")
def _session_token(s: Scene) -> list[Record]:
    return [s.call("sts", "GetSessionToken", s.user(), {"durationSeconds": 43200})]


@miss("federation_session_tokens", "aws_sts_get_session_token_iam_user", "root takes a session token")
def _root_session_token(s: Scene) -> list[Record]:
    return [s.call("sts", "GetSessionToken", s.root(), None)]


# ==================================================================================================
# Logging and detection tampering
# ==================================================================================================


def _trail(s: Scene) -> str:
    return s.name("trail")


@case("cloudtrail_tampering", "aws_cloudtrail_stop_logging", "trail stopped")
def _stop_logging(s: Scene) -> list[Record]:
    return [s.call("cloudtrail", "StopLogging", s.user(), {"name": _trail(s)})]


@miss("cloudtrail_tampering", "aws_cloudtrail_stop_logging", "trail started")
@miss("cloudtrail_tampering", "aws_cloudtrail_delete_trail", "trail started")
def _start_logging(s: Scene) -> list[Record]:
    return [s.call("cloudtrail", "StartLogging", s.user(), {"name": _trail(s)})]


@case("cloudtrail_tampering", "aws_cloudtrail_delete_trail", "trail deleted")
def _delete_trail(s: Scene) -> list[Record]:
    return [
        s.call("cloudtrail", "DeleteTrail", s.role(), {"name": f"arn:aws:cloudtrail:{s.region}:{s.account}:trail/x"})
    ]


@case("cloudtrail_tampering", "aws_cloudtrail_update_trail", "trail redirected")
def _update_trail(s: Scene) -> list[Record]:
    return [
        s.call(
            "cloudtrail",
            "UpdateTrail",
            s.user(),
            {"name": _trail(s), "s3BucketName": s.name("bucket"), "isMultiRegionTrail": False},
        )
    ]


@miss("cloudtrail_tampering", "aws_cloudtrail_update_trail", "trail status read")
def _trail_status(s: Scene) -> list[Record]:
    who = s.user()
    return [
        s.call("cloudtrail", "GetTrailStatus", who, {"name": _trail(s)}),
        s.call("cloudtrail", "DescribeTrails", who, {"trailNameList": []}),
    ]


@case("cloudtrail_tampering", "aws_cloudtrail_event_selectors_exclude_management", "management events excluded")
@miss("cloudtrail_tampering", "aws_cloudtrail_selectors_changed", "management events excluded")
def _selectors_off(s: Scene) -> list[Record]:
    selectors = [
        {
            "readWriteType": "All",
            "includeManagementEvents": False,
            "dataResources": [{"type": "AWS::S3::Object", "values": []}],
            "excludeManagementEventSources": [],
        }
    ]
    return [s.call("cloudtrail", "PutEventSelectors", s.user(), {"trailName": _trail(s), "eventSelectors": selectors})]


@case("cloudtrail_tampering", "aws_cloudtrail_selectors_changed", "data events added")
@miss("cloudtrail_tampering", "aws_cloudtrail_event_selectors_exclude_management", "data events added")
def _selectors_on(s: Scene) -> list[Record]:
    selectors = [
        {
            "readWriteType": "All",
            "includeManagementEvents": True,
            "dataResources": [{"type": "AWS::Lambda::Function", "values": ["arn:aws:lambda"]}],
            "excludeManagementEventSources": [],
        }
    ]
    return [s.call("cloudtrail", "PutEventSelectors", s.user(), {"trailName": _trail(s), "eventSelectors": selectors})]


@case("cloudtrail_tampering", "aws_cloudtrail_selectors_changed", "insight selectors changed")
def _insight_selectors(s: Scene) -> list[Record]:
    return [s.call("cloudtrail", "PutInsightSelectors", s.user(), {"trailName": _trail(s), "insightSelectors": []})]


def _detector(s: Scene) -> str:
    return s.hex_id("", 32)


@case("guardduty_tampering", "aws_guardduty_delete_detector", "detector deleted")
def _gd_delete(s: Scene) -> list[Record]:
    return [s.call("guardduty", "DeleteDetector", s.user(), {"detectorId": _detector(s)}, region=s.other_region())]


@miss("guardduty_tampering", "aws_guardduty_delete_detector", "detector created")
@miss("guardduty_tampering", "aws_guardduty_disable_detector", "detector created")
def _gd_create(s: Scene) -> list[Record]:
    return [s.call("guardduty", "CreateDetector", s.user(), {"enable": True})]


@case("guardduty_tampering", "aws_guardduty_disable_detector", "detector disabled")
def _gd_disable(s: Scene) -> list[Record]:
    return [s.call("guardduty", "UpdateDetector", s.role(), {"detectorId": _detector(s), "enable": False})]


@miss("guardduty_tampering", "aws_guardduty_disable_detector", "publishing frequency changed")
def _gd_frequency(s: Scene) -> list[Record]:
    return [
        s.call(
            "guardduty",
            "UpdateDetector",
            s.role(),
            {"detectorId": _detector(s), "enable": True, "findingPublishingFrequency": "FIFTEEN_MINUTES"},
        )
    ]


@case("guardduty_tampering", "aws_guardduty_member_disassociation", "member leaves its administrator")
def _gd_leave_admin(s: Scene) -> list[Record]:
    event = s.rng.choice(("DisassociateFromAdministratorAccount", "DisassociateFromMasterAccount"))
    return [s.call("guardduty", event, s.user(), {"detectorId": _detector(s)})]


@miss("guardduty_tampering", "aws_guardduty_member_disassociation", "member accepts an invitation")
def _gd_accept(s: Scene) -> list[Record]:
    return [
        s.call(
            "guardduty",
            "AcceptAdministratorInvitation",
            s.user(),
            {"detectorId": _detector(s), "administratorId": s.account_id(), "invitationId": s.hex_id("", 32)},
        )
    ]


@case("guardduty_tampering", "aws_guardduty_members_removed", "administrator disassociates members")
@miss("guardduty_tampering", "aws_guardduty_member_disassociation", "administrator disassociates members")
def _gd_members(s: Scene) -> list[Record]:
    return [
        s.call(
            "guardduty",
            "DisassociateMembers",
            s.role(),
            {"detectorId": _detector(s), "accountIds": [s.account_id(), s.account_id()]},
        )
    ]


@case("guardduty_tampering", "aws_guardduty_trusted_ip_set", "trusted IP list created")
def _gd_ipset(s: Scene) -> list[Record]:
    return [
        s.call(
            "guardduty",
            "CreateIPSet",
            s.user(),
            {
                "detectorId": _detector(s),
                "name": s.name(),
                "format": "TXT",
                "activate": True,
                "location": f"https://{s.name('bucket')}.s3.amazonaws.com/ips.txt",
            },
        )
    ]


@miss("guardduty_tampering", "aws_guardduty_trusted_ip_set", "threat list created")
def _gd_threat_list(s: Scene) -> list[Record]:
    return [
        s.call(
            "guardduty",
            "CreateThreatIntelSet",
            s.user(),
            {"detectorId": _detector(s), "name": s.name(), "format": "TXT", "activate": True},
        )
    ]


@case("guardduty_tampering", "aws_guardduty_suppression_filter", "suppression rule archives findings")
def _gd_archive(s: Scene) -> list[Record]:
    return [
        s.call(
            "guardduty",
            "CreateFilter",
            s.user(),
            {
                "detectorId": _detector(s),
                "name": s.name(),
                "action": "ARCHIVE",
                "findingCriteria": {"criterion": {"severity": {"gte": 1}}},
            },
        )
    ]


@miss("guardduty_tampering", "aws_guardduty_suppression_filter", "saved filter without action")
def _gd_noop_filter(s: Scene) -> list[Record]:
    return [
        s.call(
            "guardduty",
            "CreateFilter",
            s.user(),
            {"detectorId": _detector(s), "name": s.name(), "action": "NOOP", "findingCriteria": {}},
        )
    ]


@case("flow_logs_deleted", "aws_ec2_delete_flow_logs", "flow logs deleted")
def _delete_flow_logs(s: Scene) -> list[Record]:
    params = {"DeleteFlowLogsRequest": {"FlowLogId": {"content": s.hex_id("fl-"), "tag": 1}}}
    return [s.call("ec2", "DeleteFlowLogs", s.role(), params)]


@miss("flow_logs_deleted", "aws_ec2_delete_flow_logs", "flow logs created")
def _create_flow_logs(s: Scene) -> list[Record]:
    params = {
        "CreateFlowLogsRequest": {
            "ResourceId": {"content": s.hex_id("vpc-"), "tag": 1},
            "TrafficType": "ALL",
            "ResourceType": "VPC",
        }
    }
    return [s.call("ec2", "CreateFlowLogs", s.role(), params)]


@case("config_stopped", "aws_config_recorder_stopped", "recorder stopped or deleted")
def _config_stop(s: Scene) -> list[Record]:
    event = s.rng.choice(("StopConfigurationRecorder", "DeleteConfigurationRecorder"))
    return [s.call("config", event, s.user(), {"configurationRecorderName": "default"})]


@miss("config_stopped", "aws_config_recorder_stopped", "recorder started")
def _config_start(s: Scene) -> list[Record]:
    return [s.call("config", "StartConfigurationRecorder", s.user(), {"configurationRecorderName": "default"})]


@case("config_stopped", "aws_config_delivery_channel_deleted", "delivery channel deleted")
def _config_channel(s: Scene) -> list[Record]:
    return [s.call("config", "DeleteDeliveryChannel", s.role(), {"deliveryChannelName": "default"})]


@miss("config_stopped", "aws_config_delivery_channel_deleted", "delivery channel updated")
def _config_channel_put(s: Scene) -> list[Record]:
    return [
        s.call(
            "config",
            "PutDeliveryChannel",
            s.role(),
            {"deliveryChannel": {"name": "default", "s3BucketName": s.name("bucket")}},
        )
    ]


# ==================================================================================================
# Compute: unusual instance types, spot, failed-launch bursts
# ==================================================================================================


def _run(
    s: Scene,
    instance_type: str,
    *,
    who: Record | None = None,
    error: str | None = None,
    minutes: float = 0.0,
    region: str | None = None,
    market: str | None = None,
) -> Record:
    params: Record = {
        "instancesSet": {"items": [{"imageId": s.hex_id("ami-"), "minCount": 1, "maxCount": s.rng.randint(1, 10)}]},
        "instanceType": instance_type,
        "blockDeviceMapping": {"items": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 30, "volumeType": "gp3"}}]},
        "monitoring": {"enabled": False},
        "disableApiTermination": False,
        "disableApiStop": False,
        "subnetId": s.hex_id("subnet-"),
    }
    if market:
        params["instanceMarketOptions"] = {"marketType": market, "spotOptions": {"spotInstanceType": "one-time"}}
    return s.call("ec2", "RunInstances", who or s.user(), params, error=error, minutes=minutes, region=region)


@case("gpu_large_instances", "aws_ec2_gpu_instances", "GPU RunInstances")
@miss("gpu_large_instances", "aws_ec2_large_instances", "GPU RunInstances")
def _run_gpu(s: Scene) -> list[Record]:
    kind = s.rng.choice(
        (
            "p3.2xlarge",
            "p4d.24xlarge",
            "p5.48xlarge",
            "g4dn.xlarge",
            "g5.12xlarge",
            "g6e.xlarge",
            "gr6.4xlarge",
            "trn1.32xlarge",
            "inf2.xlarge",
            "dl1.24xlarge",
            "vt1.3xlarge",
            "f1.2xlarge",
        )
    )
    return [_run(s, kind)]


@case("gpu_large_instances", "aws_ec2_gpu_instances", "GPU RunInstances refused")
def _run_gpu_failed(s: Scene) -> list[Record]:
    return [
        _run(
            s,
            s.rng.choice(("p2.xlarge", "g3s.xlarge", "p3dn.24xlarge")),
            who=s.role(),
            error=s.rng.choice(("Client.UnauthorizedOperation", "Client.VcpuLimitExceeded")),
        )
    ]


@case("gpu_large_instances", "aws_ec2_gpu_instances", "GPU spot instances")
def _spot_gpu(s: Scene) -> list[Record]:
    params = {
        "spotPrice": "3.00",
        "instanceCount": 4,
        "type": "one-time",
        "launchSpecification": {
            "imageId": s.hex_id("ami-"),
            "instanceType": s.rng.choice(("g4dn.12xlarge", "p3.8xlarge")),
        },
    }
    return [s.call("ec2", "RequestSpotInstances", s.user(), params)]


@case("gpu_large_instances", "aws_ec2_gpu_instances", "GPU spot fleet")
def _spot_fleet_gpu(s: Scene) -> list[Record]:
    config = {
        "iamFleetRole": f"arn:aws:iam::{s.account}:role/{s.name()}",
        "targetCapacity": 20,
        "launchSpecifications": {
            "items": [
                {"imageId": s.hex_id("ami-"), "instanceType": "c5.large"},
                {"imageId": s.hex_id("ami-"), "instanceType": "g5.2xlarge"},
            ]
        },
    }
    return [s.call("ec2", "RequestSpotFleet", s.user(), {"spotFleetRequestConfig": config})]


@case("gpu_large_instances", "aws_ec2_gpu_instances", "GPU fleet")
@case("spot_requests", "aws_ec2_spot_request", "GPU fleet")
def _fleet_gpu(s: Scene) -> list[Record]:
    request = {
        "CreateFleetRequest": {
            "TargetCapacitySpecification": {"DefaultTargetCapacityType": "spot", "TotalTargetCapacity": 8},
            "Type": "instant",
            "LaunchTemplateConfigs": {
                "LaunchTemplateSpecification": {"LaunchTemplateId": s.hex_id("lt-"), "Version": "$Latest"},
                "Overrides": [{"InstanceType": "g6.xlarge", "tag": 1}, {"InstanceType": "p4de.24xlarge", "tag": 2}],
                "tag": 1,
            },
            "ClientToken": _uuid(s.rng),
        }
    }
    return [s.call("ec2", "CreateFleet", s.user(), request)]


@miss("gpu_large_instances", "aws_ec2_gpu_instances", "general-purpose and Graviton types")
@miss("gpu_large_instances", "aws_ec2_large_instances", "general-purpose and Graviton types")
@miss("spot_requests", "aws_ec2_spot_request", "on-demand launches")
def _run_ordinary(s: Scene) -> list[Record]:
    kinds = (
        "t3.micro",
        "m6g.large",
        "r6gd.xlarge",
        "c7gn.2xlarge",
        "m5.12xlarge",
        "t3.2xlarge",
        "im4gn.large",
        "r5.16xlarge",
        "c6i.4xlarge",
    )
    return [_run(s, kind, minutes=i) for i, kind in enumerate(kinds)]


@case("gpu_large_instances", "aws_ec2_large_instances", "very large or bare-metal types")
def _run_large(s: Scene) -> list[Record]:
    kind = s.rng.choice(
        (
            "m5.24xlarge",
            "c5.metal",
            "x2iedn.32xlarge",
            "u-6tb1.112xlarge",
            "r7i.48xlarge",
            "x1e.xlarge",
            "c6a.metal-48xl",
        )
    )
    return [_run(s, kind)]


@case("spot_requests", "aws_ec2_spot_request", "spot instances requested")
def _spot(s: Scene) -> list[Record]:
    params = {
        "instanceCount": 1,
        "type": "one-time",
        "launchSpecification": {"imageId": s.hex_id("ami-"), "instanceType": "t3.small"},
    }
    return [s.call("ec2", "RequestSpotInstances", s.user(), params)]


@case("spot_requests", "aws_ec2_spot_request", "spot RunInstances")
def _run_spot(s: Scene) -> list[Record]:
    return [_run(s, "c6i.large", market="spot")]


@miss("spot_requests", "aws_ec2_spot_request", "on-demand fleet")
def _fleet_on_demand(s: Scene) -> list[Record]:
    request = {
        "CreateFleetRequest": {
            "TargetCapacitySpecification": {"DefaultTargetCapacityType": "on-demand", "TotalTargetCapacity": 2},
            "Type": "instant",
            "LaunchTemplateConfigs": {"LaunchTemplateSpecification": {"LaunchTemplateId": "lt-1"}},
        }
    }
    return [
        s.call("ec2", "CreateFleet", s.user(), request),
        s.call("ec2", "DescribeSpotInstanceRequests", s.user(), {"spotInstanceRequestIdSet": {}}),
    ]


_LAUNCH_ERRORS = (
    "Client.UnauthorizedOperation",
    "Client.VcpuLimitExceeded",
    "Server.InsufficientInstanceCapacity",
    "Client.Unsupported",
    "Client.InstanceLimitExceeded",
)


def _failed_runs(
    s: Scene, count: int, spacing: float, *, same_key: bool = True, error: str | None = None
) -> list[Record]:
    who = s.user()
    records = []
    for i in range(count):
        caller = who if same_key else s.user()
        records.append(
            _run(
                s,
                s.rng.choice(("c5.4xlarge", "m5.2xlarge", "t3.large")),
                who=caller,
                error=error or s.rng.choice(_LAUNCH_ERRORS),
                minutes=i * spacing,
                region=s.rng.choice(REGIONS),
            )
        )
    return records


@case("failed_run_instances_burst", "aws_ec2_run_instances_failed_burst", "six failures in five minutes")
def _failed_burst(s: Scene) -> list[Record]:
    return _failed_runs(s, 6, 1.0)


@miss("failed_run_instances_burst", "aws_ec2_run_instances_failed_burst", "four failures")
def _failed_few(s: Scene) -> list[Record]:
    return _failed_runs(s, 4, 0.5)


@miss("failed_run_instances_burst", "aws_ec2_run_instances_failed_burst", "six failures over an hour")
def _failed_spread(s: Scene) -> list[Record]:
    return _failed_runs(s, 6, 12.0)


@miss("failed_run_instances_burst", "aws_ec2_run_instances_failed_burst", "six dry runs")
def _dry_runs(s: Scene) -> list[Record]:
    return _failed_runs(s, 6, 0.5, error="Client.DryRunOperation")


@miss("failed_run_instances_burst", "aws_ec2_run_instances_failed_burst", "autoscaling short of capacity")
def _autoscaling_capacity(s: Scene) -> list[Record]:
    who = s.service_role("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling")
    return [
        _run(s, "c6i.2xlarge", who=who, error="Server.InsufficientInstanceCapacity", minutes=i / 2)
        for i in range(8)
    ]


@miss("failed_run_instances_burst", "aws_ec2_run_instances_failed_burst", "six failures by six keys")
def _failed_many_keys(s: Scene) -> list[Record]:
    return _failed_runs(s, 6, 0.5, same_key=False)


# ==================================================================================================
# Sharing snapshots, images and database snapshots
# ==================================================================================================


def _snapshot_share(s: Scene, change: Record) -> Record:
    return s.call(
        "ec2",
        "ModifySnapshotAttribute",
        s.user(),
        {
            "snapshotId": s.hex_id("snap-"),
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": change,
        },
        response={"_return": True},
    )


@case("snapshot_ami_sharing", "aws_ec2_snapshot_shared", "snapshot shared with an account")
@miss("snapshot_ami_sharing", "aws_ec2_snapshot_public", "snapshot shared with an account")
def _snap_account(s: Scene) -> list[Record]:
    return [_snapshot_share(s, {"add": {"items": [{"userId": s.account_id()}]}})]


@case("snapshot_ami_sharing", "aws_ec2_snapshot_public", "snapshot made public")
def _snap_public(s: Scene) -> list[Record]:
    return [_snapshot_share(s, {"add": {"items": [{"group": "all"}]}})]


@miss("snapshot_ami_sharing", "aws_ec2_snapshot_shared", "snapshot share removed")
@miss("snapshot_ami_sharing", "aws_ec2_snapshot_public", "snapshot share removed")
def _snap_remove(s: Scene) -> list[Record]:
    return [
        _snapshot_share(s, {"remove": {"items": [{"userId": s.account_id()}, {"group": "all"}]}}),
        _snapshot_share(s, {"add": {"items": []}}),
    ]


def _image_share(s: Scene, change: Record) -> Record:
    return s.call(
        "ec2",
        "ModifyImageAttribute",
        s.role(),
        {"imageId": s.hex_id("ami-"), "attributeType": "launchPermission", "launchPermission": change},
        response={"_return": True},
    )


@case("snapshot_ami_sharing", "aws_ec2_image_public", "AMI made public")
def _ami_public(s: Scene) -> list[Record]:
    return [_image_share(s, {"add": {"items": [{"group": "all"}]}})]


@case("snapshot_ami_sharing", "aws_ec2_image_shared", "AMI shared with an account")
@miss("snapshot_ami_sharing", "aws_ec2_image_public", "AMI shared with an account")
def _ami_account(s: Scene) -> list[Record]:
    return [_image_share(s, {"add": {"items": [{"userId": s.account_id()}]}})]


@miss("snapshot_ami_sharing", "aws_ec2_image_shared", "AMI shared with the organisation, or unshared")
@miss("snapshot_ami_sharing", "aws_ec2_image_public", "AMI shared with the organisation, or unshared")
def _ami_org(s: Scene) -> list[Record]:
    org = f"arn:aws:organizations::{s.account_id()}:organization/o-{s.hex_id('', 10)}"
    return [
        _image_share(s, {"add": {"items": [{"organizationArn": org}]}}),
        _image_share(s, {"remove": {"items": [{"group": "all"}]}}),
    ]


def _db_share(s: Scene, add: list[str], remove: list[str] | None = None, *, cluster: bool = False) -> Record:
    if cluster:
        name, key = "ModifyDBClusterSnapshotAttribute", "dBClusterSnapshotIdentifier"
    else:
        name, key = "ModifyDBSnapshotAttribute", "dBSnapshotIdentifier"
    params: Record = {key: s.name("snap"), "attributeName": "restore", "valuesToAdd": add}
    if remove is not None:
        params["valuesToRemove"] = remove
    return s.call("rds", name, s.user(), params)


@case("db_snapshot_sharing", "aws_rds_snapshot_shared", "DB snapshot shared with an account")
@miss("db_snapshot_sharing", "aws_rds_snapshot_public", "DB snapshot shared with an account")
def _db_account(s: Scene) -> list[Record]:
    return [_db_share(s, [s.account_id()], cluster=s.rng.random() < 0.5)]


@case("db_snapshot_sharing", "aws_rds_snapshot_public", "DB cluster snapshot made public")
def _db_public(s: Scene) -> list[Record]:
    return [_db_share(s, ["all"], cluster=True)]


@miss("db_snapshot_sharing", "aws_rds_snapshot_shared", "DB snapshot unshared")
@miss("db_snapshot_sharing", "aws_rds_snapshot_public", "DB snapshot unshared")
def _db_unshare(s: Scene) -> list[Record]:
    return [_db_share(s, [], [s.account_id(), "all"])]


# ==================================================================================================
# S3 made public
# ==================================================================================================


def _bucket_policy(s: Scene, *statements: Record) -> Record:
    bucket = s.name("bucket")
    return s.call(
        "s3",
        "PutBucketPolicy",
        s.user(),
        {
            "bucketName": bucket,
            "Host": f"{bucket}.s3.{s.region}.amazonaws.com",
            "policy": [""],
            "bucketPolicy": {"Version": "2012-10-17", "Statement": list(statements)},
        },
    )


def _tls_only(bucket: str = "*") -> Record:
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


@case("s3_bucket_policy_public", "aws_s3_bucket_policy_public", "Principal * reads objects")
@miss("s3_bucket_policy_public", "aws_s3_bucket_policy_any_principal_scoped", "Principal * reads objects")
def _policy_public(s: Scene) -> list[Record]:
    return [
        _bucket_policy(
            s,
            _tls_only(),
            {
                "Sid": "Public",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::x/*",
            },
        )
    ]


@case("s3_bucket_policy_public", "aws_s3_bucket_policy_public", "AWS * listed before Effect")
def _policy_public_aws(s: Scene) -> list[Record]:
    return [
        _bucket_policy(
            s,
            {
                "Principal": {"AWS": "*"},
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::x", "arn:aws:s3:::x/*"],
            },
        )
    ]


@miss("s3_bucket_policy_public", "aws_s3_bucket_policy_public", "TLS-only deny and CloudFront access")
@miss("s3_bucket_policy_public", "aws_s3_bucket_policy_any_principal_scoped", "TLS-only deny and CloudFront access")
def _policy_private(s: Scene) -> list[Record]:
    cloudfront = {
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::x/*",
        "Condition": {"StringEquals": {"AWS:SourceArn": f"arn:aws:cloudfront::{s.account}:distribution/E1"}},
    }
    return [_bucket_policy(s, _tls_only(), cloudfront)]


@case("s3_bucket_policy_public", "aws_s3_bucket_policy_any_principal_scoped", "Principal * for the organisation")
@miss("s3_bucket_policy_public", "aws_s3_bucket_policy_public", "Principal * for the organisation")
def _policy_org(s: Scene) -> list[Record]:
    return [
        _bucket_policy(
            s,
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": f"o-{s.hex_id('', 10)}"}},
            },
        )
    ]


def _acl(s: Scene, extra: Record, event: str = "PutBucketAcl") -> Record:
    bucket = s.name("bucket")
    params: Record = {"bucketName": bucket, "Host": f"{bucket}.s3.{s.region}.amazonaws.com", "acl": [""]}
    if event == "PutObjectAcl":
        params["key"] = f"{s.word()}/{s.name()}.csv"
    params.update(extra)
    return s.call("s3", event, s.role(), params)


def _grants(*uris: str) -> Record:
    grants = [
        {
            "Grantee": {
                "xsi:type": "CanonicalUser",
                "ID": "a" * 64,
                "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            },
            "Permission": "FULL_CONTROL",
        }
    ]
    grants += [
        {
            "Grantee": {"xsi:type": "Group", "URI": uri, "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance"},
            "Permission": "READ",
        }
        for uri in uris
    ]
    return {
        "AccessControlPolicy": {
            "AccessControlList": {"Grant": grants},
            "Owner": {"ID": "a" * 64},
            "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
        }
    }


@case("s3_acl_public", "aws_s3_acl_public", "grant to AllUsers")
def _acl_all_users(s: Scene) -> list[Record]:
    return [_acl(s, _grants("http://acs.amazonaws.com/groups/global/AllUsers"))]


@case("s3_acl_public", "aws_s3_acl_public", "canned public-read")
def _acl_canned(s: Scene) -> list[Record]:
    return [_acl(s, {"x-amz-acl": [s.rng.choice(("public-read", "public-read-write"))]})]


@case("s3_acl_public", "aws_s3_acl_public", "object readable by any AWS user")
def _acl_object(s: Scene) -> list[Record]:
    return [
        _acl(s, {"x-amz-grant-read": ["uri=http://acs.amazonaws.com/groups/global/AuthenticatedUsers"]}, "PutObjectAcl")
    ]


@miss("s3_acl_public", "aws_s3_acl_public", "private and log-delivery ACLs")
def _acl_private(s: Scene) -> list[Record]:
    return [
        _acl(s, {"x-amz-acl": ["private"]}),
        _acl(s, _grants("http://acs.amazonaws.com/groups/s3/LogDelivery")),
        _acl(s, {"x-amz-acl": ["bucket-owner-full-control"]}, "PutObjectAcl"),
    ]


@case("public_access_block_removed", "aws_s3_delete_bucket_public_access_block", "bucket block removed")
def _pab_bucket(s: Scene) -> list[Record]:
    bucket = s.name("bucket")
    return [
        s.call(
            "s3",
            "DeleteBucketPublicAccessBlock",
            s.role(),
            {"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com", "publicAccessBlock": ""},
        )
    ]


@case("public_access_block_removed", "aws_s3_delete_account_public_access_block", "account block removed")
def _pab_account(s: Scene) -> list[Record]:
    return [
        s.call(
            "s3",
            "DeleteAccountPublicAccessBlock",
            s.user(),
            {"Host": f"{s.account}.s3-control.{s.region}.amazonaws.com"},
        )
    ]


@miss("public_access_block_removed", "aws_s3_delete_bucket_public_access_block", "blocks set and read")
@miss("public_access_block_removed", "aws_s3_delete_account_public_access_block", "blocks set and read")
def _pab_put(s: Scene) -> list[Record]:
    bucket = s.name("bucket")
    block = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    return [
        s.call(
            "s3",
            "PutBucketPublicAccessBlock",
            s.role(),
            {"bucketName": bucket, "PublicAccessBlockConfiguration": block},
        ),
        s.call("s3", "GetAccountPublicAccessBlock", s.user(), None),
    ]


# ==================================================================================================
# Secrets, parameters, passwords, user data
# ==================================================================================================


def _secret_reads(
    s: Scene, names: list[str], spacing: float, *, who: Record | None = None, same_caller: bool = True
) -> list[Record]:
    caller = who or s.role()
    records = []
    for i, name in enumerate(names):
        secret = f"arn:aws:secretsmanager:{s.region}:{s.account}:secret:{name}-{s.hex_id('', 6)}"
        records.append(
            s.call(
                "secretsmanager",
                "GetSecretValue",
                caller if same_caller else s.role(),
                {"secretId": secret},
                minutes=i * spacing,
            )
        )
    return records


@case("secret_burst", "aws_secretsmanager_secret_burst", "twelve secrets in three minutes")
def _secret_burst(s: Scene) -> list[Record]:
    return _secret_reads(s, [s.name("prod") for _ in range(12)], 0.25, who=s.user())


@miss("secret_burst", "aws_secretsmanager_secret_burst", "an app reads the same two secrets every minute")
def _secret_app(s: Scene) -> list[Record]:
    who = s.role(session=s.hex_id("i-"))
    names = [f"arn:aws:secretsmanager:{s.region}:{s.account}:secret:{s.name('db')}-{s.hex_id('', 6)}" for _ in range(2)]
    return [
        s.call("secretsmanager", "GetSecretValue", who, {"secretId": names[i % 2]}, minutes=i / 2) for i in range(120)
    ]


@miss("secret_burst", "aws_secretsmanager_secret_burst", "twelve secrets, one every eleven minutes")
def _secret_spread(s: Scene) -> list[Record]:
    return _secret_reads(s, [s.name("prod") for _ in range(12)], 11.0)


@miss("secret_burst", "aws_secretsmanager_secret_burst", "twelve secrets by twelve principals")
def _secret_many_callers(s: Scene) -> list[Record]:
    return _secret_reads(s, [s.name("prod") for _ in range(12)], 0.2, same_caller=False)


@case("batch_get_secret_value", "aws_secretsmanager_batch_get_secret_value", "secrets read in bulk")
def _batch_secrets(s: Scene) -> list[Record]:
    return [
        s.call(
            "secretsmanager", "BatchGetSecretValue", s.user(), {"filters": [{"key": "tag-key", "values": [s.word()]}]}
        )
    ]


@miss("batch_get_secret_value", "aws_secretsmanager_batch_get_secret_value", "secrets listed and described")
def _list_secrets(s: Scene) -> list[Record]:
    who = s.user()
    return [
        s.call("secretsmanager", "ListSecrets", who, {"maxResults": 100}),
        s.call("secretsmanager", "DescribeSecret", who, {"secretId": s.name()}),
    ]


def _get_parameter(s: Scene, who: Record, name: str, minutes: float, decrypt: bool | None = True) -> Record:
    params: Record = {"name": name}
    if decrypt is not None:
        params["withDecryption"] = decrypt
    return s.call("ssm", "GetParameter", who, params, minutes=minutes)


@case("ssm_parameter_decryption", "aws_ssm_parameter_decrypted", "SecureString read")
@miss("ssm_parameter_decryption", "aws_ssm_parameter_decrypt_burst", "SecureString read")
@miss("ssm_parameter_decryption", "aws_ssm_parameter_bulk_decrypt", "SecureString read")
def _parameter_read(s: Scene) -> list[Record]:
    return [_get_parameter(s, s.role(), f"/{s.word()}/prod/{s.word()}", 0)]


@miss("ssm_parameter_decryption", "aws_ssm_parameter_decrypted", "String parameters read")
def _parameter_plain(s: Scene) -> list[Record]:
    who = s.role()
    return [
        _get_parameter(s, who, f"/{s.word()}/{s.word()}", 0, decrypt=False),
        _get_parameter(s, who, f"/{s.word()}/{s.word()}", 1, decrypt=None),
        s.call("ssm", "PutParameter", who, {"name": f"/{s.word()}", "type": "SecureString", "overwrite": True}),
    ]


@case("ssm_parameter_decryption", "aws_ssm_parameter_decrypt_burst", "twelve parameters decrypted in two minutes")
def _parameter_burst(s: Scene) -> list[Record]:
    who = s.user()
    return [_get_parameter(s, who, f"/{s.word()}/{s.name()}", i / 6) for i in range(12)]


@miss("ssm_parameter_decryption", "aws_ssm_parameter_decrypt_burst", "an app reads three parameters all day")
def _parameter_app(s: Scene) -> list[Record]:
    who = s.role(session=s.hex_id("i-"))
    names = [f"/{s.word()}/prod/{s.name()}" for _ in range(3)]
    return [_get_parameter(s, who, names[i % 3], i * 2) for i in range(90)]


@miss("ssm_parameter_decryption", "aws_ssm_parameter_decrypt_burst", "twelve plain parameters")
def _parameter_plain_burst(s: Scene) -> list[Record]:
    who = s.user()
    return [_get_parameter(s, who, f"/{s.word()}/{s.name()}", i / 6, decrypt=False) for i in range(12)]


@case("ssm_parameter_decryption", "aws_ssm_parameter_bulk_decrypt", "eleven names in one call")
@case("ssm_parameter_decryption", "aws_ssm_parameter_decrypted", "eleven names in one call")
def _parameters_bulk(s: Scene) -> list[Record]:
    names = [f"/credentials/{s.word()}/{s.name()}" for _ in range(11)]
    return [s.call("ssm", "GetParameters", s.role(), {"names": names, "withDecryption": True})]


@case("ssm_parameter_decryption", "aws_ssm_parameter_bulk_decrypt", "the whole tree decrypted")
def _parameters_tree(s: Scene) -> list[Record]:
    return [s.call("ssm", "GetParametersByPath", s.user(), {"path": "/", "recursive": True, "withDecryption": True})]


@miss("ssm_parameter_decryption", "aws_ssm_parameter_bulk_decrypt", "an app loads its own settings")
def _parameters_app(s: Scene) -> list[Record]:
    who = s.role()
    app = s.word()
    return [
        s.call(
            "ssm", "GetParameters", who, {"names": [f"/{app}/{s.name()}" for _ in range(5)], "withDecryption": True}
        ),
        s.call("ssm", "GetParametersByPath", who, {"path": f"/{app}/prod", "recursive": True, "withDecryption": True}),
        s.call("ssm", "GetParameters", who, {"names": [f"/{app}/{s.name()}" for _ in range(11)]}),
    ]


@case("get_password_data", "aws_ec2_get_password_data", "Windows password fetched")
def _password_data(s: Scene) -> list[Record]:
    error = s.rng.choice((None, "Client.UnauthorizedOperation"))
    return [s.call("ec2", "GetPasswordData", s.role(), {"instanceId": s.hex_id("i-")}, error=error)]


@miss("get_password_data", "aws_ec2_get_password_data", "console output read")
def _console_output(s: Scene) -> list[Record]:
    return [s.call("ec2", "GetConsoleOutput", s.role(), {"instanceId": s.hex_id("i-")})]


def _describe_attribute(s: Scene, who: Record, instance: str, attribute: str, minutes: float) -> Record:
    return s.call(
        "ec2", "DescribeInstanceAttribute", who, {"instanceId": instance, "attribute": attribute}, minutes=minutes
    )


@case("user_data_read", "aws_ec2_user_data_read", "user data read")
@miss("user_data_read", "aws_ec2_user_data_read_burst", "user data read")
def _user_data(s: Scene) -> list[Record]:
    return [_describe_attribute(s, s.user(), s.hex_id("i-"), "userData", 0)]


@miss("user_data_read", "aws_ec2_user_data_read", "other attributes read")
def _other_attributes(s: Scene) -> list[Record]:
    who = s.role()
    return [
        _describe_attribute(s, who, s.hex_id("i-"), attribute, i)
        for i, attribute in enumerate(("disableApiTermination", "instanceType", "instanceInitiatedShutdownBehavior"))
    ]


@case("user_data_read", "aws_ec2_user_data_read_burst", "six instances' user data in a minute")
def _user_data_burst(s: Scene) -> list[Record]:
    who = s.role()
    return [_describe_attribute(s, who, s.hex_id("i-"), "userData", i / 6) for i in range(6)]


@miss("user_data_read", "aws_ec2_user_data_read_burst", "one instance six times, or four instances")
def _user_data_few(s: Scene) -> list[Record]:
    who = s.role()
    instance = s.hex_id("i-")
    same = [_describe_attribute(s, who, instance, "userData", i / 6) for i in range(6)]
    other = s.user()
    few = [_describe_attribute(s, other, s.hex_id("i-"), "userData", i / 6) for i in range(4)]
    return same + few


@miss("user_data_read", "aws_ec2_user_data_read_burst", "six instances over an hour")
def _user_data_slow(s: Scene) -> list[Record]:
    who = s.role()
    return [_describe_attribute(s, who, s.hex_id("i-"), "userData", i * 11) for i in range(6)]


@case("user_data_modified", "aws_ec2_user_data_modified", "user data replaced")
def _user_data_modify(s: Scene) -> list[Record]:
    instance = s.hex_id("i-")
    style = s.rng.random() < 0.5
    params = (
        {"instanceId": instance, "userData": "<sensitiveDataRemoved>"}
        if style
        else {"instanceId": instance, "attribute": "userData", "value": "<sensitiveDataRemoved>"}
    )
    return [s.call("ec2", "ModifyInstanceAttribute", s.role(), params, response={"_return": True})]


@miss("user_data_modified", "aws_ec2_user_data_modified", "instance type and protection changed")
def _modify_other(s: Scene) -> list[Record]:
    who = s.role()
    return [
        s.call(
            "ec2", "ModifyInstanceAttribute", who, {"instanceId": s.hex_id("i-"), "instanceType": {"value": "m5.large"}}
        ),
        s.call(
            "ec2",
            "ModifyInstanceAttribute",
            who,
            {"instanceId": s.hex_id("i-"), "disableApiTermination": {"value": True}},
        ),
    ]


# ==================================================================================================
# Remote access: SSM, EC2 Instance Connect, serial console
# ==================================================================================================


def _send_command(s: Scene, document: str) -> Record:
    instances = [s.hex_id("i-") for _ in range(s.rng.randint(1, 4))]
    return s.call(
        "ssm",
        "SendCommand",
        s.user(),
        {
            "documentName": document,
            "instanceIds": instances,
            "interactive": False,
            "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS",
        },
        response={"command": {"commandId": _uuid(s.rng), "documentName": document, "instanceIds": instances}},
    )


@case("ssm_send_command", "aws_ssm_send_command_shell", "shell script sent")
@miss("ssm_send_command", "aws_ssm_send_command", "shell script sent")
def _shell_command(s: Scene) -> list[Record]:
    return [_send_command(s, s.rng.choice(("AWS-RunShellScript", "AWS-RunPowerShellScript")))]


@case("ssm_send_command", "aws_ssm_send_command", "patch baseline run")
@miss("ssm_send_command", "aws_ssm_send_command_shell", "patch baseline run")
def _patch_command(s: Scene) -> list[Record]:
    return [_send_command(s, s.rng.choice(("AWS-RunPatchBaseline", "AWS-UpdateSSMAgent", "AWS-ConfigureAWSPackage")))]


@miss("ssm_send_command", "aws_ssm_send_command", "command results read")
@miss("ssm_send_command", "aws_ssm_send_command_shell", "command results read")
def _command_results(s: Scene) -> list[Record]:
    who = s.user()
    return [
        s.call("ssm", "ListCommands", who, None),
        s.call("ssm", "GetCommandInvocation", who, {"commandId": _uuid(s.rng), "instanceId": s.hex_id("i-")}),
    ]


@case("ssm_start_session", "aws_ssm_start_session", "session started")
def _start_session(s: Scene) -> list[Record]:
    return [
        s.call(
            "ssm",
            "StartSession",
            s.role(),
            {"target": s.hex_id("i-")},
            response={"sessionId": s.name(), "streamUrl": "wss://ssmmessages"},
        )
    ]


@miss("ssm_start_session", "aws_ssm_start_session", "sessions listed and ended")
def _sessions(s: Scene) -> list[Record]:
    who = s.role()
    return [
        s.call("ssm", "DescribeSessions", who, {"state": "Active"}),
        s.call("ssm", "TerminateSession", who, {"sessionId": s.name()}),
    ]


@case("instance_connect", "aws_ec2_instance_connect_ssh_key", "SSH key pushed")
def _eic(s: Scene) -> list[Record]:
    return [
        s.call(
            "ec2-instance-connect",
            "SendSSHPublicKey",
            s.user(),
            {
                "instanceId": s.hex_id("i-"),
                "instanceOSUser": s.rng.choice(("ec2-user", "ubuntu", "admin")),
                "sSHPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + s.hex_id("", 40),
            },
            response={"requestId": _uuid(s.rng), "success": True},
        )
    ]


@case("instance_connect", "aws_ec2_serial_console_ssh_key", "serial console key pushed")
@miss("instance_connect", "aws_ec2_instance_connect_ssh_key", "serial console key pushed")
def _serial_key(s: Scene) -> list[Record]:
    return [
        s.call(
            "ec2-instance-connect",
            "SendSerialConsoleSSHPublicKey",
            s.user(),
            {"instanceId": s.hex_id("i-"), "serialPort": 0, "sSHPublicKey": "ssh-rsa AAAAB3"},
        )
    ]


@case("instance_connect", "aws_ec2_enable_serial_console", "serial console enabled")
def _serial_enable(s: Scene) -> list[Record]:
    return [s.call("ec2", "EnableSerialConsoleAccess", s.user(), {"EnableSerialConsoleAccessRequest": ""})]


@miss("instance_connect", "aws_ec2_enable_serial_console", "serial console status read and disabled")
@miss("instance_connect", "aws_ec2_serial_console_ssh_key", "serial console status read and disabled")
def _serial_status(s: Scene) -> list[Record]:
    who = s.user()
    return [
        s.call("ec2", "GetSerialConsoleAccessStatus", who, None),
        s.call("ec2", "DisableSerialConsoleAccess", who, None),
    ]


# ==================================================================================================
# Lambda
# ==================================================================================================


def _lambda(s: Scene, name: str, params: Record, who: Record | None = None) -> Record:
    return s.call("lambda", name, who or s.role(web_identity=True), params)


def _function(s: Scene) -> str:
    return s.name("fn")


@case("lambda_create_update", "aws_lambda_create_function", "function created")
def _create_function(s: Scene) -> list[Record]:
    event = s.rng.choice(("CreateFunction20150331", "CreateFunction"))
    return [
        _lambda(
            s,
            event,
            {
                "functionName": _function(s),
                "runtime": "python3.12",
                "role": f"arn:aws:iam::{s.account}:role/{s.name()}",
                "handler": "app.handler",
            },
        )
    ]


@miss("lambda_create_update", "aws_lambda_create_function", "function read and event mapping created")
def _lambda_other(s: Scene) -> list[Record]:
    return [
        _lambda(s, "GetFunction20150331v2", {"functionName": _function(s)}),
        _lambda(s, "CreateEventSourceMapping20150331", {"functionName": _function(s)}),
    ]


@case("lambda_create_update", "aws_lambda_update_function_code", "code deployed")
def _update_code(s: Scene) -> list[Record]:
    return [_lambda(s, "UpdateFunctionCode20150331v2", {"functionName": _function(s), "publish": True})]


@miss("lambda_create_update", "aws_lambda_update_function_code", "configuration changed")
def _update_config(s: Scene) -> list[Record]:
    return [_lambda(s, "UpdateFunctionConfiguration20150331v2", {"functionName": _function(s), "timeout": 30})]


@case("lambda_public_permission", "aws_lambda_public_permission", "AddPermission principal *")
def _lambda_public(s: Scene) -> list[Record]:
    event = s.rng.choice(("AddPermission20150331v2", "AddPermission20150331"))
    return [
        _lambda(
            s,
            event,
            {
                "functionName": _function(s),
                "statementId": s.word(),
                "action": "lambda:InvokeFunction",
                "principal": "*",
            },
            who=s.user(),
        )
    ]


@miss("lambda_public_permission", "aws_lambda_public_permission", "S3 and another account may invoke")
def _lambda_s3(s: Scene) -> list[Record]:
    return [
        _lambda(
            s,
            "AddPermission20150331v2",
            {
                "functionName": _function(s),
                "statementId": s.word(),
                "action": "lambda:InvokeFunction",
                "principal": "s3.amazonaws.com",
                "sourceArn": f"arn:aws:s3:::{s.name('bucket')}",
            },
        ),
        _lambda(
            s,
            "AddPermission20150331v2",
            {
                "functionName": _function(s),
                "statementId": s.word(),
                "action": "lambda:InvokeFunction",
                "principal": s.account_id(),
            },
        ),
    ]


@case("lambda_public_permission", "aws_lambda_public_function_url", "function URL without auth")
@miss("lambda_create_update", "aws_lambda_create_function", "function URL without auth")
def _function_url(s: Scene) -> list[Record]:
    return [_lambda(s, "CreateFunctionUrlConfig20211031", {"functionName": _function(s), "authType": "NONE"})]


@miss("lambda_public_permission", "aws_lambda_public_function_url", "function URL with IAM auth")
def _function_url_iam(s: Scene) -> list[Record]:
    return [_lambda(s, "CreateFunctionUrlConfig20211031", {"functionName": _function(s), "authType": "AWS_IAM"})]


@case("lambda_layers", "aws_lambda_publish_layer_version", "layer published")
def _publish_layer(s: Scene) -> list[Record]:
    return [
        _lambda(s, "PublishLayerVersion20181031", {"layerName": s.name("layer"), "compatibleRuntimes": ["python3.12"]})
    ]


@case("lambda_layers", "aws_lambda_public_layer_permission", "layer shared with everyone")
def _public_layer(s: Scene) -> list[Record]:
    return [
        _lambda(
            s,
            "AddLayerVersionPermission20181031",
            {
                "layerName": s.name("layer"),
                "versionNumber": 3,
                "statementId": s.word(),
                "action": "lambda:GetLayerVersion",
                "principal": "*",
            },
            who=s.user(),
        )
    ]


@miss("lambda_layers", "aws_lambda_public_layer_permission", "layer shared with one account")
@miss("lambda_layers", "aws_lambda_publish_layer_version", "layer shared with one account")
def _layer_account(s: Scene) -> list[Record]:
    return [
        _lambda(
            s,
            "AddLayerVersionPermission20181031",
            {
                "layerName": s.name("layer"),
                "versionNumber": 1,
                "statementId": s.word(),
                "action": "lambda:GetLayerVersion",
                "principal": s.account_id(),
            },
        )
    ]


# ==================================================================================================
# Bedrock
# ==================================================================================================

_MODELS = (
    "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "anthropic.claude-3-haiku-20240307-v1:0",
    "meta.llama3-70b-instruct-v1:0",
    "amazon.titan-text-express-v1",
    "mistral.mistral-large-2402-v1:0",
)


def _bedrock(s: Scene, name: str, who: Record, minutes: float = 0.0, params: Record | None = None) -> Record:
    return s.call(
        "bedrock", name, who, params if params is not None else {"modelId": s.rng.choice(_MODELS)}, minutes=minutes
    )


@case("bedrock_invocation", "aws_bedrock_invoke_model", "model invoked")
def _invoke(s: Scene) -> list[Record]:
    who = s.user()
    return [
        _bedrock(s, name, who, i)
        for i, name in enumerate(("InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream"))
    ]


@miss("bedrock_invocation", "aws_bedrock_invoke_model", "guardrail listed")
@miss("bedrock_model_access", "aws_bedrock_model_access_change", "guardrail listed")
def _guardrails(s: Scene) -> list[Record]:
    return [_bedrock(s, "ListGuardrails", s.role(), params={})]


@case("bedrock_model_access", "aws_bedrock_model_access_change", "model access enabled")
def _model_access(s: Scene) -> list[Record]:
    who = s.user()
    return [
        _bedrock(s, "PutUseCaseForModelAccess", who, 0, params={}),
        _bedrock(s, "CreateFoundationModelAgreement", who, 1),
        _bedrock(s, "PutFoundationModelEntitlement", who, 2),
    ]


@case("bedrock_model_access", "aws_bedrock_delete_invocation_logging", "invocation logging deleted")
def _delete_logging(s: Scene) -> list[Record]:
    return [_bedrock(s, "DeleteModelInvocationLoggingConfiguration", s.role(), params={})]


@miss("bedrock_model_access", "aws_bedrock_delete_invocation_logging", "invocation logging set")
def _put_logging(s: Scene) -> list[Record]:
    return [_bedrock(s, "PutModelInvocationLoggingConfiguration", s.role(), params={"loggingConfig": {}})]


@case("bedrock_probing", "aws_bedrock_model_probing", "models listed")
@miss("bedrock_probing", "aws_bedrock_model_probing_burst", "models listed")
def _list_models(s: Scene) -> list[Record]:
    return [_bedrock(s, "ListFoundationModels", s.user(), params={})]


@case("bedrock_probing", "aws_bedrock_model_probing_burst", "availability of six models in two minutes")
def _probing_burst(s: Scene) -> list[Record]:
    who = s.user()
    names = (
        "GetFoundationModelAvailability",
        "ListFoundationModelAgreementOffers",
        "GetUseCaseForModelAccess",
        "GetModelInvocationLoggingConfiguration",
    )
    return [_bedrock(s, s.rng.choice(names), who, i / 3) for i in range(6)]


@miss("bedrock_probing", "aws_bedrock_model_probing_burst", "three checks, or six over two hours")
def _probing_slow(s: Scene) -> list[Record]:
    few = [_bedrock(s, "GetFoundationModelAvailability", s.user(), i) for i in range(3)]
    who = s.role()
    slow = [_bedrock(s, "GetFoundationModelAvailability", who, i * 20) for i in range(6)]
    return few + slow


# ==================================================================================================
# SES
# ==================================================================================================


def _ses(s: Scene, name: str, who: Record, minutes: float = 0.0, params: Record | None = None) -> Record:
    return s.call("ses", name, who, params, minutes=minutes)


@case("ses_probing", "aws_ses_probing", "send quota checked")
@miss("ses_probing", "aws_ses_probing_burst", "send quota checked")
def _send_quota(s: Scene) -> list[Record]:
    return [_ses(s, s.rng.choice(("GetSendQuota", "GetAccount", "ListIdentities")), s.user())]


@miss("ses_probing", "aws_ses_probing", "Trusted Advisor checks the quota, API Gateway GetAccount")
def _quota_by_service(s: Scene) -> list[Record]:
    advisor = s.service_role("trustedadvisor.amazonaws.com", "AWSServiceRoleForTrustedAdvisor")
    return [_ses(s, "GetSendQuota", advisor), s.call("apigateway", "GetAccount", s.user(), None)]


@case("ses_probing", "aws_ses_probing_burst", "quota, sending and identities in two minutes")
def _ses_burst(s: Scene) -> list[Record]:
    who = s.role()
    names = ["GetSendQuota", "GetAccountSendingEnabled", "ListIdentities", "GetAccount"]
    s.rng.shuffle(names)
    return [_ses(s, name, who, i / 2) for i, name in enumerate(names[:3])]


@miss("ses_probing", "aws_ses_probing_burst", "a monitor checks the quota every minute")
def _ses_monitor(s: Scene) -> list[Record]:
    who = s.role()
    return [_ses(s, "GetSendQuota", who, i) for i in range(30)]


@case("ses_sending", "aws_ses_enable_sending", "production access requested")
def _ses_production(s: Scene) -> list[Record]:
    return [
        _ses(
            s,
            "PutAccountDetails",
            s.user(),
            params={
                "mailType": "MARKETING",
                "websiteURL": f"https://{s.word()}.example",
                "useCaseDescription": "newsletters",
                "productionAccessEnabled": True,
            },
        )
    ]


@case("ses_sending", "aws_ses_enable_sending", "sending re-enabled")
def _ses_enable(s: Scene) -> list[Record]:
    return [_ses(s, "UpdateAccountSendingEnabled", s.user(), params={"enabled": True})]


@case("ses_sending", "aws_ses_identity_created", "sender address added")
def _ses_identity(s: Scene) -> list[Record]:
    event, key = s.rng.choice((("VerifyEmailIdentity", "emailAddress"), ("CreateEmailIdentity", "emailIdentity")))
    return [_ses(s, event, s.user(), params={key: f"{s.word()}@{s.word()}.example"})]


@miss("ses_sending", "aws_ses_identity_created", "identity deleted, details read")
@miss("ses_sending", "aws_ses_enable_sending", "identity deleted, details read")
def _ses_other(s: Scene) -> list[Record]:
    who = s.user()
    return [
        _ses(s, "DeleteIdentity", who, params={"identity": f"{s.word()}.example"}),
        _ses(s, "GetIdentityVerificationAttributes", who, params={"identities": [f"{s.word()}.example"]}),
    ]


# ==================================================================================================
# Organizations
# ==================================================================================================


@case("leave_organization", "aws_organizations_leave", "account leaves its organization")
def _leave(s: Scene) -> list[Record]:
    return [
        s.call(
            "organizations", "LeaveOrganization", s.role(), None, error=s.rng.choice((None, "AccessDeniedException"))
        )
    ]


@miss("leave_organization", "aws_organizations_leave", "organization described")
def _describe_org(s: Scene) -> list[Record]:
    return [s.call("organizations", "DescribeOrganization", s.role(), None)]
