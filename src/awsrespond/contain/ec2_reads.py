"""EC2 reads that both the planner (live state) and the actions (observe) need."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from awsrespond.aws.errors import error_code

INSTANCE_NOT_FOUND = frozenset({"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"})


def describe_instance(ec2: Any, instance_id: str) -> dict[str, Any] | None:
    """The instance's description, or None when EC2 no longer knows it."""
    try:
        response = ec2.describe_instances(InstanceIds=[instance_id])
    except ClientError as exc:
        if error_code(exc) in INSTANCE_NOT_FOUND:
            return None
        raise
    for reservation in response.get("Reservations", []):
        for inst in reservation.get("Instances", []):
            if inst.get("InstanceId") == instance_id:
                found: dict[str, Any] = inst
                return found
    return None


def describe_spot_request(ec2: Any, request_id: str) -> dict[str, Any] | None:
    """The spot request's description, or None when EC2 no longer knows it (cancelled ones vanish)."""
    try:
        response = ec2.describe_spot_instance_requests(SpotInstanceRequestIds=[request_id])
    except ClientError as exc:
        if error_code(exc) != "InvalidSpotInstanceRequestID.NotFound":
            raise
        return None
    requests: list[dict[str, Any]] = response.get("SpotInstanceRequests", [])
    return requests[0] if requests else None
