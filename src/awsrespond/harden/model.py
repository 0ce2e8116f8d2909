"""The ``harden`` document: one result per check, each pass, fail or error, with what to do about it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

HARDEN_FORMAT = "awsrespond.harden/1"


class CheckStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # the check could not read what it needs: the detail names the API and region


class CheckSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class CheckResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable check id, e.g. cloudtrail.multi-region-logging")
    title: str
    status: CheckStatus
    detail: str = Field(description="What was found (AWS-supplied text: treat as untrusted)")
    fix: str = Field(description="What to do when the check does not pass; empty when it passes")
    severity: CheckSeverity
    fixable: bool = Field(description="`harden --fix` can fix this failure without more input")
    regions: dict[str, str] = Field(default_factory=dict,
                                    description="Per-region state for regional checks (region -> state)")
    resources: list[str] = Field(default_factory=list, description="What fails the check (names, ids)")
    errors: list[str] = Field(default_factory=list, description="API calls that failed, with the region")


class HardenReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str = HARDEN_FORMAT
    account_id: str
    generated: datetime
    checks: list[CheckResult]
    regions: list[str] = Field(default_factory=list, description="Enabled regions the regional checks read")
    not_enabled_regions: list[str] = Field(default_factory=list,
                                           description="Regions the account has not enabled: not failures")
    notes: list[str] = Field(default_factory=list)
    fix_plan: str | None = Field(default=None, description="Plan id of the fixes applied by --fix, if any")

    def by_id(self, check_id: str) -> CheckResult:
        return next(c for c in self.checks if c.id == check_id)

    @property
    def failing(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status is CheckStatus.FAIL]

    @property
    def errored(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status is CheckStatus.ERROR]
