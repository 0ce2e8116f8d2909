"""CloudTrail records for the emulator, and their delivery to S3.

moto records no CloudTrail events, so a scenario builds one record per API call it makes (with the
ids moto returned) and writes them into the trail's bucket in CloudTrail's delivery layout:
``AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<16>.json.gz``,
each object the gzip of ``{"Records": [...]}``.

:func:`cloudtrail_record` is deliberately standalone so that tests of hunt can build records too.
"""

from __future__ import annotations

import gzip
import json
import random
import string
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from awsrespond.timeutil import as_utc

EVENT_VERSION = "1.08"
GLOBAL_EVENT_REGION = "us-east-1"
"""Where CloudTrail logs events of global services (IAM, the console sign-in)."""

DELIVERY_INTERVAL = timedelta(minutes=5)

_READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Lookup", "Head", "Search", "BatchGet")
_ALNUM = string.ascii_letters + string.digits


def format_event_time(value: datetime) -> str:
    """CloudTrail's ``eventTime``: UTC, whole seconds, ``Z``."""
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def iam_date(value: datetime) -> str:
    """The date format IAM uses inside CloudTrail ``responseElements`` ("Aug 1, 2024 1:33:28 PM")."""
    moment = as_utc(value)
    hour = moment.hour % 12 or 12
    return f"{moment:%b} {moment.day}, {moment.year} {hour}:{moment:%M:%S} {moment:%p}"


def is_read_only(event_name: str) -> bool:
    return event_name.startswith(_READ_ONLY_PREFIXES)


def iam_user_identity(
    *,
    account_id: str,
    user_name: str,
    principal_id: str,
    access_key_id: str | None = None,
    session_created: datetime | None = None,
    mfa_authenticated: bool | None = None,
) -> dict[str, Any]:
    """``userIdentity`` of an IAM user: signing with a long-term key, or a console session
    (``access_key_id`` ASIA..., with ``session_created``)."""
    identity: dict[str, Any] = {
        "type": "IAMUser",
        "principalId": principal_id,
        "arn": f"arn:aws:iam::{account_id}:user/{user_name}",
        "accountId": account_id,
        "userName": user_name,
    }
    return _with_credentials(identity, access_key_id, session_created, mfa_authenticated)


def _with_credentials(
    identity: dict[str, Any],
    access_key_id: str | None,
    session_created: datetime | None,
    mfa_authenticated: bool | None,
) -> dict[str, Any]:
    if access_key_id:
        identity["accessKeyId"] = access_key_id
    if session_created is not None:
        identity["sessionContext"] = {
            "sessionIssuer": {},
            "webIdFederationData": {},
            "attributes": {
                "creationDate": format_event_time(session_created),
                "mfaAuthenticated": "true" if mfa_authenticated else "false",
            },
        }
    return identity


def root_identity(
    *,
    account_id: str,
    access_key_id: str | None = None,
    session_created: datetime | None = None,
    mfa_authenticated: bool | None = None,
) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "type": "Root",
        "principalId": account_id,
        "arn": f"arn:aws:iam::{account_id}:root",
        "accountId": account_id,
    }
    return _with_credentials(identity, access_key_id, session_created, mfa_authenticated)


def cloudtrail_record(
    *,
    event_time: datetime,
    event_source: str,
    event_name: str,
    aws_region: str,
    user_identity: dict[str, Any],
    source_ip: str,
    user_agent: str,
    request_parameters: dict[str, Any] | None = None,
    response_elements: dict[str, Any] | None = None,
    additional_event_data: dict[str, Any] | None = None,
    resources: list[dict[str, Any]] | None = None,
    read_only: bool | None = None,
    event_type: str = "AwsApiCall",
    management_event: bool = True,
    error_code: str | None = None,
    error_message: str | None = None,
    recipient_account_id: str | None = None,
    session_credential_from_console: bool = False,
    event_id: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """One CloudTrail record (eventVersion 1.08) as CloudTrail delivers it to S3.

    ``read_only`` defaults from the event name (Get/List/Describe...); ``recipientAccountId`` from
    the identity's account; ``eventID`` is a fresh uuid4.
    """
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity,
        "eventTime": format_event_time(event_time),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": aws_region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
    }
    if error_code is not None:
        record["errorCode"] = error_code
        record["errorMessage"] = error_message or ""
    record["requestParameters"] = request_parameters
    record["responseElements"] = response_elements
    if additional_event_data is not None:
        record["additionalEventData"] = additional_event_data
    if event_type == "AwsApiCall":
        record["requestID"] = request_id or str(uuid.uuid4())
    record["eventID"] = event_id or str(uuid.uuid4())
    record["readOnly"] = is_read_only(event_name) if read_only is None else read_only
    if resources is not None:
        record["resources"] = resources
    record["eventType"] = event_type
    record["managementEvent"] = management_event
    record["recipientAccountId"] = recipient_account_id or user_identity.get("accountId", "")
    record["eventCategory"] = "Management" if management_event else "Data"
    if session_credential_from_console:
        record["sessionCredentialFromConsole"] = "true"
    host = "signin.aws.amazon.com" if event_source == "signin.amazonaws.com" else _api_host(event_source, aws_region)
    record["tlsDetails"] = {
        "tlsVersion": "TLSv1.3",
        "cipherSuite": "TLS_AES_128_GCM_SHA256",
        "clientProvidedHostHeader": host,
    }
    return record


