"""Reading IAM policy documents: admin equivalence and who a trust policy lets in."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

ADMIN_MANAGED_POLICY_NAMES = frozenset({"AdministratorAccess"})
# Managed policies that let the holder grant itself anything: admin in effect.
ESCALATION_MANAGED_POLICY_NAMES = frozenset({"IAMFullAccess", "AWSCloudFormationFullAccess"})
QUARANTINE_POLICY_PREFIX = "AWSCompromisedKeyQuarantine"
_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[\w-]*:(?:iam|sts)::(\d{12}):")


def as_document(value: Any) -> dict[str, Any]:
    """Policy documents come as dicts (boto3 decodes them) or URL-encoded JSON strings."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        text = value if value.lstrip().startswith("{") else unquote(value)
        parsed = json.loads(text)
        if isinstance(parsed, dict):
            return parsed
    return {}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(document: Any) -> list[dict[str, Any]]:
    doc = as_document(document)
    return [s for s in _as_list(doc.get("Statement")) if isinstance(s, dict)]


def is_admin_document(document: Any) -> bool:
    """True if the policy allows every action (or every IAM action) on every resource."""
    for stmt in statements(document):
        if stmt.get("Effect") != "Allow" or "Condition" in stmt:
            continue
        actions = [str(a).lower() for a in _as_list(stmt.get("Action"))]
        resources = [str(r) for r in _as_list(stmt.get("Resource"))]
        if "*" not in resources:
            continue
        if any(a in ("*", "*:*", "iam:*") for a in actions):
            return True
        if "NotAction" in stmt and not stmt.get("Action"):
            return True  # Allow NotAction [...] on * grants nearly everything
    return False


def is_admin_managed(policy_name_or_arn: str) -> bool:
    name = policy_name_or_arn.rsplit("/", 1)[-1]
    return name in ADMIN_MANAGED_POLICY_NAMES or name in ESCALATION_MANAGED_POLICY_NAMES


def is_quarantine_policy(policy_name_or_arn: str) -> bool:
    return policy_name_or_arn.rsplit("/", 1)[-1].startswith(QUARANTINE_POLICY_PREFIX)


@dataclass
class TrustAnalysis:
    """Who a role's trust policy admits."""

    anyone: bool = False  # Principal "*" or AWS "*" without a narrowing condition
    accounts: set[str] = field(default_factory=set)  # AWS account ids named (directly or by ARN)
    services: set[str] = field(default_factory=set)
    federated: set[str] = field(default_factory=set)

    def outside_accounts(self, own_account: str, known: Iterable[str]) -> set[str]:
        allowed = {own_account, *known}
        return {a for a in self.accounts if a not in allowed}


def _account_of(principal: str) -> str | None:
    if re.fullmatch(r"\d{12}", principal):
        return principal
    match = _ACCOUNT_IN_ARN.match(principal)
    return match.group(1) if match else None


def analyse_trust(document: Any) -> TrustAnalysis:
    result = TrustAnalysis()
    for stmt in statements(document):
        if stmt.get("Effect") != "Allow":
            continue
        principal = stmt.get("Principal")
        narrowed = bool(stmt.get("Condition"))
        if principal == "*":
            result.anyone = result.anyone or not narrowed
            continue
        if not isinstance(principal, dict):
            continue
        for aws in _as_list(principal.get("AWS")):
            text = str(aws)
            if text == "*":
                result.anyone = result.anyone or not narrowed
            elif (account := _account_of(text)) is not None:
                result.accounts.add(account)
        result.services.update(str(s) for s in _as_list(principal.get("Service")))
        result.federated.update(str(f) for f in _as_list(principal.get("Federated")))
    return result
