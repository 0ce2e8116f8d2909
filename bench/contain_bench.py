"""Containment benchmark: ``contain plan`` and ``contain apply`` of a ~60-step plan, 50 ms per API call.

Each round, for each latency (the headline ``--latency-ms`` and the 0 ms baseline), on a FRESH emulator:

* a child process runs the emulator (awsrespond's moto server) seeded with a generated compromise
  (``generate_scenario(--scenario-seed)``) plus ``--extra-users`` users with an access key and
  ``--extra-instances`` instances created after the incident start (names from a seeded Random):
  suspect artefacts, which ``--suspect-as-attacker`` removes, to scale the plan to ~60 steps;
* this process runs triage (library, straight to the emulator, all regions; not timed);
* ``awsrespond contain plan`` and ``awsrespond contain apply --confirm`` run as real subprocesses,
  through ``latency_proxy.py`` (a child process holding every request for the latency; run with
  TCP_NODELAY, see ``_PROXY_CHILD``), and their wall times are measured from spawn to exit
  (interpreter start and the account checks included).

The API-call counts are the requests the proxy forwarded during each command. Reported against the
baseline of the same round: the same commands at 0 ms through the same proxy (the emulator's, the
client's and the interpreter's own cost), and the latency floors: every call one after the other
(calls x latency) and perfectly spread over the apply's worker threads (calls x latency / workers).
Per-phase times come from the journal's timestamps. The order of the two latencies alternates
between rounds so the machine's noise falls on both. Medians over ``--rounds``.

Usage::

    .venv/bin/python bench/contain_bench.py --scenario-seed 1 --extra-users 1 --extra-instances 1 \\
        --rounds 3 --profile --json-out bench/contain_results.json

``--profile`` adds one in-process plan and apply at the headline latency with every API call
attributed to its step: calls per action, the slowest steps, and the critical path (the longest
chain of calls that must run one after the other), which bounds apply from below at that latency.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from triage_bench import cpu_seconds, log, proxy_requests

from awsrespond.aws.clients import ApiCall
from awsrespond.aws.identity import whoami
from awsrespond.case.workspace import Case
from awsrespond.contain.executor import ApplyOptions, Executor
from awsrespond.contain.model import Phase, Plan, Step
from awsrespond.contain.planio import JOURNAL, load_plan, write_plan
from awsrespond.contain.planner.plan import PlanOptions, build_plan
from awsrespond.contain.service import apply_plan
from awsrespond.emulator import EmulatorServer, generate_scenario, seed
from awsrespond.emulator.server import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY, isolated_factory
from awsrespond.timeutil import coerce_instant, iso
from awsrespond.triage import TriageOptions, run_triage

WORKERS = 8  # contain apply's default --max-workers
HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent


# --- the emulator child ------------------------------------------------------------------------

def _add_suspects(server: EmulatorServer, regions: list[str], image_id: str, users: int, instances: int,
                  rng: random.Random) -> dict[str, list[str]]:
    """Users with a key and instances made after T by a principal hunt cannot attribute: suspects."""
    factory = server.factory()
    iam = factory.client("iam", "global")
    made: dict[str, list[str]] = {"users": [], "instances": []}
    words = ("svc", "sync", "ops", "tmp", "build", "relay", "probe", "cache", "edge", "batch")
    for _ in range(users):
        name = f"{rng.choice(words)}-{rng.choice(words)}-{rng.randrange(16**5):05x}"
        iam.create_user(UserName=name)
        iam.create_access_key(UserName=name)
        made["users"].append(name)
    for _ in range(instances):
        region = rng.choice(regions)
        [instance] = factory.client("ec2", region).run_instances(
            ImageId=image_id, InstanceType=rng.choice(("t3.large", "c5.xlarge", "g4dn.xlarge")), MinCount=1,
            MaxCount=1, TagSpecifications=[{"ResourceType": "instance", "Tags": [
                {"Key": "Name", "Value": f"{rng.choice(words)}-{rng.randrange(1000):03d}"}]}])["Instances"]
        made["instances"].append(f"{region}/{instance['InstanceId']}")
    return made


def serve_emulator(scenario_seed: int, users: int, instances: int, names_seed: int) -> int:
    """Child mode: seed an emulator, print one JSON line about it, serve until stdin closes."""
    scenario = generate_scenario(scenario_seed)
    with EmulatorServer() as server:
        seeded = seed(server, scenario)
        extras = _add_suspects(server, seeded.attacker_regions, scenario.attacker.image_id, users, instances,
                               random.Random(names_seed))
        print(json.dumps({"endpoint": server.endpoint_url, "account": seeded.account_id,
                          "since": iso(seeded.incident_start), "scenario": seeded.scenario,
                          "extras": extras}), flush=True)
        sys.stdin.read()
    return 0


@contextmanager
def emulator(args: argparse.Namespace) -> Iterator[tuple[dict[str, Any], int, float]]:
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.scenario_seed), str(args.extra_users),
         str(args.extra_instances), str(args.names_seed)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise RuntimeError("the emulator child did not start")
        yield json.loads(line), child.pid, time.perf_counter() - started
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


# --- the latency proxy ---------------------------------------------------------------------------

# latency_proxy.py as is writes a response's headers and its body in two send() calls on a socket
# without TCP_NODELAY: Nagle holds the body until the client's delayed ACK (~40 ms on loopback), so
# every call through it took ~40 ms more than the latency asked for (measured: 54 ms per call at
# "0 ms" against 14 ms direct; see RESULTS.md). The child below runs it with TCP_NODELAY set on each
# client connection, so the added latency is the one requested; ``--proxy-as-is`` runs it unchanged.
_PROXY_CHILD = """
import socket, sys
sys.path.insert(0, sys.argv[1])
import latency_proxy
if sys.argv[2] == "nodelay":
    setup = latency_proxy._Handler.setup
    def nodelay(self):
        setup(self)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    latency_proxy._Handler.setup = nodelay
