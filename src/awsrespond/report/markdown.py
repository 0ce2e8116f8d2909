"""The incident report as Markdown, for tickets: the HTML report's sections without the chart.

Every value from the case passes through :func:`md_escape`: control characters stripped, all
whitespace (newlines included) collapsed to one space, and every character Markdown or GFM could
read as syntax backslash-escaped, so no value becomes a link, an image, an autolink, emphasis,
raw HTML or an extra table column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from awsrespond.i18n import Lang, Messages
from awsrespond.report.casedata import CaseData
from awsrespond.report.console_links import links_for
from awsrespond.report.localize import checklist_title, finding_recommendation, finding_title
from awsrespond.report.sections import EVENT_IDS_LIMIT, PlanActions, plan_actions, status_counts
from awsrespond.report.summary import Line, summary_lines
from awsrespond.report.timeline import event_table, iso
from awsrespond.textsafe import strip_control

# CommonMark lets any ASCII punctuation be backslash-escaped; these are the ones with a meaning in
# CommonMark, GFM (tables, strikethrough, autolinks: "/" breaks "://", "." breaks "www.", "@" e-mail)
# or common extensions (math "$", footnotes "^").
_SPECIAL = set("\\`*_{}[]()#+-.!|<>&~/@$^")
_ESCAPES = str.maketrans({c: "\\" + c for c in _SPECIAL})


def md_escape(text: object) -> str:
    """``text`` as inert Markdown: one line, every syntax character escaped."""
    return " ".join(strip_control(str(text)).split()).translate(_ESCAPES)


def md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GFM table; cells must already be Markdown (escaped values), headers are catalog text."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out.extend("| " + " | ".join(cell or " " for cell in row) + " |" for row in rows)
    return "\n".join(out)


def _code(value: object) -> str:
    return md_escape(value)


def _line(line: Line) -> str:
    return "".join(md_escape(seg.text) if seg.data else seg.text for seg in line)


class _Writer:
    def __init__(self, data: CaseData, lang: Lang) -> None:
        self.data = data
        self.lang = lang
        self.m = Messages(lang, "report")
        self.parts: list[str] = []

    def t(self, key: str, **values: object) -> str:
        return self.m.t(key, **{k: md_escape(v) for k, v in values.items()})

    def add(self, *blocks: str) -> None:
        self.parts.extend(blocks)

    def render(self) -> str:
        d = self.data
        self.add(f"# {self.t('title', account=d.account_id)}",
                 f"{self.t('meta.case')}: {md_escape(d.case_id)} · {self.t('meta.account')}: {md_escape(d.account_id)}"
                 + (f" ({md_escape(d.alias)})" if d.alias else "")
                 + f" · {self.t('meta.caller')}: {md_escape(d.caller_arn)}"
                 + f" · {self.t('meta.window')}: {md_escape(d.window_since or '-')} – "
                 + f"{md_escape(d.window_until) if d.window_until else self.t('meta.now')}")
        self.summary()
        self.timeline()
        self.regions()
        self.findings()
        self.actions()
        self.still_open()
        self.evidence()
        self.add(f"_{self.t('footer')}_")
        return "\n\n".join(self.parts) + "\n"

    def summary(self) -> None:
        self.add(f"## {self.t('section.summary')}",
                 "\n".join(f"{n}. {_line(line)}" for n, line in enumerate(summary_lines(self.data, self.m), 1)))
        a = self.data.attacker
        facts = (("attacker.keys", a.access_key_ids), ("attacker.principals", a.principals),
                 ("attacker.ips", a.source_ips), ("attacker.agents", a.user_agents))
        self.add(md_table([" ", " "], ([self.t(key), ", ".join(md_escape(v) for v in values) or "-"]
                                       for key, values in facts)))

    def timeline(self) -> None:
        self.add(f"## {self.t('section.timeline')}")
        unit, rows = event_table(self.data.sessions)
        if not rows:
            self.add(f"_{self.t('timeline.none')}_")
        else:
            self.add(self.t("events.title", period=self.m.t(f"events.{unit}")), md_table(
                [self.t("col.session"), self.t("col.period"), self.t("col.events"), self.t("col.top_events")],
                ([md_escape(r.session_id), r.period, str(r.events),
                  ", ".join(f"{md_escape(name)} ({n})" for name, n in r.event_names)] for r in rows)))
        curve = self.data.cost_curve
        self.add(f"### {self.t('cost.title')}")
        if curve is None or not curve.days:
            self.add(f"_{self.t('cost.none')}_")
            return
        peak = max(d.amount for d in curve.days)
        self.add(self.t("cost.range", first=curve.days[0].date, last=curve.days[-1].date, peak=f"{peak:,.2f}",
                        currency=curve.currency, extra=f"{curve.extra_cost:,.2f}"))
        spikes = [d for d in curve.days if d.spike]
        if spikes:
            self.add(md_table([self.t("col.time"), md_escape(curve.currency)],
                              ([md_escape(d.date), f"{d.amount:,.2f} ({self.t('cost.spike')})"] for d in spikes)))

    def regions(self) -> None:
        self.add(f"## {self.t('section.regions')}")
        if not self.data.regions_touched:
            self.add(f"_{self.t('regions.none')}_")
            return
        self.add(md_table([self.t("col.region"), self.t("col.events")],
                          ([md_escape(r), str(n)] for r, n in self.data.regions_touched.items())))

    def findings(self) -> None:
        self.add(f"## {self.t('section.findings')}")
        if not self.data.findings:
            self.add(f"_{self.t('findings.none')}_")
        for severity, items in self.data.by_severity().items():
            self.add(f"### {self.t('severity.' + severity.value)} ({len(items)})")
            for item in items:
                f = item.finding
                lines = [f"- **{self.t('status.' + item.status.value)}** · {md_escape(finding_title(f, self.lang))}",
                         f"  - {self.t('finding.resource')}: {_code(f.resource.type)} {_code(f.resource.id)} · "
                         f"{_code(f.resource.region)}",
                         f"  - {self.t('finding.classification')}: {self.t('class.' + f.classification.value)} · "
                         f"{_code(f.rule)}"]
                for key, value in (("finding.principal", f.principal), ("finding.access_key", f.access_key_id),
                                   ("finding.source_ip", f.source_ip)):
                    if value:
                        lines.append(f"  - {self.t(key)}: {_code(value)}")
                if f.first_seen:
                    lines.append(f"  - {self.t('finding.time')}: {iso(f.first_seen)} – {iso(f.last_seen)}")
                if f.event_ids:
                    shown = ", ".join(_code(e) for e in f.event_ids[:EVENT_IDS_LIMIT])
                    more = len(f.event_ids) - EVENT_IDS_LIMIT
                    lines.append(f"  - {self.t('finding.events')}: {shown}"
                                 + (f" {self.t('summary.more', count=more)}" if more > 0 else ""))
                for ev in f.evidence:
                    lines.append(f"  - {self.t('finding.evidence')}: {_code(ev.file)} sha256 {_code(ev.sha256)}")
                if f.recommendation:
                    lines.append(f"  - {self.t('finding.recommendation')}: "
                                 f"{md_escape(finding_recommendation(f, self.lang))}")
                if item.actions:
                    lines.append(f"  - {self.t('finding.actions')}: " + ", ".join(
                        f"{_code(a.action)} ({self.t('step.' + a.status.value)})" for a in item.actions))
                links = links_for(f)
                if links:
                    lines.append(f"  - {self.t('finding.console')}: " + " · ".join(
                        f"[{self.t('link.' + link.label)}]({link.url})" for link in links))
                self.add("\n".join(lines))

    def _plans(self, title: str, groups: list[PlanActions]) -> None:
        self.add(f"### {title}")
        if not groups:
            self.add(f"_{self.t('actions.none')}_")
        for group in groups:
            plan = group.plan
            self.add(f"{md_escape('awsrespond ' + plan.command)} · {self.t('actions.plan')} {md_escape(plan.plan_id)}"
                     f" · {iso(plan.created)} · {self.t('actions.steps', count=plan.steps)}"
                     f" ({md_escape(status_counts(plan))})",
                     md_table([self.t("col.step"), self.t("col.action"), self.t("col.target"), self.t("col.region"),
                               self.t("col.result")],
                              ([md_escape(a.step), md_escape(a.action),
                                f"{md_escape(a.target_type)} {md_escape(a.target_id)}", md_escape(a.region),
                                self.t("step." + a.status.value) + (f" {md_escape(a.message)}" if a.message else "")]
                               for a in group.actions)))

    def actions(self) -> None:
        self.add(f"## {self.t('section.actions')}")
        containment, recovery = plan_actions(self.data)
        self._plans(self.t("actions.containment"), containment)
        self._plans(self.t("actions.recovery"), recovery)

    def still_open(self) -> None:
        d = self.data
        self.add(f"## {self.t('section.open')}", f"### {self.t('open.findings', count=len(d.open_findings))}")
        if d.open_findings:
            self.add(md_table([self.t("col.severity"), self.t("col.status"), self.t("col.finding"),
                               self.t("col.resource")],
                              ([self.t("severity." + i.finding.severity.value), self.t("status." + i.status.value),
                                md_escape(finding_title(i.finding, self.lang)),
                                f"{md_escape(i.finding.resource.type)} {md_escape(i.finding.resource.id)}"]
                               for i in d.open_findings)))
        else:
            self.add(f"_{self.t('open.findings_none')}_")
        self.add(f"### {self.t('open.checklist')}")
        if d.checklist is None:
            self.add(f"_{self.t('open.checklist_missing')}_")
        elif d.open_checklist:
            self.add(md_table([self.t("col.status"), self.t("col.item"), self.t("col.next")],
                              ([self.t("check." + item.status.value),
                                f"{md_escape(checklist_title(item, self.lang))} ({md_escape(item.detail)})",
                                md_escape(item.next)]
                               for item in d.open_checklist)))
        else:
            self.add(f"_{self.t('open.checklist_done')}_")
        self.add(f"### {self.t('open.coverage', count=len(d.coverage))}")
        if d.coverage:
            self.add(md_table([self.t("col.kind"), self.t("col.scope"), self.t("col.region"), self.t("col.message")],
                              ([md_escape(g.kind.value), md_escape(g.scope), md_escape(g.region), md_escape(g.message)]
                               for g in d.coverage)))
        else:
            self.add(f"_{self.t('open.coverage_none')}_")
        if d.problems or d.hunt_errors:
            self.add(f"### {self.t('open.problems')}",
                     "\n".join(f"- {md_escape(p)}" for p in [*d.problems, *d.hunt_errors]))
        if d.notes:
            self.add(f"### {self.t('open.notes')}", "\n".join(f"- {md_escape(n)}" for n in d.notes))

    def evidence(self) -> None:
        d = self.data
        self.add(f"## {self.t('section.evidence')}", self.t("evidence.count", count=len(d.evidence)))
        if d.evidence:
            self.add(md_table([self.t("col.file"), "SHA-256"],
                              ([md_escape(e.file), md_escape(e.sha256)] for e in d.evidence)))


def render_markdown(data: CaseData, lang: Lang) -> str:
    """The report as GitHub-flavoured Markdown in ``lang``."""
    return _Writer(data, lang).render()
