"""Sorting AWS errors into what the responder needs to know."""

from __future__ import annotations

from enum import StrEnum

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, ReadTimeoutError

# A region that is not enabled for the account answers with one of these (attackers enable regions,
# so "not enabled" is coverage information, not an error).
NOT_ENABLED_CODES = frozenset(
    {"OptInRequired", "AuthFailure", "UnrecognizedClientException", "InvalidClientTokenId"}
)
# What EC2 answers in a region the account has not enabled: these speak for the whole region.
REGION_NOT_ENABLED_CODES = frozenset({"OptInRequired", "AuthFailure"})
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
    }
)
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
)
UNAVAILABLE_CODES = frozenset(
    {"OptInRequiredException", "SubscriptionRequiredException", "DataUnavailableException"}
)


class ErrorKind(StrEnum):
    NOT_ENABLED = "not-enabled"
    ACCESS_DENIED = "access-denied"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"
    UNREACHABLE = "unreachable"
    ERROR = "error"


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


def classify_error(exc: BaseException) -> ErrorKind:
    code = error_code(exc)
    if code in NOT_ENABLED_CODES:
        return ErrorKind.NOT_ENABLED
    if code in ACCESS_DENIED_CODES:
        return ErrorKind.ACCESS_DENIED
    if code in THROTTLING_CODES:
        return ErrorKind.THROTTLED
    if code in UNAVAILABLE_CODES:
        return ErrorKind.UNAVAILABLE
    if isinstance(exc, EndpointConnectionError | ReadTimeoutError):
        return ErrorKind.UNREACHABLE
    return ErrorKind.ERROR


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()
    if isinstance(exc, BotoCoreError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
