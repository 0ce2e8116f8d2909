"""Grouping suspicious activity into attacker sessions, and what each session created or changed.

A credential (an access key, or the principal for calls signed without one, such as a console
sign-in) becomes a *seed* when detections on its window events reach high, or two different rules
at medium. From each seed the session grows along what the attacker did with it: keys it created or
minted (CreateAccessKey, AssumeRole, GetSessionToken, GetFederationToken), users it created (and
their console sign-ins), roles it created (and their sessions). Seeds whose sessions share a
credential are one campaign. For a stolen credential that has history, its window events from the
networks it used before are its owner's (a CI job still running) and stay out of the session.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from awsrespond.findings import Severity
from awsrespond.hunt.analytics.network import network_of
from awsrespond.hunt.created import EventView, ResourceKey, assumed_role_arn, changed_by, created_by, minted_key
from awsrespond.hunt.detections import Detection, Window
from awsrespond.hunt.session_model import (
    AttackerSession,
    Origin,
    SessionCredential,
    SessionResource,
    TimelineEntry,
)

ACTOR_SQL = (
    "coalesce(nullif(userIdentity.accessKeyId, ''), "
    "'principal:' || coalesce(userIdentity.arn, userIdentity.principalId, userIdentity.type, 'unknown'))"
)
"""Who made a call: the access key id, or the principal when the call carries no key."""
ISSUER_SQL = "json_extract_string(userIdentity.sessionContext, '$.sessionIssuer.arn')"
_ROW_SQL = f"""
    SELECT rowid, eventID, eventTime, eventName, eventSource, awsRegion, sourceIPAddress, userAgent, errorCode,
           {ACTOR_SQL} AS actor, userIdentity.arn, userIdentity.userName, userIdentity.type,
           CAST(requestParameters AS VARCHAR), CAST(responseElements AS VARCHAR), recipientAccountId
    FROM events
"""
MAX_ROUNDS = 20
NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    rowid: int
    event_id: str | None
    time: datetime | None
    name: str | None
    source: str | None
    region: str | None
    ip: str | None
    agent: str | None
    error: str | None
    actor: str
    arn: str | None
    user_name: str | None
    identity_type: str | None
    request: dict[str, Any]
    response: dict[str, Any]
    account: str | None

    @classmethod
    def of(cls, values: Sequence[Any]) -> Row:
        (rowid, event_id, when, name, source, region, ip, agent, error, actor, arn, user_name, identity_type,
         request, response, account) = values
        return cls(rowid, event_id, when, name, source, region, ip, agent, error, actor, arn, user_name,
                   identity_type, _object(request), _object(response), account)

    def view(self) -> EventView:
        caller = self.user_name if self.identity_type == "IAMUser" else None
        return EventView(self.name or "", self.source or "", self.region or "", caller, self.request, self.response)


def _object(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class _Growth:
    """One seed's session while it grows."""

    seed: str
    members: dict[str, SessionCredential] = field(default_factory=dict)
    users: set[str] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)
    rows: dict[int, Row] = field(default_factory=dict)
    created: dict[ResourceKey, SessionResource] = field(default_factory=dict)
    changed: dict[ResourceKey, SessionResource] = field(default_factory=dict)
    excluded: int = 0


@dataclass(frozen=True)
class SessionsResult:
    sessions: list[AttackerSession]
    notes: list[str]


def build_sessions(
    con: duckdb.DuckDBPyConnection,
    window: Window,
    detections: Iterable[Detection],
) -> SessionsResult:
    hits: dict[int, list[Detection]] = defaultdict(list)
    for detection in detections:
        for rowid in detection.rowids:
            hits[rowid].append(detection)
    seeds = _seeds(con, window, hits)
    notes: list[str] = []
    growths = [_grow(con, window, seed, notes) for seed in seeds]
    merged = _merge([g for g in growths if g.rows])
    sessions = [_session(g, hits) for g in merged]
    sessions.sort(key=lambda s: (s.first_seen or NEVER, s.id))
    return SessionsResult(sessions, notes)


