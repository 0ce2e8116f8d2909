"""Report benchmark: every report format of a large case, against reading the same case files.

A template case comes from ``awsrespond demo`` (or ``--template DIR``). It is scaled into a large
synthetic case in a temporary directory: ``--findings`` findings (copies of the template's, with new
ids and resource ids), one attacker session per ``--events-per-session`` timeline events up to
``--events``, and ``--evidence`` evidence index entries. Then, each round, in this process:

* baseline: read and ``json.loads`` every JSON file of the case (the floor any report pays);
* ``load_case`` (the baseline plus building the model);
* each renderer on the loaded case: HTML (en), Markdown (en), CSV, OCSF, ASFF, case JSON, AWS text;
* and once per round the whole command as a subprocess: ``awsrespond report --format html``
  (interpreter start, imports, load, render, write).

Medians over ``--rounds``; ratios against the baseline measured in the same round.

Usage::

    .venv/bin/python bench/report_bench.py --findings 5000 --events 100000 --rounds 3 \\
        --json-out bench/report_results.json
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from awsrespond.i18n import Lang
from awsrespond.report.aws_text import render_aws_text
from awsrespond.report.casedata import CaseData, load_case
from awsrespond.report.exports.asff import render_asff
from awsrespond.report.exports.case_json import render_json
from awsrespond.report.exports.csv_export import render_csv
from awsrespond.report.exports.ocsf import render_ocsf
from awsrespond.report.html import render_html
from awsrespond.report.markdown import render_markdown

ROOT = Path(__file__).resolve().parents[1]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def template_case(given: Path | None, work: Path) -> Path:
    if given is not None:
        return given
    case = work / "template"
    log("making a template case with awsrespond demo (about a minute)")
    subprocess.run([sys.executable, "-m", "awsrespond", "demo", "--quiet", "--case", str(case)],
                   check=True, stdout=subprocess.DEVNULL, cwd=work)
    return case


def scale_case(template: Path, target: Path, *, findings: int, events: int, per_session: int,
               evidence: int) -> dict[str, int]:
    """Copy ``template`` to ``target`` and grow its findings, sessions and evidence index."""
    shutil.copytree(template, target, ignore=shutil.ignore_patterns("logs", "events", "secrets"))
    doc = json.loads((target / "findings.json").read_text())
    seeds = doc["findings"]
    grown = []
    for n in range(findings):
        item = copy.deepcopy(seeds[n % len(seeds)])
        item["id"] = f"{item['rule']}-bench{n:07d}"
        item["resource"]["id"] = f"{item['resource']['id']}-{n}"
        grown.append(item)
    doc["findings"] = grown
    (target / "findings.json").write_text(json.dumps(doc))

    hunt = json.loads((target / "hunt.json").read_text())
    session = hunt["sessions"][0]
    entries = session["timeline"] or [{}]
    sessions = []
    for s in range(max(1, events // per_session)):
        clone = copy.deepcopy(session)
        clone["id"] = f"session-bench{s:04d}"
        clone["timeline"] = []
        for i in range(per_session):
            entry = copy.deepcopy(entries[i % len(entries)])
            # spread the events over 48 hours so the chart bins them
            entry["time"] = f"2026-11-{27 + (i * 48 // per_session) // 24:02d}T{(i * 48 // per_session) % 24:02d}:" \
                            f"{(i * 7) % 60:02d}:{(i * 13) % 60:02d}Z"
            clone["timeline"].append(entry)
        clone["event_count"] = per_session
        sessions.append(clone)
    hunt["sessions"] = sessions
    (target / "hunt.json").write_text(json.dumps(hunt))

    index = json.loads((target / "evidence" / "index.json").read_text())
    files = index["files"] or [{"file": "x", "operation": "op", "region": "r", "service": "s", "sha256": "0" * 64}]
    index["files"] = [dict(files[n % len(files)], file=f"evidence/bench/{n}.json") for n in range(evidence)]
    (target / "evidence" / "index.json").write_text(json.dumps(index))
    return {"findings": findings, "sessions": len(sessions), "events": len(sessions) * per_session,
            "evidence": evidence}


def read_all_json(root: Path) -> int:
    total = 0
    for path in root.rglob("*.json"):
        total += len(json.loads(path.read_bytes()) or "")
    return total


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", type=Path, default=None)
    parser.add_argument("--findings", type=int, default=5000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--events-per-session", type=int, default=5000)
    parser.add_argument("--evidence", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        work = Path(tmp)
        template = template_case(args.template, work)
        case = work / "large"
        shape = scale_case(template, case, findings=args.findings, events=args.events,
                           per_session=args.events_per_session, evidence=args.evidence)
        log(f"case: {shape}")
        renderers: dict[str, Callable[[CaseData], str]] = {
            "html": lambda d: render_html(d, Lang.EN),
            "markdown": lambda d: render_markdown(d, Lang.EN),
            "csv": render_csv,
            "ocsf": render_ocsf,
            "asff": render_asff,
            "case-json": render_json,
            "aws-text": render_aws_text,
        }
        rounds: list[dict[str, float]] = []
        sizes: dict[str, int] = {}
        for number in range(args.rounds):
            row: dict[str, float] = {}
            row["baseline: json.loads of every case file"], _ = timed(lambda: read_all_json(case))
            row["load_case"], data = timed(lambda: load_case(case))
            for name, render in renderers.items():
                row[name], text = timed(functools.partial(render, data))
                sizes[name] = len(text.encode())
            command = [sys.executable, "-m", "awsrespond", "report", "--case", str(case), "--format", "html",
                       "-o", str(work / f"cli-{number}.html"), "--quiet", "--lang", "en"]
            row["cli: awsrespond report --format html"], _ = timed(functools.partial(
                subprocess.run, command, check=False, stdout=subprocess.DEVNULL,
                env={**os.environ, "AWSRESPOND_LANG": "en"}))
            rounds.append(row)
            log(f"round {number + 1}: " + ", ".join(f"{k.split(':')[0]} {v:.2f}s" for k, v in row.items()))
        medians = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        base = medians["baseline: json.loads of every case file"]
        print("| step | median s | x baseline | output |\n|---|---|---|---|")
        for name, value in medians.items():
            size = f"{sizes[name] / 1e6:.1f} MB" if name in sizes else ""
            print(f"| {name} | {value:.2f} | {value / base:.1f} | {size} |")
        if args.json_out:
            args.json_out.write_text(json.dumps({"shape": shape, "rounds": rounds, "medians": medians,
                                                 "sizes": sizes, "load": os.getloadavg()}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
