"""The planning read cache: reads and their errors are remembered; writes always go through."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from awsrespond.contain.planner.readcache import ReadCache


@pytest.fixture
def iam() -> Iterator[object]:
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


def test_reads_are_cached_and_writes_are_not(iam: object) -> None:
    client = ReadCache().wrap(iam)
    sent: list[str] = []
    iam.meta.events.register("before-call", lambda model, **_: sent.append(model.name))  # type: ignore[attr-defined]
    client.create_user(UserName="a")
    assert [u["UserName"] for u in client.list_users()["Users"]] == ["a"]
    client.create_user(UserName="b")  # not cached: goes to AWS
    assert [u["UserName"] for u in client.list_users()["Users"]] == ["a"]  # the planning-time snapshot
    assert [u["UserName"] for u in client.list_users(MaxItems=10)["Users"]] == ["a", "b"]  # other parameters
    for _ in range(2):
        with pytest.raises(ClientError, match="NoSuchEntity"):
            client.get_user(UserName="nobody")
    pages = [p for p in client.get_paginator("list_users").paginate()]
    again = [p for p in client.get_paginator("list_users").paginate()]
    assert pages == again
    assert sent.count("CreateUser") == 2 and sent.count("GetUser") == 1 and sent.count("ListUsers") == 3
