"""Small helpers the collectors share: pages kept as evidence, per-resource follow-up calls that
fail on their own, tags and times."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError

from awsrespond.aws.errors import ErrorKind, classify_error, describe_error
from awsrespond.coverage import gap_kind
from awsrespond.findings import EvidenceRef
from awsrespond.inventory.base import CollectContext
from awsrespond.timeutil import coerce_instant, iso


def all_pages(ctx: CollectContext, service: str, operation: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a paginated operation (``operation`` in API spelling, e.g. DescribeInstances)."""
    paginator = ctx.client(service).get_paginator(xform_name(operation))
    return [dict(page) for page in paginator.paginate(**params)]


def items_of(pages: Iterable[Mapping[str, Any]], key: str) -> list[dict[str, Any]]:
    return [item for page in pages for item in page.get(key, [])]


class SubCalls:
    """Per-resource follow-up calls (an attribute, a status).

    One failing call becomes a coverage gap and the resource is still reported without that
    attribute; after an access denial the operation is not tried again for the remaining resources.
    """

    def __init__(self, ctx: CollectContext, scope: str) -> None:
        self.ctx = ctx
        self.scope = scope
        self._denied: set[str] = set()

    def call(
        self, service: str, operation: str, resource_id: str, **params: Any
    ) -> tuple[dict[str, Any] | None, EvidenceRef | None]:
        if operation in self._denied:
            return None, None
        try:
            response: dict[str, Any] = getattr(self.ctx.client(service), xform_name(operation))(**params)
        except ClientError as exc:
            kind = classify_error(exc)
            if kind is ErrorKind.ACCESS_DENIED:
                self._denied.add(operation)
                message = f"{describe_error(exc)} (not tried for the remaining resources)"
            else:
                message = f"{resource_id}: {describe_error(exc)}"
            self.ctx.gap(gap_kind(kind), f"{self.scope} ({operation})", message)
            return None, None
        return response, self.ctx.keep(service, operation, response, suffix=resource_id)


def tags_of(resource: Mapping[str, Any], key: str = "Tags") -> dict[str, str]:
    return {str(t.get("Key")): str(t.get("Value", "")) for t in resource.get(key) or [] if "Key" in t}


def when(value: object) -> datetime | None:
    return coerce_instant(value)


def when_iso(value: object) -> str | None:
    return iso(coerce_instant(value))
