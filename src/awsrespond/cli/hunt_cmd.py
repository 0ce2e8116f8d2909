"""``awsrespond hunt``: what happened, from CloudTrail."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from awsrespond.aws.clients import ClientFactory, SessionSpec
from awsrespond.aws.identity import CallerIdentity
from awsrespond.cli import options as opt
from awsrespond.cli.hunt_render import hunt_summary
from awsrespond.cli.triage_cmd import EXIT_OK, EXIT_PARTIAL, EXIT_SUSPICIOUS, connect
from awsrespond.cli.ui import OutputFormat, Ui, safe
from awsrespond.hunt.run import HuntOptions, HuntResult, run_hunt
from awsrespond.timeutil import iso, parse_instant
from awsrespond.trail.discover import parse_sources


def exit_code(result: HuntResult, strict: bool) -> int:
    if strict and result.partial:
        return EXIT_PARTIAL
    return EXIT_SUSPICIOUS if result.suspicious else EXIT_OK


def hunt(
    sources: Annotated[
        list[str] | None,
        typer.Argument(metavar="SOURCE",
                       help="CloudTrail files or folders (any saved shape, gzipped or not), s3://bucket/prefix, "
                            "or 'lookup' for the LookupEvents API. None: the account's trail bucket, "
                            "else LookupEvents."),
    ] = None,
    since: opt.Since = None,
    until: Annotated[
        str | None, typer.Option("--until", metavar="TIME", help="End of the incident window (default: now).")
    ] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", metavar="DIR", exists=True,
                     help="More Sigma rules (a SigmaHQ-compatible folder or file), added to the built-in pack."),
    ] = None,
    history_days: Annotated[
        int, typer.Option("--history-days", min=0, max=90, metavar="N",
                          help="Days before --since read from S3 or LookupEvents as each principal's history.")
    ] = 14,
    case: opt.CaseDir = None,
    fmt: opt.Format = OutputFormat.TEXT,
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    region: opt.Regions = "all",
    strict: opt.Strict = False,
    max_workers: opt.Workers = 16,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """Hunt in CloudTrail: Sigma rules and behaviour analytics, attacker sessions, timeline and attribution."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    chosen = list(sources or [])
    since_at = parse_instant(since) if since else None
    until_at = parse_instant(until) if until else None
    window = ui.text("hunt.window_line", since=iso(since_at) or ui.t("hunt.window_all"),
                     until=iso(until_at) or ui.t("hunt.window_now"))
    if not since_at:
        window.append(ui.t("hunt.window_hint"))
    ui.info(window)
    factory: ClientFactory | None = None
    identity: CallerIdentity | None = None
    if parse_sources(chosen).needs_aws:
        factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url,
                                                    max_workers=max_workers))
    options = HuntOptions(
        sources=chosen,
        since=since_at,
        until=until_at,
        rules=rules or [],
        case_dir=case,
        default_case=True,
        account_id=identity.account_id if identity else None,
        caller_arn=identity.arn if identity else None,
        regions=region,
        partition=identity.partition if identity else "aws",
        history_days=history_days,
    )
    result = run_hunt(options, factory, progress=lambda message: ui.info(safe(message)))
    if fmt is OutputFormat.JSON:
        ui.json(result.document().model_dump_json())
    else:
        hunt_summary(ui, result, str(result.case_dir) if result.case_dir else None)
    return exit_code(result, strict)
