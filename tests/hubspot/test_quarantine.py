"""HubSpot: records refused for good are quarantined and the cursor moves; companies the
incremental search cannot place are reported by id, never skipped in silence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from icpsync.connectors.hubspot.reader import UNPLACED, Reader
from icpsync.connectors.hubspot.sandbox import Sandbox
from icpsync.core.model import ConnectorStats
from icpsync.engine.field_map import load_field_map
from icpsync.engine.quarantine import list_failures


def test_refused_option_is_quarantined_then_retry_failed_writes_it(
    sandbox: Sandbox, runner_for: Callable[..., Any]
) -> None:
    runner = runner_for(sandbox)
    with sandbox.portal.lock:  # an admin deleted the Anti-ICP option
        tier = sandbox.portal.properties["companies"]["icp_tier"]
        tier["options"] = [o for o in tier["options"] if o["value"] != "anti_icp"]

    first = runner.sync()

    assert first.status == "partial" and first.quarantined == first.failed > 0
    assert (
        runner.state.cursor("hubspot", "accounts", org=first.org or "") is not None
    )  # not stalled
    rows = list_failures(runner.state.engine, "hubspot")
    assert {r["record_id"] for r in rows} == {f.account_id for f in first.failures}
    assert all("INVALID_OPTION" in r["reason"] for r in rows)

    quiet = runner.sync()  # incremental: the refused records are not retried
    assert quiet.mode == "incremental" and quiet.quarantined == 0

    runner.install()  # adds the option back
    retried = runner.sync(retry_failed=True)
    assert retried.mode == "incremental" and retried.status == "complete"
    assert retried.written == first.failed and retried.released == first.failed
    assert list_failures(runner.state.engine, "hubspot") == []
    anti = {cid for cid, v in sandbox.values().items() if v[1] == "anti_icp"}
    assert anti == {f.account_id for f in first.failures}


class _Pages:
    """A search API answering with canned pages (the reader's paging logic only)."""

    def __init__(self, pages: list[dict[str, Any]]):
        self.pages = pages
        self.companies_search = SimpleNamespace(do_search=None)

    def call(self, kind: str, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.pages.pop(0)


def _company(cid: str, stamp: str | None) -> dict[str, Any]:
    props = {"name": f"Co {cid}", "hs_lastmodifieddate": stamp}
    return {"id": cid, "properties": props}


def test_a_searched_company_without_a_timestamp_is_reported_by_id() -> None:
    stats = ConnectorStats()
    page = {
        "results": [
            _company("1", "2026-11-01T10:00:00.000Z"),
            _company("2", None),
            _company("3", "2026-11-01T11:00:00.000Z"),
        ]
    }
    reader = Reader(_Pages([page]), load_field_map("hubspot"), stats, 365)  # type: ignore[arg-type]

    read = [a.id for a in reader.companies(datetime(2026, 10, 1, tzinfo=UTC))]

    assert read == ["1", "3"]
    assert stats.unplaced == {"2": UNPLACED}


def test_a_page_without_timestamps_stops_the_search_and_names_its_companies() -> None:
    stats = ConnectorStats()
    page = {
        "results": [_company("7", None), _company("8", "")],
        "paging": {"next": {"after": "2"}},
    }
    reader = Reader(_Pages([page]), load_field_map("hubspot"), stats, 365)  # type: ignore[arg-type]

    assert list(reader.companies(datetime(2026, 10, 1, tzinfo=UTC))) == []
    assert set(stats.unplaced) == {"7", "8"}
    assert stats.skipped["companies_search_stopped_on_a_page_without_timestamps"] == 1
