"""Background syncs with APScheduler 3.x: per connection an incremental job every N minutes,
a full job on a cron expression and a quarterly profile check (``validate_cron``),
persisted in the state database, one run at a time."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from icpsync.core.errors import ConfigError, IcpSyncError, RunLocked

if TYPE_CHECKING:
    from icpsync.engine.settings import Settings
    from icpsync.engine.state import StateStore

log = logging.getLogger(__name__)
#: the quarterly profile check (kept in evidence: the engine does not import it)
VALIDATE_JOB = "icpsync.evidence.scheduled:run_validation"
#: set by SIGTERM/Ctrl-C: the running sync finishes its current batch and stops.
STOP = threading.Event()


@dataclass(frozen=True)
class JobSpec:
    """One scheduled job: which connection, full or incremental, on what trigger."""

    id: str
    connection: str
    full: bool
    trigger: Any
    validate: bool = False


def job_specs(settings: Settings) -> list[JobSpec]:
    """The jobs the settings ask for."""
    from icpsync.engine.config_checks import check_schedule

    check_schedule(settings)  # a bad time zone is named as such, not blamed on the cron
    conf = settings.schedule
    cron = _cron(settings, "full_cron")
    validate = _cron(settings, "validate_cron") if conf.validate_cron.strip() else None
    specs = []
    for name in conf.connections or [settings.sync.crm]:
        specs.append(
            JobSpec(
                f"{name}:incremental",
                name,
                False,
                IntervalTrigger(minutes=conf.incremental_minutes, timezone=conf.timezone),
            )
        )
        specs.append(JobSpec(f"{name}:full", name, True, cron))
        if validate is not None:
            specs.append(JobSpec(f"{name}:validate", name, False, validate, validate=True))
    return specs


def _cron(settings: Settings, key: str) -> CronTrigger:
    conf = settings.schedule
    try:
        return CronTrigger.from_crontab(getattr(conf, key), timezone=conf.timezone)
    except (ValueError, KeyError) as exc:
        raise ConfigError(
            f"expected a 5-field cron expression ({exc})",
            source=settings.source,
            key=f"schedule.{key}",
        ) from exc


def run_job(config_path: str | None, connection: str, full: bool) -> dict[str, Any] | None:
    """One scheduled sync; logs one structured line and never raises into the scheduler."""
    from icpsync.engine.registry import build_connector
    from icpsync.engine.settings import load_settings
    from icpsync.engine.state import StateStore
    from icpsync.engine.sync import run_once

    try:
        settings = load_settings(config_path)
        state = StateStore(settings.state.database_url())
        connector = build_connector(settings, connection)
        try:
            report = run_once(
                settings, connector=connector, state=state, full=full, should_stop=STOP.is_set
            )
        finally:
            connector.close()
            state.close()
    except RunLocked as exc:
        log.warning("skipped: %s", exc, extra={"connection": connection})
        return None
    except IcpSyncError as exc:
        log.error("sync failed: %s", exc, extra={"connection": connection})
        return None
    summary = {k: v for k, v in report.to_dict().items() if k not in ("examples", "failures")}
    log.info(
        "sync %s %s: scored %d, wrote %d, failed %d",
        connection,
        report.mode,
        report.scored,
        report.written,
        report.failed,
        extra={"run": summary},
    )
    return summary


def build_scheduler(settings: Settings, config_path: str | None) -> BlockingScheduler:
    """A scheduler with the configured jobs in the state database's job store."""
    from icpsync.engine.state import StateStore

    StateStore(settings.state.database_url()).close()  # creates the folder and the schema
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=settings.state.database_url())},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": settings.schedule.misfire_grace_s,
        },
        timezone=settings.schedule.timezone,
    )
    start_now = datetime.now(UTC)
    for spec in job_specs(settings):
        # a first sync right away; full runs and profile checks wait for their cron
        first = {} if spec.full or spec.validate else {"next_run_time": start_now}
        scheduler.add_job(
            VALIDATE_JOB if spec.validate else "icpsync.engine.scheduler:run_job",
            trigger=spec.trigger,
            id=spec.id,
            args=[config_path, spec.connection] + ([] if spec.validate else [spec.full]),
            replace_existing=True,
            name=spec.id,
            **first,
        )
    return scheduler


def due_jobs(settings: Settings, state: StateStore, now: datetime) -> list[JobSpec]:
    """For ``schedule --once``: per connection the full job if its cron fired since the last
    full run (or there was none), else the incremental job; and the profile check when its
    cron fired since the last check (or, before any, since the last full run)."""
    due: list[JobSpec] = []
    by_connection: dict[str, list[JobSpec]] = {}
    for spec in job_specs(settings):
        by_connection.setdefault(spec.connection, []).append(spec)
    for name, specs in by_connection.items():
        full = next(s for s in specs if s.full)
        incremental = next(s for s in specs if not s.full and not s.validate)
        check = next((s for s in specs if s.validate), None)
        since = state.last_validation_at(name) or state.last_full_started_at(name)
        if check is not None and since is not None:
            fire = check.trigger.get_next_fire_time(None, since)
            if fire is not None and fire <= now:
                due.append(check)
        last_full = state.last_full_started_at(name)
        if last_full is None:
            due.append(full)
            continue
        fire = full.trigger.get_next_fire_time(None, last_full)
        due.append(full if fire is not None and fire <= now else incremental)
    return due


def serve(settings: Settings, config_path: str | None) -> None:
    """Run the scheduler in the foreground until SIGTERM or Ctrl-C; then exit cleanly."""
    scheduler = build_scheduler(settings, config_path)

    def stop(signum: int, _frame: object) -> None:
        log.info("stopping after the current batch (signal %d)", signum)
        STOP.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started with jobs %s", ", ".join(s.id for s in job_specs(settings)))
    scheduler.start()
    log.info("scheduler stopped at %s", datetime.now(UTC).isoformat())
