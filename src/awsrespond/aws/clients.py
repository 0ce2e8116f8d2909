"""The boto3 session and a thread-safe, caching client factory.

Every service object in awsrespond receives a ``ClientFactory``; nothing creates clients at import
time. The factory applies the endpoint override, standard retries and a connection pool sized for
the fan-out, and records every API operation it sends (for the read-only tests, the least-privilege
policy test and the benchmark's call count).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from awsrespond.errors import UsageError

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class SessionSpec:
    """How to reach AWS. Credentials come from the standard chain (env, profiles, SSO, assume-role)."""

    profile: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    max_attempts: int = 5
    max_workers: int = 16

    def session(self) -> boto3.Session:
        try:
            return boto3.Session(profile_name=self.profile, region_name=self.region)
        except ProfileNotFound as exc:
            raise UsageError(f"AWS profile {self.profile!r} not found in the AWS config files ({exc})") from exc


@dataclass(frozen=True)
class ApiCall:
    service: str
    operation: str
    region: str

    @property
    def iam_action(self) -> str:
        return f"{self.service}:{self.operation}"


Observer = Callable[[ApiCall], None]


@dataclass
class ClientFactory:
    session: boto3.Session
    endpoint_url: str | None = None
    max_attempts: int = 5
    max_pool_connections: int = 32
    observers: list[Observer] = field(default_factory=list)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _calls_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    calls: list[ApiCall] = field(default_factory=list, init=False, repr=False)
    _current: threading.local = field(default_factory=threading.local, init=False, repr=False)

    @classmethod
    def from_spec(cls, spec: SessionSpec) -> ClientFactory:
        return cls(
            session=spec.session(),
            endpoint_url=spec.endpoint_url,
            max_attempts=spec.max_attempts,
            max_pool_connections=max(10, spec.max_workers * 2),
        )

    @property
    def default_region(self) -> str:
        return self.session.region_name or DEFAULT_REGION

    def client(self, service: str, region: str | None = None) -> Any:
        """A cached client for ``service`` in ``region``; safe to call from worker threads."""
        region_name = region or self.default_region
        key = (service, region_name)
        with self._lock:
            existing = self._clients.get(key)
            if existing is not None:
                return existing
            # boto3 sessions are not thread-safe: create clients under the lock.
            config = Config(
                region_name=region_name,
                retries={"mode": "standard", "max_attempts": self.max_attempts},
                max_pool_connections=self.max_pool_connections,
                connect_timeout=10,
                read_timeout=60,
                user_agent_extra="awsrespond",
            )
            kwargs: dict[str, Any] = {"config": config}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            created = self.session.client(service, **kwargs)  # type: ignore[call-overload]
            created.meta.events.register("before-call", self._observe)
            if self.endpoint_url and service == "s3control":
                # S3 Control sends each call to ``{AccountId}.<endpoint>``: a custom endpoint (the emulator, a
                # proxy) has no such host, so the account label is dropped there before signing.
                created.meta.events.register("before-sign.s3-control", _drop_account_host)
            self._clients[key] = created
            return created

    def last_call(self) -> ApiCall | None:
        """The API call this thread sent last: names the operation when an error does not."""
        call: ApiCall | None = getattr(self._current, "call", None)
        return call

    def _observe(self, model: Any, context: Any = None, **_: Any) -> None:
        call = ApiCall(
            service=model.service_model.signing_name or model.service_model.endpoint_prefix,
            operation=model.name,
            region=(context or {}).get("client_region") or "",
        )
        self._current.call = call
        with self._calls_lock:  # not the client lock: recording must not wait behind a client creation
            self.calls.append(call)
        for observer in self.observers:
            observer(call)


def _drop_account_host(request: Any, **_: Any) -> None:
    parts = urlsplit(request.url)
    first, _, rest = parts.netloc.partition(".")
    if rest and len(first) == 12 and first.isdigit():
        request.url = urlunsplit(parts._replace(netloc=rest))
