"""Triage benchmark: an emulated account behind a fixed per-call latency.

What it measures (see bench/README.md and bench/RESULTS.md):

* the wall time of a triage (identity, case, sweep, judgement, storage: what ``awsrespond triage``
  does) through a loopback proxy that holds every API request for ``--latency-ms`` before handing
  it to a moto server, at each ``--workers`` setting;
* the API-call count, checked against the number of requests the proxy forwarded;
* the floor: the same triage with every call made one after the other (``max_workers=1`` and the
  IAM per-user pool at 1) straight against moto, no latency: the emulator's and the client's own
  cost of those calls;
* the ideal: calls x latency / workers (perfect packing of the calls on the workers);
* the call count and wall time at smaller sizes (``--scale``), to show how calls grow.

moto and the proxy each run in a child process, so neither competes with triage for this process's
GIL (on AWS the service is on other machines); all three share the machine's cores.

Every measured size gets a fresh moto server, seeded straight against moto (not through the proxy).
One untimed warm-up triage per size creates moto's per-region backends and the credential report
(AWS, like moto, answers the first GenerateCredentialReport with STARTED and triage waits 1 s); its
time is reported as ``cold_s``. Then the timed runs are interleaved round by round (floor, then
each worker setting) so the machine's noise falls on all of them alike; medians are reported.

Usage::

    .venv/bin/python bench/triage_bench.py --instances 200 --users 100 --latency-ms 50 --runs 5 \\
        --floor-runs 3 --workers 16 8 32 --scale 50:25 100:50 --scale-runs 3 --profile \\
        --json-out bench/results.json
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore
from botocore.config import Config

# The collectors register in the order of these imports, and the sweep submits its tasks in that
# order: import them exactly as the CLI does (awsrespond.triage first), not via inventory.iam.
from awsrespond.triage import TriageOptions, run_triage

# isort: split
from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import whoami
from awsrespond.aws.regions import partition_of
from awsrespond.case.workspace import Case
from awsrespond.coverage import GapKind
from awsrespond.emulator.server import isolated_session
from awsrespond.inventory import iam as iam_inventory
from awsrespond.inventory.base import CollectContext, Collector, registry

HOST = "127.0.0.1"
AMI = "ami-12345678"  # moto runs instances from an AMI it does not know (no default AMIs loaded)
BENCH_DIR = Path(__file__).resolve().parent

# The moto server's child process. MOTO_EC2_LOAD_DEFAULT_AMIS is in its environment before moto is
# imported; it serves until its standard input is closed.
_MOTO_CHILD = """
import logging, os, sys
assert os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] == "false"
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address=sys.argv[1], port=int(sys.argv[2]), verbose=False)
server.start()
print("ready", flush=True)
sys.stdin.read()
server.stop()
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _http_get(url: str) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an environment proxy
    with opener.open(url, timeout=30) as response:
        return bytes(response.read())


@contextmanager
def moto_server() -> Iterator[tuple[str, int]]:
    """A moto server in a child process on a free loopback port; yields its URL and pid."""
    port = _free_port()
    env = dict(os.environ, MOTO_EC2_LOAD_DEFAULT_AMIS="false")
    env.pop("MOTO_ACCOUNT_ID", None)
    child = subprocess.Popen(
        [sys.executable, "-c", _MOTO_CHILD, HOST, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("the moto server did not start")
        url = f"http://{HOST}:{port}"
        _wait_http(f"{url}/moto-api/")
        yield url, child.pid
    finally:
        _stop_child(child)


@contextmanager
def latency_proxy(upstream: str, latency_ms: float) -> Iterator[tuple[str, int]]:
    """bench/latency_proxy.py in a child process in front of ``upstream``; yields its URL and pid."""
    child = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "latency_proxy.py"), "--upstream", upstream,
         "--latency-ms", str(latency_ms), "--host", HOST],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            raise RuntimeError("the latency proxy did not start")
        yield f"http://{HOST}:{line[1]}", child.pid
    finally:
        _stop_child(child)


