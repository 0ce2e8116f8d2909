"""``awsrespond contain`` over the CLI, as a subprocess against the emulator: JSON only on stdout,
valid against the shipped schemas; refusals exit 2 and change nothing; hostile names print inert."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from awsrespond.aws.identity import whoami
from awsrespond.case.workspace import Case
from awsrespond.emulator import EmulatorServer, generate_scenario, seed
from awsrespond.emulator.server import UNSET_ENV_VARS
from awsrespond.schemas import shipped
from awsrespond.triage import TriageOptions, run_triage

# Real EC2 allows any ASCII in a key pair name; control characters cannot pass through the API's XML.
HOSTILE = "[bold red]ops[/bold red]"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


def awsrespond(server: EmulatorServer, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET_ENV_VARS}
    env.update(server.env())
    return subprocess.run([sys.executable, "-m", "awsrespond", "contain", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300, check=False, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def case_dir(server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    server.reset()
    seeded = seed(server, generate_scenario(4711))
    factory = server.factory()
    iam = factory.client("iam")
    iam.create_user(UserName="ops-helper")
    factory.client("ec2", seeded.attacker_regions[0]).create_key_pair(KeyName=HOSTILE)
    iam.put_user_policy(UserName="ops-helper", PolicyName="inline-admin", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    identity = whoami(factory)
    root = tmp_path_factory.mktemp("cli") / "case"
    case = Case.create(root, account_id=identity.account_id, caller_arn=identity.arn)
    run_triage(factory, identity, case, TriageOptions(since=seeded.incident_start))
    return root


def test_plan_json_validates_and_apply_refusals_change_nothing(server: EmulatorServer, case_dir: Path,
                                                               tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    planned = awsrespond(server, "plan", "--case", str(case_dir), "-o", str(plan_file), "--format", "json",
                         "--exclude", "logs.save-lookup-events", cwd=tmp_path)
    assert planned.returncode == 1, planned.stderr  # there is something to contain
    document = json.loads(planned.stdout)
    jsonschema.validate(document, shipped("plan"))
    assert document == json.loads(plan_file.read_text())
    assert "Target account" in planned.stderr
    assert any(s["action"] == "iam.quarantine-principal" for s in document["steps"])
    journal = case_dir / "contain" / "journal.jsonl"

    no_tty = awsrespond(server, "apply", str(plan_file), "--case", str(case_dir), cwd=tmp_path)
    assert no_tty.returncode == 2 and "--confirm" in no_tty.stderr
    wrong = awsrespond(server, "apply", str(plan_file), "--case", str(case_dir), "--confirm", "111122223333",
                       cwd=tmp_path)
    assert wrong.returncode == 2 and "does not match" in wrong.stderr
    small = awsrespond(server, "apply", str(plan_file), "--case", str(case_dir), "--confirm", document["account_id"],
                       "--max-steps", "3", cwd=tmp_path)
    assert small.returncode == 2 and "circuit breaker" in small.stderr
    edited = json.loads(plan_file.read_text())
    edited["steps"][-1]["target"]["id"] = "someone-else"
    edited_file = tmp_path / "edited.json"
    edited_file.write_text(json.dumps(edited))
    tampered = awsrespond(server, "apply", str(edited_file), "--case", str(case_dir), "--confirm",
                          document["account_id"], cwd=tmp_path)
    assert tampered.returncode == 2 and "edited" in tampered.stderr
    assert not journal.exists(), "a refused apply must not start"

    # Dropping steps is allowed: keep only the credential cut.
    dropped = json.loads(plan_file.read_text())
    dropped["steps"] = [s for s in dropped["steps"] if s["phase"] == "cut-credentials"]
    cut_file = tmp_path / "cut-only.json"
    cut_file.write_text(json.dumps(dropped))
    applied = awsrespond(server, "apply", str(cut_file), "--case", str(case_dir), "--confirm", document["account_id"],
                         "--format", "json", cwd=tmp_path)
    assert applied.returncode in (0, 1), applied.stderr
    result = json.loads(applied.stdout)
    jsonschema.validate(result, shipped("contain-apply"))
    assert result["steps"] and all(s["status"] in ("verified", "skipped") for s in result["steps"]), result["steps"]
    for line in journal.read_text().splitlines():
        jsonschema.validate(json.loads(line), shipped("journal-record"))

    quarantine = next(s for s in result["steps"] if s["action"] == "iam.quarantine-principal")
    refused = awsrespond(server, "undo", "--case", str(case_dir), "--step", quarantine["id"], "--confirm",
                         document["account_id"], cwd=tmp_path)
    assert refused.returncode == 2 and "--reopen-attacker-access" in refused.stderr
    undone = awsrespond(server, "undo", "--case", str(case_dir), "--step", quarantine["id"], "--confirm",
                        document["account_id"], "--reopen-attacker-access", "--format", "json", cwd=tmp_path)
    assert undone.returncode == 0, undone.stderr
    jsonschema.validate(json.loads(undone.stdout), shipped("contain-undo"))


def test_text_plan_shows_hostile_names_inert(server: EmulatorServer, case_dir: Path, tmp_path: Path) -> None:
    shown = awsrespond(server, "plan", "--case", str(case_dir), "-o", str(tmp_path / "p.json"), cwd=tmp_path)
    assert shown.returncode == 1, shown.stderr
    assert "ops-helper" in shown.stdout and "awsrespond contain apply" in shown.stdout
    assert HOSTILE in shown.stdout  # printed literally, not interpreted as markup
