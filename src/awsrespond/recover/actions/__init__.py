"""The recovery and hardening actions; importing this package registers every action class."""
from awsrespond.recover.actions import (
    account_contacts,  # noqa: F401
    budgets,  # noqa: F401
    hardening,  # noqa: F401
    iam_passwords,  # noqa: F401
    restore,  # noqa: F401
)
