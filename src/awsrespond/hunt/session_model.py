"""Attacker sessions as data: what ``hunt --format json`` prints and ``hunt.json`` in the case holds."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from awsrespond.findings import Severity


class Origin(StrEnum):
    """How a credential came into the session."""

    PRE_EXISTING = "pre-existing"
    """Existed before the session: the stolen credential or one it reached. Attacker-used."""
    CREATED = "created"
    """An access key or user the session created. Attacker-created."""
    MINTED = "minted"
    """Temporary credentials an STS call of the session returned."""
    SIGNED_IN = "signed-in"
    """A console sign-in or role session of a principal the session created or took over."""


class SessionCredential(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credential: str = Field(description="Access key id, or principal:ARN for calls without one")
    principal: str | None = None
    origin: Origin
    parent: str | None = Field(default=None, description="The credential whose call created or minted it")
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    events: int = 0


class SessionResource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    id: str
    region: str
    event_name: str
    event_id: str | None = None
    time: datetime | None = None
    exists: bool | None = Field(default=None, description="Still there at the last triage (None: not checked)")


class TimelineEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time: datetime
    event_id: str | None
    event_name: str | None
    event_source: str | None
    region: str | None
    source_ip: str | None
    user_agent: str | None
    credential: str
    principal: str | None
    error_code: str | None = None
    rules: list[str] = Field(default_factory=list)
    created: list[str] = Field(default_factory=list)


class AttackerSession(BaseModel):
    """One campaign: everything that follows from the credential it started from."""

    model_config = ConfigDict(extra="forbid")

    id: str
    started_from: str = Field(description="The pre-existing credential the campaign started from")
    principal: str | None
    severity: Severity
    first_seen: datetime | None
    last_seen: datetime | None
    event_count: int
    credentials: list[SessionCredential]
    source_ips: list[str]
    user_agents: list[str]
    regions: list[str]
    rules: list[str]
    created: list[SessionResource]
    changed: list[SessionResource] = Field(description="Existing resources the session changed (attacker-used)")
    other_accounts: list[str] = Field(default_factory=list, description="Accounts whose roles it assumed")
    excluded_events: int = Field(
        default=0, description="Window events of the stolen credential from its usual networks, left to its owner"
    )
    timeline: list[TimelineEntry]