def _seeds(con: duckdb.DuckDBPyConnection, window: Window, hits: dict[int, list[Detection]]) -> list[str]:
    if not hits:
        return []
    where, params = window.sql()
    actors = con.execute(
        f"SELECT rowid, {ACTOR_SQL} FROM events WHERE {where} AND rowid IN (SELECT unnest(?::BIGINT[]))",
        [*params, sorted(hits)],
    ).fetchall()
    worst: dict[str, Severity] = {}
    medium_rules: dict[str, set[str]] = defaultdict(set)
    for rowid, actor in actors:
        for detection in hits[rowid]:
            worst[actor] = Severity.max(worst.get(actor, Severity.INFO), detection.severity)
            if detection.severity.at_least(Severity.MEDIUM):
                medium_rules[actor].add(detection.rule)
    return sorted(a for a, s in worst.items() if s.at_least(Severity.HIGH) or len(medium_rules[a]) >= 2)


def _history_networks(con: duckdb.DuckDBPyConnection, window: Window, actor: str) -> set[str]:
    if window.since is None:
        return set()
    rows = con.execute(
        f"SELECT DISTINCT sourceIPAddress FROM events WHERE {ACTOR_SQL} = ? AND eventTime < ?",
        [actor, window.since],
    ).fetchall()
    return {found.net for (ip,) in rows if (found := network_of(ip))}


def _grow(con: duckdb.DuckDBPyConnection, window: Window, seed: str, notes: list[str]) -> _Growth:
    growth = _Growth(seed)
    growth.members[seed] = SessionCredential(credential=seed, origin=Origin.PRE_EXISTING)
    owner_networks = _history_networks(con, window, seed)
    where, params = window.sql()
    for _ in range(MAX_ROUNDS):
        query = (
            f"{_ROW_SQL} WHERE {where} AND eventTime IS NOT NULL AND ("
            f"{ACTOR_SQL} IN (SELECT unnest(?::VARCHAR[])) "
            "OR (userIdentity.type = 'IAMUser' AND userIdentity.userName IN (SELECT unnest(?::VARCHAR[]))) "
            f"OR {ISSUER_SQL} IN (SELECT unnest(?::VARCHAR[]))) "
            "AND rowid NOT IN (SELECT unnest(?::BIGINT[])) ORDER BY eventTime, rowid"
        )
        fresh = [
            Row.of(values)
            for values in con.execute(
                query,
                [*params, sorted(growth.members), sorted(growth.users), sorted(growth.roles), sorted(growth.rows)],
            ).fetchall()
        ]
        fresh = [row for row in fresh if row.rowid not in growth.rows]
        if not fresh:
            break
        for row in fresh:
            if _is_owners(row, seed, owner_networks):
                growth.excluded += 1
                growth.rows[row.rowid] = row  # seen, but its owner's: kept out of the session below
                continue
            _absorb(growth, row)
    else:
        notes.append(f"session of {seed} still growing after {MAX_ROUNDS} rounds; the rest is not followed")
    growth.rows = {rid: row for rid, row in growth.rows.items() if not _is_owners(row, seed, owner_networks)}
    return growth


def _is_owners(row: Row, seed: str, owner_networks: set[str]) -> bool:
    found = network_of(row.ip)
    return row.actor == seed and found is not None and found.net in owner_networks


def _absorb(growth: _Growth, row: Row) -> None:
    growth.rows[row.rowid] = row
    member = growth.members.get(row.actor)
    if member is None:
        member = SessionCredential(credential=row.actor, principal=row.arn, origin=Origin.SIGNED_IN)
        growth.members[row.actor] = member
    member.principal = member.principal or row.arn
    member.events += 1
    member.first_seen = member.first_seen or row.time
    member.last_seen = row.time
    if row.error:
        return  # a refused call created nothing
    view = row.view()
    made = created_by(view)
    for key in made:
        growth.created.setdefault(key, _resource(key, row))
        if key.type == "AWS::IAM::AccessKey":
            growth.members.setdefault(
                key.id, SessionCredential(credential=key.id, origin=Origin.CREATED, parent=row.actor)
            )
        elif key.type == "AWS::IAM::User":
            growth.users.add(key.id)
        elif key.type == "AWS::IAM::Role":
            arn = row.response.get("role", {}).get("arn") if isinstance(row.response.get("role"), dict) else None
            if isinstance(arn, str):
                growth.roles.add(arn)
    for key in changed_by(view):
        growth.changed.setdefault(key, _resource(key, row))
    if minted := minted_key(view):
        growth.members.setdefault(
            minted, SessionCredential(credential=minted, origin=Origin.MINTED, parent=row.actor)
        )


