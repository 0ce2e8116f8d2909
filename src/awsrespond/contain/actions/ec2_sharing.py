"""Unshare snapshots and AMIs: remove the public ('all') grant and the outside accounts.

Snapshots and images are never deleted (they may be evidence or backups); unsharing is reversible,
and the removed grants are kept in the journal for undo.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from awsrespond.aws.errors import error_code
from awsrespond.contain.actions.base import Action, ActionContext, register
from awsrespond.contain.model import Step


class _Unshare(Action):
    """Common shape: params {"accounts": [...], "public": bool} name what to remove."""

    attribute: ClassVar[str]  # createVolumePermission / launchPermission
    response_key: ClassVar[str]
    id_param: ClassVar[str]
    describe_op: ClassVar[str]
    reversible = True
    cuts_attacker_access = True

    def _permissions(self, ctx: ActionContext, step: Step) -> list[dict[str, Any]]:
        client = ctx.client("ec2", step.target.region)
        call = getattr(client, self.describe_op)
        try:
            response = call(**{self.id_param: step.target.id, "Attribute": self.attribute})
        except ClientError as exc:
            if error_code(exc) not in ("InvalidSnapshot.NotFound", "InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"):
                raise
            return []
        perms: list[dict[str, Any]] = response.get(self.response_key, [])
        return perms

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        perms = self._permissions(ctx, step)
        return {"public": any(p.get("Group") == "all" for p in perms),
                "shared_with": sorted({str(p["UserId"]) for p in perms if p.get("UserId")})}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        perms = self._permissions(ctx, step)
        return [ctx.evidence(step, "ec2", self.describe_op, {self.response_key: perms})]

    def _remove_list(self, public: bool, accounts: list[str]) -> list[dict[str, str]]:
        return ([{"Group": "all"}] if public else []) + [{"UserId": a} for a in accounts]

    @abstractmethod
    def _modify(self, ctx: ActionContext, step: Step, verb: str, items: list[dict[str, str]]) -> None:
        """ModifySnapshotAttribute / ModifyImageAttribute with ``{verb: items}`` (Add or Remove)."""

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        state = self.observe(ctx, step)
        public = bool(step.params.get("public")) and state["public"]
        accounts = sorted(set(step.params.get("accounts") or []) & set(state["shared_with"]))
        items = self._remove_list(public, accounts)
        if items:
            self._modify(ctx, step, "Remove", items)
        return {"removed_public": public, "removed_accounts": accounts}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        items = self._remove_list(bool(result.get("removed_public")), list(result.get("removed_accounts") or []))
        if items:
            self._modify(ctx, step, "Add", items)
        return {"restored": items}


@register
class UnshareSnapshot(_Unshare):
    name = "ec2.unshare-snapshot"
    title = "Stop sharing a snapshot publicly or with outside accounts"
    resource_type = "AWS::EC2::Snapshot"
    permissions = ("ec2:DescribeSnapshotAttribute", "ec2:ModifySnapshotAttribute")
    how_to_undo = "ModifySnapshotAttribute Add with the removed grants kept in the journal"
    undo_permissions = ("ec2:ModifySnapshotAttribute",)
    attribute = "createVolumePermission"
    response_key = "CreateVolumePermissions"
    id_param = "SnapshotId"
    describe_op = "describe_snapshot_attribute"

    def _modify(self, ctx: ActionContext, step: Step, verb: str, items: list[dict[str, str]]) -> None:
        # The OperationType form: AWS takes both, the emulator only this one.
        groups = [i["Group"] for i in items if "Group" in i]
        users = [i["UserId"] for i in items if "UserId" in i]
        ctx.client("ec2", step.target.region).modify_snapshot_attribute(
            SnapshotId=step.target.id, Attribute=self.attribute, OperationType=verb.lower(),
            **({"GroupNames": groups} if groups else {}), **({"UserIds": users} if users else {}))


@register
class UnshareImage(_Unshare):
    name = "ec2.unshare-image"
    title = "Stop sharing an AMI publicly or with outside accounts"
    resource_type = "AWS::EC2::Image"
    permissions = ("ec2:DescribeImageAttribute", "ec2:ModifyImageAttribute")
    how_to_undo = "ModifyImageAttribute Add with the removed grants kept in the journal"
    undo_permissions = ("ec2:ModifyImageAttribute",)
    attribute = "launchPermission"
    response_key = "LaunchPermissions"
    id_param = "ImageId"
    describe_op = "describe_image_attribute"

    def _modify(self, ctx: ActionContext, step: Step, verb: str, items: list[dict[str, str]]) -> None:
        ctx.client("ec2", step.target.region).modify_image_attribute(
            ImageId=step.target.id, Attribute=self.attribute, LaunchPermission={verb: items})
