"""``contain plan``: the case's findings -> subjects -> recipes -> one ordered, sealed plan."""

from __future__ import annotations

import fnmatch
import functools
import importlib
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.attribution import case_sessions
from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import describe_error
from awsrespond.aws.identity import CallerIdentity
from awsrespond.case.workspace import Case
from awsrespond.contain.actions.base import ActionError
from awsrespond.contain.model import Compromised, NotPlanned, Phase, Plan, Step, Target
from awsrespond.contain.planner.builder import PlanBuilder, PlanContext, Recipe, Subject, Treatment, recipes
from awsrespond.contain.planner.events import case_event_reader, previous_trust_policy
from awsrespond.contain.planner.order import CORE_ORDERING, OrderRule, apply_ordering
from awsrespond.contain.planner.readcache import ReadCache
from awsrespond.contain.planner.subjects import derive_subjects
from awsrespond.errors import UsageError
from awsrespond.findings import Finding
from awsrespond.hunt.session_model import Origin
from awsrespond.timeutil import coerce_instant, now_utc

_WARM_WORKERS = 8
# Types planned first, so the plan reads as the responder thinks: credentials, then principals, then compute.
_TYPE_ORDER = ["AWS::CloudTrail::Trail", "AWS::GuardDuty::Detector", "AWS::IAM::AccessKey", "AWS::IAM::LoginProfile",
               "AWS::IAM::User", "AWS::IAM::Role", "AWS::IAM::Group", "AWS::IAM::ManagedPolicy"]


@dataclass
class PlanOptions:
    suspect_as_attacker: bool = False
    only: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    never_touch: list[str] = field(default_factory=list)
    lookup_regions: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _window(case: Case) -> tuple[datetime | None, datetime | None]:
    for name in ("hunt.json", "triage.json"):
        document = case.read_json(name)
        if isinstance(document, dict) and isinstance(document.get("window"), dict):
            window = document["window"]
            return coerce_instant(window.get("since")), coerce_instant(window.get("until"))
    return None, None


def _subject_order(subject: Subject) -> tuple[int, str, str, str]:
    rtype = subject.target.type
    rank = _TYPE_ORDER.index(rtype) if rtype in _TYPE_ORDER else len(_TYPE_ORDER)
    return rank, rtype, subject.target.region, subject.target.id


def _compromised(subjects: list[Subject], sessions: list[Any], partition: str, account_id: str) -> Compromised:
    keys: set[str] = set()
    principals: set[str] = set()
    for subject in subjects:
        t = subject.target
        if subject.treatment is Treatment.QUARANTINE:
            continue
        if t.type == "AWS::IAM::AccessKey":
            keys.add(t.id)
        elif t.type == "AWS::IAM::Role" or (t.type == "AWS::IAM::User" and subject.treatment is Treatment.REMOVE):
            kind = "role" if t.type == "AWS::IAM::Role" else "user"
            principals.add(t.arn or f"arn:{partition}:iam::{account_id}:{kind}/{t.id}")
    for session in sessions:
        for credential in session.credentials:
            if credential.credential.startswith(("AKIA", "ASIA")):
                keys.add(credential.credential)
            if credential.origin is not Origin.PRE_EXISTING and credential.principal:
                principals.add(credential.principal)
    return Compromised(access_keys=sorted(keys), principals=sorted(principals))


def case_compromised(case: Case, identity: CallerIdentity) -> Compromised:
    """What the attacker holds according to the case (empty when the case has no findings yet)."""
    document = case.findings()
    if document is None:
        return Compromised()
    subjects, _ = derive_subjects(document.findings, suspect_as_attacker=False)
    return _compromised(subjects, case_sessions(case), identity.partition, identity.account_id)


def _select(step: Step, patterns: list[str]) -> bool:
    names = [step.action, step.target.id, step.target.arn or "", step.target.type,
             step.target.type.rsplit("::", 1)[-1], step.id]
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns for name in names if name)


def _filter(steps: list[Step], only: list[str], exclude: list[str], builder: PlanBuilder) -> list[Step]:
    kept = [s for s in steps if (not only or _select(s, only)) and not (exclude and _select(s, exclude))]
    # A step whose prerequisite was filtered out is dropped too: never terminate without the snapshot.
    while True:
        ids = {s.id for s in kept}
        all_ids = {s.id for s in steps}
        orphans = [s for s in kept if any(d in all_ids and d not in ids for d in s.after)]
        if not orphans:
            break
        for orphan in orphans:
            builder.note(f"{orphan.action} on {orphan.target.label()} left out: a step it depends on was filtered out")
        kept = [s for s in kept if s not in orphans]
    for step in steps:
        if step not in kept:
            builder.not_planned.append(NotPlanned(finding=",".join(step.why), resource=step.target,
                                                  reason=f"{step.action} filtered out by --only/--exclude"))
    return kept


def _renumber(steps: list[Step]) -> list[Step]:
    """Phase order, then an order that respects ``after`` (ties: the order recipes added them);
    ids s001... in that order, so the plan reads the way it runs."""
    added = {s.id: i for i, s in enumerate(steps)}
    ordered: list[Step] = []
    for phase in Phase:
        in_phase = {s.id: s for s in steps if s.phase is phase}
        waiting = {sid: {a for a in s.after if a in in_phase} for sid, s in in_phase.items()}
        while waiting:
            ready = [sid for sid, deps in waiting.items() if not deps]
            # A cycle would leave nothing ready: keep the recipes' order; the executor reports it.
            chosen = min(ready or waiting, key=added.__getitem__)
            ordered.append(in_phase[chosen])
            del waiting[chosen]
            for deps in waiting.values():
                deps.discard(chosen)
    mapping = {s.id: f"s{i:03d}" for i, s in enumerate(ordered, 1)}
    for step in ordered:
        step.id = mapping[step.id]
        step.after = sorted({mapping[a] for a in step.after if a in mapping})
    return ordered


