"""``awsrespond triage`` and ``awsrespond baseline``."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from awsrespond.aws.clients import ClientFactory, SessionSpec
from awsrespond.aws.identity import CallerIdentity, whoami
from awsrespond.aws.regions import RegionPlan, parse_region_option, plan_regions
from awsrespond.case.workspace import Case, EvidenceStore, default_case_dir, write_private
from awsrespond.cli import options as opt
from awsrespond.cli.render import triage_summary
from awsrespond.cli.ui import OutputFormat, ProgressBar, Ui
from awsrespond.detect.baseline import baseline_from_inventory, dump_baseline, load_baseline
from awsrespond.inventory import collectors as _collectors  # noqa: F401
from awsrespond.inventory.base import registry
from awsrespond.inventory.sweep import sweep
from awsrespond.policies import contain_policy_document, readonly_policy_document
from awsrespond.timeutil import iso, now_utc, parse_instant
from awsrespond.triage import TriageOptions, TriageResult, run_triage

EXIT_OK, EXIT_SUSPICIOUS, EXIT_PARTIAL = 0, 1, 3


def connect(ui: Ui, spec: SessionSpec) -> tuple[ClientFactory, CallerIdentity]:
    factory = ClientFactory.from_spec(spec)
    identity = whoami(factory)
    ui.target(identity, spec.endpoint_url)
    return factory, identity


def sweep_total(plan: RegionPlan) -> int:
    regional = sum(1 for c in registry.values() if c.scope == "regional")
    return (len(registry) - regional) + regional * len(plan.enabled)


def execute_triage(
    ui: Ui,
    factory: ClientFactory,
    identity: CallerIdentity,
    case_dir: Path | None,
    options: TriageOptions,
) -> tuple[TriageResult, Case]:
    case = Case.create(case_dir or default_case_dir(identity.account_id), account_id=identity.account_id,
                       caller_arn=identity.arn)
    ui.info(ui.text("common.case_opened", path=case.root))
    with ui.progress(ui.t("triage.sweeping")) as bar:
        result = run_triage(
            factory, identity, case, options,
            region_progress=bar.advance,
            on_regions=lambda plan: _announce_regions(ui, bar, plan),
        )
    return result, case


def _announce_regions(ui: Ui, bar: ProgressBar, plan: RegionPlan) -> None:
    bar.set_total(sweep_total(plan))
    line = ui.text("triage.regions", count=len(plan.enabled))
    if plan.not_enabled:
        line.append(ui.text("triage.regions_not_enabled", count=len(plan.not_enabled)))
    ui.info(line)


def exit_code(result: TriageResult, strict: bool) -> int:
    if strict and result.partial:
        return EXIT_PARTIAL
    return EXIT_SUSPICIOUS if result.suspicious else EXIT_OK


def triage(
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    region: opt.Regions = "all",
    fmt: opt.Format = OutputFormat.TEXT,
    case: opt.CaseDir = None,
    since: opt.Since = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="YAML allowlist of what is yours (see `awsrespond baseline`).",
                                  exists=True, dir_okay=False)
    ] = None,
    known_account: Annotated[
        list[str] | None,
        typer.Option("--known-account", metavar="ACCOUNT_ID", help="An outside account id you trust (repeatable)."),
    ] = None,
    strict: opt.Strict = False,
    max_workers: opt.Workers = 16,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """Read-only sweep of IAM, every region, logging and billing: what is there, and what is suspect."""
    ui = Ui(fmt, quiet=quiet, lang=lang)
    since_at = parse_instant(since) if since else None
    if since_at is not None:
        ui.info(ui.text("triage.window", since=iso(since_at)))
    options = TriageOptions(
        regions=parse_region_option(region),
        since=since_at,
        baseline=load_baseline(baseline) if baseline else None,
        known_accounts=known_account or [],
        max_workers=max_workers,
    )
    spec = SessionSpec(profile=profile, endpoint_url=endpoint_url, max_workers=max_workers)
    factory, identity = connect(ui, spec)
    result, opened = execute_triage(ui, factory, identity, case, options)
    if fmt is OutputFormat.JSON:
        ui.json(result.document(str(opened.root)).model_dump_json())
    else:
        triage_summary(ui, result, str(opened.root))
    return exit_code(result, strict)


def baseline(
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the baseline YAML.", dir_okay=False)],
    profile: opt.Profile = None,
    endpoint_url: opt.EndpointUrl = None,
    region: opt.Regions = "all",
    max_workers: opt.Workers = 16,
    quiet: opt.Quiet = False,
    lang: opt.Language = None,
) -> int:
    """Write what the account holds now as a baseline for the owner to curate (read-only)."""
    ui = Ui(quiet=quiet, lang=lang)
    factory, identity = connect(ui, SessionSpec(profile=profile, endpoint_url=endpoint_url,
                                                max_workers=max_workers))
    plan = plan_regions(factory, parse_region_option(region), identity.partition)
    with tempfile.TemporaryDirectory(prefix="awsrespond-baseline-") as scratch:
        result = sweep(factory, account_id=identity.account_id, partition=identity.partition,
                       regions=plan.enabled, evidence=EvidenceStore(Path(scratch) / "evidence"),
                       max_workers=max_workers)
    data = baseline_from_inventory(result.inventory, account_id=identity.account_id, generated=now_utc())
    write_private(output, dump_baseline(data).encode())
    for gap in result.gaps:
        if gap.partial:
            ui.warn(ui.text("coverage.gap", scope=gap.scope, region=gap.region, message=gap.message))
    ui.info(ui.text("baseline.written", path=output))
    return EXIT_OK


def policy(
    contain: Annotated[bool, typer.Option("--contain", help="The policy containment (apply and undo) needs.")] = False,
) -> int:
    """Print the least-privilege IAM policy triage and hunt need (read-only), or containment's (--contain)."""
    Ui().json(json.dumps(contain_policy_document() if contain else readonly_policy_document(), indent=2))
    return EXIT_OK
