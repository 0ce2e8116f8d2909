"""One module per area; importing this package registers every check and fixer (in the report's order)."""

from awsrespond.harden.checks import (  # noqa: F401
    account,
    budgets,
    cloudtrail,
    guardduty,
    iam_credentials,
    iam_password,
    iam_root,
    s3,
)
