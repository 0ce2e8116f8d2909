"""Read-only AWS calls made while planning, remembered for the rest of the planning run.

Planning reads the live state of every subject. The recipes run one after the other (the plan must
come out the same every time), so the planner first runs them all in parallel against throwaway
builders only to fill this cache, then for real, in order, from the cache: the reads overlap instead
of queuing one round trip after another. Only Get/List/Describe calls are cached, errors included
(a NoSuchEntity is an answer too); anything else goes straight to AWS.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

_READ_PREFIXES = ("get_", "list_", "describe_")


class ReadCache:
    def __init__(self) -> None:
        self._answers: dict[tuple[int, str, str], tuple[str, Any]] = {}
        self._lock = threading.Lock()

    def wrap(self, client: Any) -> CachingClient:
        return CachingClient(client, self)

    def call(self, client: Any, name: str, kwargs: dict[str, Any], fetch: Callable[[], Any]) -> Any:
        key = (id(client), name, json.dumps(kwargs, sort_keys=True, default=str))
        with self._lock:
            answer = self._answers.get(key)
        if answer is None:
            try:
                answer = ("ok", fetch())
            except (ClientError, BotoCoreError) as exc:
                answer = ("error", exc)
            with self._lock:
                answer = self._answers.setdefault(key, answer)
        kind, value = answer
        if kind == "error":
            raise value
        return value


class CachingClient:
    """A boto3 client whose read calls (and paginated reads) come from the cache when they can."""

    def __init__(self, client: Any, cache: ReadCache) -> None:
        self._client = client
        self._cache = cache

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name == "get_paginator":
            return lambda operation: _CachingPaginator(self._client, self._cache, operation)
        if not callable(attribute) or not name.startswith(_READ_PREFIXES):
            return attribute

        def cached(**kwargs: Any) -> Any:
            return self._cache.call(self._client, name, kwargs, lambda: attribute(**kwargs))

        return cached


class _CachingPaginator:
    def __init__(self, client: Any, cache: ReadCache, operation: str) -> None:
        self._client = client
        self._cache = cache
        self._operation = operation

    def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        pages: list[dict[str, Any]] = self._cache.call(
            self._client, f"paginate:{self._operation}", kwargs,
            lambda: list(self._client.get_paginator(self._operation).paginate(**kwargs)))
        return iter(pages)
