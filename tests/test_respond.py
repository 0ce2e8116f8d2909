"""The guided ``awsrespond respond`` against a seeded emulator: read-only without confirmation (in Korean),
``--skip contain`` then ``--resume``, an interactive run typing the account id, and the refusals.

One emulated compromise for the module (a generated scenario, the seed drawn from a seeded random): the runs
follow each other on the same case, as a person resuming the response would.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import random
import re
import string
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
from botocore.exceptions import ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.case.workspace import Case
from awsrespond.cli import respond_cmd
from awsrespond.cli.respond_flow import RespondOptions, open_case
from awsrespond.emulator import FAKE_ACCESS_KEY_ID, EmulatorServer, SeededScenario, generate_scenario, seed
from awsrespond.emulator.server import FAKE_SECRET_ACCESS_KEY
from awsrespond.errors import UsageError
from awsrespond.i18n import Lang, catalog
from awsrespond.report.casedata import FindingStatus, load_case
from awsrespond.respond.state import new_state, save_state
from awsrespond.schemas import shipped
from awsrespond.timeutil import iso

RNG = random.Random(6_0_4)


def _cli() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command("respond")(respond_cmd.respond)
    app.command("version")(lambda: 0)  # two commands: the first argument names the command
    return app


@dataclass
class Run:
    code: int
    out: str
    questions: list[str] = field(default_factory=list)


@dataclass
class World:
    server: EmulatorServer
    seeded: SeededScenario
    case: Path
    before: dict[str, Any]
    runs: dict[str, Run] = field(default_factory=dict)


def respond(world: World, *args: str, prompt: Callable[[str], str] | None = None,
            monkeypatch: pytest.MonkeyPatch) -> Run:
    asked: list[str] = []

    def fake_terminal(_ui: object) -> Callable[[str], str] | None:
        if prompt is None:
            return None

        def ask(question: str) -> str:
            asked.append(question)
            return prompt(question)

        return ask

    monkeypatch.setattr(respond_cmd, "terminal_prompt", fake_terminal)
    # The emulator has no CloudTrail LookupEvents (the demo leaves that step out too); no waits before verifying.
    monkeypatch.setattr(respond_cmd, "RespondOptions", functools.partial(
        RespondOptions, verify_delay=0.0, plan_exclude=["logs.save-lookup-events"]))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        code = _cli()(args=["respond", "--endpoint-url", world.server.endpoint_url, "--region",
                            ",".join(sorted({*world.seeded.home_regions, *world.seeded.attacker_regions})),
                            *args], standalone_mode=False)
    return Run(code=int(code), out=buffer.getvalue(), questions=asked)


def snapshot(factory: ClientFactory, regions: list[str]) -> dict[str, Any]:
    """What a write would change: IAM users, keys, passwords, policies, roles; instances; budgets; detectors."""
    iam = factory.client("iam")
    state: dict[str, Any] = {}
    for user in iam.list_users()["Users"]:
        name = user["UserName"]
        try:
            profile = iam.get_login_profile(UserName=name)["LoginProfile"].get("PasswordResetRequired", False)
        except ClientError:
            profile = None
        state[f"user/{name}"] = {
            "keys": sorted((k["AccessKeyId"], k["Status"]) for k in iam.list_access_keys(UserName=name)
                           ["AccessKeyMetadata"]),
            "profile": profile,
            "attached": sorted(p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=name)
                               ["AttachedPolicies"]),
            "inline": sorted(iam.list_user_policies(UserName=name)["PolicyNames"]),
        }
    for role in iam.list_roles()["Roles"]:
        state[f"role/{role['RoleName']}"] = sorted(
            p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"])
    try:
        state["password-policy"] = iam.get_account_password_policy()["PasswordPolicy"]
    except ClientError:
        state["password-policy"] = None
    for region in regions:
        ec2 = factory.client("ec2", region)
        state[f"ec2/{region}"] = sorted((i["InstanceId"], i["State"]["Name"])
                                        for r in ec2.describe_instances()["Reservations"] for i in r["Instances"])
        state[f"sg/{region}"] = sorted(g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"])
        state[f"guardduty/{region}"] = factory.client("guardduty", region).list_detectors()["DetectorIds"]
    state["budgets"] = factory.client("budgets", "us-east-1").describe_budgets(
        AccountId=factory.client("sts").get_caller_identity()["Account"]).get("Budgets", [])
    return json.loads(json.dumps(state, default=str))


SECURITY_CONTACT = {"name": f"Sec {RNG.randrange(10**6)}", "email": f"sec{RNG.randrange(10**6)}@example.org",
                    "phone": f"+82 2 {RNG.randrange(1000, 9999)} {RNG.randrange(1000, 9999)}", "title": "CISO"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as env, EmulatorServer(port=0) as server:
        env.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID)
        env.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY)
        env.setenv("COLUMNS", "200")
        seeded = seed(server, generate_scenario(RNG.randrange(1, 10_000)))
        regions = sorted({*seeded.home_regions, *seeded.attacker_regions})
        built = World(server=server, seeded=seeded, case=tmp_path_factory.mktemp("respond") / "case",
                      before=snapshot(server.factory(), regions))
        common = ["--case", str(built.case), "--since", iso(seeded.incident_start) or ""]
        account = seeded.account_id
        # 1: no terminal, no --confirm, in Korean: reads everything, plans, changes nothing.
        built.runs["readonly"] = respond(built, *common, "--lang", "ko", monkeypatch=env)
        built.runs["readonly_state"] = Run(0, (built.case / "respond" / "state.json").read_text())
        built.runs["after_readonly"] = Run(0, json.dumps(snapshot(server.factory(), regions)))
        # 2: go on, unattended, but leave containment for later; set the security contact from a file.
        contacts = built.case.parent / "contacts.yaml"
        contacts.write_text(json.dumps({"alternate_contacts": {"security": SECURITY_CONTACT}}))
        built.runs["skip"] = respond(built, *common, "--resume", "--skip", "contain", "--confirm", account,
                                     "--budget-limit", f"{RNG.randrange(20, 500)}", "--email", "ops@example.org",
                                     "--contacts", str(contacts), monkeypatch=env)
        built.runs["skip_state"] = Run(0, (built.case / "respond" / "state.json").read_text())

        # 3: resume on a terminal: the person answers, and types the account id for each plan.
        typos = [f"{int(account) + 1:012d}"]  # the first plan gets a typo, then the right id

        def person(question: str) -> str:
            if "Is this the account" in question:
                return "yes"
            if "type the account id" in question:
                return (typos.pop() if typos else account) + "\n"
            if "Monthly budget" in question:
                return "skip"
            return ""

        built.runs["interactive"] = respond(built, "--case", str(built.case), "--resume", prompt=person,
                                            monkeypatch=env)
        for name, run in built.runs.items():  # kept next to the case, for reading a failure
            (built.case.parent / f"{name}.out").write_text(run.out)
        yield built


def state_of(text: str) -> dict[str, str]:
    return {name: record["status"] for name, record in json.loads(text)["steps"].items()}


def test_without_a_terminal_or_confirm_nothing_is_written_and_the_plan_is_saved(world: World) -> None:
    run = world.runs["readonly"]
    assert run.code == 1, run.out[-3000:]
    assert json.loads(world.runs["after_readonly"].out) == world.before
    status = state_of(world.runs["readonly_state"].out)
    assert status["contain"] == "saved-not-applied" and status["recover"] == "saved-not-applied"
    assert status["triage"] == status["hunt"] == status["report"] == status["manual"] == "done"
    saved = re.findall(r"awsrespond contain apply (\S+) --case", run.out)
    assert saved and all(Path(path).is_file() for path in saved)
    assert all(json.loads(Path(path).read_text())["account_id"] == world.seeded.account_id for path in saved)


def test_korean_output_has_the_korean_texts_and_none_of_the_english(world: World) -> None:
    out = world.runs["readonly"].out
    en, ko = catalog(Lang.EN, "respond"), catalog(Lang.KO, "respond")
    for key in ("flow.title", "triage.title", "hunt.title", "manual.title", "flow.summary_title"):
        assert ko[key] in out
    assert re.search(r"공격자는 액세스 키 \S+", out), "the plain-words hunt explanation is missing"
    leaks = []
    for key, text in en.items():
        # item.* are also the recovery checklist's own titles, which its table (another module) prints.
        literals = [literal for literal, *_ in string.Formatter().parse(text)]
        if key.startswith("item.") or text == ko[key] or len(re.findall(r"[A-Za-z]", "".join(literals))) < 12:
            continue
        pattern = ".+?".join(re.escape(literal) for literal in literals)
        if re.search(pattern, out):
            leaks.append(key)
    assert not leaks


def test_skip_contain_then_resume_runs_contain(world: World) -> None:
    skipped = world.runs["skip"]
    first = state_of(world.runs["skip_state"].out)
    assert first["contain"] == "skipped" and first["recover"] == "done", skipped.out[-3000:]
    assert "Resuming at the first step not done: contain" in skipped.out
    assert "Step 2/7" not in skipped.out and "Step 3/7" not in skipped.out  # triage and hunt were done
    resumed = world.runs["interactive"]
    assert "Resuming at the first step not done: contain" in resumed.out
    assert "The containment plan was applied and verified." in resumed.out, resumed.out[-5000:]
    document = json.loads((world.case / "respond" / "state.json").read_text())
    jsonschema.validate(document, shipped("respond-state"))
    state = state_of(json.dumps(document))
    assert set(state.values()) == {"done"}, state


def test_interactive_run_asks_and_applies_after_the_typed_account_id(world: World) -> None:
    run = world.runs["interactive"]
    asked = run.questions
    assert any("Is this the account that was compromised" in q for q in asked)
    assert any(world.seeded.account_id in q and "type the account id" in q for q in asked)
    assert f"That is not {world.seeded.account_id}: nothing was changed." in run.out
    data = load_case(world.case)
    attacker = [f for f in data.attacker_findings if f.finding.resource.id == world.seeded.compromised_access_key_id]
    assert attacker and all(f.status is FindingStatus.CONTAINED for f in attacker)
    assert (world.case / "reports").is_dir()
    html = [p for p in (world.case / "reports").glob("report.*.html")]
    assert html and f"HTML report: {html[0]}" in run.out
    checklist = json.loads((world.case / "recovery" / "checklist.json").read_text())
    still = [i["id"] for i in checklist["items"] if i["status"] in ("todo", "unknown")]
    assert run.code == (1 if still else 0)
    assert "What you must still do by hand" in run.out and "root user's password" in run.out


def test_budget_limit_and_email_set_the_budget_alert(world: World) -> None:
    names = [b["BudgetName"] for b in world.server.factory().client("budgets", "us-east-1").describe_budgets(
        AccountId=world.seeded.account_id).get("Budgets", [])]
    assert "awsrespond-monthly-cost" in names


def test_the_wrong_confirmation_or_a_no_stops_before_anything(world: World, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY)
    wrong = "".join(RNG.choice(string.digits) for _ in range(12))
    with pytest.raises(UsageError, match="is not the target account"):
        respond(world, "--case", str(tmp_path / "a"), "--confirm", wrong, monkeypatch=monkeypatch)
    with pytest.raises(UsageError, match="not the compromised account"):
        respond(world, "--case", str(tmp_path / "b"), prompt=lambda _q: "no", monkeypatch=monkeypatch)
    for name in ("a", "b"):
        assert not (tmp_path / name / "triage.json").exists()
    with pytest.raises(UsageError, match="unknown step"):
        respond(world, "--case", str(tmp_path / "c"), "--skip", "contian", monkeypatch=monkeypatch)


def test_a_failing_step_is_named_and_the_others_go_on(world: World, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY)
    bucket = f"no-such-bucket-{RNG.randrange(10**6)}"

    def denied_hunt(_options: object, factory: ClientFactory, **_: object) -> None:
        factory.client("s3", "eu-central-1").get_object(Bucket=bucket, Key="AWSLogs/x.json.gz")

    monkeypatch.setattr("awsrespond.cli.respond_flow.run_hunt", denied_hunt)
    run = respond(world, "--case", str(tmp_path / "case"), "--skip", "triage,contain,recover",
                  "--confirm", world.seeded.account_id, monkeypatch=monkeypatch)
    assert run.code == 1
    state = json.loads((tmp_path / "case" / "respond" / "state.json").read_text())["steps"]
    assert state["hunt"]["status"] == "failed"
    assert any("s3:GetObject in eu-central-1" in m for m in state["hunt"]["messages"]), state["hunt"]
    assert state["report"]["status"] == "done" and state["manual"]["status"] == "done"
    assert "s3:GetObject" in run.out and "The other steps go on" in run.out


def test_resume_without_case_picks_the_newest_guided_case_of_the_account(tmp_path: Path) -> None:
    account = "".join(RNG.choice(string.digits) for _ in range(12))
    other = "".join(RNG.choice(string.digits) for _ in range(12))
    me = CallerIdentity(account_id=account, arn=f"arn:aws:iam::{account}:user/responder", user_id="AIDA", alias=None)
    older, newer, unguided = (tmp_path / f"{account}-2026010{n}T000000Z" for n in (1, 2, 3))
    for root in (older, newer):
        case = Case.create(root, account_id=account, caller_arn=me.arn)
        save_state(case, new_state(account, None))
        time.sleep(0.02)
    Case.create(unguided, account_id=account, caller_arn=me.arn)  # no respond/state.json: not a guided case
    Case.create(tmp_path / f"{other}-20260104T000000Z", account_id=other, caller_arn=me.arn)
    assert open_case(me, RespondOptions(resume=True, cases_root=tmp_path)).root == newer
    with pytest.raises(UsageError, match="no guided response"):
        open_case(me, RespondOptions(resume=True, cases_root=tmp_path / "empty"))
    fresh = open_case(me, RespondOptions(cases_root=tmp_path))
    assert fresh.root.parent == tmp_path and fresh.root not in (older, newer, unguided)


def test_the_security_contact_from_the_file_is_set_through_a_plan(world: World) -> None:
    account = world.server.factory().client("account", "us-east-1")
    contact = account.get_alternate_contact(AlternateContactType="SECURITY")["AlternateContact"]
    assert (contact["Name"], contact["EmailAddress"], contact["PhoneNumber"], contact["Title"]) == (
        SECURITY_CONTACT["name"], SECURITY_CONTACT["email"], SECURITY_CONTACT["phone"], SECURITY_CONTACT["title"])
    assert "account.put-alternate-contact" in world.runs["skip"].out
