"""CloudTrail shapes the routine personas share: STS hand-outs, EC2 launches, Lambda configurations,
S3 and Secrets Manager calls. Field names follow records seen in ../shared/corpus (Stratus, Panther)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from awsrespond.emulator.cloudtrail import GLOBAL_EVENT_REGION, format_event_time
from tests.routine_account import (
    Account,
    Credential,
    Role,
    Trail,
    az,
    credentials_element,
    service_identity,
)

WEB_IDENTITY_AGENT = "configure-aws-credentials-for-github-actions"


def new_credential(account: Account, when: datetime, hours: float = 1.0) -> Credential:
    return Credential(account.ids.access_key(temporary=True), when, when + timedelta(hours=hours))


def _role_resources(role: Role) -> list[dict[str, Any]]:
    return [{"accountId": role.account_id, "type": "AWS::IAM::Role", "ARN": role.arn}]


def _assumed(role: Role, session: str) -> dict[str, Any]:
    return {"assumedRoleId": f"{role.role_id}:{session}", "arn": role.session_arn(session)}


def assume_role(
    trail: Trail,
    when: datetime,
    *,
    identity: dict[str, Any],
    ip: str,
    user_agent: str,
    role: Role,
    session: str,
    credential: Credential,
    region: str = GLOBAL_EVENT_REGION,
    external_id: str | None = None,
    duration: int | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {"roleArn": role.arn, "roleSessionName": session}
    if duration is not None:
        request["durationSeconds"] = duration
    if external_id is not None:
        request["externalId"] = external_id
    return trail.call(
        when, "sts", "AssumeRole", region, identity, ip, user_agent, request,
        {"credentials": credentials_element(credential, trail.account.ids), "assumedRoleUser": _assumed(role, session)},
        resources=_role_resources(role),
        read_only=True,
    )


def service_assume_role(
    trail: Trail, when: datetime, service: str, role: Role, session: str, credential: Credential, region: str
) -> dict[str, Any]:
    """An AWS service taking a role for a workload (instance profile, task role, Lambda, Config...)."""
    return assume_role(
        trail, when, identity=service_identity(service), ip=service, user_agent=service, role=role, session=session,
        credential=credential, region=region,
    )


def web_identity(
    trail: Trail,
    when: datetime,
    *,
    provider: str,
    subject: str,
    ip: str,
    role: Role,
    session: str,
    credential: Credential,
    region: str,
    audience: str = "sts.amazonaws.com",
) -> dict[str, Any]:
    provider_arn = f"arn:aws:iam::{trail.account.account_id}:oidc-provider/{provider}"
    identity = {
        "type": "WebIdentityUser",
        "principalId": f"{provider_arn}:{audience}:{subject}",
        "userName": subject,
        "identityProvider": provider_arn,
    }
    return trail.call(
        when, "sts", "AssumeRoleWithWebIdentity", region, identity, ip, WEB_IDENTITY_AGENT,
        {"roleArn": role.arn, "roleSessionName": session, "durationSeconds": 3600},
        {
            "credentials": credentials_element(credential, trail.account.ids),
            "subjectFromWebIdentityToken": subject,
            "assumedRoleUser": _assumed(role, session),
            "provider": provider_arn,
            "audience": audience,
        },
        resources=_role_resources(role),
        read_only=True,
    )


def saml(
    trail: Trail,
    when: datetime,
    *,
    provider_arn: str,
    subject: str,
    ip: str,
    user_agent: str,
    role: Role,
    credential: Credential,
) -> dict[str, Any]:
    """IAM Identity Center (or any SAML IdP) handing a role session to ``subject``."""
    identity = {
        "type": "SAMLUser",
        "principalId": f"{trail.account.ids.hex(8)}:{subject}",
        "userName": subject,
        "identityProvider": provider_arn,
    }
    return trail.call(
        when, "sts", "AssumeRoleWithSAML", GLOBAL_EVENT_REGION, identity, ip, user_agent,
        {
            "sAMLAssertionID": f"_{trail.account.ids.uuid()}",
            "roleSessionName": subject,
            "principalTags": {},
            "durationSeconds": 43200,
            "roleArn": role.arn,
            "principalArn": provider_arn,
        },
        {
            "credentials": credentials_element(credential, trail.account.ids),
            "assumedRoleUser": _assumed(role, subject),
            "subject": subject,
            "subjectType": "persistent",
            "issuer": f"https://portal.sso.{trail.account.home}.amazonaws.com/saml/assertion/{trail.account.ids.hex(24)}",
            "audience": "https://signin.aws.amazon.com/saml",
            "nameQualifier": trail.account.ids.hex(28),
        },
        resources=_role_resources(role),
        read_only=True,
    )


# -- EC2 -------------------------------------------------------------------------------------------


def epoch_ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def run_instances(
    trail: Trail,
    when: datetime,
    *,
    identity: dict[str, Any],
    ip: str,
    user_agent: str,
    region: str,
    instance_type: str,
    instance_ids: list[str],
    image_id: str,
    subnet: str,
    security_group: str,
    key_name: str | None = None,
    profile: str | None = None,
    launch_template: str | None = None,
    tags: dict[str, str] | None = None,
    error: tuple[str, str] | None = None,
) -> dict[str, Any]:
    rng = trail.account.rng
    count = max(1, len(instance_ids))
    request: dict[str, Any] = {
        "instancesSet": {"items": [{"imageId": image_id, "minCount": count, "maxCount": count}]},
        "instanceType": instance_type,
        "blockDeviceMapping": {},
        "monitoring": {"enabled": False},
        "disableApiTermination": False,
        "disableApiStop": False,
        "subnetId": subnet,
        "clientToken": trail.account.ids.uuid(),
    }
    if key_name:
        request["instancesSet"]["items"][0]["keyName"] = key_name
    if launch_template:
        request["launchTemplate"] = {"launchTemplateId": launch_template, "version": str(rng.randint(3, 30))}
        del request["instancesSet"]["items"][0]["imageId"]
    else:
        request["groupSet"] = {"items": [{"groupId": security_group}]}
    if profile:
        request["iamInstanceProfile"] = {"name": profile}
    if tags:
        request["tagSpecificationSet"] = {
            "items": [{"resourceType": "instance", "tags": [{"key": k, "value": v} for k, v in tags.items()]}]
        }
    response: dict[str, Any] | None = None
    if error is None:
        zone = az(region, rng)
        response = {
            "requestId": trail.account.ids.uuid(),
            "reservationId": trail.account.ids.resource("r"),
            "ownerId": trail.account.account_id,
            "groupSet": {},
            "instancesSet": {
                "items": [
                    {
                        "instanceId": instance_id,
                        "imageId": image_id,
                        "instanceType": instance_type,
                        "instanceState": {"code": 0, "name": "pending"},
                        "privateIpAddress": trail.account.private_ip(),
                        "subnetId": subnet,
                        "vpcId": trail.account.vpc_id,
                        "placement": {"availabilityZone": zone, "tenancy": "default"},
                        "launchTime": epoch_ms(when),
                        "amiLaunchIndex": index,
                        "groupSet": {"items": [{"groupId": security_group, "groupName": "app"}]},
                        **({"keyName": key_name} if key_name else {}),
                        **({"iamInstanceProfile": {
                            "arn": f"arn:aws:iam::{trail.account.account_id}:instance-profile/{profile}",
                            "id": trail.account.ids.unique("AIPA"),
                        }} if profile else {}),
                    }
                    for index, instance_id in enumerate(instance_ids)
                ]
            },
        }
    return trail.call(
        when, "ec2", "RunInstances", region, identity, ip, user_agent, request, response, error=error, read_only=False
    )


def terminate_instances(
    trail: Trail, when: datetime, *, identity: dict[str, Any], ip: str, user_agent: str, region: str,
    instance_ids: list[str],
) -> dict[str, Any]:
    return trail.call(
        when, "ec2", "TerminateInstances", region, identity, ip, user_agent,
        {"instancesSet": {"items": [{"instanceId": i} for i in instance_ids]}},
        {
            "requestId": trail.account.ids.uuid(),
            "instancesSet": {
                "items": [
                    {
                        "instanceId": i,
                        "currentState": {"code": 32, "name": "shutting-down"},
                        "previousState": {"code": 16, "name": "running"},
                    }
                    for i in instance_ids
                ]
            },
        },
    )


# -- Lambda ----------------------------------------------------------------------------------------


def function_arn(account: Account, function: str, region: str | None = None) -> str:
    return f"arn:aws:lambda:{region or account.home}:{account.account_id}:function:{function}"


def function_configuration(
    account: Account, function: str, exec_role: Role, when: datetime, *, version: str = "$LATEST",
    runtime: str = "python3.12",
) -> dict[str, Any]:
    rng = account.rng
    return {
        "functionName": function,
        "functionArn": function_arn(account, function),
        "runtime": runtime,
        "role": exec_role.arn,
        "handler": "app.handler" if runtime.startswith("python") else "index.handler",
        "codeSize": rng.randint(4_000, 40_000_000),
        "description": "",
        "timeout": rng.choice((3, 10, 30, 60, 300, 900)),
        "memorySize": rng.choice((128, 256, 512, 1024, 2048)),
        "lastModified": when.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "codeSha256": account.ids.token()[-43:] + "=",
        "version": version,
        "tracingConfig": {"mode": "PassThrough"},
        "revisionId": account.ids.uuid(),
        "state": "Active",
        "lastUpdateStatus": "InProgress" if version == "$LATEST" else "Successful",
        "packageType": "Zip",
        "architectures": [rng.choice(("x86_64", "arm64"))],
        "ephemeralStorage": {"size": 512},
    }


# -- S3, Secrets Manager, KMS ----------------------------------------------------------------------


def s3_object_resources(account: Account, bucket: str, key: str) -> list[dict[str, Any]]:
    return [
        {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
        {"accountId": account.account_id, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
    ]


def s3_bucket_request(bucket: str, region: str, **fields: Any) -> dict[str, Any]:
    return {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com", **fields}


def secret_value(
    trail: Trail,
    when: datetime,
    *,
    identity: dict[str, Any],
    ip: str,
    user_agent: str,
    secret: str,
    region: str,
    vpce: str | None = None,
    error: tuple[str, str] | None = None,
) -> None:
    """GetSecretValue, and (when it succeeds) the KMS Decrypt Secrets Manager makes on the caller's behalf."""
    account = trail.account
    arn = account.secrets.get(secret, secret)
    trail.call(
        when, "secretsmanager", "GetSecretValue", region, identity, ip, user_agent,
        {"secretId": trail.account.rng.choice((secret, arn))}, None, vpce=vpce, error=error,
    )
    if error is not None:
        return
    delegated = dict(identity, invokedBy="secretsmanager.amazonaws.com")
    key_arn = f"arn:aws:kms:{region}:{account.account_id}:key/{account.kms_keys[0]}"
    trail.call(
        when, "kms", "Decrypt", region, delegated, "secretsmanager.amazonaws.com", "secretsmanager.amazonaws.com",
        {
            "encryptionContext": {"SecretARN": arn, "SecretVersionId": account.ids.uuid()},
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        },
        None,
        resources=[{"accountId": account.account_id, "type": "AWS::KMS::Key", "ARN": key_arn}],
        read_only=True,
    )


def policy_document(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def iso_time(when: datetime) -> str:
    return format_event_time(when)
