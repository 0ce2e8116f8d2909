"""What every analytic reads: the ``awsr_events`` view over ``events``, the history aggregate, and the
window as SQL.

The view adds, per event, the principal its history is kept under, the caller's network, the user
agent family, and what kind of call it is. It is evaluated inside each query, so it does only cheap
string work per event; networks and agent families are looked up by the address and agent string
in tables built once per distinct value (IPv4 in SQL; IPv6 and agents in Python: thousands of
distinct values, not millions).

History (events before ``since``) is read once per window into ``awsr_hist``: one row per principal,
day, network, agent family and region with counts. The first-seen analytics ask it instead of
rescanning millions of events. The lookups and the aggregate are rebuilt when the events table grows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from awsrespond.hunt.analytics.activity import READ_SQL, SENSITIVE_SQL, calls_lookup_sql
from awsrespond.hunt.analytics.network import network_of
from awsrespond.hunt.analytics.useragent import ua_family
from awsrespond.hunt.detections import Window
from awsrespond.timeutil import as_utc

VIEW = "awsr_events"
HISTORY = "awsr_hist"
WINDOW = "awsr_win"
MATERIALISED_WINDOW = 1_000_000
"""A window of up to this many events is copied once (compact: no blobs but the few read); a bigger
one is read through the view each time, to keep memory bounded."""
PARAMETER_EVENTS = frozenset({
    "ConsoleLogin", "AssumeRole", "CreateRole", "UpdateAssumeRolePolicy", "PutUserPolicy", "PutRolePolicy",
    "PutGroupPolicy", "CreatePolicyVersion", "AttachGroupPolicy", "AddUserToGroup", "RunInstances",
    "RequestSpotInstances", "RequestSpotFleet", "CreateFleet",
})
"""The calls whose request, response or additional data an analytic reads."""
_VERSION_NUMBERS = r"'([/#])[0-9][0-9.]*'"
INSTANCE_ID = r"^i-[0-9a-f]{8}([0-9a-f]{9})?$"

# The principal a caller's history is kept under, from its ARN alone (computed once per distinct ARN):
# a user, the root user, a federated user as they are; a role session as its role
# (``arn:aws:sts::123456789012:assumed-role/Name/session`` -> ``arn:aws:iam::123456789012:role/Name``; the
# role's path is not in the session ARN), except Identity Center roles, where the session is the person.
_IDENTITIES = r"""
    SELECT arn, CASE
        WHEN resource LIKE 'assumed-role/%' THEN CASE
            WHEN starts_with(split_part(resource, '/', 2), 'AWSReservedSSO_') THEN arn
            ELSE 'arn:' || split_part(arn, ':', 2) || ':iam::' || split_part(arn, ':', 5) || ':role/'
                 || split_part(resource, '/', 2)
        END
        WHEN resource LIKE 'user/%' OR resource = 'root' OR resource LIKE 'federated-user/%' THEN arn
    END AS principal,
    CASE WHEN resource LIKE 'assumed-role/%' THEN split_part(resource, '/', 3) END AS session_name
    FROM (SELECT arn, split_part(arn, ':', 6) AS resource
          FROM (SELECT DISTINCT userIdentity.arn AS arn FROM events WHERE userIdentity.arn IS NOT NULL))"""
# Records without an ARN (a failed console sign-in names only the user) get theirs from the parts.
_PRINCIPAL_WITHOUT_ARN = """CASE e.userIdentity.type
        WHEN 'IAMUser' THEN 'arn:aws:iam::' || e.userIdentity.accountId || ':user/' || e.userIdentity.userName
        WHEN 'Root' THEN 'arn:aws:iam::' || e.userIdentity.accountId || ':root' END"""
_IPV4 = r"'^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$'"
# Networks of every distinct IPv4 address, in SQL (``TRY_CAST``: 256 is not an octet; leading zeros go).
_NETS_V4 = f"""
    SELECT ip, a || '.' || b || '.' || c || '.0/24' AS net, a || '.' || b || '.0.0/16' AS wide,
           a = 10 OR (a = 172 AND b BETWEEN 16 AND 31) OR (a = 192 AND b = 168) OR a = 127
           OR (a = 169 AND b = 254) OR (a = 100 AND b BETWEEN 64 AND 127) AS internal
    FROM (
        SELECT ip, TRY_CAST(o.a AS UTINYINT) AS a, TRY_CAST(o.b AS UTINYINT) AS b, TRY_CAST(o.c AS UTINYINT) AS c,
               TRY_CAST(o.d AS UTINYINT) AS d
        FROM (SELECT ip, regexp_extract(ip, {_IPV4}, ['a', 'b', 'c', 'd']) AS o
              FROM (SELECT DISTINCT sourceIPAddress AS ip FROM events WHERE sourceIPAddress IS NOT NULL)))
    WHERE a IS NOT NULL AND b IS NOT NULL AND c IS NOT NULL AND d IS NOT NULL"""


def _view_sql() -> str:
    return f"""
    CREATE OR REPLACE TEMP VIEW {VIEW} AS
    SELECT *,
        ptype = 'AssumedRole' AND (has_role_delivery OR instance_by_name) AS instance_session
    FROM (
        SELECT
            e.rowid AS rid, e.eventTime AS t, e.eventID AS event_id, e.eventName AS name,
            e.eventSource AS src, e.awsRegion AS region,
            e.sourceIPAddress AS ip, e.userAgent AS ua, e.errorCode AS err,
            e.userIdentity.type AS ptype, nullif(e.userIdentity.accessKeyId, '') AS akey,
            coalesce(nullif(e.userIdentity.accountId, ''), e.recipientAccountId) AS acct,
            e.recipientAccountId AS recipient, e.userIdentity.arn AS arn,
            CASE WHEN e.userIdentity.arn IS NULL THEN {_PRINCIPAL_WITHOUT_ARN} ELSE i.principal END AS principal,
            i.session_name, coalesce(i.instance_by_name, FALSE) AS instance_by_name,
            contains(CAST(e.userIdentity.sessionContext AS VARCHAR), '"ec2RoleDelivery"') AS has_role_delivery,
            n.net, n.wide, n.internal, u.family,
            {READ_SQL} AS is_read, {SENSITIVE_SQL} AS is_sensitive, coalesce(k.is_global, FALSE) AS is_global,
            CASE WHEN e.eventName = 'ConsoleLogin' THEN CASE
                WHEN e.responseElements->>'ConsoleLogin' = 'Success' AND e.errorCode IS NULL THEN 'success'
                WHEN e.responseElements->>'ConsoleLogin' = 'Failure' OR e.errorCode IS NOT NULL THEN 'failure'
            END END AS login,
            e.requestParameters AS params, e.responseElements AS response,
            e.additionalEventData AS additional
        FROM events e
        LEFT JOIN awsr_nets n ON n.ip = e.sourceIPAddress
        LEFT JOIN awsr_agents u ON u.ua = e.userAgent
        LEFT JOIN awsr_identities i ON i.arn = e.userIdentity.arn
        LEFT JOIN awsr_calls k ON k.src = e.eventSource AND k.name = e.eventName
        WHERE e.eventTime IS NOT NULL
    )
    """


def _history_sql() -> str:
    return f"""
    CREATE OR REPLACE TEMP TABLE {HISTORY} AS
    SELECT principal, ptype, acct, floor(epoch(t) / 86400)::BIGINT AS day, net, wide, internal, family, region,
           is_global, instance_session, CASE WHEN instance_session THEN session_name END AS instance,
           net IS NOT NULL AS addressed, NOT is_read AND err IS NULL AS wrote,
           count(*) AS n, min(t) AS first
    FROM {VIEW} WHERE t < $since
    GROUP BY ALL
    """


def _window_sql(since: datetime | None, until: datetime | None, kind: str) -> str:
    """``awsr_win``: the window's events, a table when small enough to hold, else a view. Compact: no
    user agent (its family is there), the ARN only where there is no principal, event ids and blobs
    only for the calls whose parameters an analytic reads."""
    clauses = ["TRUE"]
    if since is not None:
        clauses.append(f"t >= TIMESTAMPTZ '{since.isoformat()}'")
    if until is not None:
        clauses.append(f"t <= TIMESTAMPTZ '{until.isoformat()}'")
    names = ", ".join(f"'{n}'" for n in sorted(PARAMETER_EVENTS))
    return f"""
    CREATE OR REPLACE TEMP {kind} {WINDOW} AS
    SELECT * EXCLUDE (params, response, additional, ua, arn, event_id, has_role_delivery, instance_by_name),
           CASE WHEN principal IS NULL THEN arn END AS arn,
           CASE WHEN name IN ({names}) THEN event_id END AS event_id,
           CASE WHEN name IN ({names}) THEN params END AS params,
           CASE WHEN name IN ({names}) THEN response END AS response,
           CASE WHEN name IN ({names}) THEN additional END AS additional
    FROM {VIEW} WHERE {" AND ".join(clauses)}"""


def _state(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    row = con.execute("SELECT count(*), coalesce(max(rowid), -1) FROM events").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, -1)



def _count(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> int:
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def _temp_kind(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """``TABLE``, ``VIEW`` or None for a temporary object of this connection."""
    if _count(con, "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [name]):
        return "TABLE"
    if _count(con, "SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = ?", [name]):
        return "VIEW"
    return None


def _prepared_for(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    if _temp_kind(con, "awsr_prepared") is None:
        return None
    return con.execute("SELECT events, last_rowid, since, until FROM awsr_prepared").fetchone()


def _lookup(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, tuple[str, list[Any]]]) -> None:
    selected = ", ".join(f"unnest(${name}::{kind}[]) AS {name}" for name, (kind, _) in columns.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {selected}",
                {name: values for name, (_, values) in columns.items()})


def _agent_families(con: duckdb.DuckDBPyConnection) -> None:
    """``awsr_agents(ua, family)``. Agents differ mostly by version numbers; those are blanked in SQL
    first, so Python sees each distinct shape of agent once."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE awsr_agent_shapes AS
                    SELECT ua, regexp_replace(ua, {_VERSION_NUMBERS}, '\\1', 'g') AS shape
                    FROM (SELECT DISTINCT userAgent AS ua FROM events WHERE userAgent IS NOT NULL)""")
    shapes = [r[0] for r in con.execute("SELECT DISTINCT shape FROM awsr_agent_shapes").fetchall()]
    families = [(shape, f) for shape in shapes if (f := ua_family(shape)) is not None]
    _lookup(con, "awsr_shape_families", {"shape": ("VARCHAR", [a for a, _ in families]),
                                         "family": ("VARCHAR", [f for _, f in families])})
    con.execute("""CREATE OR REPLACE TEMP TABLE awsr_agents AS
                   SELECT a.ua, f.family FROM awsr_agent_shapes a JOIN awsr_shape_families f ON f.shape = a.shape""")
    con.execute("DROP TABLE awsr_agent_shapes")
    con.execute("DROP TABLE awsr_shape_families")


def ensure_prepared(con: duckdb.DuckDBPyConnection, since: datetime | None, until: datetime | None = None) -> None:
    """Create the lookups and the view (again when events were added), the history aggregate for
    ``since`` (empty without it) and the window's events (again when the window changed)."""
    state = _state(con)
    prepared = _prepared_for(con)
    fresh = prepared is not None and tuple(prepared[:2]) == state
    if not fresh:
        addresses = [r[0] for r in con.execute(
            "SELECT DISTINCT sourceIPAddress FROM events WHERE contains(sourceIPAddress, ':')").fetchall()]
        networks = [(a, n) for a in addresses if (n := network_of(a)) is not None]
        _lookup(con, "awsr_nets6", {"ip": ("VARCHAR", [a for a, _ in networks]),
                                    "net": ("VARCHAR", [n.net for _, n in networks]),
                                    "wide": ("VARCHAR", [n.wide for _, n in networks]),
                                    "internal": ("BOOLEAN", [n.internal for _, n in networks])})
        con.execute(f"CREATE OR REPLACE TEMP TABLE awsr_nets AS {_NETS_V4} UNION ALL SELECT * FROM awsr_nets6")
        con.execute(f"""CREATE OR REPLACE TEMP TABLE awsr_identities AS
                        SELECT *, regexp_matches(coalesce(session_name, ''), '{INSTANCE_ID}') AS instance_by_name
                        FROM ({_IDENTITIES})""")
        con.execute(f"CREATE OR REPLACE TEMP TABLE awsr_calls AS {calls_lookup_sql()}")
        _agent_families(con)
        con.execute(_view_sql())
    if fresh and prepared is not None and prepared[2] == since and prepared[3] == until:
        return
    if not fresh or prepared is None or prepared[2] != since:
        if since is None:
            con.execute(_history_sql().replace("t < $since", "FALSE"))
        else:
            con.execute(_history_sql(), {"since": since})
    size = _count(con, "SELECT count(*) FROM events WHERE ($since IS NULL OR eventTime >= $since) "
                  "AND ($until IS NULL OR eventTime <= $until)", {"since": since, "until": until})
    kind = "TABLE" if size <= MATERIALISED_WINDOW else "VIEW"
    existing = _temp_kind(con, WINDOW)
    if existing is not None and existing != kind:
        con.execute(f"DROP {existing} {WINDOW}")
    con.execute(_window_sql(since, until, kind))
    con.execute("CREATE OR REPLACE TEMP TABLE awsr_prepared AS SELECT $events AS events, $last AS last_rowid, "
                "$since::TIMESTAMPTZ AS since, $until::TIMESTAMPTZ AS until",
                {"events": state[0], "last": state[1], "since": since, "until": until})


