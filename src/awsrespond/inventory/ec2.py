"""EC2 collectors: instances, spot requests and fleets, key pairs, security groups, snapshots, images,
Elastic IPs and launch templates (DESIGN.md 1.1.2: EC2 resources created without authorization, in
every region).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from awsrespond.inventory.base import CollectContext, Collector, Item, collector
from awsrespond.inventory.helpers import SubCalls, all_pages, items_of, tags_of, when, when_iso

WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})

def _ec2_arn(ctx: CollectContext, resource: str, *, with_account: bool = True) -> str:
    account = ctx.account_id if with_account else ""
    return f"arn:{ctx.partition}:ec2:{ctx.region}:{account}:{resource}"


# --- collectors ---------------------------------------------------------------------------------


@collector
class Instances(Collector):
    name = "ec2.instances"
    scope = "regional"
    resource_types = ("AWS::EC2::Instance",)
    permissions = ("ec2:DescribeInstances", "ec2:DescribeInstanceAttribute")

    def collect(self, ctx: CollectContext) -> None:
        pages = all_pages(ctx, "ec2", "DescribeInstances")
        listing = ctx.keep("ec2", "DescribeInstances", pages)
        attributes = SubCalls(ctx, self.name)
        for reservation in items_of(pages, "Reservations"):
            for inst in reservation.get("Instances", []):
                instance_id = inst["InstanceId"]
                state = (inst.get("State") or {}).get("Name")
                evidence = [listing]
                protection: bool | None = None
                # Attackers turn termination protection on (DESIGN.md 3.14); a terminated
                # instance has none left to read. One call per instance: only for those that may
                # be the attacker's (launched in the window) when a window is known.
                launched = when(inst.get("LaunchTime"))
                if state != "terminated" and ctx.worth_detail(launched):
                    response, ref = attributes.call(
                        "ec2",
                        "DescribeInstanceAttribute",
                        instance_id,
                        InstanceId=instance_id,
                        Attribute="disableApiTermination",
                    )
                    if response is not None and ref is not None:
                        value = (response.get("DisableApiTermination") or {}).get("Value")
                        protection = bool(value) if value is not None else None
                        evidence.append(ref)
                tags = tags_of(inst)
                lifecycle = inst.get("InstanceLifecycle")
                ctx.add(
                    Item(
                        type="AWS::EC2::Instance",
                        id=instance_id,
                        region=ctx.region,
                        arn=_ec2_arn(ctx, f"instance/{instance_id}"),
                        name=tags.get("Name"),
                        created=when(inst.get("LaunchTime")),
                        data={
                            "instance_type": inst.get("InstanceType"),
                            "state": state,
                            "launch_time": when_iso(inst.get("LaunchTime")),
                            "key_name": inst.get("KeyName"),
                            "public_ip": inst.get("PublicIpAddress"),
                            "private_ip": inst.get("PrivateIpAddress"),
                            "instance_profile_arn": (inst.get("IamInstanceProfile") or {}).get("Arn"),
                            "security_group_ids": _instance_security_groups(inst),
                            "lifecycle": lifecycle,
                            "spot_request_id": (
                                inst.get("SpotInstanceRequestId") if lifecycle == "spot" else None
                            ),
                            "image_id": inst.get("ImageId"),
                            "vpc_id": inst.get("VpcId"),
                            "termination_protection": protection,
                            "tags": tags,
                        },
                        evidence=evidence,
                    )
                )


def _instance_security_groups(inst: Mapping[str, Any]) -> list[str]:
    # Instances in a VPC list their groups per network interface; the top-level list can be empty.
    groups = [g.get("GroupId") for g in inst.get("SecurityGroups") or []]
    for eni in inst.get("NetworkInterfaces") or []:
        groups.extend(g.get("GroupId") for g in eni.get("Groups") or [])
    return list(dict.fromkeys(g for g in groups if g))


@collector
class SpotInstanceRequests(Collector):
    name = "ec2.spot_requests"
    scope = "regional"
    resource_types = ("AWS::EC2::SpotInstanceRequest",)
    permissions = ("ec2:DescribeSpotInstanceRequests",)

    def collect(self, ctx: CollectContext) -> None:
        pages = all_pages(ctx, "ec2", "DescribeSpotInstanceRequests")
        ref = ctx.keep("ec2", "DescribeSpotInstanceRequests", pages)
        for req in items_of(pages, "SpotInstanceRequests"):
            request_id = req["SpotInstanceRequestId"]
            tags = tags_of(req)
            ctx.add(
                Item(
                    type="AWS::EC2::SpotInstanceRequest",
                    id=request_id,
                    region=ctx.region,
                    arn=_ec2_arn(ctx, f"spot-instances-request/{request_id}"),
                    name=tags.get("Name"),
                    created=when(req.get("CreateTime")),
                    data={
                        "type": req.get("Type"),
                        "state": req.get("State"),
                        "status_code": (req.get("Status") or {}).get("Code"),
                        "instance_id": req.get("InstanceId"),
                        "instance_type": (req.get("LaunchSpecification") or {}).get("InstanceType"),
                        "create_time": when_iso(req.get("CreateTime")),
                        "valid_until": when_iso(req.get("ValidUntil")),
                        "tags": tags,
                    },
                    evidence=[ref],
                )
            )


@collector
class SpotFleets(Collector):
    name = "ec2.spot_fleets"
    scope = "regional"
    resource_types = ("AWS::EC2::SpotFleet",)
    permissions = ("ec2:DescribeSpotFleetRequests",)

    def collect(self, ctx: CollectContext) -> None:
        pages = all_pages(ctx, "ec2", "DescribeSpotFleetRequests")
        ref = ctx.keep("ec2", "DescribeSpotFleetRequests", pages)
        for fleet in items_of(pages, "SpotFleetRequestConfigs"):
            fleet_id = fleet["SpotFleetRequestId"]
            config = fleet.get("SpotFleetRequestConfig") or {}
            tags = tags_of(fleet)
            ctx.add(
                Item(
                    type="AWS::EC2::SpotFleet",
                    id=fleet_id,
                    region=ctx.region,
                    arn=_ec2_arn(ctx, f"spot-fleet-request/{fleet_id}"),
                    name=tags.get("Name"),
                    created=when(fleet.get("CreateTime")),
                    data={
                        "state": fleet.get("SpotFleetRequestState"),
                        "type": config.get("Type"),
                        "target_capacity": config.get("TargetCapacity"),
                        "create_time": when_iso(fleet.get("CreateTime")),
                        "tags": tags,
                    },
                    evidence=[ref],
                )
            )


@collector
class Ec2Fleets(Collector):
    name = "ec2.fleets"
    scope = "regional"
    resource_types = ("AWS::EC2::EC2Fleet",)
    permissions = ("ec2:DescribeFleets",)

    def collect(self, ctx: CollectContext) -> None:
        pages = all_pages(ctx, "ec2", "DescribeFleets")
        ref = ctx.keep("ec2", "DescribeFleets", pages)
        for fleet in items_of(pages, "Fleets"):
            fleet_id = fleet["FleetId"]
            tags = tags_of(fleet)
            ctx.add(
                Item(
                    type="AWS::EC2::EC2Fleet",
                    id=fleet_id,
                    region=ctx.region,
                    arn=_ec2_arn(ctx, f"fleet/{fleet_id}"),
                    name=tags.get("Name"),
                    created=when(fleet.get("CreateTime")),
                    data={
                        "state": fleet.get("FleetState"),
                        "type": fleet.get("Type"),
                        "target_capacity": (fleet.get("TargetCapacitySpecification") or {}).get(
                            "TotalTargetCapacity"
                        ),
                        "create_time": when_iso(fleet.get("CreateTime")),
                        "tags": tags,
                    },
                    evidence=[ref],
                )
            )


@collector
class KeyPairs(Collector):
    name = "ec2.key_pairs"
    scope = "regional"
    resource_types = ("AWS::EC2::KeyPair",)
    permissions = ("ec2:DescribeKeyPairs",)

    def collect(self, ctx: CollectContext) -> None:
        response = ctx.client("ec2").describe_key_pairs()  # not paginated
        ref = ctx.keep("ec2", "DescribeKeyPairs", response)
        for key in response.get("KeyPairs", []):
            key_name = key["KeyName"]
            tags = tags_of(key)
            ctx.add(
                Item(
                    type="AWS::EC2::KeyPair",
                    id=key_name,
                    region=ctx.region,
                    arn=_ec2_arn(ctx, f"key-pair/{key_name}"),
                    name=key_name,
                    created=when(key.get("CreateTime")),
                    data={
                        "key_pair_id": key.get("KeyPairId"),
                        "key_type": key.get("KeyType"),
                        "fingerprint": key.get("KeyFingerprint"),
                        "tags": tags,
                    },
                    evidence=[ref],
                )
            )


@collector
class SecurityGroups(Collector):
    name = "ec2.security_groups"
    scope = "regional"
    resource_types = ("AWS::EC2::SecurityGroup",)
    permissions = ("ec2:DescribeSecurityGroups",)

    def collect(self, ctx: CollectContext) -> None:
        pages = all_pages(ctx, "ec2", "DescribeSecurityGroups")
        ref = ctx.keep("ec2", "DescribeSecurityGroups", pages)
        for group in items_of(pages, "SecurityGroups"):
            group_id = group["GroupId"]
            tags = tags_of(group)
            permissions = group.get("IpPermissions") or []
            ctx.add(
                Item(
                    type="AWS::EC2::SecurityGroup",
                    id=group_id,
                    region=ctx.region,
                    arn=group.get("SecurityGroupArn") or _ec2_arn(ctx, f"security-group/{group_id}"),
                    name=tags.get("Name") or group.get("GroupName"),
                    data={
                        "group_name": group.get("GroupName"),
                        "vpc_id": group.get("VpcId"),
                        "description": group.get("Description"),
                        "world_open": world_open_rules(permissions),
                        "ingress_rule_count": _rule_count(permissions),
                        "tags": tags,
                    },
                    evidence=[ref],
                )
            )


def world_open_rules(permissions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Ingress rules that admit the whole internet (0.0.0.0/0 or ::/0)."""
    found: list[dict[str, Any]] = []
    for perm in permissions:
        cidrs = [r.get("CidrIp") for r in perm.get("IpRanges") or []]
        cidrs += [r.get("CidrIpv6") for r in perm.get("Ipv6Ranges") or []]
        found.extend(
            {
                "protocol": perm.get("IpProtocol"),
                "from_port": perm.get("FromPort"),
                "to_port": perm.get("ToPort"),
                "cidr": cidr,
            }
            for cidr in cidrs
            if cidr in WORLD_CIDRS
        )
    return found


