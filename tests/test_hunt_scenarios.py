"""The issue's "done when" for the demo's CloudTrail: hunting the trail bucket of a seeded compromise
(shipped and generated scenarios, with names and regions the code has never seen) yields one
attacker session that started from the leaked CI key, lists what it created, and classifies that
key attacker-used (critical); with triage in the same case, triage's findings are attributed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from awsrespond.aws.identity import whoami
from awsrespond.case.workspace import Case
from awsrespond.emulator import EmulatorServer, Scenario, generate_scenario, list_scenarios, load_scenario, seed
from awsrespond.emulator.seeding.ground_truth import SeededScenario
from awsrespond.findings import Classification, Severity
from awsrespond.hunt.run import HuntOptions, HuntResult, run_hunt
from awsrespond.triage import TriageOptions, run_triage

SCENARIOS: list[tuple[str, Scenario]] = [(name, load_scenario(name)) for name in list_scenarios()] + [
    (f"random:{s}", generate_scenario(s)) for s in (11, 4242)
]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


def _hunt(server: EmulatorServer, seeded: SeededScenario, case: Path | None = None) -> HuntResult:
    return run_hunt(HuntOptions(sources=[f"s3://{seeded.trail_bucket}/"], since=seeded.incident_start,
                                case_dir=case), server.factory())


def _expected_created(seeded: SeededScenario) -> set[tuple[str, str, str]]:
    # Instances that fulfil a spot request are launched by EC2, not by a call of the attacker.
    by_spot = set(seeded.spot_instances.values())
    return {(a.type, a.id, a.region) for a in seeded.attacker_artefacts if a.id not in by_spot}


@pytest.mark.parametrize(("label", "scenario"), SCENARIOS, ids=[label for label, _ in SCENARIOS])
def test_one_session_from_the_leaked_key_with_what_it_created(
    server: EmulatorServer, label: str, scenario: Scenario
) -> None:
    server.reset()
    seeded = seed(server, scenario)
    result = _hunt(server, seeded)

    assert not result.errors, result.errors
    assert len(result.sessions) == 1, [(s.started_from, s.event_count) for s in result.sessions]
    session = result.sessions[0]
    assert session.started_from == seeded.compromised_access_key_id
    created = {(r.type, r.id, r.region) for r in session.created}
    missing = _expected_created(seeded) - created
    assert not missing, f"{label}: attacker artefacts not in the session's created list: {missing}"
    legitimate = {(a.type, a.id, a.region) for a in seeded.legitimate_artefacts}
    assert not created & legitimate, f"{label}: legitimate resources called created: {created & legitimate}"
    assert set(seeded.attacker_ips) <= set(session.source_ips)

    used = [f for f in result.findings if f.resource.type == "AWS::IAM::AccessKey"
            and f.resource.id == seeded.compromised_access_key_id
            and f.classification is Classification.ATTACKER_USED]
    assert used and max(f.severity.rank for f in used) == Severity.CRITICAL.rank
    assert any(f.rule == "hunt-attacker-session" for f in result.findings)
    assert all(e.event_id for e in session.timeline)


def test_triage_findings_are_attributed_in_the_case(server: EmulatorServer, tmp_path: Path) -> None:
    server.reset()
    seeded = seed(server, load_scenario(list_scenarios()[0]))
    factory = server.factory()
    identity = whoami(factory)
    case = Case.create(tmp_path / "case", account_id=identity.account_id, caller_arn=identity.arn)
    run_triage(factory, identity, case, TriageOptions(since=seeded.incident_start))
    _hunt(server, seeded, case.root)
    stored = case.findings()
    assert stored is not None
    findings = stored.findings

    def classes(rtype: str, rid: str) -> set[Classification]:
        return {f.classification for f in findings if f.resource.type == rtype and f.resource.id == rid}

    for artefact in seeded.attacker_artefacts:
        assert Classification.ATTACKER_CREATED in classes(artefact.type, artefact.id), artefact
    assert Classification.ATTACKER_USED in classes("AWS::IAM::AccessKey", seeded.compromised_access_key_id)
    assert Classification.ATTACKER_USED in classes("AWS::IAM::User", seeded.compromised_user)
    assert not any(f.classification is Classification.SUSPECT and (f.resource.type, f.resource.id) in
                   {(a.type, a.id) for a in seeded.attacker_artefacts} for f in findings)
    # Re-running triage keeps the attribution: findings.json is rebuilt from both.
    run_triage(factory, identity, case, TriageOptions(since=seeded.incident_start))
    again = case.findings()
    assert again is not None
    assert {f.id: f.classification for f in again.findings} == {f.id: f.classification for f in findings}
