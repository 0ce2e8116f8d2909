"""The account's alternate security contact is set (AWS writes there about abuse and security issues)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.errors import describe_error
from awsrespond.harden.model import CheckSeverity
from awsrespond.harden.registry import HardenContext, Outcome, check, errored, failed, passed
from awsrespond.recover.contacts import ACCOUNT_REGION, CONSOLE_URL, read_alternate_contact

CHECK_ID = "account.security-contact"
FIX = f"`awsrespond recover contacts` (set the SECURITY alternate contact); console: {CONSOLE_URL}"


@check(CHECK_ID, "The alternate security contact is set", CheckSeverity.MEDIUM)
def security_contact(ctx: HardenContext) -> Outcome:
    # One GetAlternateContact, through recover.contacts' reader (read_contacts would also read the other
    # contacts and GetContactInformation, which this check does not need).
    client = ctx.factory.client("account", ACCOUNT_REGION)
    try:
        contact = read_alternate_contact(client, "SECURITY")
    except (ClientError, BotoCoreError) as exc:
        error = f"account:GetAlternateContact in {ACCOUNT_REGION} failed: {describe_error(exc)}"
        return errored(error, f"check the security contact in the console: {CONSOLE_URL}", errors=[error])
    if contact is None:
        return failed("no alternate security contact: AWS's security notices go only to the root e-mail address",
                      FIX, fixable=False)
    return passed(f"security contact set ({contact.get('EmailAddress') or 'no e-mail address'})")
