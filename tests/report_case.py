"""A case from an emulated compromise, as the reports see it: seeded scenario, triage, hunt,
containment applied, and recovery (restore, passwords, budget, harden --fix, checklist).

Built once per test module that asks for it (about 30 s). ``plant`` runs after seeding and before
triage, to put attacker-controlled strings into the account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from awsrespond.aws.identity import whoami
from awsrespond.cli.demo_recover import demo_recovery
from awsrespond.cli.triage_cmd import execute_triage
from awsrespond.cli.ui import Ui
from awsrespond.contain.executor import ApplyOptions
from awsrespond.contain.planio import load_plan, write_plan
from awsrespond.contain.planner.plan import PlanOptions, build_plan
from awsrespond.contain.service import apply_plan
from awsrespond.emulator import EmulatorServer, Scenario, SeededScenario, seed
from awsrespond.hunt.run import HuntOptions, run_hunt
from awsrespond.triage import TriageOptions

Plant = Callable[[EmulatorServer, SeededScenario], None]

# What an attacker puts in names, tags and user agents to attack the report's readers.
HOSTILE_PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=2">',
    "![x](http://198.51.100.9/p.png)",
    "[link=http://x]y[/link]",
    "\x1b[31mred\x1b[0m",
    '=HYPERLINK("http://x","y")',
]


@dataclass(frozen=True)
class BuiltCase:
    root: Path
    seeded: SeededScenario
    endpoint_url: str


def build_case(server: EmulatorServer, scenario: Scenario, root: Path, *, plant: Plant | None = None,
               contain: bool = True, recover: bool = True) -> BuiltCase:
    seeded = seed(server, scenario)
    if plant is not None:
        plant(server, seeded)
    factory = server.factory()
    identity = whoami(factory)
    ui = Ui(quiet=True)
    _, case = execute_triage(ui, factory, identity, root, TriageOptions(since=seeded.incident_start))
    run_hunt(HuntOptions(sources=[f"s3://{seeded.trail_bucket}/"], since=seeded.incident_start, case_dir=case.root,
                         account_id=identity.account_id, caller_arn=identity.arn), factory)
    if contain:
        plan = build_plan(case, factory, identity, PlanOptions(exclude=["logs.save-lookup-events"]))
        path = write_plan(case, plan)
        apply_plan(case, factory, identity, load_plan(path, case), confirm=identity.account_id, ask=None,
                   max_steps=max(100, len(plan.steps)), options=ApplyOptions(), verify_delay=0.0)
        if recover:
            demo_recovery(ui, case, factory, identity, email=f"security@{scenario.company}.example")
    return BuiltCase(case.root, seeded, server.endpoint_url)
