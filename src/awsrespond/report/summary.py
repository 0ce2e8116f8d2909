"""What happened, in five lines, from the case: shared by the HTML and Markdown reports.

A line is a list of segments: catalog text, or a value from the case (``data=True``), which the
sink shows as data (monospace in HTML, escaped in Markdown) and never interprets.
"""

from __future__ import annotations

import string
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from awsrespond.i18n import Messages
from awsrespond.report.casedata import CaseData
from awsrespond.report.timeline import iso

LIST_LIMIT = 4


@dataclass(frozen=True)
class Segment:
    text: str
    data: bool = False


Line = list[Segment]


def segments(messages: Messages, key: str, **values: str) -> Line:
    """The catalog text of ``key`` split around its placeholders, each filled as a data segment."""
    template = messages.t(key)
    out: Line = []
    for literal, name, _, _ in string.Formatter().parse(template):
        if literal:
            out.append(Segment(literal))
        if name:
            out.append(Segment(values[name], data=True))
    return out


def _listing(messages: Messages, items: list[str]) -> str:
    shown = ", ".join(items[:LIST_LIMIT])
    if len(items) > LIST_LIMIT:
        shown += " " + messages.t("summary.more", count=len(items) - LIST_LIMIT)
    return shown


def summary_lines(data: CaseData, messages: Messages) -> list[Line]:
    a = data.attacker
    lines: list[Line] = []
    if a.access_key_ids or a.principals:
        lines.append(segments(messages, "summary.who", keys=_listing(messages, a.access_key_ids) or "-",
                              principals=_listing(messages, a.principals) or "-",
                              ips=_listing(messages, a.source_ips) or "-"))
    else:
        lines.append(segments(messages, "summary.who_unknown"))
    if a.first_seen is not None:
        lines.append(segments(messages, "summary.when", first=iso(a.first_seen), last=iso(a.last_seen),
                              events=str(a.events), sessions=str(len(data.sessions))))
    else:
        lines.append(segments(messages, "summary.when_unknown", since=data.window_since or "-"))
    created = data.created_resources()
    if created:
        per_region = Counter(f.resource.region for f in created)
        regions = ", ".join(f"{region} ({count})" for region, count in per_region.most_common())
        kinds = Counter(f.resource.type.removeprefix("AWS::") for f in created)
        lines.append(segments(messages, "summary.created", count=str(len(created)), regions=regions,
                              kinds=", ".join(f"{kind} {n}" for kind, n in kinds.most_common(6))))
    else:
        lines.append(segments(messages, "summary.created_none"))
    containment = [x for x in data.actions if not x.command.startswith(("recover", "harden"))]
    recovery = [x for x in data.actions if x.command.startswith(("recover", "harden"))]
    if data.actions:
        lines.append(segments(
            messages, "summary.done", contained=str(sum(x.succeeded for x in containment)),
            contain_total=str(len(containment)), recovered=str(sum(x.succeeded for x in recovery)),
            recover_total=str(len(recovery)), open=str(len(data.open_findings))))
    else:
        lines.append(segments(messages, "summary.done_nothing", open=str(len(data.open_findings))))
    curve = data.cost_curve
    if curve is not None and curve.days:
        peak = max(curve.days, key=lambda d: d.amount)
        extra = curve.extra_cost
        instances: Decimal | None = data.attack_cost.attacker_instance_cost if data.attack_cost else None
        lines.append(segments(messages, "summary.cost", peak=f"{peak.amount:,.2f}", currency=curve.currency,
                              day=peak.date, extra=f"{extra:,.2f}",
                              instances=f"{instances:,.2f}" if instances is not None else "-"))
    else:
        lines.append(segments(messages, "summary.cost_unknown"))
    return lines
