"""Triage checks for compute and network resources in every region."""

from __future__ import annotations

from awsrespond.detect.judge import JudgeContext, check, instance_profile, raise_to
from awsrespond.findings import Classification, Severity
from awsrespond.inventory.base import Item


def _region_reason(ctx: JudgeContext, item: Item) -> str:
    return f"in {item.region}, a region the account does not normally use" if ctx.unusual_region(
        item.region) else ""


@check(order=40)
def instances(ctx: JudgeContext) -> None:
    for inst in ctx.inventory.of("AWS::EC2::Instance"):
        data = inst.data
        itype = str(data.get("instance_type") or "")
        accelerated, large = instance_profile(itype)
        unusual = ctx.unusual_region(inst.region)
        if not (ctx.is_new(inst) or unusual):
            continue
        ctx.mark_suspect(inst)
        severity = raise_to(Severity.MEDIUM, accelerated or large or unusual, Severity.HIGH)
        severity = raise_to(severity, accelerated and unusual, Severity.CRITICAL)
        gone = data.get("state") in ("terminated", "shutting-down")
        if gone:  # still part of the story (and the cost), no longer a running threat
            severity = Severity.LOW
        profile = data.get("instance_profile_arn")
        ctx.emit(
            "ec2-instance-new", inst, severity=severity,
            details={k: data.get(k) for k in (
                "instance_type", "state", "launch_time", "key_name", "public_ip", "instance_profile_arn",
                "security_group_ids", "spot_request_id", "image_id", "termination_protection", "tags")},
            reasons=[
                "terminated: no longer running" if gone else "",
                f"GPU/accelerated type {itype} (cryptomining, model abuse)" if accelerated else "",
                f"unusually large type {itype}" if large else "",
                _region_reason(ctx, inst),
                "termination protection is on (attackers set it to resist cleanup)"
                if data.get("termination_protection") else "",
                f"runs with instance profile {profile}" if profile else "",
            ],
        )


@check(order=45)
def spot_requests(ctx: JudgeContext) -> None:
    for req in ctx.inventory.of("AWS::EC2::SpotInstanceRequest"):
        data = req.data
        instance_id = data.get("instance_id")
        itype = str(data.get("instance_type") or "")
        accelerated, large = instance_profile(itype)
        persistent = data.get("type") == "persistent"
        for_suspect = bool(instance_id) and ctx.is_suspect("AWS::EC2::Instance", str(instance_id))
        unusual = ctx.unusual_region(req.region)
        facts = {k: data.get(k) for k in ("type", "state", "instance_id", "instance_type", "create_time")}
        if ctx.is_new(req) or for_suspect or unusual or (accelerated and data.get("state") in ("open", "active")):
            ctx.mark_suspect(req)
            severity = raise_to(Severity.MEDIUM, persistent or accelerated or large or unusual, Severity.HIGH)
            ctx.emit("ec2-spot-request-new", req, severity=severity, details=facts, reasons=[
                "persistent: relaunches instances after they are terminated" if persistent else "",
                f"for suspect instance {instance_id}" if for_suspect else "",
                f"GPU/accelerated type {itype}" if accelerated else "",
                _region_reason(ctx, req),
            ])
        elif persistent and data.get("state") in ("open", "active"):
            ctx.emit("ec2-spot-request-persistent", req, classification=Classification.POSTURE, details=facts)


@check(order=45)
def fleets(ctx: JudgeContext) -> None:
    for kind in ("AWS::EC2::SpotFleet", "AWS::EC2::EC2Fleet"):
        for fleet in ctx.inventory.of(kind):
            data = fleet.data
            active = str(data.get("state", "")).lower() in ("active", "submitted", "modifying")
            unusual = ctx.unusual_region(fleet.region)
            if ctx.is_new(fleet) or (unusual and active):
                ctx.mark_suspect(fleet)
                maintain = str(data.get("type", "")).lower() == "maintain"
                ctx.emit("ec2-fleet-new", fleet,
                         severity=raise_to(Severity.MEDIUM, maintain or unusual, Severity.HIGH),
                         details=dict(data), reasons=[
                             "type maintain: replaces terminated instances" if maintain else "",
                             _region_reason(ctx, fleet)])


