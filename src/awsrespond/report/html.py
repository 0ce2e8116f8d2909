"""The HTML incident report: one self-contained file, no script, no network.

Rendered with Jinja2 autoescape and StrictUndefined; every value passes through ``finalize``, which
strips ANSI and control characters before it is escaped. Charts are inline SVG drawn by the
template from :mod:`awsrespond.report.timeline`. A strict CSP meta tag opens ``<head>`` as defence in
depth: even a value that escaped escaping could neither run script nor load anything.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from awsrespond.i18n import Lang, Messages
from awsrespond.report.casedata import CaseData, FindingStatus
from awsrespond.report.console_links import links_for
from awsrespond.report.localize import checklist_title, finding_recommendation, finding_title
from awsrespond.report.sections import EVENT_IDS_LIMIT, details_text, plan_actions, status_counts
from awsrespond.report.summary import summary_lines
from awsrespond.report.timeline import cost_chart, iso, timeline_chart
from awsrespond.textsafe import strip_control

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _finalize(value: Any) -> Any:
    return strip_control(value) if isinstance(value, str) else value


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("awsrespond.report", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(iso=iso, links_for=links_for, details_text=details_text, status_counts=status_counts,
                       EVENT_IDS_LIMIT=EVENT_IDS_LIMIT)
    return env


def render_html(data: CaseData, lang: Lang) -> str:
    """The whole report as one HTML document in ``lang``."""
    messages = Messages(lang, "report")
    containment, recovery = plan_actions(data)
    status_totals = {s.value: sum(1 for f in data.findings if f.status is s) for s in FindingStatus}
    return environment().get_template("report.html.j2").render(
        t=messages.t,
        lang=lang.value,
        csp=CSP,
        data=data,
        summary=summary_lines(data, messages),
        timeline=timeline_chart(data.sessions),
        cost=cost_chart(data.cost_curve),
        by_severity=data.by_severity(),
        status_totals=status_totals,
        containment=containment,
        recovery=recovery,
        title_of=lambda finding: finding_title(finding, lang),
        recommendation_of=lambda finding: finding_recommendation(finding, lang),
        checklist_title_of=lambda item: checklist_title(item, lang),
    )
