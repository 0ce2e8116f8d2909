"""IAM for seeding: trust policies, and the CloudTrail response elements of IAM's answers."""

from __future__ import annotations

import json
from typing import Any

from awsrespond.emulator.cloudtrail import iam_date
from awsrespond.emulator.seeding.actor import Actor


def iam_user_element(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": user.get("Path", "/"),
        "userName": user["UserName"],
        "userId": user["UserId"],
        "arn": user["Arn"],
        "createDate": iam_date(user["CreateDate"]),
    }


def iam_role_element(role: dict[str, Any]) -> dict[str, Any]:
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


def iam_policy_element(policy: dict[str, Any]) -> dict[str, Any]:
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


def access_key_element(key: dict[str, Any]) -> dict[str, Any]:
    return {
        "accessKey": {
            "userName": key["UserName"],
            "accessKeyId": key["AccessKeyId"],
            "status": key.get("Status", "Active"),
            "createDate": iam_date(key["CreateDate"]),
        }
    }


def trust_policy(principal: dict[str, str]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
    )


def create_login_profile(actor: Actor, region: str, user_name: str, password: str) -> None:
    """Give a user a console password, recorded as CloudTrail does (the password never is)."""
    actor.call(
        "iam",
        region,
        "CreateLoginProfile",
        {"UserName": user_name, "Password": password, "PasswordResetRequired": False},
        request={"userName": user_name, "passwordResetRequired": False},
        response=lambda r: {
            "loginProfile": {
                "userName": user_name,
                "createDate": iam_date(r["LoginProfile"]["CreateDate"]),
                "passwordResetRequired": False,
            }
        },
    )
