"""Seeding a scenario into an emulator: :func:`seed`, from the baseline to the checked ground truth."""

from __future__ import annotations

import random
from datetime import timedelta

from pydantic import SecretStr

from awsrespond.emulator.cloudtrail import write_log_files
from awsrespond.emulator.scenario import Scenario
from awsrespond.emulator.seeding.attack import seed_attack
from awsrespond.emulator.seeding.baseline import seed_baseline
from awsrespond.emulator.seeding.checks import check_seeded
from awsrespond.emulator.seeding.clock import Clock, SystemClock
from awsrespond.emulator.seeding.costs import cost_explorer_results
from awsrespond.emulator.seeding.destroy import check_destroyed
from awsrespond.emulator.seeding.ground_truth import SeededScenario
from awsrespond.emulator.seeding.run import Run
from awsrespond.emulator.server import EmulatorServer
from awsrespond.errors import AwsRespondError


def seed(server: EmulatorServer, scenario: Scenario, *, clock: Clock | None = None) -> SeededScenario:
    """Apply ``scenario`` to a fresh (or reset) emulator and return its ground truth.

    Raises :class:`SafetyError` when the server is not a loopback emulator, :class:`AwsCallError`
    when a call fails, and :class:`AwsRespondError` when an invariant does not hold afterwards.
    """
    server.verify()
    run = Run(server=server, scenario=scenario, clock=clock or SystemClock(), rng=random.Random())
    seed_baseline(run)

    # Creation times have 1-second resolution in places (EC2), so T is the next whole second after
    # the baseline, and the attacker starts a whole second after T.
    incident_start = run.clock.now().replace(microsecond=0) + timedelta(seconds=1)
    wait = (incident_start + timedelta(seconds=1) - run.clock.now()).total_seconds()
    if wait > 0:
        run.clock.sleep(wait)
    seed_attack(run)

    writer = run.admin_factory.client("s3", scenario.primary_region)
    keys = write_log_files(writer, scenario.baseline.trail_bucket, run.records, server.account_id, rng=run.rng)
    server.post_moto_api(
        "/moto-api/static/ce/cost-and-usage-results",
        {"results": cost_explorer_results(scenario, incident_start, run.clock.now().date())},
    )
    seeded = SeededScenario(
        scenario=scenario.name,
        endpoint_url=server.endpoint_url,
        account_id=server.account_id,
        home_regions=list(scenario.home_regions),
        attacker_regions=scenario.unused_regions,
        incident_start=incident_start,
        compromised_user=scenario.baseline.ci_user,
        compromised_access_key_id=run.ci_key_id,
        compromised_secret_access_key=SecretStr(run.ci_secret),
        attacker_user=scenario.attacker.user_name,
        attacker_ips=list(scenario.attacker.source_ips),
        attacker_user_agent=scenario.attacker.user_agent,
        trail_name=scenario.baseline.trail_name,
        trail_arn=run.trail_arn,
        trail_region=scenario.primary_region,
        trail_bucket=scenario.baseline.trail_bucket,
        cloudtrail_keys=keys,
        cloudtrail_record_count=len(run.records),
        attacker_artefacts=run.attacker,
        legitimate_artefacts=run.legitimate,
        termination_protected=run.protected_instances,
        spot_instances=run.spot_instances,
        destroyed=run.destroyed,
    )
    problems = check_seeded(server, scenario, seeded, factory=run.admin_factory)
    problems += check_destroyed(run.admin_factory, seeded)
    if problems:
        raise AwsRespondError(f"scenario {scenario.name} did not seed as specified: " + "; ".join(problems))
    return seeded
