"""The collector contract and the inventory it fills."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from awsrespond.aws.clients import ClientFactory
from awsrespond.case.workspace import EvidenceStore
from awsrespond.coverage import CoverageGap, GapKind
from awsrespond.findings import EvidenceRef

GLOBAL = "global"


class Item(BaseModel):
    """One resource as collected: identity, creation time, and the attributes triage judges."""

    model_config = ConfigDict(extra="forbid")

    type: str  # CloudFormation type name
    id: str
    region: str
    arn: str | None = None
    name: str | None = None
    created: datetime | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    evidence: list[EvidenceRef] = Field(default_factory=list)


class Inventory:
    """Items by type, thread-safe to fill."""

    def __init__(self) -> None:
        self._items: dict[str, list[Item]] = defaultdict(list)
        self._lock = threading.Lock()

    def add(self, item: Item) -> None:
        with self._lock:
            self._items[item.type].append(item)

    def of(self, resource_type: str) -> list[Item]:
        return list(self._items.get(resource_type, []))

    def __iter__(self) -> Iterator[Item]:
        for resource_type in sorted(self._items):
            yield from sorted(self._items[resource_type], key=lambda i: (i.region, i.id))

    def counts(self) -> dict[str, int]:
        return {t: len(v) for t, v in sorted(self._items.items())}

    def find(self, resource_type: str, resource_id: str) -> Item | None:
        return next((i for i in self._items.get(resource_type, []) if i.id == resource_id), None)

    def as_json(self) -> dict[str, list[dict[str, Any]]]:
        return {
            t: [i.model_dump(mode="json") for i in sorted(v, key=lambda i: (i.region, i.id))]
            for t, v in sorted(self._items.items())
        }


class CollectContext:
    """What a collector gets for one region: clients, the evidence store, the inventory."""

    def __init__(
        self,
        *,
        factory: ClientFactory,
        region: str,
        account_id: str,
        partition: str,
        evidence: EvidenceStore,
        inventory: Inventory,
        gaps: list[CoverageGap],
        gaps_lock: threading.Lock,
        since: datetime | None = None,
    ) -> None:
        self.factory = factory
        self.region = region
        self.account_id = account_id
        self.partition = partition
        self.evidence = evidence
        self.inventory = inventory
        self._gaps = gaps
        self._gaps_lock = gaps_lock
        self.since = since.replace(microsecond=0) if since is not None else None

    def worth_detail(self, created: datetime | None) -> bool:
        """Whether a per-resource follow-up call is worth making for a resource created then.

        With an incident window, only resources created in it (or of unknown age) get the
        extra calls; without one, every resource does.
        """
        return self.since is None or created is None or created >= self.since

    def client(self, service: str) -> Any:
        region = None if self.region == GLOBAL else self.region
        return self.factory.client(service, region)

    def paginate(self, service: str, operation: str, result_key: str, **params: Any) -> list[Any]:
        """All items of a paginated operation (pagination everywhere, no silent truncation)."""
        client = self.client(service)
        items: list[Any] = []
        for page in client.get_paginator(operation).paginate(**params):
            items.extend(page.get(result_key, []))
        return items

    def keep(self, service: str, operation: str, response: Any, suffix: str = "") -> EvidenceRef:
        """Store a raw response as evidence (redacted) and return its reference."""
        region = self.region if self.region != GLOBAL else GLOBAL
        return self.evidence.put(
            service=service, operation=operation, region=region, response=response, suffix=suffix
        )

    def add(self, item: Item) -> None:
        self.inventory.add(item)

    def gap(self, kind: GapKind, scope: str, message: str) -> None:
        with self._gaps_lock:
            self._gaps.append(CoverageGap(kind=kind, scope=scope, region=self.region, message=message))

    def arn(self, service: str, resource: str, *, region: str | None = None) -> str:
        reg = self.region if region is None else region
        reg = "" if reg == GLOBAL else reg
        return f"arn:{self.partition}:{service}:{reg}:{self.account_id}:{resource}"


class Collector(ABC):
    """A read-only collector of one family of resources.

    Subclasses declare the IAM actions they need (the shipped read-only policy is tested
    against them) and the CloudFormation types they produce.
    """

    name: ClassVar[str]
    scope: ClassVar[Literal["global", "regional"]]
    resource_types: ClassVar[tuple[str, ...]]
    permissions: ClassVar[tuple[str, ...]]

    @abstractmethod
    def collect(self, ctx: CollectContext) -> None: ...


registry: dict[str, type[Collector]] = {}


def collector(cls: type[Collector]) -> type[Collector]:
    """Class decorator: register a collector under its name."""
    if cls.name in registry:
        raise ValueError(f"collector {cls.name!r} registered twice")
    registry[cls.name] = cls
    return cls
