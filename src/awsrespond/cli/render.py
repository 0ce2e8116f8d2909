"""Rendering results for people: findings grouped by severity, coverage, where the case is."""

from __future__ import annotations

from collections import Counter

from rich.table import Table
from rich.text import Text

from awsrespond.cli.ui import SEVERITY_STYLE, Ui, safe
from awsrespond.coverage import GapKind
from awsrespond.findings import Classification, Finding, Severity
from awsrespond.textsafe import one_line, strip_control
from awsrespond.timeutil import iso
from awsrespond.triage import TriageResult


def triage_summary(ui: Ui, result: TriageResult, case_path: str) -> None:
    out = ui.out
    counts = Counter(f.severity for f in result.findings)
    head = Text("Triage of account ", style="bold")
    head.append(safe(result.identity.account_id))
    head.append(f"  since {iso(result.since) or '(not given)'}  ")
    for severity in reversed(list(Severity)):
        if counts.get(severity):
            head.append(f"{severity.value} {counts[severity]}  ", style=SEVERITY_STYLE[severity.value])
    out.print(head)
    if not result.findings:
        out.print("No findings.")
    _headline(ui, result)
    severity_groups(ui, result.findings)
    out.print()
    _coverage(ui, result)
    for note in result.notes:
        ui.warn(note)
    tail = Text("Case: ", style="bold")
    tail.append(safe(case_path))
    tail.append(f"  ({len(result.findings)} findings in findings.json, {result.api_calls} API calls, "
                f"{(result.finished - result.started).total_seconds():.1f} s)")
    out.print(tail)


def severity_groups(ui: Ui, findings: list[Finding], *, limit: int | None = None) -> None:
    """Findings under one heading per severity, worst first; ``limit`` rows per group."""
    out = ui.out
    for severity in reversed(list(Severity)):
        group = [f for f in findings if f.severity is severity]
        if not group:
            continue
        out.print()
        out.print(Text(f"{severity.value.upper()} ({len(group)})", style=SEVERITY_STYLE[severity.value]))
        table = Table(box=None, show_header=False, pad_edge=False, expand=False, padding=(0, 2, 0, 0))
        table.add_column("resource", overflow="fold", ratio=2)
        table.add_column("region", no_wrap=True)
        table.add_column("finding", overflow="fold", ratio=3)
        for finding in group[:limit]:
            reasons = "; ".join(str(r) for r in finding.details.get("reasons", []))
            what = Text(strip_control(finding.title))
            what.append(f"  [{finding.classification.value}]", style="dim")
            if finding.count:
                what.append(f"  {finding.count} event(s)", style="dim")
            if reasons:
                what.append("\n")
                what.append(strip_control(one_line(reasons, 300)), style="dim")
            table.add_row(safe(resource_label(finding)), safe(finding.resource.region), what)
        out.print(table)
        if limit is not None and len(group) > limit:
            out.print(Text(f"  ... {len(group) - limit} more in the JSON", style="dim"))


def _headline(ui: Ui, result: TriageResult) -> None:
    """One line a person under stress reads first: what is suspect, and where."""
    suspect = {(f.resource.type, f.resource.id, f.resource.region) for f in result.findings
               if f.classification is not Classification.POSTURE
               and f.resource.type not in ("AWS::EC2::Region", "AWS::CE::CostAndUsage")}
    if not suspect:
        return
    kinds = Counter(rtype.split("::")[-1] for rtype, _, _ in suspect)
    regions = sorted({region for _, _, region in suspect if region != "global"})
    line = Text("Suspect: ", style="bold")
    line.append(", ".join(f"{n} {kind}" for kind, n in kinds.most_common()))
    if regions:
        line.append(f"  in {', '.join(regions)}")
    if any(f.rule == "billing-cost-spike" for f in result.findings):
        line.append("; the bill spiked")
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
    line = Text(f"Coverage: {len(result.regions)} regions swept")
    if result.not_enabled:
        line.append(f", not enabled: {', '.join(result.not_enabled)}")
    out.print(line)
    problems = [g for g in result.coverage if g.kind not in (GapKind.NOT_COLLECTED, GapKind.NOT_ENABLED)]
    for gap in problems:
        row = Text(f"  {gap.kind.value}: ", style="yellow")
        row.append(safe(f"{gap.scope} in {gap.region}: {one_line(gap.message, 300)}"))
        out.print(row)
    not_collected = [g.scope for g in result.coverage if g.kind is GapKind.NOT_COLLECTED]
    if not_collected:
        out.print(Text(f"  not collected yet: {', '.join(not_collected)}", style="dim"))
