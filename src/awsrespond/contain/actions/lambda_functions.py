"""Lambda functions: delete the attacker's (configuration and code location kept), or set a suspect
one's reserved concurrency to zero so it cannot run (reversible).

Environment variable values are secrets (DESIGN.md 3.16): only a hash of each reaches evidence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from botocore.exceptions import ClientError

from awsrespond.aws.errors import error_code
from awsrespond.case.redact import redact
from awsrespond.contain.actions.base import Action, ActionContext, register
from awsrespond.contain.model import Step

NOT_FOUND = "ResourceNotFoundException"


def _hash(value: Any) -> dict[str, str]:
    blob = json.dumps(value, sort_keys=True, default=str).encode()
    return {"redacted": "sha256:" + hashlib.sha256(blob).hexdigest()}


def safe_function(response: Mapping[str, Any]) -> dict[str, Any]:
    """GetFunction output fit for evidence: variable values hashed, the code URL without its signature."""
    out = dict(response)
    out.pop("ResponseMetadata", None)
    config = dict(out.get("Configuration") or {})
    env = dict(config.get("Environment") or {})
    if isinstance(env.get("Variables"), Mapping):
        env["Variables"] = {name: _hash(value) for name, value in env["Variables"].items()}
        config["Environment"] = env
    out["Configuration"] = config
    code = dict(out.get("Code") or {})
    if code.get("Location"):
        # A presigned URL: its query string is a short-lived credential.
        parts = urlsplit(str(code["Location"]))
        code["Location"] = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        out["Code"] = code
    cleaned: dict[str, Any] = redact(out)  # second line: the store's own secret keys
    return cleaned


def _get_function(ctx: ActionContext, step: Step) -> dict[str, Any] | None:
    try:
        response: dict[str, Any] = ctx.client("lambda", step.target.region).get_function(FunctionName=step.target.id)
    except ClientError as exc:
        if error_code(exc) != NOT_FOUND:
            raise
        return None
    return response


def _reserved(ctx: ActionContext, step: Step) -> int | None:
    response = ctx.client("lambda", step.target.region).get_function_concurrency(FunctionName=step.target.id)
    value = response.get("ReservedConcurrentExecutions")
    return None if value is None else int(value)


@register
class DeleteFunction(Action):
    name = "lambda.delete-function"
    title = "Delete a Lambda function the attacker created (configuration, code location, policy kept)"
    resource_type = "AWS::Lambda::Function"
    permissions = ("lambda:GetFunction", "lambda:GetFunctionConcurrency", "lambda:GetPolicy",
                   "lambda:DeleteFunction")
    reversible = False
    how_to_undo = "a deleted function cannot be restored; its configuration and code hash are kept as evidence"

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        return {"exists": _get_function(ctx, step) is not None}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        function = _get_function(ctx, step)
        refs = [ctx.evidence(step, "lambda", "GetFunction", safe_function(function or {}))]
        if function is None:
            return refs
        client = ctx.client("lambda", step.target.region)
        refs.append(ctx.evidence(step, "lambda", "GetFunctionConcurrency",
                                 client.get_function_concurrency(FunctionName=step.target.id)))
        try:
            policy = client.get_policy(FunctionName=step.target.id)
        except ClientError as exc:
            if error_code(exc) != NOT_FOUND:
                raise
            policy = {"Policy": None}
        refs.append(ctx.evidence(step, "lambda", "GetPolicy", policy))
        return refs

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        ctx.client("lambda", step.target.region).delete_function(FunctionName=step.target.id)
        return {"deleted": step.target.id}


@register
class SetConcurrencyZero(Action):
    name = "lambda.set-concurrency-zero"
    title = "Set a function's reserved concurrency to 0 so it cannot run (reversible)"
    resource_type = "AWS::Lambda::Function"
    permissions = ("lambda:GetFunction", "lambda:GetFunctionConcurrency", "lambda:PutFunctionConcurrency")
    reversible = True
    how_to_undo = "PutFunctionConcurrency back to the previous value, or DeleteFunctionConcurrency if none was set"
    undo_permissions = ("lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency")
    cuts_attacker_access = True

    def observe(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        if _get_function(ctx, step) is None:
            return {"exists": False, "reserved_concurrency": None}
        return {"exists": True, "reserved_concurrency": _reserved(ctx, step)}

    def capture(self, ctx: ActionContext, step: Step) -> list[Any]:
        return [ctx.evidence(step, "lambda", "GetFunction", safe_function(_get_function(ctx, step) or {}))]

    def apply(self, ctx: ActionContext, step: Step) -> dict[str, Any]:
        previous = _reserved(ctx, step)
        ctx.client("lambda", step.target.region).put_function_concurrency(
            FunctionName=step.target.id, ReservedConcurrentExecutions=0)
        return {"previous": previous}

    def undo(self, ctx: ActionContext, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        client = ctx.client("lambda", step.target.region)
        previous = result.get("previous")
        if previous is None:
            client.delete_function_concurrency(FunctionName=step.target.id)
        else:
            client.put_function_concurrency(FunctionName=step.target.id, ReservedConcurrentExecutions=int(previous))
        return {"restored": previous}

    def undo_post(self, step: Step, result: Mapping[str, Any]) -> dict[str, Any]:
        return {"exists": True, "reserved_concurrency": result.get("previous")}
