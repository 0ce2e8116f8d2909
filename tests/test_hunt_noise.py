"""Done-when figures of ``awsrespond hunt`` on routine activity (tests/routine_activity.py).

For each seed: about 50k events of a busy account over four weeks; the hunt runs with ``since`` at the
start of the last week, so the first three weeks are history. Noise is the share of the window's
events that findings at medium or above cover (the union of their ``event_ids``); it must stay under
1%. Then an attack (tests/routine_attacks.py: a stolen credential used from a new network with an
ordinary SDK or CLI user agent, and four steps that rotate with the seed) is added to the same events
and every key event of every step must be covered by a finding at medium or above.
"""

from __future__ import annotations

import collections
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from awsrespond.findings import Finding, Severity
from awsrespond.hunt.run import HuntOptions, HuntResult, run_hunt
from tests.routine_activity import RoutineDataset, write_routine_activity
from tests.routine_attacks import CREDENTIALS, STEPS, attack_plan, inject_attack

SEEDS = (0, 1, 2)
EVENTS = 50_000
NOISE_LIMIT = 0.01


@dataclass
class Noise:
    window_events: int
    covered: set[str]
    by_rule: collections.Counter[str]
    titles: dict[str, str]

    @property
    def share(self) -> float:
        return len(self.covered) / self.window_events

    def report(self, label: str) -> str:
        lines = [f"{label}: findings at medium+ cover {len(self.covered)} of {self.window_events} window events "
                 f"({self.share:.2%}; limit {NOISE_LIMIT:.0%})"]
        lines.append("  events covered per rule (a rule's findings may overlap another's):")
        lines += [f"  {count:6d}  {rule}  {self.titles[rule]}" for rule, count in self.by_rule.most_common(10)]
        return "\n".join(lines)


def medium_or_above(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity.at_least(Severity.MEDIUM)]


def measure_noise(result: HuntResult, dataset: RoutineDataset) -> Noise:
    rows = result.store.db.execute("SELECT eventID FROM events WHERE eventTime >= ?", [dataset.since]).fetchall()
    window = {str(row[0]) for row in rows}
    covered: set[str] = set()
    by_rule: collections.Counter[str] = collections.Counter()
    titles: dict[str, str] = {}
    for finding in medium_or_above(result.findings):
        ids = set(finding.event_ids) & window
        by_rule[finding.rule] += len(ids)
        covered |= ids
        titles[finding.rule] = finding.title
    return Noise(len(window), covered, by_rule, titles)


@dataclass
class Hunted:
    dataset: RoutineDataset
    result: HuntResult
    noise: Noise


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def hunted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hunted]:
    seed = int(request.param)
    root = tmp_path_factory.mktemp(f"routine-{seed}")
    dataset = write_routine_activity(root / "routine", seed=seed, events=EVENTS)
    result = run_hunt(HuntOptions(sources=[str(dataset.root)], since=dataset.since))
    assert not result.errors, result.errors[:5]
    yield Hunted(dataset, result, measure_noise(result, dataset))


def test_routine_activity_noise_is_under_one_percent(hunted: Hunted) -> None:
    dataset, noise = hunted.dataset, hunted.noise
    assert noise.window_events == hunted.result.stats["window_events"]
    assert noise.window_events > EVENTS * 0.15
    report = noise.report(f"seed {dataset.seed} (account {dataset.account.account_id}, {dataset.account.home}, "
                          f"{dataset.events} events, window from {dataset.since:%Y-%m-%d})")
    print(report)
    assert noise.share < NOISE_LIMIT, report


