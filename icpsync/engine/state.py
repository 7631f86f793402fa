"""Run state in SQL (SQLite by default, any SQLAlchemy URL): runs, cursors, score history,
drift log, profile baselines, quarantined records and the run lease. The schema is created
and upgraded here.

The lease fences the writes that matter: a cursor moves, and a run is finished, only in a
transaction that first touches the lease row *as its holder* (``UPDATE ... WHERE holder =
token``). The update takes the row's write lock, so a takeover waits for that transaction
and then finds the lease renewed; a run whose lease was taken over writes nothing."""

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
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from icpsync.core.errors import RunLocked
from icpsync.core.model import ScoreUpdate
from icpsync.engine.run_report import RunReport

SCHEMA_VERSION = 3
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
    Column("object", String(64), primary_key=True),
    Column("value", String(40), nullable=False),
)
history = Table(
    "icpsync_score_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, nullable=False, index=True),
    Column("connection", String(64), nullable=False),
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
    Column("at", String(40), nullable=False),
    Column("data", Text, nullable=False),
)
baselines = Table(
    "icpsync_profile_baselines",
    metadata,
    Column("connection", String(64), primary_key=True),
    Column("profile_version", String(32), primary_key=True),
    Column("share", Float, nullable=False),
    Column("at", String(40), nullable=False),
)
#: each connection's opportunities, so incremental runs read only those that changed.
opportunities = Table(
    "icpsync_opportunities",
    metadata,
    Column("connection", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("account_id", String(64)),
    Column("is_closed", Boolean, nullable=False),
    Column("is_won", Boolean, nullable=False),
    Column("amount", Float),
    Column("created", String(10)),
    Column("closed", String(10)),
    Column("last_modified", String(40)),
    Index("ix_icpsync_opportunities_account", "connection", "account_id"),
)
#: accounts whose deals changed in a run that has not completed yet: the next run reads them.
dirty_accounts = Table(
    "icpsync_dirty_accounts",
    metadata,
    Column("connection", String(64), primary_key=True),
    Column("account_id", String(64), primary_key=True),
)
leases = Table(
    "icpsync_leases",
    metadata,
    Column("connection", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", Float, nullable=False),
)

#: records whose writes the CRM refuses for good (validation rule, invalid value, deleted
#: record, field-level security) or that the reader could not place: the run goes on
#: without them and they are retried on the next full run or ``sync --retry-failed``.
failures = Table(
    "icpsync_failures",
    metadata,
    Column("connection", String(64), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("first_seen", String(40), nullable=False),
    Column("last_seen", String(40), nullable=False),
    Column("attempts", Integer, nullable=False),
)

#: schema version -> statements that bring the previous version up to it (new tables are
#: created by ``create_all``; version 2 added ``icpsync_opportunities`` and
#: ``icpsync_dirty_accounts``; version 3 ``icpsync_failures`` and the runs' status).
MIGRATIONS: dict[int, list[str]] = {
    2: [],
    3: [
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


def _fence(conn: Any, connection: str, holder: str, seconds: float | None = None) -> bool:
    """Touch the lease row as ``holder`` (pushing its expiry ``seconds`` ahead when given):
    True when ``holder`` holds it. The row stays write-locked until ``conn`` commits."""
    expires = leases.c.expires_at if seconds is None else time.time() + seconds
    touched = conn.execute(
        update(leases)
        .where(leases.c.connection == connection, leases.c.holder == holder)
        .values(expires_at=expires)
    ).rowcount
    return bool(touched)


def _put_cursor(conn: Any, connection: str, obj: str, value: datetime) -> None:
    done = conn.execute(
        update(cursors)
        .where(cursors.c.connection == connection, cursors.c.object == obj)
        .values(value=value.isoformat())
    ).rowcount
    if not done:
        conn.execute(
            insert(cursors).values(connection=connection, object=obj, value=value.isoformat())
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
        for attempt in range(20):
            try:
                metadata.create_all(self.engine)
                break
            except OperationalError as exc:  # another process is creating the same tables
                if "already exists" not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.05)
        with self.engine.begin() as conn:
            row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
            current = int(row[0]) if row else 0
            if current == 0:
                conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
                return
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS.get(version, []):
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

    # -- lease ---------------------------------------------------------------------------

    @contextmanager
    def lease(self, connection: str, *, seconds: int = 3600) -> Iterator[str]:
        """Hold the run lease of ``connection`` for the block.

        Raises:
            RunLocked: another live run holds it (an expired lease is taken over).
        """
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        now = time.time()
        with self.engine.begin() as conn:
            try:
                conn.execute(
                    insert(leases).values(
                        connection=connection, holder=holder, expires_at=now + seconds
                    )
                )
                taken = True
            except IntegrityError:
                taken = False
        if not taken:
            with self.engine.begin() as conn:
                stale = conn.execute(
                    select(leases.c.holder).where(leases.c.connection == connection)
                ).scalar()
                expired = leases.c.expires_at < now
                condition = expired if not _holder_is_dead(stale) else leases.c.holder == stale
                result = conn.execute(
                    update(leases)
                    .where(leases.c.connection == connection, condition)
                    .values(holder=holder, expires_at=now + seconds)
                )
            if result.rowcount != 1:
                with self.engine.connect() as conn:
                    row = conn.execute(
                        select(leases).where(leases.c.connection == connection)
                    ).first()
                left = int(row.expires_at - now) if row else 0
                raise RunLocked(
                    f"another run of {connection!r} is in progress ({row.holder if row else '?'}); "
                    f"its lease expires in {left} s"
                )
        try:
            yield holder
        finally:
            with self.engine.begin() as conn:
                conn.execute(
                    delete(leases).where(
                        leases.c.connection == connection, leases.c.holder == holder
                    )
                )

    def renew_lease(self, connection: str, holder: str, *, seconds: float) -> bool:
        """Push the lease's expiry ``seconds`` ahead; False when it is no longer ours."""
        with self.engine.begin() as conn:
            return _fence(conn, connection, holder, seconds)

    # -- cursors -------------------------------------------------------------------------

    def cursor(self, connection: str, obj: str) -> datetime | None:
        """The stored cursor, or None before the first complete run."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(cursors.c.value).where(
                    cursors.c.connection == connection, cursors.c.object == obj
                )
            ).first()
        return datetime.fromisoformat(row[0]) if row else None

    def set_cursor(
        self, connection: str, obj: str, value: datetime, *, holder: str | None = None
    ) -> None:
        """Move the cursor (called only after the run's writes succeeded).

        Raises:
            LeaseLost: ``holder`` was given and no longer holds the lease: nothing moved.
        """
        from icpsync.core.errors import LeaseLost

        with self.engine.begin() as conn:
            if holder is not None and not _fence(conn, connection, holder):
                raise LeaseLost(f"the run lease of {connection!r} was taken over")
            _put_cursor(conn, connection, obj, value)

    def clear_cursor(self, connection: str, obj: str) -> None:
        """Forget a cursor: the next run reads that object in full."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(cursors).where(cursors.c.connection == connection, cursors.c.object == obj)
            )

    # -- runs, history, drift ------------------------------------------------------------

    def start_run(self, report: RunReport, holder: str | None = None) -> int:
        """Record that a run began (status ``running`` until ``finish_run``); its id.

        Runs of the connection still marked running are dead (this one holds the lease):
        they are marked ``crashed``.
        """
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.connection == report.crm, runs.c.status == "running")
                .values(status="crashed")
            )
            inserted = conn.execute(
                insert(runs).values(
                    connection=report.crm,
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

    def record_history(self, run_id: int, connection: str, written: Sequence[ScoreUpdate]) -> None:
        """Keep the old and new values of every account a write just changed."""
        if not written:
            return
        with self.engine.begin() as conn:
            conn.execute(
                insert(history),
                [
                    {
                        "run_id": run_id,
                        "connection": connection,
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
        the cursors to move, in one transaction.

        With ``holder``, all of it happens only while ``holder`` holds the lease; a run that
        lost it is recorded as ``stopped`` (no drift, no baseline, no cursor) and False is
        returned.
        """
        with self.engine.begin() as conn:
            if holder is not None and not _fence(conn, report.crm, holder):
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
                    at=at.isoformat(),
                    data=json.dumps(report.drift, default=str),
                )
            )
            share = report.drift.get("recent_wins_top_tiers_share")
            if share is not None and report.complete:
                exists = conn.execute(
                    select(baselines.c.share).where(
                        baselines.c.connection == report.crm,
                        baselines.c.profile_version == report.profile_version,
                    )
                ).first()
                if not exists:
                    conn.execute(
                        insert(baselines).values(
                            connection=report.crm,
                            profile_version=report.profile_version,
                            share=share,
                            at=at.isoformat(),
                        )
                    )
            for obj, value in (move_cursors or {}).items():
                _put_cursor(conn, report.crm, obj, value)
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

    def _last_full(self, connection: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(
                select(runs.c.profile_version, runs.c.report)
                .where(runs.c.connection == connection, runs.c.mode == "full", runs.c.complete)
                .order_by(runs.c.id.desc())
                .limit(1)
            ).first()

    def last_full_profile_version(self, connection: str) -> str | None:
        """The profile version of the last complete full run."""
        row = self._last_full(connection)
        return row.profile_version if row else None

    def last_full_started_at(self, connection: str) -> datetime | None:
        """When the last complete full run started."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(runs.c.started_at)
                .where(runs.c.connection == connection, runs.c.mode == "full", runs.c.complete)
                .order_by(runs.c.id.desc())
                .limit(1)
            ).first()
        return datetime.fromisoformat(row[0]) if row else None

    def last_full_histogram(self, connection: str) -> list[int] | None:
        """The score histogram of the last complete full run."""
        row = self._last_full(connection)
        return json.loads(row.report).get("score_histogram") if row else None

    def profile_baseline(self, connection: str, version: str) -> float | None:
        """Share of recent wins in Tier 1-2 when this profile version was first used."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(baselines.c.share).where(
                    baselines.c.connection == connection, baselines.c.profile_version == version
                )
            ).first()
        return float(row[0]) if row else None

    def list_runs(self, connection: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The most recent run reports, newest first, each with its ``status``."""
        query = (
            select(runs.c.id, runs.c.report, runs.c.status, runs.c.holder, runs.c.complete)
            .order_by(runs.c.id.desc())
            .limit(limit)
        )
        if connection:
            query = query.where(runs.c.connection == connection)
        now = time.time()
        with self.engine.connect() as conn:
            live = {r.holder: r.expires_at for r in conn.execute(select(leases))}
            return [
                {"run_id": r.id, **json.loads(r.report), "status": _status_of(r, live, now)}
                for r in conn.execute(query)
            ]

    def list_drift(self, connection: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """The most recent drift entries, newest first."""
        query = select(drift_log).order_by(drift_log.c.id.desc()).limit(limit)
        if connection:
            query = query.where(drift_log.c.connection == connection)
        with self.engine.connect() as conn:
            return [
                {"run_id": r.run_id, "connection": r.connection, "at": r.at, **json.loads(r.data)}
                for r in conn.execute(query)
            ]

    def account_history(self, account_id: str) -> list[dict[str, Any]]:
        """Every recorded change of one account's ICP values, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(history).where(history.c.account_id == account_id).order_by(history.c.id)
            )
            return [dict(r._mapping) for r in rows]
