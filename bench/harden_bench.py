"""Hardening benchmark: ``awsrespond harden`` and ``awsrespond recover checklist`` at 50 ms per API call.

Each round, for each latency (the headline ``--latency-ms`` and the 0 ms baseline), on a FRESH emulator:

* a child process runs the emulator (awsrespond's moto server) seeded with a generated compromise
  (``generate_scenario(--scenario-seed)``; contain_bench.py's emulator child, without extras);
* this process runs triage into a case directory (library, straight to the emulator; not timed) and
  one untimed warm-up ``run_checks`` straight to the emulator, so moto's per-region backends the
  checks touch exist before the timing (AWS has no such first-touch cost);
* ``awsrespond harden --format json`` (read-only: every check, every enabled region) and then
  ``awsrespond recover checklist --format json --case DIR`` (harden's checks plus the console
  password and MFA reads) run as real subprocesses through ``latency_proxy.py`` (a child process
  holding every request for the latency, with TCP_NODELAY: contain_bench.py's proxy child); wall
  time from spawn to exit (interpreter start and the account checks included).

API calls are the requests the proxy forwarded during each command. Reported against baselines of
the same run: the same commands at 0 ms through the same proxy, and the latency floor: every call
one after the other (calls x latency) and spread over the 4 check workers (calls x latency / 4).
The order of the two latencies alternates between rounds. Medians over ``--rounds``.

Usage::

    .venv/bin/python bench/harden_bench.py --scenario-seed 1 --latency-ms 50 --rounds 3 --profile \\
        --json-out bench/harden_results.json

``--profile`` adds one in-process run at the headline latency through the proxy: each check's start
and duration inside the real parallel run, each check run alone (calls and wall), the checklist's
own reads (passwords, MFA), and the API operations counted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from contain_bench import Command, _env, _timed, emulator, environment, latency_proxy
from triage_bench import log

import awsrespond.harden.service as harden_service
from awsrespond.aws.clients import ApiCall
from awsrespond.aws.identity import whoami
from awsrespond.aws.regions import plan_regions
from awsrespond.case.workspace import Case
from awsrespond.emulator.server import isolated_factory
from awsrespond.harden.registry import all_checks
from awsrespond.recover import checklist as checklist_module
from awsrespond.timeutil import coerce_instant
from awsrespond.triage import TriageOptions, run_triage

CHECK_WORKERS = harden_service.CHECK_WORKERS


def _emulator_args(args: argparse.Namespace) -> argparse.Namespace:
    """What contain_bench.emulator reads: the scenario, no extra suspect artefacts."""
    return argparse.Namespace(scenario_seed=args.scenario_seed, extra_users=0, extra_instances=0, names_seed=1)


def _triaged(info: dict[str, Any], work: Path) -> Case:
    factory = isolated_factory(info["endpoint"])
    identity = whoami(factory)
    case = Case.create(work / "case", account_id=identity.account_id, caller_arn=identity.arn)
    run_triage(factory, identity, case, TriageOptions(since=coerce_instant(info["since"])))
    return case


@dataclass
class Run:
    latency_ms: float
    round: int
    warmup_s: float
    regions: int
    harden: Command
    harden_statuses: dict[str, int]
    checklist: Command
    checklist_statuses: dict[str, int]


def _document(path: Path, command: Command, err: str, name: str) -> dict[str, Any]:
    if command.exit_code not in (0, 1):
        raise RuntimeError(f"{name} exited {command.exit_code}: {err[-2000:]}")
    document: dict[str, Any] = json.loads(path.read_bytes())
    return document


def one_run(args: argparse.Namespace, latency_ms: float, round_no: int, work: Path) -> Run:
    with emulator(_emulator_args(args)) as (info, moto_pid, _):
        case = _triaged(info, work)
        direct = isolated_factory(info["endpoint"])
        started = time.perf_counter()
        harden_service.run_checks(direct, whoami(direct))
        warmup_s = time.perf_counter() - started
        with latency_proxy(info["endpoint"], latency_ms) as (proxy_url, proxy_pid):
            pids = {"moto": moto_pid, "proxy": proxy_pid}
            hardened, err = _timed(["harden", "--format", "json", "--endpoint-url", proxy_url], proxy_url, pids,
                                   work / "harden.out")
            report = _document(work / "harden.out", hardened, err, "harden")
            listed, err = _timed(["recover", "checklist", "--format", "json", "--case", str(case.root),
                                  "--endpoint-url", proxy_url], proxy_url, pids, work / "checklist.out")
            checklist = _document(work / "checklist.out", listed, err, "recover checklist")
    return Run(latency_ms=latency_ms, round=round_no, warmup_s=round(warmup_s, 2), regions=len(report["regions"]),
               harden=hardened, harden_statuses=dict(Counter(c["status"] for c in report["checks"])),
               checklist=listed, checklist_statuses=dict(Counter(i["status"] for i in checklist["items"])))


# --- where the time goes (--profile) ---------------------------------------------------------------

def profile_run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """In-process, through the proxy at the headline latency: per-check timings and calls."""
    operations: Counter[str] = Counter()
    regions: dict[str, set[str]] = {}

    def count(call: ApiCall) -> None:
        operations[call.iam_action] += 1
        regions.setdefault(call.iam_action, set()).add(call.region)

    out: dict[str, Any] = {}
    with emulator(_emulator_args(args)) as (info, _, _):
        case = _triaged(info, work)
        direct = isolated_factory(info["endpoint"])
        harden_service.run_checks(direct, whoami(direct))  # warm-up, as in the timed runs
        with latency_proxy(info["endpoint"], args.latency_ms) as (proxy_url, _):
            factory = isolated_factory(proxy_url)
            identity = whoami(factory)
            region_plan = plan_regions(factory, None, identity.partition)
            factory.observers.append(count)

            # Every check in the real parallel run, each timed from its start to its end.
            timings: dict[str, tuple[float, float]] = {}
            original = harden_service._run_one
            origin = time.perf_counter()

            def timed_one(ctx: Any, spec: Any) -> Any:
                started = time.perf_counter()
                try:
                    return original(ctx, spec)
                finally:
                    timings[spec.id] = (started - origin, time.perf_counter() - started)

            harden_service._run_one = timed_one  # type: ignore[assignment]
            try:
                harden_service.run_checks(factory, identity, region_plan)
            finally:
                harden_service._run_one = original  # type: ignore[assignment]
            out["library_run_checks_s"] = round(time.perf_counter() - origin, 3)
            out["library_run_checks_calls"] = sum(operations.values())
            out["checks_in_parallel_run"] = {cid: {"start_s": round(s, 2), "took_s": round(d, 2)}
                                             for cid, (s, d) in sorted(timings.items(), key=lambda kv: -kv[1][1])}
            out["run_checks_operations"] = {op: {"calls": n, "regions": len(regions[op])}
                                            for op, n in operations.most_common()}

            # Each check alone (shared reads are not shared then): its own calls and wall.
            alone: dict[str, Any] = {}
            for spec in all_checks():
                before = len(factory.calls)
                started = time.perf_counter()
                harden_service.run_checks(factory, identity, region_plan, only=[spec.id])
                alone[spec.id] = {"calls": len(factory.calls) - before,
                                  "took_s": round(time.perf_counter() - started, 2)}
            out["each_check_alone"] = alone

            # The checklist's own reads, beyond the checks.
            parts: dict[str, Any] = {}
            for name, read in (("passwords", lambda: checklist_module._passwords(factory, identity)),
                               ("console_mfa", lambda: checklist_module._console_mfa(factory, identity, case))):
                before = len(factory.calls)
                started = time.perf_counter()
                read()
                parts[name] = {"calls": len(factory.calls) - before, "took_s": round(time.perf_counter() - started, 2),
                               "operations": dict(Counter(c.iam_action for c in factory.calls[before:]))}
            out["checklist_reads"] = parts
    return out


def cli_startup(runs: int) -> float:
    """Seconds for ``awsrespond harden --help``: the interpreter and the imports every command pays."""
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "awsrespond", "harden", "--help"], stdout=subprocess.DEVNULL,
                       env=_env(), check=True)
        seconds.append(time.perf_counter() - started)
    return _median(seconds)


# --- summary -------------------------------------------------------------------------------------

def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def _command_summary(commands: list[Command]) -> dict[str, Any]:
    return {"wall_s": _median([c.seconds for c in commands]),
            "wall_min_max_s": [round(min(c.seconds for c in commands), 3), round(max(c.seconds for c in commands), 3)],
            "calls": sorted({c.calls for c in commands}),
            "exit_codes": sorted({c.exit_code for c in commands}),
            "cpu_s": {"cli": _median([c.cpu_s for c in commands]), "moto": _median([c.moto_cpu_s for c in commands]),
                      "proxy": _median([c.proxy_cpu_s for c in commands])}}


def summarise(runs: list[Run], latency_ms: float) -> dict[str, Any]:
    by_latency: dict[str, Any] = {}
    for latency in sorted({r.latency_ms for r in runs}):
        mine = [r for r in runs if r.latency_ms == latency]
        by_latency[f"{latency:g}ms"] = {
            "runs": len(mine),
            "regions": sorted({r.regions for r in mine}),
            "harden": _command_summary([r.harden for r in mine]),
            "checklist": _command_summary([r.checklist for r in mine]),
            "harden_statuses": mine[0].harden_statuses,
            "checklist_statuses": mine[0].checklist_statuses,
            "warmup_s": _median([r.warmup_s for r in mine]),
        }
    out: dict[str, Any] = {"by_latency": by_latency}
    headline = by_latency.get(f"{latency_ms:g}ms")
    baseline = by_latency.get("0ms")
    if headline and baseline:
        ratios: dict[str, Any] = {}
        for name in ("harden", "checklist"):
            calls = statistics.median(getattr(r, name).calls for r in runs if r.latency_ms == latency_ms)
            wall = headline[name]["wall_s"]
            serial = calls * latency_ms / 1000
            added = wall - baseline[name]["wall_s"]
            ratios[name] = {
                "vs_0ms": round(wall / baseline[name]["wall_s"], 2),
                "serial_floor_s": round(serial, 2),
                "vs_serial_floor": round(wall / serial, 2),
                "floor_on_check_workers_s": round(serial / CHECK_WORKERS, 2),
                "vs_floor_on_check_workers": round(wall / (serial / CHECK_WORKERS), 2),
                "added_by_latency_s": round(added, 2),
                "effective_parallelism": round(serial / added, 2) if added > 0 else None,
            }
        out["ratios"] = ratios
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario-seed", type=int, default=1, help="generate_scenario(N)")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="one more in-process run: per-check timings and calls")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    env = environment()
    started = datetime.now().astimezone()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], capture_output=True, text=True, check=False)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="harden-bench-") as tmp:
        for round_no in range(args.rounds):
            order = [args.latency_ms, 0.0] if round_no % 2 == 0 else [0.0, args.latency_ms]
            for latency in order:
                work = Path(tmp) / f"r{round_no}-{latency:g}ms"
                work.mkdir()
                load = os.getloadavg()[0]
                run = one_run(args, latency, round_no, work)
                runs.append(run)
                log(f"round {round_no} {latency:g} ms (load {load:.1f}): harden {run.harden.seconds:.2f} s "
                    f"({run.harden.calls} calls, exit {run.harden.exit_code}), checklist "
                    f"{run.checklist.seconds:.2f} s ({run.checklist.calls} calls, exit {run.checklist.exit_code}), "
                    f"warm-up {run.warmup_s:.2f} s, {run.regions} regions")
        profile = profile_run(args, Path(tmp) / "profile") if args.profile else None
    startup = cli_startup(3)
    summary = {
        "command": " ".join(["bench/harden_bench.py", *(argv if argv is not None else sys.argv[1:])]),
        "code": {"commit": head.stdout.strip(), "src_modified_files": dirty.stdout.splitlines()},
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "environment": env,
        "settings": {k: v for k, v in vars(args).items() if k != "json_out"},
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
