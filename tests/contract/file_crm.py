"""The file connector under the contract: canonical CSV files play the CRM.

The accounts file is what a person edits (a changed row gets a new ``last_modified``; the
manual override is its ``icp_tier_override`` column); the output file is where the tool's
values are held. A file accepts every row, so it cannot refuse one record's write.
"""

from __future__ import annotations

import csv
import random
import shutil
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from synthetic_files import write_synthetic

from contract.harness import (
    ACCOUNTS,
    API_BUDGET,
    OPPORTUNITIES,
    REJECT_WRITES,
    REVOKE_ACCESS,
    SEED,
    SPURIOUS_401,
    TRANSIENT_FAULTS,
    WHOLE_BATCH_REJECTION,
    HarnessBase,
    Held,
    split_flags,
)

OVERRIDE = "icp_tier_override"
INDUSTRIES = ("Technology", "Education", "Retail", "Finance", "Government")


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _filled(row: dict[str, str]) -> dict[str, str]:
    """The cells of a row that hold a value."""
    return {column: value for column, value in row.items() if value}


class FileCrm(HarnessBase):
    """Seeded canonical files in ``folder``; the output file holds the tool's values."""

    name: ClassVar[str] = "file"
    needs_install: ClassVar[bool] = False
    #: a rep's edit of the output is no change of the accounts file: a full run finds it.
    edits_seen_by_incremental: ClassVar[bool] = False
    cannot: ClassVar[Mapping[str, str]] = {
        REJECT_WRITES: "a file accepts every row: the file connector has no per-record refusal",
        WHOLE_BATCH_REJECTION: "a file accepts every row: there is no batch to reject",
        TRANSIENT_FAULTS: "a local file has no transient faults to retry (no network, no "
        "rate limit): a read or write either works or fails",
        SPURIOUS_401: "a file has no credentials and no session",
        REVOKE_ACCESS: "a file has no access to revoke, and the output is written once, at "
        "the end (a failed commit of it is tests/test_quarantine.py's)",
        API_BUDGET: "a file has no API and no daily budget",
    }

    def __init__(self, folder: Path):
        super().__init__(folder)
        self._use(folder)
        self._before: dict[str, dict[str, str]] = {}

    def _use(self, folder: Path) -> None:
        """The files of the org in ``folder`` play the CRM."""
        self.files = folder
        self.accounts_path = folder / "accounts.csv"
        self.opportunities_path = folder / "opportunities.csv"
        self.output_path = folder / "scored.csv"

    def start(self) -> None:
        self.restore()

    def stop(self) -> None:
        self.close_state()

    def restore(self) -> None:
        self._use(self.folder)
        for other in self.folder.glob("org*"):
            shutil.rmtree(other)
        write_synthetic(self.folder, ACCOUNTS, OPPORTUNITIES, SEED)
        self.output_path.unlink(missing_ok=True)

    def connection(self) -> dict[str, Any]:
        return {
            "sync": {"crm": "file"},
            "file": {
                "accounts": str(self.accounts_path),
                "opportunities": str(self.opportunities_path),
                "output": str(self.output_path),
            },
        }

    def account_id(self, seed_id: str) -> str:
        return seed_id

    def opportunity_id(self, seed_id: str) -> str:
        return seed_id

    # -- observed from outside -------------------------------------------------------

    def _output(self) -> dict[str, dict[str, str]]:
        return {row["id"]: row for row in _rows(self.output_path)}

    def reset_counts(self) -> None:
        self._before = self._output()

    def write_counts(self) -> Counter[str]:
        """Rows of the output file that are new or differ since :meth:`reset_counts`
        (every write stamps ``icp_scored_at``; two writes of one row count once; a column
        added empty, such as the override's, changes no row)."""
        before = {rid: _filled(row) for rid, row in self._before.items()}
        return Counter(
            rid for rid, row in self._output().items() if before.get(rid) != _filled(row)
        )

    def held(self) -> dict[str, Held]:
        held = {row["id"]: Held() for row in _rows(self.accounts_path)}
        for rid, row in self._output().items():
            score = row.get("icp_score") or ""
            held[rid] = Held(
                int(score) if score else None,
                row.get("icp_tier") or None,
                split_flags(row.get("icp_anti_flags")),
                row.get("icp_reasons") or None,
                row.get("icp_profile_version") or None,
            )
        return held

    def overrides(self) -> dict[str, str]:
        """A person's overrides in the accounts file, and those the tool wrote to the
        output (a rep's kept edit)."""
        rows = [*_rows(self.accounts_path), *_rows(self.output_path)]
        return {r["id"]: r[OVERRIDE] for r in rows if r.get(OVERRIDE)}

    def schema(self) -> frozenset[str]:
        return frozenset()

    # -- what a person does ----------------------------------------------------------

    def _edit(self, changes: dict[str, dict[str, str]]) -> None:
        rows = _rows(self.accounts_path)
        columns = list(rows[0])
        now = datetime.now(UTC).isoformat()
        for row in rows:
            if row["id"] in changes:
                row.update(changes[row["id"]], last_modified=now)
                columns += [c for c in changes[row["id"]] if c not in columns]
        with self.accounts_path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows)

    def edit_accounts(self, n: int, seed: int) -> list[str]:
        rng = random.Random(seed)
        ids = sorted(rng.sample([r["id"] for r in _rows(self.accounts_path)], n))
        self._edit(
            {
                rid: {
                    "employees": str(rng.choice((5, 40, 150, 800, 1500, 12000))),
                    "industry": rng.choice(INDUSTRIES),
                }
                for rid in ids
            }
        )
        return ids

    def set_override(self, account_id: str, tier: str) -> None:
        self._edit({account_id: {OVERRIDE: tier}})

    def reject_writes(self, ids: list[str]) -> None:
        raise NotImplementedError(self.cannot[REJECT_WRITES])

    # -- left alone for a month ------------------------------------------------------

    def rep_sets_tier(self, account_id: str, tier: str) -> None:
        """The rep edits the tier in the output (what "the CRM" holds)."""
        rows = _rows(self.output_path)
        for row in rows:
            if row["id"] == account_id:
                row["icp_tier"] = tier
        with self.output_path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    def use_org(self, number: int) -> str:
        """Another accounts file is another org: org 2 is a seeded copy in its own folder."""
        folder = self.folder if number == 1 else self.folder / f"org{number}"
        if not (folder / "accounts.csv").exists():
            folder.mkdir(parents=True, exist_ok=True)
            write_synthetic(folder, ACCOUNTS, OPPORTUNITIES, SEED)
        self._use(folder)
        connector = self.connector()
        try:
            return str(connector.org_id())
        finally:
            connector.close()

    def reject_whole_batch(self, on: bool) -> None:
        raise NotImplementedError(self.cannot[WHOLE_BATCH_REJECTION])

    def inject_faults(self, rate: float) -> None:
        raise NotImplementedError(self.cannot[TRANSIENT_FAULTS])

    def faults_injected(self) -> int:
        raise NotImplementedError(self.cannot[TRANSIENT_FAULTS])

    def spurious_401s(self, count: int) -> None:
        raise NotImplementedError(self.cannot[SPURIOUS_401])

    def revoke_access_after(self, writes: int) -> None:
        raise NotImplementedError(self.cannot[REVOKE_ACCESS])

    def budget(self, calls: int | None) -> None:
        raise NotImplementedError(self.cannot[API_BUDGET])