def _wait_http(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            _http_get(url)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _stop_child(child: subprocess.Popen[str]) -> None:
    if child.stdin is not None:
        child.stdin.close()
    child.terminate()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime: fields 14 and 15 of stat(5)


@dataclass
class Cpu:
    """CPU seconds spent by triage (this process), moto and the proxy during one run."""

    pids: dict[str, int]
    spent: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def measure(self) -> Iterator[None]:
        before = {"triage": time.process_time(), **{n: cpu_seconds(p) for n, p in self.pids.items()}}
        yield
        after = {"triage": time.process_time(), **{n: cpu_seconds(p) for n, p in self.pids.items()}}
        self.spent = {n: after[n] - before[n] for n in before}


def proxy_requests(proxy_url: str) -> int:
    return int(json.loads(_http_get(f"{proxy_url}/__latency_proxy__/stats"))["requests"])


# --- the emulated account ------------------------------------------------------------------------


@dataclass
class Seeded:
    regions_all: int
    regions_enabled: list[str]
    regions_not_enabled: list[str]
    regions_other_partitions: list[str]
    instances_per_region: dict[str, int]
    users: int
    access_keys: int
    login_profiles: int
    seconds: float


def _seed_client(service: str, url: str, region: str = "us-east-1") -> Any:
    session = isolated_session("testing", "testing", region)
    config = Config(retries={"mode": "standard", "max_attempts": 3})
    return session.client(service, endpoint_url=url, config=config)  # type: ignore[call-overload]


def seed(url: str, instances: int, users: int) -> Seeded:
    """``users`` IAM users (half with an access key, a tenth with two, a third with a console
    password) and ``instances`` instances spread evenly over the regions triage sweeps: those of
    the account's partition that moto reports enabled."""
    started = time.perf_counter()
    answer = _seed_client("ec2", url).describe_regions(AllRegions=True)["Regions"]
    # Triage sweeps the caller's partition only (moto also lists China and GovCloud regions).
    ours = [r for r in answer if partition_of(r["RegionName"]) == "aws"]
    enabled = sorted(r["RegionName"] for r in ours if r.get("OptInStatus") != "not-opted-in")
    not_enabled = sorted(r["RegionName"] for r in ours if r.get("OptInStatus") == "not-opted-in")
    other_partitions = sorted(r["RegionName"] for r in answer if partition_of(r["RegionName"]) != "aws")
    per_region = {region: instances // len(enabled) + (1 if i < instances % len(enabled) else 0)
                  for i, region in enumerate(enabled)}
    for region, count in per_region.items():
        if count:
            _seed_client("ec2", url, region).run_instances(
                ImageId=AMI, InstanceType="t3.micro", MinCount=count, MaxCount=count,
                TagSpecifications=[{"ResourceType": "instance",
                                    "Tags": [{"Key": "Name", "Value": f"bench-{region}"}]}],
            )
    iam = _seed_client("iam", url)
    keys = profiles = 0
    for i in range(users):
        name = f"bench-user-{i:04d}"
        iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": f"t{i % 7}"}])
        if i % 2 == 0:
            iam.create_access_key(UserName=name)
            keys += 1
        if i % 10 == 0:
            iam.create_access_key(UserName=name)
            keys += 1
        if i % 3 == 0:
            iam.create_login_profile(UserName=name, Password=f"Bench-password-{i}!")
            profiles += 1
    return Seeded(
        regions_all=len(answer),
        regions_enabled=enabled,
        regions_not_enabled=not_enabled,
        regions_other_partitions=other_partitions,
        instances_per_region=per_region,
        users=users,
        access_keys=keys,
        login_profiles=profiles,
        seconds=time.perf_counter() - started,
    )


# --- one triage ------------------------------------------------------------------------------------


@dataclass
class Run:
    wall_s: float
    api_calls: int  # every call of the run: whoami's two and the triage's
    triage_api_calls: int  # TriageResult.api_calls
    regions_swept: int
    regions_not_enabled: int
    findings: int
    gaps: int  # coverage gaps other than not-collected types and not-enabled regions (errors, denials)
    by_operation: dict[str, int]
    tasks: list[dict[str, Any]] = field(default_factory=list)  # with --profile only
    call_times: dict[str, list[float]] = field(default_factory=dict)  # with --profile only
    run_triage_started_s: float = 0.0  # after the factory, whoami and the case
    sequence: list[tuple[str, str | None, str]] = field(default_factory=list)  # with --profile only
    client_seconds: list[float] = field(default_factory=list)  # with --profile: getting clients, wall and CPU
    evidence_seconds: list[float] = field(default_factory=list)  # with --profile: evidence puts, wall, CPU, count


_TASK = threading.local()  # the collector task a sweep thread is running (profiling run only)


@dataclass
class TimedFactory(ClientFactory):
    """A ClientFactory that also records how long each API call takes (profiling run only)."""

    durations: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list), init=False)
    # ClientFactory.client (creating a client on first use, waiting for the factory's lock): wall, CPU
    client_seconds: list[float] = field(default_factory=lambda: [0.0, 0.0], init=False)
    # every call in order: (thread, collector task or None, service:operation)
    sequence: list[tuple[str, str | None, str]] = field(default_factory=list, init=False)
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)
    _timed: set[int] = field(default_factory=set, init=False, repr=False)

    def client(self, service: str, region: str | None = None) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        created = super().client(service, region)
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        with self._lock:
            self.client_seconds[0] += wall
            self.client_seconds[1] += cpu
            fresh = id(created) not in self._timed
            self._timed.add(id(created))
        if fresh:
            created.meta.events.register("before-call", self._start)
            created.meta.events.register("after-call", self._stop)
        return created

    def _start(self, model: Any, **_: Any) -> None:
        self._local.started = time.perf_counter()
        action = f"{model.service_model.signing_name or model.service_model.endpoint_prefix}:{model.name}"
        with self._lock:
            self.sequence.append((threading.current_thread().name, getattr(_TASK, "name", None), action))

    def _stop(self, model: Any, **_: Any) -> None:
        elapsed = time.perf_counter() - self._local.started
        with self._lock:
            self.durations[f"{model.service_model.signing_name or model.service_model.endpoint_prefix}:"
                           f"{model.name}"].append(elapsed)


