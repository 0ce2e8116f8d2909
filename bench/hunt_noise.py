"""The Done-when figures of ``awsrespond hunt``: noise on a busy account's routine activity, and attacks found.

For each seed, tests/routine_activity.py writes ``--weeks`` weeks of routine CloudTrail (about
``--events`` events) in S3 delivery layout; the hunt runs with ``since`` at the start of the last
week. Noise = events of the window covered by findings at medium or above / events of the window.
Then tests/routine_attacks.py adds an attack (a stolen credential used from a new network with an
ordinary SDK or CLI user agent, and ``--attack-steps`` steps rotating with the seed) to the same
events, and the hunt runs again: every key event of every step should be covered at medium or above.
A third run adds another credential used from another new network for reconnaissance only.
Last, each Stratus Red Team technique in ../shared/corpus/stratus is hunted on its own, with the key
events tests/test_hunt_corpus.py names.

    .venv/bin/python bench/hunt_noise.py --seeds 0 1 2 3 4 --events 250000 --json-out /tmp/hunt_noise.json

Progress goes to stderr; the figures and a JSON summary to stdout.
"""

from __future__ import annotations

import argparse
import collections
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.routine_activity import write_routine_activity  # noqa: E402
from tests.routine_attacks import CREDENTIALS, inject_attack  # noqa: E402
from tests.test_hunt_corpus import STRATUS_KEY_EVENTS, medium_rowids  # noqa: E402
from tests.test_hunt_noise import NOISE_LIMIT, measure_noise, medium_or_above  # noqa: E402

from awsrespond.hunt.run import HuntOptions, run_hunt  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def one_seed(seed: int, events: int, weeks: int, steps: int, scratch: Path) -> dict[str, Any]:
    started = time.perf_counter()
    dataset = write_routine_activity(scratch / f"routine-{seed}", seed=seed, events=events, weeks=weeks)
    generated = time.perf_counter() - started
    log(f"seed {seed}: {dataset.events} events, {dataset.files} files written in {generated:.0f} s; hunting")
    mark = time.perf_counter()
    result = run_hunt(HuntOptions(sources=[str(dataset.root)], since=dataset.since))
    hunted = time.perf_counter() - mark
    noise = measure_noise(result, dataset)
    print(noise.report(f"seed {seed} (account {dataset.account.account_id}, home {dataset.account.home}, "
                       f"{len(dataset.developers)} developers, {dataset.events} events)"), flush=True)

    attack = inject_attack(dataset, scratch / f"attack-{seed}", seed=seed, steps=steps)
    again = run_hunt(HuntOptions(sources=[str(attack.root)], since=dataset.since), store=result.store)
    rules: dict[str, set[str]] = collections.defaultdict(set)
    for finding in medium_or_above(again.findings):
        for event_id in finding.event_ids:
            rules[event_id].add(finding.rule)
    step_results = []
    for step in attack.steps:
        found = [event_id in rules for _, event_id in step.key_events]
        step_results.append({"step": step.name, "key_events": len(found), "found": sum(found),
                             "event_names": sorted({name for name, _ in step.key_events})})
    found_all = all(s["found"] == s["key_events"] for s in step_results)
    print(f"  attack: {attack.credential.split(' ')[0]} from {attack.source_ip} "
          f"({attack.user_agent.split(' ')[0]}): "
          + ", ".join(f"{s['step']} {s['found']}/{s['key_events']}" for s in step_results)
          + f" -> {'found' if found_all else 'MISSED'}", flush=True)

    # Then another credential used from another new network to look around only (added to the same store).
    recon = inject_attack(dataset, scratch / f"recon-{seed}", seed=seed, steps=0,
                          credential=CREDENTIALS[(seed + 2) % len(CREDENTIALS)])
    third = run_hunt(HuntOptions(sources=[str(recon.root)], since=dataset.since), store=result.store)
    covered = {e for finding in medium_or_above(third.findings) for e in finding.event_ids}
    recon_found = sum(1 for _, event_id in recon.steps[0].key_events if event_id in covered)
    print(f"  reconnaissance only: {recon.credential.split(' ')[0]} from {recon.source_ip} "
          f"({recon.user_agent.split(' ')[0]}): {recon_found}/{len(recon.steps[0].key_events)} events at medium+ "
          f"-> {'found' if recon_found else 'MISSED'}", flush=True)
    return {
        "seed": seed,
        "account": dataset.account.account_id,
        "events": dataset.events,
        "files": dataset.files,
        "window_events": noise.window_events,
        "covered": len(noise.covered),
        "noise": round(noise.share, 5),
        "top_rules": dict(noise.by_rule.most_common(8)),
        "attack": {"credential": attack.credential.split(" ")[0], "steps": step_results, "found": found_all,
                   "attacker_events": len(attack.event_ids),
                   "attacker_events_covered": sum(1 for e in attack.event_ids if e in rules)},
        "recon_only": {"credential": recon.credential.split(" ")[0], "events": len(recon.steps[0].key_events),
                       "covered": recon_found, "found": recon_found > 0},
        "seconds": {"generate": round(generated, 1), "hunt": round(hunted, 1),
                    "hunt_stats": {k: v for k, v in result.stats.items() if k.endswith("_s")}},
    }


