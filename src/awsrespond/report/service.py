"""Write every report and export of a case into ``<case>/reports/`` (0600 files in a 0700 directory)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from awsrespond.case.workspace import write_private
from awsrespond.i18n import Lang
from awsrespond.report.casedata import CaseData, load_case
from awsrespond.report.exports.case_json import REPORTS_DIR, render_json


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


def _renderer(module: str, name: str) -> Callable[..., str] | None:
    # The HTML, Markdown and AWS-text renderers are written alongside; a missing one is skipped.
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None
    func: Callable[..., str] | None = getattr(mod, name, None)
    return func


def renderers(lang: Lang) -> dict[str, Callable[[CaseData], str]]:
    """Key -> function rendering that report from the case data."""
    out: dict[str, Callable[[CaseData], str]] = {"json": render_json}
    optional: dict[str, tuple[str, str, bool]] = {
        "html": ("awsrespond.report.html", "render_html", True),
        "md": ("awsrespond.report.markdown", "render_markdown", True),
        "csv": ("awsrespond.report.exports.csv_export", "render_csv", False),
        "ocsf": ("awsrespond.report.exports.ocsf", "render_ocsf", False),
        "asff": ("awsrespond.report.exports.asff", "render_asff", False),
        "aws": ("awsrespond.report.aws_text", "render_aws_text", False),
    }
    for key, (module, name, with_lang) in optional.items():
        func = _renderer(module, name)
        if func is not None:
            out[key] = _bind(func, lang) if with_lang else func
    return out


def _bind(func: Callable[..., str], lang: Lang) -> Callable[[CaseData], str]:
    def render(data: CaseData) -> str:
        return func(data, lang)
    return render


def write_reports(root: Path, lang: Lang, data: CaseData | None = None) -> dict[str, Path]:
    """Load the case once and write every report; returns key -> path written."""
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
    write_private(path, text.encode("utf-8"))
    return path

