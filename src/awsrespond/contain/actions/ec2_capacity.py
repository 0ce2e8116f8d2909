"""What relaunches instances: spot requests, Auto Scaling groups, EC2 Fleets and Spot Fleets.

They are stopped before their instances are touched (DESIGN.md 3.11), or the instances come back.
Fleets are deleted with TerminateInstances=False: instances are terminated by their own steps,
after their evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from awsrespond.aws.errors import error_code
from awsrespond.contain import ec2_reads
from awsrespond.contain.actions.base import Action, ActionContext, ActionError, register
from awsrespond.contain.model import Step

SPOT_LIVE = ["open", "active", "disabled"]
SPOT_DONE = ["cancelled", "closed", "failed", None]  # moto drops cancelled requests: None
FLEET_GONE = ["deleted", "deleted_running", "deleted_terminating", "cancelled", "cancelled_running",
              "cancelled_terminating", "failed", None]
CAPACITY_KEYS = ("min_size", "max_size", "desired_capacity")


@register
class CancelSpotRequest(Action):
    name = "ec2.cancel-spot-request"
    title = "Cancel a spot instance request (before its instances are terminated)"
    resource_type = "AWS::EC2::SpotInstanceRequest"
    permissions = ("ec2:DescribeSpotInstanceRequests", "ec2:CancelSpotInstanceRequests")
    reversible = False
    how_to_undo = "a cancelled spot request cannot be reopened; request a new one"

    def _describe(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        return ec2_reads.describe_spot_request(ctx.client("ec2", step.target.region), step.target.id)

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        request = self._describe(ctx, step)
        return {"state": None if request is None else request.get("State")}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        return [ctx.evidence(step, "ec2", "DescribeSpotInstanceRequests", self._describe(ctx, step) or {})]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        response = ctx.client("ec2", step.target.region).cancel_spot_instance_requests(
            SpotInstanceRequestIds=[step.target.id])
        states = [r.get("State") for r in response.get("CancelledSpotInstanceRequests", [])]
        return {"state": states[0] if states else None}


def _group(ctx: ActionContext, step: Step) -> dict[str, Any] | None:
    response = ctx.client("autoscaling", step.target.region).describe_auto_scaling_groups(
        AutoScalingGroupNames=[step.target.id])
    for group in response.get("AutoScalingGroups", []):
        if group.get("AutoScalingGroupName") == step.target.id:
            found: dict[str, Any] = group
            return found
    return None


def _group_state(group: Mapping[str, Any] | None) -> dict[str, Any]:
    deleting = group is not None and str(group.get("Status") or "").lower().startswith("delete")
    if group is None or deleting:
        return {"exists": False, "min_size": None, "max_size": None, "desired_capacity": None}
    return {"exists": True, "min_size": group.get("MinSize"), "max_size": group.get("MaxSize"),
            "desired_capacity": group.get("DesiredCapacity")}


@register
class ScaleGroupToZero(Action):
    name = "autoscaling.scale-to-zero"
    title = "Scale an Auto Scaling group to zero (min = max = desired = 0)"
    resource_type = "AWS::AutoScaling::AutoScalingGroup"
    permissions = ("autoscaling:DescribeAutoScalingGroups", "autoscaling:UpdateAutoScalingGroup")
    reversible = True
    how_to_undo = "UpdateAutoScalingGroup back to the previous min, max and desired capacity"
    undo_permissions = ("autoscaling:UpdateAutoScalingGroup",)
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return _group_state(_group(ctx, step))

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        return [ctx.evidence(step, "autoscaling", "DescribeAutoScalingGroups", _group(ctx, step) or {})]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        before = _group_state(_group(ctx, step))
        ctx.client("autoscaling", step.target.region).update_auto_scaling_group(
            AutoScalingGroupName=step.target.id, MinSize=0, MaxSize=0, DesiredCapacity=0)
        return {"previous": {k: before[k] for k in CAPACITY_KEYS}}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous") or {}
        if any(previous.get(k) is None for k in CAPACITY_KEYS):
            raise ActionError("the journal holds no previous capacity for this group")
        ctx.client("autoscaling", step.target.region).update_auto_scaling_group(
            AutoScalingGroupName=step.target.id, MinSize=int(previous["min_size"]),
            MaxSize=int(previous["max_size"]), DesiredCapacity=int(previous["desired_capacity"]))
        return {"restored": dict(previous)}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"exists": True, **dict(result.get("previous") or {})}


@register
class DeleteGroup(Action):
    name = "autoscaling.delete-group"
    title = "Delete an Auto Scaling group (after its instances are gone)"
    resource_type = "AWS::AutoScaling::AutoScalingGroup"
    permissions = ("autoscaling:DescribeAutoScalingGroups", "autoscaling:DeleteAutoScalingGroup")
    reversible = False
    how_to_undo = "a deleted group cannot be restored; its description is kept as evidence"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return _group_state(_group(ctx, step))

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        return [ctx.evidence(step, "autoscaling", "DescribeAutoScalingGroups", _group(ctx, step) or {})]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        # ForceDelete=False: AWS refuses while instances remain, which is the check we want.
        ctx.client("autoscaling", step.target.region).delete_auto_scaling_group(
            AutoScalingGroupName=step.target.id, ForceDelete=False)
        return {"deleted": step.target.id}


def _fleet(ctx: ActionContext, step: Step) -> dict[str, Any] | None:
    try:
        response = ctx.client("ec2", step.target.region).describe_fleets(FleetIds=[step.target.id])
    except ClientError as exc:
        if error_code(exc) not in ("InvalidFleetId.NotFound", "FleetIdNotFound"):
            raise
        return None
    fleets: list[dict[str, Any]] = response.get("Fleets", [])
    return fleets[0] if fleets else None


def _fleet_state(fleet: Mapping[str, Any] | None) -> dict[str, Any]:
    if fleet is None:
        return {"state": None, "target_capacity": None}
    spec = fleet.get("TargetCapacitySpecification") or {}
    return {"state": fleet.get("FleetState"), "target_capacity": spec.get("TotalTargetCapacity")}


@register
class ModifyFleetCapacity(Action):
    name = "ec2.modify-fleet-capacity"
    title = "Set an EC2 Fleet's target capacity to zero (instances kept for their own steps)"
    resource_type = "AWS::EC2::EC2Fleet"
    permissions = ("ec2:DescribeFleets", "ec2:ModifyFleet")
    reversible = True
    how_to_undo = "ModifyFleet back to the previous total target capacity"
    undo_permissions = ("ec2:ModifyFleet",)
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return _fleet_state(_fleet(ctx, step))

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        return [ctx.evidence(step, "ec2", "DescribeFleets", _fleet(ctx, step) or {})]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        before = _fleet_state(_fleet(ctx, step))
        ctx.client("ec2", step.target.region).modify_fleet(
            FleetId=step.target.id, ExcessCapacityTerminationPolicy="no-termination",
            TargetCapacitySpecification={"TotalTargetCapacity": 0})
        return {"previous_capacity": before["target_capacity"]}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous_capacity")
        if previous is None:
            raise ActionError("the journal holds no previous capacity for this fleet")
        ctx.client("ec2", step.target.region).modify_fleet(
            FleetId=step.target.id, TargetCapacitySpecification={"TotalTargetCapacity": int(previous)})
        return {"restored": previous}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"target_capacity": result.get("previous_capacity")}


@register
class DeleteFleet(Action):
    name = "ec2.delete-fleet"
    title = "Delete an EC2 Fleet without terminating its instances (their own steps do, after evidence)"
    resource_type = "AWS::EC2::EC2Fleet"
    permissions = ("ec2:DescribeFleets", "ec2:DeleteFleets")
    reversible = False
    how_to_undo = "a deleted fleet cannot be restored; its description is kept as evidence"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return _fleet_state(_fleet(ctx, step))

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        return [ctx.evidence(step, "ec2", "DescribeFleets", _fleet(ctx, step) or {})]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        response = ctx.client("ec2", step.target.region).delete_fleets(
            FleetIds=[step.target.id], TerminateInstances=False)
        failed = response.get("UnsuccessfulFleetDeletions") or []
        if failed:
            raise ActionError(f"DeleteFleets refused: {(failed[0].get('Error') or {}).get('Code')}")
        return {"deleted": step.target.id}


def _spot_fleet(ctx: ActionContext, step: Step) -> dict[str, Any] | None:
    try:
        response = ctx.client("ec2", step.target.region).describe_spot_fleet_requests(
            SpotFleetRequestIds=[step.target.id])
    except ClientError as exc:
        if error_code(exc) != "InvalidSpotFleetRequestId.NotFound":
            raise
        return None
    configs: list[dict[str, Any]] = response.get("SpotFleetRequestConfigs", [])
    return configs[0] if configs else None


def _spot_fleet_state(fleet: Mapping[str, Any] | None) -> dict[str, Any]:
    if fleet is None:
        return {"state": None, "target_capacity": None}
    return {"state": fleet.get("SpotFleetRequestState"),
            "target_capacity": (fleet.get("SpotFleetRequestConfig") or {}).get("TargetCapacity")}


@register
class CancelSpotFleet(Action):
    name = "ec2.cancel-spot-fleet"
    title = "Cancel a Spot Fleet request without terminating its instances (their own steps do)"
    resource_type = "AWS::EC2::SpotFleet"
    permissions = ("ec2:DescribeSpotFleetRequests", "ec2:CancelSpotFleetRequests")
    reversible = False
    how_to_undo = "a cancelled spot fleet cannot be reopened; its configuration is kept as evidence"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return _spot_fleet_state(_spot_fleet(ctx, step))

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        return [ctx.evidence(step, "ec2", "DescribeSpotFleetRequests", _spot_fleet(ctx, step) or {})]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        response = ctx.client("ec2", step.target.region).cancel_spot_fleet_requests(
            SpotFleetRequestIds=[step.target.id], TerminateInstances=False)
        failed = response.get("UnsuccessfulFleetRequests") or []
        if failed:
            raise ActionError(f"CancelSpotFleetRequests refused: {(failed[0].get('Error') or {}).get('Code')}")
        return {"cancelled": step.target.id}


@register
class ModifySpotFleetCapacity(Action):
    name = "ec2.modify-spot-fleet-capacity"
    title = "Set a Spot Fleet's target capacity to zero (instances kept for their own steps)"
    resource_type = "AWS::EC2::SpotFleet"
    permissions = ("ec2:DescribeSpotFleetRequests", "ec2:ModifySpotFleetRequest")
    reversible = True
    how_to_undo = "ModifySpotFleetRequest back to the previous target capacity"
    undo_permissions = ("ec2:ModifySpotFleetRequest",)
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return _spot_fleet_state(_spot_fleet(ctx, step))

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        return [ctx.evidence(step, "ec2", "DescribeSpotFleetRequests", _spot_fleet(ctx, step) or {})]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        before = _spot_fleet_state(_spot_fleet(ctx, step))
        ctx.client("ec2", step.target.region).modify_spot_fleet_request(
            SpotFleetRequestId=step.target.id, TargetCapacity=0, ExcessCapacityTerminationPolicy="noTermination")
        return {"previous_capacity": before["target_capacity"]}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous_capacity")
        if previous is None:
            raise ActionError("the journal holds no previous capacity for this spot fleet")
        ctx.client("ec2", step.target.region).modify_spot_fleet_request(
            SpotFleetRequestId=step.target.id, TargetCapacity=int(previous))
        return {"restored": previous}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"target_capacity": result.get("previous_capacity")}
