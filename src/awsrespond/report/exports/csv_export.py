"""CSV of the findings, one row per finding, safe to open in a spreadsheet.

Every cell is attacker-controlled text until proven otherwise. A cell that a spreadsheet would read as
a formula (first character ``= + - @``, TAB or CR) gets a leading ``'`` unless it is a plain number
(``-12.5``, ``+3``, ``1e5`` stay numbers; ``-1+2`` is not one). Control characters are removed and
whitespace runs (newlines included) become one space, so a row is one line and nothing hides in a cell.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from awsrespond.report.casedata import CaseData, ReportFinding
from awsrespond.report.console_links import links_for
from awsrespond.textsafe import strip_control
from awsrespond.timeutil import iso

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# C0 and C1 controls, DEL, and the invisible format characters that can hide a leading '='.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_SPACE = re.compile(r"[ \t\r\n]+")

COLUMNS = (
    "id", "severity", "classification", "status", "rule", "title", "resource_type", "resource_id",
    "resource_region", "resource_arn", "principal", "access_key_id", "source_ip", "first_seen", "last_seen",
    "count", "mitre", "recommendation", "console_link",
)


def is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None


def safe_cell(value: object) -> str:
    """One cell: no control characters, one line, no live formula."""
    if value is None:
        return ""
    raw = str(value)
    # Decided on the raw text first: a leading TAB or CR is neutralised, not just stripped.
    prefix = "'" if raw and raw[0] in FORMULA_START and not is_number(raw) else ""
    text = _SPACE.sub(" ", _CONTROL.sub("", strip_control(raw))).strip()
    if not prefix and text and text[0] in FORMULA_START and not is_number(text):
        prefix = "'"  # something invisible or whitespace stood in front of the formula
    return prefix + text if text or prefix else ""


def finding_row(item: ReportFinding) -> list[str]:
    f = item.finding
    values: Sequence[object] = (
        f.id, f.severity.value, f.classification.value, item.status.value, f.rule, f.title, f.resource.type,
        f.resource.id, f.resource.region, f.resource.arn, f.principal, f.access_key_id, f.source_ip,
        iso(f.first_seen), iso(f.last_seen), f.count, " ".join(f.mitre), f.recommendation,
        next((link.url for link in links_for(f)), None),
    )
    return [safe_cell(v) for v in values]


def write_rows(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def render_csv(data: CaseData) -> str:
    """The findings as CSV (RFC 4180, CRLF line ends, UTF-8)."""
    return write_rows(COLUMNS, (finding_row(item) for item in data.findings))
