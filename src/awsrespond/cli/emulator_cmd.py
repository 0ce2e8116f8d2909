"""``awsrespond emulator`` and ``awsrespond demo``: the embedded AWS with a seeded compromise.

Both only ever talk to their own loopback moto server with fixed fake credentials; profiles and
endpoint settings from the environment are ignored (DESIGN.md 3.17).
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from awsrespond.aws.identity import whoami
from awsrespond.cli import options as opt
from awsrespond.cli.demo_recover import DEMO_BUDGET_LIMIT, demo_contacts, demo_public_ips
from awsrespond.cli.respond_flow import Flow, Hooks, RespondOptions, run_flow
from awsrespond.cli.triage_cmd import execute_triage
from awsrespond.cli.ui import Ui, safe
from awsrespond.errors import UsageError
from awsrespond.findings import Severity
from awsrespond.i18n import Messages
from awsrespond.timeutil import iso
from awsrespond.triage import TriageOptions

if TYPE_CHECKING:
    from awsrespond.emulator import Scenario, SeededScenario

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
    lang: opt.Language = None,
    quiet: opt.Quiet = False,
) -> int:
    """The guided response (``awsrespond respond``) on the embedded emulator with a seeded compromise, every plan
    confirmed for you; never a real account."""
    from awsrespond.emulator import EmulatorServer, seed  # noqa: PLC0415
    ui = Ui(quiet=quiet, lang=lang)
    msg = Messages(ui.lang, "respond")
    chosen = pick_scenario(scenario)
    with EmulatorServer(port=0) as server:
        ui.info(safe(msg.t("demo.start", endpoint=server.endpoint_url, scenario=chosen.name)))
        server.verify()
        seeded = seed(server, chosen)
        factory = server.factory()
        identity = whoami(factory)
        ui.info(safe(msg.t("demo.confirming", account=identity.account_id)))
        left: list[str] = []

        def after_hunt(flow: Flow) -> None:
            demo_public_ips(flow.ui, flow.case, factory, identity, msg)

        def after_contain(flow: Flow) -> None:
            left.extend(attacker_left(flow, seeded))

        options = RespondOptions(
            case_dir=case or Path("cases") / f"demo-{identity.account_id}-"
                                             f"{seeded.incident_start.strftime('%Y%m%dT%H%M%SZ')}",
            since=seeded.incident_start, confirm=identity.account_id, budget_limit=DEMO_BUDGET_LIMIT,
            email=f"security@{chosen.company}.example", contacts=demo_contacts(chosen.company),
            # The emulator has no CloudTrail LookupEvents; the trail bucket's copy is the preserved log.
            plan_exclude=["logs.save-lookup-events"], verify_delay=0.0)
        result = run_flow(ui, ui.lang, factory, identity, options, prompt=None,
                          hooks=Hooks(after_hunt=after_hunt, after_contain=after_contain),
                          endpoint_url=server.endpoint_url)
    ui.out.print(safe(msg.t("demo.finished", path=result.case.root)))
    if "html" in result.reports:
        ui.out.print(safe(msg.t("flow.report_path", path=result.reports["html"])))
    return 0 if result.state.all_done and not left else 1


def attacker_left(flow: Flow, seeded: SeededScenario) -> list[str]:
    """Triage again (into a scratch case, the incident's case keeps its evidence): what is left of the attacker."""
    since = seeded.incident_start
    with tempfile.TemporaryDirectory(prefix="awsrespond-demo-") as scratch:
        after, _ = execute_triage(Ui(quiet=True, lang=flow.lang), flow.factory, flow.identity,
                                  Path(scratch) / "after", TriageOptions(since=since))
    attacker = {(a.type, a.id) for a in seeded.attacker_artefacts}
    theirs = [f for f in after.findings if (f.resource.type, f.resource.id) in attacker]
    left = sorted({f"{f.resource.type} {f.resource.id}" for f in theirs if f.severity.at_least(Severity.MEDIUM)})
    history = sorted({f.resource.id for f in theirs if not f.severity.at_least(Severity.MEDIUM)})
    flow.say("demo.left", left=", ".join(left) if left else flow.msg.t("word.none"))
    if history:
        flow.say("demo.history", count=len(history), ids=", ".join(history))
    return left
