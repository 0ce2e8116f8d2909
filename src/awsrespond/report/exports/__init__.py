"""Machine-readable exports of a case: JSON of the whole case, CSV, OCSF and ASFF findings.

Each is a library function taking :class:`~awsrespond.report.casedata.CaseData`; nothing here reads
``<case>/secrets/``.
"""