@dataclass(frozen=True)
class Scope:
    """The window and the history before it, as SQL fragments with ``$since``/``$until`` parameters."""

    since: datetime | None
    until: datetime | None

    @classmethod
    def of(cls, window: Window) -> Scope:
        return cls(
            as_utc(window.since) if window.since is not None else None,
            as_utc(window.until) if window.until is not None else None,
        )

    @property
    def has_history(self) -> bool:
        return self.since is not None

    def win(self, column: str = "t") -> str:
        clauses = []
        if self.since is not None:
            clauses.append(f"{column} >= $since")
        if self.until is not None:
            clauses.append(f"{column} <= $until")
        return "(" + (" AND ".join(clauses) or "TRUE") + ")"

    def hist(self, column: str = "t") -> str:
        """Before the window: what is normal. Nothing when there is no ``since``."""
        return f"({column} < $since)" if self.since is not None else "FALSE"

    def rows(self, con: duckdb.DuckDBPyConnection, sql: str, **extra: Any) -> list[tuple[Any, ...]]:
        """Run ``sql`` with the window's parameters (and ``extra``), passing only those it names."""
        available: dict[str, Any] = {"since": self.since, "until": self.until, **extra}
        params = {name: value for name, value in available.items() if re.search(rf"\${name}\b", sql)}
        return con.execute(sql, params).fetchall()


def prepared(con: duckdb.DuckDBPyConnection, window: Window) -> Scope:
    """The window as a :class:`Scope`, with the view, the history aggregate and the window's events
    ready for it."""
    scope = Scope.of(window)
    ensure_prepared(con, scope.since, scope.until)
    return scope