def time_evidence(case: Case, into: list[float]) -> None:
    """Count the wall and CPU seconds of every EvidenceStore.put of ``case`` into ``into``."""
    put = case.evidence.put
    lock = threading.Lock()

    def timed_put(**kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return put(**kwargs)
        finally:
            with lock:
                into[0] += time.perf_counter() - wall
                into[1] += time.thread_time() - cpu
                into[2] += 1

    case.evidence.put = timed_put  # type: ignore[method-assign]


@contextmanager
def timed_collectors(origin: float, into: list[dict[str, Any]]) -> Iterator[None]:
    """Swap every registered collector for a subclass that records each task's start and end."""
    saved = dict(registry)
    lock = threading.Lock()

    def wrap(cls: type[Collector]) -> type[Collector]:
        def collect(self: Collector, ctx: CollectContext) -> None:
            begun = time.perf_counter()
            _TASK.name = f"{cls.name}@{ctx.region}"
            try:
                cls.collect(self, ctx)
            finally:
                _TASK.name = None
                with lock:
                    into.append({"collector": cls.name, "region": ctx.region,
                                 "start": begun - origin, "end": time.perf_counter() - origin,
                                 "thread": threading.current_thread().name})
        return type(cls.__name__, (cls,), {"collect": collect})

    registry.update({name: wrap(cls) for name, cls in saved.items()})
    try:
        yield
    finally:
        registry.clear()
        registry.update(saved)


def triage_once(endpoint: str, workers: int, since: datetime, *, sequential: bool = False,
                profile: bool = False, cpu: Cpu | None = None) -> Run:
    """One triage as the CLI runs it: a new factory, the caller's identity, a new case, the sweep.

    Only that is timed (and, with ``cpu``, its CPU use measured); removing the case afterwards is not.
    """
    tasks: list[dict[str, Any]] = []
    evidence_seconds = [0.0, 0.0, 0]
    saved_key_workers = iam_inventory._KEY_WORKERS
    with tempfile.TemporaryDirectory(prefix="awsrespond-bench-") as tmp:
        try:
            if sequential:
                iam_inventory._KEY_WORKERS = 1  # the IAM per-user pool too: every call one after the other
            with cpu.measure() if cpu is not None else _nothing():
                started = time.perf_counter()
                with timed_collectors(started, tasks) if profile else _nothing():
                    session = isolated_session("testing", "testing", "us-east-1")
                    factory_cls = TimedFactory if profile else ClientFactory
                    factory = factory_cls(session=session, endpoint_url=endpoint)
                    identity = whoami(factory)
                    case = Case.create(Path(tmp) / "case", account_id=identity.account_id, caller_arn=identity.arn)
                    if profile:
                        time_evidence(case, evidence_seconds)
                    sweep_started = time.perf_counter()
                    result = run_triage(factory, identity, case, TriageOptions(since=since, max_workers=workers))
                    wall = time.perf_counter() - started
        finally:
            iam_inventory._KEY_WORKERS = saved_key_workers
    return Run(
        wall_s=wall,
        api_calls=len(factory.calls),
        triage_api_calls=result.api_calls,
        regions_swept=len(result.regions),
        regions_not_enabled=len(result.not_enabled),
        findings=len(result.findings),
        gaps=sum(1 for g in result.coverage if g.kind not in (GapKind.NOT_COLLECTED, GapKind.NOT_ENABLED)),
        by_operation=dict(sorted(Counter(c.iam_action for c in factory.calls).items())),
        tasks=tasks,
        call_times=dict(factory.durations) if isinstance(factory, TimedFactory) else {},
        sequence=list(factory.sequence) if isinstance(factory, TimedFactory) else [],
        run_triage_started_s=sweep_started - started,
        client_seconds=list(factory.client_seconds) if isinstance(factory, TimedFactory) else [],
        evidence_seconds=evidence_seconds,
    )


@contextmanager
def _nothing() -> Iterator[None]:
    yield


# --- a size: seed, warm up, interleaved timed runs -----------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _cpu_medians(samples: list[dict[str, float]]) -> dict[str, float]:
    if not samples:
        return {}
    return {name: round(median([x[name] for x in samples]), 3) for name in samples[0]}


def measure_size(instances: int, users: int, latency_ms: float, runs: int, workers: list[int],
                 floor_runs: int, profile: bool) -> dict[str, Any]:
    since = datetime.now(UTC) - timedelta(days=1)
    tag = f"[{instances}i/{users}u]"
    with moto_server() as (moto_url, moto_pid), latency_proxy(moto_url, latency_ms) as (proxy_url, proxy_pid):
        cpu = Cpu({"moto": moto_pid, "proxy": proxy_pid})
        seeded = seed(moto_url, instances, users)
        log(f"{tag} seeded in {seeded.seconds:.1f} s: {len(seeded.regions_enabled)} enabled "
            f"regions, {len(seeded.regions_not_enabled)} not opted in")
        before = proxy_requests(proxy_url)
        cold = triage_once(proxy_url, workers[0], since)
        cold_proxied = proxy_requests(proxy_url) - before
        log(f"{tag} cold run {cold.wall_s:.2f} s, {cold.api_calls} calls ({cold_proxied} proxied)")
        walls: dict[int, list[float]] = {w: [] for w in workers}
        cpus: dict[int, list[dict[str, float]]] = {w: [] for w in workers}
        floors: list[float] = []
        floor_cpus: list[dict[str, float]] = []
        direct: list[float] = []
        direct_cpus: list[dict[str, float]] = []
        loads: list[float] = []
        calls: set[int] = set()
        proxied: set[int] = set()
        reference: Run | None = None
        for round_no in range(max(runs, floor_runs)):
            loads.append(os.getloadavg()[0])
            if round_no < floor_runs:
                floor = triage_once(moto_url, 1, since, sequential=True, cpu=cpu)
                floors.append(floor.wall_s)
                floor_cpus.append(cpu.spent)
                calls.add(floor.api_calls)
                # The same workers straight against moto: what the run costs with no latency at all.
                parallel = triage_once(moto_url, workers[0], since, cpu=cpu)
                direct.append(parallel.wall_s)
                direct_cpus.append(cpu.spent)
                calls.add(parallel.api_calls)
            if round_no < runs:
                for w in workers:
                    before = proxy_requests(proxy_url)
                    run = triage_once(proxy_url, w, since, cpu=cpu)
                    proxied.add(proxy_requests(proxy_url) - before)
                    walls[w].append(run.wall_s)
                    cpus[w].append(cpu.spent)
                    calls.add(run.api_calls)
                    reference = reference or run
            log(f"{tag} round {round_no + 1} (load {loads[-1]:.2f}): "
                + (f"floor {floors[-1]:.2f} s, w{workers[0]} 0 ms {direct[-1]:.2f} s, "
                   if round_no < floor_runs else "")
                + " ".join(f"w{w} {walls[w][-1]:.2f} s" for w in workers if round_no < runs))
        profiled = triage_once(proxy_url, workers[0], since, profile=True) if profile else None
    assert reference is not None
    api_calls = reference.api_calls
    floor_median = median(floors)
    cores = os.cpu_count() or 1
    results = {}
    for w in workers:
        wall = median(walls[w])
        ideal = api_calls * latency_ms / 1000.0 / w
        cpu_median = _cpu_medians(cpus[w])
        results[str(w)] = {
            "median_wall_s": round(wall, 3),
            "min_wall_s": round(min(walls[w]), 3),
            "max_wall_s": round(max(walls[w]), 3),
            "runs_s": [round(x, 3) for x in walls[w]],
            "ideal_s": round(ideal, 3),
            "wall_over_ideal": round(wall / ideal, 2),
            "wall_over_floor": round(wall / floor_median, 2) if floors else None,
            "cpu_s": cpu_median,
            # The CPU work of triage, moto and the proxy spread perfectly over every core:
            # no wall time can be shorter, whatever the latency or the worker count.
            "cpu_bound_s": round(sum(cpu_median.values()) / cores, 3),
            "meets_5s_target": wall < 5.0,
        }
    summary: dict[str, Any] = {
        "instances": instances,
        "users": users,
        "access_keys": seeded.access_keys,
        "login_profiles": seeded.login_profiles,
        "regions_reported": seeded.regions_all,
        "regions_other_partitions": seeded.regions_other_partitions,
        "regions_swept": reference.regions_swept,
        "regions_not_enabled": reference.regions_not_enabled,
        "instances_per_region": seeded.instances_per_region,
        "api_calls": api_calls,
        "triage_api_calls": reference.triage_api_calls,
        "api_calls_all_runs": sorted(calls),
        "proxied_requests_per_run": sorted(proxied),
        "calls_by_operation": reference.by_operation,
        "findings": reference.findings,
        "coverage_gaps_errors": reference.gaps,  # not counting not-collected types and not-enabled regions
        "cold_s": round(cold.wall_s, 3),
        "loadavg_1min_per_round": [round(x, 2) for x in loads],
        "floor_sequential_no_latency": {
            "median_wall_s": round(floor_median, 3),
            "runs_s": [round(x, 3) for x in floors],
            "per_call_ms": round(floor_median / api_calls * 1000, 2) if floors else None,
            "cpu_s": _cpu_medians(floor_cpus),
        },
        f"no_latency_w{workers[0]}": {
            "median_wall_s": round(median(direct), 3),
            "runs_s": [round(x, 3) for x in direct],
            "cpu_s": _cpu_medians(direct_cpus),
        },
        "latency_ms": latency_ms,
        "workers": results,
    }
    if profiled is not None:
        summary["profile"] = profile_summary(profiled, latency_ms)
        summary["latency_model"] = latency_model(profiled, seeded.regions_enabled, latency_ms / 1000.0, workers)
    return summary


def _makespan(durations: list[float], workers: int) -> float:
    """Finish time of ``durations`` run in order on a FIFO pool of ``workers`` (list scheduling)."""
    free = [0.0] * max(1, min(workers, len(durations)))
    for duration in durations:
        slot = free.index(min(free))
        free[slot] += duration
    return max(free) if durations else 0.0


def latency_model(run: Run, regions: list[str], latency_s: float, workers: list[int]) -> dict[str, Any]:
    """The wall time the sweep's structure allows when every call costs exactly the latency and
    nothing else (no CPU, infinitely fast emulator): the calls each task makes one after the other,
    the IAM task's per-user chains on its nested pool, the tasks on a FIFO pool in submission order.
    Also the same with the tasks submitted longest first (the IAM task first)."""
    own: Counter[str] = Counter()
    serial_before = 0
    chains: list[int] = []
    for thread, task, action in run.sequence:
        if thread.startswith("iam-keys"):  # the IAM collector's nested per-user pool
            if action == "iam:ListAccessKeys" or not chains:
                chains.append(0)
            chains[-1] += 1
        elif task is None:
            serial_before += 1  # whoami and DescribeRegions, before the sweep
        else:
            own[task] += 1
    order = {name: i for i, name in enumerate(registry)}
    region_order = {r: i for i, r in enumerate(regions)}
    tasks = sorted(own, key=lambda t: (order[t.split("@")[0]], region_order.get(t.split("@")[1], -1)))
    nested = _makespan([n * latency_s for n in chains], iam_inventory._KEY_WORKERS)
    durations = {t: own[t] * latency_s + (nested if t.startswith("iam@") else 0.0) for t in tasks}
    fifo = [durations[t] for t in tasks]
    longest_first = sorted(fifo, reverse=True)
    before = serial_before * latency_s
    return {
        "calls_before_sweep": serial_before,
        "iam_task_s": round(durations.get("iam@global", 0.0), 3),
        "iam_per_user_chains": len(chains),
        "longest_regional_task_s": round(max(d for t, d in durations.items() if not t.endswith("@global")), 3),
        "model_wall_s": {str(w): round(before + _makespan(fifo, w), 3) for w in workers},
        "model_wall_longest_first_s": {str(w): round(before + _makespan(longest_first, w), 3) for w in workers},
    }


def profile_summary(run: Run, latency_ms: float) -> dict[str, Any]:
    """Where the time goes in one run: per collector, per region, per operation."""
    by_collector: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for task in run.tasks:
        by_collector[task["collector"]].append(task)
    collectors = {
        name: {
            "tasks": len(tasks),
            "sum_task_s": round(sum(t["end"] - t["start"] for t in tasks), 3),
            "max_task_s": round(max(t["end"] - t["start"] for t in tasks), 3),
            "first_start_s": round(min(t["start"] for t in tasks), 3),
            "last_end_s": round(max(t["end"] for t in tasks), 3),
        }
        for name, tasks in sorted(by_collector.items())
    }
    by_region: dict[str, float] = defaultdict(float)
    for task in run.tasks:
        by_region[task["region"]] += task["end"] - task["start"]
    slowest = sorted(run.tasks, key=lambda t: t["start"] - t["end"])[:10]
    operations = {
        op: {"calls": len(times), "mean_ms": round(1000 * statistics.mean(times), 1),
             "max_ms": round(1000 * max(times), 1), "sum_s": round(sum(times), 3)}
        for op, times in sorted(run.call_times.items(), key=lambda kv: -sum(kv[1]))
    }
    all_times = [t for times in run.call_times.values() for t in times]
    regional_end = max(t["end"] for t in run.tasks if t["region"] != "global")
    return {
        "wall_s": round(run.wall_s, 3),
        "run_triage_started_s": round(run.run_triage_started_s, 3),
        "last_regional_task_end_s": round(regional_end, 3),
        "after_sweep_s (judge, store)": round(run.wall_s - max(t["end"] for t in run.tasks), 3),
        "client_factory_s": {"wall_summed_over_threads": round(run.client_seconds[0], 3),
                             "cpu": round(run.client_seconds[1], 3)},
        "evidence_put_s": {"wall_summed_over_threads": round(run.evidence_seconds[0], 3),
                           "cpu": round(run.evidence_seconds[1], 3), "files": int(run.evidence_seconds[2])},
        "sweep_first_task_start_s": round(min(t["start"] for t in run.tasks), 3),
        "sweep_last_task_end_s": round(max(t["end"] for t in run.tasks), 3),
        "mean_call_ms": round(1000 * statistics.mean(all_times), 1),
        "added_latency_ms": latency_ms,
        "collectors": collectors,
        "slowest_tasks": [{**t, "seconds": round(t["end"] - t["start"], 3),
                           "start": round(t["start"], 3), "end": round(t["end"], 3)} for t in slowest],
        "task_seconds_by_region": {r: round(s, 3) for r, s in sorted(by_region.items(), key=lambda kv: -kv[1])},
        "operations": operations,
    }


def calls_per_size(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Calls at each size, split into the per-resource part (one call per instance, per user, per
    access key) and the rest, which is fixed by the regions and collectors."""
    rows = []
    for s in sizes:
        per_resource = s["instances"] + s["users"] + s["access_keys"]
        rows.append({
            "instances": s["instances"],
            "users": s["users"],
            "access_keys": s["access_keys"],
            "api_calls": s["api_calls"],
            "instances+users+keys": per_resource,
            "fixed_part": s["api_calls"] - per_resource,
            "median_wall_s": s["workers"][next(iter(s["workers"]))]["median_wall_s"],
            "floor_s": s["floor_sequential_no_latency"]["median_wall_s"],
        })
    return rows


def source_version() -> dict[str, Any]:
    """The commit measured, and whether src/ had uncommitted changes (other engineers edit it)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(BENCH_DIR.parent), *args], capture_output=True, text=True,
                              check=False)
        return done.stdout.strip() if done.returncode == 0 else "unknown"

    return {"commit": git("rev-parse", "--short", "HEAD"), "src_changes": git("status", "--porcelain", "src")}


