"""Write every report and export of a case into ``<case>/reports/`` (0600 files in a 0700 directory)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from awsrespond.case.workspace import write_private
from awsrespond.i18n import Lang
from awsrespond.report.aws_text import render_aws_text
from awsrespond.report.casedata import CaseData, load_case
from awsrespond.report.exports.asff import render_asff
from awsrespond.report.exports.case_json import REPORTS_DIR, render_json
from awsrespond.report.exports.csv_export import render_csv
from awsrespond.report.exports.ocsf import render_ocsf
from awsrespond.report.html import render_html
from awsrespond.report.markdown import render_markdown

Renderer = Callable[[CaseData], str]


def report_names(lang: Lang) -> dict[str, str]:
    """Key -> file name under ``<case>/reports/``."""
    return {
        "html": f"report.{lang.value}.html",
        "md": f"report.{lang.value}.md",
        "json": "report.json",
        "csv": "findings.csv",
        "ocsf": "findings.ocsf.json",
        "asff": "findings.asff.json",
        "aws": "aws-report.txt",
    }


def renderers(lang: Lang) -> dict[str, Renderer]:
    """Key -> function rendering that report from the case data (HTML and Markdown in ``lang``)."""
    return {
        "html": lambda data: render_html(data, lang),
        "md": lambda data: render_markdown(data, lang),
        "json": render_json,
        "csv": render_csv,
        "ocsf": render_ocsf,
        "asff": render_asff,
        "aws": render_aws_text,
    }


def write_reports(root: Path, lang: Lang, data: CaseData | None = None) -> dict[str, Path]:
    """Load the case once (unless ``data`` is given) and write every report; returns key -> path written."""
    data = data if data is not None else load_case(root)
    target = data.root / REPORTS_DIR
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    target.chmod(0o700)
    names = report_names(lang)
    written: dict[str, Path] = {}
    for key, render in renderers(lang).items():
        path = target / names[key]
        write_private(path, render(data).encode("utf-8"), parent_exists=True)
        written[key] = path
    return written


def write_one(path: Path, text: str) -> Path:
    """One report at ``path`` (0600; a missing parent directory is created 0700)."""
    write_private(path, text.encode("utf-8"))
    return path
