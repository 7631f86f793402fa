"""Run state in SQL (SQLite by default, any SQLAlchemy URL): runs, cursors, score history,
drift log, profile baselines, quarantined records and the run lease. The schema is created
and upgraded here.

Everything a run keeps belongs to a connection (the connector's name) *and* an org: the
CRM identity the connector reported at the start of the run (Salesforce organization id,
HubSpot portal id, the file connector's resolved accounts path). A second org under the
same state folder has its own lease, cursors, deal copy, history, written values, drift
baselines and quarantine, so its first sync is a full one.

State from before orgs were kept (schema version 2) is migrated in place: every table gets
an ``org`` column, empty on the old rows, and those rows are *adopted by the first org seen*
(:meth:`StateStore.adopt_org`, called at the start of every run): the org a state folder was
used with is nearly always the one it is used with after an upgrade. Pointing an upgraded
state folder at a different org first would hand it the old org's cursor once; clear the
folder (or run ``sync --full``) in that case.

The lease fences the writes that matter: a cursor moves, and a run is finished, only in a
transaction that first touches the lease row *as its holder* (``UPDATE ... WHERE holder =
token``). The update takes the row's write lock, so a takeover waits for that transaction
and then finds the lease renewed; a run whose lease was taken over writes nothing.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
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
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_fixed

from icpsync.core.errors import RunLocked
from icpsync.core.model import ScoreUpdate
from icpsync.engine.run_report import RunReport

SCHEMA_VERSION = 4
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
history = Table(
    "icpsync_score_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False, index=True),
    Column("connection", String(64), nullable=False),
    Column("org", String(ORG_LENGTH), nullable=False, server_default=""),
    Column("account_id", String(64), nullable=False, index=True),
    Column("at", String(40), nullable=False),
    Column("old_score", Integer),
    Column("new_score", Integer, nullable=False),
    Column("old_tier", String(16)),
    Column("new_tier", String(16), nullable=False),
    Column("flags", String(255), nullable=False),
    Column("profile_version", String(32), nullable=False),
)
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
#: (``[sync] human_edits = "keep"``) and the tier we had written before it.
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


#: schema version -> statements (or a function of the connection) that bring the previous
#: version up to it (new tables are created by ``create_all``; version 2 added
#: ``icpsync_opportunities`` and ``icpsync_dirty_accounts``; version 3 keys state by org;
#: version 4 adds ``icpsync_failures`` and the runs' status and lease holder).
MIGRATIONS: dict[int, list[str] | Any] = {
    2: [],
    3: _add_org,
    4: [
        "ALTER TABLE icpsync_runs ADD COLUMN status VARCHAR(16)",
        "ALTER TABLE icpsync_runs ADD COLUMN holder VARCHAR(128)",
    ],
}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Write-ahead log and no fsync per commit: a crash keeps the database consistent
    (it may lose the last commits, which a run repeats: cursors move last)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in one executemany: the state store's one
    way to write many rows.

    On SQLite the INSERT is compiled once and the driver gets plain tuples: SQLAlchemy's
    per-row parameter handling cost about as much as SQLite's own work on a large sync.
    Other databases get SQLAlchemy's executemany, which batches the rows into multi-row
    INSERTs (a driver's own executemany may make one round trip per row there).
    """
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), list(rows))
        return
    dialect = conn.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    order = compiled.positiontup
    assert order is not None  # SQLite's parameters are positional
    # The columns' own conversions (a bool as 0/1, an int as a float in a Float column).
    steps = [(k, table.c[k].type.dialect_impl(dialect).bind_processor(dialect)) for k in order]
    params = [tuple([r[k] if f is None else f(r[k]) for k, f in steps]) for r in rows]
    conn.exec_driver_sql(compiled.string, params)


def _fence(conn: Any, connection: str, org: str, holder: str, seconds: float | None = None) -> bool:
    """Touch the org's lease row as ``holder`` (pushing its expiry ``seconds`` ahead when
    given): True when ``holder`` holds it. The row stays write-locked until ``conn`` commits."""
    expires = leases.c.expires_at if seconds is None else time.time() + seconds
    touched = conn.execute(
        update(leases)
        .where(*_owned(leases, connection, org), leases.c.holder == holder)
        .values(expires_at=expires)
    ).rowcount
    return bool(touched)


def _put_cursor(conn: Any, connection: str, org: str, obj: str, value: datetime) -> None:
    where = (*_owned(cursors, connection, org), cursors.c.object == obj)
    done = conn.execute(update(cursors).where(*where).values(value=value.isoformat())).rowcount
    if not done:
        conn.execute(
            insert(cursors).values(
                connection=connection, org=org, object=obj, value=value.isoformat()
            )
        )


