"""What the finding exports share: the account's partition and a finding's one-paragraph description."""

from __future__ import annotations

from awsrespond.report.casedata import CaseData, ReportFinding
from awsrespond.textsafe import one_line
from awsrespond.timeutil import iso

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


def partition(data: CaseData) -> str:
    parts = data.caller_arn.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] in PARTITIONS else "aws"


def describe(item: ReportFinding, limit: int = 1024) -> str:
    """A plain-text paragraph of the finding's facts (one line, no control characters)."""
    f = item.finding
    parts = [f"{f.title}.", f"Resource: {f.resource.type} {f.resource.id} ({f.resource.region})."]
    if f.principal:
        parts.append(f"Principal: {f.principal}.")
    if f.access_key_id:
        parts.append(f"Access key: {f.access_key_id}.")
    if f.source_ip:
        parts.append(f"Source IP: {f.source_ip}.")
    if f.first_seen or f.last_seen:
        parts.append(f"Seen {iso(f.first_seen) or '?'} to {iso(f.last_seen) or '?'}" +
                     (f", {f.count} events." if f.count else "."))
    parts.append(f"Classification: {f.classification.value}; status after response: {item.status.value}.")
    return one_line(" ".join(parts), limit)
