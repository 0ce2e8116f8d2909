"""Options shared by every command (they work after the subcommand name)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awsrespond.cli.ui import OutputFormat
from awsrespond.i18n import Lang

Profile = Annotated[
    str | None, typer.Option("--profile", metavar="NAME", help="AWS profile (SSO and assume-role profiles work).",
                             envvar="AWS_PROFILE", show_envvar=False)
]
EndpointUrl = Annotated[
    str | None,
    typer.Option("--endpoint-url", metavar="URL", help="Send every AWS call here (also AWS_ENDPOINT_URL).",
                 envvar="AWS_ENDPOINT_URL", show_envvar=False),
]
Regions = Annotated[
    str, typer.Option("--region", metavar="REGIONS", help="Comma-separated regions, or 'all' (default).")
]
Format = Annotated[
    OutputFormat, typer.Option("--format", help="text for people; json prints only JSON on stdout.")
]
CaseDir = Annotated[
    Path | None,
    typer.Option("--case", help="Case directory (default ./cases/<account>-<UTC time>).", file_okay=False),
]
Since = Annotated[
    str | None,
    typer.Option(
        "--since", metavar="TIME",
        help="Start of the incident window, ISO-8601 (no offset = UTC), inclusive; or 7d, 12h.",
    ),
]
Strict = Annotated[bool, typer.Option("--strict", help="Exit 3 when any part of the sweep was incomplete.")]
Workers = Annotated[int, typer.Option("--max-workers", min=1, max=64, metavar="N", help="Parallel API calls.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No banner or progress on stderr.")]
Language = Annotated[
    Lang | None,
    typer.Option("--lang", case_sensitive=False,
                 help="Language of the text output: ko or en (default: the locale; AWSRESPOND_LANG, LANG)."),
]


def split_values(values: list[str] | None) -> list[str]:
    """A repeatable option whose values may also be comma-separated: ``--x a,b --x c`` -> [a, b, c]."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def never_touch_names(names: list[str] | None, baseline: Path | None) -> list[str]:
    """``--never-touch`` values plus the baseline file's ``never_touch`` list."""
    from awsrespond.detect.baseline import load_baseline  # noqa: PLC0415 - only commands that change things need it

    return sorted(set(split_values(names)) | set(load_baseline(baseline).never_touch if baseline else []))
