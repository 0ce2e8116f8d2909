"""`contain apply` killed with SIGKILL mid-run, then `--resume`: finished, nothing done twice (DESIGN.md 3.12).

Each run is a real ``awsrespond contain apply`` subprocess against the emulator. The test watches the
journal and kills the process right after the k-th "intent" line (k from a seeded Random), so the
kill lands at a random step, usually while that step's AWS call is in flight. A second test holds the
answer to CreateAccessKey, then to CreateSnapshot, in a proxy and kills the run once the call has
reached the emulator: the one crash that makes a duplicate key or snapshot if reconcile only guessed.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import whoami
from awsrespond.case.workspace import Case
from awsrespond.contain.model import Plan
from awsrespond.contain.planio import JOURNAL, write_plan
from awsrespond.contain.planner.plan import PlanOptions, build_plan
from awsrespond.emulator import EmulatorServer, SeededScenario, generate_scenario, load_scenario, seed
from awsrespond.emulator.server import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY
from awsrespond.triage import TriageOptions, run_triage

SNAPSHOT = "ec2.snapshot-volume"
NEW_KEY = "iam.create-replacement-access-key"
STEP_TAG = "awsrespond:step"
DONE_EVENTS = ("result", "reconciled")
RUN_TIMEOUT = 240.0


# -- running the command -------------------------------------------------------------------------

def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update({"AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
                "AWS_DEFAULT_REGION": "us-east-1", "COLUMNS": "200"})
    return env


def _start_apply(plan_file: Path, case: Case, endpoint: str, out: Path, *, resume: bool) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "awsrespond", "contain", "apply", str(plan_file), "--case", str(case.root),
            "--confirm", case.account_id, "--endpoint-url", endpoint, "--max-steps", "500", "--format", "json"]
    if resume:
        args.append("--resume")
    with (out.with_suffix(".out")).open("wb") as stdout, (out.with_suffix(".err")).open("wb") as stderr:
        return subprocess.Popen(args, stdout=stdout, stderr=stderr, env=_env())


def _journal(case: Case) -> list[dict[str, Any]]:
    path = case.root / JOURNAL
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().splitlines(keepends=True) if line.endswith(b"\n")]


def _kill_when(process: subprocess.Popen[bytes], case: Case, reached: Callable[[dict[str, Any]], bool],
               what: str) -> None:
    """SIGKILL the run as soon as ``reached`` holds for a line the journal has just received."""
    path = case.root / JOURNAL
    offset, partial = 0, b""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        if path.exists():
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            offset += len(chunk)
            *lines, partial = (partial + chunk).split(b"\n")
            if any(reached(json.loads(line)) for line in lines):
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
                return
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before {what}")
        time.sleep(0.002)
    process.kill()
    pytest.fail(f"the run did not reach {what} in time")


def _kill_after_intents(process: subprocess.Popen[bytes], case: Case, k: int) -> None:
    """SIGKILL the run as soon as the journal holds its k-th "intent" line."""
    seen = [0]

    def reached(record: dict[str, Any]) -> bool:
        seen[0] += record.get("event") == "intent"
        return seen[0] >= k

    _kill_when(process, case, reached, f"its intent number {k}")


def _kill_after_event(process: subprocess.Popen[bytes], case: Case, step_id: str, event: str) -> None:
    _kill_when(process, case, lambda r: r.get("step") == step_id and r.get("event") == event,
               f"the {event} of step {step_id}")


def _finish(process: subprocess.Popen[bytes], out: Path) -> tuple[int, dict[str, Any], str]:
    code = process.wait(timeout=RUN_TIMEOUT)
    stderr = out.with_suffix(".err").read_text(errors="replace")
    stdout = out.with_suffix(".out").read_text()
    document: dict[str, Any] = json.loads(stdout) if stdout.strip() else {}
    return code, document, stderr


# -- a case with a plan --------------------------------------------------------------------------

@dataclass
class Prepared:
    seeded: SeededScenario
    case: Case
    plan: Plan
    plan_file: Path
    factory: ClientFactory


def _prepare(server: EmulatorServer, scenario_name: str, scenario_seed: int, root: Path,
             only: list[str] | None = None) -> Prepared:
    scenario = generate_scenario(scenario_seed) if scenario_name == "generated" else load_scenario(scenario_name)
    seeded = seed(server, scenario)
    factory = server.factory()
    identity = whoami(factory)
    case = Case.create(root / "case", account_id=identity.account_id, caller_arn=identity.arn)
    regions = sorted({*seeded.home_regions, *seeded.attacker_regions, seeded.trail_region, "us-east-1"})
    run_triage(factory, identity, case, TriageOptions(since=seeded.incident_start, regions=regions))
    # moto has no LookupEvents: that one preserve-logs step cannot run against the emulator.
    plan = build_plan(case, factory, identity,
                      PlanOptions(suspect_as_attacker=True, exclude=["logs.save-lookup-events"], only=only or []))
    plan_file = write_plan(case, plan, root / "plan.json")
    return Prepared(seeded, case, plan, plan_file, factory)


# -- what the account and the journal hold afterwards ------------------------------------------

@dataclass
class Outcome:
    label: str
    plan: Plan
    kill_at: int
    before: list[dict[str, Any]]  # journal lines written before the kill
    after: list[dict[str, Any]]  # journal lines written by the resumed run
    exit_code: int
    document: dict[str, Any]
    stderr: str
    snapshots: dict[str, list[str]]  # snapshot step -> evidence snapshots of its volume
    compromised_user: str
    new_keys: list[str]  # the compromised user's keys that were not there when the plan was made
    secrets: dict[str, str | None]  # files in the case's secrets/ -> the AccessKeyId each holds
    old_key_status: str

    def in_flight_at_kill(self) -> list[str]:
        started = {r["step"] for r in self.before if r.get("event") == "intent"}
        finished = {r["step"] for r in self.before if r.get("event") in DONE_EVENTS}
        return sorted(started - finished)


def _observe(prepared: Prepared) -> tuple[dict[str, list[str]], list[str], str, dict[str, str | None]]:
    plan, factory = prepared.plan, prepared.factory
    snapshots: dict[str, list[str]] = {}
    for step in plan.steps:
        if step.action != SNAPSHOT:
            continue
        ec2 = factory.client("ec2", step.target.region)
        # Counted by volume and the presence of the step tag, not by the values the action chose.
        found = ec2.describe_snapshots(OwnerIds=["self"], Filters=[
            {"Name": "volume-id", "Values": [step.target.id]}, {"Name": "tag-key", "Values": [STEP_TAG]}])
        snapshots[step.id] = sorted(s["SnapshotId"] for s in found["Snapshots"])
    user = prepared.seeded.compromised_user
    at_plan = {k for s in plan.steps if s.action == NEW_KEY and s.target.id == user for k in s.params["keys_at_plan"]}
    keys = prepared.factory.client("iam", "global").list_access_keys(UserName=user)["AccessKeyMetadata"]
    new_keys = sorted(k["AccessKeyId"] for k in keys if k["AccessKeyId"] not in at_plan)
    leaked = prepared.seeded.compromised_access_key_id
    old_status = ",".join(sorted(k["Status"] for k in keys if k["AccessKeyId"] == leaked))
    secrets_dir = prepared.case.root / "secrets"
    secrets = {p.name: json.loads(p.read_bytes()).get("AccessKeyId") for p in secrets_dir.iterdir()} \
        if secrets_dir.exists() else {}
    return snapshots, new_keys, old_status, secrets


# Shipped scenarios and generated ones; each seed also picks the kill point.
RUNS = [("ci-key-cryptomining", 4101), ("terraform-key-gpu-farm", 4202), ("generated", 4303)]


def _killed_and_resumed(name: str, run_seed: int, root: Path) -> Outcome:
    rng = random.Random(run_seed)
    root.mkdir(parents=True)
    with EmulatorServer() as server:
        prepared = _prepare(server, name, rng.randrange(10_000), root)
        plan = prepared.plan
        assert any(s.action == SNAPSHOT for s in plan.steps) and any(s.action == NEW_KEY for s in plan.steps), \
            f"{name}: the plan must snapshot a volume and replace a key for the test to mean anything"
        kill_at = rng.randint(1, len(plan.steps) * 3 // 4)
        first = _start_apply(prepared.plan_file, prepared.case, server.endpoint_url, root / "first", resume=False)
        _kill_after_intents(first, prepared.case, kill_at)
        before = _journal(prepared.case)
        resumed = _start_apply(prepared.plan_file, prepared.case, server.endpoint_url, root / "resume", resume=True)
        code, document, stderr = _finish(resumed, root / "resume")
        after = _journal(prepared.case)[len(before):]
        snapshots, new_keys, old_status, secrets = _observe(prepared)
    return Outcome(label=f"{name}/seed {run_seed}/kill after intent {kill_at}", plan=plan, kill_at=kill_at,
                   before=before, after=after, exit_code=code, document=document, stderr=stderr,
                   snapshots=snapshots, compromised_user=prepared.seeded.compromised_user, new_keys=new_keys,
                   secrets=secrets, old_key_status=old_status)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    base = tmp_path_factory.mktemp("resume")
    return [_killed_and_resumed(name, run_seed, base / f"{name}-{run_seed}") for name, run_seed in RUNS]


# -- the properties ------------------------------------------------------------------------------

def _check_finished(outcome: Outcome) -> None:
    assert outcome.exit_code == 0, f"{outcome.label}: resume exited {outcome.exit_code}\n{outcome.stderr[-3000:]}"
    statuses = {s["id"]: (s["status"], s["verified"]) for s in outcome.document["steps"]}
    assert statuses == {s.id: ("verified", True) for s in outcome.plan.steps}, outcome.label
    assert outcome.document["ok"] is True


def _check_nothing_twice(outcome: Outcome) -> None:
    done_before = {r["step"] for r in outcome.before if r.get("event") in DONE_EVENTS}
    repeated = sorted({r["step"] for r in outcome.after
                       if r["step"] in done_before and r.get("event") in ("intent", *DONE_EVENTS)})
    assert not repeated, f"{outcome.label}: steps completed before the kill were run again: {repeated}"
    # Across both runs, each step has exactly one result (or reconciled) line: nothing applied twice.
    done = Counter(r["step"] for r in outcome.before + outcome.after if r.get("event") in DONE_EVENTS)
    assert done == Counter({s.id: 1 for s in outcome.plan.steps}), outcome.label


def _check_no_duplicates(outcome: Outcome) -> None:
    for step_id, snapshots in outcome.snapshots.items():
        assert len(snapshots) == 1, f"{outcome.label}: step {step_id} left snapshots {snapshots}"
    assert len(outcome.new_keys) == 1, f"{outcome.label}: {outcome.compromised_user} has new keys {outcome.new_keys}"
    assert outcome.old_key_status == "Inactive", outcome.label
    key_steps = [s.id for s in outcome.plan.steps if s.action == NEW_KEY and s.target.id == outcome.compromised_user]
    key_files = [name for name in outcome.secrets if any(f"-{sid}-" in name for sid in key_steps)]
    assert len(key_files) == 1, f"{outcome.label}: secrets for the replacement key: {sorted(outcome.secrets)}"
    assert outcome.secrets[key_files[0]] == outcome.new_keys[0], f"{outcome.label}: the secret is not the new key's"


@pytest.mark.parametrize("index", range(len(RUNS)), ids=[f"{name}-{s}" for name, s in RUNS])
def test_resume_after_sigkill_finishes_every_step_verified(outcomes: list[Outcome], index: int) -> None:
    _check_finished(outcomes[index])


@pytest.mark.parametrize("index", range(len(RUNS)), ids=[f"{name}-{s}" for name, s in RUNS])
def test_resume_repeats_no_completed_step(outcomes: list[Outcome], index: int) -> None:
    _check_nothing_twice(outcomes[index])


@pytest.mark.parametrize("index", range(len(RUNS)), ids=[f"{name}-{s}" for name, s in RUNS])
def test_resume_leaves_one_snapshot_per_volume_and_one_replacement_key(outcomes: list[Outcome], index: int) -> None:
    _check_no_duplicates(outcomes[index])


def test_a_kill_landed_mid_step(outcomes: list[Outcome]) -> None:
    """At least one kill left a step with its intent and no result, so reconcile really ran."""
    in_flight = {o.label: o.in_flight_at_kill() for o in outcomes}
    assert any(in_flight.values()), in_flight
    for outcome in outcomes:
        for step_id in outcome.in_flight_at_kill():
            resolved = [r["event"] for r in outcome.after if r["step"] == step_id and r["event"] in DONE_EVENTS]
            assert len(resolved) == 1, f"{outcome.label}: in-flight step {step_id} resolved as {resolved}"


# -- a kill after the emulator made the key / the snapshot, before the answer came back ------------

class _HoldingProxy(ThreadingHTTPServer):
    """Forwards every request at once; the answer to a request naming ``hold`` is never sent back."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.hold: bytes | None = None
        self.made = threading.Event()  # a held call reached the emulator and was answered there
        self.release = threading.Event()
        super().__init__(("127.0.0.1", 0), _Forward)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HoldingProxy

    def log_message(self, format: str, *args: object) -> None:
        return

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        connection = http.client.HTTPConnection(*self.server.upstream, timeout=60)
        try:
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for key, value in self.headers.items():
                if key.lower() not in ("connection", "keep-alive", "transfer-encoding"):
                    connection.putheader(key, value)
            connection.endheaders(body or None)
            response = connection.getresponse()
            payload = response.read()
        finally:
            connection.close()
        hold = self.server.hold
        if hold is not None and hold in body:
            self.server.made.set()
            self.server.release.wait(timeout=RUN_TIMEOUT)
            self.close_connection = True
            return
        self.send_response_only(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


@pytest.fixture
def holding_proxy() -> Iterator[Any]:
    def start(upstream: str) -> _HoldingProxy:
        proxy = _HoldingProxy(upstream)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        started.append(proxy)
        return proxy

    started: list[_HoldingProxy] = []
    yield start
    for proxy in started:
        proxy.release.set()
        proxy.shutdown()
        proxy.server_close()


def _kill_once_made(process: subprocess.Popen[bytes], proxy: _HoldingProxy, what: str) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while not proxy.made.wait(timeout=0.05):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the run never sent {what} (exit {process.returncode})")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def test_kill_after_the_key_and_the_snapshot_were_made_leaves_no_duplicate(tmp_path: Path, holding_proxy: Any) -> None:
    rng = random.Random(4404)
    with EmulatorServer() as server:
        prepared = _prepare(server, "generated", rng.randrange(10_000), tmp_path)
        plan, case = prepared.plan, prepared.case
        key_step = next(s for s in plan.steps if s.action == NEW_KEY)
        snapshot_steps = [s for s in plan.steps if s.action == SNAPSHOT]
        assert snapshot_steps, "the generated scenario must have an instance volume to snapshot"
        proxy: _HoldingProxy = holding_proxy(server.endpoint_url)
        iam = prepared.factory.client("iam", "global")

        proxy.hold = b"Action=CreateAccessKey"
        first = _start_apply(prepared.plan_file, case, proxy.url, tmp_path / "first", resume=False)
        _kill_once_made(first, proxy, "CreateAccessKey")
        keys = {k["AccessKeyId"] for k in iam.list_access_keys(UserName=key_step.target.id)["AccessKeyMetadata"]}
        orphans = sorted(keys - set(key_step.params["keys_at_plan"]))
        assert len(orphans) == 1, orphans  # IAM made a key whose secret the killed run never saw
        states = {r["step"]: r["event"] for r in _journal(case)}
        assert states[key_step.id] == "intent"
        assert not (case.root / "secrets").exists() or not list((case.root / "secrets").iterdir())

        proxy.made.clear()
        proxy.hold = b"Action=CreateSnapshot"
        second = _start_apply(prepared.plan_file, case, proxy.url, tmp_path / "second", resume=True)
        _kill_once_made(second, proxy, "CreateSnapshot")
        journal = _journal(case)
        in_flight = [s for s in snapshot_steps
                     if [r["event"] for r in journal if r["step"] == s.id][-1:] == ["intent"]]
        assert in_flight, "the kill must leave a snapshot step with an intent and no result"

        last = _start_apply(prepared.plan_file, case, server.endpoint_url, tmp_path / "last", resume=True)
        code, document, stderr = _finish(last, tmp_path / "last")
        snapshots, new_keys, old_status, secrets = _observe(prepared)
        keys_after = {k["AccessKeyId"] for k in iam.list_access_keys(UserName=key_step.target.id)["AccessKeyMetadata"]}

    outcome = Outcome(label="held CreateAccessKey then CreateSnapshot", plan=plan, kill_at=0, before=journal,
                      after=_journal(case)[len(journal):], exit_code=code, document=document, stderr=stderr,
                      snapshots=snapshots, compromised_user=key_step.target.id, new_keys=new_keys, secrets=secrets,
                      old_key_status=old_status)
    _check_finished(outcome)
    _check_no_duplicates(outcome)
    assert orphans[0] not in keys_after, "the key whose secret was lost must be deleted, not kept"
    for step in in_flight:
        assert [r["event"] for r in outcome.after if r["step"] == step.id and r["event"] in DONE_EVENTS] \
            == ["reconciled"], f"{step.id}: the snapshot the killed run made must be found, not made again"


def test_kill_between_the_replacement_key_and_the_recheck(tmp_path: Path) -> None:
    """The key made before the kill is the tool's own: the resumed re-check must not call it new (fixed in 566db02)."""
    with EmulatorServer() as server:
        prepared = _prepare(server, "generated", random.Random(4505).randrange(10_000), tmp_path,
                            only=["iam.deactivate-access-key", NEW_KEY, "awsrespond.recheck"])
        case = prepared.case
        key_step = next(s for s in prepared.plan.steps if s.action == NEW_KEY)
        recheck = next(s for s in prepared.plan.steps if s.action == "awsrespond.recheck")
        first = _start_apply(prepared.plan_file, case, server.endpoint_url, tmp_path / "first", resume=False)
        _kill_after_event(first, case, key_step.id, "result")
        if [r for r in _journal(case) if r["step"] == recheck.id]:
            pytest.fail("the kill must come before the re-check")
        resumed = _start_apply(prepared.plan_file, case, server.endpoint_url, tmp_path / "resume", resume=True)
        code, document, _ = _finish(resumed, tmp_path / "resume")
    statuses = {s["id"]: (s["status"], s["message"]) for s in document["steps"]}
    assert code == 0 and statuses[recheck.id][0] == "verified", statuses
