"""Hunt benchmark: end-to-end events/s of ``awsrespond hunt`` on CloudTrail in S3 delivery layout,
next to plain ``zcat`` over the same files, measured in the same run.

    .venv/bin/python bench/hunt_bench.py --events 10000000 --runs 3 --json-out bench/hunt_results.json

* The corpus (``bench/hunt_corpus.py``) is generated under ``--data`` if it is not there.
* Each round runs ``zcat`` over every file (one process, output to /dev/null), then the hunt in a
  fresh process: ``run_hunt`` (the real path: files -> case store ledger -> events table ->
  every rule of the pack -> analytics -> sessions -> findings) into a file-backed DuckDB database
  with ``--memory-limit``. Rounds alternate zcat and hunt so that the machine's noise hits both.
* Peak RSS: the hunt's process tree (main process and its inflate workers) is sampled every
  0.2 s from /proc; the main process's own peak (``ru_maxrss``) is reported too.
* CPU seconds (user + system of the whole process tree) are reported next to wall time: on a
  shared machine they move much less than wall time.
* The page cache is warmed once before the first round (both sides read from memory).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import hunt_corpus  # noqa: E402 - the generator lives beside this script


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid, size in rss.items():
        walk = pid
        while walk and walk != root:
            walk = parents.get(walk, 0)
        if walk == root:
            total += size
    return total


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(command: list[str], *, sample: bool) -> dict[str, Any]:
    """Run ``command``; wall seconds, CPU seconds of its tree, peak RSS of its tree, its stdout."""
    cpu_before = _cpu_children()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, text=False)
        peak = 0
        stop = threading.Event()

        def sampler() -> None:
            nonlocal peak
            while not stop.wait(0.2):
                peak = max(peak, _tree_rss(process.pid))

        thread = threading.Thread(target=sampler, daemon=True)
        if sample:
            thread.start()
        _, err = process.communicate()
        stop.set()
        if sample:
            thread.join()
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"{command[:3]} failed ({process.returncode}): {err.decode()[-2000:]}")
    return {"wall_s": wall, "cpu_s": _cpu_children() - cpu_before, "peak_rss_tree": peak, "stdout": text}


def zcat_command(list_file: Path) -> list[str]:
    return ["sh", "-c", f"xargs -a '{list_file}' zcat > /dev/null"]


def hunt_child(args: argparse.Namespace) -> None:
    """One hunt in this (fresh) process; prints its stats as JSON."""
    from awsrespond.hunt.run import HuntOptions, run_hunt  # noqa: PLC0415 - only in the child
    from awsrespond.trail.events import EventStore  # noqa: PLC0415

    database = Path(args.db_dir) / "events.duckdb"
    shutil.rmtree(args.db_dir, ignore_errors=True)
    Path(args.db_dir).mkdir(parents=True)
    store = EventStore(str(database), memory_limit=args.memory_limit)
    since = hunt_corpus.END - timedelta(days=hunt_corpus.ATTACK_DAYS)
    options = HuntOptions(sources=[str(Path(args.data) / "AWSLogs")], since=since, until=hunt_corpus.END)
    result = run_hunt(options, store=store)
    stats = dict(result.stats)
    stats["findings"] = len(result.findings)
    stats["errors"] = len(result.errors)
    stats["attacker_ip_findings"] = sum(1 for f in result.findings if f.source_ip == hunt_corpus.ATTACKER_IP)
    stats["main_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    stats["workers_maxrss"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    stats["db_bytes"] = sum(p.stat().st_size for p in Path(args.db_dir).iterdir() if p.is_file())
    store.db.close()
    shutil.rmtree(args.db_dir, ignore_errors=True)
    print(json.dumps(stats))


def summarise(rounds: list[dict[str, Any]], manifest: dict[str, Any], files: int, args: argparse.Namespace
              ) -> dict[str, Any]:
    def median(path: list[str]) -> float:
        values = []
        for entry in rounds:
            value: Any = entry
            for key in path:
                value = value[key]
            values.append(float(value))
        return statistics.median(values)

    return {
        "events": int(manifest["events"]), "files": files, "bytes_gz": manifest["bytes_gz"],
        "bytes_json": manifest["bytes_json"], "runs": len(rounds), "memory_limit": args.memory_limit,
        "cores": os.cpu_count(),
        "median": {
            "zcat_events_per_s": median(["zcat", "events_per_s"]),
            "hunt_events_per_s": median(["hunt", "events_per_s"]),
            "ratio_wall": median(["ratio_wall"]),
            "ratio_cpu": median(["ratio_cpu"]),
            "zcat_cpu_s": median(["zcat", "cpu_s"]),
            "hunt_cpu_s": median(["hunt", "cpu_s"]),
            "hunt_peak_rss_tree_mib": median(["hunt", "peak_rss_tree"]) / 2**20,
            "hunt_main_maxrss_mib": median(["hunt", "stats", "main_maxrss"]) / 2**20,
            **{stage: median(["hunt", "stats", stage])
               for stage in ("read_s", "rules_s", "analytics_s", "sessions_s", "total_s")},
        },
        "rounds": rounds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--data", help="corpus directory (default /work/benchdata/hunt-<events>)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory_limit of the hunt's store")
    parser.add_argument("--db-dir", default="/work/benchdata/hunt-bench-db")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.data = args.data or f"/work/benchdata/hunt-{_short(args.events)}"
    if args.child:
        hunt_child(args)
        return 0

    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    manifest = hunt_corpus.generate(Path(args.data), args.events, 500, os.cpu_count() or 2, 7, say)
    files = sorted(str(p) for p in (Path(args.data) / "AWSLogs").rglob("*.json.gz"))
    events = int(manifest["events"])
    list_file = Path(args.data) / "files.txt"
    list_file.write_text("\n".join(files) + "\n")
    say(f"{len(files)} files, {events:,} events, {manifest['bytes_gz'] / 1e9:.2f} GB gz; warming the page cache")
    subprocess.run(["sh", "-c", f"xargs -a '{list_file}' cat > /dev/null"], check=True)

    rounds: list[dict[str, Any]] = []
    child = [sys.executable, str(Path(__file__).resolve()), "--child", "--data", args.data,
             "--memory-limit", args.memory_limit, "--db-dir", args.db_dir, "--events", str(args.events)]
    for number in range(1, args.runs + 1):
        load = os.getloadavg()[0]
        zcat = measure(zcat_command(list_file), sample=False)
        hunt = measure(child, sample=True)
        stats = json.loads(hunt.pop("stdout").strip().splitlines()[-1])
        zcat.pop("stdout")
        entry = {
            "round": number, "load_avg_1m_at_start": load,
            "zcat": {**zcat, "events_per_s": events / zcat["wall_s"]},
            "hunt": {**hunt, "events_per_s": events / hunt["wall_s"], "stats": stats},
        }
        entry["ratio_wall"] = entry["hunt"]["events_per_s"] / entry["zcat"]["events_per_s"]
        entry["ratio_cpu"] = zcat["cpu_s"] / hunt["cpu_s"]
        rounds.append(entry)
        zcat_rate, hunt_rate = entry["zcat"]["events_per_s"], entry["hunt"]["events_per_s"]
        say(f"round {number}: zcat {zcat_rate:,.0f} ev/s, hunt {hunt_rate:,.0f} ev/s (x{entry['ratio_wall']:.2f}), "
            f"peak RSS {hunt['peak_rss_tree'] / 2**20:,.0f} MiB, stages read {stats['read_s']:.1f} s "
            f"rules {stats['rules_s']:.1f} s analytics {stats['analytics_s']:.1f} s "
            f"sessions {stats['sessions_s']:.1f} s, load {load:.1f}")
        if args.json_out:  # after every round: a long run stopped early still leaves its figures
            args.json_out.write_text(json.dumps(summarise(rounds, manifest, len(files), args), indent=2) + "\n")
    print(json.dumps(summarise(rounds, manifest, len(files), args), indent=2))

    return 0


def _short(events: int) -> str:
    return f"{events // 1_000_000}M" if events % 1_000_000 == 0 else f"{events // 1000}k"


if __name__ == "__main__":
    raise SystemExit(main())
