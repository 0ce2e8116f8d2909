"""Moto scenarios for the compute containment tests: varied regions, types and names (seeded)."""

from __future__ import annotations

import base64
import random
import string
from dataclasses import dataclass, field
from typing import Any

REGIONS = ["eu-west-3", "ap-southeast-2", "us-west-2", "sa-east-1", "eu-north-1", "ca-central-1"]
TYPES = ["t3.micro", "m5.large", "c5.xlarge", "g4dn.xlarge", "p3.2xlarge", "r5.large"]
DEVICES = ["/dev/sdf", "/dev/sdg", "/dev/sdh"]


def word(rng: random.Random, n: int = 8) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(n))


@dataclass
class Instance:
    id: str
    region: str
    volumes: list[str] = field(default_factory=list)
    secret: str = ""


def image(ec2: Any) -> str:
    found = ec2.describe_images(Owners=["self"]).get("Images", [])
    if found:
        return str(found[0]["ImageId"])
    made = ec2.register_image(Name="base-" + ec2.meta.region_name, RootDeviceName="/dev/sda1",
                              BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}])
    return str(made["ImageId"])


def launch(ec2: Any, rng: random.Random, *, extra_volumes: int | None = None, protect: bool = False,
           group_ids: list[str] | None = None) -> Instance:
    """An instance with a root volume and 0-2 more attached volumes; user data holding a 'secret'."""
    secret = "AKIA" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    extra = {"SecurityGroupIds": group_ids} if group_ids else {}
    response = ec2.run_instances(ImageId=image(ec2), MinCount=1, MaxCount=1, InstanceType=rng.choice(TYPES),
                                 UserData=f"#!/bin/sh\nexport AWS_ACCESS_KEY_ID={secret}\n", **extra)
    inst = response["Instances"][0]
    instance_id = inst["InstanceId"]
    zone = inst["Placement"]["AvailabilityZone"]
    count = rng.randint(0, 2) if extra_volumes is None else extra_volumes
    for device in DEVICES[:count]:
        volume = ec2.create_volume(AvailabilityZone=zone, Size=rng.randint(1, 20))["VolumeId"]
        ec2.attach_volume(VolumeId=volume, InstanceId=instance_id, Device=device)
    if protect:
        # RunInstances(DisableApiTermination) is ignored by moto: only this is enforced.
        ec2.modify_instance_attribute(InstanceId=instance_id, DisableApiTermination={"Value": True})
    described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    volumes = [m["Ebs"]["VolumeId"] for m in described["BlockDeviceMappings"]]
    assert len(volumes) == count + 1, "scenario invariant: every instance has its volumes"
    return Instance(id=instance_id, region=ec2.meta.region_name, volumes=volumes, secret=secret)


def user_data_b64(secret: str) -> str:
    return base64.b64encode(f"#!/bin/sh\nexport AWS_ACCESS_KEY_ID={secret}\n".encode()).decode()