def _rule_count(permissions: Iterable[Mapping[str, Any]]) -> int:
    # One rule per source, as the console and DescribeSecurityGroupRules count them.
    return sum(
        max(
            1,
            len(perm.get("IpRanges") or [])
            + len(perm.get("Ipv6Ranges") or [])
            + len(perm.get("UserIdGroupPairs") or [])
            + len(perm.get("PrefixListIds") or []),
        )
        for perm in permissions
    )


def _sharing(permissions: Iterable[Mapping[str, Any]]) -> tuple[bool, list[str], list[str]]:
    """(public, account ids, organization/OU ARNs) from create-volume or launch permissions."""
    public = False
    accounts: list[str] = []
    orgs: list[str] = []
    for perm in permissions:
        if perm.get("Group") == "all":
            public = True
        if perm.get("UserId"):
            accounts.append(str(perm["UserId"]))
        for key in ("OrganizationArn", "OrganizationalUnitArn"):
            if perm.get(key):
                orgs.append(str(perm[key]))
    return public, sorted(set(accounts)), sorted(set(orgs))


@collector
class Snapshots(Collector):
    name = "ec2.snapshots"
    scope = "regional"
    resource_types = ("AWS::EC2::Snapshot",)
    permissions = ("ec2:DescribeSnapshots", "ec2:DescribeSnapshotAttribute")

    def collect(self, ctx: CollectContext) -> None:
        pages = all_pages(ctx, "ec2", "DescribeSnapshots", OwnerIds=["self"])
        listing = ctx.keep("ec2", "DescribeSnapshots", pages)
        attributes = SubCalls(ctx, self.name)
        for snap in items_of(pages, "Snapshots"):
            # AWS applies OwnerIds=self; an emulator that ignores it (moto with its default AMIs)
            # would otherwise cost one attribute call per public snapshot of other owners.
            if snap.get("OwnerId", ctx.account_id) != ctx.account_id:
                continue
            snapshot_id = snap["SnapshotId"]
            evidence = [listing]
            public: bool | None = None
            shared_with: list[str] | None = None
            shared_with_orgs: list[str] | None = None
            response, ref = attributes.call(
                "ec2",
                "DescribeSnapshotAttribute",
                snapshot_id,
                SnapshotId=snapshot_id,
                Attribute="createVolumePermission",
            )
            if response is not None and ref is not None:
                public, shared_with, shared_with_orgs = _sharing(
                    response.get("CreateVolumePermissions") or []
                )
                evidence.append(ref)
            tags = tags_of(snap)
            ctx.add(
                Item(
                    type="AWS::EC2::Snapshot",
                    id=snapshot_id,
                    region=ctx.region,
                    arn=_ec2_arn(ctx, f"snapshot/{snapshot_id}", with_account=False),
                    name=tags.get("Name"),
                    created=when(snap.get("StartTime")),
                    data={
                        "volume_id": snap.get("VolumeId"),
                        "volume_size": snap.get("VolumeSize"),
                        "start_time": when_iso(snap.get("StartTime")),
                        "state": snap.get("State"),
                        "description": snap.get("Description"),
                        "encrypted": snap.get("Encrypted"),
                        "public": public,
                        "shared_with": shared_with,
                        "shared_with_orgs": shared_with_orgs,
                        "tags": tags,
                    },
                    evidence=evidence,
                )
            )


