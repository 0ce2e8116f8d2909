"""The least-privilege IAM policies awsrespond ships (JSON files next to this module)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

from awsrespond.inventory import collectors as _collectors  # noqa: F401
from awsrespond.inventory.base import registry
from awsrespond.trail import discover, lookup

# Calls made outside the collectors: identity, alias and region discovery.
BASE_READ_ACTIONS = ("sts:GetCallerIdentity", "iam:ListAccountAliases", "ec2:DescribeRegions")
# hunt: finding the trails and reading LookupEvents.
HUNT_READ_ACTIONS = (*discover.PERMISSIONS, *lookup.PERMISSIONS)
# recover and harden: what their read-only views call (their writes are actions, in the contain policy).
RECOVER_READ_ACTIONS = (
    "account:GetAlternateContact", "account:GetContactInformation", "budgets:ViewBudget",
    "organizations:DescribeOrganization", "iam:GetAccountSummary", "iam:GetAccountPasswordPolicy",
    "iam:ListUsers", "iam:GetLoginProfile", "iam:ListMFADevices", "iam:ListVirtualMFADevices",
    "iam:GenerateCredentialReport", "iam:GetCredentialReport",
    "cloudtrail:DescribeTrails", "cloudtrail:ListTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors",
    "guardduty:ListDetectors", "guardduty:GetDetector", "s3:GetAccountPublicAccessBlock",
    "ec2:DescribeSnapshots", "ec2:DescribeImages", "ec2:DescribeVolumes", "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeAddresses", "ec2:DescribeNatGateways",
    "elasticloadbalancing:DescribeLoadBalancers", "backup:ListRecoveryPointsByResource",
)
# recover restore's ListObjectVersions is not granted on every bucket here (object keys are data): the
# restore action declares it, and the case names the buckets.
# `recover mfa enrol` is not a plan step (the device's seed must never reach a journal or evidence).
MFA_ENROL_ACTIONS = ("iam:GetUser", "iam:CreateVirtualMFADevice", "iam:TagMFADevice", "iam:EnableMFADevice",
                     "iam:ListMFADevices", "iam:DeleteVirtualMFADevice")
# Reading a trail bucket is granted on that bucket only: reading every object of every bucket would
# hand the responder's credentials far more than logs. The shipped policy names a placeholder
# (upper case, so no real bucket can match it) to replace with the trail bucket's name.
TRAIL_BUCKET_PLACEHOLDER = "TRAIL-BUCKET-NAME"


def readonly_actions() -> list[str]:
    """Every IAM action a read-only awsrespond run needs on any resource, from the declarations."""
    actions = set(BASE_READ_ACTIONS) | set(HUNT_READ_ACTIONS) | set(RECOVER_READ_ACTIONS)
    for cls in registry.values():
        actions.update(cls.permissions)
    return sorted(actions)


def readonly_policy_document(trail_buckets: Sequence[str] = ()) -> dict[str, Any]:
    buckets = list(dict.fromkeys(trail_buckets)) or [TRAIL_BUCKET_PLACEHOLDER]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AwsrespondReadOnly",
                "Effect": "Allow",
                "Action": readonly_actions(),
                "Resource": "*",
            },
            {
                "Sid": "AwsrespondReadTrailBucket",
                "Effect": "Allow",
                "Action": sorted(discover.BUCKET_PERMISSIONS),
                "Resource": [arn for name in buckets for arn in (f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*")],
            },
        ],
    }


def shipped_readonly_policy() -> dict[str, Any]:
    text = resources.files("awsrespond.policies").joinpath("readonly-policy.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def contain_actions() -> list[str]:
    """Every IAM action containment may call (apply and undo), from the action classes' declarations."""
    from awsrespond.contain.actions.base import registry as action_registry  # noqa: PLC0415  (heavy, rarely needed)

    actions = set(BASE_READ_ACTIONS) | set(MFA_ENROL_ACTIONS)
    for cls in action_registry().values():
        actions.update(cls.permissions)
        actions.update(cls.undo_permissions)
    return sorted(actions)


def contain_policy_document() -> dict[str, Any]:
    """What ``contain apply`` / ``undo`` may need. Each plan step lists its own subset."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AwsrespondContain", "Effect": "Allow", "Action": contain_actions(), "Resource": "*"}],
    }
