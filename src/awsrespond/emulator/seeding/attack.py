"""The attack with the CI user's key: recon, IAM persistence, each region's resources, StopLogging."""

from __future__ import annotations

import json

from awsrespond.emulator.cloudtrail import GLOBAL_EVENT_REGION, console_login_record, iam_user_identity
from awsrespond.emulator.scenario import ADMINISTRATOR_ACCESS
from awsrespond.emulator.seeding.actor import Actor
from awsrespond.emulator.seeding.attack_regions import attack_region
from awsrespond.emulator.seeding.destroy import delete_volumes
from awsrespond.emulator.seeding.ground_truth import GLOBAL
from awsrespond.emulator.seeding.iam_records import (
    access_key_element,
    create_login_profile,
    iam_policy_element,
    iam_role_element,
    iam_user_element,
    trust_policy,
)
from awsrespond.emulator.seeding.run import Run

LAMBDA_BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


def seed_attack(run: Run) -> None:
    spec, base = run.scenario.attacker, run.scenario.baseline
    actor = Actor(
        run.ci_factory,
        iam_user_identity(
            account_id=run.account_id,
            user_name=base.ci_user,
            principal_id=run.ci_user_id,
            access_key_id=run.ci_key_id,
        ),
        spec.source_ips[0],
        spec.user_agent,
        run.clock,
        run.records,
    )
    actor.call("sts", GLOBAL_EVENT_REGION, "GetCallerIdentity")
    if spec.recon:
        actor.call("iam", GLOBAL_EVENT_REGION, "ListUsers")
        actor.call("iam", GLOBAL_EVENT_REGION, "ListAttachedUserPolicies", {"UserName": base.ci_user})
        actor.call(
            "ec2",
            GLOBAL_EVENT_REGION,
            "DescribeRegions",
            {"AllRegions": True},
            request={"regionSet": {}, "allRegions": True},
        )
        actor.call("ec2", run.primary, "DescribeInstances", request={"instancesSet": {}, "filterSet": {}})
        actor.call(
            "s3",
            GLOBAL_EVENT_REGION,
            "ListBuckets",
            request={"Host": "s3.amazonaws.com"},
        )
    _attack_iam(run, actor)
    for region in spec.regions:
        attack_region(run, actor, region)
    delete_volumes(run, actor)
    actor.call("cloudtrail", run.primary, "StopLogging", {"Name": base.trail_name})


def _attack_iam(run: Run, actor: Actor) -> None:
    spec = run.scenario.attacker
    user = actor.call(
        "iam",
        GLOBAL_EVENT_REGION,
        "CreateUser",
        {"UserName": spec.user_name},
        response=lambda r: {"user": iam_user_element(r["User"])},
    )["User"]
    run.bad("AWS::IAM::User", spec.user_name, GLOBAL, spec.user_name)
    actor.call(
        "iam",
        GLOBAL_EVENT_REGION,
        "AttachUserPolicy",
        {"UserName": spec.user_name, "PolicyArn": ADMINISTRATOR_ACCESS},
    )
    key = actor.call(
        "iam",
        GLOBAL_EVENT_REGION,
        "CreateAccessKey",
        {"UserName": spec.user_name},
        response=lambda r: access_key_element(r["AccessKey"]),
    )["AccessKey"]
    run.bad("AWS::IAM::AccessKey", key["AccessKeyId"], GLOBAL, spec.user_name)
    create_login_profile(actor, GLOBAL_EVENT_REGION, spec.user_name, run.password())
    run.records.append(
        console_login_record(
            event_time=run.clock.now(),
            account_id=run.account_id,
            user_name=spec.user_name,
            principal_id=user["UserId"],
            source_ip=spec.source_ips[-1],
            user_agent=spec.console_user_agent,
            mfa_used=False,
        )
    )
    actor.call(
        "iam",
        GLOBAL_EVENT_REGION,
        "CreateRole",
        {
            "RoleName": spec.backdoor_role,
            "AssumeRolePolicyDocument": trust_policy({"AWS": f"arn:aws:iam::{spec.external_account_id}:root"}),
        },
        response=lambda r: iam_role_element(r["Role"]),
    )
    run.bad("AWS::IAM::Role", spec.backdoor_role, GLOBAL, spec.backdoor_role)
    actor.call(
        "iam",
        GLOBAL_EVENT_REGION,
        "AttachRolePolicy",
        {"RoleName": spec.backdoor_role, "PolicyArn": ADMINISTRATOR_ACCESS},
    )
    if spec.custom_policy is not None:
        document = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
        policy = actor.call(
            "iam",
            GLOBAL_EVENT_REGION,
            "CreatePolicy",
            {"PolicyName": spec.custom_policy.name, "PolicyDocument": json.dumps(document)},
            response=lambda r: iam_policy_element(r["Policy"]),
        )["Policy"]
        run.bad("AWS::IAM::ManagedPolicy", policy["Arn"], GLOBAL, spec.custom_policy.name)
        if spec.custom_policy.attach_to == "user":
            actor.call(
                "iam",
                GLOBAL_EVENT_REGION,
                "AttachUserPolicy",
                {"UserName": spec.user_name, "PolicyArn": policy["Arn"]},
            )
        else:
            actor.call(
                "iam",
                GLOBAL_EVENT_REGION,
                "AttachRolePolicy",
                {"RoleName": spec.backdoor_role, "PolicyArn": policy["Arn"]},
            )
    for function in spec.lambda_functions:
        actor.call(
            "iam",
            GLOBAL_EVENT_REGION,
            "CreateRole",
            {
                "RoleName": function.role_name,
                "AssumeRolePolicyDocument": trust_policy({"Service": "lambda.amazonaws.com"}),
            },
            response=lambda r: iam_role_element(r["Role"]),
        )
        run.bad("AWS::IAM::Role", function.role_name, GLOBAL, function.role_name)
        actor.call(
            "iam",
            GLOBAL_EVENT_REGION,
            "AttachRolePolicy",
            {"RoleName": function.role_name, "PolicyArn": LAMBDA_BASIC_EXECUTION},
        )
