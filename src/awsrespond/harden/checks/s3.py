"""S3 Block Public Access at the account level: all four settings on."""

from __future__ import annotations

from collections.abc import Mapping

from awsrespond.aws.errors import error_code
from awsrespond.contain.model import Target
from awsrespond.harden.model import CheckSeverity, CheckStatus
from awsrespond.harden.registry import GLOBAL, HardenContext, Outcome, ReadError, check, failed, fixer, passed
from awsrespond.recover.changes import ChangeSet

CHECK_ID = "s3.account-public-access-block"
SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
RESOURCE = "AWS::S3::AccountPublicAccessBlock"
NO_CONFIGURATION = "NoSuchPublicAccessBlockConfiguration"


def read_account_block(ctx: HardenContext) -> dict[str, bool] | None:
    """The four settings, or None when the account has no configuration. Raises ReadError."""
    try:
        answer = ctx.call("s3control", "get_public_access_block", GLOBAL, AccountId=ctx.account_id)
    except ReadError as exc:
        if error_code(exc.cause) == NO_CONFIGURATION:
            return None
        raise
    config = answer.get("PublicAccessBlockConfiguration") or {}
    return {name: bool(config.get(name)) for name in SETTINGS}


@check(CHECK_ID, "S3 Block Public Access is on for the whole account", CheckSeverity.HIGH)
def account_public_access_block(ctx: HardenContext) -> Outcome:
    config = read_account_block(ctx)
    fix = "`awsrespond harden --fix` turns on all four account-level settings (PutPublicAccessBlock)"
    if config is None:
        return failed("no account-level public access block is configured", fix, fixable=True,
                      facts={"config": None})
    off = [name for name, value in config.items() if not value]
    if off:
        return failed(f"off at the account level: {', '.join(off)}", fix, fixable=True, resources=off,
                      facts={"config": config})
    return passed("all four account-level settings are on")


@fixer(CHECK_ID)
def fix_account_block(ctx: HardenContext, outcomes: Mapping[str, Outcome], changes: ChangeSet) -> None:
    outcome = outcomes.get(CHECK_ID)
    if outcome is None or outcome.status is not CheckStatus.FAIL:
        return
    config = outcome.facts.get("config")
    before = {"configured": config is not None, **{name: bool((config or {}).get(name)) for name in SETTINGS}}
    changes.add("s3control.put-public-access-block", Target(type=RESOURCE, id=ctx.account_id, region=GLOBAL),
                expect=before, post={"configured": True, **dict.fromkeys(SETTINGS, True)},
                reason="no bucket of this account can be made public by an ACL or a bucket policy")
