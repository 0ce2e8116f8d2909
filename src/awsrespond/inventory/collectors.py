"""Imports every collector module so that each registers itself in ``registry``."""

# Regional and billing collectors.
from awsrespond.inventory import autoscaling, billing, ec2, lambda_, logging_posture

# isort: split
# IAM and account collectors (global).
from awsrespond.inventory import iam, organization

__all__ = ["autoscaling", "billing", "ec2", "iam", "lambda_", "logging_posture", "organization"]
