"""The legitimate account before the incident: admin, CI user and key, app role, trail, instances."""

from __future__ import annotations

import json
import uuid
from typing import Any

from awsrespond.emulator.cloudtrail import console_login_record, iam_date, iam_user_identity, root_identity
from awsrespond.emulator.scenario import ADMINISTRATOR_ACCESS
from awsrespond.emulator.seeding.actor import Actor
from awsrespond.emulator.seeding.destroy import seed_data_volume
from awsrespond.emulator.seeding.ec2_records import ec2_response, epoch_ms, instances_element, run_request
from awsrespond.emulator.seeding.ground_truth import GLOBAL
from awsrespond.emulator.seeding.history import seed_history
from awsrespond.emulator.seeding.iam_records import (
    access_key_element,
    create_login_profile,
    iam_policy_element,
    iam_role_element,
    iam_user_element,
    trust_policy,
)
from awsrespond.emulator.seeding.run import Run
from awsrespond.emulator.seeding.security_groups import create_security_group
from awsrespond.errors import AwsRespondError

ADMIN_CONSOLE_USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)


def seed_baseline(run: Run) -> None:
    base = run.scenario.baseline
    factory = run.admin_factory
    root = Actor(
        factory,
        root_identity(
            account_id=run.account_id,
            access_key_id=run.session_key(),
            session_created=run.clock.now(),
            mfa_authenticated=True,
        ),
        base.admin_ip,
        ADMIN_CONSOLE_USER_AGENT,
        run.clock,
        run.records,
        console=True,
    )
    admin_user = root.call(
        "iam",
        run.primary,
        "CreateUser",
        {"UserName": base.admin_user},
        response=lambda r: {"user": iam_user_element(r["User"])},
    )["User"]
    run.legit("AWS::IAM::User", base.admin_user, GLOBAL, base.admin_user)
    root.call(
        "iam",
        run.primary,
        "AttachUserPolicy",
        {"UserName": base.admin_user, "PolicyArn": ADMINISTRATOR_ACCESS},
    )
    create_login_profile(root, run.primary, base.admin_user, run.password())
    device = root.call(
        "iam",
        run.primary,
        "CreateVirtualMFADevice",
        {"VirtualMFADeviceName": base.admin_user},
        request={"virtualMFADeviceName": base.admin_user, "path": "/"},
        response=lambda r: {"virtualMFADevice": {"serialNumber": r["VirtualMFADevice"]["SerialNumber"]}},
    )["VirtualMFADevice"]
    serial = device["SerialNumber"]
    root.call(
        "iam",
        run.primary,
        "EnableMFADevice",
        {
            "UserName": base.admin_user,
            "SerialNumber": serial,
            "AuthenticationCode1": "123456",
            "AuthenticationCode2": "654321",
        },
        request={"userName": base.admin_user, "serialNumber": serial},
    )
    run.legit("AWS::IAM::VirtualMFADevice", serial, GLOBAL, base.admin_user)

    login_time = run.clock.now()
    run.records.append(
        console_login_record(
            event_time=login_time,
            account_id=run.account_id,
            user_name=base.admin_user,
            principal_id=admin_user["UserId"],
            source_ip=base.admin_ip,
            user_agent=ADMIN_CONSOLE_USER_AGENT,
            mfa_used=True,
        )
    )
    admin = Actor(
        factory,
        iam_user_identity(
            account_id=run.account_id,
            user_name=base.admin_user,
            principal_id=admin_user["UserId"],
            access_key_id=run.session_key(),
            session_created=login_time,
            mfa_authenticated=True,
        ),
        base.admin_ip,
        ADMIN_CONSOLE_USER_AGENT,
        run.clock,
        run.records,
        console=True,
    )
    _baseline_iam(run, admin)
    _baseline_logging(run, admin)
    _baseline_ec2(run, admin)
    seed_data_volume(run, admin)

    ci = Actor(
        run.ci_factory,
        iam_user_identity(
            account_id=run.account_id,
            user_name=base.ci_user,
            principal_id=run.ci_user_id,
            access_key_id=run.ci_key_id,
        ),
        base.ci_ip,
        base.ci_user_agent,
        run.clock,
        run.records,
    )
    ci.call("ec2", run.primary, "DescribeInstances", request={"instancesSet": {}, "filterSet": {}})
    seed_history(run, admin_user["UserId"], ADMIN_CONSOLE_USER_AGENT)