def _resource(key: ResourceKey, row: Row) -> SessionResource:
    return SessionResource(
        type=key.type, id=key.id, region=key.region, event_name=row.name or "", event_id=row.event_id, time=row.time
    )


def _merge(growths: list[_Growth]) -> list[_Growth]:
    """Seeds whose sessions share a credential are one campaign."""
    merged: list[_Growth] = []
    for growth in growths:
        campaign = growth
        for other in [m for m in merged if set(m.members) & set(campaign.members)]:
            merged.remove(other)
            campaign = _join(other, campaign)
        merged.append(campaign)
    return merged


def _join(first: _Growth, second: _Growth) -> _Growth:
    members = {**second.members, **first.members}
    # A credential created or minted inside the campaign is not where it started.
    for name, member in second.members.items():
        if member.origin is not Origin.PRE_EXISTING:
            members[name] = member
    joined = _Growth(seed=first.seed, members=members, users=first.users | second.users,
                     roles=first.roles | second.roles, rows={**first.rows, **second.rows},
                     created={**second.created, **first.created}, changed={**second.changed, **first.changed},
                     excluded=first.excluded + second.excluded)
    for key in joined.created:
        joined.changed.pop(key, None)
    return joined


def _session(growth: _Growth, hits: dict[int, list[Detection]]) -> AttackerSession:
    rows = sorted(growth.rows.values(), key=lambda r: (r.time or NEVER, r.rowid))
    starts = [m for m in growth.members.values() if m.origin is Origin.PRE_EXISTING and m.events]
    start = min(starts, key=lambda m: m.first_seen or NEVER) if starts else growth.members[growth.seed]
    severity = Severity.HIGH
    rules: set[str] = set()
    created_at: dict[int, list[str]] = defaultdict(list)
    for key, resource in growth.created.items():
        for row in rows:
            if row.event_id is not None and row.event_id == resource.event_id:
                created_at[row.rowid].append(str(key))
                break
    timeline: list[TimelineEntry] = []
    for row in rows:
        found = hits.get(row.rowid, [])
        for detection in found:
            severity = Severity.max(severity, detection.severity)
            rules.add(detection.rule)
        if row.time is not None:
            timeline.append(TimelineEntry(
                time=row.time, event_id=row.event_id, event_name=row.name, event_source=row.source,
                region=row.region, source_ip=row.ip, user_agent=row.agent, credential=row.actor, principal=row.arn,
                error_code=row.error, rules=sorted({d.rule for d in found}), created=created_at.get(row.rowid, []),
            ))
    own = {row.account for row in rows if row.account}
    others = sorted({
        arn.split(":")[4] for row in rows
        if (arn := assumed_role_arn(row.view())) and arn.count(":") >= 5 and arn.split(":")[4] not in own
    })
    digest = hashlib.sha256(f"{start.credential}\x00{rows[0].event_id if rows else ''}".encode()).hexdigest()
    return AttackerSession(
        id=f"session-{digest[:12]}",
        started_from=start.credential,
        principal=start.principal,
        severity=severity,
        first_seen=rows[0].time if rows else None,
        last_seen=rows[-1].time if rows else None,
        event_count=len(rows),
        credentials=sorted((m for m in growth.members.values() if m.events or m.origin is Origin.CREATED),
                           key=lambda m: (m.first_seen or NEVER, m.credential)),
        source_ips=sorted({r.ip for r in rows if r.ip}),
        user_agents=sorted({r.agent for r in rows if r.agent}),
        regions=sorted({r.region for r in rows if r.region}),
        rules=sorted(rules),
        created=sorted(growth.created.values(), key=lambda r: (r.time or NEVER, r.type, r.id)),
        # Calls logged in the same second come in any order: "changed" is decided once all is known.
        changed=sorted((r for k, r in growth.changed.items() if k not in growth.created),
                       key=lambda r: (r.time or NEVER, r.type, r.id)),
        other_accounts=others,
        excluded_events=growth.excluded,
        timeline=timeline,
    )