@collector
class Images(Collector):
    name = "ec2.images"
    scope = "regional"
    resource_types = ("AWS::EC2::Image",)
    permissions = ("ec2:DescribeImages", "ec2:DescribeImageAttribute")

    def collect(self, ctx: CollectContext) -> None:
        pages = all_pages(ctx, "ec2", "DescribeImages", Owners=["self"])
        listing = ctx.keep("ec2", "DescribeImages", pages)
        attributes = SubCalls(ctx, self.name)
        for image in items_of(pages, "Images"):
            if image.get("OwnerId", ctx.account_id) != ctx.account_id:
                continue  # as for snapshots: Owners=self, enforced here too
            image_id = image["ImageId"]
            evidence = [listing]
            shared_with: list[str] | None = None
            shared_with_orgs: list[str] | None = None
            public = image.get("Public")
            response, ref = attributes.call(
                "ec2", "DescribeImageAttribute", image_id, ImageId=image_id, Attribute="launchPermission"
            )
            if response is not None and ref is not None:
                launch_public, shared_with, shared_with_orgs = _sharing(
                    response.get("LaunchPermissions") or []
                )
                public = bool(public) or launch_public
                evidence.append(ref)
            tags = tags_of(image)
            ctx.add(
                Item(
                    type="AWS::EC2::Image",
                    id=image_id,
                    region=ctx.region,
                    arn=_ec2_arn(ctx, f"image/{image_id}", with_account=False),
                    name=tags.get("Name") or image.get("Name"),
                    created=when(image.get("CreationDate")),
                    data={
                        "image_name": image.get("Name"),
                        "state": image.get("State"),
                        "public": None if public is None else bool(public),
                        "shared_with": shared_with,
                        "shared_with_orgs": shared_with_orgs,
                        "creation_date": when_iso(image.get("CreationDate")),
                        "tags": tags,
                    },
                    evidence=evidence,
                )
            )