def _baseline_iam(run: Run, admin: Actor) -> None:
    base = run.scenario.baseline
    policy = admin.call(
        "iam",
        run.primary,
        "CreatePolicy",
        {"PolicyName": base.ci_policy_name, "PolicyDocument": json.dumps(base.ci_policy)},
        response=lambda r: iam_policy_element(r["Policy"]),
    )["Policy"]
    run.legit("AWS::IAM::ManagedPolicy", policy["Arn"], GLOBAL, base.ci_policy_name)
    ci_user = admin.call(
        "iam",
        run.primary,
        "CreateUser",
        {"UserName": base.ci_user},
        response=lambda r: {"user": iam_user_element(r["User"])},
    )["User"]
    run.ci_user_id = ci_user["UserId"]
    run.legit("AWS::IAM::User", base.ci_user, GLOBAL, base.ci_user)
    admin.call("iam", run.primary, "AttachUserPolicy", {"UserName": base.ci_user, "PolicyArn": policy["Arn"]})
    key = admin.call(
        "iam",
        run.primary,
        "CreateAccessKey",
        {"UserName": base.ci_user},
        response=lambda r: access_key_element(r["AccessKey"]),
    )["AccessKey"]
    run.ci_key_id, run.ci_secret = key["AccessKeyId"], key["SecretAccessKey"]
    run.legit("AWS::IAM::AccessKey", run.ci_key_id, GLOBAL, base.ci_user)

    admin.call(
        "iam",
        run.primary,
        "CreateRole",
        {"RoleName": base.app_role, "AssumeRolePolicyDocument": trust_policy({"Service": "ec2.amazonaws.com"})},
        response=lambda r: iam_role_element(r["Role"]),
    )
    run.legit("AWS::IAM::Role", base.app_role, GLOBAL, base.app_role)
    admin.call(
        "iam",
        run.primary,
        "AttachRolePolicy",
        {"RoleName": base.app_role, "PolicyArn": base.app_role_policy},
    )
    admin.call(
        "iam",
        run.primary,
        "CreateInstanceProfile",
        {"InstanceProfileName": base.instance_profile},
        response=lambda r: {
            "instanceProfile": {
                "path": "/",
                "instanceProfileName": r["InstanceProfile"]["InstanceProfileName"],
                "instanceProfileId": r["InstanceProfile"]["InstanceProfileId"],
                "arn": r["InstanceProfile"]["Arn"],
                "createDate": iam_date(r["InstanceProfile"]["CreateDate"]),
                "roles": [],
            }
        },
    )
    admin.call(
        "iam",
        run.primary,
        "AddRoleToInstanceProfile",
        {"InstanceProfileName": base.instance_profile, "RoleName": base.app_role},
    )
    run.legit("AWS::IAM::InstanceProfile", base.instance_profile, GLOBAL, base.instance_profile)


