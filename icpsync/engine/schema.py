"""The state store's schema: its tables, its version, and the steps that upgrade an older
database to it (see :mod:`icpsync.engine.state` for what the rows mean).

Every table's rows belong to a connection and an org; version 3 added the org (old rows
get an empty one, adopted later by ``StateStore.adopt_org``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import CreateTable
from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_fixed

SCHEMA_VERSION = 7
#: the longest org id kept (a Salesforce id is 18, a portal id ~10, a file path may be more).
ORG_LENGTH = 255
metadata = MetaData()

meta = Table(
    "icpsync_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)
runs = Table(
    "icpsync_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("connection", String(64), nullable=False, index=True),
    Column("org", String(ORG_LENGTH), nullable=False, server_default=""),
    Column("mode", String(16), nullable=False),
    Column("started_at", String(40), nullable=False),
    Column("profile_version", String(32), nullable=False),
    Column("complete", Boolean, nullable=False),
    Column("report", Text, nullable=False),
    # version 3: what the run came to (see RUN_STATUSES) and the lease token it ran under.
    Column("status", String(16)),
    Column("holder", String(128)),
)
#: running, then one of the others; ``crashed`` is found later (see ``list_runs``).
RUN_STATUSES = ("running", "complete", "partial", "stopped", "failed", "crashed")
cursors = Table(
    "icpsync_cursors",
    metadata,
    Column("connection", String(64), primary_key=True),
    Column("org", String(ORG_LENGTH), primary_key=True, server_default=""),
    Column("object", String(64), primary_key=True),
    Column("value", String(40), nullable=False),
)
#: no index on ``run_id`` (version 5 dropped it): nothing looks history up by run, and it
#: cost every row written a second index entry. Since version 7 a row's
#: :data:`HISTORY_OF_RUN` columns are NULL when they hold its run's values (a sync's rows
#: all do): stored once, in the run's row, not in every row of the run.
history = Table(
    "icpsync_score_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False),
    Column("connection", String(64)),
    Column("org", String(ORG_LENGTH), server_default=""),
    Column("account_id", String(64), nullable=False, index=True),
    Column("at", String(40)),
    Column("old_score", Integer),
    Column("new_score", Integer, nullable=False),
    Column("old_tier", String(16)),
    Column("new_tier", String(16), nullable=False),
    Column("flags", String(255), nullable=False),
    Column("profile_version", String(32)),
)
#: a history row's column -> its run's column holding the value the row leaves NULL.
HISTORY_OF_RUN = {
    "connection": runs.c.connection,
    "org": runs.c.org,
    "at": runs.c.started_at,
    "profile_version": runs.c.profile_version,
}
drift_log = Table(
    "icpsync_drift",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False),
    Column("connection", String(64), nullable=False, index=True),
    Column("org", String(ORG_LENGTH), nullable=False, server_default=""),
    Column("at", String(40), nullable=False),
    Column("data", Text, nullable=False),
)
baselines = Table(
    "icpsync_profile_baselines",
    metadata,
    Column("connection", String(64), primary_key=True),
    Column("org", String(ORG_LENGTH), primary_key=True, server_default=""),
    Column("profile_version", String(32), primary_key=True),
    Column("share", Float, nullable=False),
    Column("at", String(40), nullable=False),
)
#: each connection's opportunities, so incremental runs read only those that changed.
opportunities = Table(
    "icpsync_opportunities",
    metadata,
    Column("connection", String(64), primary_key=True),
    Column("org", String(ORG_LENGTH), primary_key=True, server_default=""),
    Column("id", String(64), primary_key=True),
    Column("account_id", String(64)),
    Column("is_closed", Boolean, nullable=False),
    Column("is_won", Boolean, nullable=False),
    Column("amount", Float),
    Column("created", String(10)),
    Column("closed", String(10)),
    Column("last_modified", String(40)),
    Index("ix_icpsync_opportunities_account", "connection", "org", "account_id"),
)
#: accounts whose deals changed in a run that has not completed yet: the next run reads them.
dirty_accounts = Table(
    "icpsync_dirty_accounts",
    metadata,
    Column("connection", String(64), primary_key=True),
    Column("org", String(ORG_LENGTH), primary_key=True, server_default=""),
    Column("account_id", String(64), primary_key=True),
)
leases = Table(
    "icpsync_leases",
    metadata,
    Column("connection", String(64), primary_key=True),
    Column("org", String(ORG_LENGTH), primary_key=True, server_default=""),
    Column("holder", String(128), nullable=False),
    Column("expires_at", Float, nullable=False),
)

#: what the run last wrote to each account's tool-owned fields, to tell a rep's direct edit
#: from our own value; ``rep_tier``/``rep_was`` keep a rep's tier that became the override
#: (``[sync] human_edits = "keep"``) and the tier we had written before it. On SQLite
#: ``WITHOUT ROWID`` (version 6): the rows are kept in their key's B-tree alone, not in a
#: table and again in the key's index.
written = Table(
    "icpsync_written",
    metadata,
    Column("connection", String(64), primary_key=True),
    Column("org", String(ORG_LENGTH), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("tier", String(16), nullable=False),
    Column("score", Integer),
    Column("rep_tier", String(16)),
    Column("rep_was", String(16)),
    sqlite_with_rowid=False,
)

#: records whose writes the CRM refuses for good (validation rule, invalid value, deleted
#: record, field-level security) or that the reader could not place: the run goes on
#: without them and they are retried on the next full run or ``sync --retry-failed``.
#: New at version 4, so ``create_all`` makes it with the org already in its key.
failures = Table(
    "icpsync_failures",
    metadata,
    Column("connection", String(64), primary_key=True),
    Column("org", String(ORG_LENGTH), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("first_seen", String(40), nullable=False),
    Column("last_seen", String(40), nullable=False),
    Column("attempts", Integer, nullable=False),
)

#: tables of version 2 whose rows belong to an org, and (for the migration) those whose key
#: includes it. Tables added later (``icpsync_written``, ``icpsync_failures``) are created
#: with the org and are not migrated.
ORG_TABLES = (runs, cursors, history, drift_log, baselines, opportunities, dirty_accounts, leases)
_ORG_KEYED = (cursors, baselines, opportunities, dirty_accounts, leases)


def _add_org(conn: Connection) -> None:
    """Version 3: an ``org`` column everywhere, empty on old rows (adopted later).

    Tables without the org in their key get the column; tables keyed by connection are
    rebuilt with the org in the key (SQLite cannot change a primary key in place); the
    columns the old table had are copied, whatever the current definition adds. A table
    that already has the column was not there at version 2 (``create_all`` just made it
    in its current shape) and is left alone.
    """
    for table in ORG_TABLES:
        if "org" in {c["name"] for c in inspect(conn).get_columns(table.name)}:
            continue
        if table not in _ORG_KEYED:
            conn.exec_driver_sql(
                f"ALTER TABLE {table.name} ADD COLUMN org VARCHAR({ORG_LENGTH}) NOT NULL DEFAULT ''"
            )
            continue
        old = f"{table.name}_v2"
        for index in table.indexes:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
        conn.exec_driver_sql(f"ALTER TABLE {table.name} RENAME TO {old}")
        if conn.dialect.name == "postgresql":  # the key's index keeps its name otherwise
            conn.exec_driver_sql(f"ALTER INDEX IF EXISTS {table.name}_pkey RENAME TO {old}_pkey")
        kept = {c["name"] for c in inspect(conn).get_columns(old)}
        table.create(conn)
        names = ", ".join(c.name for c in table.columns if c.name in kept)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {old}")
        conn.exec_driver_sql(f"DROP TABLE {old}")


def _rebuild(conn: Connection, table: Table, version: int) -> None:
    """Make ``table`` again as it is defined now (SQLite cannot change a column's or a
    table's kind in place), keeping its rows and their ids, then its indexes. The copy is
    made under a new name (``<table>_v<version>``) and takes the old one in the transaction
    of the rows' copy (a copy cut short leaves only itself, dropped by the next attempt)."""
    new = f"{table.name}_v{version}"
    create = str(CreateTable(table).compile(dialect=conn.dialect)).strip()
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {new}")
    conn.exec_driver_sql(create.replace(f"TABLE {table.name} ", f"TABLE {new} ", 1))
    names = ", ".join(c.name for c in table.columns)
    conn.exec_driver_sql(f"INSERT INTO {new} ({names}) SELECT {names} FROM {table.name}")
    conn.exec_driver_sql(f"DROP TABLE {table.name}")
    conn.exec_driver_sql(f"ALTER TABLE {new} RENAME TO {table.name}")
    for index in table.indexes:
        index.create(conn)


def _written_without_rowid(conn: Connection) -> None:
    """Version 6, on SQLite: the written values' table rebuilt ``WITHOUT ROWID`` (a table
    that already is, made by ``create_all`` just now, is left alone); other databases keep
    theirs."""
    if conn.dialect.name != "sqlite":
        return
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (written.name,)
    ).scalar()
    if sql is None or "WITHOUT ROWID" in sql.upper():
        return
    _rebuild(conn, written, 6)


