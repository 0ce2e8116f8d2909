"""Fault injection for the client factory: make chosen calls fail the way real AWS does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from awsrespond.aws.clients import ClientFactory


@dataclass(frozen=True)
class Fault:
    service: str  # boto3 client name, e.g. "ec2"
    operation: str  # API name, e.g. "DescribeInstances"; "*" for every operation
    region: str | None  # None for every region
    code: str  # AWS error code, or "unreachable"
    status: int = 400


@dataclass
class FaultyFactory(ClientFactory):
    faults: list[Fault] = field(default_factory=list)

    def client(self, service: str, region: str | None = None) -> Any:
        created = super().client(service, region)
        if not getattr(created, "_faults_installed", False):
            created.meta.events.register("before-call", self._maybe_fail)
            created._faults_installed = True
        return created

    def _maybe_fail(self, model: Any, context: Any = None, **_: Any) -> Any:
        region = (context or {}).get("client_region")
        service = model.service_model.service_name
        for fault in self.faults:
            if fault.service == service and fault.operation in ("*", model.name) and fault.region in (None, region):
                if fault.code == "unreachable":
                    raise EndpointConnectionError(endpoint_url=f"https://{service}.{region}.amazonaws.com")
                body = {"Error": {"Code": fault.code, "Message": f"injected {fault.code}"},
                        "ResponseMetadata": {"HTTPStatusCode": fault.status}}
                return AWSResponse(url="", status_code=fault.status, headers={}, raw=None), body
        return None
