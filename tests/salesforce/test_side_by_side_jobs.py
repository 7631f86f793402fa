"""The last two Bulk ingest jobs of a sync run side by side (``concurrent_writes``).

300 accounts in write chunks of 200: a job of 200 records, then the last one of 100 handed
over while the first is still running. The sandbox holds each job's processing until the
other's has begun too, so both are really in flight when a fault is scripted. Whatever
goes wrong, the run ends as with one job at a time, the state store's written values and
history match what the org holds record for record, and the next run writes the rest.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from icpsync.connectors.salesforce import SalesforceConnector
from icpsync.connectors.salesforce.sandbox import REJECTED, Sandbox
from icpsync.connectors.salesforce.sandbox.faults import EXPIRED, SPURIOUS_401
from icpsync.core.model import ScoreUpdate
from icpsync.engine.ledger import RunLedger
from icpsync.engine.schema import history, written
from icpsync.engine.settings import Settings
from icpsync.engine.state import StateStore

ACCOUNTS, CHUNK = 300, 200
SIZES = (CHUNK, ACCOUNTS - CHUNK)  # the job before, the last job


def _settings(box: Sandbox, state_dir: Path, **salesforce: Any) -> Settings:
    data = box.settings_overrides()
    data["salesforce"].update(
        {"bulk_poll_s": 0.02, "bulk_write_threshold": 1, "lock_retries": 0, **salesforce}
    )
    data["sync"]["write_chunk"] = CHUNK
    data["state"] = {"dir": str(state_dir)}
    return Settings(**data)


@dataclass
class Jobs:
    """What the sandbox's ingest jobs did, and what a test scripts them to do."""

    together: bool  # hold each job until the other has begun too
    locked_rows: int = 0  # the first rows of each job refused with UNABLE_TO_LOCK_ROW
    fail: int | None = None  # the job of this size fails as a whole
    stall: int | None = None  # the job of this size never ends (until released)
    finish_last_first: bool = False
    overlapped: bool = False
    ids: dict[int, list[str]] = field(default_factory=dict)  # job size -> its ids
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=10)


@contextmanager
def _jobs(box: Sandbox, script: Jobs) -> Iterator[Jobs]:
    jobs = box.app.jobs
    original = jobs._process

    def process(job: Any, row_fault: Callable[[], bool]) -> None:
        lines = job.data[0].splitlines()[1:]
        size = len(lines)
        script.ids[size] = [line.split(",", 1)[0] for line in lines]
        if script.together:
            try:
                script.barrier.wait()
                script.overlapped = True
            except threading.BrokenBarrierError:
                pass
        if script.finish_last_first and size == SIZES[0]:
            script.release.wait(0.5)  # the last job ends first
        if size == script.fail:
            raise RuntimeError("scripted failure")
        if size == script.stall:
            script.release.wait(10)
            return  # asked to abort meanwhile: nothing applied
        if script.locked_rows:
            drawn = count()
            row_fault = lambda: next(drawn) < script.locked_rows  # noqa: E731
        original(job, row_fault)

    jobs._process = process  # type: ignore[method-assign]
    try:
        yield script
    finally:
        script.release.set()
        del jobs._process


@contextmanager
def _fault_nth(box: Sandbox, kind: str, nth: int, fault: str) -> Iterator[list[str]]:
    """The ``nth`` request of ``kind`` (the sandbox's name for it) draws ``fault``."""
    local = threading.local()
    seen: Counter[str] = Counter()
    drawn: list[str] = []
    lock = threading.Lock()
    count_request, draw = box.app.count, box.faults.draw

    def counted(name: str, *args: Any) -> None:
        local.kind = name
        count_request(name, *args)

    def drawn_fault() -> str | None:
        name = getattr(local, "kind", "")
        with lock:
            seen[name] += 1
            if name == kind and seen[name] == nth:
                drawn.append(fault)
                return fault
        return draw()

    box.app.count = counted  # type: ignore[method-assign]
    box.faults.draw = drawn_fault  # type: ignore[method-assign]
    try:
        yield drawn
    finally:
        del box.app.count, box.faults.draw


