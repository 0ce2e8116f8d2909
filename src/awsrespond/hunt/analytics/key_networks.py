"""One credential, several places: an access key switching between unrelated networks, and EC2
instance-role credentials used away from their instance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from awsrespond.findings import Severity
from awsrespond.hunt.analytics.prepare import HISTORY, WINDOW, prepared
from awsrespond.hunt.analytics.registry import AnalyticResult, analytic, detection
from awsrespond.hunt.detections import Window
from awsrespond.timeutil import iso

SWITCH_WITHIN = "INTERVAL 1 HOUR"
MAX_EDGES = 50
"""Switches whose two sides a detection lists (every event from a network new to the principal is listed)."""
ROUTINE_DAYS = 3
SPREAD_ROLE = 3
"""An instance role whose instances called from this many public /24s before ``since`` (each
instance its own public address) gets a new public network from every new instance."""
"""Two calls of one key from different /16s this close together are two places at once."""


@dataclass(frozen=True)
class _Place:
    """Where one key was used from: one network and what came from it."""

    network: str
    internal: bool
    known: bool
    """Seen for the principal (or the role's instances) before ``since``."""
    rowids: list[int]
    ips: list[str]
    events: int
    first: datetime
    last: datetime
    names: list[str]
    families: list[str]

    def describe(self) -> dict[str, object]:
        return {"network": self.network, "internal": self.internal, "seen_in_history": self.known,
                "source_ips": sorted(self.ips)[:10], "events": self.events, "first_seen": iso(self.first),
                "last_seen": iso(self.last), "event_names": sorted(self.names)[:20],
                "user_agent_families": sorted(f for f in self.families if f)}


@analytic(
    "aws-access-key-two-networks",
    title="Access key used from two unrelated networks within an hour",
    severity=Severity.HIGH,
    mitre=("T1078.004", "T1550.001"),
)
def access_key_two_networks(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """One access key whose consecutive calls come from different public /16 networks less than an hour
    apart. A network the principal never used before ``since`` makes it high for a long-term key
    (AKIA), medium for temporary ones; without history, keys that go back and forth are medium and a
    single move is low, and a network the key used on 3 days of the window counts as known (keys
    whose networks are all known go to a note); both networks known: nothing. Private addresses (VPC
    endpoints, VPN) and AWS service names do not count; instance-role keys are judged by
    ``aws-instance-credentials-outside``."""
    scope = prepared(con, window)
    result = AnalyticResult()
    rows = scope.rows(con, f"""
        WITH used AS (
            SELECT rid, t, akey, principal, wide, ip, name, family FROM {WINDOW}
            WHERE akey IS NOT NULL AND wide IS NOT NULL AND NOT internal AND NOT instance_session),
        k AS (
            SELECT * FROM used
            WHERE akey IN (SELECT akey FROM used GROUP BY akey HAVING count(DISTINCT wide) >= 2)),
        o AS (
            SELECT *, lag(wide) OVER w AS prev_wide, lag(t) OVER w AS prev_t, lag(rid) OVER w AS prev_rid
            FROM k WINDOW w AS (PARTITION BY akey ORDER BY t, rid)),
        switches AS (
            SELECT akey, count(*) AS n, count(DISTINCT floor(epoch(t) / 86400)) AS days,
                   (list(rid ORDER BY t) || list(prev_rid ORDER BY t))[:{2 * MAX_EDGES}] AS edges,
                   list_distinct(list(wide) || list(prev_wide)) AS wides
            FROM o WHERE prev_wide <> wide AND t - prev_t <= {SWITCH_WITHIN} GROUP BY akey),
        places AS (
            SELECT akey, principal, wide, list(rid) AS rids, list(DISTINCT ip) AS ips, count(*) AS events,
                   min(t) AS first, max(t) AS last, list(DISTINCT name) AS names, list(DISTINCT family) AS families,
                   count(DISTINCT floor(epoch(t) / 86400)) AS days
            FROM k WHERE akey IN (SELECT akey FROM switches) GROUP BY akey, principal, wide),
        seen AS (SELECT DISTINCT principal, wide FROM {HISTORY} WHERE principal IS NOT NULL AND wide IS NOT NULL),
        history AS (SELECT DISTINCT principal FROM {HISTORY} WHERE principal IS NOT NULL)
        SELECT p.akey, p.principal, p.wide, s.n, s.edges, s.wides, h.principal IS NOT NULL, seen.wide IS NOT NULL,
               p.rids, p.ips, p.events, p.first, p.last, p.names, p.families, p.days
        FROM places p JOIN switches s ON s.akey = p.akey
        LEFT JOIN seen ON seen.principal = p.principal AND seen.wide = p.wide
        LEFT JOIN history h ON h.principal = p.principal
        ORDER BY p.akey, p.first""")
    keys: dict[str, list[Any]] = {}
    for row in rows:
        keys.setdefault(str(row[0]), []).append(row)
    quiet: list[str] = []
    for key, key_rows in keys.items():
        principal = key_rows[0][1]
        switches, edges, wides, has_history = key_rows[0][3:7]
        involved = set(wides)
        # Without history to ask, a network the key used on several days of the window is one of its own.
        places = [_Place(str(r[2]), False, bool(r[7]) or (not has_history and r[15] >= ROUTINE_DAYS), *r[8:15])
                  for r in key_rows]
        strangers = [p for p in places if p.network in involved and not p.known]
        if not strangers:
            if not has_history:
                quiet.append(key)
            continue
        if has_history:
            severity = Severity.HIGH if key.startswith("AKIA") else Severity.MEDIUM
        else:
            severity = Severity.MEDIUM if switches >= 2 else Severity.LOW
        rowids = {*edges, *(rid for p in strangers for rid in p.rowids)}
        result.detections.append(detection(
            "aws-access-key-two-networks", severity, rowids, subject=key,
            details={"access_key": key, "principal": principal, "switches": switches,
                     "principal_has_history": has_history,
                     "networks": [p.describe() for p in places if p.network in involved],
                     "first_seen": iso(min(p.first for p in places)), "last_seen": iso(max(p.last for p in places))},
            recommendation=(f"{key} is in use in two places at once: if one of them is not its owner, deactivate "
                            "the key (or revoke the session) and look at what the other place did."),
        ))
    if quiet:
        result.notes.append(
            f"{len(quiet)} access key(s) of principals without history switch between networks each used on "
            f"{ROUTINE_DAYS} days or more of the window (a habit, not reported): {', '.join(sorted(quiet)[:10])}"
            + (f" and {len(quiet) - 10} more" if len(quiet) > 10 else ""))
    return result


@analytic(
    "aws-instance-credentials-outside",
    title="EC2 instance-role credentials used away from their instance",
    severity=Severity.HIGH,
    mitre=("T1552.005", "T1078.004"),
)
def instance_credentials_outside(con: duckdb.DuckDBPyConnection, window: Window) -> AnalyticResult:
    """Heuristic. Instance-profile credentials (an AssumedRole session named after an instance id, or with
    ``ec2RoleDelivery``) belong to one machine, which calls from one egress (its public address or
    NAT) and perhaps private addresses through VPC endpoints. Stolen through SSRF or IMDS, the same
    key shows up from somewhere else. So, per instance-role access key in the window:

    - two or more public networks, one of them never seen for the role before ``since``: high (one
      instance has one egress);
    - a role with history: one new public network next to private ones (VPC endpoints): high when the
      role's instances share few egresses (NAT), low when each has its own public address (a new
      instance brings a new one); a new private network only: low (a new subnet);
    - a single network, public and new for the role, while that instance was seen before ``since``
      from other networks: medium, low for roles whose instances each have their own address (a
      stop/start without an Elastic IP also moves an instance, hence not high).

    A new instance in a new place with a single network is not judged (autoscaling does that)."""
    scope = prepared(con, window)
    result = AnalyticResult()
    rows = scope.rows(con, f"""
        WITH i AS (
            SELECT rid, t, akey, principal, session_name, net, internal, ip, name, family FROM {WINDOW}
            WHERE instance_session AND akey IS NOT NULL AND net IS NOT NULL),
        role_nets AS (
            SELECT DISTINCT principal, net FROM {HISTORY} WHERE instance_session AND net IS NOT NULL),
        roles AS (
            SELECT principal, count(DISTINCT net) FILTER (WHERE NOT internal) AS public_nets FROM {HISTORY}
            WHERE instance_session AND net IS NOT NULL GROUP BY principal),
        instances AS (
            SELECT DISTINCT instance AS session_name FROM {HISTORY} WHERE instance IS NOT NULL AND net IS NOT NULL)
        SELECT i.akey, i.principal, i.session_name, i.net, bool_or(i.internal), any_value(rn.net) IS NOT NULL,
               list(i.rid), list(DISTINCT i.ip), count(*), min(i.t), max(i.t), list(DISTINCT i.name),
               list(DISTINCT i.family), any_value(r.principal) IS NOT NULL, any_value(x.session_name) IS NOT NULL,
               coalesce(any_value(r.public_nets), 0), count(DISTINCT floor(epoch(i.t) / 86400))
        FROM i LEFT JOIN role_nets rn ON rn.principal = i.principal AND rn.net = i.net
        LEFT JOIN roles r ON r.principal = i.principal
        LEFT JOIN instances x ON x.session_name = i.session_name
        GROUP BY i.akey, i.principal, i.session_name, i.net ORDER BY i.akey, min(i.t)""")
    keys: dict[str, list[Any]] = {}
    for row in rows:
        keys.setdefault(str(row[0]), []).append(row)
    habits: list[str] = []
    for key, key_rows in keys.items():
        role, instance = key_rows[0][1], key_rows[0][2]
        role_history, instance_history = bool(key_rows[0][13]), bool(key_rows[0][14])
        # Instances of this role call from their own public addresses: a new instance brings a new one.
        spread = key_rows[0][15] >= SPREAD_ROLE
        places = [_Place(str(r[3]), bool(r[4]), bool(r[5]), *r[6:13]) for r in key_rows]
        public = [p for p in places if not p.internal]
        new_public = [p for p in public if not p.known]
        new_internal = [p for p in places if p.internal and not p.known]
        if not role_history and all(r[16] >= ROUTINE_DAYS for r in key_rows if not r[4]):
            # Instance credentials rotate within hours; a key at home on the same networks for days is
            # how this (history-less) role lives, not a theft.
            habits.append(key)
            continue
        if len(places) >= 2 and new_public and (role_history or len(public) >= 2):
            two_egresses = len(public) >= 2
            severity = Severity.HIGH if two_egresses or not spread else Severity.LOW
            outside = new_public
        elif len(places) >= 2 and new_internal and role_history:
            severity, outside = Severity.LOW, new_internal
        elif len(places) == 1 and new_public and instance_history:
            severity, outside = (Severity.LOW if spread else Severity.MEDIUM), new_public
        else:
            continue
        result.detections.append(detection(
            "aws-instance-credentials-outside", severity, [rid for p in outside for rid in p.rowids], subject=key,
            details={"access_key": key, "role": role, "instance": instance, "role_has_history": role_history,
                     "instance_seen_before": instance_history, "networks": [p.describe() for p in places],
                     "outside_networks": [p.network for p in outside],
                     "first_seen": iso(min(p.first for p in outside)), "last_seen": iso(max(p.last for p in outside))},
            recommendation=(f"Credentials of instance {instance} ({role}) were used from "
                            f"{', '.join(p.network for p in outside)}: revoke the role's active sessions "
                            "(AWSRevokeOlderSessions), require IMDSv2 on the "
                            "instance and look for the SSRF or the code that leaked them."),
        ))
    if not scope.has_history:
        result.notes.append("no --since: instance-role credentials are judged only on keys seen from two public "
                            "networks")
    if habits:
        result.notes.append(
            f"{len(habits)} instance-role key(s) of roles without history used from the same networks on "
            f"{ROUTINE_DAYS} days or more (a habit, not reported): {', '.join(sorted(habits)[:10])}"
            + (f" and {len(habits) - 10} more" if len(habits) > 10 else ""))
    return result
