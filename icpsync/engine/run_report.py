"""The report of one run: what was read, scored, changed, written, and what it cost.

A run ends in one status (the ``status`` property; ``crashed`` is found later, by the
state store, for a run that never got here):

* ``complete``: every changed record was written;
* ``partial``: everything else was written, but records were quarantined (refused by the
  CRM for good, or not placed by the reader); the cursor moves all the same;
* ``stopped``: a limit, a lost lease or a signal ended it early; the cursor stays;
* ``failed``: an error ended it, or records failed in a way worth retrying; the cursor stays.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from copy import deepcopy
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from icpsync.core.model import TIERS, RecordFailure, ScoreUpdate

if TYPE_CHECKING:
    from icpsync.core.batch import AccountBatch
    from icpsync.core.human_edits import HumanEdit

MAX_FAILURES_LISTED = 50
#: distinct quarantine reasons kept in the JSON report (commonest first).
MAX_REASONS_LISTED = 20


@dataclass
class RunReport:
    """Counts and figures of one run; ``to_dict()`` is the JSON the CLI prints."""

    crm: str
    #: the CRM identity the run read and wrote (org id, portal id, accounts file).
    org: str | None = None
    mode: str = "full"
    dry_run: bool = False
    started_at: str = ""
    profile_version: str = ""
    cursor: str | None = None
    accounts_read: int = 0
    opportunities_read: int = 0
    scored: int = 0
    changed: int = 0
    written: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[RecordFailure] = field(default_factory=list)
    #: of ``failed``, the records refused for good (quarantined), and why (reason -> count).
    quarantined: int = 0
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    #: records the reader could not place: id -> why (quarantined too).
    unplaced: dict[str, str] = field(default_factory=dict)
    #: records that left quarantine in this run (written, found right, or gone).
    released: int = 0
    bad_values: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    tiers: Counter[str] = field(default_factory=Counter)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    api_calls: Counter[str] = field(default_factory=Counter)
    score_histogram: list[int] = field(default_factory=lambda: [0] * 10)
    examples: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None
    duration_s: float = 0.0
    drift: dict[str, Any] = field(default_factory=dict)
    #: the error that ended the run (status ``failed``).
    error: str | None = None
    #: criteria the CRM cannot feed (a mapped field the org lacks), one line each.
    unavailable: list[str] = field(default_factory=list)
    #: direct edits of tool-owned fields found in this run (``HumanEdit`` as dicts).
    human_edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``complete``, ``partial``, ``stopped`` or ``failed`` (see the module docstring)."""
        if self.error:
            return "failed"
        if self.stopped:
            return "stopped"
        if self.failed > self.quarantined:
            return "failed"
        if self.quarantined or self.unplaced:
            return "partial"
        return "complete"

    @property
    def complete(self) -> bool:
        """True when the run went through: every changed record was written or quarantined
        and nothing stopped it (status ``complete`` or ``partial``); the cursor may move."""
        return self.status in ("complete", "partial")

    def count_scored(self, tiers: list[str], scores: list[int]) -> list[str]:
        """Count a batch of scored accounts (their tiers and scores, as columns); ``tiers``."""
        self.accounts_read += len(tiers)
        self.scored += len(tiers)
        self.tiers.update(tiers)
        histogram = self.score_histogram
        for score, n in Counter(scores).items():
            histogram[min(score // 10, 9)] += n
        return tiers

    def count_changes(
        self,
        batch: AccountBatch,
        positions: Sequence[int],
        updates: Sequence[ScoreUpdate],
        edits: Mapping[int, HumanEdit],
        *,
        examples: int,
    ) -> None:
        """Count a batch's changes: ``updates`` (those at ``positions`` of ``batch``) and the
        direct edits found (position -> edit; an edit is no tier transition), keeping the
        first ``examples`` changes of the run."""
        self.changed += len(positions)
        self.unchanged += len(batch) - len(positions)
        self.human_edits.extend(asdict(edit) for edit in edits.values())
        current = batch.current
        self.transitions.update(
            (current[p].tier or "none", u.tier)
            for p, u in zip(positions, updates, strict=True)
            if p not in edits
        )
        room = examples - len(self.examples)
        if room > 0:
            names = batch.columns["name"]
            self.examples.extend(
                {
                    "id": u.account_id,
                    "name": names[p],
                    "from": current[p].tier,
                    "to": u.tier,
                    "score": u.score,
                    "reasons": u.reasons,
                }
                for p, u in zip(positions[:room], updates[:room], strict=True)
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: counters as dicts, transitions as ``"old -> new"`` keys.

        Built field by field (the run's row is written with it after every batch): the
        containers are copies, as ``dataclasses.asdict`` would make them.
        """
        data = {name: getattr(self, name) for name in _FIELDS}
        data["score_histogram"] = list(self.score_histogram)
        data["examples"] = [dict(example) for example in self.examples]
        data["human_edits"] = [dict(edit) for edit in self.human_edits]
        data["drift"] = deepcopy(self.drift)
        data["unavailable"] = list(self.unavailable)
        data["status"] = self.status
        data["failures"] = [asdict(f) for f in self.failures[:MAX_FAILURES_LISTED]]
        data["quarantine_reasons"] = dict(self.quarantine_reasons.most_common(MAX_REASONS_LISTED))
        data["unplaced"] = dict(list(self.unplaced.items())[:MAX_FAILURES_LISTED])
        data["unplaced_count"] = len(self.unplaced)
        data["bad_values"] = dict(sorted(self.bad_values.items()))
        data["skipped"] = dict(sorted(self.skipped.items()))
        data["tiers"] = {t: self.tiers.get(t, 0) for t in TIERS}
        data["transitions"] = {
            f"{old} -> {new}": n for (old, new), n in sorted(self.transitions.items())
        }
        data["api_calls"] = {
            "total": sum(self.api_calls.values()),
            **dict(sorted(self.api_calls.items())),
        }
        data["duration_s"] = round(self.duration_s, 3)
        return data


_FIELDS = tuple(f.name for f in fields(RunReport))
