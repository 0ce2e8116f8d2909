"""From the case's findings to subjects: which resource, and which of the three treatments.

DESIGN.md section 3: attacker-created -> remove; attacker-used or changed legitimate -> neutralise
(never delete); suspect -> reversible steps only. ``--suspect-as-attacker`` promotes suspects: a
resource found *new* in the window is treated as attacker-created, an existing one found *used or
changed* in the window as attacker-used - a legitimate key used in the window is replaced, never
deleted, even then.
"""

from __future__ import annotations

from collections.abc import Iterable

from awsrespond.contain.model import Target
from awsrespond.contain.planner.builder import Subject, Treatment
from awsrespond.findings import Classification, Finding

# Suspect rules that speak of an existing resource being used or changed (not of a new one).
USE_RULES = frozenset({
    "iam-access-key-used-in-window",
    "iam-console-password-changed",
    "iam-policy-version-new",
    "iam-inline-admin",
    "iam-role-trust-outside",
    "iam-role-trust-anyone",
    "iam-compromised-key-quarantine",
    "cloudtrail-stopped",
    "ec2-snapshot-shared",
    "ec2-image-shared",
    "hunt-changed-by-attacker",
    "hunt-credential-used-by-attacker",
})
# Findings that describe the account or a region, not an artefact anyone can contain.
INFORMATIONAL_TYPES = frozenset({"AWS::EC2::Region", "AWS::CE::CostAndUsage", "AWS::IAM::Account"})


def _treatment(findings: list[Finding], suspect_as_attacker: bool) -> Treatment | None:
    classes = {f.classification for f in findings}
    if Classification.ATTACKER_CREATED in classes:
        return Treatment.REMOVE
    if Classification.ATTACKER_USED in classes:
        return Treatment.NEUTRALISE
    suspects = [f for f in findings if f.classification is Classification.SUSPECT]
    if not suspects:
        return None
    if not suspect_as_attacker:
        return Treatment.QUARANTINE
    if all(f.rule in USE_RULES or not f.rule.startswith(_TRIAGE_PREFIXES) for f in suspects):
        return Treatment.NEUTRALISE
    return Treatment.REMOVE


# Triage rule ids start with these; anything else is a hunt detection about a credential's use.
_TRIAGE_PREFIXES = ("iam-", "ec2-", "lambda-", "autoscaling-", "cloudtrail-", "guardduty-", "billing-",
                    "region-", "account-", "hunt-created")


def derive_subjects(findings: Iterable[Finding], *, suspect_as_attacker: bool) -> tuple[list[Subject], list[Finding]]:
    """Subjects to plan for, and the findings left out (posture, informational) for the not-planned list."""
    grouped: dict[tuple[str, str, str], list[Finding]] = {}
    left_out: list[Finding] = []
    for finding in findings:
        resource = finding.resource
        if finding.classification is Classification.POSTURE or resource.type in INFORMATIONAL_TYPES:
            left_out.append(finding)
            continue
        grouped.setdefault((resource.type, resource.id, resource.region), []).append(finding)
    subjects: list[Subject] = []
    for (rtype, rid, region), group in sorted(grouped.items()):
        treatment = _treatment(group, suspect_as_attacker)
        if treatment is None:
            left_out.extend(group)
            continue
        arn = next((f.resource.arn for f in group if f.resource.arn), None)
        facts: dict[str, object] = {}
        for finding in group:
            facts.update({k: v for k, v in finding.details.items() if k not in facts})
        if any(f.rule == "iam-console-password-changed" for f in group):
            facts["password_known"] = True
        subjects.append(Subject(target=Target(type=rtype, id=rid, region=region, arn=arn), treatment=treatment,
                                findings=group, facts=facts))
    return subjects, left_out
