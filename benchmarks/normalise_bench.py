"""Cleaning throughput: the column normaliser, and ``Normaliser.account`` per call.

    python benchmarks/normalise_bench.py --rows 100000 --repeat 5

Raw records are built from the synthetic data set with the Salesforce field map's
vocabularies, half of them holding ICP values already (a re-run), in two forms: text (a
Bulk CSV page or an ``icpsync score`` file: every value a string) and typed (REST or
HubSpot JSON: numbers as numbers). Each case prints one JSON line with the best CPU time
of ``--repeat`` runs (the machine may be shared: CPU time is what this process got):
- ``columns``: ``accounts_from_columns`` over the rows in pages of ``page`` rows;
- ``per_call``: ``Normaliser.account`` on each row (microseconds a call);
- ``opportunities``: the same two for deals.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from icpsync.core.model import ConnectorStats
from icpsync.core.normalise import Normaliser
from icpsync.core.normalise_columns import accounts_from_columns
from icpsync.core.synthetic import SyntheticData
from icpsync.engine.field_map import load_field_map

try:  # the opportunity column path (absent before it was written)
    from icpsync.core.normalise_columns import opportunities_from_columns
except ImportError:  # pragma: no cover - for measuring the previous release
    opportunities_from_columns = None  # type: ignore[assignment]

TIERS = ("Tier 1", "Tier 2", "Tier 3", "Tier 4")


def raw_accounts(rows: int, text: bool) -> list[dict[str, Any]]:
    """``rows`` raw account records as a connector hands them to the normaliser."""
    data = SyntheticData(accounts=rows, opportunities=0)
    raws = []
    for index in range(rows):
        account = data.account(index)
        raw: dict[str, Any] = {
            "id": account.id,
            "name": account.name,
            "domain": f"https://www.{account.domain}/" if index % 7 == 0 else account.domain,
            "industry": account.industry,
            "employees": account.employees,
            "annual_revenue": account.annual_revenue,
            "country": "USA" if account.country == "United States" else account.country,
            "region": None,
            "tech_stack": ";".join(sorted(account.tech_stack)) or None,
            "last_modified": account.last_modified.isoformat().replace("+00:00", "Z")
            if account.last_modified
            else None,
            "signals": {},
        }
        if index % 2:  # scored by an earlier run
            raw.update(
                icp_score=str(index % 100),
                icp_tier=TIERS[index % 4],
                icp_anti_flags="competitor" if index % 9 == 0 else None,
                icp_reasons="Industry Technology (+25)",
                icp_profile_version="default-1",
                icp_scored_at="2026-10-01T00:00:00Z",
                icp_tier_override=None,
            )
        if text:
            raw = {k: "" if v is None else v if k == "signals" else str(v) for k, v in raw.items()}
        raws.append(raw)
    return raws


def raw_opportunities(rows: int, text: bool) -> list[dict[str, Any]]:
    """``rows`` raw deals."""
    data = SyntheticData(accounts=max(rows // 3, 1), opportunities=rows)
    raws = []
    for opp in data.iter_opportunities():
        raw: dict[str, Any] = {
            "id": opp.id,
            "account_id": opp.account_id,
            "stage": opp.stage,
            "is_closed": opp.is_closed,
            "is_won": opp.is_won,
            "amount": opp.amount,
            "created": opp.created.isoformat() if opp.created else None,
            "closed": opp.closed.isoformat() if opp.closed else None,
            "last_modified": opp.last_modified.isoformat() if opp.last_modified else None,
        }
        if text:
            raw = {k: "" if v is None else str(v).lower() for k, v in raw.items()}
        raws.append(raw)
    return raws


def best_cpu(run: Callable[[], object], repeat: int) -> float:
    """The least CPU time of ``repeat`` calls of ``run``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def columns_of(raws: list[dict[str, Any]]) -> dict[str, list[Any]]:
    keys = dict.fromkeys(k for raw in raws for k in raw if k != "signals")
    return {key: [raw.get(key) for raw in raws] for key in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=20_000, help="rows for per_call")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    vocabularies = load_field_map("salesforce").vocabularies

    def normaliser() -> Normaliser:
        return Normaliser(ConnectorStats(), vocabularies)

    for form in ("text", "typed"):
        raws = raw_accounts(args.rows, form == "text")
        for page in (50_000, 100):
            pages = [
                (columns_of(raws[at : at + page]), [r["signals"] for r in raws[at : at + page]])
                for at in range(0, len(raws), page)
            ]

            def by_columns(pages: list[Any] = pages) -> None:
                clean = normaliser()
                for columns, signals in pages:
                    accounts_from_columns(clean, columns, signals)

            cpu = best_cpu(by_columns, args.repeat)
            line = {"case": "columns", "form": form, "page": page, "rows": len(raws)}
            print(json.dumps({**line, "cpu_s": round(cpu, 3), "rows_per_s": int(len(raws) / cpu)}))
        calls = raws[: args.calls]

        def per_call(calls: list[dict[str, Any]] = calls) -> None:
            clean = normaliser().account
            for raw in calls:
                clean(raw)

        cpu = best_cpu(per_call, args.repeat)
        line = {"case": "per_call", "form": form, "rows": len(calls)}
        print(json.dumps({**line, "us_per_call": round(cpu / len(calls) * 1e6, 2)}))

        opps = raw_opportunities(args.calls, form == "text")

        def opp_per_call(opps: list[dict[str, Any]] = opps) -> None:
            clean = normaliser().opportunity
            for raw in opps:
                clean(raw)

        cpu = best_cpu(opp_per_call, args.repeat)
        line = {"case": "opportunities_per_call", "form": form, "rows": len(opps)}
        print(json.dumps({**line, "us_per_call": round(cpu / len(opps) * 1e6, 2)}))
        if opportunities_from_columns is not None:
            opp_columns = columns_of(opps)

            def opp_columns_run(columns: dict[str, list[Any]] = opp_columns) -> None:
                opportunities_from_columns(normaliser(), columns)

            cpu = best_cpu(opp_columns_run, args.repeat)
            line = {"case": "opportunities_columns", "form": form, "rows": len(opps)}
            print(json.dumps({**line, "rows_per_s": int(len(opps) / cpu)}))


if __name__ == "__main__":
    main()
