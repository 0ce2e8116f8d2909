"""What a run could not see. Every gap is listed in the output; nothing is silently absent."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from awsrespond.aws.errors import ErrorKind


class GapKind(StrEnum):
    NOT_ENABLED = "not-enabled"  # the region is not enabled for the account
    ACCESS_DENIED = "access-denied"
    THROTTLED = "throttled"
    UNREACHABLE = "unreachable"
    UNAVAILABLE = "unavailable"  # the service or feature is not enabled (Cost Explorer, ...)
    ERROR = "error"
    NOT_COLLECTED = "not-collected"  # awsrespond does not look at this resource type yet
    UNREADABLE = "unreadable"  # an input file or record could not be parsed


class CoverageGap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: GapKind
    scope: str  # collector, API operation or resource type
    region: str  # region, "global", or "*" for all
    message: str

    @property
    def partial(self) -> bool:
        """A gap that means results may be incomplete (as opposed to a known limitation)."""
        return self.kind not in (GapKind.NOT_ENABLED, GapKind.NOT_COLLECTED)


_GAP_FOR_ERROR = {
    ErrorKind.NOT_ENABLED: GapKind.NOT_ENABLED,
    ErrorKind.ACCESS_DENIED: GapKind.ACCESS_DENIED,
    ErrorKind.THROTTLED: GapKind.THROTTLED,
    ErrorKind.UNREACHABLE: GapKind.UNREACHABLE,
    ErrorKind.UNAVAILABLE: GapKind.UNAVAILABLE,
    ErrorKind.ERROR: GapKind.ERROR,
}


def gap_kind(kind: ErrorKind) -> GapKind:
    """The coverage gap an AWS error of this kind leaves."""
    return _GAP_FOR_ERROR[kind]
