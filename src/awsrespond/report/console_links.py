"""Links from a finding to the AWS console page where a responder checks it.

Every part that came from the account (names, ids, access key ids) is percent-encoded with
``quote(..., safe="")``, so it cannot break out of its path segment or query value; a region that
is not shaped like one is not put in a host name at all. The HTML template escapes the result again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from awsrespond.findings import Finding

CONSOLE = "https://console.aws.amazon.com"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_USER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/(?:.*/)?([^/]+)$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/(?:.*/)?([^/]+)$")
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class ConsoleLink:
    label: str  # catalog key under "link."
    url: str


def _q(value: str) -> str:
    return quote(value, safe="")


def valid_region(region: str | None) -> str | None:
    return region if region and _REGION.match(region) else None


def _regional(region: str | None, service: str, fragment: str) -> str:
    r = valid_region(region) or DEFAULT_REGION
    return f"https://{r}.console.aws.amazon.com/{service}/home?region={r}#{fragment}"


def iam_user(name: str) -> ConsoleLink:
    return ConsoleLink("iam_user", f"{CONSOLE}/iam/home#/users/details/{_q(name)}")


def iam_user_credentials(name: str) -> ConsoleLink:
    return ConsoleLink("access_key", f"{CONSOLE}/iam/home#/users/details/{_q(name)}?section=security_credentials")


def iam_role(name: str) -> ConsoleLink:
    return ConsoleLink("iam_role", f"{CONSOLE}/iam/home#/roles/details/{_q(name)}")


def iam_policy(arn: str) -> ConsoleLink:
    return ConsoleLink("iam_policy", f"{CONSOLE}/iam/home#/policies/details/{_q(arn)}")


def ec2_instance(instance_id: str, region: str) -> ConsoleLink:
    return ConsoleLink("ec2_instance", _regional(region, "ec2", f"InstanceDetails:instanceId={_q(instance_id)}"))


def security_group(group_id: str, region: str) -> ConsoleLink:
    return ConsoleLink("security_group", _regional(region, "ec2", f"SecurityGroup:groupId={_q(group_id)}"))


def key_pair(name: str, region: str) -> ConsoleLink:
    return ConsoleLink("key_pair", _regional(region, "ec2", f"KeyPairs:search={_q(name)}"))


def spot_request(request_id: str, region: str) -> ConsoleLink:
    return ConsoleLink("spot_request", _regional(region, "ec2", f"SpotInstances:search={_q(request_id)}"))


def lambda_function(name: str, region: str) -> ConsoleLink:
    return ConsoleLink("lambda_function", _regional(region, "lambda", f"/functions/{_q(name)}"))


def cloudtrail_events(access_key_id: str, region: str | None) -> ConsoleLink:
    """CloudTrail event history of one region, filtered by access key (the LookupEvents AccessKeyId attribute)."""
    return ConsoleLink("cloudtrail_events", _regional(region, "cloudtrail", f"/events?AccessKeyId={_q(access_key_id)}"))


def cloudtrail_trails() -> ConsoleLink:
    return ConsoleLink("cloudtrail_trails", f"{CONSOLE}/cloudtrail/home#/trails")


def bills() -> ConsoleLink:
    return ConsoleLink("bills", f"{CONSOLE}/billing/home#/bills")


def cost_explorer() -> ConsoleLink:
    return ConsoleLink("cost_explorer", f"{CONSOLE}/cost-management/home#/cost-explorer")


def guardduty(region: str) -> ConsoleLink:
    return ConsoleLink("guardduty", _regional(region, "guardduty", "/summary"))


def _user_name(finding: Finding) -> str | None:
    for candidate in (finding.details.get("user"), finding.details.get("user_name")):
        if isinstance(candidate, str) and candidate:
            return candidate
    if finding.access_key_id != finding.resource.id:
        return None  # the principal is whoever created the key, not necessarily its user
    match = _USER_ARN.match(finding.principal or "")
    return match.group(1) if match else None


def _name_from_arn(arn: str | None, pattern: re.Pattern[str]) -> str | None:
    match = pattern.match(arn or "")
    return match.group(1) if match else None


def links_for(finding: Finding) -> list[ConsoleLink]:
    """The console pages for a finding's resource, then its access key's CloudTrail event history."""
    res = finding.resource
    links: list[ConsoleLink] = []
    kind = res.type
    if kind in ("AWS::IAM::User", "AWS::IAM::LoginProfile"):
        links.append(iam_user(_name_from_arn(res.arn, _USER_ARN) or res.id))
    elif kind == "AWS::IAM::AccessKey":
        user = _user_name(finding)
        if user:
            links.append(iam_user_credentials(user))
    elif kind == "AWS::IAM::Role":
        links.append(iam_role(_name_from_arn(res.arn, _ROLE_ARN) or res.id))
    elif kind == "AWS::IAM::ManagedPolicy" and (res.arn or res.id).startswith("arn:"):
        links.append(iam_policy(res.arn or res.id))
    elif kind == "AWS::EC2::Instance":
        links.append(ec2_instance(res.id, res.region))
    elif kind in ("AWS::EC2::SecurityGroup", "AWS::EC2::SecurityGroupIngress"):
        group = finding.details.get("group_id") if kind == "AWS::EC2::SecurityGroupIngress" else res.id
        links.append(security_group(str(group or res.id), res.region))
    elif kind == "AWS::EC2::KeyPair":
        links.append(key_pair(res.id, res.region))
    elif kind == "AWS::EC2::SpotInstanceRequest":
        links.append(spot_request(res.id, res.region))
    elif kind == "AWS::Lambda::Function":
        links.append(lambda_function(res.id, res.region))
    elif kind == "AWS::CloudTrail::Trail":
        links.append(cloudtrail_trails())
    elif kind == "AWS::GuardDuty::Detector":
        links.append(guardduty(res.region))
    elif kind.startswith("AWS::CE::") or finding.rule.startswith("billing-"):
        links.extend([bills(), cost_explorer()])
    if finding.access_key_id:
        region = valid_region(res.region) or _event_region(finding)
        links.append(cloudtrail_events(finding.access_key_id, region))
    return links


def _event_region(finding: Finding) -> str | None:
    region = finding.details.get("region")
    return valid_region(region) if isinstance(region, str) else None
