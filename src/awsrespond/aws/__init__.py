"""Reaching AWS: sessions, the client factory, regions, fan-out and error classification."""

from awsrespond.aws.clients import ApiCall, ClientFactory, SessionSpec
from awsrespond.aws.errors import ErrorKind, classify_error
from awsrespond.aws.identity import CallerIdentity, whoami
from awsrespond.aws.regions import RegionPlan, plan_regions

__all__ = [
    "ApiCall",
    "CallerIdentity",
    "ClientFactory",
    "ErrorKind",
    "RegionPlan",
    "SessionSpec",
    "classify_error",
    "plan_regions",
    "whoami",
]
