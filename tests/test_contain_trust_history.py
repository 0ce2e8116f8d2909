"""A widened trust policy is restored to the document it had before, when the case's events hold it."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from awsrespond.case.workspace import Case
from awsrespond.contain.planner.events import previous_trust_policy
from awsrespond.emulator.cloudtrail import cloudtrail_record, iam_user_identity
from awsrespond.trail.stored import open_case_store

ACCOUNT = "210987654321"


def _trust(principal: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})


def test_previous_trust_policy_skips_the_attackers_events(tmp_path: Path) -> None:
    rng = random.Random(99)
    role = f"deploy-{rng.randrange(10**6)}"
    case = Case.create(tmp_path / "case", account_id=ACCOUNT, caller_arn=f"arn:aws:iam::{ACCOUNT}:user/r")
    start = datetime(2026, 10, 1, tzinfo=UTC)
    admin = iam_user_identity(account_id=ACCOUNT, user_name="admin", principal_id="AIDAADMIN",
                              access_key_id="AKIAADMIN00000000001")
    attacker = iam_user_identity(account_id=ACCOUNT, user_name="ci", principal_id="AIDACI",
                                 access_key_id="AKIALEAKED0000000001")

    def record(when: datetime, name: str, params: dict[str, Any], who: dict[str, Any]) -> dict[str, Any]:
        return cloudtrail_record(event_time=when, event_source="iam.amazonaws.com", event_name=name,
                                 aws_region="us-east-1", user_identity=who, source_ip="192.0.2.10",
                                 user_agent="aws-cli/2", request_parameters=params)

    original = _trust(f"arn:aws:iam::{ACCOUNT}:root")
    updated = _trust(f"arn:aws:iam::{ACCOUNT}:role/ci")
    widened = _trust("arn:aws:iam::666666666666:root")
    records = [
        record(start, "CreateRole", {"roleName": role, "assumeRolePolicyDocument": original}, admin),
        record(start + timedelta(days=3), "UpdateAssumeRolePolicy", {"roleName": role, "policyDocument": updated},
               admin),
        record(start + timedelta(days=3), "UpdateAssumeRolePolicy", {"roleName": "other", "policyDocument": widened},
               admin),
        record(start + timedelta(days=9), "UpdateAssumeRolePolicy", {"roleName": role, "policyDocument": widened},
               attacker),
    ]
    store = open_case_store(case)
    store.load_objects([("delivery.json", json.dumps({"Records": records}).encode())])
    store.db.close()
    attacker_ids = {str(records[-1]["eventID"])}
    assert previous_trust_policy(case, role, start + timedelta(days=9), attacker_ids) == updated
    assert previous_trust_policy(case, role, start + timedelta(days=2), attacker_ids) == original
    assert previous_trust_policy(case, role, start + timedelta(days=30), attacker_ids) == updated
    assert previous_trust_policy(case, role, start, attacker_ids) is None
    assert previous_trust_policy(case, "unknown-role", start + timedelta(days=30), set()) is None
