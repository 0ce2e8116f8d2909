"""Actions of ``harden --fix``: trail settings, a new trail with its bucket, the account's S3 public access block.

Existing actions cover the rest (cloudtrail.start-logging, guardduty.*, iam.deactivate-access-key,
iam.delete-login-profile, iam.update-account-password-policy).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from awsrespond.aws.errors import error_code
from awsrespond.contain.actions.base import TAG_PLAN, TAG_STEP, Action, ActionContext, ActionError, matches, register
from awsrespond.contain.model import Step
from awsrespond.findings import EvidenceRef

CLOUDTRAIL_PRINCIPAL = "cloudtrail.amazonaws.com"
PAB_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
# our observe key -> UpdateTrail argument / DescribeTrails field
TRAIL_SETTINGS = {"multi_region": ("IsMultiRegionTrail", "IsMultiRegionTrail"),
                  "log_file_validation": ("EnableLogFileValidation", "LogFileValidationEnabled")}
_GONE = frozenset({"TrailNotFoundException", "NoSuchBucket", "404", "NotFound"})


def _trail(ctx: ActionContext, step: Step) -> dict[str, Any] | None:
    """DescribeTrails' entry of the step's trail in its home region, or None when there is none."""
    client = ctx.client("cloudtrail", step.target.region)
    name = step.target.arn or step.target.id
    try:
        found = client.describe_trails(trailNameList=[name], includeShadowTrails=False).get("trailList") or []
    except ClientError as exc:
        if error_code(exc) in _GONE:
            return None
        raise
    return dict(found[0]) if found else None


def _ours(tags: Mapping[str, str], ctx: ActionContext, step: Step) -> bool:
    return tags.get(TAG_PLAN) == ctx.plan.plan_id and tags.get(TAG_STEP) == step.id


@register
class UpdateTrail(Action):
    """params.settings: ``{"multi_region": true, "log_file_validation": true}`` (either or both)."""

    name = "cloudtrail.update-trail"
    title = "Make a trail multi-region and/or turn on its log-file validation"
    resource_type = "AWS::CloudTrail::Trail"
    permissions = ("cloudtrail:DescribeTrails", "cloudtrail:UpdateTrail")
    reversible = True
    how_to_undo = "UpdateTrail back to the settings it had (kept in the step's result)"
    undo_permissions = ("cloudtrail:UpdateTrail",)

    def _settings(self, step: Step) -> dict[str, bool]:
        settings = step.params.get("settings")
        if not isinstance(settings, dict) or not settings or set(settings) - set(TRAIL_SETTINGS):
            raise ActionError(f"step {step.id}: params.settings must name some of {sorted(TRAIL_SETTINGS)}")
        return {key: bool(value) for key, value in settings.items()}

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        trail = _trail(ctx, step)
        if trail is None:
            return {"exists": False}
        return {key: bool(trail.get(field)) for key, (_, field) in TRAIL_SETTINGS.items()}

    def _update(self, ctx: ActionContext, step: Step, settings: Mapping[str, bool]) -> None:
        arguments = {TRAIL_SETTINGS[key][0]: value for key, value in settings.items()}
        ctx.client("cloudtrail", step.target.region).update_trail(Name=step.target.arn or step.target.id,
                                                                  **arguments)

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        settings = self._settings(step)
        before = self.observe(ctx, step)
        if before.get("exists") is False:
            raise ActionError(f"trail {step.target.id} no longer exists")
        self._update(ctx, step, settings)
        return {"previous": {key: before[key] for key in settings}, "set": settings}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous")
        if not isinstance(previous, dict) or not previous:
            raise ActionError("the step's result does not hold the trail's previous settings")
        self._update(ctx, step, {key: bool(value) for key, value in previous.items() if key in TRAIL_SETTINGS})
        return {"restored": previous}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous")
        return dict(previous) if isinstance(previous, dict) else dict(step.expect)


def trail_bucket_policy(bucket: str, trail_arn: str, account_id: str, partition: str = "aws") -> dict[str, Any]:
    """CloudTrail's documented bucket policy, limited to the one trail (aws:SourceArn), TLS only."""
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    source = {"aws:SourceArn": trail_arn}
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AWSCloudTrailAclCheck", "Effect": "Allow", "Principal": {"Service": CLOUDTRAIL_PRINCIPAL},
         "Action": "s3:GetBucketAcl", "Resource": bucket_arn, "Condition": {"StringEquals": source}},
        {"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": CLOUDTRAIL_PRINCIPAL},
         "Action": "s3:PutObject", "Resource": f"{bucket_arn}/AWSLogs/{account_id}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **source}}},
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [bucket_arn, f"{bucket_arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}


@register
class CreateTrailBucket(Action):
    """A private bucket for a new trail's logs: tagged with the case, public access blocked, the CloudTrail
    bucket policy for one trail. params: ``trail_arn``, ``account_id``."""

    name = "s3.create-trail-bucket"
    title = "Create a private S3 bucket for a new CloudTrail trail's logs"
    resource_type = "AWS::S3::Bucket"
    permissions = ("s3:ListBucket", "s3:GetBucketTagging", "s3:GetBucketPublicAccessBlock", "s3:GetBucketPolicy",
                   "s3:CreateBucket", "s3:PutBucketTagging", "s3:PutBucketPublicAccessBlock", "s3:PutBucketPolicy")
    reversible = False
    how_to_undo = ("not undone by the tool: the bucket holds the trail's logs (evidence). Delete the trail first, "
                   "then empty and delete the bucket by hand if it is really not wanted")
    idempotent = False  # CreateBucket of a name someone else holds fails; reconcile finds ours by its tags

    def _s3(self, ctx: ActionContext, step: Step) -> Any:
        return ctx.client("s3", step.target.region)

    def _tags(self, ctx: ActionContext, step: Step) -> dict[str, str] | None:
        """The bucket's tags ({} when it has none), or None when the bucket does not exist."""
        s3 = self._s3(ctx, step)
        try:
            s3.head_bucket(Bucket=step.target.id)
        except ClientError as exc:
            if error_code(exc) in _GONE:
                return None
            raise
        try:
            tag_set = s3.get_bucket_tagging(Bucket=step.target.id).get("TagSet") or []
        except ClientError as exc:
            if error_code(exc) != "NoSuchTagSet":
                raise
            tag_set = []
        return {t["Key"]: t["Value"] for t in tag_set}

    def _policy(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return trail_bucket_policy(step.target.id, str(step.params["trail_arn"]), str(step.params["account_id"]),
                                   str(step.target.arn or "arn:aws").split(":")[1])

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        if self._tags(ctx, step) is None:
            return {"exists": False, "public_access_blocked": False, "cloudtrail_policy": False}
        s3 = self._s3(ctx, step)
        try:
            block = s3.get_public_access_block(Bucket=step.target.id).get("PublicAccessBlockConfiguration") or {}
        except ClientError as exc:
            if error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise
            block = {}
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=step.target.id).get("Policy") or "{}")
        except ClientError as exc:
            if error_code(exc) != "NoSuchBucketPolicy":
                raise
            policy = {}
        return {"exists": True, "public_access_blocked": all(bool(block.get(k)) for k in PAB_SETTINGS),
                "cloudtrail_policy": policy == self._policy(ctx, step)}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        return []  # nothing exists yet to keep

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        s3 = self._s3(ctx, step)
        bucket, region = step.target.id, step.target.region
        tags = self._tags(ctx, step)
        if tags is not None and not _ours(tags, ctx, step):
            raise ActionError(f"bucket {bucket} exists and was not made by this step: choose another name")
        if tags is None:
            kwargs: dict[str, Any] = {"Bucket": bucket}
            if region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            s3.create_bucket(**kwargs)
            # Tagged first: an interrupted run finds its bucket by these tags (reconcile).
            s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": ctx.tags(step)})
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=dict.fromkeys(PAB_SETTINGS, True))
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(self._policy(ctx, step)))
        return {"bucket": bucket, "region": region, "trail_arn": step.params["trail_arn"]}

    def reconcile(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        tags = self._tags(ctx, step)
        if tags is None or not _ours(tags, ctx, step):
            return None
        if not matches(self.observe(ctx, step), step.post):
            return None  # made but not finished: apply() finishes it (it skips CreateBucket for our bucket)
        return {"bucket": step.target.id, "reconciled": "found by tags"}


@register
class CreateTrail(Action):
    """A multi-region trail with log-file validation into ``params.bucket``, tagged with the case."""

    name = "cloudtrail.create-trail"
    title = "Create a multi-region CloudTrail trail with log-file validation"
    resource_type = "AWS::CloudTrail::Trail"
    permissions = ("cloudtrail:DescribeTrails", "cloudtrail:ListTags", "cloudtrail:CreateTrail",
                   "cloudtrail:AddTags")
    reversible = True
    how_to_undo = "DeleteTrail on the trail this step created (its logs stay in the bucket)"
    undo_permissions = ("cloudtrail:DeleteTrail",)
    idempotent = False

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        trail = _trail(ctx, step)
        if trail is None:
            return {"exists": False}
        return {"exists": True, **{key: bool(trail.get(field)) for key, (_, field) in TRAIL_SETTINGS.items()}}

    def capture(self, ctx: ActionContext, step: Step) -> list[EvidenceRef]:
        return []

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        answer = ctx.client("cloudtrail", step.target.region).create_trail(
            Name=step.target.id, S3BucketName=str(step.params["bucket"]), IsMultiRegionTrail=True,
            EnableLogFileValidation=True, IncludeGlobalServiceEvents=True, TagsList=ctx.tags(step))
        return {"trail_arn": answer.get("TrailARN"), "bucket": step.params["bucket"]}

    def reconcile(self, ctx: ActionContext, step: Step) -> dict[str, Any] | None:
        trail = _trail(ctx, step)
        if trail is None:
            return None
        client = ctx.client("cloudtrail", step.target.region)
        listed = client.list_tags(ResourceIdList=[trail["TrailARN"]]).get("ResourceTagList") or []
        tags = {t["Key"]: t["Value"] for entry in listed for t in entry.get("TagsList") or []}
        if not _ours(tags, ctx, step):
            return None
        return {"trail_arn": trail["TrailARN"], "bucket": step.params["bucket"], "reconciled": "found by tags"}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        arn = result.get("trail_arn") or step.target.arn
        if not arn:
            raise ActionError("the step's result names no trail: nothing this step created to delete")
        ctx.client("cloudtrail", step.target.region).delete_trail(Name=str(arn))
        return {"deleted": arn}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"exists": False}


@register
class PutAccountPublicAccessBlock(Action):
    """All four S3 Block Public Access settings on for the account (S3 Control, target id = account id)."""

    name = "s3control.put-public-access-block"
    title = "Turn on S3 Block Public Access for the whole account"
    resource_type = "AWS::S3::AccountPublicAccessBlock"
    permissions = ("s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock")
    reversible = True
    how_to_undo = ("PutPublicAccessBlock with the settings it had (DeletePublicAccessBlock when there were none): "
                   "buckets can be made public again")
    undo_permissions = ("s3:PutAccountPublicAccessBlock",)

    def _client(self, ctx: ActionContext, step: Step) -> Any:
        return ctx.client("s3control", step.target.region)

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        try:
            answer = self._client(ctx, step).get_public_access_block(AccountId=step.target.id)
        except ClientError as exc:
            if error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise
            return {"configured": False, **dict.fromkeys(PAB_SETTINGS, False)}
        config = answer.get("PublicAccessBlockConfiguration") or {}
        return {"configured": True, **{k: bool(config.get(k)) for k in PAB_SETTINGS}}

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        before = self.observe(ctx, step)
        self._client(ctx, step).put_public_access_block(
            AccountId=step.target.id, PublicAccessBlockConfiguration=dict.fromkeys(PAB_SETTINGS, True))
        return {"previous": before}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous")
        if not isinstance(previous, dict):
            raise ActionError("the step's result does not hold the previous settings")
        client = self._client(ctx, step)
        if not previous.get("configured"):
            client.delete_public_access_block(AccountId=step.target.id)
            return {"deleted": "the account had no public access block before the step"}
        client.put_public_access_block(AccountId=step.target.id,
                                       PublicAccessBlockConfiguration={k: bool(previous.get(k)) for k in PAB_SETTINGS})
        return {"restored": previous}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous")
        return dict(previous) if isinstance(previous, dict) else dict(step.expect)