sys.exit(latency_proxy.main(sys.argv[3:]))
"""


@contextmanager
def latency_proxy(upstream: str, latency_ms: float, *, nodelay: bool = True) -> Iterator[tuple[str, int]]:
    child = subprocess.Popen(
        [sys.executable, "-c", _PROXY_CHILD, str(BENCH_DIR), "nodelay" if nodelay else "as-is",
         "--upstream", upstream, "--latency-ms", str(latency_ms), "--host", HOST],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            raise RuntimeError("the latency proxy did not start")
        yield f"http://{HOST}:{line[1]}", child.pid
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def per_call_ms(url: str, calls: int = 40) -> float:
    """Median milliseconds of one IAM ListUsers through ``url`` (after a warm-up call)."""
    iam = isolated_factory(url).client("iam", "global")
    iam.list_users()
    seconds = []
    for _ in range(calls):
        started = time.perf_counter()
        iam.list_users()
        seconds.append(time.perf_counter() - started)
    return round(statistics.median(seconds) * 1000, 1)


# --- one measured run ----------------------------------------------------------------------------

def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("MOTO_ACCOUNT_ID",)}
    env.update({"AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true"})
    return env


@dataclass
class Command:
    seconds: float
    calls: int
    exit_code: int
    cpu_s: float  # the command's own process
    moto_cpu_s: float
    proxy_cpu_s: float


def _timed(argv: list[str], proxy_url: str, pids: dict[str, int], out: Path) -> tuple[Command, str]:
    calls_before = proxy_requests(proxy_url)
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    own_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with out.open("wb") as stdout:
        done = subprocess.run([sys.executable, "-m", "awsrespond", *argv], stdout=stdout,
                              stderr=subprocess.PIPE, env=_env(), check=False, timeout=900)
    seconds = time.perf_counter() - started
    own_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    # The stats request itself is answered by the proxy and not counted.
    calls = proxy_requests(proxy_url) - calls_before
    own = (own_after.ru_utime - own_before.ru_utime) + (own_after.ru_stime - own_before.ru_stime)
    return Command(seconds=seconds, calls=calls, exit_code=done.returncode, cpu_s=own,
                   moto_cpu_s=cpu_after["moto"] - cpu_before["moto"],
                   proxy_cpu_s=cpu_after["proxy"] - cpu_before["proxy"]), done.stderr.decode(errors="replace")


def _phases(case: Case) -> dict[str, float]:
    """Seconds from the run's start (or the previous phase's last line) to each phase's last journal line."""
    records = [json.loads(line) for line in (case.root / JOURNAL).read_bytes().splitlines()]
    plan = json.loads(next((case.root / "contain" / "plans").glob("*.json")).read_bytes())
    phase_of = {s["id"]: s["phase"] for s in plan["steps"]}
    start = coerce_instant(records[0]["at"])
    assert start is not None
    last: dict[str, datetime] = {}
    for record in records:
        at = coerce_instant(record["at"])
        if record.get("step") and at is not None:
            last[phase_of[record["step"]]] = at
    out: dict[str, float] = {}
    previous = start
    for phase in Phase:
        if phase.value in last:
            out[phase.value] = round((last[phase.value] - previous).total_seconds(), 3)
            previous = last[phase.value]
    out["journal_total"] = round((previous - start).total_seconds(), 3)
    return out