def stratus() -> list[dict[str, Any]]:
    outcomes = []
    for path in sorted((CORPUS / "stratus").glob("aws.*.json")):
        technique = path.stem.removeprefix("aws.")
        result = run_hunt(HuntOptions(sources=[str(path)]))
        covered = medium_rowids(result)
        rows = result.store.db.execute("SELECT rowid, eventName FROM events").fetchall()
        key = [int(rowid) for rowid, name in rows if name in STRATUS_KEY_EVENTS.get(technique, ())]
        found = sum(1 for rowid in key if rowid in covered)
        outcomes.append({"technique": technique, "key_events": len(key), "found": found})
        print(f"  stratus {technique}: {found}/{len(key)} key events at medium+", flush=True)
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--events", type=int, default=250_000, help="routine events per seed")
    parser.add_argument("--weeks", type=int, default=4, help="weeks of activity; the last is the window")
    parser.add_argument("--attack-steps", type=int, default=4)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    print("command: " + " ".join(shlex.quote(a) for a in [".venv/bin/python", "bench/hunt_noise.py", *sys.argv[1:]]))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hunt-noise-") as scratch:
        seeds = [one_seed(seed, args.events, args.weeks, args.attack_steps, Path(scratch)) for seed in args.seeds]
    techniques = stratus() if (CORPUS / "stratus").is_dir() else []
    worst = max(s["noise"] for s in seeds)
    summary = {
        "noise_limit": NOISE_LIMIT,
        "noise_worst": worst,
        "noise_mean": round(sum(s["noise"] for s in seeds) / len(seeds), 5),
        "seeds_under_limit": sum(1 for s in seeds if s["noise"] < NOISE_LIMIT),
        "attacks_found": sum(1 for s in seeds if s["attack"]["found"]),
        "recon_only_found": sum(1 for s in seeds if s["recon_only"]["found"]),
        "stratus_found": sum(1 for t in techniques if t["key_events"] and t["found"] == t["key_events"]),
        "stratus_techniques": len(techniques),
        "seeds": seeds,
        "stratus": techniques,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"noise (findings at medium+ / window events): worst {worst:.2%}, mean {summary['noise_mean']:.2%}, "
          f"{summary['seeds_under_limit']}/{len(seeds)} seeds under {NOISE_LIMIT:.0%}")
    print(f"injected attacks found at medium+ (every key event): {summary['attacks_found']}/{len(seeds)}; "
          f"reconnaissance-only credential use found: {summary['recon_only_found']}/{len(seeds)}; "
          f"Stratus techniques: {summary['stratus_found']}/{summary['stratus_techniques']}")
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")


if __name__ == "__main__":
    main()
