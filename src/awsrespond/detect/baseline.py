"""The baseline: what the account owner says is theirs (a curated YAML allowlist).

``awsrespond baseline -o FILE`` writes one from the current account; the owner removes what is
not theirs and passes it to ``triage --baseline FILE``. Anything not in it is suspect.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from awsrespond.errors import InputError
from awsrespond.inventory.base import Inventory

# Resource types the baseline lists by id, and the baseline field that holds them.
TRACKED = {
    "AWS::IAM::User": "users",
    "AWS::IAM::Role": "roles",
    "AWS::IAM::AccessKey": "access_key_ids",
    "AWS::IAM::Group": "groups",
    "AWS::IAM::ManagedPolicy": "policies",
    "AWS::EC2::Instance": "instances",
    "AWS::EC2::KeyPair": "key_pairs",
    "AWS::Lambda::Function": "functions",
}

ALWAYS_JUDGED = frozenset({"users", "roles", "access_key_ids"})


class Baseline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    account_id: str | None = None
    generated: datetime | None = None
    users: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)
    access_key_ids: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    policies: list[str] = Field(default_factory=list)
    instances: list[str] = Field(default_factory=list)
    key_pairs: list[str] = Field(default_factory=list)
    functions: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list, description="Regions the account normally uses")
    instance_types: list[str] = Field(default_factory=list)
    known_accounts: list[str] = Field(
        default_factory=list, description="Outside AWS account ids that may be trusted or shared with"
    )
    never_touch: list[str] = Field(
        default_factory=list, description="Break-glass principals (names or ARNs) containment must never change"
    )

    def knows(self, resource_type: str, resource_id: str) -> bool | None:
        """True/False for tracked types; None when the baseline says nothing about the type.

        Users, roles and access keys are always judged (an empty list means "none are mine");
        the other lists only when they are given, so a short hand-written baseline still works.
        """
        field = TRACKED.get(resource_type)
        if field is None:
            return None
        known: list[str] = getattr(self, field)
        if not known and field not in ALWAYS_JUDGED:
            return None
        return resource_id in known


def load_baseline(path: Path) -> Baseline:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Baseline.model_validate(data)
    except OSError as exc:
        raise InputError(f"cannot read baseline: {exc.strerror}", path=str(path)) from exc
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise InputError(f"not valid YAML: {exc}", path=str(path), line=None if line is None else line + 1) from exc
    except ValidationError as exc:
        raise InputError(f"not a valid baseline: {exc}", path=str(path)) from exc


def baseline_from_inventory(inventory: Inventory, *, account_id: str, generated: datetime) -> Baseline:
    lists: dict[str, list[str]] = {field: [] for field in TRACKED.values()}
    for resource_type, field in TRACKED.items():
        lists[field] = sorted({item.id for item in inventory.of(resource_type)})
    regions = sorted(
        {item.region for item in inventory if item.region != "global" and item.type in _REGION_EVIDENCE}
    )
    types = sorted(
        {str(i.data.get("instance_type")) for i in inventory.of("AWS::EC2::Instance") if i.data.get("instance_type")}
    )
    return Baseline.model_validate(
        {"account_id": account_id, "generated": generated, "regions": regions, "instance_types": types, **lists}
    )


# Resource types whose presence shows that a region is in use (detectors and default security
# groups exist everywhere and prove nothing).
_REGION_EVIDENCE = frozenset(
    {
        "AWS::EC2::Instance",
        "AWS::EC2::KeyPair",
        "AWS::EC2::Snapshot",
        "AWS::EC2::Image",
        "AWS::EC2::LaunchTemplate",
        "AWS::AutoScaling::AutoScalingGroup",
        "AWS::Lambda::Function",
        "AWS::EC2::EIP",
    }
)
REGION_EVIDENCE = _REGION_EVIDENCE


def dump_baseline(baseline: Baseline) -> str:
    header = (
        "# awsrespond baseline: everything listed here is yours. Remove what is not, then run\n"
        "#   awsrespond triage --baseline THIS_FILE\n"
        "# known_accounts: outside account ids you trust (partners, your other accounts).\n"
        "# never_touch: break-glass users and roles `contain` must never change (names or ARNs).\n"
    )
    body = yaml.safe_dump(baseline.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    return header + body
