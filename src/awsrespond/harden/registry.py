"""The check registry. Adding a check is one module under ``checks/`` (plus its import line in
``checks/__init__.py``) and a test: ``@check`` registers the read, ``@fixer`` the change set that fixes it.

A check reads through :meth:`HardenContext.call`, which turns an AWS error into :class:`ReadError`
naming the API and region; the runner turns that into ``status: error`` for that check alone.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import ErrorKind, classify_error, describe_error
from awsrespond.aws.identity import CallerIdentity
from awsrespond.aws.regions import RegionPlan
from awsrespond.harden.model import CheckSeverity, CheckStatus
from awsrespond.recover.changes import ChangeSet

T = TypeVar("T")
GLOBAL = "global"


class ReadError(Exception):
    """A read a check needs failed: names the API (``iam:GetAccountSummary``) and the region."""

    def __init__(self, api: str, region: str, cause: ClientError | BotoCoreError) -> None:
        self.api = api
        self.region = region
        self.cause = cause
        self.kind = classify_error(cause)
        super().__init__(f"{api} in {region} failed: {describe_error(cause)}")


@dataclass
class Outcome:
    """What one check found. ``facts`` is for its fixer (never printed)."""

    status: CheckStatus
    detail: str
    fix: str = ""
    fixable: bool = False
    regions: dict[str, str] = field(default_factory=dict)
    resources: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def passed(detail: str, **kwargs: Any) -> Outcome:
    return Outcome(CheckStatus.PASS, detail, **kwargs)


def failed(detail: str, fix: str, *, fixable: bool, **kwargs: Any) -> Outcome:
    return Outcome(CheckStatus.FAIL, detail, fix, fixable, **kwargs)


def errored(detail: str, fix: str, **kwargs: Any) -> Outcome:
    return Outcome(CheckStatus.ERROR, detail, fix, **kwargs)


@dataclass
class HardenContext:
    """What checks and fixers may use. Reads are memoised per run (two checks share one credential report)."""

    factory: ClientFactory
    identity: CallerIdentity
    regions: RegionPlan
    now: datetime
    workers: int = 8
    never_touch: list[str] = field(default_factory=list)
    caller_key: str | None = None
    _memo: dict[str, Future[Any]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def account_id(self) -> str:
        return self.identity.account_id

    @property
    def partition(self) -> str:
        return self.identity.partition

    def call(self, service: str, method: str, region: str = GLOBAL, **kwargs: Any) -> Any:
        """One read; an AWS error becomes ReadError naming ``service:Operation`` and the region."""
        client = self.factory.client(service, None if region == GLOBAL else region)
        try:
            return getattr(client, method)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            operation = client.meta.method_to_api_mapping.get(method, method)
            raise ReadError(f"{service}:{operation}", region, exc) from exc

    def pages(self, service: str, method: str, key: str, region: str = GLOBAL, **kwargs: Any) -> list[Any]:
        """Every item under ``key`` of a paginated read."""
        client = self.factory.client(service, None if region == GLOBAL else region)
        try:
            return [item for page in client.get_paginator(method).paginate(**kwargs) for item in page.get(key, [])]
        except (ClientError, BotoCoreError) as exc:
            operation = client.meta.method_to_api_mapping.get(method, method)
            raise ReadError(f"{service}:{operation}", region, exc) from exc

    def shared(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per run however many checks ask (errors are shared too)."""
        with self._lock:
            future = self._memo.get(key)
            owner = future is None
            if future is None:
                future = self._memo[key] = Future()
        if owner:
            try:
                future.set_result(compute())
            except ReadError as exc:
                future.set_exception(exc)
        result: T = future.result()
        return result

    def per_region(self, read: Callable[[str], T]) -> dict[str, T | ReadError]:
        """``read(region)`` for every enabled region in parallel; a region's ReadError is its value."""
        def one(region: str) -> T | ReadError:
            try:
                return read(region)
            except ReadError as exc:
                return exc

        regions = list(self.regions.enabled)
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(regions) or 1)),
                                thread_name_prefix="harden-region") as pool:
            return dict(zip(regions, pool.map(one, regions), strict=True))


def not_enabled(error: ReadError) -> bool:
    """The region answered as one the account has not enabled (coverage, not a failure)."""
    return error.kind is ErrorKind.NOT_ENABLED


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    severity: CheckSeverity
    run: Callable[[HardenContext], Outcome]


FixPlanner = Callable[[HardenContext, Mapping[str, Outcome], ChangeSet], None]


@dataclass(frozen=True)
class FixSpec:
    checks: tuple[str, ...]
    plan: FixPlanner


_CHECKS: dict[str, CheckSpec] = {}
_FIXERS: list[FixSpec] = []


def check(check_id: str, title: str, severity: CheckSeverity) -> Callable[[Callable[[HardenContext], Outcome]],
                                                                          Callable[[HardenContext], Outcome]]:
    def register(run: Callable[[HardenContext], Outcome]) -> Callable[[HardenContext], Outcome]:
        if check_id in _CHECKS and _CHECKS[check_id].run is not run:
            raise ValueError(f"two checks with id {check_id}")
        _CHECKS[check_id] = CheckSpec(check_id, title, severity, run)
        return run
    return register


def fixer(*check_ids: str) -> Callable[[FixPlanner], FixPlanner]:
    """Registers the change-set builder for these checks; it receives only those that failed."""
    def register(plan: FixPlanner) -> FixPlanner:
        if all(spec.plan is not plan for spec in _FIXERS):
            _FIXERS.append(FixSpec(tuple(check_ids), plan))
        return plan
    return register


def _load() -> None:
    importlib.import_module("awsrespond.harden.checks")


# The report's order: logging and detection first, then exposure, credentials, alerting, contacts.
AREA_ORDER = ("cloudtrail", "guardduty", "s3", "iam", "budgets", "account")


_SEVERITY_ORDER = (CheckSeverity.CRITICAL, CheckSeverity.HIGH, CheckSeverity.MEDIUM, CheckSeverity.LOW)


def _rank(spec: CheckSpec) -> tuple[int, int]:
    area = spec.id.split(".", 1)[0]
    return (AREA_ORDER.index(area) if area in AREA_ORDER else len(AREA_ORDER), _SEVERITY_ORDER.index(spec.severity))


def all_checks() -> list[CheckSpec]:
    """Every registered check: by area (:data:`AREA_ORDER`), then the most severe first."""
    _load()
    return sorted(_CHECKS.values(), key=_rank)


def all_fixers() -> list[FixSpec]:
    _load()
    return list(_FIXERS)


def select(ids: Iterable[str] | None) -> list[CheckSpec]:
    """The checks named (exact id, or a prefix ending in '.' such as ``iam.``); all when None or empty."""
    wanted = [i for i in ids or [] if i]
    checks = all_checks()
    if not wanted:
        return checks
    return [c for c in checks if any(c.id == w or (w.endswith(".") and c.id.startswith(w)) for w in wanted)]