def _held(box: Sandbox) -> dict[str, tuple[int, str]]:
    """Score and tier of every account holding our values in the org."""
    values = box.values(["ICP_Score__c", "ICP_Tier__c"])
    return {i: (round(float(s)), t) for i, (s, t) in values.items() if t is not None}


def _recorded(state: StateStore) -> tuple[dict[str, tuple[int, str]], Counter[str], dict]:  # type: ignore[type-arg]
    """The written values, history rows per account, and the last history values."""
    with state.engine.connect() as conn:
        values = {r.account_id: (r.score, r.tier) for r in conn.execute(select(written))}
        rows = list(conn.execute(select(history).order_by(history.c.id)))
    last = {r.account_id: (r.new_score, r.new_tier) for r in rows}
    return values, Counter(r.account_id for r in rows), last


def _matches_the_org(box: Sandbox, state: StateStore, once: bool = True) -> None:
    values, per_account, last = _recorded(state)
    held = _held(box)
    assert values == held  # every record the org holds is recorded, nothing else
    assert last == held
    if once:
        assert set(per_account.values()) == {1}  # each written once, booked once


@dataclass
class Outcome:
    status: str
    written: int
    failed: int
    quarantined: int
    stopped: bool
    failures: dict[str, str]
    overlapped: bool
    calls: Counter[str]


def _sync(
    sf: Any,
    box: Sandbox,
    tmp_path: Path,
    script: Jobs,
    *,
    concurrent: bool,
    monkeypatch: pytest.MonkeyPatch,
    **salesforce: Any,
) -> tuple[Outcome, StateStore, Settings]:
    monkeypatch.setattr(SalesforceConnector, "concurrent_writes", concurrent)
    settings = _settings(box, tmp_path, **salesforce)
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    box.reset_stats()
    with _jobs(box, script):
        report = sf.sync(settings, state)
    outcome = Outcome(
        report.status,
        report.written,
        report.failed,
        report.quarantined,
        bool(report.stopped),
        {f.account_id: f.reason for f in report.failures},
        script.overlapped,
        Counter(box.stats()),
    )
    return outcome, state, settings


def _fresh(make_sandbox: Callable[..., Sandbox], sf: Any, **options: Any) -> Sandbox:
    box = make_sandbox(accounts=ACCOUNTS, opportunities=900, **options)
    sf.install(sf.settings_for(box))
    return box


def _next_run_writes_the_rest(sf: Any, box: Sandbox, state: StateStore, settings: Settings) -> Any:
    box.reset_stats()
    report = sf.sync(settings, state, retry_failed=True)
    assert report.complete and not report.stopped
    assert max(box.write_counts().values(), default=1) == 1
    return report