@dataclass
class Run:
    latency_ms: float
    round: int
    seed_s: float
    steps: int
    steps_per_phase: dict[str, int]
    plan: Command
    apply: Command
    apply_ok: bool
    counts: dict[str, int]
    not_verified: list[str]
    phases: dict[str, float]
    extras: dict[str, list[str]] = field(default_factory=dict)


def one_run(args: argparse.Namespace, latency_ms: float, round_no: int, work: Path) -> Run:
    with emulator(args) as (info, moto_pid, seed_s):
        factory = isolated_factory(info["endpoint"])
        identity = whoami(factory)
        case = Case.create(work / "case", account_id=identity.account_id, caller_arn=identity.arn)
        run_triage(factory, identity, case, TriageOptions(since=coerce_instant(info["since"])))
        with latency_proxy(info["endpoint"], latency_ms, nodelay=not args.proxy_as_is) as (proxy_url, proxy_pid):
            pids = {"moto": moto_pid, "proxy": proxy_pid}
            plan_file = work / "plan.json"
            planned, err = _timed(["contain", "plan", "--case", str(case.root), "--suspect-as-attacker",
                                   "--exclude", "logs.save-lookup-events", "--endpoint-url", proxy_url,
                                   "-o", str(plan_file), "--format", "json"], proxy_url, pids, work / "plan.out")
            if planned.exit_code not in (0, 1):
                raise RuntimeError(f"contain plan exited {planned.exit_code}: {err[-2000:]}")
            planned_steps = json.loads(plan_file.read_bytes())["steps"]
            steps = len(planned_steps)
            per_phase = dict(Counter(str(s["phase"]) for s in planned_steps))
            applied, err = _timed(["contain", "apply", str(plan_file), "--case", str(case.root), "--confirm",
                                   identity.account_id, "--endpoint-url", proxy_url, "--max-steps", "500",
                                   "--format", "json"], proxy_url, pids, work / "apply.out")
    document = json.loads((work / "apply.out").read_bytes() or b"{}")
    if not document:
        raise RuntimeError(f"contain apply exited {applied.exit_code} without a document: {err[-2000:]}")
    not_verified = [f"{s['id']} {s['action']} {s['status']}: {s['message'][:200]}"
                    for s in document["steps"] if s["status"] != "verified"]
    return Run(latency_ms=latency_ms, round=round_no, seed_s=round(seed_s, 2), steps=steps,
               steps_per_phase=per_phase, plan=planned,
               apply=applied, apply_ok=bool(document["ok"]), counts=document["counts"], not_verified=not_verified,
               phases=_phases(case), extras=info["extras"])


# --- where the time goes (--profile) ---------------------------------------------------------------

def _critical_path(plan: Plan, calls: dict[str, int]) -> dict[str, int]:
    """Per phase, the most API calls any chain of ``after``-linked steps makes one after the other.

    A step's own calls are sequential (observe, evidence, the change, verify); steps linked by
    ``after`` run one after the other; the phases are separated by a barrier. With infinite workers
    and an infinitely fast service, apply cannot take less than sum(phase chains) x latency.
    """
    by_id = {s.id: s for s in plan.steps}
    longest: dict[str, int] = {}

    def chain(step_id: str) -> int:
        if step_id not in longest:
            step = by_id[step_id]
            before = [chain(d) for d in step.after if d in by_id and by_id[d].phase is step.phase]
            longest[step_id] = calls.get(step_id, 0) + max(before, default=0)
        return longest[step_id]

    return {phase.value: max((chain(s.id) for s in plan.steps if s.phase is phase), default=0) for phase in Phase}