@collector
class ElasticIps(Collector):
    name = "ec2.addresses"
    scope = "regional"
    resource_types = ("AWS::EC2::EIP",)
    permissions = ("ec2:DescribeAddresses",)

    def collect(self, ctx: CollectContext) -> None:
        response = ctx.client("ec2").describe_addresses()  # not paginated
        ref = ctx.keep("ec2", "DescribeAddresses", response)
        for address in response.get("Addresses", []):
            address_id = address.get("AllocationId") or address["PublicIp"]
            tags = tags_of(address)
            ctx.add(
                Item(
                    type="AWS::EC2::EIP",
                    id=address_id,
                    region=ctx.region,
                    arn=(
                        _ec2_arn(ctx, f"elastic-ip/{address['AllocationId']}")
                        if address.get("AllocationId")
                        else None
                    ),
                    name=tags.get("Name"),
                    data={
                        "public_ip": address.get("PublicIp"),
                        "instance_id": address.get("InstanceId"),
                        "association_id": address.get("AssociationId"),
                        "network_interface_id": address.get("NetworkInterfaceId"),
                        "private_ip": address.get("PrivateIpAddress"),
                        "domain": address.get("Domain"),
                        "tags": tags,
                    },
                    evidence=[ref],
                )
            )


@collector
class LaunchTemplates(Collector):
    name = "ec2.launch_templates"
    scope = "regional"
    resource_types = ("AWS::EC2::LaunchTemplate",)
    permissions = ("ec2:DescribeLaunchTemplates",)

    # DescribeLaunchTemplateVersions is deliberately not called: it returns user data (secrets).
    def collect(self, ctx: CollectContext) -> None:
        pages = all_pages(ctx, "ec2", "DescribeLaunchTemplates")
        ref = ctx.keep("ec2", "DescribeLaunchTemplates", pages)
        for template in items_of(pages, "LaunchTemplates"):
            template_id = template["LaunchTemplateId"]
            tags = tags_of(template)
            ctx.add(
                Item(
                    type="AWS::EC2::LaunchTemplate",
                    id=template_id,
                    region=ctx.region,
                    arn=_ec2_arn(ctx, f"launch-template/{template_id}"),
                    name=template.get("LaunchTemplateName"),
                    created=when(template.get("CreateTime")),
                    data={
                        "name": template.get("LaunchTemplateName"),
                        "latest_version": template.get("LatestVersionNumber"),
                        "default_version": template.get("DefaultVersionNumber"),
                        "created_by": template.get("CreatedBy"),
                        "tags": tags,
                    },
                    evidence=[ref],
                )
            )
