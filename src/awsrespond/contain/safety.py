"""The refusals that keep containment safe (DESIGN.md 3.4-3.8)."""

from __future__ import annotations

from collections.abc import Callable

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.contain.model import Plan, Step
from awsrespond.errors import SafetyError

DEFAULT_MAX_STEPS = 100
SSO_ROLE_PREFIX = "AWSReservedSSO_"
SERVICE_LINKED_PATH = "/aws-service-role/"


def check_account(identity: CallerIdentity, plan: Plan, confirm: str | None,
                  ask: Callable[[str], str] | None) -> None:
    """``--confirm`` must equal both the STS account and the plan's; without it, the id must be typed."""
    if identity.account_id != plan.account_id:
        raise SafetyError(f"the credentials are for account {identity.account_id}, the plan is for "
                          f"{plan.account_id}: refusing")
    if confirm is not None:
        if confirm.strip() != identity.account_id:
            raise SafetyError(f"--confirm {confirm} does not match the target account {identity.account_id}: refusing")
        return
    if ask is None:
        raise SafetyError("no terminal to confirm on: pass --confirm ACCOUNT_ID to apply unattended")
    typed = ask(f"Type the account id {identity.account_id} to apply this plan")
    if typed.strip() != identity.account_id:
        raise SafetyError("the account id typed does not match: nothing was changed")


def caller_key(factory: ClientFactory) -> str | None:
    credentials = factory.session.get_credentials()
    return credentials.access_key if credentials is not None else None


def principal_of(arn: str) -> str:
    """An assumed-role session ARN -> its role ARN; anything else unchanged."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        return f"arn:{parts[1]}:iam::{parts[4]}:role/{role}"
    return arn


def check_not_attacker(identity: CallerIdentity, access_key: str | None, plan: Plan) -> None:
    """Refuse to run on a credential the attacker holds (DESIGN.md 3.5)."""
    compromised = plan.compromised
    if access_key and access_key in compromised.access_keys:
        raise SafetyError(f"you are using access key {access_key}, which the attacker used or created: "
                          "switch to clean credentials (another user or role) and run again")
    mine = principal_of(identity.arn)
    if mine in compromised.principals:
        raise SafetyError(f"you are signed in as {mine}, a principal the attacker used or created: "
                          "switch to clean credentials and run again")


def _principal_name(step: Step) -> str:
    arn = step.target.arn or ""
    return arn.rsplit("/", 1)[-1] if (":role/" in arn or ":user/" in arn) else step.target.id


def step_refusal(step: Step, identity: CallerIdentity, access_key: str | None, never_touch: list[str]) -> str | None:
    """Why this step must not run (never-touch, AWS-managed principals, caller lockout), or None."""
    target = step.target
    names = {target.id, target.arn or "", _principal_name(step), str(step.params.get("user", "")),
             str(step.params.get("role", ""))} - {""}
    for protected in never_touch:
        if protected in names or protected.rsplit("/", 1)[-1] in names:
            return f"{protected} is on the never-touch list"
    if target.type == "AWS::IAM::Role" and (
            target.id.startswith(SSO_ROLE_PREFIX) or SERVICE_LINKED_PATH in (target.arn or "")):
        return f"role {target.id} is managed by AWS (SSO or service-linked): IAM refuses changes to it"
    mine = principal_of(identity.arn)
    kind = mine.split(":")[-1].split("/")[0] if ":" in mine else ""
    my_name = mine.rsplit("/", 1)[-1]
    is_me = (target.arn == mine) or (
        target.id == my_name and target.type == {"user": "AWS::IAM::User", "role": "AWS::IAM::Role"}.get(kind))
    if is_me and not step.action.startswith(("awsrespond.", "logs.")):
        return f"{step.action} would change the principal you are signed in as ({mine}): it could lock you out"
    if target.type == "AWS::IAM::AccessKey" and access_key and target.id == access_key:
        return f"{step.action} would cut the access key you are using ({access_key}): it would lock you out"
    return None


def check_size(plan: Plan, max_steps: int) -> None:
    if len(plan.steps) > max_steps:
        raise SafetyError(f"the plan has {len(plan.steps)} steps, over the circuit breaker of {max_steps}: "
                          f"review it, drop steps, or pass --max-steps {len(plan.steps)}")