def profile_run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """In-process plan and apply through the proxy, every API call attributed to its step."""
    current = threading.local()
    per_step: Counter[str] = Counter()
    per_operation: Counter[str] = Counter()
    step_seconds: dict[str, float] = {}
    original = Executor._run_step

    def run_step(executor: Executor, step: Step) -> None:
        current.step = step.id
        started = time.perf_counter()
        try:
            original(executor, step)
        finally:
            step_seconds[step.id] = time.perf_counter() - started
            current.step = None

    def observe(call: ApiCall) -> None:
        per_step[getattr(current, "step", None) or "(outside a step)"] += 1
        per_operation[call.iam_action] += 1

    out: dict[str, Any] = {}
    with emulator(args) as (info, _, _):
        factory = isolated_factory(info["endpoint"])
        identity = whoami(factory)
        case = Case.create(work / "case", account_id=identity.account_id, caller_arn=identity.arn)
        run_triage(factory, identity, case, TriageOptions(since=coerce_instant(info["since"])))
        overhead = {"direct": per_call_ms(info["endpoint"])}
        for nodelay in (True, False):
            with latency_proxy(info["endpoint"], 0.0, nodelay=nodelay) as (proxy_url, _):
                overhead["proxy_0ms_nodelay" if nodelay else "proxy_0ms_as_is"] = per_call_ms(proxy_url)
        out["iam_list_users_ms_per_call"] = overhead
        with latency_proxy(info["endpoint"], args.latency_ms, nodelay=not args.proxy_as_is) as (proxy_url, _):
            factory = isolated_factory(proxy_url)
            identity = whoami(factory)
            started = time.perf_counter()
            plan = build_plan(case, factory, identity, PlanOptions(suspect_as_attacker=True,
                                                                   exclude=["logs.save-lookup-events"]))
            path = write_plan(case, plan)
            out["library_plan_s"] = round(time.perf_counter() - started, 3)
            out["library_plan_calls"] = len(factory.calls)
            factory = isolated_factory(proxy_url)
            identity = whoami(factory)
            factory.observers.append(observe)
            Executor._run_step = run_step  # type: ignore[method-assign,assignment]
            try:
                started = time.perf_counter()
                document = apply_plan(case, factory, identity, load_plan(path, case), confirm=identity.account_id,
                                      ask=None, max_steps=500, options=ApplyOptions())
                out["library_apply_s"] = round(time.perf_counter() - started, 3)
            finally:
                Executor._run_step = original  # type: ignore[method-assign]
    out["library_apply_calls"] = sum(per_step.values())
    out["library_apply_ok"] = document.ok
    chains = _critical_path(plan, dict(per_step))
    out["critical_path_calls_per_phase"] = chains
    out["critical_path_floor_s"] = round(sum(chains.values()) * args.latency_ms / 1000, 2)
    workers_floor = 0.0
    for phase in Phase:
        calls = sum(per_step[s.id] for s in plan.steps if s.phase is phase)
        workers_floor += max(chains[phase.value], calls / WORKERS) * args.latency_ms / 1000
    out["latency_floor_s"] = round(workers_floor, 2)
    out["calls_per_step"] = {"median": statistics.median(per_step[s.id] for s in plan.steps),
                             "max": max(per_step[s.id] for s in plan.steps),
                             "outside_steps": per_step["(outside a step)"]}
    out["calls_per_action"] = {action: sum(per_step[s.id] for s in plan.steps if s.action == action)
                               for action in sorted({s.action for s in plan.steps})}
    out["slowest_steps_s"] = {f"{sid} {next(s.action for s in plan.steps if s.id == sid)}": round(sec, 2)
                              for sid, sec in sorted(step_seconds.items(), key=lambda kv: -kv[1])[:8]}
    out["top_operations"] = dict(per_operation.most_common(15))
    return out


def cli_startup(runs: int) -> float:
    """Seconds for ``awsrespond contain --help``: the interpreter and the imports every command pays."""
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "awsrespond", "contain", "--help"], stdout=subprocess.DEVNULL,
                       env=_env(), check=True)
        seconds.append(time.perf_counter() - started)
    return _median(seconds)


# --- summary -------------------------------------------------------------------------------------

