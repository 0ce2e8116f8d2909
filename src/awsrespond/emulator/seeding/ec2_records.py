"""EC2 for seeding: the CloudTrail request and response elements of its calls."""

from __future__ import annotations

import uuid
from typing import Any

from awsrespond.timeutil import coerce_instant

SENSITIVE = "<sensitiveDataRemoved>"


def epoch_ms(value: Any) -> int | None:
    moment = coerce_instant(value)
    return int(moment.timestamp() * 1000) if moment else None


def ec2_response(**fields: Any) -> dict[str, Any]:
    """EC2's response elements; :meth:`Actor.call` fills ``requestId`` with the record's."""
    return {"requestId": "", **fields}


def instances_element(result: dict[str, Any], account_id: str) -> dict[str, Any]:
    items = []
    for instance in result.get("Instances", []):
        items.append(
            {
                "instanceId": instance["InstanceId"],
                "imageId": instance.get("ImageId"),
                "instanceState": {"code": 0, "name": "pending"},
                "privateDnsName": instance.get("PrivateDnsName"),
                "keyName": instance.get("KeyName"),
                "amiLaunchIndex": instance.get("AmiLaunchIndex", 0),
                "productCodes": {},
                "instanceType": instance.get("InstanceType"),
                "launchTime": epoch_ms(instance.get("LaunchTime")),
                "placement": {
                    "availabilityZone": instance.get("Placement", {}).get("AvailabilityZone"),
                    "tenancy": "default",
                },
                "monitoring": {"state": "disabled"},
                "subnetId": instance.get("SubnetId"),
                "vpcId": instance.get("VpcId"),
                "privateIpAddress": instance.get("PrivateIpAddress"),
                "groupSet": {
                    "items": [
                        {"groupId": g["GroupId"], "groupName": g["GroupName"]}
                        for g in instance.get("SecurityGroups", [])
                    ]
                },
                "blockDeviceMapping": {},
                "iamInstanceProfile": (
                    {"arn": instance["IamInstanceProfile"].get("Arn")} if instance.get("IamInstanceProfile") else None
                ),
            }
        )
    return ec2_response(
        reservationId=result.get("ReservationId"),
        ownerId=account_id,
        groupSet={},
        instancesSet={"items": items},
    )


def run_request(
    image_id: str,
    instance_type: str,
    count: int,
    *,
    key_name: str | None,
    group_ids: list[str],
    tags: dict[str, str],
    profile: str | None,
    user_data: bool,
) -> dict[str, Any]:
    item: dict[str, Any] = {"imageId": image_id, "minCount": count, "maxCount": count}
    if key_name:
        item["keyName"] = key_name
    request: dict[str, Any] = {
        "instancesSet": {"items": [item]},
        "instanceType": instance_type,
        "blockDeviceMapping": {},
        "monitoring": {"enabled": False},
        "disableApiTermination": False,
        "disableApiStop": False,
        "clientToken": str(uuid.uuid4()),
    }
    if group_ids:
        request["groupSet"] = {"items": [{"groupId": g} for g in group_ids]}
    if user_data:
        request["userData"] = SENSITIVE
    if profile:
        request["iamInstanceProfile"] = {"name": profile}
    if tags:
        request["tagSpecificationSet"] = {
            "items": [
                {"resourceType": "instance", "tags": [{"key": k, "value": v} for k, v in tags.items()]},
            ]
        }
    return request
