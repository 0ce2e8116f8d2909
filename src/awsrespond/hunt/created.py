"""What one CloudTrail event created or changed, read from its requestParameters and responseElements.

The table below names, per event, where the new resource's id is (CloudTrail's own field names,
which are camelCase renderings of the API's and differ per service). A resource created by an
attacker session is attacker-created; an existing one it changed is attacker-used. Ids follow the
inventory's conventions (IAM users and roles by name, managed policies by ARN, EC2 by id) so that
attribution can meet triage's findings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

GLOBAL = "global"
_IAM_SOURCES = frozenset({"iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com"})


@dataclass(frozen=True)
class ResourceKey:
    type: str
    id: str
    region: str

    def __str__(self) -> str:
        return f"{self.type} {self.id} ({self.region})"


@dataclass(frozen=True)
class EventView:
    """The parts of one event the extractors read."""

    event_name: str
    event_source: str
    region: str
    caller_user: str | None
    request: dict[str, Any]
    response: dict[str, Any]

    def scope(self) -> str:
        """IAM and other global services log in us-east-1; their resources are ``global``."""
        return GLOBAL if self.event_source in _IAM_SOURCES or self.region == "" else self.region


def dig(value: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _items(value: Any, *path: str) -> list[Any]:
    """``{"items": [...]}`` sets of EC2 responses, or a plain list."""
    found = dig(value, *path)
    if isinstance(found, dict):
        found = found.get("items")
    return found if isinstance(found, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


Extractor = Callable[[EventView], Iterator[tuple[str, str | None]]]


def _one(resource_type: str, where: str, *path: str) -> Extractor:
    """One resource whose id is at ``path`` in the request (``req``) or the response (``resp``)."""

    def extract(event: EventView) -> Iterator[tuple[str, str | None]]:
        source = event.request if where == "req" else event.response
        yield resource_type, _text(dig(source, *path))

    return extract


def _each(resource_type: str, set_path: tuple[str, ...], id_field: str) -> Extractor:
    def extract(event: EventView) -> Iterator[tuple[str, str | None]]:
        for item in _items(event.response, *set_path):
            yield resource_type, _text(dig(item, id_field))

    return extract


def _inline(kind: str, name_field: str) -> Extractor:
    def extract(event: EventView) -> Iterator[tuple[str, str | None]]:
        owner, policy = _text(event.request.get(name_field)), _text(event.request.get("policyName"))
        yield kind, f"{owner}/{policy}" if owner and policy else None

    return extract


def _eip(event: EventView) -> Iterator[tuple[str, str | None]]:
    yield "AWS::EC2::EIP", _text(event.response.get("allocationId")) or _text(event.response.get("publicIp"))


def _login_profile(event: EventView) -> Iterator[tuple[str, str | None]]:
    yield "AWS::IAM::LoginProfile", _text(event.request.get("userName")) or event.caller_user


def _access_key(event: EventView) -> Iterator[tuple[str, str | None]]:
    yield "AWS::IAM::AccessKey", _text(dig(event.response, "accessKey", "accessKeyId"))


CREATES: dict[str, Extractor] = {
    "CreateUser": _one("AWS::IAM::User", "req", "userName"),
    "CreateAccessKey": _access_key,
    "CreateLoginProfile": _login_profile,
    "CreateRole": _one("AWS::IAM::Role", "req", "roleName"),
    "CreateGroup": _one("AWS::IAM::Group", "req", "groupName"),
    "CreatePolicy": _one("AWS::IAM::ManagedPolicy", "resp", "policy", "arn"),
    "CreateInstanceProfile": _one("AWS::IAM::InstanceProfile", "req", "instanceProfileName"),
    "PutUserPolicy": _inline("AWS::IAM::UserPolicy", "userName"),
    "PutRolePolicy": _inline("AWS::IAM::RolePolicy", "roleName"),
    "PutGroupPolicy": _inline("AWS::IAM::GroupPolicy", "groupName"),
    "CreateVirtualMFADevice": _one("AWS::IAM::VirtualMFADevice", "resp", "virtualMFADevice", "serialNumber"),
    "CreateSAMLProvider": _one("AWS::IAM::SAMLProvider", "resp", "sAMLProviderArn"),
    "CreateOpenIDConnectProvider": _one("AWS::IAM::OIDCProvider", "resp", "openIDConnectProviderArn"),
    "RunInstances": _each("AWS::EC2::Instance", ("instancesSet",), "instanceId"),
    "RequestSpotInstances": _each("AWS::EC2::SpotInstanceRequest", ("spotInstanceRequestSet",),
                                  "spotInstanceRequestId"),
    "RequestSpotFleet": _one("AWS::EC2::SpotFleet", "resp", "RequestSpotFleetResponse", "spotFleetRequestId"),
    "CreateFleet": _one("AWS::EC2::EC2Fleet", "resp", "CreateFleetResponse", "fleetId"),
    "CreateKeyPair": _one("AWS::EC2::KeyPair", "req", "keyName"),
    "ImportKeyPair": _one("AWS::EC2::KeyPair", "req", "keyName"),
    "CreateSecurityGroup": _one("AWS::EC2::SecurityGroup", "resp", "groupId"),
    "AuthorizeSecurityGroupIngress": _each("AWS::EC2::SecurityGroupIngress", ("securityGroupRuleSet",),
                                           "securityGroupRuleId"),
    "AuthorizeSecurityGroupEgress": _each("AWS::EC2::SecurityGroupEgress", ("securityGroupRuleSet",),
                                          "securityGroupRuleId"),
    "CreateSnapshot": _one("AWS::EC2::Snapshot", "resp", "snapshotId"),
    "CopySnapshot": _one("AWS::EC2::Snapshot", "resp", "snapshotId"),
    "CreateImage": _one("AWS::EC2::Image", "resp", "imageId"),
    "CopyImage": _one("AWS::EC2::Image", "resp", "imageId"),
    "RegisterImage": _one("AWS::EC2::Image", "resp", "imageId"),
    "CreateVolume": _one("AWS::EC2::Volume", "resp", "volumeId"),
    "AllocateAddress": _eip,
    "CreateLaunchTemplate": _one("AWS::EC2::LaunchTemplate", "resp", "CreateLaunchTemplateResponse",
                                 "launchTemplate", "launchTemplateId"),
    "CreateAutoScalingGroup": _one("AWS::AutoScaling::AutoScalingGroup", "req", "autoScalingGroupName"),
    "CreateFunction20150331": _one("AWS::Lambda::Function", "req", "functionName"),
    "CreateFunction": _one("AWS::Lambda::Function", "req", "functionName"),
    "PublishLayerVersion20181031": _one("AWS::Lambda::LayerVersion", "resp", "layerVersionArn"),
    "CreateBucket": _one("AWS::S3::Bucket", "req", "bucketName"),
    "CreateSecret": _one("AWS::SecretsManager::Secret", "req", "name"),
    "CreateTrustAnchor": _one("AWS::RolesAnywhere::TrustAnchor", "resp", "trustAnchor", "trustAnchorId"),
    "CreateProfile": _one("AWS::RolesAnywhere::Profile", "resp", "profile", "profileId"),
    "VerifyEmailIdentity": _one("AWS::SES::EmailIdentity", "req", "emailAddress"),
    "CreateEmailIdentity": _one("AWS::SES::EmailIdentity", "req", "emailIdentity"),
    "CreateNotebookInstance": _one("AWS::SageMaker::NotebookInstance", "req", "notebookInstanceName"),
    "CreateStack": _one("AWS::CloudFormation::Stack", "req", "stackName"),
    "CreateTrail": _one("AWS::CloudTrail::Trail", "req", "name"),
}
"""Event name -> where the created resource's id is."""

