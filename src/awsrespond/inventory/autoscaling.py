"""Auto Scaling groups: an attacker's group relaunches the instances it is meant to keep running."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from awsrespond.inventory.base import CollectContext, Collector, Item, collector
from awsrespond.inventory.helpers import all_pages, items_of, tags_of, when


@collector
class AutoScalingGroups(Collector):
    name = "autoscaling.groups"
    scope = "regional"
    resource_types = ("AWS::AutoScaling::AutoScalingGroup",)
    permissions = ("autoscaling:DescribeAutoScalingGroups",)

    def collect(self, ctx: CollectContext) -> None:
        pages = all_pages(ctx, "autoscaling", "DescribeAutoScalingGroups")
        ref = ctx.keep("autoscaling", "DescribeAutoScalingGroups", pages)
        for group in items_of(pages, "AutoScalingGroups"):
            group_name = group["AutoScalingGroupName"]
            ctx.add(
                Item(
                    type="AWS::AutoScaling::AutoScalingGroup",
                    id=group_name,
                    region=ctx.region,
                    arn=group.get("AutoScalingGroupARN"),
                    name=group_name,
                    created=when(group.get("CreatedTime")),
                    data={
                        "min_size": group.get("MinSize"),
                        "max_size": group.get("MaxSize"),
                        "desired_capacity": group.get("DesiredCapacity"),
                        "instance_ids": [i["InstanceId"] for i in group.get("Instances") or []],
                        "launch_template": _launch_template(group),
                        "launch_configuration_name": group.get("LaunchConfigurationName"),
                        "status": group.get("Status"),
                        "tags": tags_of(group),
                    },
                    evidence=[ref],
                )
            )


def _launch_template(group: Mapping[str, Any]) -> dict[str, Any] | None:
    spec = group.get("LaunchTemplate") or (
        ((group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}).get(
            "LaunchTemplateSpecification"
        )
    )
    if not spec:
        return None
    return {
        "id": spec.get("LaunchTemplateId"),
        "name": spec.get("LaunchTemplateName"),
        "version": spec.get("Version"),
    }
