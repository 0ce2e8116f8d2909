"""Hunt results for people: the attacker timeline first, then what it created, then the findings."""

from __future__ import annotations

from rich.text import Text

from awsrespond.cli.render import resource_label, severity_groups
from awsrespond.cli.ui import SEVERITY_STYLE, Ui, safe
from awsrespond.findings import Classification, Finding
from awsrespond.hunt.run import HuntResult
from awsrespond.hunt.session_model import AttackerSession, TimelineEntry
from awsrespond.report.localize import translate
from awsrespond.textsafe import one_line, strip_control
from awsrespond.timeutil import iso

TIMELINE_ROWS = 40
FINDINGS_PER_SEVERITY = 25


def hunt_summary(ui: Ui, result: HuntResult, case_path: str | None) -> None:
    out = ui.out
    stats = result.stats
    head = ui.text("hunt.head", "bold", events=stats["events"])
    head.append(ui.text("hunt.window", count=stats["window_events"],
                        since=iso(result.window.since) or ui.t("hunt.window_start"),
                        until=iso(result.window.until) or ui.t("hunt.window_now")))
    out.print(head)
    if not result.sessions:
        out.print(ui.text("hunt.no_session"))
    titles = {d.rule: translate(f"rule.{d.rule}.title", d.title, ui.lang) for d in result.detections}
    for session in result.sessions:
        _session(ui, session, titles)
    severity_groups(ui, result.findings, limit=FINDINGS_PER_SEVERITY)
    out.print()
    for note in result.notes:
        ui.warn(note)
    if result.errors:
        ui.warn(ui.text("hunt.input_problems", count=len(result.errors)))
        for error in result.errors[:20]:
            ui.err.print(Text("  "), safe(one_line(error, 300)))
        if len(result.errors) > 20:
            ui.err.print(ui.text("hunt.more_errors", "dim", count=len(result.errors) - 20))
    tail = Text(ui.t("common.case"), style="bold")
    tail.append(" ")
    tail.append(safe(case_path or ui.t("hunt.no_case")))
    tail.append(ui.text("hunt.tail", findings=len(result.findings), rules=stats["rules"],
                        seconds=stats["total_s"]))
    out.print(tail)


def _session(ui: Ui, session: AttackerSession, titles: dict[str, str]) -> None:
    out = ui.out
    out.print()
    title = ui.text("hunt.session", SEVERITY_STYLE[session.severity.value], id=session.id)
    title.append(ui.t("hunt.started_from"))
    title.append(strip_control(session.started_from), style="bold")
    if session.principal:
        title.append(" (")
        title.append(safe(session.principal))
        title.append(")")
    out.print(title)
    facts = ui.text("hunt.session_facts", first=iso(session.first_seen), last=iso(session.last_seen),
                    events=session.event_count,
                    ips=", ".join(session.source_ips[:6]) + (" ..." if len(session.source_ips) > 6 else ""),
                    regions=", ".join(session.regions))
    out.print(facts)
    if session.other_accounts:
        line = Text(ui.t("hunt.other_accounts"), style="yellow")
        line.append(" ")
        line.append(safe(", ".join(session.other_accounts)))
        out.print(line)
    runs = _runs(session.timeline)
    for first, last, count in runs[:TIMELINE_ROWS]:
        out.print(_timeline_line(ui, first, last, count, titles))
    if len(runs) > TIMELINE_ROWS:
        rest = sum(count for _, _, count in runs[TIMELINE_ROWS:])
        out.print(ui.text("hunt.more_events", "dim", count=rest))
    if session.created:
        line = ui.text("hunt.created", "bold", count=len(session.created))
        line.append(" ")
        line.append(safe(one_line(", ".join(f"{r.type.split('::')[-1]} {r.id}" for r in session.created), 800)))
        out.print(line)
    if session.changed:
        line = ui.text("hunt.changed", "bold", count=len(session.changed))
        line.append(" ")
        line.append(safe(one_line(", ".join(f"{r.type.split('::')[-1]} {r.id}" for r in session.changed), 500)))
        out.print(line)


def attribution_summary(ui: Ui, findings: list[Finding]) -> None:
    """What the case's findings now say each thing is: the attacker's to remove, or yours to take back."""
    created = [f for f in findings if f.classification is Classification.ATTACKER_CREATED]
    used = [f for f in findings if f.classification is Classification.ATTACKER_USED]
    out = ui.out
    out.print()
    out.print(ui.text("attribution.head", "bold"))
    resources = sorted({resource_label(f) for f in created})
    line = ui.text("attribution.created", "red", count=len(resources))
    line.append(" ")
    line.append(safe(one_line(", ".join(resources), 900)))
    out.print(line)
    resources = sorted({resource_label(f) for f in used})
    line = ui.text("attribution.used", "bold red", count=len(resources))
    line.append(" ")
    line.append(safe(one_line(", ".join(resources), 600)))
    out.print(line)


def _same(a: TimelineEntry, b: TimelineEntry) -> bool:
    return (not a.created and not b.created and a.event_name == b.event_name and a.error_code == b.error_code
            and a.credential == b.credential and a.source_ip == b.source_ip and a.region == b.region
            and a.rules == b.rules)


def _runs(timeline: list[TimelineEntry]) -> list[tuple[TimelineEntry, TimelineEntry, int]]:
    """Consecutive calls that differ only in time (a loop over secrets or regions) as one line."""
    runs: list[tuple[TimelineEntry, TimelineEntry, int]] = []
    for entry in timeline:
        if runs and _same(runs[-1][1], entry):
            first, _, count = runs[-1]
            runs[-1] = (first, entry, count + 1)
        else:
            runs.append((entry, entry, 1))
    return runs


def _timeline_line(ui: Ui, first: TimelineEntry, last: TimelineEntry, count: int, titles: dict[str, str]) -> Text:
    line = Text("  ")
    line.append(iso(first.time) or "?", style="dim")
    line.append(f"  {one_line(first.region or '-', 20)}  {one_line(first.source_ip or '-', 40)}  ")
    line.append(one_line(first.event_name or "?", 60), style="bold")
    if count > 1:
        line.append(ui.text("hunt.repeat", count=count, until=iso(last.time)))
    if first.error_code:
        line.append(f" ({one_line(first.error_code, 40)})", style="dim")
    line.append(ui.text("hunt.by", "dim", credential=one_line(first.credential, 60)))
    if first.created:
        line.append(ui.t("hunt.created_inline"))
        line.append(one_line(", ".join(first.created), 200), style="red")
    if first.rules:
        line.append("  <- " + one_line("; ".join(titles.get(rule, rule) for rule in first.rules), 200),
                    style="yellow")
    return line
