"""The one finding model shared by triage, hunt, the reports and the tests (DESIGN.md section 7)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank

    @classmethod
    def max(cls, *values: Severity) -> Severity:
        return max(values, key=lambda s: s.rank)


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


class Classification(StrEnum):
    """What the artefact is to the responder, which decides how containment treats it."""

    ATTACKER_CREATED = "attacker-created"
    ATTACKER_USED = "attacker-used"
    SUSPECT = "suspect"
    POSTURE = "posture"


class ResourceRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="CloudFormation resource type name, e.g. AWS::IAM::User")
    id: str
    region: str = Field(description="AWS region, or 'global' for IAM and account-level resources")
    arn: str | None = None


class EvidenceRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str = Field(description="Path relative to the case directory")
    sha256: str


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Deterministic: the same rule on the same artefact gives the same id")
    rule: str
    title: str
    severity: Severity
    classification: Classification
    resource: ResourceRef
    created: datetime | None = None
    principal: str | None = None
    access_key_id: str | None = None
    source_ip: str | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    event_ids: list[str] = Field(default_factory=list)
    count: int | None = Field(default=None, description="How many events the finding covers (hunt)")
    mitre: list[str] = Field(default_factory=list)
    evidence: list[EvidenceRef] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict, description="Facts that support the finding")
    recommendation: str = ""

    @property
    def suspicious(self) -> bool:
        """True for anything that is not plain posture, or posture at high or above."""
        return self.classification is not Classification.POSTURE or self.severity.at_least(Severity.HIGH)


def finding_id(rule: str, resource_type: str, resource_id: str, region: str) -> str:
    digest = hashlib.sha256(f"{rule}\x00{resource_type}\x00{region}\x00{resource_id}".encode()).hexdigest()
    return f"{rule}-{digest[:16]}"


def sort_key(finding: Finding) -> tuple[int, str, str]:
    return (-finding.severity.rank, finding.resource.type, finding.resource.id)
