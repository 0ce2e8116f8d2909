"""The built-in Sigma rule pack (src/awsrespond/hunt/rules) through the awsrespond.sigma engine.

(a) every rule file loads with no problem; (b) each behaviour of issue 3 has positive events the
expected rule must hit and near misses it must not (tests/rule_pack_events.py, every identifying
value drawn from a seed); (c) every behaviour maps to rules that exist and has both kinds of test
event; (d) routine activity of a busy account raises nothing at medium or above; (e) every Stratus
detonation in ../shared/corpus is found at medium or above by the rule meant for it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from awsrespond.findings import Severity
from awsrespond.sigma import HuntRule, RuleSet, builtin_rules_dir, load_rules, match_rules
from awsrespond.trail import EventStore, TrailFile, read_trail_file
from tests.conftest import CORPUS
from tests.rule_pack_events import CASES, Case, Record, Scene

# The behaviours the issue asks the pack to cover, each with the rules (by ``name``) that cover it.
BEHAVIOURS: dict[str, tuple[str, ...]] = {
    "root_console_login": ("aws_console_login_root",),
    "console_login_without_mfa": ("aws_console_login_without_mfa",),
    "failed_console_login": ("aws_console_login_failed",),
    "create_user": ("aws_iam_create_user",),
    "create_login_profile": ("aws_iam_create_login_profile",),
    "update_login_profile": ("aws_iam_update_login_profile",),
    "access_key_for_other_user": ("aws_iam_create_access_key_other_user", "aws_iam_create_root_access_key"),
    "admin_managed_policy": ("aws_iam_attach_admin_policy", "aws_iam_attach_poweruser_policy"),
    "admin_inline_policy": ("aws_iam_inline_admin_policy",),
    "create_policy_version": (
        "aws_iam_create_policy_version_admin",
        "aws_iam_create_policy_version_default",
        "aws_iam_policy_version_change",
    ),
    "role_trust": ("aws_iam_role_trust_any_principal", "aws_iam_role_trust_aws_principal"),
    "add_user_to_group": ("aws_iam_add_user_to_admin_group", "aws_iam_add_user_to_group"),
    "roles_anywhere": ("aws_rolesanywhere_trust_anchor", "aws_rolesanywhere_profile"),
    "federation_session_tokens": ("aws_sts_get_federation_token_iam_user", "aws_sts_get_session_token_iam_user"),
    "cloudtrail_tampering": (
        "aws_cloudtrail_stop_logging",
        "aws_cloudtrail_delete_trail",
        "aws_cloudtrail_update_trail",
        "aws_cloudtrail_event_selectors_exclude_management",
        "aws_cloudtrail_selectors_changed",
    ),
    "guardduty_tampering": (
        "aws_guardduty_delete_detector",
        "aws_guardduty_disable_detector",
        "aws_guardduty_member_disassociation",
        "aws_guardduty_members_removed",
        "aws_guardduty_trusted_ip_set",
        "aws_guardduty_suppression_filter",
    ),
    "flow_logs_deleted": ("aws_ec2_delete_flow_logs",),
    "config_stopped": ("aws_config_recorder_stopped", "aws_config_delivery_channel_deleted"),
    "gpu_large_instances": ("aws_ec2_gpu_instances", "aws_ec2_large_instances"),
    "spot_requests": ("aws_ec2_spot_request",),
    "failed_run_instances_burst": ("aws_ec2_run_instances_failed_burst",),
    "snapshot_ami_sharing": (
        "aws_ec2_snapshot_public",
        "aws_ec2_snapshot_shared",
        "aws_ec2_image_public",
        "aws_ec2_image_shared",
    ),
    "db_snapshot_sharing": ("aws_rds_snapshot_public", "aws_rds_snapshot_shared"),
    "s3_bucket_policy_public": ("aws_s3_bucket_policy_public", "aws_s3_bucket_policy_any_principal_scoped"),
    "s3_acl_public": ("aws_s3_acl_public",),
    "public_access_block_removed": (
        "aws_s3_delete_bucket_public_access_block",
        "aws_s3_delete_account_public_access_block",
    ),
    "secret_burst": ("aws_secretsmanager_secret_burst",),
    "batch_get_secret_value": ("aws_secretsmanager_batch_get_secret_value",),
    "ssm_parameter_decryption": (
        "aws_ssm_parameter_decrypted",
        "aws_ssm_parameter_decrypt_burst",
        "aws_ssm_parameter_bulk_decrypt",
    ),
    "get_password_data": ("aws_ec2_get_password_data",),
    "user_data_read": ("aws_ec2_user_data_read", "aws_ec2_user_data_read_burst"),
    "user_data_modified": ("aws_ec2_user_data_modified",),
    "ssm_send_command": ("aws_ssm_send_command", "aws_ssm_send_command_shell"),
    "ssm_start_session": ("aws_ssm_start_session",),
    "instance_connect": (
        "aws_ec2_instance_connect_ssh_key",
        "aws_ec2_serial_console_ssh_key",
        "aws_ec2_enable_serial_console",
    ),
    "lambda_create_update": ("aws_lambda_create_function", "aws_lambda_update_function_code"),
    "lambda_public_permission": ("aws_lambda_public_permission", "aws_lambda_public_function_url"),
    "lambda_layers": ("aws_lambda_publish_layer_version", "aws_lambda_public_layer_permission"),
    "bedrock_invocation": ("aws_bedrock_invoke_model",),
    "bedrock_model_access": ("aws_bedrock_model_access_change", "aws_bedrock_delete_invocation_logging"),
    "bedrock_probing": ("aws_bedrock_model_probing", "aws_bedrock_model_probing_burst"),
    "ses_probing": ("aws_ses_probing", "aws_ses_probing_burst"),
    "ses_sending": ("aws_ses_enable_sending", "aws_ses_identity_created"),
    "leave_organization": ("aws_organizations_leave",),
    "compromised_key_quarantine": ("aws_iam_compromised_key_quarantine",),
}

# Seed suffix: set AWSRESPOND_RULE_SEED to draw other names, regions, agents and accounts.
SEED = os.environ.get("AWSRESPOND_RULE_SEED", "rule-pack")
MEDIUM_OR_ABOVE = {Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL}


def _documents() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(builtin_rules_dir().glob("*.yml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            yield path, document


def _ids_by_name() -> dict[str, str]:
    return {document["name"]: str(document["id"]) for _, document in _documents()}


@pytest.fixture(scope="module")
def pack() -> RuleSet:
    return load_rules([builtin_rules_dir()], include_builtin=False)


@pytest.fixture(scope="module")
def ids() -> dict[str, str]:
    return _ids_by_name()


def hits(records: Sequence[Record], rules: Sequence[HuntRule]) -> dict[str, list[int]]:
    """Rule id -> rowids of the events it matched, for these records alone."""
    store = EventStore()
    try:
        store.load([TrailFile(path="rule-pack-test", records=list(records))])
        return {rule: rows for rule, rows in match_rules(store.db, rules).items() if rows}
    finally:
        store.db.close()


# -- (a) loading -----------------------------------------------------------------------------------


def test_every_rule_file_loads_without_problems(pack: RuleSet) -> None:
    assert pack.problems == []
    documents = list(_documents())
    assert len({str(d["id"]) for _, d in documents}) == len(documents), "rule ids must be unique"
    assert len({d["name"] for _, d in documents}) == len(documents), "rule names must be unique"
    # Base rules of correlations without generate: true do not run on their own.
    silenced = {
        base
        for _, d in documents
        if "correlation" in d and not d["correlation"].get("generate")
        for base in d["correlation"]["rules"]
    }
    loaded = {rule.id for rule in pack.rules}
    ids = _ids_by_name()
    assert loaded == {str(d["id"]) for _, d in documents if d["name"] not in silenced}
    assert {ids[name] for name in silenced}.isdisjoint(loaded)


def test_every_rule_is_complete() -> None:
    for path, document in _documents():
        where = f"{path.name}: {document.get('name')}"
        for key in ("title", "id", "name", "description", "level", "tags", "falsepositives", "recommendation"):
            assert document.get(key), f"{where} has no {key}"
        assert document["author"] == "awsrespond", where
        assert document["level"] in ("informational", "low", "medium", "high", "critical"), where
        tags = document["tags"]
        assert any(tag.startswith("attack.t") and tag[8:9].isdigit() for tag in tags), f"{where}: no ATT&CK technique"
        assert any(tag.startswith("attack.") and not tag[8:9].isdigit() for tag in tags), f"{where}: no tactic"
        if "correlation" not in document:
            assert document["logsource"] == {"product": "aws", "service": "cloudtrail"}, where
        recommendation = document["recommendation"].strip()
        assert recommendation.endswith(".") and recommendation.count(". ") == 0, f"{where}: one sentence"


# -- (b) positive and near-miss events -------------------------------------------------------------


def _scene_key(item: Case) -> str:
    """Cases registered on the same builder under the same behaviour and label share their events."""
    return f"{SEED}/{item.behaviour}/{item.label}"


@pytest.fixture(scope="module")
def case_hits(pack: RuleSet) -> dict[str, set[str]]:
    """Scene key -> ids of the rules that hit its events. Every scene's events go into ONE store, which
    is safe: each scene draws its own account, principals and access keys, so no correlation group
    (principal ARN, access key) spans two scenes, and event rules look at one event at a time."""
    owners: dict[str, str] = {}
    records: list[Record] = []
    for item in CASES:
        key = _scene_key(item)
        if key in owners.values():
            continue
        built = item.build(Scene(key))
        assert built, item.label
        for record in built:
            assert record["eventID"] not in owners, f"{item.label}: event id drawn twice"
            owners[record["eventID"]] = key
        records.extend(built)
    store = EventStore()
    try:
        store.load([TrailFile(path="rule-pack-cases", records=records)])
        event_ids = dict(store.db.execute("SELECT rowid, eventID FROM events").fetchall())
        found: dict[str, set[str]] = {key: set() for key in owners.values()}
        for rule_id, rows in match_rules(store.db, pack.rules).items():
            for row in rows:
                found[owners[event_ids[row]]].add(rule_id)
        return found
    finally:
        store.db.close()


@pytest.mark.parametrize("item", CASES, ids=[f"{c.rule}:{'hit' if c.hit else 'miss'}:{c.label}" for c in CASES])
def test_rule_on_events(item: Case, case_hits: dict[str, set[str]], ids: dict[str, str]) -> None:
    found = case_hits[_scene_key(item)]
    names = sorted(name for name, rid in ids.items() if rid in found)
    if item.hit:
        assert ids[item.rule] in found, f"{item.rule} missed {item.label!r}; rules that hit: {names}"
    else:
        assert ids[item.rule] not in found, f"{item.rule} hit the near miss {item.label!r}"


# -- (c) coverage ----------------------------------------------------------------------------------


def test_every_behaviour_has_rules_and_both_kinds_of_event(ids: dict[str, str]) -> None:
    problems: list[str] = []
    for behaviour, rules in BEHAVIOURS.items():
        if not rules:
            problems.append(f"{behaviour}: no rule")
        problems += [f"{behaviour}: rule {name} is not in the pack" for name in rules if name not in ids]
        cases = [c for c in CASES if c.behaviour == behaviour]
        if not any(c.hit for c in cases):
            problems.append(f"{behaviour}: no positive event")
        if not any(not c.hit for c in cases):
            problems.append(f"{behaviour}: no near-miss event")
        problems += [
            f"{behaviour}: {name} has no positive event"
            for name in rules
            if not any(c.hit and c.rule == name for c in cases)
        ]
    problems += [
        f"case {c.label!r} names behaviour {c.behaviour}, not in the list"
        for c in CASES
        if c.behaviour not in BEHAVIOURS
    ]
    problems += [
        f"case {c.label!r}: rule {c.rule} is not one of {c.behaviour}'s"
        for c in CASES
        if c.behaviour in BEHAVIOURS and c.rule not in BEHAVIOURS[c.behaviour]
    ]
    assert problems == []


def test_every_rule_serves_a_behaviour(ids: dict[str, str]) -> None:
    correlation_bases = {"aws_ec2_run_instances_failed", "aws_secretsmanager_get_secret_value"}
    covered = {name for rules in BEHAVIOURS.values() for name in rules} | correlation_bases
    assert set(ids) - covered == set()


# -- (d) routine activity --------------------------------------------------------------------------


def routine_activity(scene: Scene) -> list[Record]:
    """A few hours of a busy account's ordinary work: CI deploying Lambda through GitHub OIDC,
    applications reading their parameters and secrets, developers launching small instances,
    Terraform creating service roles, backups, autoscaling, people signing in with MFA."""
    s = scene
    records: list[Record] = []
    ci = s.role("github-deploy", s.name("GitHubActions"), web_identity=True)
    terraform = s.role("terraform-apply", s.name("GitHubActions"), web_identity=True)
    app = s.role("orders-api-task", s.hex_id("", 32))
    worker = s.role("billing-worker", s.hex_id("i-"))
    developers = [s.user(s.name("dev")) for _ in range(3)]
    autoscaling = s.service_role("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling")
    backup = s.role("AWSBackupDefaultServiceRole", "AWSBackup-" + s.hex_id("", 8), invoked_by="backup.amazonaws.com")
    secrets = [
        f"arn:aws:secretsmanager:{s.region}:{s.account}:secret:{s.name('prod')}-{s.hex_id('', 6)}" for _ in range(2)
    ]
    parameters = [f"/orders/prod/{s.word()}" for _ in range(3)]

    for minute in range(0, 240):
        records.append(
            s.call("secretsmanager", "GetSecretValue", app, {"secretId": secrets[minute % 2]}, minutes=minute)
        )
        if minute % 4 == 0:
            records.append(
                s.call(
                    "ssm",
                    "GetParameter",
                    worker,
                    {"name": parameters[minute % 3], "withDecryption": True},
                    minutes=minute,
                )
            )
        if minute % 10 == 0:
            records.append(
                s.call(
                    "ssm",
                    "GetParametersByPath",
                    app,
                    {"path": "/orders/prod", "recursive": True, "withDecryption": True},
                    minutes=minute,
                )
            )
            records.append(s.call("sts", "GetCallerIdentity", worker, None, minutes=minute))
            records.append(
                s.call(
                    "bedrock", "InvokeModel", app, {"modelId": "anthropic.claude-3-haiku-20240307-v1:0"}, minutes=minute
                )
            )
    for deploy in range(6):
        at = 30.0 * deploy
        records.append(
            s.call(
                "sts",
                "AssumeRoleWithWebIdentity",
                ci,
                {"roleArn": f"arn:aws:iam::{s.account}:role/github-deploy", "roleSessionName": "gha"},
                minutes=at,
            )
        )
        for function in ("orders-api", "orders-worker"):
            records.append(
                s.call(
                    "lambda",
                    "UpdateFunctionCode20150331v2",
                    ci,
                    {"functionName": function, "publish": True},
                    minutes=at + 1,
                )
            )
            records.append(s.call("lambda", "PublishVersion20150331", ci, {"functionName": function}, minutes=at + 2))
            records.append(
                s.call("lambda", "UpdateAlias20150331", ci, {"functionName": function, "name": "live"}, minutes=at + 2)
            )
        records.append(
            s.call("lambda", "PublishLayerVersion20181031", ci, {"layerName": "orders-deps"}, minutes=at + 1)
        )
    for i, developer in enumerate(developers):
        records.append(s.console_login(developer, mfa=True, minutes=5 + i))
        records.append(s.call("sts", "GetSessionToken", developer, {"durationSeconds": 43200}, minutes=6 + i))
        kind = s.rng.choice(("t3.micro", "t3.small", "t4g.medium", "m6i.large"))
        records.append(
            s.call(
                "ec2",
                "RunInstances",
                developer,
                {
                    "instanceType": kind,
                    "instancesSet": {"items": [{"imageId": s.hex_id("ami-"), "minCount": 1, "maxCount": 1}]},
                },
                minutes=20 + i,
            )
        )
        records.append(s.call("ec2", "DescribeInstances", developer, {"instancesSet": {}}, minutes=21 + i))
        records.append(s.call("ssm", "StartSession", developer, {"target": s.hex_id("i-")}, minutes=22 + i))
    role_name = s.name("orders-lambda")
    service_trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    )
    records.append(
        s.call(
            "iam",
            "CreateRole",
            terraform,
            {"roleName": role_name, "assumeRolePolicyDocument": service_trust},
            minutes=60,
        )
    )
    for managed in ("service-role/AWSLambdaBasicExecutionRole", "AWSXRayDaemonWriteAccess"):
        records.append(
            s.call(
                "iam",
                "AttachRolePolicy",
                terraform,
                {"roleName": role_name, "policyArn": f"arn:aws:iam::aws:policy/{managed}"},
                minutes=60,
            )
        )
    records.append(
        s.call(
            "iam",
            "PutRolePolicy",
            terraform,
            {
                "roleName": role_name,
                "policyName": "tables",
                "policyDocument": '{"Version":"2012-10-17","Statement":[{"Action":["dynamodb:GetItem",'
                '"dynamodb:PutItem"],"Effect":"Allow","Resource":"*"}]}',
            },
            minutes=61,
        )
    )
    records.append(
        s.call(
            "lambda",
            "CreateFunction20150331",
            terraform,
            {"functionName": s.name("fn"), "role": f"arn:aws:iam::{s.account}:role/{role_name}"},
            minutes=62,
        )
    )
    records.append(
        s.call(
            "s3",
            "PutBucketPolicy",
            terraform,
            {
                "bucketName": s.name("assets"),
                "bucketPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": "*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
            minutes=63,
        )
    )
    records.append(
        s.call(
            "ec2", "RunInstances", terraform, {"instanceType": "t3.medium"}, error="Client.DryRunOperation", minutes=64
        )
    )
    for hour in range(4):
        records.append(
            s.call(
                "ec2",
                "CreateSnapshot",
                backup,
                {"volumeId": s.hex_id("vol-")},
                agent="backup.amazonaws.com",
                ip="backup.amazonaws.com",
                minutes=hour * 60 + 1,
            )
        )
        records.append(
            s.call(
                "ec2",
                "RunInstances",
                autoscaling,
                {
                    "instanceType": "m5.large",
                    "instanceMarketOptions": None,
                    "instancesSet": {"items": [{"minCount": 1, "maxCount": 1}]},
                },
                agent="autoscaling.amazonaws.com",
                ip="autoscaling.amazonaws.com",
                minutes=hour * 60 + 7,
            )
        )
        records.append(
            s.call(
                "ec2",
                "TerminateInstances",
                autoscaling,
                {"instancesSet": {}},
                agent="autoscaling.amazonaws.com",
                ip="autoscaling.amazonaws.com",
                minutes=hour * 60 + 50,
            )
        )
    return records


def test_routine_activity_raises_nothing_at_medium_or_above(pack: RuleSet, ids: dict[str, str]) -> None:
    records = routine_activity(Scene(f"{SEED}/routine"))
    found = hits(records, pack.rules)
    by_id = pack.by_id()
    names = {rid: name for name, rid in ids.items()}
    loud = sorted(names[rid] for rid in found if by_id[rid].level in MEDIUM_OR_ABOVE)
    assert loud == [], f"routine activity raised {loud}"
    # The rules did run: the routine calls they watch at low or informational level were seen.
    quiet = {names[rid] for rid in found}
    assert {"aws_lambda_update_function_code", "aws_ssm_parameter_decrypted", "aws_bedrock_invoke_model"} <= quiet
    covered = len({row for rid, rows in found.items() for row in rows})
    print(f"\nroutine sample: {len(records)} events, {covered} matched by low/informational rules, 0 at medium+")


# -- (e) Stratus detonations -----------------------------------------------------------------------

STRATUS = CORPUS / "stratus"
STRATUS_EXPECTED = {
    "aws.credential-access.ec2-get-password-data.json": "aws_ec2_get_password_data",
    "aws.credential-access.secretsmanager-retrieve-secrets.json": "aws_secretsmanager_secret_burst",
    "aws.defense-evasion.cloudtrail-stop.json": "aws_cloudtrail_stop_logging",
    "aws.discovery.ec2-download-user-data.json": "aws_ec2_user_data_read_burst",
    "aws.execution.ec2-launch-unusual-instances.json": "aws_ec2_gpu_instances",
    "aws.exfiltration.ec2-share-ebs-snapshot.json": "aws_ec2_snapshot_shared",
    "aws.impact.bedrock-invoke-model.json": "aws_bedrock_model_access_change",
    "aws.initial-access.console-login-without-mfa.json": "aws_console_login_without_mfa",
    "aws.lateral-movement.ec2-instance-connect.json": "aws_ec2_instance_connect_ssh_key",
    "aws.persistence.iam-create-admin-user.json": "aws_iam_attach_admin_policy",
    "aws.persistence.lambda-backdoor-function.json": "aws_lambda_public_permission",
}


@pytest.mark.skipif(not STRATUS.is_dir(), reason="../shared/corpus/stratus is not present")
def test_stratus_detonations_are_found_at_medium_or_above(pack: RuleSet, ids: dict[str, str]) -> None:
    files = sorted(p.name for p in STRATUS.glob("aws.*.json"))
    assert set(files) == set(STRATUS_EXPECTED), "a Stratus file without an expected rule (or the reverse)"
    by_id = pack.by_id()
    names = {rid: name for name, rid in ids.items()}
    trails = [read_trail_file(STRATUS / name) for name in files]
    assert [problem for trail in trails for problem in trail.problems] == []
    # One store for all detonations: each ran in its own (anonymised) account, so no correlation
    # group spans two files; ``source`` tells which file an event came from.
    store = EventStore()
    try:
        store.load(trails)
        sources = dict(store.db.execute("SELECT rowid, source FROM events").fetchall())
        found: dict[str, set[str]] = {name: set() for name in files}
        for rule_id, rows in match_rules(store.db, pack.rules).items():
            for row in rows:
                found[Path(sources[row]).name].add(rule_id)
    finally:
        store.db.close()
    missed: list[str] = []
    levels: Counter[str] = Counter()
    for name in files:
        expected = ids[STRATUS_EXPECTED[name]]
        if expected not in found[name] or by_id[expected].level not in MEDIUM_OR_ABOVE:
            missed.append(
                f"{name}: {STRATUS_EXPECTED[name]} did not hit; hits: {sorted(names[r] for r in found[name])}"
            )
        levels.update(by_id[r].level.value for r in found[name])
    assert missed == []
    print(f"\nstratus: {len(files)} detonations found at medium or above; rule hits by level {dict(levels)}")
