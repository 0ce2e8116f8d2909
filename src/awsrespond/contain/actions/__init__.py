"""The action modules; importing this package registers every action class."""

from awsrespond.contain.actions import (
    base,
    ec2_capacity,
    ec2_instances,
    ec2_network,
    ec2_sharing,
    iam_access,
    iam_revert,
    iam_teardown,
    lambda_functions,
    logs,
    recheck,
)

__all__ = ["base", "ec2_capacity", "ec2_instances", "ec2_network", "ec2_sharing", "iam_access", "iam_revert",
           "iam_teardown", "lambda_functions", "logs", "recheck"]