def _baseline_logging(run: Run, admin: Actor) -> None:
    base = run.scenario.baseline
    host = f"{base.trail_bucket}.s3.{run.primary}.amazonaws.com"
    bucket_params: dict[str, Any] = {"Bucket": base.trail_bucket}
    bucket_request: dict[str, Any] = {"bucketName": base.trail_bucket, "Host": host}
    if run.primary != "us-east-1":
        bucket_params["CreateBucketConfiguration"] = {"LocationConstraint": run.primary}
        bucket_request["CreateBucketConfiguration"] = {"LocationConstraint": run.primary}
    admin.call("s3", run.primary, "CreateBucket", bucket_params, request=bucket_request)
    run.legit("AWS::S3::Bucket", base.trail_bucket, run.primary, base.trail_bucket)
    trail_arn = f"arn:aws:cloudtrail:{run.primary}:{run.account_id}:trail/{base.trail_name}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSCloudTrailAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": f"arn:aws:s3:::{base.trail_bucket}",
                "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
            },
            {
                "Sid": "AWSCloudTrailWrite",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{base.trail_bucket}/AWSLogs/{run.account_id}/*",
                "Condition": {
                    "StringEquals": {
                        "s3:x-amz-acl": "bucket-owner-full-control",
                        "aws:SourceArn": trail_arn,
                    }
                },
            },
        ],
    }
    admin.call(
        "s3",
        run.primary,
        "PutBucketPolicy",
        {"Bucket": base.trail_bucket, "Policy": json.dumps(policy)},
        request={"bucketName": base.trail_bucket, "bucketPolicy": policy, "policy": "", "Host": host},
    )
    trail = admin.call(
        "cloudtrail",
        run.primary,
        "CreateTrail",
        {
            "Name": base.trail_name,
            "S3BucketName": base.trail_bucket,
            "IsMultiRegionTrail": True,
            "IncludeGlobalServiceEvents": True,
        },
        response=lambda r: {
            "name": r["Name"],
            "s3BucketName": r["S3BucketName"],
            "includeGlobalServiceEvents": True,
            "isMultiRegionTrail": True,
            "trailARN": r["TrailARN"],
            "logFileValidationEnabled": False,
            "isOrganizationTrail": False,
        },
    )
    run.trail_arn = trail["TrailARN"]
    run.legit("AWS::CloudTrail::Trail", run.trail_arn, run.primary, base.trail_name)
    admin.call("cloudtrail", run.primary, "StartLogging", {"Name": base.trail_name})
    for region in run.scenario.home_regions:
        token = str(uuid.uuid4())
        detector = admin.call(
            "guardduty",
            region,
            "CreateDetector",
            {"Enable": True, "ClientToken": token},
            response=lambda r: {"detectorId": r["DetectorId"]},
        )
        run.legit("AWS::GuardDuty::Detector", detector["DetectorId"], region, detector["DetectorId"])


def _baseline_ec2(run: Run, admin: Actor) -> None:
    base = run.scenario.baseline
    group_ids: list[str] = []
    if base.web_security_group:
        group_id = create_security_group(
            admin, run.account_id, run.primary, base.web_security_group, f"{base.web_security_group} HTTPS", [443]
        )
        group_ids.append(group_id)
        run.legit("AWS::EC2::SecurityGroup", group_id, run.primary, base.web_security_group)
    first_volume: str | None = None
    first_name = ""
    for group in base.instances:
        tags = {"Name": group.name, "Environment": "production"}
        params: dict[str, Any] = {
            "ImageId": "ami-0c9c942bd7bf113a2",
            "InstanceType": group.instance_type,
            "MinCount": group.count,
            "MaxCount": group.count,
            "IamInstanceProfile": {"Name": base.instance_profile},
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            ],
        }
        if group_ids:
            params["SecurityGroupIds"] = group_ids
        result = admin.call(
            "ec2",
            run.primary,
            "RunInstances",
            params,
            request=run_request(
                params["ImageId"],
                group.instance_type,
                group.count,
                key_name=None,
                group_ids=group_ids,
                tags=tags,
                profile=base.instance_profile,
                user_data=False,
            ),
            response=lambda r: instances_element(r, run.account_id),
        )
        for instance in result["Instances"]:
            run.legit("AWS::EC2::Instance", instance["InstanceId"], run.primary, group.name)
            mappings = instance.get("BlockDeviceMappings") or []
            if first_volume is None and mappings:
                first_volume = mappings[0]["Ebs"]["VolumeId"]
                first_name = group.name
    if base.snapshot:
        if first_volume is None:
            raise AwsRespondError("moto gave the baseline instance no volume to snapshot")
        description = f"nightly backup of {first_name}"
        snapshot = admin.call(
            "ec2",
            run.primary,
            "CreateSnapshot",
            {"VolumeId": first_volume, "Description": description},
            response=lambda r: ec2_response(
                snapshotId=r["SnapshotId"],
                volumeId=r["VolumeId"],
                status="pending",
                startTime=epoch_ms(r.get("StartTime")),
                progress="",
                ownerId=run.account_id,
                volumeSize=r.get("VolumeSize"),
                encrypted=False,
                description=description,
            ),
        )
        run.legit("AWS::EC2::Snapshot", snapshot["SnapshotId"], run.primary, description)
