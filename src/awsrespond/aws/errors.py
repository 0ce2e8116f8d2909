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


_MESSAGE_MAX = 300


def _one_line(message: str) -> str:
    """An error message fit for one line of output: an HTML error page (an endpoint that does not implement
    the API, a proxy) is named instead of printed, whitespace collapsed, length capped."""
    text = message.strip()
    if text[:1] == "<" and ("<html" in text[:200].lower() or "<!doctype" in text[:200].lower()):
        return "the endpoint answered with an HTML error page (is this API implemented there?)"
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_MAX else text[:_MESSAGE_MAX - 1] + "…"


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {_one_line(str(err.get('Message', '')))}".strip()
    if isinstance(exc, BotoCoreError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