def test_locks_and_validation_rules_in_both_jobs(sf, make_sandbox, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every refused record of either job is reported with its id and reason; the accepted
    records of both are recorded once; locked ones are written next run, refused ones stay
    quarantined."""
    box = _fresh(make_sandbox, sf)
    ids = sorted(box.org.records["Account"])
    rejected = [ids[10], ids[120], ids[250], ids[290]]
    box.reject_writes(rejected)
    script = Jobs(together=True, locked_rows=3, finish_last_first=True)
    booked: list[list[str]] = []
    written_by_ledger = RunLedger.written

    def spy(self: RunLedger, updates: list[Any], **kwargs: Any) -> None:
        booked.append([u.account_id for u in updates])
        written_by_ledger(self, updates, **kwargs)

    monkeypatch.setattr(RunLedger, "written", spy)
    out, state, settings = _sync(
        sf, box, tmp_path, script, concurrent=True, monkeypatch=monkeypatch
    )
    try:
        assert out.overlapped and sorted(script.ids, reverse=True) == list(SIZES)
        first, last = (script.ids[size] for size in SIZES)
        locked = first[:3] + last[:3]
        refused_in = {i for i in rejected if i in first}, {i for i in rejected if i in last}
        assert all(refused_in), "a rejected record in each job"
        assert out.status == "failed" and not out.stopped  # locked records are not written
        assert out.quarantined == 4 and out.failed == 4 + len(locked)
        assert out.written == ACCOUNTS - 4 - len(locked)
        for rid in rejected:
            assert out.failures[rid] == f"FIELD_CUSTOM_VALIDATION_EXCEPTION: {REJECTED}"
        for rid in locked:
            assert out.failures[rid].startswith("UNABLE_TO_LOCK_ROW")
        # the job before is booked before the last, though the last ended first
        assert [set(b) for b in booked] == [
            set(first) - set(locked) - set(rejected),
            set(last) - set(locked) - set(rejected),
        ]
        assert max(box.write_counts().values()) == 1
        _matches_the_org(box, state)
        assert not set(_held(box)) & (set(locked) | set(rejected))

        box.reset_stats()
        again = sf.sync(settings, state)  # the next run (full: the last one failed)
        assert (again.status, again.written, again.quarantined) == ("partial", len(locked), 4)
        assert {f.account_id for f in again.failures} == set(rejected)  # tried again, refused
        assert set(box.write_counts()) == set(locked)  # the locked ones, written now
        _matches_the_org(box, state)
        assert set(_held(box)) == set(ids) - set(rejected)
    finally:
        state.close()


@pytest.mark.parametrize("which", SIZES, ids=["job-before", "last-job"])
def test_a_job_that_fails_as_a_whole_ends_the_run_as_before(  # type: ignore[no-untyped-def]
    sf, make_sandbox, tmp_path, monkeypatch, which: int
) -> None:
    outcomes = []
    for concurrent in (False, True):
        box = _fresh(make_sandbox, sf)
        run_dir = tmp_path / str(concurrent)
        run_dir.mkdir()
        script = Jobs(together=concurrent, fail=which)
        out, state, _ = _sync(
            sf, box, run_dir, script, concurrent=concurrent, monkeypatch=monkeypatch
        )
        try:
            assert out.overlapped == concurrent
            assert out.calls["composite_update"] == 1 + (which > 200)  # the fallback
            _matches_the_org(box, state)
            assert len(_held(box)) == out.written
            outcomes.append((out.status, out.written, out.failed, out.stopped))
        finally:
            state.close()
    assert outcomes[0] == outcomes[1] == ("complete", ACCOUNTS, 0, False)


def test_a_job_that_times_out_ends_the_run_as_before_and_the_next_run_writes_it(  # type: ignore[no-untyped-def]
    sf, make_sandbox, tmp_path, monkeypatch
) -> None:
    outcomes = []
    for concurrent in (False, True):
        box = _fresh(make_sandbox, sf)
        run_dir = tmp_path / str(concurrent)
        run_dir.mkdir()
        script = Jobs(together=concurrent, stall=SIZES[1])
        out, state, settings = _sync(
            sf,
            box,
            run_dir,
            script,
            concurrent=concurrent,
            monkeypatch=monkeypatch,
            bulk_timeout_s=1.0,
        )
        try:
            assert out.overlapped == concurrent
            timed_out = {i for i, why in out.failures.items() if "bulk_timeout_s" in why}
            assert timed_out == set(script.ids[SIZES[1]])  # reported, not claimed written
            assert not timed_out & set(_held(box))
            _matches_the_org(box, state)
            outcomes.append((out.status, out.written, out.failed, out.stopped))
            _next_run_writes_the_rest(sf, box, state, settings)
            assert set(box.write_counts()) == timed_out
            _matches_the_org(box, state)
            assert len(_held(box)) == ACCOUNTS
        finally:
            state.close()
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1:] == (SIZES[0], SIZES[1], False)


@pytest.mark.parametrize("fault", [SPURIOUS_401, EXPIRED])
@pytest.mark.parametrize("step", ["bulk_ingest_upload", "bulk_ingest_poll"])
def test_a_401_during_the_second_job_is_retried_as_before(  # type: ignore[no-untyped-def]
    sf, make_sandbox, tmp_path, monkeypatch, fault: str, step: str
) -> None:
    """The second upload (the job begun second) or the second poll (either job, both in
    progress) answers 401: a spurious one is retried, an expired session is renewed; the
    run completes as one job at a time does."""
    outcomes = []
    for concurrent in (False, True):
        box = _fresh(make_sandbox, sf)
        run_dir = tmp_path / str(concurrent)
        run_dir.mkdir()
        script = Jobs(together=concurrent)
        with _fault_nth(box, step, 2, fault) as drawn:
            out, state, _ = _sync(
                sf, box, run_dir, script, concurrent=concurrent, monkeypatch=monkeypatch
            )
        try:
            assert drawn == [fault] and out.overlapped == concurrent
            assert max(box.write_counts().values()) == 1
            _matches_the_org(box, state)
            outcomes.append((out.status, out.written, out.failed, out.stopped))
        finally:
            state.close()
    assert outcomes[0] == outcomes[1] == ("complete", ACCOUNTS, 0, False)


def test_the_budget_running_out_with_one_job_in_flight_stops_as_before(  # type: ignore[no-untyped-def]
    sf, make_sandbox, tmp_path, monkeypatch
) -> None:
    """The budget covers the job before (and a little more), not the last job: the run
    stops with the first job recorded; the next run writes the last chunk."""
    clean = _fresh(make_sandbox, sf, daily_limit=1000)
    clean.org.api_used = 0
    out, state, _ = _sync(
        sf, clean, tmp_path, Jobs(together=True), concurrent=True, monkeypatch=monkeypatch
    )
    state.close()
    assert out.status == "complete" and out.overlapped
    writes = sum(n for kind, n in out.calls.items() if kind.startswith("bulk_ingest"))
    reads = clean.org.api_used - writes  # the calls before the writes (and after)
    outcomes = []
    for concurrent in (False, True):
        box = _fresh(make_sandbox, sf, daily_limit=1000)
        box.org.api_used = 0
        run_dir = tmp_path / str(concurrent)
        run_dir.mkdir()
        share = (reads + 6 + 2 + 0.5) / 1000
        out, state, _ = _sync(
            sf,
            box,
            run_dir,
            Jobs(together=False),
            concurrent=concurrent,
            monkeypatch=monkeypatch,
            api_budget_share=share,
        )
        try:
            assert box.org.api_used <= reads + 8
            assert out.stopped and out.status == "stopped"
            assert out.calls["bulk_ingest_create"] == 1  # the last job was never begun
            _matches_the_org(box, state)
            assert len(_held(box)) == out.written == SIZES[0]
            outcomes.append((out.status, out.written, out.failed, out.stopped))
            box.org.api_used = 0
            _next_run_writes_the_rest(sf, box, state, _settings(box, run_dir))
            _matches_the_org(box, state, once=False)
            assert len(_held(box)) == ACCOUNTS
        finally:
            state.close()
    assert outcomes[0] == outcomes[1]


def test_a_crash_while_both_are_in_flight_books_the_last_job(  # type: ignore[no-untyped-def]
    sf, make_sandbox, tmp_path, monkeypatch
) -> None:
    """The engine fails booking the job before (its transaction is rolled back) while the
    last job is in flight: abort() still books what the last job wrote; the next run
    records the first job's values, found held in the org."""
    box = _fresh(make_sandbox, sf)
    calls = count()
    written_by_ledger = RunLedger.written

    def crash_once(self: RunLedger, updates: list[Any], **kwargs: Any) -> None:
        if next(calls) == 0:
            raise RuntimeError("scripted crash in the engine")
        written_by_ledger(self, updates, **kwargs)

    monkeypatch.setattr(RunLedger, "written", crash_once)
    monkeypatch.setattr(SalesforceConnector, "concurrent_writes", True)
    settings = _settings(box, tmp_path)
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    script = Jobs(together=True)
    try:
        with _jobs(box, script), pytest.raises(RuntimeError, match="scripted crash"):
            sf.sync(settings, state)
        assert script.overlapped
        first, last = (script.ids[size] for size in SIZES)
        values, per_account, _ = _recorded(state)
        held = _held(box)
        assert set(held) == set(first) | set(last)  # the org took both jobs
        assert values == {i: held[i] for i in last}  # the last job's records, booked
        assert set(per_account) == set(last) and set(per_account.values()) == {1}
        monkeypatch.setattr(RunLedger, "written", written_by_ledger)
        report = _next_run_writes_the_rest(sf, box, state, settings)
        assert report.written == 0  # nothing to send: the org holds every value
        assert _recorded(state)[0] == _held(box)
    finally:
        state.close()


def test_a_failed_job_gives_back_its_calls_before_collections_write_its_records(  # type: ignore[no-untyped-def]
    sf, make_sandbox
) -> None:
    """A job that fails as a whole is written by Collections: the calls set aside for the
    job and not made are given back first, so the fallback spends the budget as it did
    before calls were set aside (the job's 4 calls and 2 Collections fit a budget of 6)."""
    box = make_sandbox(accounts=250, opportunities=300, daily_limit=1000)
    settings = sf.settings_for(box, bulk_write_threshold=1, write_concurrency=1, bulk_poll_s=0.3)
    sf.install(settings)
    box.org.api_used = 0
    connector = sf.connector_for(settings)
    try:
        updates = [
            ScoreUpdate(a.id, 61, "Tier 2", ("student",), "reasons", "v2", sf.NOW)
            for a in connector.read_accounts()
        ]
        budget = connector.api.budget
        assert budget.total and budget.start_used is not None and budget.used is not None
        spent = max(budget.used - budget.start_used, budget.made)
        budget.share = (spent + 6 + 0.5) / (budget.total - budget.start_used)
        box.reset_stats()
        with _jobs(box, Jobs(together=False, fail=len(updates))):
            report = connector.write_scores(updates)
    finally:
        connector.close()
    calls = Counter(box.stats())
    assert calls["bulk_ingest_poll"] == 1 and calls["composite_update"] == 2
    assert report.stopped is None and report.updated == len(updates) and not report.failures


@pytest.mark.parametrize("concurrent", [False, True], ids=["one-at-a-time", "side-by-side"])
def test_the_org_limit_reached_while_jobs_poll_stops_and_the_next_run_records_all(  # type: ignore[no-untyped-def]
    sf, make_sandbox, tmp_path, monkeypatch, concurrent: bool
) -> None:
    """From the second poll on the org answers 403 ``REQUEST_LIMIT_EXCEEDED``: the run stops,
    records only what a job reported written, and the next day's run writes or records
    (found holding its values) everything else. (A job whose polls were refused may have
    applied its records: they get written values, found so next run, but no history row;
    side by side, both jobs' polls may be refused, one at a time only the last job's.)"""
    box = _fresh(make_sandbox, sf)
    count_request = box.app.count
    polls = count()

    def counted(name: str, *args: Any) -> None:
        if name == "bulk_ingest_poll" and next(polls) == 1:
            with box.org.lock:
                box.org.daily_limit = box.org.api_used  # this request and all after: 403
        count_request(name, *args)

    box.app.count = counted  # type: ignore[method-assign]
    try:
        out, state, settings = _sync(
            sf,
            box,
            tmp_path,
            Jobs(together=concurrent),
            concurrent=concurrent,
            monkeypatch=monkeypatch,
        )
    finally:
        del box.app.count
    try:
        assert out.status == "stopped" and out.overlapped == concurrent
        values, per_account, _ = _recorded(state)
        held = _held(box)
        assert len(values) == out.written and set(per_account.values()) <= {1}
        assert all(held.get(i) == v for i, v in values.items())  # nothing claimed unheld
        with box.org.lock:
            box.org.daily_limit, box.org.api_used = 1_000_000, 0
        _next_run_writes_the_rest(sf, box, state, settings)
        after, _, last = _recorded(state)
        held = _held(box)
        assert after == held and len(held) == ACCOUNTS
        # history has a row for what a run saw written: a job whose polls were refused
        # applied its records unseen; the next run found them holding its values
        assert set(values) <= set(last) and all(held[i] == v for i, v in last.items())
    finally:
        state.close()
