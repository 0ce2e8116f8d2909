"""Lambda functions: attacker persistence and crypto-mining run here too.

ListFunctions returns environment variable values; the evidence store redacts them, and the item
carries only their names.
"""

from __future__ import annotations

from awsrespond.inventory.base import CollectContext, Collector, Item, collector
from awsrespond.inventory.helpers import all_pages, items_of, when
from awsrespond.timeutil import iso


@collector
class LambdaFunctions(Collector):
    name = "lambda.functions"
    scope = "regional"
    resource_types = ("AWS::Lambda::Function",)
    permissions = ("lambda:ListFunctions",)

    def collect(self, ctx: CollectContext) -> None:
        pages = all_pages(ctx, "lambda", "ListFunctions")
        ref = ctx.keep("lambda", "ListFunctions", pages)
        for function in items_of(pages, "Functions"):
            function_name = function["FunctionName"]
            # Lambda has no creation time; LastModified is the closest AWS gives.
            modified = when(function.get("LastModified"))
            variables = (function.get("Environment") or {}).get("Variables") or {}
            ctx.add(
                Item(
                    type="AWS::Lambda::Function",
                    id=function_name,
                    region=ctx.region,
                    arn=function.get("FunctionArn"),
                    name=function_name,
                    created=modified,
                    data={
                        "runtime": function.get("Runtime"),
                        "role": function.get("Role"),
                        "handler": function.get("Handler"),
                        "last_modified": iso(modified),
                        "created_is_last_modified": True,
                        "code_size": function.get("CodeSize"),
                        "package_type": function.get("PackageType"),
                        "layers": [layer["Arn"] for layer in function.get("Layers") or [] if "Arn" in layer],
                        "env_var_names": sorted(str(name) for name in variables),
                    },
                    evidence=[ref],
                )
            )
