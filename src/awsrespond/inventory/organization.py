"""The AWS Organization the account belongs to: its accounts are "known" in trust policies."""

from __future__ import annotations

from botocore.exceptions import ClientError

from awsrespond.inventory.base import GLOBAL, CollectContext, Collector, Item, collector

_NOT_IN_ORG = frozenset({"AWSOrganizationsNotInUseException"})


@collector
class OrganizationCollector(Collector):
    name = "organizations"
    scope = "global"
    resource_types = ("AWS::Organizations::Organization",)
    permissions = ("organizations:DescribeOrganization", "organizations:ListAccounts")

    def collect(self, ctx: CollectContext) -> None:
        orgs = ctx.client("organizations")
        try:
            org = orgs.describe_organization()["Organization"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_IN_ORG:
                return  # a standalone account: nothing to know
            raise
        refs = [ctx.keep("organizations", "DescribeOrganization", org)]
        accounts: list[str] = []
        note = None
        try:
            listed = ctx.paginate("organizations", "list_accounts", "Accounts")
            refs.append(ctx.keep("organizations", "ListAccounts", listed))
            accounts = sorted(a["Id"] for a in listed)
        except ClientError as exc:
            # Member accounts may not list the organization; the management account id is still known.
            note = f"organizations:ListAccounts: {exc.response.get('Error', {}).get('Code')}"
        ctx.add(
            Item(
                type="AWS::Organizations::Organization",
                id=org["Id"],
                region=GLOBAL,
                arn=org.get("Arn"),
                data={
                    "management_account": org.get("MasterAccountId"),
                    "accounts": accounts,
                    "accounts_note": note,
                },
                evidence=refs,
            )
        )