def console_login_record(
    *,
    event_time: datetime,
    account_id: str,
    user_name: str,
    principal_id: str,
    source_ip: str,
    user_agent: str,
    mfa_used: bool,
    success: bool = True,
) -> dict[str, Any]:
    """A ``ConsoleLogin`` of an IAM user (``eventType`` AwsConsoleSignIn)."""
    return cloudtrail_record(
        event_time=event_time,
        event_source="signin.amazonaws.com",
        event_name="ConsoleLogin",
        aws_region=GLOBAL_EVENT_REGION,
        user_identity=iam_user_identity(account_id=account_id, user_name=user_name, principal_id=principal_id),
        source_ip=source_ip,
        user_agent=user_agent,
        response_elements={"ConsoleLogin": "Success" if success else "Failure"},
        additional_event_data={
            "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
            "MobileVersion": "No",
            "MFAUsed": "Yes" if mfa_used else "No",
        },
        read_only=False,
        event_type="AwsConsoleSignIn",
        error_code=None if success else "Failed authentication",
        error_message=None if success else "Failed authentication",
    )


def _api_host(event_source: str, region: str) -> str:
    service = event_source.removesuffix(".amazonaws.com")
    if service == "iam":
        return "iam.amazonaws.com"
    return f"{service}.{region}.amazonaws.com"


# -- delivery --------------------------------------------------------------------------------------


def delivery_key(
    account_id: str,
    region: str,
    delivered_at: datetime,
    *,
    rng: random.Random | None = None,
    prefix: str = "",
) -> str:
    """The S3 key CloudTrail gives a log file delivered at ``delivered_at`` for ``region``."""
    when = as_utc(delivered_at)
    suffix = "".join((rng or random.Random()).choices(_ALNUM, k=16))
    stamp = when.strftime("%Y%m%dT%H%MZ")
    lead = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    return (
        f"{lead}AWSLogs/{account_id}/CloudTrail/{region}/{when:%Y/%m/%d}/"
        f"{account_id}_CloudTrail_{region}_{stamp}_{suffix}.json.gz"
    )


def _parse_event_time(record: dict[str, Any]) -> datetime:
    return as_utc(datetime.fromisoformat(str(record["eventTime"]).replace("Z", "+00:00")))


def log_files(
    records: Iterable[dict[str, Any]],
    account_id: str,
    *,
    rng: random.Random | None = None,
    prefix: str = "",
) -> dict[str, bytes]:
    """Group records as CloudTrail does (per region, one file per ~5-minute delivery) into gzip
    objects; returns ``{key: body}``. The file's timestamp is the end of its delivery window."""
    chooser = rng or random.Random()
    batches: dict[tuple[str, datetime], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        moment = _parse_event_time(record)
        window = moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)
        batches[(str(record["awsRegion"]), window + DELIVERY_INTERVAL)].append(record)
    files: dict[str, bytes] = {}
    for (region, delivered), batch in sorted(batches.items()):
        batch.sort(key=lambda r: str(r["eventTime"]))
        key = delivery_key(account_id, region, delivered, rng=chooser, prefix=prefix)
        body = json.dumps({"Records": batch}, separators=(",", ":")).encode()
        files[key] = gzip.compress(body, mtime=0)
    return files


def write_log_files(
    s3_client: Any,
    bucket: str,
    records: Sequence[dict[str, Any]],
    account_id: str,
    *,
    rng: random.Random | None = None,
    prefix: str = "",
) -> list[str]:
    """Put the records into ``bucket`` in delivery layout; returns the keys written."""
    files = log_files(records, account_id, rng=rng, prefix=prefix)
    for key, body in files.items():
        s3_client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    return list(files)


def read_log_file(body: bytes) -> list[dict[str, Any]]:
    """The records of one delivered object (gzip of ``{"Records": [...]}``)."""
    document = json.loads(gzip.decompress(body))
    records = document.get("Records") if isinstance(document, dict) else None
    if not isinstance(records, list):
        raise ValueError("not a CloudTrail log file: no Records list")
    return records
