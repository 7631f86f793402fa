"""The quarterly profile check ``schedule`` runs (``[schedule] validate_cron``).

It reads the connection's accounts and closed deals, scores them with the profile in
force, runs the staleness test of :mod:`~icpsync.evidence.staleness` and stores the
verdict with the drift log, where ``drift`` and ``runs`` show it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from icpsync.core.errors import IcpSyncError
from icpsync.evidence.dataset import load_dataset
from icpsync.evidence.evaluate import score_examples
from icpsync.evidence.staleness import check_staleness, quarter_trend

if TYPE_CHECKING:
    from icpsync.engine.settings import Settings
    from icpsync.engine.state import StateStore

log = logging.getLogger(__name__)


def validate_profile(
    settings: Settings, state: StateStore, connection: str, *, now: datetime
) -> dict[str, Any]:
    """Check the profile in force on ``connection``'s closed deals and store the verdict."""
    from icpsync.engine.registry import build_connector

    connector = build_connector(settings, connection)
    try:
        dataset = load_dataset(connector.read_accounts(), connector.read_opportunities())
    finally:
        connector.close()
    profile = settings.active_profile()
    scored = score_examples(profile, dataset.examples, now=now)
    found = check_staleness(profile, scored)
    verdict: dict[str, Any] = {
        "profile_version": profile.version,
        "closed_deals": len(dataset.examples),
        "stale": None if found is None else found["stale"],
        "reasons": (
            ["too few dated closed deals to compare the newest quarter with the period before"]
            if found is None
            else found["reasons"]
        ),
        "moved": [] if found is None else found["moved"][:3],
        "newest": None if found is None else found["newest"],
        "earlier": None if found is None else found["earlier"],
        "trend": quarter_trend(scored),
    }
    state.record_validation(connection, now, verdict)
    return verdict


def run_validation(config_path: str | None, connection: str) -> dict[str, Any] | None:
    """The scheduler's job: one profile check; logs one line and never raises."""
    from icpsync.engine.settings import load_settings
    from icpsync.engine.state import StateStore

    try:
        settings = load_settings(config_path)
        state = StateStore(settings.state.database_url())
        try:
            verdict = validate_profile(settings, state, connection, now=datetime.now(UTC))
        finally:
            state.close()
    except IcpSyncError as exc:
        log.error("profile check failed: %s", exc, extra={"connection": connection})
        return None
    word = {True: "STALE (run `icpsync learn`)", False: "current", None: "undecided"}
    log.info("profile check %s: %s", connection, word[verdict["stale"]])
    return verdict


def describe_verdict(verdict: dict[str, Any] | None) -> str:
    """One line for ``runs`` and ``drift``."""
    if verdict is None:
        return "profile check: none yet (schedule runs it on [schedule] validate_cron)"
    word = {True: "STALE: run `icpsync learn`", False: "current", None: "undecided"}
    text = f"profile check {verdict['at'][:19]} ({verdict['connection']}): {word[verdict['stale']]}"
    if verdict.get("reasons"):
        text += "; " + "; ".join(verdict["reasons"])
    return text