@check(order=45)
def autoscaling_groups(ctx: JudgeContext) -> None:
    for group in ctx.inventory.of("AWS::AutoScaling::AutoScalingGroup"):
        unusual = ctx.unusual_region(group.region)
        members = [str(i) for i in group.data.get("instance_ids", [])]
        for_suspect = any(ctx.is_suspect("AWS::EC2::Instance", i) for i in members)
        if ctx.is_new(group) or unusual or for_suspect:
            ctx.mark_suspect(group)
            ctx.emit("autoscaling-group-new", group,
                     severity=raise_to(Severity.MEDIUM, unusual or for_suspect, Severity.HIGH),
                     details=dict(group.data), reasons=[_region_reason(ctx, group),
                                                        "launches suspect instances" if for_suspect else ""])


@check(order=35)
def launch_templates(ctx: JudgeContext) -> None:
    for template in ctx.inventory.of("AWS::EC2::LaunchTemplate"):
        if ctx.is_new(template) or ctx.unusual_region(template.region):
            ctx.mark_suspect(template)
            ctx.emit("ec2-launch-template-new", template, details=dict(template.data),
                     reasons=[_region_reason(ctx, template)])


@check(order=35)
def key_pairs(ctx: JudgeContext) -> None:
    used_by: dict[tuple[str, str], list[str]] = {}
    for inst in ctx.inventory.of("AWS::EC2::Instance"):
        if inst.data.get("key_name"):
            used_by.setdefault((inst.region, str(inst.data["key_name"])), []).append(inst.id)
    for pair in ctx.inventory.of("AWS::EC2::KeyPair"):
        unusual = ctx.unusual_region(pair.region)
        if ctx.is_new(pair) or unusual:
            ctx.mark_suspect(pair)
            ctx.emit("ec2-key-pair-new", pair, severity=raise_to(Severity.MEDIUM, unusual, Severity.HIGH),
                     details={**pair.data, "instances": used_by.get((pair.region, pair.id), [])},
                     reasons=[_region_reason(ctx, pair)])


@check(order=50)
def security_groups(ctx: JudgeContext) -> None:
    users: dict[str, list[str]] = {}
    for inst in ctx.inventory.of("AWS::EC2::Instance"):
        for group_id in inst.data.get("security_group_ids", []):
            users.setdefault(str(group_id), []).append(inst.id)
    for group in ctx.inventory.of("AWS::EC2::SecurityGroup"):
        data = group.data
        attached = users.get(group.id, [])
        suspect_users = [i for i in attached if ctx.is_suspect("AWS::EC2::Instance", i)]
        only_suspects = bool(attached) and len(suspect_users) == len(attached)
        # A VPC's default group is made by AWS with the VPC: never attacker-created, though it may be
        # used by the attacker's instances or opened by them (the world-open rule below).
        is_default = data.get("group_name") == "default"
        unusual = ctx.unusual_region(group.region) and not is_default
        world_open = data.get("world_open") or []
        facts = {"group_name": data.get("group_name"), "vpc_id": data.get("vpc_id"), "world_open": world_open,
                 "instances": attached, "suspect_instances": suspect_users}
        # Security groups carry no creation time: judge by risk and by what uses them.
        if not is_default and (ctx.is_new(group) or unusual or only_suspects):
            ctx.mark_suspect(group)
            ctx.emit("ec2-security-group-suspect", group,
                     severity=raise_to(Severity.MEDIUM, bool(world_open) and (unusual or only_suspects),
                                       Severity.HIGH),
                     details=facts, reasons=[_region_reason(ctx, group),
                                             "used only by suspect instances" if only_suspects else ""])
        if world_open:
            suspect = ctx.is_suspect(group.type, group.id) or bool(suspect_users)
            ctx.emit("ec2-security-group-world-open", group,
                     severity=raise_to(Severity.MEDIUM, suspect, Severity.HIGH),
                     classification=Classification.SUSPECT if suspect else Classification.POSTURE,
                     details=facts,
                     reasons=[f"attached to suspect instance(s) {', '.join(suspect_users)}" if suspect_users else ""])


