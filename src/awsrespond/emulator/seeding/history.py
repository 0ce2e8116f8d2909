"""Weeks of the account's ordinary CloudTrail before the scenario: the history hunt judges against.

Only records are written (no calls to the emulator): the CI job deploying from its runner every few
hours, and the administrator signing in with MFA on working days. Without them every principal would
be new at the incident and hunt's first-seen analytics could only say so.
"""

from __future__ import annotations

from datetime import timedelta

from awsrespond.emulator.cloudtrail import (
    GLOBAL_EVENT_REGION,
    cloudtrail_record,
    console_login_record,
    iam_user_identity,
)
from awsrespond.emulator.seeding.run import Run

HISTORY_DAYS = 21
_CI_CALLS = (("ec2", "DescribeInstances"), ("sts", "GetCallerIdentity"), ("ec2", "DescribeSecurityGroups"))


def seed_history(run: Run, admin_user_id: str, admin_user_agent: str, days: int = HISTORY_DAYS) -> None:
    base = run.scenario.baseline
    start = run.clock.now() - timedelta(days=days)
    ci = iam_user_identity(account_id=run.account_id, user_name=base.ci_user, principal_id=run.ci_user_id,
                           access_key_id=run.ci_key_id)
    for day in range(days):
        morning = start + timedelta(days=day, hours=8 + run.rng.random())
        for job in range(run.rng.randint(2, 5)):
            when = morning + timedelta(hours=2 * job, minutes=run.rng.randint(0, 50))
            for service, operation in _CI_CALLS:
                region = GLOBAL_EVENT_REGION if service == "sts" else run.primary
                run.records.append(cloudtrail_record(
                    event_time=when, event_source=f"{service}.amazonaws.com", event_name=operation,
                    aws_region=region, user_identity=ci, source_ip=base.ci_ip, user_agent=base.ci_user_agent,
                ))
                when += timedelta(seconds=run.rng.randint(1, 9))
        if morning.weekday() < 5:
            run.records.append(console_login_record(
                event_time=morning + timedelta(minutes=30), account_id=run.account_id, user_name=base.admin_user,
                principal_id=admin_user_id, source_ip=base.admin_ip, user_agent=admin_user_agent,
                mfa_used=True,
            ))
