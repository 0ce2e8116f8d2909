"""The least-privilege IAM policies awsrespond ships (JSON files next to this module)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from awsrespond.inventory import collectors as _collectors  # noqa: F401
from awsrespond.inventory.base import registry

# Calls made outside the collectors: identity, alias and region discovery.
BASE_READ_ACTIONS = ("sts:GetCallerIdentity", "iam:ListAccountAliases", "ec2:DescribeRegions")


def readonly_actions() -> list[str]:
    """Every IAM action a read-only awsrespond run needs, from the collectors' declarations."""
    actions = set(BASE_READ_ACTIONS)
    for cls in registry.values():
        actions.update(cls.permissions)
    return sorted(actions)


def readonly_policy_document() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AwsrespondReadOnly",
                "Effect": "Allow",
                "Action": readonly_actions(),
                "Resource": "*",
            }
        ],
    }


def shipped_readonly_policy() -> dict[str, Any]:
    text = resources.files("awsrespond.policies").joinpath("readonly-policy.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document