def _history_of_run_nullable(conn: Connection) -> None:
    """Version 7: the history's :data:`HISTORY_OF_RUN` columns may be NULL (the rows kept
    hold their values; a table that already allows it, made by ``create_all`` just now,
    is left alone). On SQLite the table is rebuilt, elsewhere altered."""
    nullable = {c["name"]: c["nullable"] for c in inspect(conn).get_columns(history.name)}
    if all(nullable[name] for name in HISTORY_OF_RUN):
        return
    if conn.dialect.name == "sqlite":
        _rebuild(conn, history, 7)
        return
    for name in HISTORY_OF_RUN:
        conn.exec_driver_sql(f"ALTER TABLE {history.name} ALTER COLUMN {name} DROP NOT NULL")


#: schema version -> statements (or a function of the connection) that bring the previous
#: version up to it (new tables are created by ``create_all``; version 2 added
#: ``icpsync_opportunities`` and ``icpsync_dirty_accounts``; version 3 keys state by org;
#: version 4 adds ``icpsync_failures`` and the runs' status and lease holder; version 5
#: drops the history's index on ``run_id``; version 6 makes the written values' table
#: ``WITHOUT ROWID`` on SQLite; version 7 lets a history row leave its run's connection,
#: org, time and profile version to the run's row).
MIGRATIONS: dict[int, list[str] | Any] = {
    2: [],
    3: _add_org,
    4: [
        "ALTER TABLE icpsync_runs ADD COLUMN status VARCHAR(16)",
        "ALTER TABLE icpsync_runs ADD COLUMN holder VARCHAR(128)",
    ],
    5: ["DROP INDEX IF EXISTS ix_icpsync_score_history_run_id"],
    6: _written_without_rowid,
    7: _history_of_run_nullable,
}


def _created_meanwhile(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "already exists" in str(exc)


def upgrade(engine: Engine) -> None:
    """Create the tables that are missing and bring an older database to ``SCHEMA_VERSION``."""
    # Another process may be creating the same tables: wait for it, for a few seconds.
    for attempt in Retrying(
        retry=retry_if_exception(_created_meanwhile),
        stop=stop_after_delay(5) | stop_after_attempt(20),
        wait=wait_fixed(0.05),
        reraise=True,
    ):
        with attempt:
            metadata.create_all(engine)
    with engine.begin() as conn:
        row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
        current = int(row[0]) if row else 0
        if current == 0:
            conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
            return
        for version in range(current + 1, SCHEMA_VERSION + 1):
            step = MIGRATIONS.get(version, [])
            if callable(step):
                step(conn)
                continue
            for statement in step:
                conn.exec_driver_sql(statement)
        if current < SCHEMA_VERSION:
            conn.execute(
                update(meta).where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION))
            )
