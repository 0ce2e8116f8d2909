"""The attacker timeline and the daily cost curve as chart geometry.

Plain numbers and labels only: the HTML template draws them as inline SVG (so every label goes
through Jinja's autoescape) and the Markdown report uses :func:`event_table`. Events are binned by
time, one lane per attacker session; a window where every event has the same second (the demo) is
drawn as one bin in the middle of a one-minute axis.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from awsrespond.hunt.session_model import AttackerSession
from awsrespond.recover.attack_cost import CostCurve

WIDTH = 960
LEFT = 170  # room for the lane labels
RIGHT = 20
LANE_HEIGHT = 34
TOP = 10
AXIS_HEIGHT = 40
BINS = 72
COST_HEIGHT = 150
MIN_SPAN = timedelta(minutes=1)
_STEPS = [timedelta(seconds=s) for s in (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600)] + [
    timedelta(days=d) for d in (1, 2, 7, 14, 30, 90, 365)
]


def iso(value: datetime | None) -> str:
    """ISO-8601 in UTC to the second, ``Z`` suffix; empty for None."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    width: float
    height: float
    count: int
    start: str
    end: str


@dataclass(frozen=True)
class Lane:
    index: int
    session_id: str
    label: str  # the credential the session started from (attacker-controlled text)
    y: float
    events: int
    marks: list[Mark]


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class TimelineChart:
    width: int
    height: int
    left: int
    right: int
    axis_y: float
    lanes: list[Lane]
    ticks: list[Tick]
    start: str
    end: str
    bin_seconds: float
    single_instant: bool


@dataclass(frozen=True)
class CostBar:
    x: float
    y: float
    width: float
    height: float
    date: str
    amount: str
    spike: bool


@dataclass(frozen=True)
class CostChart:
    width: int
    height: int
    left: int
    base_y: float
    bars: list[CostBar]
    max_amount: str
    currency: str
    first_day: str
    last_day: str
    spike_days: list[str] = field(default_factory=list)
    extra_cost: str = ""


def _times(session: AttackerSession) -> list[datetime]:
    return [e.time if e.time.tzinfo else e.time.replace(tzinfo=UTC) for e in session.timeline]


def _step(span: timedelta) -> timedelta:
    for step in _STEPS:
        if span / step <= 8:
            return step
    return _STEPS[-1]


def _tick_label(value: datetime, step: timedelta, first: bool) -> str:
    text = iso(value)
    if step >= timedelta(days=1):
        return text[:10]
    if first or (value.hour == 0 and value.minute == 0 and value.second == 0):
        return text if step < timedelta(minutes=1) else text[:16] + "Z"
    return text[11:] if step < timedelta(minutes=1) else text[11:16] + "Z"


def timeline_chart(sessions: list[AttackerSession]) -> TimelineChart | None:
    """One lane per session with a timeline; None when no session has any event."""
    with_events = [s for s in sessions if s.timeline]
    if not with_events:
        return None
    all_times = [t for s in with_events for t in _times(s)]
    first, last = min(all_times), max(all_times)
    single = first == last
    span = last - first
    if span < MIN_SPAN:
        middle = first + span / 2
        first, last = middle - MIN_SPAN / 2, middle + MIN_SPAN / 2
        span = MIN_SPAN
    plot = WIDTH - LEFT - RIGHT
    bin_span = span / BINS
    bin_width = plot / BINS

    def x_of(t: datetime) -> float:
        return LEFT + plot * ((t - first) / span)

    lanes: list[Lane] = []
    for index, session in enumerate(with_events):
        y = TOP + index * LANE_HEIGHT
        bins: Counter[int] = Counter()
        for t in _times(session):
            bins[min(BINS - 1, int((t - first) / bin_span))] += 1
        peak = max(bins.values())
        marks = []
        for number, count in sorted(bins.items()):
            height = 6 + (LANE_HEIGHT - 12) * (count / peak)
            start = first + bin_span * number
            marks.append(Mark(round(LEFT + bin_width * number, 2), round(y + (LANE_HEIGHT - height) / 2, 2),
                              round(max(bin_width - 1, 2), 2), round(height, 2), count, iso(start),
                              iso(start + bin_span)))
        lanes.append(Lane(index, session.id, session.started_from, y, len(session.timeline), marks))
    axis_y = TOP + len(lanes) * LANE_HEIGHT + 4
    step = _step(span)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    whole, rest = divmod(first - epoch, step)
    tick = epoch + step * (whole + (1 if rest else 0))  # the first multiple of step at or after ``first``
    ticks: list[Tick] = []
    while tick <= last:
        ticks.append(Tick(round(x_of(tick), 2), _tick_label(tick, step, not ticks)))
        tick += step
    return TimelineChart(WIDTH, int(axis_y + AXIS_HEIGHT), LEFT, RIGHT, axis_y, lanes, ticks, iso(min(all_times)),
                         iso(max(all_times)), bin_span.total_seconds(), single)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def cost_chart(curve: CostCurve | None) -> CostChart | None:
    """Bars per day, spike days flagged; None without a curve or days."""
    if curve is None or not curve.days:
        return None
    peak = max((d.amount for d in curve.days), default=Decimal(0))
    plot = WIDTH - LEFT - RIGHT
    width = plot / len(curve.days)
    base_y = TOP + COST_HEIGHT
    bars = []
    for number, day in enumerate(curve.days):
        height = float(day.amount / peak) * COST_HEIGHT if peak > 0 else 0.0
        bars.append(CostBar(round(LEFT + width * number, 2), round(base_y - max(height, 1.0), 2),
                            round(max(width - 2, 1), 2), round(max(height, 1.0), 2), day.date, _money(day.amount),
                            day.spike))
    return CostChart(WIDTH, int(base_y + AXIS_HEIGHT), LEFT, base_y, bars, _money(peak), curve.currency,
                     curve.days[0].date, curve.days[-1].date, list(curve.spike_days), _money(curve.extra_cost))


@dataclass(frozen=True)
class EventRow:
    session_id: str
    period: str  # "2026-11-29T00:00Z" (hour) or "2026-11-29" (day)
    events: int
    event_names: list[tuple[str, int]]


def event_table(sessions: list[AttackerSession]) -> tuple[str, list[EventRow]]:
    """Events per session per hour (per day when the window spans more than two days)."""
    times = [t for s in sessions for t in _times(s)]
    if not times:
        return "hour", []
    by_day = max(times) - min(times) > timedelta(days=2)
    rows = []
    for session in sessions:
        periods: dict[str, Counter[str]] = {}
        for entry, t in zip(session.timeline, _times(session), strict=True):
            key = iso(t)[:10] if by_day else iso(t)[:13] + ":00Z"
            periods.setdefault(key, Counter())[entry.event_name or "?"] += 1
        for key in sorted(periods):
            names = periods[key]
            rows.append(EventRow(session.id, key, sum(names.values()), names.most_common(5)))
    return ("day" if by_day else "hour"), rows
