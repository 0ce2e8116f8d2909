"""The triage rule catalog (``triage_rules.yaml``): titles, severities, ATT&CK ids, advice."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict

from awsrespond.findings import Severity


class RuleMeta(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    severity: Severity
    mitre: tuple[str, ...] = ()
    recommendation: str = ""


@cache
def triage_rules() -> dict[str, RuleMeta]:
    text = resources.files("awsrespond.detect").joinpath("triage_rules.yaml").read_text(encoding="utf-8")
    rules = [RuleMeta.model_validate(entry) for entry in yaml.safe_load(text)]
    by_id = {rule.id: rule for rule in rules}
    if len(by_id) != len(rules):
        raise ValueError("duplicate rule id in triage_rules.yaml")
    return by_id
