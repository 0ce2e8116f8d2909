"""Rendering results for people: findings grouped by severity, coverage, where the case is."""

from __future__ import annotations

from collections import Counter

from rich.table import Table
from rich.text import Text

from awsrespond.cli.ui import SEVERITY_STYLE, Ui, safe
from awsrespond.coverage import GapKind
from awsrespond.findings import Classification, Finding, Severity
from awsrespond.report.localize import finding_title
from awsrespond.textsafe import one_line, strip_control
from awsrespond.timeutil import iso
from awsrespond.triage import TriageResult


def triage_summary(ui: Ui, result: TriageResult, case_path: str) -> None:
    out = ui.out
    counts = Counter(f.severity for f in result.findings)
    head = ui.text("triage.head", "bold", account=result.identity.account_id)
    head.append(ui.text("triage.since", since=iso(result.since) or ui.t("triage.since_none")))
    head.append("  ")
    for severity in reversed(list(Severity)):
        if counts.get(severity):
            head.append(f"{severity_name(ui, severity)} {counts[severity]}  ", style=SEVERITY_STYLE[severity.value])
    out.print(head)
    if not result.findings:
        out.print(ui.text("triage.no_findings"))
    _headline(ui, result)
    severity_groups(ui, result.findings)
    out.print()
    _coverage(ui, result)
    for note in result.notes:
        ui.warn(note)
    tail = Text(ui.t("common.case"), style="bold")
    tail.append(" ")
    tail.append(safe(case_path))
    tail.append(ui.text("triage.tail", findings=len(result.findings), calls=result.api_calls,
                        seconds=(result.finished - result.started).total_seconds()))
    out.print(tail)


def severity_name(ui: Ui, severity: Severity) -> str:
    return ui.t(f"severity.{severity.value}")


def classification_name(ui: Ui, classification: Classification) -> str:
    return ui.t(f"classification.{classification.value}")


def severity_groups(ui: Ui, findings: list[Finding], *, limit: int | None = None) -> None:
    """Findings under one heading per severity, worst first; ``limit`` rows per group."""
    out = ui.out
    for severity in reversed(list(Severity)):
        group = [f for f in findings if f.severity is severity]
        if not group:
            continue
        out.print()
        out.print(Text(f"{severity_name(ui, severity).upper()} ({len(group)})", style=SEVERITY_STYLE[severity.value]))
        table = Table(box=None, show_header=False, pad_edge=False, expand=False, padding=(0, 2, 0, 0))
        table.add_column("resource", overflow="fold", ratio=2)
        table.add_column("region", no_wrap=True)
        table.add_column("finding", overflow="fold", ratio=3)
        for finding in group[:limit]:
            reasons = "; ".join(str(r) for r in finding.details.get("reasons", []))
            what = Text(strip_control(finding_title(finding, ui.lang)))
            what.append(f"  [{classification_name(ui, finding.classification)}]", style="dim")
            if finding.count:
                what.append("  ")
                what.append(ui.text("findings.events", "dim", count=finding.count))
            if reasons:
                what.append("\n")
                what.append(strip_control(one_line(reasons, 300)), style="dim")
            table.add_row(safe(resource_label(finding)), safe(finding.resource.region), what)
        out.print(table)
        if limit is not None and len(group) > limit:
            out.print(ui.text("findings.more", "dim", count=len(group) - limit))


def _headline(ui: Ui, result: TriageResult) -> None:
    """One line a person under stress reads first: what is suspect, and where."""
    suspect = {(f.resource.type, f.resource.id, f.resource.region) for f in result.findings
               if f.classification is not Classification.POSTURE
               and f.resource.type not in ("AWS::EC2::Region", "AWS::CE::CostAndUsage")}
    if not suspect:
        return
    kinds = Counter(rtype.split("::")[-1] for rtype, _, _ in suspect)
    regions = sorted({region for _, _, region in suspect if region != "global"})
    line = Text(ui.t("triage.suspect"), style="bold")
    line.append(" ")
    line.append(safe(", ".join(f"{n} {kind}" for kind, n in kinds.most_common())))
    if regions:
        line.append(ui.text("triage.suspect_regions", regions=", ".join(regions)))
    if any(f.rule == "billing-cost-spike" for f in result.findings):
        line.append(ui.text("triage.bill_spiked"))
    ui.out.print(line)


def resource_label(finding: Finding) -> str:
    kind = finding.resource.type.split("::")[-1]
    rid, name = finding.resource.id, finding.details.get("name")
    if rid.startswith("arn:") and name:  # the ARN is in the JSON; a person needs the name
        return f"{kind} {one_line(name, 80)}"
    label = f"{kind} {one_line(rid, 80)}"
    return f"{label} ({one_line(name, 60)})" if name else label


def _coverage(ui: Ui, result: TriageResult) -> None:
    out = ui.out
    line = ui.text("coverage.swept", count=len(result.regions))
    if result.not_enabled:
        line.append(ui.text("coverage.not_enabled", regions=", ".join(result.not_enabled)))
    out.print(line)
    problems = [g for g in result.coverage if g.kind not in (GapKind.NOT_COLLECTED, GapKind.NOT_ENABLED)]
    for gap in problems:
        row = Text(f"  {gap.kind.value}: ", style="yellow")
        row.append(ui.text("coverage.gap", scope=gap.scope, region=gap.region, message=one_line(gap.message, 300)))
        out.print(row)
    not_collected = [g.scope for g in result.coverage if g.kind is GapKind.NOT_COLLECTED]
    if not_collected:
        out.print(ui.text("coverage.not_collected", "dim", scopes=", ".join(not_collected)))