def _trust_history(case: Case, pctx: PlanContext) -> None:
    """For a role whose trust policy the attacker changed, the document it had before, if the case's
    events reach back to when it was last set (the revert then restores exactly that)."""
    if pctx.events is None:
        return
    attacker_ids = {e.event_id for s in pctx.sessions for e in s.timeline if e.event_id}
    changes = [e.event_id for s in pctx.sessions for e in s.timeline
               if e.event_name == "UpdateAssumeRolePolicy" and e.event_id]
    for record in pctx.events(changes):
        role = (record.get("requestParameters") or {}).get("roleName")
        subject = pctx.subject("AWS::IAM::Role", str(role)) if role else None
        if subject is None or "previous_trust_policy" in subject.facts:
            continue
        previous = previous_trust_policy(case, str(role), record.get("eventTime"), attacker_ids)
        if previous:
            subject.facts["previous_trust_policy"] = previous


def _one_recipe(recipe: Recipe, pctx: PlanContext, subject: Subject, builder: PlanBuilder) -> None:
    recipe(pctx, builder, subject)


def _warm(pctx: PlanContext, by_type: dict[str, Recipe], extra: list[Callable[[PlanBuilder], Any]]) -> None:
    """Run every recipe once in parallel against throwaway builders, only to fill the read cache.

    Errors are not reported here: the real, ordered pass meets the same answers from the cache and
    reports them where they belong.
    """
    def run(task: Callable[[PlanBuilder], Any]) -> None:
        try:
            task(PlanBuilder())
        except (ClientError, BotoCoreError, ActionError):
            return  # cached; the ordered pass reports it

    tasks: list[Callable[[PlanBuilder], Any]] = list(extra)
    for subject in pctx.subjects:
        recipe = by_type.get(subject.target.type)
        if recipe is not None:
            tasks.append(functools.partial(_one_recipe, recipe, pctx, subject))
    with ThreadPoolExecutor(max_workers=_WARM_WORKERS) as pool:
        list(pool.map(run, tasks))


def build_plan(case: Case, factory: ClientFactory, identity: CallerIdentity, options: PlanOptions) -> Plan:
    document = case.findings()
    if document is None:
        raise UsageError(f"{case.root} has no findings.json: run `awsrespond triage` (and `hunt`) first")
    if identity.account_id != case.account_id:
        raise UsageError(f"the credentials are for account {identity.account_id}, the case is for {case.account_id}")
    findings: list[Finding] = document.findings
    subjects, left_out = derive_subjects(findings, suspect_as_attacker=options.suspect_as_attacker)
    sessions = case_sessions(case)
    since, until = _window(case)
    triage = case.read_json("triage.json")
    pctx = PlanContext(
        factory=factory, account_id=identity.account_id, partition=identity.partition, caller=identity,
        case_id=case.case_id, triage=triage if isinstance(triage, dict) else {}, sessions=sessions,
        events=case_event_reader(case), window_start=since, window_end=until, subjects=subjects, cache=ReadCache(),
        options={"never_touch": options.never_touch, "lookup_regions": options.lookup_regions,
                 "suspect_as_attacker": options.suspect_as_attacker, **options.extra},
    )
    _trust_history(case, pctx)
    builder = PlanBuilder()
    for finding in left_out:
        reason = "posture: fixed by `awsrespond harden`, not by containment" \
            if finding.classification.value == "posture" else "informational: nothing to contain"
        builder.not_planned.append(NotPlanned(finding=finding.id, resource=Target(
            type=finding.resource.type, id=finding.resource.id, region=finding.resource.region,
            arn=finding.resource.arn), reason=reason))
    by_type = recipes()
    logs = importlib.import_module("awsrespond.contain.planner.recipes.logs")
    _warm(pctx, by_type, [lambda b: logs.plan_preserve(pctx, b), lambda b: logs.plan_recheck(pctx, b)])
    logs.plan_preserve(pctx, builder)
    for subject in sorted(subjects, key=_subject_order):
        recipe = by_type.get(subject.target.type)
        if recipe is None:
            builder.skip(subject, f"no containment action for {subject.target.type} yet: handle it by hand")
            continue
        try:
            recipe(pctx, builder, subject)
        except (ClientError, BotoCoreError) as exc:
            builder.skip(subject, f"could not plan it: {describe_error(exc)}")
        except ActionError as exc:
            builder.skip(subject, f"could not plan it: {exc}")
    logs.plan_recheck(pctx, builder)
    rules: list[OrderRule] = list(CORE_ORDERING)
    compute = importlib.import_module("awsrespond.contain.planner.recipes.compute")
    rules.extend(getattr(compute, "ORDERING", []))
    apply_ordering(builder.steps, rules)
    steps = _filter(builder.steps, options.only, options.exclude, builder)
    steps = _renumber(steps)
    if not any(s.phase is not Phase.PRESERVE and s.phase is not Phase.RECHECK for s in steps):
        builder.note("nothing to contain: no finding calls for a change (see not_planned)")
    plan = Plan(
        plan_id=f"{now_utc():%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}", case_id=case.case_id,
        account_id=identity.account_id, partition=identity.partition, created=now_utc(), created_by=identity.arn,
        options={"suspect_as_attacker": options.suspect_as_attacker, "only": options.only,
                 "exclude": options.exclude, "window_start": since.isoformat() if since else None},
        compromised=_compromised(subjects, sessions, identity.partition, identity.account_id),
        never_touch=sorted(options.never_touch), steps=steps,
        not_planned=builder.not_planned, notes=builder.notes,
    )
    return plan
