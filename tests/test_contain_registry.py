"""Every registered action declares what the contract needs: permissions, verification, undo, reconcile."""

from __future__ import annotations

import re

import pytest

from awsrespond.contain.actions.base import Action, registry
from awsrespond.policies import contain_actions

IAM_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
ACTIONS = sorted(registry().items())


def test_the_registry_holds_every_family() -> None:
    families = {name.split(".")[0] for name, _ in ACTIONS}
    assert {"iam", "ec2", "lambda", "autoscaling", "cloudtrail", "guardduty", "logs", "awsrespond"} <= families
    assert len(ACTIONS) >= 40


@pytest.mark.parametrize(("name", "cls"), ACTIONS, ids=[n for n, _ in ACTIONS])
def test_action_declares_the_contract(name: str, cls: type[Action]) -> None:
    assert cls.name == name and "." in name
    assert cls.title and cls.resource_type and cls.how_to_undo
    assert cls.permissions, f"{name} declares no IAM permissions"
    assert all(IAM_ACTION.match(p) for p in (*cls.permissions, *cls.undo_permissions)), cls.permissions
    # A verify step: the default compares observe() with the step's post state; observe must be real.
    assert "observe" not in getattr(cls, "__abstractmethods__", set())
    assert callable(cls.verify) and cls.observe is not Action.observe
    assert cls.apply is not Action.apply
    if cls.reversible:
        assert cls.undo is not Action.undo, f"{name} says it is reversible but has no undo()"
        assert cls.undo_permissions, f"{name} is reversible but declares no undo permissions"
    if not cls.idempotent:
        assert cls.reconcile is not Action.reconcile, f"{name} must look before it is repeated (reconcile)"


def test_contain_policy_covers_every_action() -> None:
    allowed = set(contain_actions())
    for _, cls in ACTIONS:
        assert set(cls.permissions) <= allowed
