"""What the attacker creates in one region: key pairs, open groups, instances, spot, Lambda."""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

from awsrespond.emulator.scenario import AttackerInstances, LambdaFunction, SpotRequest
from awsrespond.emulator.seeding.actor import Actor
from awsrespond.emulator.seeding.ec2_records import SENSITIVE, ec2_response, epoch_ms, instances_element, run_request
from awsrespond.emulator.seeding.run import Run
from awsrespond.emulator.seeding.security_groups import create_security_group


def attack_region(run: Run, actor: Actor, region: str) -> None:
    spec = run.scenario.attacker
    for pair in (p for p in spec.key_pairs if p.region == region):
        actor.call(
            "ec2",
            region,
            "CreateKeyPair",
            {"KeyName": pair.name},
            request={"keyName": pair.name, "keyType": "rsa", "keyFormat": "pem"},
            response=lambda r: ec2_response(
                keyName=r["KeyName"],
                keyFingerprint=r.get("KeyFingerprint"),
                keyPairId=r.get("KeyPairId"),
                keyMaterial=SENSITIVE,
            ),
        )
        run.key_names[region] = pair.name
        run.bad("AWS::EC2::KeyPair", pair.name, region, pair.name)
    for group in (g for g in spec.security_groups if g.region == region):
        group_id = create_security_group(actor, run.account_id, region, group.name, group.description, group.ports)
        run.security_group_ids[region] = group_id
        run.bad("AWS::EC2::SecurityGroup", group_id, region, group.name)
    for launch in (g for g in spec.instances if g.region == region):
        _launch(run, actor, launch)
    for spot in (s for s in spec.spot_requests if s.region == region):
        _request_spot(run, actor, spot)
    for function in (f for f in spec.lambda_functions if f.region == region):
        _create_function(run, actor, function)


def _launch(run: Run, actor: Actor, launch: AttackerInstances) -> None:
    spec = run.scenario.attacker
    region = launch.region
    group_ids = [run.security_group_ids[region]] if launch.security_group else []
    key_name = run.key_names[region] if launch.key_pair else None
    tags = {"Name": launch.name} if launch.name else {}
    params: dict[str, Any] = {
        "ImageId": spec.image_id,
        "InstanceType": launch.instance_type,
        "MinCount": launch.count,
        "MaxCount": launch.count,
        "UserData": spec.user_data,
    }
    if group_ids:
        params["SecurityGroupIds"] = group_ids
    if key_name:
        params["KeyName"] = key_name
    if tags:
        params["TagSpecifications"] = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ]
    result = actor.call(
        "ec2",
        region,
        "RunInstances",
        params,
        request=run_request(
            spec.image_id,
            launch.instance_type,
            launch.count,
            key_name=key_name,
            group_ids=group_ids,
            tags=tags,
            profile=None,
            user_data=True,
        ),
        response=lambda r: instances_element(r, run.account_id),
    )
    for instance in result["Instances"]:
        instance_id = instance["InstanceId"]
        run.bad("AWS::EC2::Instance", instance_id, region, launch.name or instance_id)
        if launch.termination_protection:
            # moto ignores DisableApiTermination on RunInstances; only ModifyInstanceAttribute
            # sets it (and attackers commonly do it this way, after launch).
            actor.call(
                "ec2",
                region,
                "ModifyInstanceAttribute",
                {"InstanceId": instance_id, "DisableApiTermination": {"Value": True}},
                request={"instanceId": instance_id, "disableApiTermination": {"value": True}},
                response=lambda r: ec2_response(_return=True),
            )
            run.protected_instances.append(instance_id)


