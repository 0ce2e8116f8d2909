"""The account password policy (manual step 3.1): set a strong one, and put the earlier one back on undo.

``observe`` reduces GetAccountPasswordPolicy to the settings UpdateAccountPasswordPolicy takes, under
the keys of :data:`POLICY_KEYS`; the planner writes the policy it wants in ``params.policy`` (the
UpdateAccountPasswordPolicy arguments) and the same settings, in those keys, into ``post``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from awsrespond.contain.actions.base import Action, ActionContext, ActionError, register
from awsrespond.contain.model import Step

POLICY_TYPE = "AWS::IAM::AccountPasswordPolicy"
POLICY_TARGET_ID = "account-password-policy"

# observed key -> UpdateAccountPasswordPolicy argument
POLICY_KEYS: dict[str, str] = {
    "min_length": "MinimumPasswordLength",
    "require_symbols": "RequireSymbols",
    "require_numbers": "RequireNumbers",
    "require_uppercase": "RequireUppercaseCharacters",
    "require_lowercase": "RequireLowercaseCharacters",
    "allow_users_to_change": "AllowUsersToChangePassword",
    "max_age": "MaxPasswordAge",
    "reuse_prevention": "PasswordReusePrevention",
    "hard_expiry": "HardExpiry",
}
# What IAM uses for a setting GetAccountPasswordPolicy leaves out.
_DEFAULTS: dict[str, Any] = {
    "MinimumPasswordLength": 8, "RequireSymbols": False, "RequireNumbers": False,
    "RequireUppercaseCharacters": False, "RequireLowercaseCharacters": False,
    "AllowUsersToChangePassword": False, "MaxPasswordAge": None, "PasswordReusePrevention": None,
    "HardExpiry": False,
}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def read_password_policy(iam: Any) -> dict[str, Any] | None:
    """The account's policy as UpdateAccountPasswordPolicy arguments (None values: not set); None when
    the account has no password policy."""
    try:
        raw: dict[str, Any] = iam.get_account_password_policy()["PasswordPolicy"]
    except ClientError as exc:
        if _code(exc) == "NoSuchEntity":
            return None
        raise
    policy = {arg: raw.get(arg, default) for arg, default in _DEFAULTS.items()}
    # "Never expires" is an absent MaxPasswordAge (some answers say 0); the API takes no 0.
    policy["MaxPasswordAge"] = policy["MaxPasswordAge"] or None
    return policy


def policy_state(policy: Mapping[str, Any] | None) -> dict[str, Any]:
    """A policy (UpdateAccountPasswordPolicy arguments, or None) in the keys observe() returns."""
    state: dict[str, Any] = {"password_policy": policy is not None}
    for key, arg in POLICY_KEYS.items():
        state[key] = None if policy is None else policy.get(arg, _DEFAULTS[arg])
    return state


def update_arguments(policy: Mapping[str, Any]) -> dict[str, Any]:
    """UpdateAccountPasswordPolicy keyword arguments: unset (None) settings are left out."""
    return {arg: policy[arg] for arg in POLICY_KEYS.values() if policy.get(arg) is not None}


@register
class UpdateAccountPasswordPolicy(Action):
    """Set the account password policy to ``params.policy``; the earlier policy goes into the result."""

    name = "iam.update-account-password-policy"
    title = "Set a strong account password policy"
    resource_type = POLICY_TYPE
    permissions = ("iam:GetAccountPasswordPolicy", "iam:UpdateAccountPasswordPolicy")
    reversible = True
    how_to_undo = ("put the earlier policy back (UpdateAccountPasswordPolicy), or delete the policy "
                   "(DeleteAccountPasswordPolicy) when the account had none")
    undo_permissions = ("iam:UpdateAccountPasswordPolicy", "iam:DeleteAccountPasswordPolicy")

    def _wanted(self, step: Step) -> dict[str, Any]:
        policy = step.params.get("policy")
        if not isinstance(policy, dict) or not policy.get("MinimumPasswordLength"):
            raise ActionError(f"step {step.id}: params.policy (the UpdateAccountPasswordPolicy arguments) is missing")
        return policy

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return policy_state(read_password_policy(ctx.client("iam", "global")))

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        iam = ctx.client("iam", "global")
        previous = read_password_policy(iam)
        wanted = self._wanted(step)
        iam.update_account_password_policy(**update_arguments(wanted))
        return {"previous_policy": previous, "policy": update_arguments(wanted)}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        iam = ctx.client("iam", "global")
        previous = result.get("previous_policy")
        if isinstance(previous, dict):
            iam.update_account_password_policy(**update_arguments(previous))
            return {"restored_policy": update_arguments(previous)}
        try:
            iam.delete_account_password_policy()
        except ClientError as exc:
            if _code(exc) != "NoSuchEntity":
                raise
        return {"deleted_policy": True}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        previous = result.get("previous_policy")
        return policy_state(previous if isinstance(previous, dict) else None)
