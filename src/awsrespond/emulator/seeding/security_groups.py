"""Creating a security group open to 0.0.0.0/0 on some ports, with its CloudTrail elements."""

from __future__ import annotations

from typing import Any

from awsrespond.emulator.seeding.actor import Actor
from awsrespond.emulator.seeding.ec2_records import ec2_response


def create_security_group(
    actor: Actor, account_id: str, region: str, name: str, description: str, ports: list[int] | str
) -> str:
    group = actor.call(
        "ec2",
        region,
        "CreateSecurityGroup",
        {"GroupName": name, "Description": description},
        request={"groupName": name, "groupDescription": description},
        response=lambda r: ec2_response(_return=True, groupId=r["GroupId"]),
    )
    group_id: str = group["GroupId"]
    permissions = _permission_request(ports)
    actor.call(
        "ec2",
        region,
        "AuthorizeSecurityGroupIngress",
        {"GroupId": group_id, "IpPermissions": permissions},
        request={"groupId": group_id, "ipPermissions": _permissions_trail(permissions)},
        response=lambda r: ec2_response(_return=True, securityGroupRuleSet=_rule_set(r, account_id)),
    )
    return group_id


def _permission_request(ports: list[int] | str) -> list[dict[str, Any]]:
    if ports == "all":
        return [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    return [
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]} for port in ports
    ]


def _permissions_trail(permissions: list[dict[str, Any]]) -> dict[str, Any]:
    items = []
    for permission in permissions:
        item: dict[str, Any] = {"ipProtocol": permission["IpProtocol"]}
        if "FromPort" in permission:
            item["fromPort"] = permission["FromPort"]
            item["toPort"] = permission["ToPort"]
        item.update(
            groups={},
            ipRanges={"items": [{"cidrIp": r["CidrIp"]} for r in permission["IpRanges"]]},
            ipv6Ranges={},
            prefixListIds={},
        )
        items.append(item)
    return {"items": items}


def _rule_set(result: dict[str, Any], account_id: str) -> dict[str, Any]:
    return {
        "items": [
            {
                "groupOwnerId": account_id,
                "groupId": rule.get("GroupId"),
                "securityGroupRuleId": rule.get("SecurityGroupRuleId"),
                "isEgress": False,
                "ipProtocol": rule.get("IpProtocol"),
                "fromPort": rule.get("FromPort", -1),
                "toPort": rule.get("ToPort", -1),
                "cidrIpv4": rule.get("CidrIpv4"),
            }
            for rule in result.get("SecurityGroupRules", [])
        ]
    }
