"""The embedded AWS for ``awsrespond demo`` and ``awsrespond emulator``, and seeded compromises.

    with EmulatorServer(port) as srv:
        seeded = seed(srv, load_scenario("ci-key-cryptomining"))

Only ever a moto server on loopback with fixed fake credentials (DESIGN.md 3.17).
"""

from awsrespond.emulator.cloudtrail import cloudtrail_record
from awsrespond.emulator.scenario import Scenario
from awsrespond.emulator.scenario_files import list_scenarios, load_scenario
from awsrespond.emulator.scenario_generator import generate_scenario
from awsrespond.emulator.seeding import Artefact, Clock, SeededScenario, SystemClock, check_seeded, seed
from awsrespond.emulator.server import (
    EMULATOR_ACCOUNT_ID,
    FAKE_ACCESS_KEY_ID,
    FAKE_SECRET_ACCESS_KEY,
    EmulatorServer,
    verify_emulator,
)

DEFAULT_SCENARIO = "ci-key-cryptomining"

__all__ = [
    "DEFAULT_SCENARIO",
    "EMULATOR_ACCOUNT_ID",
    "FAKE_ACCESS_KEY_ID",
    "FAKE_SECRET_ACCESS_KEY",
    "Artefact",
    "Clock",
    "EmulatorServer",
    "Scenario",
    "SeededScenario",
    "SystemClock",
    "check_seeded",
    "cloudtrail_record",
    "generate_scenario",
    "list_scenarios",
    "load_scenario",
    "seed",
    "verify_emulator",
]
