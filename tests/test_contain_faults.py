"""Faults injected under real actions against moto: throttling is retried to success; AccessDenied
fails that step, skips what depends on it, and the rest of the plan goes on."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.contain.executor import ApplyOptions, Executor
from awsrespond.contain.journal import Journal, StepStatus
from awsrespond.contain.model import Phase, Target
from tests.contain_support import ACCOUNT, make_context, make_step, run_step, undo_step


@dataclass
class FlakyFactory(ClientFactory):
    """Fails the first ``times`` calls of an operation whose parameters mention ``match``."""

    rules: list[dict[str, Any]] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)

    def client(self, service: str, region: str | None = None) -> Any:
        created = super().client(service, region)
        if not getattr(created, "_flaky", False):
            created.meta.events.register("before-call", self._maybe_fail)
            created._flaky = True
        return created

    def _maybe_fail(self, model: Any, params: Any = None, **_: Any) -> Any:
        for rule in self.rules:
            if model.name == rule["operation"] and rule["match"] in str(params):
                done = self.hits.get(rule["match"], 0)
                if done >= rule["times"]:
                    continue
                self.hits[rule["match"]] = done + 1
                body = {"Error": {"Code": rule["code"], "Message": f"injected {rule['code']}"},
                        "ResponseMetadata": {"HTTPStatusCode": rule["status"]}}
                return AWSResponse(url="", status_code=rule["status"], headers={}, raw=None), body
        return None


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_throttled_and_denied_steps(aws: None, tmp_path: Path) -> None:
    rng = random.Random(20261128)
    iam = boto3.client("iam", region_name="us-east-1")
    users = [f"svc-{rng.randrange(10**5)}", f"build-{rng.randrange(10**5)}"]
    keys: list[tuple[str, str]] = []
    for user in users:
        iam.create_user(UserName=user)
        keys.append((user, iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]))
    (throttled_user, throttled_key), (denied_user, denied_key) = keys
    factory = FlakyFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=1, rules=[
        {"operation": "UpdateAccessKey", "match": throttled_key, "times": 3, "code": "Throttling", "status": 400},
        {"operation": "UpdateAccessKey", "match": denied_key, "times": 99, "code": "AccessDenied", "status": 403},
    ])

    def key_target(key: str) -> Target:
        return Target(type="AWS::IAM::AccessKey", id=key, region="global")

    steps = [
        make_step("iam.deactivate-access-key", key_target(throttled_key), params={"user": throttled_user},
                  expect={"exists": True, "status": "Active"}, post={"exists": True, "status": "Inactive"},
                  step_id="s001", phase=Phase.CUT),
        make_step("iam.deactivate-access-key", key_target(denied_key), params={"user": denied_user},
                  expect={"exists": True, "status": "Active"}, post={"exists": True, "status": "Inactive"},
                  step_id="s002", phase=Phase.CUT),
        make_step("iam.delete-access-key", key_target(denied_key), params={"user": denied_user},
                  expect={"exists": True, "status": "Inactive"}, post={"exists": False}, step_id="s003"),
        make_step("iam.delete-access-key", key_target(throttled_key), params={"user": throttled_user},
                  expect={"exists": True, "status": "Inactive"}, post={"exists": False}, step_id="s004"),
    ]
    steps[2].after = ["s002"]
    steps[3].after = ["s001"]
    ctx = make_context(tmp_path, factory, steps=steps)
    identity = CallerIdentity(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/responder", user_id="A",
                              alias=None)
    report = Executor(ctx, Journal(ctx.case.root / "contain/journal.jsonl"), identity, None,
                      ApplyOptions(backoff=0.0)).run()
    status = {r.step.id: r for r in report.steps}
    assert status["s001"].status is StepStatus.VERIFIED and factory.hits[throttled_key] == 3
    assert status["s004"].status is StepStatus.VERIFIED
    assert status["s002"].status is StepStatus.FAILED
    assert "AccessDenied" in status["s002"].message and "iam:UpdateAccessKey" in status["s002"].message
    assert status["s003"].status is StepStatus.SKIPPED and "s002" in status["s003"].message
    assert not report.ok
    remaining = {k["AccessKeyId"]: k["Status"] for u in users
                 for k in iam.list_access_keys(UserName=u)["AccessKeyMetadata"]}
    assert remaining == {denied_key: "Active"}


def test_quarantine_falls_back_to_aws_deny_all_when_the_inline_quota_is_full(aws: None, tmp_path: Path) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    user = f"ops-{random.Random(3).randrange(10**6)}"
    iam.create_user(UserName=user)
    factory = FlakyFactory(session=boto3.Session(region_name="us-east-1"), max_attempts=1, rules=[
        {"operation": "PutUserPolicy", "match": user, "times": 99, "code": "LimitExceeded", "status": 409}])
    target = Target(type="AWS::IAM::User", id=user, region="global", arn=f"arn:aws:iam::{ACCOUNT}:user/{user}")
    step = make_step("iam.quarantine-principal", target, expect={"quarantine_policy": False},
                     post={"quarantine_policy": True}, phase=Phase.CUT,
                     params={"policy_name": "AWSRespondQuarantine-t"})
    ctx = make_context(tmp_path, factory, steps=[step])
    result = run_step(ctx, step)
    deny_all = "arn:aws:iam::aws:policy/AWSDenyAll"
    assert result["attached"] == deny_all
    assert [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]] == [deny_all]
    undo_step(ctx, step, result)
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []
