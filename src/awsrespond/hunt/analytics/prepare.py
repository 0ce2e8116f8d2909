"""What every analytic reads: the ``awsr_events`` view over ``events``, and the window as SQL.

The view adds, per event, the principal its history is kept under, the caller's network, the user
agent family, and what kind of call it is. Networks and families are worked out in Python once per
distinct address and agent (thousands, not millions) into two temporary lookup tables; everything
per event stays in DuckDB. The lookups are rebuilt when the events table has grown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from awsrespond.hunt.analytics.activity import BASE_NAME_SQL, read_sql, sensitive_sql
from awsrespond.hunt.analytics.network import network_of
from awsrespond.hunt.analytics.useragent import ua_family
from awsrespond.hunt.detections import Window
from awsrespond.timeutil import as_utc

VIEW = "awsr_events"
GLOBAL_SOURCES = (
    "iam.amazonaws.com", "signin.amazonaws.com", "sts.amazonaws.com", "organizations.amazonaws.com",
    "route53.amazonaws.com", "route53domains.amazonaws.com", "cloudfront.amazonaws.com",
    "globalaccelerator.amazonaws.com", "health.amazonaws.com", "support.amazonaws.com", "budgets.amazonaws.com",
    "ce.amazonaws.com", "account.amazonaws.com", "billingconsole.amazonaws.com", "trustedadvisor.amazonaws.com",
    "shield.amazonaws.com", "waf.amazonaws.com", "sso.amazonaws.com", "notifications.amazonaws.com",
)
"""Services whose events land in one region whatever the caller does: no signal in their region."""

INSTANCE_ID = r"^i-[0-9a-f]{8}([0-9a-f]{9})?$"

_PRINCIPAL = r"""
    CASE e.userIdentity.type
        WHEN 'IAMUser' THEN coalesce(e.userIdentity.arn,
                                     'arn:aws:iam::' || e.userIdentity.accountId || ':user/' || e.userIdentity.userName)
        WHEN 'Root' THEN coalesce(e.userIdentity.arn, 'arn:aws:iam::' || e.userIdentity.accountId || ':root')
        WHEN 'FederatedUser' THEN e.userIdentity.arn
        WHEN 'AssumedRole' THEN CASE
            -- Identity Center: one role for many people; the session name is the person.
            WHEN e.userIdentity.arn LIKE '%:assumed-role/AWSReservedSSO\_%' ESCAPE '\' THEN e.userIdentity.arn
            ELSE coalesce(e.userIdentity.sessionContext->>'$.sessionIssuer.arn',
                          regexp_replace(e.userIdentity.arn, '^arn:([^:]+):sts::(\d+):assumed-role/([^/]+)/.*$',
                                         'arn:\1:iam::\2:role/\3'))
        END
    END"""


def _view_sql() -> str:
    global_sources = ", ".join(f"'{s}'" for s in GLOBAL_SOURCES)
    return f"""
    CREATE OR REPLACE TEMP VIEW {VIEW} AS
    SELECT *,
        ptype = 'AssumedRole' AND (has_role_delivery OR regexp_matches(coalesce(session_name, ''), '{INSTANCE_ID}'))
            AS instance_session
    FROM (
        SELECT
            e.rowid AS rid, e.eventTime AS t, e.eventID AS event_id, e.eventName AS name,
            {BASE_NAME_SQL} AS base_name, e.eventSource AS src, e.awsRegion AS region,
            e.sourceIPAddress AS ip, e.userAgent AS ua, e.errorCode AS err,
            e.userIdentity.type AS ptype, nullif(e.userIdentity.accessKeyId, '') AS akey,
            coalesce(nullif(e.userIdentity.accountId, ''), e.recipientAccountId) AS acct,
            e.recipientAccountId AS recipient, e.userIdentity.arn AS arn,
            {_PRINCIPAL} AS principal,
            CASE WHEN e.userIdentity.type = 'AssumedRole'
                 THEN regexp_extract(e.userIdentity.arn, 'assumed-role/[^/]+/(.+)$', 1) END AS session_name,
            e.userIdentity.sessionContext->>'$.ec2RoleDelivery' IS NOT NULL AS has_role_delivery,
            n.net, n.wide, n.internal, u.family,
            {read_sql()} AS is_read, {sensitive_sql()} AS is_sensitive,
            e.eventSource IN ({global_sources}) AS is_global,
            CASE WHEN e.eventName = 'ConsoleLogin' THEN CASE
                WHEN e.responseElements->>'ConsoleLogin' = 'Success' AND e.errorCode IS NULL THEN 'success'
                WHEN e.responseElements->>'ConsoleLogin' = 'Failure' OR e.errorCode IS NOT NULL THEN 'failure'
            END END AS login,
            e.requestParameters AS params, e.responseElements AS response,
            e.additionalEventData AS additional
        FROM events e
        LEFT JOIN awsr_nets n ON n.ip = e.sourceIPAddress
        LEFT JOIN awsr_agents u ON u.ua = e.userAgent
        WHERE e.eventTime IS NOT NULL
    )
    """


def _state(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    row = con.execute("SELECT count(*), coalesce(max(rowid), -1) FROM events").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, -1)


def _prepared_state(con: duckdb.DuckDBPyConnection) -> tuple[int, int] | None:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'awsr_prepared'"
    ).fetchone()
    if not exists or not exists[0]:
        return None
    row = con.execute("SELECT events, last_rowid FROM awsr_prepared").fetchone()
    return (int(row[0]), int(row[1])) if row else None


def ensure_prepared(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or refresh, when events were added) the lookups and the ``awsr_events`` view."""
    state = _state(con)
    if _prepared_state(con) == state:
        return
    addresses = [r[0] for r in con.execute(
        "SELECT DISTINCT sourceIPAddress FROM events WHERE sourceIPAddress IS NOT NULL").fetchall()]
    networks = [(a, n) for a in addresses if (n := network_of(a)) is not None]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE awsr_nets AS SELECT unnest($ip::VARCHAR[]) AS ip, "
        "unnest($net::VARCHAR[]) AS net, unnest($wide::VARCHAR[]) AS wide, unnest($internal::BOOLEAN[]) AS internal",
        {"ip": [a for a, _ in networks], "net": [n.net for _, n in networks],
         "wide": [n.wide for _, n in networks], "internal": [n.internal for _, n in networks]},
    )
    agents = [r[0] for r in con.execute("SELECT DISTINCT userAgent FROM events WHERE userAgent IS NOT NULL").fetchall()]
    families = [(a, f) for a in agents if (f := ua_family(a)) is not None]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE awsr_agents AS SELECT unnest($ua::VARCHAR[]) AS ua, "
        "unnest($family::VARCHAR[]) AS family",
        {"ua": [a for a, _ in families], "family": [f for _, f in families]},
    )
    con.execute(_view_sql())
    con.execute("CREATE OR REPLACE TEMP TABLE awsr_prepared AS SELECT $events AS events, $last AS last_rowid",
                {"events": state[0], "last": state[1]})


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
    ensure_prepared(con)
    return Scope.of(window)