def _status_of(row: Any, live: dict[str, float], now: float) -> str:
    """A run's status; a run marked running whose lease is gone, expired or held by a dead
    process on this host died without finishing: ``crashed``."""
    status = row.status
    if status is None:  # recorded before version 3
        report = json.loads(row.report)
        if row.complete:
            return "complete"
        return (
            "stopped" if report.get("stopped") else "failed" if report.get("failed") else "crashed"
        )
    if status == "running":
        expires = live.get(row.holder or "")
        if expires is None or expires < now or _holder_is_dead(row.holder):
            return "crashed"
    return str(status)


def _holder_is_dead(holder: str | None) -> bool:
    """True when a lease holder ran on this host and its process no longer exists."""
    if not holder:
        return False
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _owned(table: Table, connection: str, org: str) -> tuple[Any, Any]:
    """The conditions selecting one connection's rows of one org."""
    return table.c.connection == connection, table.c.org == org


def _created_meanwhile(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "already exists" in str(exc)


class StateStore:
    """Everything icpsync remembers between runs.

    Args:
        url: a SQLAlchemy URL; ``sqlite:///path`` creates the folder and file on first use.
    """

    def __init__(self, url: str):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._upgrade()

    def _upgrade(self) -> None:
        # Another process may be creating the same tables: wait for it, for a few seconds.
        for attempt in Retrying(
            retry=retry_if_exception(_created_meanwhile),
            stop=stop_after_delay(5) | stop_after_attempt(20),
            wait=wait_fixed(0.05),
            reraise=True,
        ):
            with attempt:
                metadata.create_all(self.engine)
        with self.engine.begin() as conn:
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
                    update(meta)
                    .where(meta.c.key == "schema_version")
                    .values(value=str(SCHEMA_VERSION))
                )

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    # -- orgs ----------------------------------------------------------------------------

    def adopt_org(self, connection: str, org: str) -> int:
        """Give the rows kept before orgs were known (empty org) to ``org``; how many.

        Called at the start of every run: the first org seen after the upgrade takes them,
        later orgs find none (see the module docstring).
        """
        moved = 0
        with self.engine.begin() as conn:
            legacy = conn.execute(
                select(runs.c.id).where(runs.c.connection == connection, runs.c.org == "").limit(1)
            ).first()
            if legacy is None:  # every run since the upgrade names its org: nothing to adopt
                return 0
            for table in (*ORG_TABLES, written):
                if table is leases:
                    continue
                moved += conn.execute(
                    update(table)
                    .where(table.c.connection == connection, table.c.org == "")
                    .values(org=org)
                ).rowcount
        return moved

    # -- lease ---------------------------------------------------------------------------

    @contextmanager
    def lease(self, connection: str, *, org: str, seconds: int = 3600) -> Iterator[str]:
        """Hold the run lease of ``connection`` (one org of it) for the block.

        Raises:
            RunLocked: another live run holds it (an expired lease is taken over).
        """
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        now = time.time()
        mine = _owned(leases, connection, org)
        with self.engine.begin() as conn:
            try:
                conn.execute(
                    insert(leases).values(
                        connection=connection, org=org, holder=holder, expires_at=now + seconds
                    )
                )
                taken = True
            except IntegrityError:
                taken = False
        if not taken:
            with self.engine.begin() as conn:
                stale = conn.execute(select(leases.c.holder).where(*mine)).scalar()
                expired = leases.c.expires_at < now
                condition = expired if not _holder_is_dead(stale) else leases.c.holder == stale
                result = conn.execute(
                    update(leases)
                    .where(*mine, condition)
                    .values(holder=holder, expires_at=now + seconds)
                )
            if result.rowcount != 1:
                with self.engine.connect() as conn:
                    row = conn.execute(select(leases).where(*mine)).first()
                left = int(row.expires_at - now) if row else 0
                raise RunLocked(
                    f"another run of {connection!r} (org {org}) is in progress "
                    f"({row.holder if row else '?'}); "
                    f"its lease expires in {left} s"
                )
        try:
            yield holder
        finally:
            with self.engine.begin() as conn:
                conn.execute(delete(leases).where(*mine, leases.c.holder == holder))

    def renew_lease(self, connection: str, holder: str, *, org: str, seconds: float) -> bool:
        """Push the lease's expiry ``seconds`` ahead; False when it is no longer ours."""
        with self.engine.begin() as conn:
            return _fence(conn, connection, org, holder, seconds)

    # -- cursors -------------------------------------------------------------------------

    def cursor(self, connection: str, obj: str, *, org: str) -> datetime | None:
        """The stored cursor, or None before the org's first complete run."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(cursors.c.value).where(
                    *_owned(cursors, connection, org),
                    cursors.c.object == obj,
                )
            ).first()
        return datetime.fromisoformat(row[0]) if row else None

    def set_cursor(
        self, connection: str, obj: str, value: datetime, *, org: str, holder: str | None = None
    ) -> None:
        """Move the cursor (called only after the run's writes succeeded).

        Raises:
            LeaseLost: ``holder`` was given and no longer holds the lease: nothing moved.
        """
        from icpsync.core.errors import LeaseLost

        with self.engine.begin() as conn:
            if holder is not None and not _fence(conn, connection, org, holder):
                raise LeaseLost(f"the run lease of {connection!r} (org {org}) was taken over")
            _put_cursor(conn, connection, org, obj, value)

    def clear_cursor(self, connection: str, obj: str, *, org: str) -> None:
        """Forget a cursor: the next run reads that object in full."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(cursors).where(
                    *_owned(cursors, connection, org),
                    cursors.c.object == obj,
                )
            )

    # -- runs, history, drift ------------------------------------------------------------

    def start_run(self, report: RunReport, holder: str | None = None) -> int:
        """Record that a run began (status ``running`` until ``finish_run``); its id.

        Runs of the connection's org still marked running are dead (this one holds the
        org's lease): they are marked ``crashed``.
        """
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(
                    runs.c.connection == report.crm,
                    runs.c.org == (report.org or ""),
                    runs.c.status == "running",
                )
                .values(status="crashed")
            )
            inserted = conn.execute(
                insert(runs).values(
                    connection=report.crm,
                    org=report.org or "",
                    mode=report.mode,
                    started_at=report.started_at,
                    profile_version=report.profile_version,
                    complete=False,
                    report=json.dumps(report.to_dict(), default=str),
                    status="running",
                    holder=holder,
                )
            ).inserted_primary_key
        assert inserted is not None
        return int(inserted[0])

    def record_progress(self, run_id: int, report: RunReport) -> None:
        """Keep the counts a running run has reached (a run that dies keeps them)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status == "running")
                .values(mode=report.mode, report=json.dumps(report.to_dict(), default=str))
            )

    def record_history(
        self, run_id: int, connection: str, written: Sequence[ScoreUpdate], *, org: str
    ) -> None:
        """Keep the old and new values of every account a write just changed."""
        if not written:
            return
        with self.engine.begin() as conn:
            insert_rows(
                conn,
                history,
                [
                    {
                        "run_id": run_id,
                        "connection": connection,
                        "org": org,
                        "account_id": u.account_id,
                        "at": u.scored_at.isoformat(),
                        "old_score": u.previous.score,
                        "new_score": u.score,
                        "old_tier": u.previous.tier,
                        "new_tier": u.tier,
                        "flags": ";".join(u.flags)[:255],
                        "profile_version": u.profile_version,
                    }
                    for u in written
                ],
            )

    def finish_run(
        self,
        run_id: int,
        report: RunReport,
        at: datetime,
        *,
        holder: str | None = None,
        move_cursors: Mapping[str, datetime] | None = None,
    ) -> bool:
        """Store the final run report, its drift, the profile's baseline on first use and
        the cursors to move (of the report's org), in one transaction.

        With ``holder``, all of it happens only while ``holder`` holds the lease; a run that
        lost it is recorded as ``stopped`` (no drift, no baseline, no cursor) and False is
        returned.
        """
        org = report.org or ""
        with self.engine.begin() as conn:
            if holder is not None and not _fence(conn, report.crm, org, holder):
                report.stopped = report.stopped or "lost the run lease to another run"
                conn.execute(
                    update(runs)
                    .where(runs.c.id == run_id)
                    .values(
                        mode=report.mode,
                        complete=False,
                        status="stopped",
                        report=json.dumps(report.to_dict(), default=str),
                    )
                )
                return False
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(
                    mode=report.mode,
                    complete=report.complete,
                    status=report.status,
                    report=json.dumps(report.to_dict(), default=str),
                )
            )
            conn.execute(
                insert(drift_log).values(
                    run_id=run_id,
                    connection=report.crm,
                    org=org,
                    at=at.isoformat(),
                    data=json.dumps(report.drift, default=str),
                )
            )
            share = report.drift.get("recent_wins_top_tiers_share")
            if share is not None and report.complete:
                exists = conn.execute(
                    select(baselines.c.share).where(
                        baselines.c.connection == report.crm,
                        baselines.c.org == org,
                        baselines.c.profile_version == report.profile_version,
                    )
                ).first()
                if not exists:
                    conn.execute(
                        insert(baselines).values(
                            connection=report.crm,
                            org=org,
                            profile_version=report.profile_version,
                            share=share,
                            at=at.isoformat(),
                        )
                    )
            for obj, value in (move_cursors or {}).items():
                _put_cursor(conn, report.crm, org, obj, value)
        return True

    def abort_run(self, run_id: int, report: RunReport, status: str) -> None:
        """Record a run that ended by an error (``failed``) or an interruption
        (``stopped``): its counts and why, no cursor, no drift."""
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(
                    mode=report.mode,
                    complete=False,
                    status=status,
                    report=json.dumps(report.to_dict(), default=str),
                )
            )

    def _last_full(self, connection: str, org: str | None) -> Any:
        query = (
            select(runs.c.profile_version, runs.c.started_at, runs.c.report)
            .where(runs.c.connection == connection, runs.c.mode == "full", runs.c.complete)
            .order_by(runs.c.id.desc())
            .limit(1)
        )
        if org is not None:
            query = query.where(runs.c.org == org)
        with self.engine.connect() as conn:
            return conn.execute(query).first()

    def last_full_profile_version(self, connection: str, *, org: str) -> str | None:
        """The profile version of the org's last complete full run."""
        row = self._last_full(connection, org)
        return row.profile_version if row else None

    def last_full_started_at(self, connection: str, *, org: str | None = None) -> datetime | None:
        """When the last complete full run started (of one org, or of any)."""
        row = self._last_full(connection, org)
        return datetime.fromisoformat(row.started_at) if row else None

    def last_full_histogram(self, connection: str, *, org: str) -> list[int] | None:
        """The score histogram of the org's last complete full run."""
        row = self._last_full(connection, org)
        return json.loads(row.report).get("score_histogram") if row else None

    def profile_baseline(self, connection: str, version: str, *, org: str) -> float | None:
        """Share of recent wins in Tier 1-2 when this profile version was first used."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(baselines.c.share).where(
                    *_owned(baselines, connection, org),
                    baselines.c.profile_version == version,
                )
            ).first()
        return float(row[0]) if row else None

    def list_runs(
        self, connection: str | None = None, limit: int = 20, *, org: str | None = None
    ) -> list[dict[str, Any]]:
        """The most recent run reports, newest first, each with its ``org`` and ``status``."""
        query = (
            select(
                runs.c.id, runs.c.org, runs.c.report, runs.c.status, runs.c.holder, runs.c.complete
            )
            .order_by(runs.c.id.desc())
            .limit(limit)
        )
        if connection:
            query = query.where(runs.c.connection == connection)
        if org:
            query = query.where(runs.c.org == org)
        now = time.time()
        with self.engine.connect() as conn:
            live = {r.holder: r.expires_at for r in conn.execute(select(leases))}
            return [
                {
                    "run_id": r.id,
                    **json.loads(r.report),
                    "org": r.org or None,
                    "status": _status_of(r, live, now),
                }
                for r in conn.execute(query)
            ]

    def list_drift(
        self, connection: str | None = None, limit: int = 20, *, org: str | None = None
    ) -> list[dict[str, Any]]:
        """The most recent drift entries, newest first, each with its ``org``."""
        query = select(drift_log).order_by(drift_log.c.id.desc()).limit(limit)
        if connection:
            query = query.where(drift_log.c.connection == connection)
        if org:
            query = query.where(drift_log.c.org == org)
        with self.engine.connect() as conn:
            return [
                {
                    "run_id": r.run_id,
                    "connection": r.connection,
                    "org": r.org or None,
                    "at": r.at,
                    **json.loads(r.data),
                }
                for r in conn.execute(query)
            ]

    # The profile check (``schedule``'s validate job) is kept in the drift log, run_id 0.
    def record_validation(self, connection: str, at: datetime, verdict: dict[str, Any]) -> None:
        """Store a profile check's verdict with the drift log."""
        data = json.dumps({"kind": "validation", **verdict}, default=str)
        with self.engine.begin() as conn:
            conn.execute(
                insert(drift_log).values(
                    run_id=0, connection=connection, at=at.isoformat(), data=data
                )
            )

    def last_validation(self, connection: str | None = None) -> dict[str, Any] | None:
        """The newest profile check's verdict (with ``connection`` and ``at``), or None."""
        query = (
            select(drift_log)
            .where(drift_log.c.run_id == 0, drift_log.c.data.like('{"kind": "validation"%'))
            .order_by(drift_log.c.id.desc())
            .limit(1)
        )
        if connection:
            query = query.where(drift_log.c.connection == connection)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return {"connection": row.connection, "at": row.at, **json.loads(row.data)}

    def last_validation_at(self, connection: str) -> datetime | None:
        """When the newest profile check of ``connection`` ran."""
        found = self.last_validation(connection)
        return datetime.fromisoformat(found["at"]) if found else None

    def account_history(self, account_id: str, *, org: str | None = None) -> list[dict[str, Any]]:
        """Every recorded change of one account's ICP values, oldest first."""
        query = select(history).where(history.c.account_id == account_id).order_by(history.c.id)
        if org is not None:
            query = query.where(history.c.org == org)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
