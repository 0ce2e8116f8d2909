"""Opening an AWS Support case with the text for AWS (``report aws --submit``): a write to AWS.

The Support API answers only on a Business, Enterprise On-Ramp or Enterprise plan; elsewhere it says
SubscriptionRequiredException and the text is sent by hand. A case is never created twice: the intent
is recorded in ``<case>/reports/support-case.json`` before the call, CreateCase is sent once without
retries, and an unanswered request (timeout after sending) is reported as uncertain, never repeated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from botocore.exceptions import ConnectionError as BotoConnectionError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.case.workspace import write_private
from awsrespond.contain.safety import caller_key, principal_of
from awsrespond.errors import AwsRespondError, SafetyError
from awsrespond.report.aws_text import ABUSE_EMAIL, ABUSE_FORM_URL, SUPPORT_CENTER_URL, AwsLetter
from awsrespond.report.casedata import CaseData
from awsrespond.textsafe import one_line

RECORD_NAME = "support-case.json"
# The Support API's endpoint per partition (docs: AWS Support endpoints and quotas).
SUPPORT_REGIONS = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
DEFAULT_SERVICE_CODE = "customer-account"
DEFAULT_CATEGORY_CODE = "security"
SEVERITY_CODE = "high"
ISSUE_TYPE = "customer-service"
_SECURITY_WORDS = ("security", "compromis", "unauthori", "abuse")
_BILLING_WORDS = ("unauthori", "dispute", "charge", "refund")
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"}


class SupportPlanRequired(AwsRespondError):
    """SubscriptionRequiredException: the account's support plan does not include the Support API."""


class SupportAccessDenied(AwsRespondError):
    """The caller may not call the Support API (support:CreateCase or support:DescribeServices)."""


class SubmitUncertain(AwsRespondError):
    """CreateCase was sent and no answer came: a case may exist. Never send it again blindly."""


class SubmitRefused(AwsRespondError):
    """AWS answered CreateCase with an error: no case was created."""


@dataclass(frozen=True)
class CaseCodes:
    service_code: str
    category_code: str
    source: str  # "DescribeServices" or why the defaults were used


@dataclass(frozen=True)
class SubmittedCase:
    case_id: str
    account_id: str
    subject: str
    codes: CaseCodes
    severity_code: str
    submitted: str
    record: Path


def record_path(root: Path) -> Path:
    return root / "reports" / RECORD_NAME


def previous_submission(root: Path) -> dict[str, Any] | None:
    """The record of an earlier ``--submit`` (done, or sent without an answer), or None."""
    path = record_path(root)
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {"status": "unreadable", "path": str(path)}
    return document if isinstance(document, dict) else {"status": "unreadable", "path": str(path)}


def support_region(identity: CallerIdentity) -> str:
    return SUPPORT_REGIONS.get(identity.partition, SUPPORT_REGIONS["aws"])


def check_submitter(identity: CallerIdentity, factory: ClientFactory, data: CaseData) -> None:
    """The credentials must belong to the case's account and must not be the attacker's (DESIGN.md 3.4-3.5)."""
    if identity.account_id != data.account_id:
        raise SafetyError(f"the credentials are for account {identity.account_id}, the case is for account "
                          f"{data.account_id}: refusing to open a support case for the wrong account")
    key = caller_key(factory)
    if key and key in data.attacker.access_key_ids:
        raise SafetyError(f"you are using access key {key}, which the attacker used or created: switch to clean "
                          "credentials (another user or role) and run again")
    mine = principal_of(identity.arn)
    if mine in data.attacker.principals:
        raise SafetyError(f"you are signed in as {mine}, a principal the attacker used or created: switch to clean "
                          "credentials and run again")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _plan_required(operation: str) -> SupportPlanRequired:
    return SupportPlanRequired(
        f"support:{operation}: SubscriptionRequiredException - the account's support plan (Basic or Developer) "
        "does not allow the AWS Support API. Send the text by hand: open a case in the Support Center "
        f"({SUPPORT_CENTER_URL}; account and billing cases are open to every plan), use the abuse form "
        f"({ABUSE_FORM_URL}) or write to {ABUSE_EMAIL}.")


