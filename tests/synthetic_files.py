"""Canonical accounts and opportunities files written from the shared synthetic data."""

from __future__ import annotations

import csv
from pathlib import Path

from icpsync.core.model import ACCOUNT_COLUMNS, OPPORTUNITY_COLUMNS
from icpsync.core.synthetic import SyntheticData


def write_synthetic(
    folder: Path, accounts: int = 120, opportunities: int = 360, seed: int = 5
) -> tuple[Path, Path]:
    """Write canonical accounts.csv and opportunities.csv from synthetic data."""
    data = SyntheticData(accounts=accounts, opportunities=opportunities, seed=seed)
    acc_path, opp_path = folder / "accounts.csv", folder / "opportunities.csv"
    with acc_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*ACCOUNT_COLUMNS, "last_modified"])
        for a in data.iter_accounts():
            writer.writerow(
                [
                    a.id,
                    a.name,
                    a.domain,
                    a.industry or "",
                    a.employees or "",
                    a.annual_revenue or "",
                    a.country or "",
                    "",
                    ";".join(sorted(a.tech_stack)),
                    a.last_modified.isoformat() if a.last_modified else "",
                ]
            )
    with opp_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*OPPORTUNITY_COLUMNS, "last_modified"])
        for o in data.iter_opportunities():
            writer.writerow(
                [
                    o.id,
                    o.account_id,
                    o.stage,
                    o.is_closed,
                    o.is_won,
                    o.amount,
                    o.created,
                    o.closed or "",
                    o.last_modified.isoformat() if o.last_modified else "",
                ]
            )
    return acc_path, opp_path