def machine() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "moto": importlib.metadata.version("moto"),
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _size(text: str) -> tuple[int, int]:
    instances, _, users = text.partition(":")
    return int(instances), int(users)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="awsrespond triage benchmark (see bench/README.md)")
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per worker setting")
    parser.add_argument("--floor-runs", type=int, default=None,
                        help="sequential no-latency runs (default: --runs; 0 to skip)")
    parser.add_argument("--workers", type=int, nargs="+", default=[16],
                        help="max_workers settings; the first is the headline and the one used at other sizes")
    parser.add_argument("--scale", type=_size, nargs="*", default=[], metavar="INSTANCES:USERS",
                        help="smaller sizes to measure too (first worker setting only)")
    parser.add_argument("--scale-runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="one extra profiled run at the full size")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    floor_runs = args.runs if args.floor_runs is None else args.floor_runs

    total_started = time.perf_counter()
    summary: dict[str, Any] = {
        "machine": machine(),
        "source_at_start": source_version(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "collector_order": list(registry),  # the order the sweep submits its tasks in (as in the CLI)
    }
    sizes: list[dict[str, Any]] = []
    for instances, users in sorted(set(args.scale)):
        sizes.append(measure_size(instances, users, args.latency_ms, args.scale_runs, args.workers[:1],
                                  min(floor_runs, args.scale_runs), profile=False))
    main_size = measure_size(args.instances, args.users, args.latency_ms, args.runs, args.workers, floor_runs,
                             profile=args.profile)
    sizes.append(main_size)
    summary["sizes"] = [{k: v for k, v in s.items() if k not in ("calls_by_operation", "profile")} for s in sizes]
    summary["main"] = main_size
    summary["calls_per_size"] = calls_per_size(sizes)
    summary["total_bench_s"] = round(time.perf_counter() - total_started, 1)
    summary["source_at_end"] = source_version()  # differs from the start: the code changed under the run
    text = json.dumps(summary, indent=2)
    if args.json_out is not None:
        args.json_out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