def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def summarise(runs: list[Run], latency_ms: float) -> dict[str, Any]:
    by_latency: dict[str, Any] = {}
    for latency in sorted({r.latency_ms for r in runs}):
        mine = [r for r in runs if r.latency_ms == latency]
        by_latency[f"{latency:g}ms"] = {
            "runs": len(mine),
            "steps": sorted({r.steps for r in mine}),
            "steps_per_phase": mine[0].steps_per_phase,
            "plan_s": _median([r.plan.seconds for r in mine]),
            "apply_s": _median([r.apply.seconds for r in mine]),
            "plan_plus_apply_s": _median([r.plan.seconds + r.apply.seconds for r in mine]),
            "plan_calls": sorted({r.plan.calls for r in mine}),
            "apply_calls": sorted({r.apply.calls for r in mine}),
            "apply_all_verified": all(r.apply_ok for r in mine),
            "apply_cpu_s": {"cli": _median([r.apply.cpu_s for r in mine]),
                            "moto": _median([r.apply.moto_cpu_s for r in mine]),
                            "proxy": _median([r.apply.proxy_cpu_s for r in mine])},
            "plan_cpu_s": {"cli": _median([r.plan.cpu_s for r in mine]),
                           "moto": _median([r.plan.moto_cpu_s for r in mine])},
            "apply_phases_s": {phase: _median([r.phases.get(phase, 0.0) for r in mine])
                               for phase in [*(p.value for p in Phase), "journal_total"]},
        }
    headline = by_latency.get(f"{latency_ms:g}ms")
    baseline = by_latency.get("0ms")
    out: dict[str, Any] = {"by_latency": by_latency}
    if headline and baseline:
        apply_calls = statistics.median(r.apply.calls for r in runs if r.latency_ms == latency_ms)
        plan_calls = statistics.median(r.plan.calls for r in runs if r.latency_ms == latency_ms)
        floor_seq_apply = apply_calls * latency_ms / 1000
        floor_seq_plan = plan_calls * latency_ms / 1000
        out["ratios"] = {
            "apply_vs_0ms": round(headline["apply_s"] / baseline["apply_s"], 2),
            "plan_vs_0ms": round(headline["plan_s"] / baseline["plan_s"], 2),
            "apply_sequential_latency_floor_s": round(floor_seq_apply, 2),
            "apply_vs_sequential_floor": round(headline["apply_s"] / floor_seq_apply, 2),
            "apply_latency_floor_on_workers_s": round(floor_seq_apply / WORKERS, 2),
            "plan_sequential_latency_floor_s": round(floor_seq_plan, 2),
            "plan_vs_sequential_floor": round(headline["plan_s"] / floor_seq_plan, 2),
            "apply_added_by_latency_s": round(headline["apply_s"] - baseline["apply_s"], 2),
            "plan_added_by_latency_s": round(headline["plan_s"] - baseline["plan_s"], 2),
        }
        out["target_10s"] = {"plan_plus_apply_s": headline["plan_plus_apply_s"],
                             "met": headline["plan_plus_apply_s"] < 10.0}
    return out


def environment() -> dict[str, Any]:
    versions = {name: importlib.metadata.version(name) for name in ("boto3", "botocore", "moto")}
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()], **versions}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario-seed", type=int, default=3, help="generate_scenario(N)")
    parser.add_argument("--extra-users", type=int, default=0, help="suspect users with a key, added after T")
    parser.add_argument("--extra-instances", type=int, default=0, help="suspect instances, added after T")
    parser.add_argument("--names-seed", type=int, default=1, help="seeds the extra artefacts' names")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--proxy-as-is", action="store_true",
                        help="run latency_proxy.py without TCP_NODELAY (adds ~40 ms per call, see above)")
    parser.add_argument("--profile", action="store_true",
                        help="one more in-process run: calls per step and action, the critical path")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--serve", nargs=4, type=int, metavar=("SEED", "USERS", "INSTANCES", "NAMES"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve_emulator(*args.serve)
    env = environment()
    started = datetime.now().astimezone()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="contain-bench-") as tmp:
        for round_no in range(args.rounds):
            order = [args.latency_ms, 0.0] if round_no % 2 == 0 else [0.0, args.latency_ms]
            for latency in order:
                work = Path(tmp) / f"r{round_no}-{latency:g}ms"
                work.mkdir()
                run = one_run(args, latency, round_no, work)
                runs.append(run)
                log(f"round {round_no} {latency:g} ms: {run.steps} steps; plan {run.plan.seconds:.2f} s "
                    f"({run.plan.calls} calls), apply {run.apply.seconds:.2f} s ({run.apply.calls} calls), "
                    f"verified {run.counts}, phases {run.phases}")
                for line in run.not_verified:
                    log(f"  not verified: {line}")
        profile = profile_run(args, Path(tmp) / "profile") if args.profile else None
    startup = cli_startup(3)
    summary = {
        "command": " ".join(["bench/contain_bench.py", *(argv if argv is not None else sys.argv[1:])]),
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "environment": env,
        "settings": {k: v for k, v in vars(args).items() if k not in ("serve", "json_out")},
        "cli_startup_s": startup,
        **summarise(runs, args.latency_ms),
        "profile": profile,
        "runs": [asdict(r) for r in runs],
    }
    text = json.dumps(summary, indent=2, default=str)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