@check(order=35)
def snapshots_and_images(ctx: JudgeContext) -> None:
    for kind, shared_rule, new_rule in (
        ("AWS::EC2::Snapshot", "ec2-snapshot-shared", "ec2-snapshot-new"),
        ("AWS::EC2::Image", "ec2-image-shared", "ec2-image-new"),
    ):
        for item in ctx.inventory.of(kind):
            data = item.data
            outside = sorted(a for a in data.get("shared_with", []) if a not in ctx.known_accounts
                             and a != ctx.account_id)
            new = ctx.is_new(item)
            if new:
                ctx.mark_suspect(item)
            if data.get("public") or outside:
                ctx.emit(shared_rule, item,
                         severity=Severity.CRITICAL if new else Severity.HIGH,
                         classification=Classification.SUSPECT if new else Classification.POSTURE,
                         details={"public": bool(data.get("public")), "outside_accounts": outside,
                                  "shared_with": data.get("shared_with", [])})
            elif new or ctx.unusual_region(item.region):
                ctx.emit(new_rule, item, details=dict(data), reasons=[_region_reason(ctx, item)])


@check(order=55)
def elastic_ips(ctx: JudgeContext) -> None:
    for address in ctx.inventory.of("AWS::EC2::EIP"):
        instance_id = address.data.get("instance_id")
        for_suspect = bool(instance_id) and ctx.is_suspect("AWS::EC2::Instance", str(instance_id))
        if for_suspect or ctx.unusual_region(address.region):
            ctx.mark_suspect(address)
            ctx.emit("ec2-eip-suspect", address, details=dict(address.data),
                     reasons=[_region_reason(ctx, address),
                              f"attached to suspect instance {instance_id}" if for_suspect else ""])


@check(order=40)
def functions(ctx: JudgeContext) -> None:
    for fn in ctx.inventory.of("AWS::Lambda::Function"):
        role_name = str(fn.data.get("role") or "").rsplit("/", 1)[-1]
        role_suspect = bool(role_name) and ctx.is_suspect("AWS::IAM::Role", role_name)
        unusual = ctx.unusual_region(fn.region)
        if ctx.is_new(fn) or unusual or role_suspect:
            ctx.mark_suspect(fn)
            ctx.emit("lambda-function-new", fn,
                     severity=raise_to(Severity.MEDIUM, unusual or role_suspect, Severity.HIGH),
                     details={k: fn.data.get(k) for k in (
                         "runtime", "role", "handler", "last_modified", "layers", "env_var_names")},
                     reasons=[_region_reason(ctx, fn),
                              f"runs as suspect role {role_name}" if role_suspect else "",
                              "Lambda reports only the last change time: created or modified in the window"])


@check(order=90)
def unusual_regions(ctx: JudgeContext) -> None:
    """One summary finding per unusual region that holds suspect resources."""
    by_region: dict[str, list[str]] = {}
    for finding in list(ctx.findings.values()):
        region = finding.resource.region
        if ctx.unusual_region(region):
            by_region.setdefault(region, []).append(f"{finding.resource.type} {finding.resource.id}")
    for region, resources in sorted(by_region.items()):
        marker = Item(type="AWS::EC2::Region", id=region, region=region)
        ctx.emit("region-unusual", marker, details={"resources": sorted(set(resources)),
                                                    "normal_regions": sorted(ctx.normal_regions or [])})
