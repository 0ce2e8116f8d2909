"""The case workspace on disk: evidence, findings, and (later) plan and journal."""

from awsrespond.case.redact import redact
from awsrespond.case.workspace import Case, EvidenceStore, default_case_dir, newest_case

__all__ = ["Case", "EvidenceStore", "default_case_dir", "newest_case", "redact"]
