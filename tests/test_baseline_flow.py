"""baseline -o FILE, then triage --baseline FILE: what is not in the owner's list is suspect."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml

from awsrespond.emulator import EmulatorServer
from tests.test_cli import awsrespond


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


def client(server: EmulatorServer, service: str, region: str = "us-east-1") -> object:
    return boto3.client(service, region_name=region, endpoint_url=server.endpoint_url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.mark.parametrize("seed", [3, 11])
def test_baseline_then_triage(server: EmulatorServer, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    server.reset()
    home, far = rng.sample(["eu-west-1", "ap-northeast-2", "us-west-2", "sa-east-1", "ap-south-1"], 2)
    iam = client(server, "iam")
    owner_user = f"owner-{rng.randrange(1000)}"
    iam.create_user(UserName=owner_user)  # type: ignore[attr-defined]
    iam.create_access_key(UserName=owner_user)  # type: ignore[attr-defined]
    client(server, "ec2", home).run_instances(  # type: ignore[attr-defined]
        ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.small")
    baseline_file = tmp_path / "baseline.yaml"
    made = awsrespond("baseline", "-o", str(baseline_file), "--endpoint-url", server.endpoint_url, "--quiet")
    assert made.returncode == 0, made.stderr
    baseline = yaml.safe_load(baseline_file.read_text())
    assert baseline["users"] == [owner_user] and baseline["regions"] == [home]
    assert baseline_file.stat().st_mode & 0o777 == 0o600

    intruder = f"svc-{rng.randrange(10**6)}"
    iam.create_user(UserName=intruder)  # type: ignore[attr-defined]
    key = iam.create_access_key(UserName=owner_user)["AccessKey"]["AccessKeyId"]  # type: ignore[attr-defined]
    [inst] = client(server, "ec2", far).run_instances(  # type: ignore[attr-defined]
        ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.small")["Instances"]

    result = awsrespond("triage", "--endpoint-url", server.endpoint_url, "--baseline", str(baseline_file),
                        "--format", "json", "--region", f"{home},{far}", "--case", str(tmp_path / "case"))
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    flagged = {f["resource"]["id"] for f in findings if f["classification"] == "suspect"}
    assert {intruder, key, inst["InstanceId"]} <= flagged
    assert owner_user not in flagged

