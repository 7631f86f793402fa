"""Run state in SQL (SQLite by default, any SQLAlchemy URL): runs, cursors, score history,
drift log, profile baselines, quarantined records and the run lease. The tables and their
upgrades are in :mod:`icpsync.engine.schema`, the bulk writes in :mod:`icpsync.engine.bulk`
(both importable from here as before).

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
from itertools import repeat
from operator import is_
from pathlib import Path
from typing import Any

from sqlalchemy import Select, Table, create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from icpsync.core.errors import RunLocked
from icpsync.core.model import ScoreUpdate
from icpsync.engine.bulk import insert_columns, insert_rows, insert_tuples, key_order
from icpsync.engine.run_report import RunReport
from icpsync.engine.schema import (
    HISTORY_OF_RUN,
    MIGRATIONS,
    ORG_LENGTH,
    ORG_TABLES,
    RUN_STATUSES,
    SCHEMA_VERSION,
    baselines,
    cursors,
    dirty_accounts,
    drift_log,
    failures,
    history,
    leases,
    meta,
    metadata,
    opportunities,
    runs,
    upgrade,
    written,
)

# Kept importable from here: the tables, the schema's version and the bulk insert.
__all__ = [
    "MIGRATIONS",
    "ORG_LENGTH",
    "ORG_TABLES",
    "RUN_STATUSES",
    "SCHEMA_VERSION",
    "StateStore",
    "baselines",
    "cursors",
    "dirty_accounts",
    "drift_log",
    "failures",
    "history",
    "history_rows",
    "insert_rows",
    "insert_tuples",
    "leases",
    "meta",
    "metadata",
    "opportunities",
    "runs",
    "written",
]

#: the SQLite page cache of each connection, in KiB.
SQLITE_CACHE_KIB = 8192
#: the page size of a new SQLite state database, in bytes (SQLite's default: 4,096).
SQLITE_PAGE_SIZE = 16384


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Write-ahead log, and no fsync at the commits that do not move a cursor.

    With ``synchronous=NORMAL`` a commit survives the process's crash at once and an
    operating-system crash or power loss once the WAL is next synced; such a loss drops
    the last commits only, in order (the WAL is replayed up to its first missing frame).
    The commit that moves cursors syncs the WAL (see ``StateStore._durable``): when a run
    is recorded complete, its history, written values and deal copy are on disk too.

    A page cache of :data:`SQLITE_CACHE_KIB` per connection (SQLite's default: 2,000 KiB):
    a batch's lookups in the deal copy find more of its pages still in memory after the
    written chunks' inserts went by.

    Pages of :data:`SQLITE_PAGE_SIZE` in a new database: a bulk insert of the history,
    written values and deal copy splits, balances and logs a quarter as many pages, for
    20-40% less of SQLite's CPU per row. It takes effect only before the database's first
    write (hence before the WAL is set); an existing database keeps its page size.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


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


def _one_value(values: Sequence[Any]) -> bool:
    """Whether every item of ``values`` (not empty) equals the first one."""
    return values.count(values[0]) == len(values)


def _stamps(times: list[datetime]) -> list[str]:
    """The ISO form of each time; a run's updates share one scored-at time (one object):
    formatted once."""
    first = times[0]
    if all(map(is_, times, repeat(first))):
        return [first.isoformat()] * len(times)
    stamps: list[str] = []
    last: datetime | None = None
    stamp = ""
    for t in times:
        if t is not last:
            last, stamp = t, t.isoformat()
        stamps.append(stamp)
    return stamps


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
        upgrade(self.engine)
        #: run id -> the run's values of :data:`HISTORY_OF_RUN` (None: no such run)
        self._run_values: dict[int, tuple[Any, ...] | None] = {}

    @contextmanager
    def _durable(self) -> Iterator[Connection]:
        """A transaction whose commit is on disk when it returns (it moves cursors). On
        SQLite the WAL is synced at this commit (``synchronous=FULL`` for it alone), which
        makes every earlier commit durable too; other databases sync every commit."""
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
            if raw is not None:
                raw.execute("PRAGMA synchronous=FULL")
            try:
                with conn.begin():
                    yield conn
            finally:
                if raw is not None:
                    raw.execute("PRAGMA synchronous=NORMAL")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction for several writes that belong together (a written chunk's
        history, written values and quarantine releases): all of them or none."""
        with self.engine.begin() as conn:
            yield conn

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

        with self._durable() as conn:
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
            row = {
                "connection": report.crm,
                "org": report.org or "",
                "mode": report.mode,
                "started_at": report.started_at,
                "profile_version": report.profile_version,
                "complete": False,
                "report": json.dumps(report.to_dict(), default=str),
                "status": "running",
                "holder": holder,
            }
            inserted = conn.execute(insert(runs).values(row)).inserted_primary_key
        assert inserted is not None
        run_id = int(inserted[0])
        self._run_values[run_id] = tuple(row[c.name] for c in HISTORY_OF_RUN.values())
        return run_id

    def _of_run(self, conn: Connection, run_id: int) -> dict[str, Any]:
        """The run's values of :data:`HISTORY_OF_RUN` (empty when there is no such run),
        remembered: a run's values do not change (an org given to old runs by
        :meth:`adopt_org` is given to their history rows too)."""
        if run_id not in self._run_values:
            row = conn.execute(select(*HISTORY_OF_RUN.values()).where(runs.c.id == run_id))
            found = row.first()
            self._run_values[run_id] = None if found is None else tuple(found)
        values = self._run_values[run_id]
        return {} if values is None else dict(zip(HISTORY_OF_RUN, values, strict=True))

    def record_progress(self, run_id: int, report: RunReport) -> None:
        """Keep the counts a running run has reached (a run that dies keeps them)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.status == "running")
                .values(mode=report.mode, report=json.dumps(report.to_dict(), default=str))
            )

    def record_history(
        self,
        run_id: int,
        connection: str,
        written: Sequence[ScoreUpdate],
        *,
        org: str,
        conn: Connection | None = None,
        order: Sequence[int] | None = None,
    ) -> None:
        """Keep the old and new values of every account a write just changed (in ``conn``'s
        transaction when given, else in one of its own; ``order``: the updates' positions in
        the order of their account ids, :func:`~icpsync.engine.bulk.key_order`, when the
        caller has it)."""
        if not written:
            return
        self.record_history_columns(
            run_id,
            connection,
            org=org,
            account_ids=[u.account_id for u in written],
            at=_stamps([u.scored_at for u in written]),
            old_scores=[u.previous.score for u in written],
            new_scores=[u.score for u in written],
            old_tiers=[u.previous.tier for u in written],
            new_tiers=[u.tier for u in written],
            flags=[";".join(u.flags) for u in written],
            profile_versions=[u.profile_version for u in written],
            conn=conn,
            order=order,
        )

    def record_history_columns(
        self,
        run_id: int,
        connection: str,
        *,
        org: str,
        account_ids: Sequence[str],
        at: Sequence[str],
        old_scores: Sequence[int | None],
        new_scores: Sequence[int],
        old_tiers: Sequence[str | None],
        new_tiers: Sequence[str],
        flags: Sequence[str],
        profile_versions: Sequence[str],
        conn: Connection | None = None,
        order: Sequence[int] | None = None,
    ) -> None:
        """:meth:`record_history` for a batch given as columns, one value per account:
        ``at`` the ISO time each was scored, ``flags`` each one's flags joined by ``;``
        (cut to 255 characters here). One bulk insert, in ``conn``'s transaction when
        given; the batch's rows are numbered in the order of their account ids (``order``,
        sorted here when not given). The connection, org, time and profile version that
        every row shares with the run's row are stored there only (see
        :data:`~icpsync.engine.schema.HISTORY_OF_RUN`)."""
        if not account_ids:
            return
        n = len(account_ids)
        columns = (at, old_scores, new_scores, old_tiers, new_tiers, flags, profile_versions)
        if any(len(c) != n for c in columns):
            raise ValueError("record_history_columns: every column needs one value per account")
        if max(map(len, flags)) > 255:
            flags = [f if len(f) <= 255 else f[:255] for f in flags]
        constants: dict[str, Any] = {"run_id": run_id, "connection": connection, "org": org}
        names = ["account_id", "old_score", "new_score", "old_tier", "new_tier", "flags"]
        values = [account_ids, old_scores, new_scores, old_tiers, new_tiers, flags]
        for name, given in (("at", at), ("profile_version", profile_versions)):
            if _one_value(given):  # a run's updates share them: given once
                constants[name] = given[0]
            else:
                names.append(name)
                values.append(given)
        # In the accounts' order (a stable sort: an account's rows keep theirs), the rows go
        # into the account index page after page, not at random places.
        if order is None:
            order = key_order(account_ids)
        elif len(order) != n:
            raise ValueError("record_history_columns: the order must name every account")
        if conn is not None:
            self._insert_history(conn, run_id, names, values, constants, order)
            return
        with self.engine.begin() as own:
            self._insert_history(own, run_id, names, values, constants, order)

    def _insert_history(
        self,
        conn: Connection,
        run_id: int,
        names: list[str],
        values: list[Sequence[Any]],
        constants: dict[str, Any],
        order: Sequence[int],
    ) -> None:
        """Insert a batch's history; the constants its run's row holds are left NULL."""
        of_run = self._of_run(conn, run_id)
        for name, value in of_run.items():
            if name in constants and constants[name] == value:
                constants[name] = None
        insert_columns(conn, history, names, values, constants=constants, order=order)

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
        with self._durable() as conn:
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
        """Every recorded change of one account's ICP values, oldest first (each row's
        values left to its run's row taken from there, :func:`history_rows`)."""
        rows = history_rows().subquery()
        query = select(rows).where(rows.c.account_id == account_id).order_by(rows.c.id)
        if org is not None:
            query = query.where(rows.c.org == org)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]


def history_rows() -> Select[Any]:
    """The score history's rows as recorded: every column of ``icpsync_score_history``,
    those a row leaves to its run's row (:data:`~icpsync.engine.schema.HISTORY_OF_RUN`,
    NULL since schema 7) taken from there."""
    of_run = {name: func.coalesce(history.c[name], of) for name, of in HISTORY_OF_RUN.items()}
    columns = [of_run[c.name].label(c.name) if c.name in of_run else c for c in history.c]
    return select(*columns).select_from(history.outerjoin(runs, runs.c.id == history.c.run_id))
