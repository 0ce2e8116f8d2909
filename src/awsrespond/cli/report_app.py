"""The ``awsrespond report`` command group: ``report --format ...`` writes a report or export of a case;
``report aws`` writes the text for AWS. Reading a case needs no credentials."""

from __future__ import annotations

import typer

from awsrespond.cli.report_cmd import report_main

report = typer.Typer(
    help="Reports of a case: HTML, Markdown, JSON, CSV, OCSF, ASFF; `report aws` is the text for AWS.",
    invoke_without_command=True, rich_markup_mode=None,
)
report.callback(invoke_without_command=True)(report_main)
