"""ASFF (AWS Security Finding Format, SchemaVersion 2018-10-08) for Security Hub BatchImportFindings.

The pydantic models carry the API's limits (AwsSecurityFinding in the Security Hub API reference):
Id and GeneratorId 1-512, Title 1-256, Description 1-1024, Recommendation.Text 1-512, Severity.Original
1-64, at most 32 resources and 50 types, ProductFields at most 50 pairs with keys up to 128 and values up
to 2048 characters, every string non-blank. Texts are cut to fit, never rejected.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from awsrespond.findings import Classification, Finding, Severity
from awsrespond.report.casedata import CaseData, FindingStatus, ReportFinding
from awsrespond.report.exports.common import describe, partition
from awsrespond.report.exports.mitre import tactic
from awsrespond.textsafe import one_line
from awsrespond.timeutil import iso, now_utc

SCHEMA_VERSION = "2018-10-08"
PRODUCT_FIELD_PREFIX = "awsrespond/"
DEFAULT_REGION = "us-east-1"
_NON_BLANK = r"^[\s\S]*\S[\s\S]*$"

Text = Annotated[str, StringConstraints(min_length=1, pattern=_NON_BLANK)]
Id512 = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=_NON_BLANK)]
Timestamp = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")]

RESOURCE_TYPES: dict[str, str] = {
    "AWS::IAM::User": "AwsIamUser",
    "AWS::IAM::Role": "AwsIamRole",
    "AWS::IAM::AccessKey": "AwsIamAccessKey",
    "AWS::IAM::Group": "AwsIamGroup",
    "AWS::IAM::ManagedPolicy": "AwsIamPolicy",
    "AWS::EC2::Instance": "AwsEc2Instance",
    "AWS::EC2::SecurityGroup": "AwsEc2SecurityGroup",
    "AWS::EC2::Volume": "AwsEc2Volume",
    "AWS::EC2::VPC": "AwsEc2Vpc",
    "AWS::EC2::LaunchTemplate": "AwsEc2LaunchTemplate",
    "AWS::Lambda::Function": "AwsLambdaFunction",
    "AWS::CloudTrail::Trail": "AwsCloudTrailTrail",
    "AWS::S3::Bucket": "AwsS3Bucket",
}
SEVERITY_LABEL: dict[Severity, str] = {
    Severity.INFO: "INFORMATIONAL", Severity.LOW: "LOW", Severity.MEDIUM: "MEDIUM",
    Severity.HIGH: "HIGH", Severity.CRITICAL: "CRITICAL",
}
_ARN_FORMATS: dict[str, str] = {
    "AWS::EC2::Instance": "arn:{p}:ec2:{r}:{a}:instance/{i}",
    "AWS::EC2::SecurityGroup": "arn:{p}:ec2:{r}:{a}:security-group/{i}",
    "AWS::EC2::Volume": "arn:{p}:ec2:{r}:{a}:volume/{i}",
    "AWS::EC2::VPC": "arn:{p}:ec2:{r}:{a}:vpc/{i}",
    "AWS::EC2::KeyPair": "arn:{p}:ec2:{r}:{a}:key-pair/{i}",
    "AWS::EC2::LaunchTemplate": "arn:{p}:ec2:{r}:{a}:launch-template/{i}",
    "AWS::Lambda::Function": "arn:{p}:lambda:{r}:{a}:function:{i}",
    "AWS::CloudTrail::Trail": "arn:{p}:cloudtrail:{r}:{a}:trail/{i}",
    "AWS::S3::Bucket": "arn:{p}:s3:::{i}",
}
_TYPE_CLASSIFIER = re.compile(r"[^A-Za-z0-9 ._:+=@,()-]+")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AsffSeverity(Strict):
    Label: Literal["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
    Original: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AsffRecommendation(Strict):
    Text: Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=_NON_BLANK)]


class AsffRemediation(Strict):
    Recommendation: AsffRecommendation


class AsffResourceDetails(Strict):
    Other: dict[Annotated[str, StringConstraints(min_length=1, max_length=127)],
                Annotated[str, StringConstraints(min_length=1, max_length=1023)]] = Field(max_length=50)


class AsffResource(Strict):
    Type: Annotated[str, StringConstraints(min_length=1, pattern=r"^[A-Za-z0-9]+$")]
    Id: Id512
    Partition: Literal["aws", "aws-cn", "aws-us-gov"]
    Region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")] | None = None
    Details: AsffResourceDetails | None = None


class AsffWorkflow(Strict):
    Status: Literal["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"]


class AsffFinding(Strict):
    """One AwsSecurityFinding as sent to BatchImportFindings."""

    SchemaVersion: Literal["2018-10-08"] = "2018-10-08"
    Id: Id512
    ProductArn: Annotated[str, StringConstraints(
        pattern=r"^arn:aws(-cn|-us-gov)?:securityhub:[a-z0-9-]+:\d{12}:product/\d{12}/default$")]
    GeneratorId: Id512
    AwsAccountId: Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
    Types: list[Annotated[str, StringConstraints(min_length=1, pattern=r"^[^/]+/[^/]+(/[^/]+)?$")]] = Field(
        min_length=1, max_length=50)
    CreatedAt: Timestamp
    UpdatedAt: Timestamp
    FirstObservedAt: Timestamp | None = None
    LastObservedAt: Timestamp | None = None
    Severity: AsffSeverity
    Title: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=_NON_BLANK)]
    Description: Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=_NON_BLANK)]
    Remediation: AsffRemediation | None = None
    ProductFields: dict[Annotated[str, StringConstraints(min_length=1, max_length=128)],
                        Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=_NON_BLANK)]] = (
        Field(default_factory=dict, max_length=50))
    Resources: list[AsffResource] = Field(min_length=1, max_length=32)
    Workflow: AsffWorkflow
    RecordState: Literal["ACTIVE", "ARCHIVED"] = "ACTIVE"

    @field_validator("Types")
    @classmethod
    def _types_namespace(cls, value: list[str]) -> list[str]:
        namespaces = ("Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors",
                      "Sensitive Data Identifications")
        for item in value:
            if item.split("/", 1)[0] not in namespaces:
                raise ValueError(f"finding type {item!r} is not in an ASFF namespace")
        return value


def product_arn(region: str, account_id: str, part: str = "aws") -> str:
    return f"arn:{part}:securityhub:{region}:{account_id}:product/{account_id}/default"


def _ts(value: datetime) -> str:
    text = iso(value)
    assert text is not None
    return text


def _cut(value: object, limit: int) -> str:
    return one_line(value, limit) or "-"


def _classifier(text: str) -> str:
    return _TYPE_CLASSIFIER.sub("_", one_line(text, 200)).strip() or "finding"


def finding_types(f: Finding) -> list[str]:
    out: list[str] = []
    for technique in f.mitre:
        known = tactic(technique)
        if known is not None:
            out.append(f"{known[1]}/{_classifier(technique)}")
    if f.classification is Classification.POSTURE:
        out.append(f"Software and Configuration Checks/AWS Security Best Practices/{_classifier(f.rule)}")
    elif not out:
        out.append(f"Unusual Behaviors/User/{_classifier(f.rule)}")
    return list(dict.fromkeys(out))[:50]


def _region(value: str | None) -> str | None:
    return value if value and re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", value) else None


def _resource(rtype: str, rid: str, region: str, arn: str | None, account: str, part: str) -> AsffResource:
    asff_type = RESOURCE_TYPES.get(rtype, "Other")
    reg = _region(region)
    if not arn and rtype in _ARN_FORMATS and (reg or rtype == "AWS::S3::Bucket"):
        arn = _ARN_FORMATS[rtype].format(p=part, r=reg, a=account, i=rid)
    details = None
    if asff_type == "Other":
        details = AsffResourceDetails(Other={"Type": _cut(rtype, 1023), "Id": _cut(rid, 1023)})
    return AsffResource(Type=asff_type, Id=_cut(arn or rid, 512), Partition=part,  # type: ignore[arg-type]
                        Region=reg, Details=details)


def _resources(f: Finding, account: str, part: str) -> list[AsffResource]:
    r = f.resource
    out = [_resource(r.type, r.id, r.region, r.arn, account, part)]
    if f.access_key_id and not (r.type == "AWS::IAM::AccessKey" and r.id == f.access_key_id):
        out.append(_resource("AWS::IAM::AccessKey", f.access_key_id, "global", None, account, part))
    if f.principal and f.principal.startswith("arn:") and ":user/" in f.principal and f.principal != r.arn:
        out.append(_resource("AWS::IAM::User", f.principal.rsplit("/", 1)[-1], "global", f.principal, account, part))
    return out[:32]


def _product_fields(item: ReportFinding, data: CaseData) -> dict[str, str]:
    f = item.finding
    values: dict[str, object] = {
        "Rule": f.rule, "Classification": f.classification.value, "Status": item.status.value,
        "ResourceType": f.resource.type, "ResourceId": f.resource.id, "Principal": f.principal,
        "AccessKeyId": f.access_key_id, "SourceIp": f.source_ip, "Count": f.count,
        "Mitre": " ".join(f.mitre), "EventIds": " ".join(f.event_ids), "CaseId": data.case_id,
    }
    return {PRODUCT_FIELD_PREFIX + k: one_line(v, 2048) for k, v in values.items()
            if v is not None and one_line(v, 2048).strip()}


def asff_finding(item: ReportFinding, data: CaseData, region: str, generated: datetime) -> AsffFinding:
    f = item.finding
    part = partition(data)
    created = f.first_seen or f.created or generated
    return AsffFinding(
        Id=_cut(f"awsrespond/{data.account_id}/{f.id}", 512),
        ProductArn=product_arn(region, data.account_id, part),
        GeneratorId=_cut(f"awsrespond/{f.rule}", 512),
        AwsAccountId=data.account_id,
        Types=finding_types(f),
        CreatedAt=_ts(created),
        UpdatedAt=_ts(generated),
        FirstObservedAt=iso(f.first_seen),
        LastObservedAt=iso(f.last_seen),
        Severity=AsffSeverity(Label=SEVERITY_LABEL[f.severity],  # type: ignore[arg-type]
                              Original=f.severity.value),
        Title=_cut(f.title, 256),
        Description=describe(item, 1024) or "-",
        Remediation=(AsffRemediation(Recommendation=AsffRecommendation(Text=_cut(f.recommendation, 512)))
                     if f.recommendation.strip() else None),
        ProductFields=_product_fields(item, data),
        Resources=_resources(f, data.account_id, part),
        Workflow=AsffWorkflow(Status="RESOLVED" if item.status is FindingStatus.CONTAINED else "NEW"),
    )


def default_region(data: CaseData) -> str:
    """The CloudTrail home region the case saw (a multi-region trail first), else us-east-1."""
    try:
        triage = json.loads((data.root / "triage.json").read_bytes())
    except (OSError, ValueError):
        return DEFAULT_REGION
    trails = ((triage.get("inventory") or {}).get("AWS::CloudTrail::Trail") or []) if isinstance(triage, dict) else []
    found = [(not bool((t.get("data") or {}).get("is_multi_region")), str((t.get("data") or {}).get("home_region")))
             for t in trails if isinstance(t, dict) and _region((t.get("data") or {}).get("home_region"))]
    return min(found)[1] if found else DEFAULT_REGION


def asff_findings(data: CaseData, region: str | None = None) -> list[AsffFinding]:
    generated = now_utc()
    target = region or default_region(data)
    return [asff_finding(item, data, target, generated) for item in data.findings]


def asff_documents(findings: list[AsffFinding]) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json", exclude_none=True) for f in findings]


def render_asff(data: CaseData, region: str | None = None) -> str:
    return json.dumps(asff_documents(asff_findings(data, region)), indent=2, ensure_ascii=False) + "\n"
