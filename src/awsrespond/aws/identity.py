"""Who we are and which account we are looking at."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import describe_error
from awsrespond.errors import AwsCallError


@dataclass(frozen=True)
class CallerIdentity:
    account_id: str
    arn: str
    user_id: str
    alias: str | None
    alias_error: str | None = None

    @property
    def partition(self) -> str:
        parts = self.arn.split(":")
        return parts[1] if len(parts) > 1 else "aws"

    def as_dict(self) -> dict[str, str | None]:
        return {"id": self.account_id, "alias": self.alias, "caller_arn": self.arn, "user_id": self.user_id}


def whoami(factory: ClientFactory) -> CallerIdentity:
    """STS identity and the account alias. STS failing is fatal; the alias is best effort."""
    try:
        ident = factory.client("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as exc:
        raise AwsCallError(
            f"cannot establish the caller identity ({describe_error(exc)}); check credentials and --profile",
            operation="sts:GetCallerIdentity",
            region=factory.default_region,
        ) from exc
    alias: str | None = None
    alias_error: str | None = None
    try:
        aliases = factory.client("iam").list_account_aliases().get("AccountAliases", [])
        alias = aliases[0] if aliases else None
    except (ClientError, BotoCoreError) as exc:
        alias_error = f"iam:ListAccountAliases: {describe_error(exc)}"
    return CallerIdentity(
        account_id=ident["Account"],
        arn=ident["Arn"],
        user_id=ident["UserId"],
        alias=alias,
        alias_error=alias_error,
    )
