"""What kind of call an event is, as SQL over the ``awsr_events`` view: a read, a write, a sensitive call.

"Sensitive" is what an intruder with stolen credentials does first and a routine job rarely does from
a new place: minting credentials, changing identities or their rights, reading secrets, blinding the
logs and detectors, sharing data out, running code or instances. A new network doing these ranks
above a new network doing reads.
"""

from __future__ import annotations

READ_PREFIXES = ("Get", "List", "Describe", "Lookup", "Head", "Search", "BatchGet", "Scan", "Query")

SENSITIVE_SOURCES = ("iam.amazonaws.com", "organizations.amazonaws.com", "sso.amazonaws.com",
                     "identitystore.amazonaws.com", "rolesanywhere.amazonaws.com")
"""Every write to these services is sensitive."""

SENSITIVE_NAMES = frozenset({
    # credentials
    "GetSessionToken", "GetFederationToken", "GetSecretValue", "BatchGetSecretValue", "GetPasswordData",
    "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile", "GetSigninToken",
    # blinding
    "StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors", "DeleteDetector", "UpdateDetector",
    "DisassociateFromMasterAccount", "DisassociateFromAdministratorAccount", "CreateIPSet", "DeleteFlowLogs",
    "StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel", "DisableSecurityHub",
    # sharing out, exposing
    "ModifySnapshotAttribute", "ModifyImageAttribute", "ModifyDBSnapshotAttribute",
    "ModifyDBClusterSnapshotAttribute", "PutBucketPolicy", "PutBucketAcl", "DeletePublicAccessBlock",
    "PutBucketPublicAccessBlock", "AuthorizeSecurityGroupIngress", "LeaveOrganization",
    # running code and machines
    "RunInstances", "RequestSpotInstances", "RequestSpotFleet", "CreateFleet", "CreateKeyPair", "ImportKeyPair",
    "SendCommand", "StartSession", "SendSSHPublicKey", "SendSerialConsoleSSHPublicKey",
    "ModifyInstanceAttribute", "CreateFunction", "AddPermission", "UpdateFunctionConfiguration",
    "InvokeModel", "InvokeModelWithResponseStream", "PutUseCaseForModelAccess", "CreateFoundationModelAgreement",
    "PutFoundationModelEntitlement", "UpdateAccountSendingEnabled",
})
"""Sensitive wherever they happen (Lambda's names lose their API-version suffix first)."""

BASE_NAME_SQL = r"regexp_replace(e.eventName, '20\d{6}(v\d+)?$', '')"
"""Lambda logs ``UpdateFunctionCode20150331v2``; this is ``UpdateFunctionCode``."""


def _quoted(values: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in sorted(values))


def read_sql(name: str = "e.eventName") -> str:
    """True when the call only reads (CloudTrail's ``readOnly``, or the name when that is missing)."""
    prefixes = "|".join(READ_PREFIXES)
    return f"coalesce(e.readOnly, regexp_matches({name}, '^({prefixes})'))"


def sensitive_sql(base_name: str = BASE_NAME_SQL) -> str:
    return (
        f"({base_name} IN ({_quoted(SENSITIVE_NAMES)}) "
        f"OR (e.eventSource IN ({_quoted(SENSITIVE_SOURCES)}) AND NOT {read_sql()}))"
    )