CHANGES: dict[str, Extractor] = {
    "AttachUserPolicy": _one("AWS::IAM::User", "req", "userName"),
    "DetachUserPolicy": _one("AWS::IAM::User", "req", "userName"),
    "PutUserPolicy": _one("AWS::IAM::User", "req", "userName"),
    "AddUserToGroup": _one("AWS::IAM::User", "req", "userName"),
    "CreateAccessKey": lambda e: iter([("AWS::IAM::User", _text(e.request.get("userName")) or e.caller_user)]),
    "UpdateAccessKey": _one("AWS::IAM::AccessKey", "req", "accessKeyId"),
    "CreateLoginProfile": lambda e: iter([("AWS::IAM::User", _text(e.request.get("userName")) or e.caller_user)]),
    "UpdateLoginProfile": lambda e: iter([("AWS::IAM::User", _text(e.request.get("userName")) or e.caller_user)]),
    "DeactivateMFADevice": _one("AWS::IAM::User", "req", "userName"),
    "AttachRolePolicy": _one("AWS::IAM::Role", "req", "roleName"),
    "PutRolePolicy": _one("AWS::IAM::Role", "req", "roleName"),
    "UpdateAssumeRolePolicy": _one("AWS::IAM::Role", "req", "roleName"),
    "AttachGroupPolicy": _one("AWS::IAM::Group", "req", "groupName"),
    "PutGroupPolicy": _one("AWS::IAM::Group", "req", "groupName"),
    "CreatePolicyVersion": _one("AWS::IAM::ManagedPolicy", "req", "policyArn"),
    "SetDefaultPolicyVersion": _one("AWS::IAM::ManagedPolicy", "req", "policyArn"),
    "StopLogging": _one("AWS::CloudTrail::Trail", "req", "name"),
    "DeleteTrail": _one("AWS::CloudTrail::Trail", "req", "name"),
    "UpdateTrail": _one("AWS::CloudTrail::Trail", "req", "name"),
    "PutEventSelectors": _one("AWS::CloudTrail::Trail", "req", "trailName"),
    "DeleteDetector": _one("AWS::GuardDuty::Detector", "req", "detectorId"),
    "UpdateDetector": _one("AWS::GuardDuty::Detector", "req", "detectorId"),
    "ModifyInstanceAttribute": _one("AWS::EC2::Instance", "req", "instanceId"),
    "ModifySnapshotAttribute": _one("AWS::EC2::Snapshot", "req", "snapshotId"),
    "ModifyImageAttribute": _one("AWS::EC2::Image", "req", "imageId"),
    "AuthorizeSecurityGroupIngress": _one("AWS::EC2::SecurityGroup", "req", "groupId"),
    "PutBucketPolicy": _one("AWS::S3::Bucket", "req", "bucketName"),
    "PutBucketAcl": _one("AWS::S3::Bucket", "req", "bucketName"),
    "UpdateFunctionCode20150331v2": _one("AWS::Lambda::Function", "req", "functionName"),
    "AddPermission20150331v2": _one("AWS::Lambda::Function", "req", "functionName"),
}
"""Event name -> which existing resource it changes (when the session did not create it)."""


def _keys(table: dict[str, Extractor], event: EventView) -> list[ResourceKey]:
    extractor = table.get(event.event_name)
    if extractor is None:
        return []
    scope = event.scope()
    return [ResourceKey(kind, rid, scope) for kind, rid in extractor(event) if rid]


def created_by(event: EventView) -> list[ResourceKey]:
    return _keys(CREATES, event)


def changed_by(event: EventView) -> list[ResourceKey]:
    return _keys(CHANGES, event)


def minted_key(event: EventView) -> str | None:
    """The temporary access key id an STS call returned (AssumeRole, GetSessionToken, ...)."""
    return _text(dig(event.response, "credentials", "accessKeyId"))


def assumed_role_arn(event: EventView) -> str | None:
    return _text(event.request.get("roleArn")) if event.event_name.startswith("AssumeRole") else None
