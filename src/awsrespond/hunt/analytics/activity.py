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
GLOBAL_SOURCES = (
    "iam.amazonaws.com", "signin.amazonaws.com", "sts.amazonaws.com", "organizations.amazonaws.com",
    "route53.amazonaws.com", "route53domains.amazonaws.com", "cloudfront.amazonaws.com",
    "globalaccelerator.amazonaws.com", "health.amazonaws.com", "support.amazonaws.com", "budgets.amazonaws.com",
    "ce.amazonaws.com", "account.amazonaws.com", "billingconsole.amazonaws.com", "trustedadvisor.amazonaws.com",
    "shield.amazonaws.com", "waf.amazonaws.com", "sso.amazonaws.com", "notifications.amazonaws.com",
)
"""Services whose events land in one region whatever the caller does: no signal in their region."""


def _quoted(values: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join("'" + value.replace("'", "''") + "'" for value in sorted(values))


def calls_lookup_sql() -> str:
    """``(src, name)`` of every distinct call with what its name says (computed once per call, not per
    event): ``read_by_name``, ``sensitive_name`` (Lambda's API-version suffix dropped first),
    ``sensitive_source``, ``is_global``."""
    prefixes = "|".join(READ_PREFIXES)
    return rf"""
    SELECT src, name, regexp_matches(name, '^({prefixes})') AS read_by_name,
           regexp_replace(name, '20\d{{6}}(v\d+)?$', '') IN ({_quoted(SENSITIVE_NAMES)}) AS sensitive_name,
           src IN ({_quoted(SENSITIVE_SOURCES)}) AS sensitive_source,
           src IN ({_quoted(GLOBAL_SOURCES)}) AS is_global
    FROM (SELECT DISTINCT eventSource AS src, eventName AS name FROM events WHERE eventName IS NOT NULL)"""


READ_SQL = "coalesce(e.readOnly, k.read_by_name)"
"""True when the call only reads (CloudTrail's ``readOnly``, or the name when that is missing)."""
SENSITIVE_SQL = f"coalesce(k.sensitive_name OR (k.sensitive_source AND NOT {READ_SQL}), FALSE)"
