"""One sync run: read, aggregate, score, diff, write what changed, record the run.

``run_once`` serves the CLI, the tests and the scheduler alike. The cursor moves only
after every changed record was written or quarantined (refused by the CRM for good: see
:mod:`icpsync.engine.quarantine`), and only while this run holds the lease; a crash, a
stop or a retriable failure leaves it where it was, so the next run reads those records
again and (thanks to the diff) writes only what is still different. The run row keeps the
counts reached as batches finish, so a run that dies is recorded with what it did.

The cursor is the time the read started, less an allowance for the difference between
this machine's clock and the CRM's (``[sync] cursor_overlap_s``): records we write in this
run are read once more next time and found unchanged, never written again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import compress
from typing import TYPE_CHECKING, Protocol

from icpsync.core.aggregates import AggregateBuilder
from icpsync.core.batch import AccountBatch, OpportunityBatch
from icpsync.core.diff import Diff
from icpsync.core.errors import BudgetExhausted
from icpsync.core.model import TIER_1, TIER_2, Aggregates, ScoreUpdate
from icpsync.core.scoring import Scorer
from icpsync.core.unavailable import unavailable_notes
from icpsync.engine.account_batches import account_batches, account_batches_by_id, resized
from icpsync.engine.batch_writer import BatchWriter
from icpsync.engine.bulk import key_order
from icpsync.engine.collector import fewer_collections
from icpsync.engine.drift import profile_drift_share, score_drift
from icpsync.engine.human_edit_check import HumanEditCheck
from icpsync.engine.ledger import RunLedger
from icpsync.engine.opportunity_batches import opportunity_batches
from icpsync.engine.opportunity_cache import OpportunityCache
from icpsync.engine.registry import build_connector
from icpsync.engine.run_report import RunReport
from icpsync.engine.written_values import WrittenValues

if TYPE_CHECKING:
    from icpsync.core.profile import Profile
    from icpsync.engine.protocol import Connector
    from icpsync.engine.settings import Settings
    from icpsync.engine.state import StateStore

log = logging.getLogger(__name__)
ACCOUNTS = "accounts"
OPPORTUNITIES = "opportunities"
#: accounts scored together: their aggregates are looked up in one query.
ACCOUNT_BATCH = 500
#: deals read between two checks of the lease and of a stop request.
OPPORTUNITY_CHECK = 5000


def run_once(
    settings: Settings,
    *,
    connector: Connector | None = None,
    state: StateStore | None = None,
    now: datetime | None = None,
    full: bool = False,
    dry_run: bool = False,
    profile: Profile | None = None,
    on_progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool | str | None] | None = None,
    retry_failed: bool = False,
) -> RunReport:
    """Run one sync against ``connector`` (built from the settings when not given).

    Args:
        settings: the settings tree.
        connector: an already built connector (tests inject one pointed at a sandbox).
        state: where cursors, runs and history live; without it every run is full.
        now: the time of the run (scores' ``as_of``); the wall clock when not given.
        full: read every account, whatever the cursor says.
        dry_run: score and diff, write nothing, move no cursor.
        profile: the profile to score with; the configured one when not given.
        on_progress: called with the number of accounts scored so far, now and then.
        should_stop: asked between batches; a true value (a string says why) ends the run
            early, the batch in flight written, the cursor kept.
        retry_failed: also read the quarantined records (a full run reads them anyway).

    Raises:
        RunLocked: another run holds this connection's lease.
        ConnectorError: the CRM could not be read at all (the run is recorded ``failed``).
    """
    profile = profile or settings.active_profile()
    owns_connector = connector is None
    connector = connector or build_connector(settings)
    name = connector.name
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    report = RunReport(
        crm=name, dry_run=dry_run, started_at=now.isoformat(), profile_version=profile.version
    )
    try:
        # Every cursor, lease, history row, quarantined record and baseline belongs to the
        # org read here: a state folder pointed at another org starts that org with a full run.
        org = report.org = org_of(connector)
        if state is not None and not dry_run:
            state.adopt_org(name, org)
        seconds = settings.state.lease_seconds
        lease = state.lease(name, org=org, seconds=seconds) if state else nullcontext()
        with (
            lease as holder,
            RunLedger(
                state,
                report,
                connector,
                holder=holder,
                lease_seconds=seconds,
                now=now,
                should_stop=should_stop,
            ) as ledger,
        ):
            cursor = None
            if state is not None and not full:
                cursor = state.cursor(name, ACCOUNTS, org=org)
                last_version = state.last_full_profile_version(name, org=org)
                if cursor is not None and last_version != profile.version:
                    log.info("profile changed to %s: full run", profile.version)
                    cursor = None
            report.mode = "full" if cursor is None else "incremental"
            report.cursor = cursor.isoformat() if cursor else None
            read_started = datetime.now(UTC)
            ledger.start()
            # A dry run reads every deal into memory: it must not change the stored copy.
            cache = None if state is None or dry_run else OpportunityCache(state.engine, name, org)
            opp_cursor = None
            if state is not None and cache is not None:
                if cursor is not None:
                    opp_cursor = state.cursor(name, OPPORTUNITIES, org=org)
                if opp_cursor is None:
                    # the copy is rebuilt from scratch
                    state.clear_cursor(name, OPPORTUNITIES, org=org)
            edits = HumanEditCheck(
                settings.sync.human_edits,
                None if state is None else WrittenValues(state.engine, name, org),
                record=not dry_run,
            )
            run = _Run(
                settings=settings,
                connector=connector,
                profile=profile,
                report=report,
                now=now,
                dry_run=dry_run,
                retry_failed=retry_failed,
                ledger=ledger,
                edits=edits,
                cache=cache,
                cursor=cursor,
                opp_cursor=opp_cursor,
                on_progress=on_progress,
            )
            halted = False  # stopped by the API budget, and recorded so by the ledger
            try:
                with fewer_collections():
                    _run(run)
                flush = getattr(connector, "flush", None)
                if callable(flush) and not dry_run:
                    flush()  # buffered writes are durable before the cursor moves
            except BudgetExhausted as exc:
                # The API budget ran out mid-run (a read included): a stop, not a failure.
                # What was written stays written; the cursor stays; the next run resumes.
                report.stopped = report.stopped or str(exc)
                ledger.abort(exc)
                halted = True
            except BaseException as exc:
                ledger.abort(exc)
                raise
            ledger.tally()
            if state is not None and not halted:
                _record(settings, state, report, ledger, read_started, now, profile)
                if not dry_run:
                    ledger.settle_quarantine(read_everything=report.mode == "full" or retry_failed)
                if cache is not None and report.complete:
                    cache.settle()
    finally:
        if owns_connector:
            connector.close()
    report.duration_s = time.perf_counter() - started
    log.info("run finished", extra={"run": report.to_dict() | {"examples": None, "failures": None}})
    return report


@dataclass(frozen=True, slots=True)
class _Run:
    """What one run's read-score-write loop works with."""

    settings: Settings
    connector: Connector
    profile: Profile
    report: RunReport
    now: datetime
    dry_run: bool
    retry_failed: bool
    ledger: RunLedger
    edits: HumanEditCheck
    cache: OpportunityCache | None
    cursor: datetime | None
    opp_cursor: datetime | None
    on_progress: Callable[[int], None] | None


def _run(run: _Run) -> None:
    """Read the deals, then the accounts in batches: score, diff, hand changes to the writer."""
    settings, connector, profile, report = run.settings, run.connector, run.profile, run.report
    now, cursor, ledger, edits = run.now, run.cursor, run.ledger, run.edits
    recent_since = (now - timedelta(days=settings.drift.recent_win_days)).date()
    ahead = getattr(connector, "will_read_account_batches", None)
    if callable(ahead):
        ahead(cursor)  # the connector may begin the accounts' read while the deals are read
    source, touched, recent_wins = _read_opportunities(
        connector, report, run.cache, cursor, run.opp_cursor, recent_since, ledger.checkpoint
    )
    if report.stopped:
        return
    if run.retry_failed and cursor is not None:
        touched |= ledger.quarantine.held  # quarantined records are read by id
    unavailable = _unavailable_fields(connector)
    report.unavailable = unavailable_notes(profile, unavailable)
    scorer = Scorer(profile, unavailable)
    chunk = max(1, min(connector.write_chunk_size, settings.sync.write_chunk))
    overlap = settings.sync.overlap_writes and getattr(connector, "thread_safe_writes", False)

    def on_written(updates: list[ScoreUpdate]) -> None:
        # A written chunk's values, history and quarantine releases: one transaction; the
        # values and the history go in in the accounts' order, sorted once for both.
        order = key_order([u.account_id for u in updates])
        with ledger.transaction() as conn:
            edits.written(updates, conn=conn, order=order)
            ledger.written(updates, conn=conn, order=order)

    writer = BatchWriter(
        connector, report, chunk, on_written, overlap=overlap, on_refused=ledger.refused
    )
    recent_win_tiers: Counter[str] = Counter()
    diff = Diff()
    try:
        for batch in resized(_accounts(connector, cursor, touched), ACCOUNT_BATCH):
            ids = batch.ids
            aggregates = source.aggregates_for(ids)
            plan = edits.begin_batch(batch)
            scored = plan.batch
            scores = scorer.score_batch(scored, aggregates, now)
            edits.reword(plan, scores)
            changed = diff.changed(scored.current, scores.outcomes)
            decided = edits.finish_batch(plan, scores, changed)
            positions = decided.positions
            updates = diff.updates_at(
                scored, scores, positions, scored_at=now, overrides=decided.overrides
            )
            tiers = report.count_scored(scores.column("tier"), scores.column("score"))
            if recent_wins:
                _count_recent_wins(recent_win_tiers, recent_wins, ids, tiers)
            ledger.read(ids, positions)
            for edit in decided.edits.values():
                log.info("human edit: %s", edit.describe())
            report.count_changes(
                scored, positions, updates, decided.edits, examples=settings.sync.examples
            )
            if not run.dry_run:
                writer.extend(updates)
            writer.write_full()
            ledger.checkpoint()
            if run.on_progress:
                run.on_progress(report.scored)
            if report.stopped:
                break
    except BaseException:
        writer.abort()
        raise
    writer.close()
    wins = sum(recent_wins.values())
    if report.mode == "full" and wins:
        top = recent_win_tiers[TIER_1] + recent_win_tiers[TIER_2]
        report.drift["recent_wins"] = wins
        report.drift["recent_wins_top_tiers_share"] = round(top / wins, 4)


def _count_recent_wins(
    by_tier: Counter[str], recent_wins: Counter[str], ids: list[str], tiers: list[str]
) -> None:
    """Add the recent wins of a batch's accounts to the tiers they are scored in (the
    accounts with wins picked out in C: few of a batch's have any)."""
    with_wins = map(recent_wins.__contains__, ids)
    for account_id, tier in compress(zip(ids, tiers, strict=True), with_wins):
        by_tier[tier] += recent_wins[account_id]


def _unavailable_fields(connector: Connector) -> dict[str, str]:
    """The mapped fields the CRM lacks (connectors that can tell: describe at the start)."""
    read = getattr(connector, "unavailable_fields", None)
    return dict(read()) if read is not None else {}


def org_of(connector: Connector) -> str:
    """The connector's org id; empty for a connector that cannot say (a third-party one
    written before orgs were kept), whose state is then one org's."""
    org_id = getattr(connector, "org_id", None)
    if not callable(org_id):
        log.warning("connector %s has no org_id(): its state is kept as one org's", connector.name)
        return ""
    return str(org_id())


class _AggregateSource(Protocol):
    def aggregates_for(self, account_ids: Collection[str]) -> Mapping[str, Aggregates]: ...


class _InMemory:
    """Aggregates built in memory (runs without a state store)."""

    def __init__(self, by_account: dict[str, Aggregates]):
        self.by_account = by_account

    def aggregates_for(self, account_ids: Collection[str]) -> Mapping[str, Aggregates]:
        """Every account's (the scorer looks up the ones it scores)."""
        return self.by_account


def _read_opportunities(
    connector: Connector,
    report: RunReport,
    cache: OpportunityCache | None,
    cursor: datetime | None,
    opp_cursor: datetime | None,
    recent_since: date,
    checkpoint: Callable[[], None] | None = None,
) -> tuple[_AggregateSource, set[str], Counter[str]]:
    """Read opportunities (only those changed since ``opp_cursor`` when given), a batch of
    columns at a time.

    Returns where aggregates come from, the accounts whose opportunities changed since the
    accounts cursor, and recent wins per account (for profile drift). ``checkpoint`` is
    called every ``OPPORTUNITY_CHECK`` deals; a stop it records ends the read.
    """
    builder = AggregateBuilder() if cache is None else None
    if cache is not None and opp_cursor is None:
        cache.clear()
    touched: set[str] = set()
    if cache is not None and cursor is not None:
        touched |= cache.dirty()  # deals a run that did not complete had already stored
    recent_wins: Counter[str] = Counter()
    batches = opportunity_batches(connector, opp_cursor)
    for batch in _checked(batches, report, checkpoint):
        if builder is not None:
            builder.add_batch(batch)
        else:
            assert cache is not None
            moved = cache.put_batch(batch)
            if opp_cursor is not None:
                touched |= moved
        _note_deals(batch, cursor, recent_since, touched, recent_wins)
    if builder is not None:
        return _InMemory(builder.result()), touched, recent_wins
    assert cache is not None
    moved = cache.flush()
    if opp_cursor is not None:
        touched |= moved
    return cache, touched, recent_wins


def _checked(
    batches: Iterable[OpportunityBatch],
    report: RunReport,
    checkpoint: Callable[[], None] | None,
) -> Iterator[OpportunityBatch]:
    """The deals of ``batches``, counted in ``report.opportunities_read``, cut where the
    count reaches a multiple of ``OPPORTUNITY_CHECK``: there ``checkpoint`` is called
    (after that deal is counted, before it is handed on) and a stop it records ends the
    read, as if the deals were read one at a time."""
    for batch in batches:
        size = len(batch)
        before = report.opportunities_read
        start = 0
        if checkpoint is not None:
            # the positions of the deals whose count is a multiple of OPPORTUNITY_CHECK
            for check in range(-(before + 1) % OPPORTUNITY_CHECK, size, OPPORTUNITY_CHECK):
                if check > start:
                    report.opportunities_read = before + check
                    yield batch.sliced(start, check)
                report.opportunities_read = before + check + 1
                checkpoint()
                if report.stopped:
                    return
                start = check
        report.opportunities_read = before + size
        if start < size:
            yield batch.sliced(start, size)


def _note_deals(
    batch: OpportunityBatch,
    cursor: datetime | None,
    recent_since: date,
    touched: set[str],
    recent_wins: Counter[str],
) -> None:
    """Add the accounts of deals modified since ``cursor`` to ``touched``, and count the
    deals won since ``recent_since`` per account in ``recent_wins``."""
    columns = batch.columns
    accounts = columns["account_id"]
    if cursor is not None:
        touched.update(
            account
            for account, modified in zip(accounts, columns["last_modified"], strict=True)
            if account is not None and modified is not None and modified >= cursor
        )
    for account, won, closed in zip(accounts, columns["is_won"], columns["closed"], strict=True):
        if won and account is not None and closed is not None and closed >= recent_since:
            recent_wins[account] += 1


def _accounts(
    connector: Connector, cursor: datetime | None, touched: set[str]
) -> Iterator[AccountBatch]:
    """Accounts modified since the cursor, then those only their deals touched."""
    seen: set[str] = set()
    for batch in account_batches(connector, cursor, size=ACCOUNT_BATCH):
        if cursor is not None:
            seen.update(batch.ids)
        yield batch
    rest = touched - seen
    if cursor is not None and rest:
        yield from account_batches_by_id(connector, sorted(rest), size=ACCOUNT_BATCH)


def _record(
    settings: Settings,
    state: StateStore,
    report: RunReport,
    ledger: RunLedger,
    read_started: datetime,
    now: datetime,
    profile: Profile,
) -> None:
    """Drift, the final run row, and (after a complete or partial real run) the cursors,
    in one transaction fenced by the lease ``holder``."""
    org = report.org or ""
    last_full = state.last_full_histogram(report.crm, org=org)
    previous = last_full if report.mode == "full" else None
    population = sum(last_full) if last_full and report.mode != "full" else None
    report.drift.update(score_drift(report, previous, population))
    report.drift["human_edits"] = len(report.human_edits)
    share = report.drift.get("recent_wins_top_tiers_share")
    if share is not None:
        baseline = state.profile_baseline(report.crm, profile.version, org=org)
        report.drift.update(profile_drift_share(share, baseline))
    warnings = _drift_warnings(settings, report)
    report.drift["warnings"] = warnings
    for warning in warnings:
        log.warning("drift: %s", warning)
    if report.dry_run or ledger.run_id is None:
        return
    moves = {}
    if report.complete:
        next_cursor = read_started - timedelta(seconds=settings.sync.cursor_overlap_s)
        moves = {ACCOUNTS: next_cursor, OPPORTUNITIES: next_cursor}
    if not state.finish_run(ledger.run_id, report, now, holder=ledger.holder, move_cursors=moves):
        log.warning("run stopped: %s; the cursor did not move", report.stopped)


def _drift_warnings(settings: Settings, report: RunReport) -> list[str]:
    drift = report.drift
    limits = settings.drift
    out = []
    if (drift.get("psi") or 0) > limits.psi_warn:
        out.append(
            f"score distribution moved (PSI {drift['psi']:.2f} > {limits.psi_warn}): "
            "check for a data change in the CRM or a profile edit"
        )
    if (drift.get("tier_change_share") or 0) > limits.tier_change_share_warn:
        out.append(
            f"{drift['tier_change_share']:.0%} of scored accounts changed tier: "
            "review the transitions before reps notice"
        )
    drop = drift.get("profile_drift")
    if drop is not None and drop > limits.profile_drift_warn:
        out.append(
            f"recent wins land in Tier 1-2 {drop:.0%} less often than when this profile started: "
            "re-learn it (icpsync learn) and compare (icpsync report --profile)"
        )
    return out
