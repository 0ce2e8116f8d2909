"""``report --format asff --to-security-hub``: BatchImportFindings, 100 findings per call, in one region.

A write to the account: the caller's account must be the case's, and the account id is typed or passed
with ``--confirm`` before anything is sent. Findings Security Hub refuses are reported per id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from awsrespond.aws.clients import ClientFactory
from awsrespond.aws.identity import CallerIdentity
from awsrespond.errors import AwsCallError, AwsRespondError, SafetyError
from awsrespond.report.exports.asff import AsffFinding, asff_documents
from awsrespond.textsafe import one_line

BATCH = 100  # BatchImportFindings accepts at most 100 findings per request
OPERATION = "securityhub:BatchImportFindings"


class SecurityHubNotEnabled(AwsRespondError):
    """Security Hub is not enabled (or not subscribed) in the region: nothing was imported there."""

    def __init__(self, region: str, message: str) -> None:
        self.region = region
        super().__init__(f"Security Hub is not enabled in {region} ({OPERATION} refused: InvalidAccessException: "
                         f"{one_line(message, 200)}); enable it there, or pick its region with --region")


@dataclass(frozen=True)
class FailedImport:
    id: str
    code: str
    message: str


@dataclass
class ImportResult:
    region: str
    sent: int = 0
    succeeded: int = 0
    calls: int = 0
    failed: list[FailedImport] = field(default_factory=list)


def confirm_import(identity: CallerIdentity, account_id: str, confirm: str | None,
                   ask: Callable[[str], str] | None) -> None:
    """The credentials must be the case's account; ``--confirm`` must equal it, else it is typed."""
    if identity.account_id != account_id:
        raise SafetyError(f"the credentials are for account {identity.account_id}, the case is for {account_id}: "
                          "refusing to import its findings there")
    if confirm is not None:
        if confirm.strip() != account_id:
            raise SafetyError(f"--confirm {confirm} does not match the target account {account_id}: nothing was sent")
        return
    if ask is None:
        raise SafetyError("no terminal to confirm on: pass --confirm ACCOUNT_ID to send the findings unattended")
    typed = ask(f"Type the account id {account_id} to import the findings into Security Hub")
    if typed.strip() != account_id:
        raise SafetyError("the account id typed does not match: nothing was sent")


def import_findings(factory: ClientFactory, findings: list[AsffFinding], region: str,
                    progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Send ``findings`` in batches of 100; raises SecurityHubNotEnabled on InvalidAccessException."""
    client = factory.client("securityhub", region)
    result = ImportResult(region=region)
    documents = asff_documents(findings)
    for start in range(0, len(documents), BATCH):
        batch = documents[start:start + BATCH]
        try:
            response: dict[str, Any] = client.batch_import_findings(Findings=batch)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            message = str(error.get("Message", ""))
            if code == "InvalidAccessException":
                raise SecurityHubNotEnabled(region, message) from exc
            if code in ("AccessDeniedException", "AccessDenied"):
                raise AwsCallError(f"access denied: the caller needs {OPERATION}", operation="BatchImportFindings",
                                   region=region, code=code) from exc
            raise AwsCallError(f"{code}: {one_line(message, 200)}", operation="BatchImportFindings", region=region,
                               code=code) from exc
        result.calls += 1
        result.sent += len(batch)
        result.succeeded += int(response.get("SuccessCount", 0))
        for failed in response.get("FailedFindings", []) or []:
            result.failed.append(FailedImport(str(failed.get("Id", "")), str(failed.get("ErrorCode", "")),
                                              one_line(failed.get("ErrorMessage", ""), 300)))
        if progress is not None:
            progress(result.sent, len(documents))
    return result
