"""The state of one seeding run: its clients, CloudTrail records and the artefacts it created."""

from __future__ import annotations

import functools
import random
import string
from dataclasses import dataclass, field
from typing import Any

from awsrespond.aws.clients import ClientFactory
from awsrespond.emulator.scenario import Scenario
from awsrespond.emulator.seeding.clock import Clock
from awsrespond.emulator.seeding.ground_truth import Artefact, Destroyed
from awsrespond.emulator.server import EmulatorServer
from awsrespond.errors import AwsRespondError

_UPPER_ALNUM = string.ascii_uppercase + string.digits


@dataclass
class Run:
    server: EmulatorServer
    scenario: Scenario
    clock: Clock
    rng: random.Random
    records: list[dict[str, Any]] = field(default_factory=list)
    attacker: list[Artefact] = field(default_factory=list)
    legitimate: list[Artefact] = field(default_factory=list)
    protected_instances: list[str] = field(default_factory=list)
    spot_instances: dict[str, str] = field(default_factory=dict)
    destroyed: list[Destroyed] = field(default_factory=list)
    data_volumes: dict[str, Destroyed] = field(default_factory=dict)  # what the attacker may destroy
    security_group_ids: dict[str, str] = field(default_factory=dict)
    key_names: dict[str, str] = field(default_factory=dict)
    # Filled in as the run goes.
    ci_key_id: str = ""
    ci_secret: str = ""
    ci_user_id: str = ""
    trail_arn: str = ""

    @functools.cached_property
    def admin_factory(self) -> ClientFactory:
        return self.server.factory(self.primary)

    @functools.cached_property
    def ci_factory(self) -> ClientFactory:
        """Signs with the CI user's key: the legitimate CI runner's calls, and then the attacker's."""
        if not self.ci_key_id:
            raise AwsRespondError("the CI user's key does not exist yet")
        return self.server.factory_for_key(self.ci_key_id, self.ci_secret, self.primary)

    @property
    def account_id(self) -> str:
        return self.server.account_id

    @property
    def primary(self) -> str:
        return self.scenario.primary_region

    def session_key(self) -> str:
        return "ASIA" + "".join(self.rng.choices(_UPPER_ALNUM, k=16))

    def password(self) -> str:
        return "".join(self.rng.choices(string.ascii_letters + string.digits, k=20)) + "!7a"

    def legit(self, resource_type: str, resource_id: str, region: str, name: str) -> None:
        self.legitimate.append(Artefact(type=resource_type, id=resource_id, region=region, name=name))

    def bad(self, resource_type: str, resource_id: str, region: str, name: str) -> None:
        self.attacker.append(Artefact(type=resource_type, id=resource_id, region=region, name=name))
