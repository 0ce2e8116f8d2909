"""The guided response: target, triage, hunt, contain, recover, report, manual (the manual, in order).

Writes go through plans (containment, recovery, hardening), each shown first and applied only with the typed
account id or ``confirm`` (DESIGN.md 3.4). Without either, a plan is saved, not applied, and the flow goes on
with the read-only steps. A step that fails is recorded with the API and region that failed; the steps that do
not depend on it still run. ``<case>/respond/state.json`` records every step, for ``--resume``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.errors import describe_error
from awsrespond.aws.identity import CallerIdentity
from awsrespond.aws.regions import parse_region_option
from awsrespond.case.workspace import CASES_ROOT, Case, default_case_dir
from awsrespond.cli.contain_render import apply_summary, plan_table
from awsrespond.cli.hunt_render import attribution_summary, hunt_summary
from awsrespond.cli.render import triage_summary
from awsrespond.cli.triage_cmd import execute_triage
from awsrespond.cli.ui import Ui, safe
from awsrespond.contain.executor import ApplyOptions
from awsrespond.contain.journal import StepStatus as JournalStatus
from awsrespond.contain.model import Phase, Step
from awsrespond.contain.planio import load_plan, write_plan
from awsrespond.contain.planner.plan import PlanOptions, build_plan
from awsrespond.contain.safety import DEFAULT_MAX_STEPS
from awsrespond.contain.service import apply_plan
from awsrespond.errors import AwsRespondError, UsageError
from awsrespond.hunt.run import HuntOptions, run_hunt
from awsrespond.i18n import Lang, Messages
from awsrespond.recover.attack_cost import attack_cost
from awsrespond.recover.attack_cost import write_document as write_cost
from awsrespond.recover.checklist import ItemStatus
from awsrespond.recover.contacts import ContactsFile
from awsrespond.report.casedata import load_case
from awsrespond.respond.explain import explain_hunt, explain_triage, manual_steps
from awsrespond.respond.state import STEPS, FlowState, StepRecord, StepStatus, load_state, new_state, save_state
from awsrespond.timeutil import now_utc, parse_instant

Prompt = Callable[[str], str]
YES = {"y", "yes", "예", "네", "ㅇ"}
CONFIRM_ATTEMPTS = 3


class SkipStep(Exception):
    """The person answered "skip"."""


@dataclass
class RespondOptions:
    case_dir: Path | None = None
    resume: bool = False
    skip: set[str] = field(default_factory=set)
    since: datetime | None = None
    confirm: str | None = None  # the account id, for unattended writes
    budget_limit: Decimal | None = None
    email: str | None = None
    contacts: ContactsFile | None = None  # the contacts to set (recover contacts --from format)
    regions: str = "all"
    hunt_sources: list[str] = field(default_factory=list)  # none: the account's trail bucket, else LookupEvents
    plan_exclude: list[str] = field(default_factory=list)
    verify_delay: float = 1.0
    cases_root: Path = CASES_ROOT


@dataclass
class Hooks:
    """Extra read-only checks the demo runs inside the flow."""

    after_hunt: Callable[[Flow], None] | None = None
    after_contain: Callable[[Flow], None] | None = None


@dataclass
class FlowResult:
    case: Case
    state: FlowState
    reports: dict[str, Path]
    open_items: list[str]  # checklist items still to do or unknown (manual ones are the person's)
    exit_code: int


def open_case(identity: CallerIdentity, options: RespondOptions) -> Case:
    """``--case DIR`` (created or reopened); with ``--resume``, the newest case of this account; else a new one."""
    if options.case_dir is not None:
        return Case.create(options.case_dir, account_id=identity.account_id, caller_arn=identity.arn)
    root = options.cases_root
    if options.resume:
        states = list(root.glob(f"*{identity.account_id}-*/respond/state.json")) if root.is_dir() else []
        if not states:
            raise UsageError(f"--resume: no guided response of account {identity.account_id} under {root}/; "
                             "pass --case DIR")
        return Case.open(max(states, key=lambda p: p.stat().st_mtime).parent.parent)
    return Case.create(default_case_dir(identity.account_id, root=root), account_id=identity.account_id,
                       caller_arn=identity.arn)


class Flow:
    def __init__(self, ui: Ui, lang: Lang, factory: ClientFactory, identity: CallerIdentity, options: RespondOptions,
                 *, prompt: Prompt | None, hooks: Hooks | None = None, endpoint_url: str | None = None,
                 case: Case | None = None) -> None:
        self.ui = ui
        self.lang = lang
        self.msg = Messages(lang, "respond")
        self.factory = factory
        self.identity = identity
        self.options = options
        self.prompt = prompt
        self.hooks = hooks or Hooks()
        self.endpoint_url = endpoint_url
        self._case: Case | None = case  # else opened once the target is confirmed
        self.state: FlowState = new_state(identity.account_id, options.since)
        self.since = options.since
        self.reports: dict[str, Path] = {}
        self.saved_plans: list[Path] = []
        self.record: StepRecord = StepRecord()

    @property
    def case(self) -> Case:
        if self._case is None:
            raise RuntimeError("the case is opened when the target is confirmed")
        return self._case

    # -- output and questions -----------------------------------------------------------------------------
    def say(self, key: str, **values: object) -> None:
        self.ui.out.print(safe(self.msg.t(key, **values)))

    def lines(self, lines: list[str], indent: str = "  ") -> None:
        for line in lines:
            self.ui.out.print(safe(indent + line))

    def note(self, key: str, **values: object) -> None:
        """Said, and kept in the step's record."""
        text = self.msg.t(key, **values)
        self.record.messages.append(text)
        self.ui.out.print(safe("  " + text))

    @property
    def interactive(self) -> bool:
        return self.prompt is not None and self.options.confirm is None

    @property
    def can_apply(self) -> bool:
        return self.options.confirm is not None or self.prompt is not None

    def ask(self, key: str, **values: object) -> str:
        if self.prompt is None:
            raise UsageError("no terminal to ask on")
        return self.prompt(self.msg.t(key, **values)).strip()

    def confirmer(self) -> Callable[[str], str] | None:
        """The typed confirmation the executor asks for, in the person's language; "skip" skips the plan."""
        if self.options.confirm is not None or self.prompt is None:
            return None

        def typed(_prompt: str) -> str:
            for _ in range(CONFIRM_ATTEMPTS):
                answer = self.ask("ask.type_account", account=self.identity.account_id)
                if answer.lower() == "skip":
                    raise SkipStep
                if answer == self.identity.account_id:
                    return answer
                self.say("ask.mismatch", account=self.identity.account_id)
            raise SkipStep  # never applied on a guess: the plan stays saved

        return typed

    def _ask_since(self) -> datetime | None:
        """On a terminal, when the incident started (it separates the attacker's activity from history)."""
        if not self.interactive:
            return None
        for _ in range(CONFIRM_ATTEMPTS):
            answer = self.ask("ask.since")
            if not answer:
                return None
            try:
                return parse_instant(answer)
            except UsageError:
                self.say("ask.since_bad", value=answer)
        return None

    def progress(self, step: Step, status: JournalStatus, message: str) -> None:
        self.ui.info(safe(f"  {step.id} {step.action} {step.target.label()}: {status.value}"
                          + (f" - {message}" if message else "")))

    def _asked_then(self, name: str, title: str, func: Callable[[], StepStatus]) -> StepStatus:
        if self.interactive and name != "target" and self.ask("ask.step", title=title).lower() == "skip":
            raise SkipStep
        return func()

    def guarded(self, func: Callable[[], StepStatus],
                expected: tuple[type[Exception], ...] = (AwsRespondError,)) -> StepStatus:
        """Run one step (or part): "skip" skips it; an AWS error or an ``expected`` one fails it, named, and the
        flow goes on."""
        try:
            return func()
        except SkipStep:
            self.note("step.skipped_answer")
            return StepStatus.SKIPPED
        except (ClientError, BotoCoreError) as exc:
            self.record.messages.append(self.failure(exc))
        except expected as exc:
            self.record.messages.append(self.msg.t("step.failed", error=str(exc)))
        self.ui.warn(safe(self.record.messages[-1]))
        return StepStatus.FAILED

    def failure(self, exc: ClientError | BotoCoreError) -> str:
        call = self.factory.last_call()
        api = call.iam_action if call else "AWS"
        region = (call.region if call else "") or "global"
        return self.msg.t("step.failed_api", api=api, region=region, error=describe_error(exc))

    # -- the run ----------------------------------------------------------------------------------------
    def run(self) -> FlowResult:
        self.say("flow.title")
        self.say("flow.step", number=1, total=len(STEPS), title=self.msg.t("step.target"))
        started = now_utc()
        self.step_target()  # a wrong account stops everything here (exit 2), before any case is made
        case = self._case = open_case(self.identity, self.options)
        self.state = load_state(case) or self.state
        self.since = self.options.since or self.state.since or self._ask_since()
        self.state.since = self.since
        self.state.steps["target"] = StepRecord(status=StepStatus.DONE, started=started, finished=now_utc())
        self.say("flow.case", path=case.root)
        start = STEPS.index(self.state.first_not_done() or "report") if self.options.resume else 0
        if self.options.resume:
            self.say("flow.resume", step=self.msg.t(f"step.{STEPS[start]}"))
        steps: dict[str, Callable[[], StepStatus]] = {
            "triage": self.step_triage, "hunt": self.step_hunt,
            "contain": self.step_contain, "recover": self.step_recover, "report": self.step_report,
            "manual": self.step_manual,
        }
        for index, name in enumerate(STEPS):
            if name == "target" or index < start:
                continue
            self._run(index, name, steps[name])
        return self._result()

    def _run(self, index: int, name: str, func: Callable[[], StepStatus]) -> None:
        title = self.msg.t(f"step.{name}")
        self.ui.out.print()
        self.say("flow.step", number=index + 1, total=len(STEPS), title=title)
        record = self.record = self.state.record(name)
        record.started, record.finished, record.messages = now_utc(), None, []
        if name in self.options.skip:
            self.note("step.skipped_option", step=name)
            status = StepStatus.SKIPPED
        else:
            status = self.guarded(lambda: self._asked_then(name, title, func))
        record.status, record.finished = status, now_utc()
        save_state(self.case, self.state)

    def _result(self) -> FlowResult:
        self.ui.out.print()
        self.say("flow.summary_title")
        for name in STEPS:
            record = self.state.record(name)
            self.say("flow.summary_step", title=self.msg.t(f"step.{name}"),
                     status=self.msg.t(f"state.{record.status.value}"))
        checklist = load_case(self.case.root).checklist
        open_items = [item.id for item in checklist.items if item.status in (ItemStatus.TODO, ItemStatus.UNKNOWN)] \
            if checklist is not None else ["checklist"]
        finished = self.state.all_done and not open_items
        not_done = [self.msg.t(f"step.{name}") for name in STEPS
                    if self.state.record(name).status is not StepStatus.DONE]
        if not_done:
            self.say("flow.open_steps", steps=", ".join(not_done))
        if open_items:
            self.say("flow.open_items", count=len(open_items), items=", ".join(open_items))
        if finished:
            self.say("flow.done")
        if "html" in self.reports:
            self.say("flow.report_path", path=self.reports["html"])
        return FlowResult(case=self.case, state=self.state, reports=self.reports, open_items=open_items,
                          exit_code=0 if finished else 1)

    # -- the steps --------------------------------------------------------------------------------------
    def step_target(self) -> StepStatus:
        me = self.identity
        self.say("target.account", account=me.account_id, alias=me.alias or self.msg.t("word.none"))
        self.say("target.caller", caller=me.arn)
        if self.endpoint_url:
            self.say("target.endpoint", endpoint=self.endpoint_url)
        if self.options.confirm is not None and self.options.confirm.strip() != me.account_id:
            raise UsageError(self.msg.t("target.confirm_mismatch", confirm=self.options.confirm, account=me.account_id))
        if self.interactive and self.ask("ask.is_target").lower() not in YES:
            raise UsageError(self.msg.t("target.not_confirmed"))
        if not self.can_apply:
            self.say("target.read_only", account=me.account_id)
        return StepStatus.DONE

    def step_triage(self) -> StepStatus:
        from awsrespond.triage import TriageOptions  # noqa: PLC0415 - keeps the import graph of the CLI light

        result, _ = execute_triage(self.ui, self.factory, self.identity, self.case.root,
                                   TriageOptions(since=self.since, regions=parse_region_option(self.options.regions)))
        triage_summary(self.ui, result, str(self.case.root))
        self.say("triage.title")
        self.lines(explain_triage(self.msg, result.findings, sum(1 for gap in result.coverage if gap.partial)))
        return StepStatus.DONE

    def step_hunt(self) -> StepStatus:
        me = self.identity
        sources: list[str] = []

        def progress(message: str) -> None:
            if message.startswith("source "):  # what discovery chose: the trail bucket, or LookupEvents
                sources.append(message.removeprefix("source "))
            self.ui.info(safe(message))

        hunted = run_hunt(
            HuntOptions(sources=list(self.options.hunt_sources), since=self.since, case_dir=self.case.root,
                        account_id=me.account_id, caller_arn=me.arn, regions=self.options.regions,
                        partition=me.partition),
            self.factory, progress=progress)
        hunt_summary(self.ui, hunted, str(self.case.root))
        stored = self.case.findings()
        attribution_summary(self.ui, stored.findings if stored else [])
        cost = attack_cost(self.case)
        write_cost(self.case, cost)
        self.say("hunt.title")
        self.lines(explain_hunt(self.msg, load_case(self.case.root), cost, sources or hunted.sources))
        for error in hunted.errors:
            self.record.messages.append(error)
        if self.hooks.after_hunt is not None:
            self.hooks.after_hunt(self)
        return StepStatus.DONE

    def step_contain(self) -> StepStatus:
        if self.case.findings() is None:
            self.note("contain.needs_findings")
            return StepStatus.FAILED
        plan = build_plan(self.case, self.factory, self.identity, PlanOptions(exclude=list(self.options.plan_exclude)))
        path = write_plan(self.case, plan)
        self.case.record_command("contain plan", plan=plan.plan_id, steps=len(plan.steps))
        plan_table(self.ui, plan, str(path))
        # Copies of logs and evidence are one-way too, but change nothing of the account's: not listed.
        one_way = [step for step in plan.steps if not step.reversible
                   and step.phase not in (Phase.PRESERVE, Phase.RECHECK, Phase.EVIDENCE)]
        self.say("contain.summary", steps=len(plan.steps), one_way=len(one_way))
        for step in one_way:
            self.say("contain.one_way_step", id=step.id, action=step.action, target=step.target.label())
        if not plan.steps:
            self.say("contain.nothing")
            return StepStatus.DONE
        if not self.can_apply:
            self.saved_plans.append(path)
            self.note("contain.saved", path=path, case=self.case.root, account=self.identity.account_id)
            return StepStatus.SAVED
        try:
            applied = apply_plan(
                self.case, self.factory, self.identity, load_plan(path, self.case), confirm=self.options.confirm,
                ask=self.confirmer(), max_steps=max(DEFAULT_MAX_STEPS, len(plan.steps)), options=ApplyOptions(),
                verify_delay=self.options.verify_delay, progress=self.progress)
        except SkipStep:
            self.saved_plans.append(path)
            self.note("contain.saved", path=path, case=self.case.root, account=self.identity.account_id)
            return StepStatus.SKIPPED
        apply_summary(self.ui, applied)
        if self.hooks.after_contain is not None:
            self.hooks.after_contain(self)
        if not applied.ok:
            self.note("contain.not_ok", counts=", ".join(f"{n} {s}" for s, n in sorted(applied.counts.items())))
            return StepStatus.FAILED
        self.say("contain.applied")
        return StepStatus.DONE

    def step_recover(self) -> StepStatus:
        from awsrespond.cli.respond_recovery import run_recovery  # noqa: PLC0415 - the recovery step's own module

        return run_recovery(self)

    def step_report(self) -> StepStatus:
        from awsrespond.report.service import write_reports  # noqa: PLC0415 - loads Jinja2 and the exporters

        try:
            self.reports = write_reports(self.case.root, self.lang)
        except (AwsRespondError, OSError):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug in one renderer must not cost the person the manual step
            self.note("report.internal_error", error=f"{type(exc).__name__}: {exc}")
            return StepStatus.FAILED
        for key in ("html", "md", "aws", "json", "csv", "ocsf", "asff"):
            if key in self.reports:
                self.say(f"report.{key}", path=self.reports[key])
        if "html" not in self.reports:
            self.note("report.no_html")
            return StepStatus.FAILED
        return StepStatus.DONE

    def step_manual(self) -> StepStatus:
        data = load_case(self.case.root)
        self.say("manual.title")
        self.lines(manual_steps(self.msg, data, self.reports.get("aws"), self.saved_plans), indent="  - ")
        return StepStatus.DONE


def run_flow(ui: Ui, lang: Lang, factory: ClientFactory, identity: CallerIdentity, options: RespondOptions, *,
             prompt: Prompt | None, hooks: Hooks | None = None, endpoint_url: str | None = None) -> FlowResult:
    return Flow(ui, lang, factory, identity, options, prompt=prompt, hooks=hooks, endpoint_url=endpoint_url).run()