def choose_codes(client: Any) -> CaseCodes:
    """Service and category codes from DescribeServices (AWS asks callers to use its current codes):
    the account service's security category, else a billing category about unauthorized charges.
    Falls back to customer-account/security when the call is not answered."""
    try:
        services = client.describe_services(language="en").get("services", [])
    except BotoCoreError as exc:
        return CaseCodes(DEFAULT_SERVICE_CODE, DEFAULT_CATEGORY_CODE,
                         f"defaults: DescribeServices not answered ({one_line(exc, 80)})")
    except ClientError as exc:
        code = _code(exc)
        if code == "SubscriptionRequiredException":
            raise _plan_required("DescribeServices") from exc
        return CaseCodes(DEFAULT_SERVICE_CODE, DEFAULT_CATEGORY_CODE,
                         f"defaults: DescribeServices answered {one_line(code or exc, 60)}")
    by_code = {str(s.get("code")): s for s in services}
    for service_code, words in ((DEFAULT_SERVICE_CODE, _SECURITY_WORDS), ("billing", _BILLING_WORDS)):
        service = by_code.get(service_code)
        if service is None:
            continue
        for category in service.get("categories", []):
            label = f"{category.get('code', '')} {category.get('name', '')}".lower()
            if any(word in label for word in words):
                return CaseCodes(service_code, str(category["code"]), "DescribeServices")
    service = by_code.get(DEFAULT_SERVICE_CODE)
    if service and service.get("categories"):
        return CaseCodes(DEFAULT_SERVICE_CODE, str(service["categories"][0]["code"]),
                         "DescribeServices (no security category: the account service's first)")
    return CaseCodes(DEFAULT_SERVICE_CODE, DEFAULT_CATEGORY_CODE,
                     "defaults: DescribeServices did not list the account service")


def _write(path: Path, document: dict[str, Any]) -> None:
    write_private(path, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())


def _uncertain(exc: Exception, path: Path) -> SubmitUncertain:
    return SubmitUncertain(
        f"support:CreateCase was sent and no clear answer came ({one_line(exc, 120)}): a case may have been "
        f"created. Check the Support Center ({SUPPORT_CENTER_URL}) before submitting again; {path} records the "
        "attempt (delete it only once you know no case was opened).")


def create_case(client: Any, root: Path, account_id: str, letter: AwsLetter, codes: CaseCodes) -> SubmittedCase:
    """CreateCase, once. ``client`` must not retry (see :func:`submit`). The intent is recorded first."""
    path = record_path(root)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    record: dict[str, Any] = {
        "status": "sending", "account_id": account_id, "subject": letter.subject, "service_code": codes.service_code,
        "category_code": codes.category_code, "codes_from": codes.source, "severity_code": SEVERITY_CODE,
        "issue_type": ISSUE_TYPE, "language": "en", "body_chars": len(letter.body), "sent": now,
    }
    _write(path, record)
    try:
        answer = client.create_case(
            subject=letter.subject, serviceCode=codes.service_code, categoryCode=codes.category_code,
            severityCode=SEVERITY_CODE, communicationBody=letter.body, language="en", issueType=ISSUE_TYPE,
        )
    except (BotoConnectionError, ParamValidationError) as exc:
        # The connection (or the request's validation) failed before anything left the machine.
        path.unlink(missing_ok=True)
        raise SubmitRefused(f"support:CreateCase: {one_line(exc, 160)}; nothing was sent") from exc
    except ClientError as exc:
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if status >= 500:
            # AWS failed while handling it: the case may or may not exist.
            record["status"] = "no-answer"
            _write(path, record)
            raise _uncertain(exc, path) from exc
        path.unlink(missing_ok=True)
        code = _code(exc)
        if code == "SubscriptionRequiredException":
            raise _plan_required("CreateCase") from exc
        if code in _DENIED:
            raise SupportAccessDenied(f"support:CreateCase was denied ({code}): the caller needs the IAM permission "
                                      "support:CreateCase (and support:DescribeServices); no case was opened") from exc
        message = one_line(exc.response.get("Error", {}).get("Message", ""), 200)
        raise SubmitRefused(f"support:CreateCase: {code}: {message}; no case was opened") from exc
    except BotoCoreError as exc:
        # Sent, and no answer (read timeout, connection closed, ...): a case may exist. Never resend blindly.
        record["status"] = "no-answer"
        _write(path, record)
        raise _uncertain(exc, path) from exc
    case_id = str(answer.get("caseId", ""))
    record.update(status="created", case_id=case_id)
    _write(path, record)
    return SubmittedCase(case_id, account_id, letter.subject, codes, SEVERITY_CODE, now, path)


def submit(factory: ClientFactory, identity: CallerIdentity, data: CaseData, letter: AwsLetter) -> SubmittedCase:
    """Open the support case for ``data``'s account (the caller has already confirmed the account)."""
    check_submitter(identity, factory, data)
    region = support_region(identity)
    # No retries: CreateCase must go out once; DescribeServices only picks codes (defaults if unanswered).
    once = ClientFactory(session=factory.session, endpoint_url=factory.endpoint_url, max_attempts=1)
    client = once.client("support", region)
    return create_case(client, data.root, identity.account_id, letter, choose_codes(client))
