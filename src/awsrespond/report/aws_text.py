"""The text for AWS: the incident as AWS Trust & Safety and AWS Support need it, in English.

Plain text for the abuse form, abuse@amazonaws.com or the body of a support case: the account, what
was observed and when, the compromised keys and what was done to each, the attacker's principals, IPs
and user agents, the unauthorized resources by region with their state, the actions taken, the
estimated unauthorized charges and the request. Every value from the case is attacker-controlled: it
is printed on one line with control characters stripped, so a hostile name cannot forge lines of the
letter. The whole text stays within the Support API's communicationBody limit (8000 characters) by
summarising long lists. Nothing is read from ``secrets/``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from awsrespond.findings import Classification, Finding
from awsrespond.recover.geo import AddressKind, GeoLookup, HostingHint
from awsrespond.report.casedata import ActionTaken, CaseData
from awsrespond.textsafe import one_line

MAX_BODY = 8000  # CreateCase communicationBody: 1..8000 characters (the Support API's service model)
MAX_SUBJECT = 120
VALUE_LIMIT = 160
ABUSE_FORM_URL = "https://support.aws.amazon.com/#/contacts/report-abuse"
ABUSE_EMAIL = "abuse@amazonaws.com"
SUPPORT_CENTER_URL = "https://support.console.aws.amazon.com/support/home#/case/create"

# List caps tried in turn until the text fits (the first one that fits wins).
_CAPS = (40, 20, 10, 5, 2)

# Past tense of the containment actions, by the verb after the service prefix ("ec2.terminate-instance").
_VERBS = {
    "deactivate": "deactivated", "delete": "deleted", "terminate": "terminated", "detach": "detached",
    "cancel": "cancelled", "stop": "stopped", "disable": "disabled", "remove": "removed", "revoke": "revoked",
    "quarantine": "quarantined", "deregister": "deregistered", "release": "released", "snapshot": "snapshotted",
    "capture": "captured as evidence", "revert": "reverted", "restore": "restored", "start": "restarted",
    "update": "updated", "create": "created", "reset": "reset", "put": "set", "copy": "copied",
    "suspend": "suspended", "scale": "scaled down",
}
_PHRASES = {
    "iam.deactivate-access-key": "deactivated",
    "iam.delete-access-key": "deleted",
    "iam.delete-login-profile": "console password removed",
    "iam.quarantine-principal": "deny-all quarantine policy attached",
    "iam.revoke-sessions": "active sessions revoked",
    "iam.create-replacement-access-key": "replacement key issued to its owner",
    "ec2.capture-instance": "described and kept as evidence",
    "ec2.snapshot-volume": "volume snapshot kept as evidence",
    "ec2.disable-termination-protection": "termination protection (set by the attacker) removed",
    "cloudtrail.start-logging": "logging restarted",
    "logs.copy-trail-objects": "log files copied",
    "ec2.create-volume-from-snapshot": "volume restored from a snapshot",
    "iam.reset-login-profile": "console password reset",
    "iam.update-account-password-policy": "account password policy strengthened",
    "budgets.create-budget": "cost budget alert created",
    "guardduty.create-detector": "GuardDuty enabled",
    "cloudtrail.update-trail": "trail settings hardened",
    "s3control.put-public-access-block": "S3 Block Public Access turned on",
}
# Steps counted under their phrase (the "<object> <verb>" form reads badly for them).
_STEP_LABELS = {
    "iam.create-replacement-access-key", "ec2.disable-termination-protection", "cloudtrail.start-logging",
    "logs.copy-trail-objects", "ec2.create-volume-from-snapshot", "iam.update-account-password-policy",
    "budgets.create-budget", "guardduty.create-detector", "cloudtrail.update-trail",
    "s3control.put-public-access-block", "iam.reset-login-profile", "iam.delete-login-profile",
    "iam.quarantine-principal", "iam.revoke-sessions",
}
_TERMINAL = ("deleted", "terminated", "cancelled")
_KEPT_BEFORE_TERMINAL = ("deactivated",)
# Evidence steps and sub-steps that say little to AWS on their own.
_QUIET = {"ec2.capture-instance", "ec2.snapshot-volume", "awsrespond.recheck"}


_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# Filled in by the sender before the text goes to the abuse form or by email.
_CONTACT = ("Contact", "  - Name: [your name]", "  - Role: [your role]", "  - Email: [your email]",
            "  - Phone: [your phone]")
_CASE_CONTACT = ("Contact", "  - Please answer through this support case; the account's contacts on file are ours.")


@dataclass(frozen=True)
class AwsLetter:
    subject: str
    body: str

    @property
    def text(self) -> str:
        return f"Subject: {self.subject}\n\n{self.body}"


def v(value: object, limit: int = VALUE_LIMIT) -> str:
    """An attacker-controlled value as inert text on one line (bidirectional overrides removed too, so a
    name cannot make the text read differently from what it says)."""
    return one_line(_BIDI.sub("", str(value)), limit) or "-"


def _when(value: datetime | str | None) -> str:
    if value is None or value == "":
        return "unknown"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return v(value, 40)


def _money(value: Decimal, currency: str = "USD") -> str:
    return f"{value.quantize(Decimal('0.01')):,} {v(currency, 8)}"


def action_phrase(action: str) -> str:
    if action in _PHRASES:
        return _PHRASES[action]
    verb = action.split(".", 1)[-1].split("-", 1)[0]
    return _VERBS.get(verb, f"{v(action, 60)} done")


def step_label(action: str) -> str:
    """A step in words: ``iam.delete-role-inline-policy`` -> ``role inline policy deleted``."""
    if action in _STEP_LABELS:
        return _PHRASES[action]
    verb, _, obj = action.split(".", 1)[-1].partition("-")
    past = _VERBS.get(verb)
    return f"{obj.replace('-', ' ')} {past}" if past and obj else v(action, 60)


def _capped(lines: list[str], cap: int, what: str) -> list[str]:
    if len(lines) <= cap:
        return lines
    return [*lines[:cap], f"  - ... and {len(lines) - cap} more {what}, listed in the attached report"]


def _join(items: Iterable[str]) -> str:
    out = list(dict.fromkeys(items))
    return ", ".join(out)


class _Facts:
    """What the letter says, computed once from the case."""

    def __init__(self, data: CaseData) -> None:
        self.data = data
        self.by_target: dict[tuple[str, str], list[ActionTaken]] = defaultdict(list)
        for action in data.actions:
            self.by_target[(action.target_id, action.region)].append(action)
        self._geo: dict[str, str] = {}
        self.key_owner: dict[str, str] = {}
        self.key_created: set[str] = set()
        for item in data.findings:
            f = item.finding
            if f.resource.type == "AWS::IAM::AccessKey":
                user = f.details.get("user")
                if user:
                    self.key_owner.setdefault(f.resource.id, str(user))
                if f.classification is Classification.ATTACKER_CREATED:
                    self.key_created.add(f.resource.id)

    def geo_line(self, ip: str, geo: GeoLookup | None) -> str:
        if ip not in self._geo:
            self._geo[ip] = _geo_line(ip, geo)
        return self._geo[ip]

    def done(self, target_id: str, region: str) -> list[str]:
        """What was done to a resource, in words, from the succeeded steps on it."""
        phrases = [action_phrase(a.action) for a in self.by_target.get((target_id, region), [])
                   if a.succeeded and a.action not in _QUIET]
        failed = [a for a in self.by_target.get((target_id, region), [])
                  if a.status.value in ("failed", "refused")]
        out = list(dict.fromkeys(phrases))
        terminal = [p for p in out if p in _TERMINAL]
        if terminal:
            out = [p for p in out if p in _KEPT_BEFORE_TERMINAL] + terminal
        if failed:
            out.append(f"{len(failed)} step(s) failed: " + _join(action_phrase(a.action) for a in failed))
        return out

    def state(self, finding: Finding) -> str:
        done = self.done(finding.resource.id, finding.resource.region)
        if done:
            return "; ".join(done)
        details = finding.details
        if details.get("exists") is False:
            return "no longer present"
        if details.get("state"):
            return f"state {v(details['state'], 30)}, no containment step recorded"
        return "no containment step recorded on it (it may remain)"


def _geo_line(ip: str, geo: GeoLookup | None) -> str:
    if geo is None:
        return v(ip, 60)
    info = geo.lookup(ip)
    if info.kind is not AddressKind.PUBLIC:
        return f"{v(ip, 60)} ({info.note})"
    parts = []
    if info.country_code:
        parts.append(f"{v(info.country_name or info.country_code, 40)} ({v(info.country_code, 4)})")
    if info.asn_name:
        parts.append(f"network {v(info.asn_name, 60)}")
    words = {HostingHint.TOR: "Tor", HostingHint.HOSTING_VPN: "a VPN or hosting provider",
             HostingHint.HOSTING: "a hosting provider"}
    if info.hints:
        parts.append("the network name suggests " + " or ".join(words[h] for h in info.hints))
    return f"{v(ip, 60)} - {', '.join(parts) if parts else 'not in the offline database'}"


def _sections(data: CaseData, facts: _Facts, cap: int, geo: GeoLookup | None, via_support_case: bool) -> list[str]:
    a = data.attacker
    account = v(data.account_id, 20)
    alias = f" (alias {v(data.alias, 60)})" if data.alias else ""
    lines: list[str] = [
        "Hello AWS Trust & Safety / AWS Support team,",
        "",
        f"We are reporting unauthorized use of our AWS account {account}{alias}. Credentials of the account were "
        "compromised and used by a third party. We have contained the activity and ask you to review the "
        "resulting unauthorized charges. The details follow; all times are UTC.",
        "",
        "1. Account",
        f"  - Account ID: {account}",
    ]
    if data.alias:
        lines.append(f"  - Account alias: {v(data.alias, 60)}")
    lines.append(f"  - Our incident reference: {v(data.case_id, 80)}")

    lines += ["", "2. What we observed and when"]
    lines.append(f"  - First unauthorized activity: {_when(a.first_seen)}")
    lines.append(f"  - Last unauthorized activity: {_when(a.last_seen)}")
    window = f"from {_when(data.window_since)}" + (f" to {_when(data.window_until)}" if data.window_until else
                                                     " to the time of the investigation")
    lines.append(f"  - Period we examined: {window}")
    if a.events:
        lines.append(f"  - API calls attributed to the attacker in CloudTrail: {a.events} "
                     f"(in {len(data.sessions)} session(s))")
    if data.regions_touched:
        regions = [f"{v(r, 30)} ({n})" for r, n in data.regions_touched.items()]
        shown = regions[:cap] + ([f"and {len(regions) - cap} more"] if len(regions) > cap else [])
        lines.append(f"  - Regions the attacker used (events): {', '.join(shown)}")
    titles = Counter(item.finding.title for item in data.attacker_findings
                     if item.finding.classification is not Classification.SUSPECT)
    if titles:
        lines.append("  - Observed activity:")
        lines += _capped([f"    - {v(t, 100)}" + (f" ({n})" if n > 1 else "") for t, n in titles.most_common()],
                         min(cap, 12), "kinds of activity")

    lines += ["", "3. Compromised access keys and what we did"]
    key_lines = []
    for key in a.access_key_ids:
        owner = facts.key_owner.get(key)
        origin = "created by the attacker" if key in facts.key_created else "stolen"
        who = f"IAM user {v(owner, 64)}, " if owner else ""
        done = facts.done(key, "global")
        key_lines.append(f"  - {v(key, 32)} ({who}{origin}): {'; '.join(done) if done else 'no action recorded'}")
    lines += _capped(key_lines, cap, "access keys") or ["  - none identified"]

    lines += ["", "4. IAM users and roles used or created by the attacker"]
    principal_lines = []
    created_names: set[str] = set()
    for f in data.created_resources():
        if f.resource.type in ("AWS::IAM::User", "AWS::IAM::Role"):
            kind = "user" if f.resource.type == "AWS::IAM::User" else "role"
            created_names.add(f.resource.id)
            principal_lines.append(f"  - IAM {kind} {v(f.resource.id)} (created by the attacker): {facts.state(f)}")
    for arn in a.principals:
        name = arn.rsplit("/", 1)[-1]
        if name in created_names:
            continue
        done = facts.done(name, "global")
        principal_lines.append(f"  - {v(arn)} (our principal, used by the attacker): "
                               + ("; ".join(done) if done else "no action recorded"))
    lines += _capped(principal_lines, cap, "principals") or ["  - none identified"]

    lines += ["", "5. Source IP addresses used by the attacker"]
    ip_lines = [f"  - {facts.geo_line(ip, geo)}" for ip in a.source_ips]
    lines += _capped(ip_lines, cap, "addresses") or ["  - none identified"]
    if ip_lines and geo is not None:
        lines.append("  (Country and network from the offline GeoLite2 database by MaxMind: indicative only.)")

    if a.user_agents:
        lines += ["", "6. User agents seen in the attacker's requests"]
        lines += _capped([f"  - {v(ua, 200)}" for ua in a.user_agents], cap, "user agents")

    lines += ["", "7. Unauthorized resources by region (state after our containment)"]
    by_region: dict[str, list[str]] = defaultdict(list)
    for f in data.created_resources():
        by_region[f.resource.region].append(f"    - {v(f.resource.type, 60)} {v(f.resource.id)}: {facts.state(f)}")
    if not by_region:
        lines.append("  - none identified")
    region_cap = max(1, cap // 2) if len(by_region) > 4 else cap
    for region in sorted(by_region, key=lambda r: (r == "global", r)):
        label = "global (IAM and other global services)" if region == "global" else v(region, 30)
        lines.append(f"  {label}:")
        lines += _capped(by_region[region], region_cap, f"resources in {v(region, 30)}")

    lines += ["", "8. Actions we have taken"]
    lines += _actions(data, cap)

    lines += ["", "9. Estimated unauthorized charges"]
    lines += _charges(data, cap)

    lines += [
        "", "10. Our request",
        "  - Please review the charges caused by this unauthorized activity and adjust them as appropriate.",
        "  - Please tell us of any abuse reported against our account's resources during this period "
        "(for example outbound attacks, spam or scanning from the instances listed above).",
        "  - Please tell us if you need anything else from us; we can provide CloudTrail records and our full "
        "incident report.",
        "",
        *(_CASE_CONTACT if via_support_case else _CONTACT),
        "",
        "Thank you.",
    ]
    return lines


def _actions(data: CaseData, cap: int) -> list[str]:
    lines: list[str] = []
    for run in data.plans:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(run.statuses.items()))
        lines.append(f"  - {v(run.command, 40)} ({run.created:%Y-%m-%d %H:%M} UTC): {run.steps} step(s), {counts}")
    if not data.actions:
        return [*lines, "  - no containment step has been applied yet"]
    grouped = Counter((a.recovery, step_label(a.action)) for a in data.actions
                      if a.succeeded and a.action not in _QUIET)
    kept = sum(1 for a in data.actions if a.succeeded and a.action in ("ec2.capture-instance", "ec2.snapshot-volume"))
    steps = [f"  - containment: {label}: {n}" for (recovery, label), n in grouped.most_common() if not recovery]
    if kept:
        steps.append(f"  - containment: evidence kept before removal (instance descriptions, volume snapshots): "
                     f"{kept}")
    steps += [f"  - recovery: {label}: {n}" for (recovery, label), n in grouped.most_common() if recovery]
    lines += _capped(steps, cap, "kinds of step")
    failed = [a for a in data.actions if a.status.value in ("failed", "refused")]
    if failed:
        lines.append(f"  - steps that failed or were refused: {len(failed)}")
        lines += _capped([f"    - {v(a.action, 60)} on {v(a.target_id)} ({v(a.region, 30)}): {v(a.message)}"
                          for a in failed], cap, "failed steps")
    open_items = [f for f in data.open_findings if f.finding.classification is not Classification.POSTURE]
    if open_items:
        lines.append(f"  - still under investigation: {len(open_items)} finding(s) with no containment step")
    return lines


def _short_type(resource_type: str) -> str:
    """``AWS::EC2::Instance`` -> ``EC2 Instance`` (the form a reader scans)."""
    parts = resource_type.split("::")
    return v(" ".join(parts[1:]) if len(parts) == 3 and parts[0] == "AWS" else resource_type, 60)


def _charges(data: CaseData, cap: int) -> list[str]:
    lines: list[str] = []
    curve = data.cost_curve or (data.attack_cost.curve if data.attack_cost else None)
    if data.attack_cost is not None and data.attack_cost.instances:
        cost = data.attack_cost
        suspected = sum(1 for i in cost.instances if i.classification == Classification.SUSPECT.value)
        count = f"{len(cost.instances) - suspected}" + (f" (and {suspected} suspected)" if suspected else "")
        lines.append(f"  - Instances launched by the attacker: {count}, estimated "
                     f"{_money(cost.attacker_instance_cost)} at on-demand list prices for the hours they ran "
                     "(launch to termination, or until now for any still running).")
        if cost.unpriced:
            lines.append(f"    ({len(cost.unpriced)} instance(s) could not be priced and are not in this figure.)")
    if curve is not None and curve.spike_days:
        lines.append(f"  - Cost Explorer shows daily costs above our usual baseline on: "
                     f"{_join(v(d, 12) for d in curve.spike_days[:cap])}"
                     + (f" and {len(curve.spike_days) - cap} more days" if len(curve.spike_days) > cap else "") + ".")
        spikes = [d for d in curve.days if d.spike][:cap]
        for day in spikes:
            base = f" against a usual {_money(day.baseline_median, curve.currency)}" if day.baseline_median else ""
            lines.append(f"    - {v(day.date, 12)}: {_money(day.amount, curve.currency)}{base}")
        extra = _money(curve.extra_cost, curve.currency)
        lines.append(f"  - Estimated charges above the baseline on those days: {extra}.")
    if not lines:
        lines.append("  - We could not estimate the charges yet (no cost data in our case).")
    lines.append("  - These figures are our own estimates from Cost Explorer and public list prices. They are not "
                 "the billed amount: charges that post later (data transfer, spot, Marketplace, taxes) may be "
                 "missing. Please use your billing records for the exact unauthorized charges.")
    return lines


def aws_letter(data: CaseData, *, geo: GeoLookup | None = None, limit: int = MAX_BODY,
               via_support_case: bool = False) -> AwsLetter:
    """The subject and the body for AWS; ``Subject:`` line plus body stays within ``limit`` characters.

    ``via_support_case``: the body of a support case opened with the API, where AWS answers through the
    case (no contact lines left for the sender to fill in)."""
    alias = f" ({v(data.alias, 40)})" if data.alias else ""
    subject = one_line(f"Unauthorized use of AWS account {v(data.account_id, 20)}{alias}: request for review of "
                       "charges", MAX_SUBJECT)
    facts = _Facts(data)
    lookup = geo if geo is not None else GeoLookup()
    body = ""
    for cap in _CAPS:
        body = "\n".join(_sections(data, facts, cap, lookup, via_support_case)) + "\n"
        if len(AwsLetter(subject, body).text) <= limit:
            return AwsLetter(subject, body)
    cut = limit - len(AwsLetter(subject, "").text) - 80
    body = body[:cut].rsplit("\n", 1)[0] + "\n[... shortened to fit; the full details are in the attached report]\n"
    return AwsLetter(subject, body)


def render_aws_text(data: CaseData) -> str:
    """The text for AWS, in English whatever the user's language (AWS reads English)."""
    return aws_letter(data).text