def _request_spot(run: Run, actor: Actor, spot: SpotRequest) -> None:
    spec = run.scenario.attacker
    region = spot.region
    specification: dict[str, Any] = {
        "ImageId": spec.image_id,
        "InstanceType": spot.instance_type,
        "UserData": base64.b64encode(spec.user_data.encode()).decode(),
    }
    trail_spec: dict[str, Any] = {
        "imageId": spec.image_id,
        "instanceType": spot.instance_type,
        "userData": SENSITIVE,
        "monitoring": {"enabled": False},
    }
    if spot.key_pair:
        specification["KeyName"] = trail_spec["keyName"] = run.key_names[region]
    if spot.security_group:
        # moto honours group names in a spot launch specification, not SecurityGroupIds.
        name = next(g.name for g in spec.security_groups if g.region == region)
        specification["SecurityGroups"] = [name]
        trail_spec["groupSet"] = {"items": [{"groupName": name}]}
    result = actor.call(
        "ec2",
        region,
        "RequestSpotInstances",
        {
            "SpotPrice": spot.max_price,
            "InstanceCount": 1,
            "Type": "persistent",
            "LaunchSpecification": specification,
        },
        request={
            "spotPrice": spot.max_price,
            "instanceCount": 1,
            "type": "persistent",
            "launchSpecification": trail_spec,
        },
        response=lambda r: ec2_response(
            spotInstanceRequestSet={
                "items": [
                    {
                        "spotInstanceRequestId": item["SpotInstanceRequestId"],
                        "spotPrice": item.get("SpotPrice"),
                        "type": "persistent",
                        "state": "open",
                        "status": {
                            "code": "pending-evaluation",
                            "updateTime": epoch_ms(run.clock.now()),
                        },
                        "launchSpecification": {**trail_spec, "userData": None},
                        "createTime": epoch_ms(run.clock.now()),
                        "productDescription": "Linux/UNIX",
                        "instanceInterruptionBehavior": "terminate",
                    }
                    for item in r["SpotInstanceRequests"]
                ]
            },
        ),
    )
    for item in result["SpotInstanceRequests"]:
        request_id = item["SpotInstanceRequestId"]
        run.bad("AWS::EC2::SpotInstanceRequest", request_id, region, request_id)
        instance_id = item.get("InstanceId")
        if instance_id is None:
            # Not fulfilled in the answer: look again (moto fulfils at once, AWS later).
            described = run.admin_factory.client("ec2", region).describe_spot_instance_requests(
                SpotInstanceRequestIds=[request_id]
            )["SpotInstanceRequests"]
            instance_id = described[0].get("InstanceId") if described else None
        if instance_id:
            # The fleet's instance is the attacker's too, launched by EC2 on the request's behalf.
            run.spot_instances[request_id] = instance_id
            run.bad("AWS::EC2::Instance", instance_id, region, f"spot {request_id}")


def _create_function(run: Run, actor: Actor, function: LambdaFunction) -> None:
    name, region, runtime, environment = (
        function.name,
        function.region,
        function.runtime,
        function.environment,
    )
    role_name = function.role_name
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr(
            "index.py",
            "import os\n\n\ndef handler(event, context):\n    return {'pool': os.environ.get('POOL')}\n",
        )
    role_arn = f"arn:aws:iam::{run.account_id}:role/{role_name}"
    params: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": runtime,
        "Role": role_arn,
        "Handler": "index.handler",
        "Code": {"ZipFile": code.getvalue()},
        "Timeout": 900,
    }
    if environment:
        params["Environment"] = {"Variables": environment}
    actor.call(
        "lambda",
        region,
        "CreateFunction",
        params,
        event_name="CreateFunction20150331",
        request={
            "functionName": name,
            "runtime": runtime,
            "role": role_arn,
            "handler": "index.handler",
            "code": {},
            "timeout": 900,
            **({"environment": {}} if environment else {}),
        },
        response=lambda r: {
            "functionName": r["FunctionName"],
            "functionArn": r["FunctionArn"],
            "runtime": r.get("Runtime"),
            "role": r.get("Role"),
            "handler": r.get("Handler"),
            "codeSize": r.get("CodeSize"),
            "timeout": r.get("Timeout"),
            "memorySize": r.get("MemorySize"),
            "lastModified": r.get("LastModified"),
            "codeSha256": r.get("CodeSha256"),
            "version": r.get("Version", "$LATEST"),
            "state": "Pending",
            "packageType": "Zip",
        },
    )
    run.bad("AWS::Lambda::Function", name, region, name)
