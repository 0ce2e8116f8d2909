"""The command line end to end, against the emulator as a real HTTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import jsonschema
import pytest

from awsrespond.emulator import EmulatorServer, SeededScenario, load_scenario, seed
from awsrespond.schemas import shipped
from awsrespond.timeutil import iso

HOSTILE_NAME = "[/bold][red]pwned[link=http://x]"


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[EmulatorServer, SeededScenario]]:
    with EmulatorServer() as server:
        result = seed(server, load_scenario("ci-key-cryptomining"))
        yield server, result


def awsrespond(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "awsrespond", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=300, check=False)


def test_triage_json_against_the_server(seeded: tuple[EmulatorServer, SeededScenario], tmp_path: Path) -> None:
    server, scenario = seeded
    result = awsrespond("triage", "--endpoint-url", server.endpoint_url, "--region", "all",
                        "--since", iso(scenario.incident_start) or "", "--format", "json",
                        "--case", str(tmp_path / "case"))
    assert result.returncode == 1, result.stderr  # suspicious findings
    document = json.loads(result.stdout)  # stdout is only the JSON document
    jsonschema.validate(document, shipped("triage"))
    assert document["account"]["id"] == scenario.account_id
    assert set(document) >= {"account", "findings", "inventory", "coverage"}
    assert "Target account" in result.stderr and scenario.account_id in result.stderr
    assert "not enabled" not in result.stdout.lower() or document["regions"]["not_enabled"]
    reported = {(f["resource"]["type"], f["resource"]["id"]) for f in document["findings"]}
    for artefact in scenario.attacker_artefacts:
        assert (artefact.type, artefact.id) in reported, artefact
    assert (tmp_path / "case" / "findings.json").is_file()
    assert oct((tmp_path / "case").stat().st_mode & 0o777) == "0o700"


def test_environment_endpoint_is_honoured(seeded: tuple[EmulatorServer, SeededScenario], tmp_path: Path) -> None:
    server, _ = seeded
    result = awsrespond("triage", "--region", "eu-west-1", "--format", "json", "--case", str(tmp_path / "c"),
                        env={"AWS_ENDPOINT_URL": server.endpoint_url})
    assert result.returncode in (0, 1), result.stderr
    assert json.loads(result.stdout)["regions"]["swept"] == ["eu-west-1"]


def test_hostile_strings_print_literally(seeded: tuple[EmulatorServer, SeededScenario], tmp_path: Path) -> None:
    server, scenario = seeded
    region = scenario.attacker_regions[0]
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=server.endpoint_url,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    [inst] = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="g4dn.xlarge",
                               TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                   {"Key": "Name", "Value": HOSTILE_NAME}]}])["Instances"]
    try:
        result = awsrespond("triage", "--endpoint-url", server.endpoint_url, "--region", region,
                            "--since", iso(scenario.incident_start) or "", "--case", str(tmp_path / "c"),
                            env={"COLUMNS": "250"})
        assert result.returncode == 1, result.stderr
        assert HOSTILE_NAME in result.stdout
    finally:
        ec2.terminate_instances(InstanceIds=[inst["InstanceId"]])


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = awsrespond("triage", "--since", "yesterday-ish", "--endpoint-url", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert "ISO-8601" in result.stderr
    assert awsrespond("no-such-command").returncode == 2


def test_unreachable_endpoint_is_a_clear_fatal_error(tmp_path: Path) -> None:
    result = awsrespond("triage", "--endpoint-url", "http://127.0.0.1:9", "--case", str(tmp_path / "c"),
                        env={"AWS_MAX_ATTEMPTS": "1"})
    assert result.returncode == 2
    assert "GetCallerIdentity" in result.stderr
    assert "Traceback" not in result.stderr


def test_emulator_command_serves_a_seeded_account(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "awsrespond", "emulator", "--port", "0",
                                "--scenario", "random:5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "COLUMNS": "200"})
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(lines)
        endpoint = next(w for w in text.split() if w.startswith("http://127.0.0.1:"))
        since = next(line.split("=", 1)[1].strip() for line in lines if line.startswith("Incident start T"))
        result = awsrespond("triage", "--endpoint-url", endpoint, "--since", since, "--format", "json",
                            "--case", str(tmp_path / "c"))
        assert result.returncode == 1, result.stderr
        assert json.loads(result.stdout)["findings"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_missing_profile_is_a_usage_error(tmp_path: Path) -> None:
    result = awsrespond("triage", "--profile", "no-such-profile", "--case", str(tmp_path / "c"))
    assert result.returncode == 2
    assert "no-such-profile" in result.stderr and "Traceback" not in result.stderr