def test_injected_attack_is_found_at_medium_or_above(hunted: Hunted, tmp_path: Path) -> None:
    dataset = hunted.dataset
    attack = inject_attack(dataset, tmp_path / "attack", seed=dataset.seed)
    # The routine events stay in the store: the second hunt adds the attack's files to them.
    result = run_hunt(HuntOptions(sources=[str(attack.root)], since=dataset.since), store=hunted.result.store)
    assert not result.errors, result.errors[:5]
    assert result.stats["events"] == dataset.events + result.stats["records_read"]
    rules: dict[str, set[str]] = collections.defaultdict(set)
    for finding in medium_or_above(result.findings):
        for event_id in finding.event_ids:
            rules[event_id].add(finding.rule)
    lines = [f"seed {dataset.seed}: {attack.credential} from {attack.source_ip} ({attack.user_agent.split(' ')[0]})"]
    missed = []
    for step in attack.steps:
        for name, event_id in step.key_events:
            found = sorted(rules.get(event_id, ()))
            lines.append(f"  {step.name:18s} {name:28s} {', '.join(found) or 'NOT FOUND'}")
            if not found:
                missed.append(f"{step.name}: {name} {event_id}")
    covered = sum(1 for event_id in attack.event_ids if event_id in rules)
    lines.append(f"  attacker events covered at medium+: {covered} of {len(attack.event_ids)}")
    print("\n".join(lines))
    assert not missed, "\n".join(lines)


def test_leaked_credential_only_looking_around_is_found(hunted: Hunted, tmp_path: Path) -> None:
    """A credential of the account used from a new network for reconnaissance only (a dozen distinct
    reads in minutes, no change a rule would catch): the behaviour analytics must say so at medium+."""
    dataset = hunted.dataset
    credential = CREDENTIALS[(dataset.seed + 2) % len(CREDENTIALS)]
    attack = inject_attack(dataset, tmp_path / "recon", seed=dataset.seed, steps=0, credential=credential)
    result = run_hunt(HuntOptions(sources=[str(dataset.root), str(attack.root)], since=dataset.since))
    covered = {event_id for finding in medium_or_above(result.findings) for event_id in finding.event_ids}
    (recon,) = attack.steps
    found = [(name, event_id in covered) for name, event_id in recon.key_events]
    report = (f"seed {dataset.seed}: {attack.credential} from {attack.source_ip} ({attack.user_agent.split(' ')[0]}): "
              f"{sum(ok for _, ok in found)} of {len(found)} reconnaissance events covered at medium+; "
              f"missed: {[name for name, ok in found if not ok]}")
    print(report)
    assert any(ok for _, ok in found), report


def test_attack_plans_of_the_seeds_cover_every_step() -> None:
    planned = {step for seed in SEEDS for step in attack_plan(seed)[1]}
    assert planned == set(STEPS)


def test_generator_varies_with_the_seed(tmp_path: Path) -> None:
    """Names, regions, networks and user agents come from the seed; the personas are all there."""
    seen = []
    for seed in (5, 6):
        dataset = write_routine_activity(tmp_path / str(seed), seed=seed, events=12_000, weeks=1)
        records = [r for path in sorted(dataset.root.rglob("*.json.gz"))
                   for r in json.loads(gzip.decompress(path.read_bytes()))["Records"]]
        assert abs(len(records) - 12_000) < 12_000 * 0.25, len(records)
        layout = {path.relative_to(dataset.root).parts[:3] for path in dataset.root.rglob("*.json.gz")}
        assert layout == {("AWSLogs", dataset.account.account_id, "CloudTrail")}
        names = collections.Counter(r["eventName"] for r in records)
        for expected in ("AssumeRoleWithWebIdentity", "UpdateFunctionCode20150331v2", "PublishVersion20150331",
                         "GetSecretValue", "ConsoleLogin", "RunInstances", "TerminateInstances", "StartBackupJob",
                         "CopySnapshot", "GetCallerIdentity", "UpdateInstanceInformation"):
            assert names[expected], expected
        assert any(r["eventName"] in ("GetParameter", "GetParameters")
                   and (r["requestParameters"] or {}).get("withDecryption") for r in records)
        assert any(r["userIdentity"].get("invokedBy") == "autoscaling.amazonaws.com" for r in records)
        seen.append((
            dataset.account.account_id,
            dataset.account.home,
            {r["sourceIPAddress"].rsplit(".", 2)[0] for r in records
             if r["eventName"] in ("ConsoleLogin", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML", "GetObject")},
            {r["userAgent"] for r in records},
            {r["userIdentity"]["arn"] for r in records if "arn" in r["userIdentity"]},
        ))
    (account_a, _, networks_a, agents_a, arns_a), (account_b, _, networks_b, agents_b, arns_b) = seen
    assert account_a != account_b
    assert not (arns_a & arns_b)
    assert len(networks_a & networks_b) < len(networks_a) / 4
    assert len(agents_a & agents_b) < len(agents_a) / 4
