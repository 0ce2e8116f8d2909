"""Times: ISO-8601 everywhere; a time without an offset means UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from awsrespond.errors import UsageError


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 date or date-time; naive values are UTC.

    Relative forms such as ``7d``, ``12h`` or ``30m`` mean that long before now.
    """
    value = text.strip()
    if value and value[-1] in "dhm" and value[:-1].isdigit():
        unit = {"d": "days", "h": "hours", "m": "minutes"}[value[-1]]
        return now_utc() - timedelta(**{unit: int(value[:-1])})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError as exc:
        raise UsageError(f"not an ISO-8601 time: {text!r} (example: 2026-11-20T09:00:00Z)") from exc
    return as_utc(parsed)


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")


def now_utc() -> datetime:
    return datetime.now(UTC)


def coerce_instant(value: object) -> datetime | None:
    """Best effort for the many shapes AWS returns times in (datetime, ISO string, epoch)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        if value in ("N/A", "not_supported", "no_information"):
            return None
        try:
            return parse_instant(value)
        except UsageError:
            return None
    return None
