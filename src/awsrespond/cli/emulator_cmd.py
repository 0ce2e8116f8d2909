"""``awsrespond emulator`` and ``awsrespond demo``: the embedded AWS with a seeded compromise.

Both only ever talk to their own loopback moto server with fixed fake credentials; profiles and
endpoint settings from the environment are ignored (DESIGN.md 3.17).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from awsrespond.aws.identity import whoami
from awsrespond.cli import options as opt
from awsrespond.cli.contain_render import apply_summary, plan_table
from awsrespond.cli.demo_recover import demo_public_ips, demo_recovery
from awsrespond.cli.hunt_render import attribution_summary, hunt_summary
from awsrespond.cli.render import triage_summary
from awsrespond.cli.triage_cmd import execute_triage
from awsrespond.cli.ui import Ui, safe
from awsrespond.contain.executor import ApplyOptions
from awsrespond.contain.planio import load_plan, write_plan
from awsrespond.contain.planner.plan import PlanOptions, build_plan
from awsrespond.contain.safety import DEFAULT_MAX_STEPS
from awsrespond.contain.service import apply_plan
from awsrespond.errors import UsageError
from awsrespond.findings import Severity
from awsrespond.hunt.run import HuntOptions, run_hunt
from awsrespond.timeutil import iso
from awsrespond.triage import TriageOptions

if TYPE_CHECKING:
    from awsrespond.emulator import Scenario

# The emulator (moto and its services) takes half a second to import: only demo and emulator load it.
DEFAULT_SCENARIO = "ci-key-cryptomining"

ScenarioName = Annotated[
    str, typer.Option("--scenario", help="A shipped scenario name, or random:N for a generated one.")
]
Port = Annotated[int, typer.Option("--port", min=0, max=65535, help="Loopback port (0 picks a free one).")]


def pick_scenario(name: str) -> Scenario:
    from awsrespond.emulator import generate_scenario, list_scenarios, load_scenario  # noqa: PLC0415

    if name.startswith("random:"):
        try:
            return generate_scenario(int(name.split(":", 1)[1]))
        except ValueError as exc:
            raise UsageError(f"--scenario random:N needs an integer seed, not {name!r}") from exc
    if name not in list_scenarios():
        raise UsageError(f"unknown scenario {name!r}; shipped: {', '.join(list_scenarios())}, or random:N")
    return load_scenario(name)


def emulator(scenario: ScenarioName = DEFAULT_SCENARIO, port: Port = 4566) -> int:
    """Run an emulated AWS account on loopback with a seeded compromise, until Ctrl-C."""
    from awsrespond.emulator import EmulatorServer, seed  # noqa: PLC0415
    ui = Ui()
    chosen = pick_scenario(scenario)
    with EmulatorServer(port=port) as server:
        server.verify()
        seeded = seed(server, chosen)
        out = ui.out
        out.print(safe(f"Emulator: {server.endpoint_url} (account {server.account_id}), "
                       f"scenario {seeded.scenario}"))
        out.print(safe(f"Incident start T = {iso(seeded.incident_start)}"))
        out.print("Use it from another shell:")
        for line in server.shell_exports().splitlines():
            out.print(safe(f"  {line}"))
        out.print(safe(f"  awsrespond triage --since {iso(seeded.incident_start)}"))
        out.print("Press Ctrl-C to stop.")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            ui.info("stopping the emulator")
    return 0


def demo(
    scenario: ScenarioName = DEFAULT_SCENARIO,
    case: opt.CaseDir = None,
    quiet: opt.Quiet = False,
) -> int:
    """The whole response on the embedded emulator with a seeded compromise (never a real account)."""
    from awsrespond.emulator import EmulatorServer, seed  # noqa: PLC0415
    ui = Ui(quiet=quiet)
    chosen = pick_scenario(scenario)
    with EmulatorServer(port=0) as server:
        ui.info(safe(f"Starting the embedded AWS emulator at {server.endpoint_url} and seeding "
                     f"scenario {chosen.name}"))
        server.verify()
        seeded = seed(server, chosen)
        factory = server.factory()
        identity = whoami(factory)
        ui.target(identity, server.endpoint_url)
        ui.info(safe(f"Step 1 - triage: what is in the account, since the incident start "
                     f"{iso(seeded.incident_start)}"))
        result, opened = execute_triage(
            ui, factory, identity, case or Path("cases") / f"demo-{identity.account_id}-"
            f"{seeded.incident_start.strftime('%Y%m%dT%H%M%SZ')}",
            TriageOptions(since=seeded.incident_start),
        )
        triage_summary(ui, result, str(opened.root))
        trail = f"s3://{seeded.trail_bucket}/"
        ui.info(safe(f"Step 2 - hunt: what happened, from the trail's logs in {trail}"))
        hunted = run_hunt(
            HuntOptions(sources=[trail], since=seeded.incident_start, case_dir=opened.root,
                        account_id=identity.account_id, caller_arn=identity.arn),
            factory,
            progress=lambda message: ui.info(safe(message)),
        )
        hunt_summary(ui, hunted, str(opened.root))
        stored = opened.findings()
        attribution_summary(ui, stored.findings if stored else [])
        demo_public_ips(ui, opened, factory, identity)
        ui.info(safe("Step 3 - contain: a plan from the case's findings, then apply it (the demo confirms "
                     f"for you, as --confirm {identity.account_id} would)"))
        # The emulator has no CloudTrail LookupEvents; the trail bucket's copy is the preserved log.
        plan = build_plan(opened, factory, identity, PlanOptions(exclude=["logs.save-lookup-events"]))
        path = write_plan(opened, plan)
        plan_table(ui, plan, str(path))
        applied = apply_plan(
            opened, factory, identity, load_plan(path, opened), confirm=identity.account_id, ask=None,
            max_steps=max(DEFAULT_MAX_STEPS, len(plan.steps)), options=ApplyOptions(), verify_delay=0.0,
            progress=lambda step, status, message: ui.info(safe(f"  {step.id} {step.action} "
                                                                f"{step.target.label()}: {status.value}")),
        )
        apply_summary(ui, applied)
        ui.info(safe("Step 4 - triage again: what is left of the attacker"))
        after, _ = execute_triage(ui, factory, identity, opened.root, TriageOptions(since=seeded.incident_start))
        attacker = {(a.type, a.id) for a in seeded.attacker_artefacts}
        theirs = [f for f in after.findings if (f.resource.type, f.resource.id) in attacker]
        left = sorted({f"{f.resource.type} {f.resource.id}" for f in theirs if f.severity.at_least(Severity.MEDIUM)})
        history = sorted({f.resource.id for f in theirs if not f.severity.at_least(Severity.MEDIUM)})
        ui.out.print(safe("Attacker artefacts triage still reports at medium or above: "
                          + (", ".join(left) if left else "none")))
        if history:
            ui.out.print(safe(f"Listed at low, as history: {len(history)} terminated instances ({', '.join(history)})"))
        demo_recovery(ui, opened, factory, identity, email=f"security@{chosen.company}.example")
    ui.out.print(safe(f"Demo finished. The case is in {opened.root}"))
    return 0 if applied.ok and not left else 1
