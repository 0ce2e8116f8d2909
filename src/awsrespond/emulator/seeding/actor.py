"""One principal's API calls during seeding, each also recorded as a CloudTrail record."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import error_code
from awsrespond.emulator.cloudtrail import GLOBAL_EVENT_REGION, cloudtrail_record
from awsrespond.emulator.seeding.clock import Clock
from awsrespond.errors import AwsCallError

_GLOBAL_SERVICES = frozenset({"iam"})


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:]): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


@dataclass
class Actor:
    factory: ClientFactory
    identity: dict[str, Any]
    source_ip: str
    user_agent: str
    clock: Clock
    records: list[dict[str, Any]]
    console: bool = False

    def call(
        self,
        service: str,
        region: str,
        operation: str,
        params: dict[str, Any] | None = None,
        *,
        event_name: str | None = None,
        request: dict[str, Any] | None = None,
        response: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """Call ``operation`` and record it. ``request`` defaults to the parameters in camelCase."""
        arguments = params or {}
        when = self.clock.now()
        try:
            result: dict[str, Any] = getattr(self.factory.client(service, region), xform_name(operation))(**arguments)
        except (ClientError, BotoCoreError) as exc:
            hint = ""
            if re.search(r"AlreadyExists|Duplicate", error_code(exc)):
                hint = " (seed a fresh emulator, or reset it first)"
            raise AwsCallError(
                f"seeding the scenario failed: {exc}{hint}",
                operation=f"{service}:{operation}",
                region=region,
                code=error_code(exc),
            ) from exc
        request_id = str(uuid.uuid4())
        elements = response(result) if response else None
        if elements is not None and "requestId" in elements:
            elements["requestId"] = request_id
        self.records.append(
            cloudtrail_record(
                event_time=when,
                event_source=f"{service}.amazonaws.com",
                event_name=event_name or operation,
                aws_region=GLOBAL_EVENT_REGION if service in _GLOBAL_SERVICES else region,
                user_identity=self.identity,
                source_ip=self.source_ip,
                user_agent=self.user_agent,
                request_parameters=request if request is not None else (_camel(arguments) or None),
                response_elements=elements,
                session_credential_from_console=self.console,
                request_id=request_id,
            )
        )
        return result
