"""Apply a :class:`Scenario` to a running emulator, and say exactly what was created by whom.

The baseline is created with the emulator's fake administrator credentials, before the incident
start T. Every attacker request is signed with the CI user's real access key, so moto's
GetAccessKeyLastUsed shows the misuse. Each API call made is also written as a CloudTrail record
into the trail's bucket (moto records none), and Cost Explorer results are queued.

The returned :class:`SeededScenario` is the ground truth tests compare triage and hunt against.
"""

from awsrespond.emulator.seeding.apply import seed
from awsrespond.emulator.seeding.checks import check_seeded
from awsrespond.emulator.seeding.clock import Clock, SystemClock
from awsrespond.emulator.seeding.ground_truth import Artefact, SeededScenario

__all__ = ["Artefact", "Clock", "SeededScenario", "SystemClock", "check_seeded", "seed"]
