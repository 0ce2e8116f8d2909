"""The issue's "done when": against seeded compromises - shipped and generated, with names, regions
and types the code has never seen - triage reports every attacker artefact at medium or higher and
no untouched legitimate resource at high or above."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from awsrespond.aws.identity import whoami
from awsrespond.case.workspace import Case
from awsrespond.emulator import EmulatorServer, Scenario, generate_scenario, list_scenarios, load_scenario, seed
from awsrespond.findings import Finding, Severity
from awsrespond.triage import TriageOptions, TriageResult, run_triage

GENERATED_SEEDS = [7, 1234, 99991]
SCENARIOS: list[tuple[str, Scenario]] = [(name, load_scenario(name)) for name in list_scenarios()] + [
    (f"random:{s}", generate_scenario(s)) for s in GENERATED_SEEDS
]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


def worst(findings: list[Finding], rtype: str, rid: str) -> Severity | None:
    mine = [f.severity for f in findings if f.resource.type == rtype and f.resource.id == rid]
    return Severity.max(*mine) if mine else None


@pytest.mark.parametrize(("label", "scenario"), SCENARIOS, ids=[label for label, _ in SCENARIOS])
def test_every_attacker_artefact_and_no_untouched_legitimate_one(
    server: EmulatorServer, tmp_path: Path, label: str, scenario: Scenario
) -> None:
    server.reset()
    seeded = seed(server, scenario)
    factory = server.factory()
    identity = whoami(factory)
    case = Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)
    result: TriageResult = run_triage(factory, identity, case, TriageOptions(since=seeded.incident_start))

    assert seeded.attacker_artefacts
    missed = [a for a in seeded.attacker_artefacts
              if not (s := worst(result.findings, a.type, a.id)) or not s.at_least(Severity.MEDIUM)]
    assert not missed, f"{label}: attacker artefacts not reported at medium+: {missed}"

    # Used or changed by the attacker, so not "untouched": the leaked CI user and key, the stopped trail.
    touched = {seeded.compromised_user, seeded.compromised_access_key_id, seeded.trail_arn}
    loud = [(a, worst(result.findings, a.type, a.id)) for a in seeded.legitimate_artefacts if a.id not in touched]
    loud = [(a, s) for a, s in loud if s is not None and s.at_least(Severity.HIGH)]
    assert not loud, f"{label}: untouched legitimate resources reported at high+: {loud}"

    # The key the attacker used was seen in use during the window.
    used = [f for f in result.findings if f.access_key_id == seeded.compromised_access_key_id]
    assert used, f"{label}: the compromised key's use in the window is not reported"
    # The trail the attacker stopped is critical.
    assert any(f.rule == "cloudtrail-stopped" and f.severity is Severity.CRITICAL for f in result.findings)
    # Regions the attacker used are called unusual.
    unusual = {f.resource.region for f in result.findings if f.rule == "region-unusual"}
    assert set(seeded.attacker_regions) - set(seeded.home_regions) <= unusual
