"""The ground truth of a seeded scenario: :class:`SeededScenario` and its :class:`Artefact` list."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

GLOBAL = "global"


class Artefact(BaseModel):
    """One resource of the scenario: ``type`` is the CloudFormation type name, ``region`` is
    ``global`` for IAM."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    id: str
    region: str
    name: str


class Destroyed(Artefact):
    """A legitimate resource the attacker destroyed, and what it can be restored from."""

    event_name: str
    availability_zone: str | None = None
    restore_from: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class SeededScenario(BaseModel):
    """The ground truth of a seeded scenario.

    ``legitimate_artefacts`` includes the compromised CI user and its key: they are legitimate
    (deactivate, never delete) but attacker-used; ``compromised_user`` and
    ``compromised_access_key_id`` name them. The secret of that key is kept for tests that must act
    as the attacker; it serialises as ``**********``.
    """

    model_config = ConfigDict(extra="forbid")

    scenario: str
    endpoint_url: str
    account_id: str
    home_regions: list[str]
    attacker_regions: list[str]
    incident_start: datetime
    compromised_user: str
    compromised_access_key_id: str
    compromised_secret_access_key: SecretStr
    attacker_user: str
    attacker_ips: list[str]
    attacker_user_agent: str
    trail_name: str
    trail_arn: str
    trail_region: str
    trail_bucket: str
    cloudtrail_keys: list[str]
    cloudtrail_record_count: int
    attacker_artefacts: list[Artefact]
    legitimate_artefacts: list[Artefact]
    termination_protected: list[str]
    spot_instances: dict[str, str]
    destroyed: list[Destroyed] = Field(default_factory=list)

    def attacker_of(self, resource_type: str) -> list[Artefact]:
        return [a for a in self.attacker_artefacts if a.type == resource_type]

    def legitimate_of(self, resource_type: str) -> list[Artefact]:
        return [a for a in self.legitimate_artefacts if a.type == resource_type]
