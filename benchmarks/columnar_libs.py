"""pyarrow, polars or the standard library on icpsync's own column work.

    python benchmarks/columnar_libs.py --sizes 100000 1000000 --repeat 3

Four steps, each timed per library in a fresh child process (CPU seconds of all its
threads, wall seconds, RSS before the step and peak RSS), best of ``--repeat``:

- ``parse``: Salesforce Bulk 2.0 query results (CSV pages of 50,000 rows, as bytes) into one
  list of ``str`` / ``None`` per column, what the Python cleaning consumes;
- ``distinct``: the same pages into per-row *cleaned* lists, cleaning each distinct value of
  a column once (stdlib: a dict per column; pyarrow: ``dictionary_encode``; polars:
  ``unique`` + ``replace_strict``); ``codes`` stops at the distinct values and a code per row;
- ``write``: the scored columns (ids, score, tier, flags, reasons, profile version) into the
  ``icpsync score`` output CSV (``\\r\\n``) and the Bulk ingest CSV (``\\n``), as UTF-8 bytes;
- ``json``: HubSpot company list pages (``{"results": [{"id", "properties": {...}}], ...}``,
  100 a page) into one list per property.

Every child checks its output against the standard library's (a digest of the values, or
of the bytes written): ``equal`` in the output says whether the library gives exactly what
icpsync gives today. The data: the Salesforce and HubSpot sandboxes' own generators
(``icpsync.core.synthetic``, rendered by the sandboxes' seed modules), the previous ICP
values of every other account from the real scorer, and one name in 97 with a comma and
quotes, one in 1,009 with a line break, one in 53 with non-ASCII letters. Generated once per
size under ``--cache``. ``--imports`` also times each library's import (best of 5 fresh
interpreters) and sums its installed size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

LIBS = ("stdlib", "pyarrow", "polars")
STEPS = ("parse", "codes", "distinct", "write", "json")
PAGE_ROWS = 50_000
HUBSPOT_PAGE = 100
ICP_FIELDS = [
    "ICP_Score__c",
    "ICP_Tier__c",
    "ICP_Anti_Flags__c",
    "ICP_Reasons__c",
    "ICP_Profile_Version__c",
    "ICP_Scored_At__c",
    "ICP_Tier_Override__c",
]
ACCOUNT_FIELDS = [
    "Id",
    "Name",
    "Website",
    "Industry",
    "NumberOfEmployees",
    "AnnualRevenue",
    "BillingCountry",
    "BillingState",
    "Tech_Stack__c",
    "SystemModstamp",
    *ICP_FIELDS,
]
SCORE_HEADER = ["id", "icp_score", "icp_tier", "icp_flags", "icp_reasons", "icp_profile_version"]
INGEST_HEADER = ["Id", *ICP_FIELDS[:6]]
SCORED_AT = "2026-11-01T00:00:00.000Z"


# -- data -------------------------------------------------------------------------------


def _odd_name(index: int, name: str | None) -> str | None:
    if index % 97 == 0:
        return f'{name}, "Holdings" & Co'
    if index % 1009 == 0:
        return f"{name}\nAttn: Accounts"
    if index % 53 == 0:
        return f"Müller Präzision {name} 株式会社"
    return name


def generate(size: int, folder: Path) -> None:
    """Bulk result pages, HubSpot list pages and scored columns for ``size`` accounts."""
    import csv
    import io
    from datetime import UTC, datetime

    from icpsync.connectors.hubspot.sandbox import seed as hs_seed
    from icpsync.connectors.salesforce.sandbox import seed as sf_seed
    from icpsync.connectors.salesforce.sandbox.schema import to_csv
    from icpsync.core.default_profile import default_profile
    from icpsync.core.scoring import Scorer
    from icpsync.core.synthetic import SyntheticData

    folder.mkdir(parents=True, exist_ok=True)
    data = SyntheticData(accounts=size, opportunities=0, seed=7)
    scores = Scorer(default_profile()).score_many(
        list(data.iter_accounts()), {}, datetime(2026, 11, 1, tzinfo=UTC)
    )
    columns: dict[str, list[Any]] = {name: [] for name in SCORE_HEADER}
    rows: list[list[str]] = []
    for index, (record, score) in enumerate(zip(sf_seed.accounts(data), scores, strict=True)):
        record["Name"] = _odd_name(index, record["Name"])
        flags = ";".join(score.flags)
        reasons = score.reasons_short
        if index % 211 == 0:
            reasons += '; note: "as of" Q3,\nsee CRM'
        columns["id"].append(record["Id"])
        columns["icp_score"].append(score.score)
        columns["icp_tier"].append(score.tier)
        columns["icp_flags"].append(flags)
        columns["icp_reasons"].append(reasons)
        columns["icp_profile_version"].append(score.profile_version)
        previous = [score.score, score.tier, flags, reasons, score.profile_version, SCORED_AT]
        record.update(zip(ICP_FIELDS, [*previous, None] if index % 2 else [None] * 7, strict=True))
        rows.append([to_csv(record[f]) for f in ACCOUNT_FIELDS])
    pages = []
    for start in range(0, len(rows), PAGE_ROWS):
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(
            [ACCOUNT_FIELDS, *rows[start : start + PAGE_ROWS]]
        )
        pages.append(out.getvalue().encode())
    companies = list(hs_seed.companies(data))
    hubspot = []
    for start in range(0, len(companies), HUBSPOT_PAGE):
        chunk = companies[start : start + HUBSPOT_PAGE]
        results = [
            {
                "id": cid,
                "properties": {**props, "name": _odd_name(start + i, props["name"])},
                "createdAt": props["createdate"],
                "updatedAt": props["hs_lastmodifieddate"],
                "archived": False,
            }
            for i, (cid, props) in enumerate(chunk)
        ]
        after = str(start + HUBSPOT_PAGE)
        paging = {"next": {"after": after, "link": f"/crm/v3/objects/companies?after={after}"}}
        hubspot.append(json.dumps({"results": results, "paging": paging}).encode())
    for name, value in (("bulk_pages", pages), ("hubspot_pages", hubspot), ("scored", columns)):
        (folder / f"{name}.pickle").write_bytes(pickle.dumps(value, protocol=5))


# -- the steps, per library ---------------------------------------------------------------

Columns = dict[str, list[Any]]


def clean(value: str) -> str:
    """Stands in for a cleaner: the same work whatever the library."""
    return value.strip().casefold()


def parse_stdlib(pages: list[bytes]) -> Columns:
    import csv
    import io

    out: Columns = {}
    for page in pages:
        lines = csv.reader(io.StringIO(page.decode()))
        header = next(lines)
        columns = zip(*lines, strict=True)
        for name, column in zip(header, columns, strict=True):
            out.setdefault(name, []).extend([v if v != "" else None for v in column])
    return out


def _arrow_table(page: bytes) -> Any:
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = page[: page.index(b"\n")].decode().split(",")
    return pacsv.read_csv(
        io.BytesIO(page),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
    )


def parse_pyarrow(pages: list[bytes]) -> Columns:
    out: Columns = {}
    for page in pages:
        table = _arrow_table(page)
        for name in table.column_names:
            out.setdefault(name, []).extend(table.column(name).to_pylist())
    return out


def _polars_frame(page: bytes) -> Any:
    import polars as pl

    return pl.read_csv(page, infer_schema=False, empty_string_is_null=True)


def parse_polars(pages: list[bytes]) -> Columns:
    out: Columns = {}
    for page in pages:
        frame = _polars_frame(page)
        for name in frame.columns:
            out.setdefault(name, []).extend(frame.get_column(name).to_list())
    return out


def codes_stdlib(pages: list[bytes]) -> list[tuple[str, list[Any], Any]]:
    out = []
    for name, column in parse_stdlib(pages).items():
        memo: dict[Any, int] = {}
        codes = [memo.setdefault(v, len(memo)) for v in column]
        out.append((name, list(memo), codes))
    return out


def codes_pyarrow(pages: list[bytes]) -> list[tuple[str, list[Any], Any]]:
    out = []
    for page in pages:
        table = _arrow_table(page)
        for name in table.column_names:
            encoded = table.column(name).combine_chunks().dictionary_encode()
            values = [*encoded.dictionary.to_pylist(), None]
            codes = encoded.indices.fill_null(len(values) - 1).to_numpy()
            out.append((name, values, codes))
    return out


def codes_polars(pages: list[bytes]) -> list[tuple[str, list[Any], Any]]:
    import polars as pl

    out = []
    for page in pages:
        frame = _polars_frame(page)
        for name in frame.columns:
            column = frame.get_column(name)
            values = column.unique(maintain_order=True)
            codes = column.replace_strict(
                values, pl.int_range(len(values), eager=True), return_dtype=pl.UInt32
            )
            out.append((name, values.to_list(), codes.to_numpy()))
    return out


def distinct_stdlib(pages: list[bytes]) -> Columns:
    out: Columns = {}
    for name, column in parse_stdlib(pages).items():
        cleaned: dict[str | None, str | None] = {None: None}
        cleaned.update((v, clean(v)) for v in dict.fromkeys(column) if v is not None)
        out[name] = list(map(cleaned.__getitem__, column))
    return out


def distinct_pyarrow(pages: list[bytes]) -> Columns:
    import numpy as np

    out: Columns = {}
    for name, values, codes in codes_pyarrow(pages):
        cleaned = np.array([None if v is None else clean(v) for v in values], dtype=object)
        out.setdefault(name, []).extend(cleaned[codes].tolist())
    return out


def distinct_polars(pages: list[bytes]) -> Columns:
    import polars as pl

    out: Columns = {}
    for page in pages:
        frame = _polars_frame(page)
        for name in frame.columns:
            column = frame.get_column(name)
            values = column.drop_nulls().unique().to_list()
            cleaned = [clean(v) for v in values]
            mapped = column.replace_strict(values, cleaned, default=None, return_dtype=pl.String)
            out.setdefault(name, []).extend(mapped.to_list())
    return out


def _ingest_rows(scored: Columns) -> list[list[Any]]:
    return [
        scored["id"],
        scored["icp_score"],
        scored["icp_tier"],
        scored["icp_flags"],
        scored["icp_reasons"],
        scored["icp_profile_version"],
        [SCORED_AT] * len(scored["id"]),
    ]


def write_stdlib(scored: Columns) -> list[bytes]:
    import csv
    import io

    score_out = io.StringIO()
    writer = csv.writer(score_out)
    writer.writerow(SCORE_HEADER)
    writer.writerows(zip(*scored.values(), strict=True))
    ingest_out = io.StringIO()
    writer = csv.writer(ingest_out, lineterminator="\n")
    writer.writerow(INGEST_HEADER)
    writer.writerows(zip(*_ingest_rows(scored), strict=True))
    return [score_out.getvalue().encode(), ingest_out.getvalue().encode()]


def write_pyarrow(scored: Columns) -> list[bytes]:
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    written = []
    for header, columns, eol in (
        (SCORE_HEADER, list(scored.values()), "\r\n"),
        (INGEST_HEADER, _ingest_rows(scored), "\n"),
    ):
        table = pa.table(dict(zip(header, columns, strict=True)))
        out = io.BytesIO()
        pacsv.write_csv(table, out, pacsv.WriteOptions(eol=eol, quoting_header="none"))
        written.append(out.getvalue())
    return written


def write_polars(scored: Columns) -> list[bytes]:
    import io

    import polars as pl

    written = []
    for header, columns, eol in (
        (SCORE_HEADER, list(scored.values()), "\r\n"),
        (INGEST_HEADER, _ingest_rows(scored), "\n"),
    ):
        frame = pl.DataFrame(dict(zip(header, columns, strict=True)))
        # polars quotes an empty string ("") to tell it from a null; ours are plain empty
        frame = frame.with_columns(pl.col(pl.String).replace("", None))
        out = io.BytesIO()
        frame.write_csv(out, line_terminator=eol, quote_style="necessary")
        written.append(out.getvalue())
    return written


def _properties(pages: list[bytes]) -> list[str]:
    first = json.loads(pages[0])["results"][0]["properties"]
    return list(first)


def json_stdlib(pages: list[bytes]) -> Columns:
    names = _properties(pages)
    out: Columns = {name: [] for name in ["id", *names]}
    for page in pages:
        results = json.loads(page)["results"]
        out["id"].extend([r["id"] for r in results])
        props = [r["properties"] for r in results]
        for name in names:
            out[name].extend([p.get(name) for p in props])
    return out


def json_pyarrow(pages: list[bytes]) -> Columns:
    import io

    import pyarrow.json as pajson

    names = _properties(pages)
    out: Columns = {name: [] for name in ["id", *names]}
    for page in pages:
        table = pajson.read_json(io.BytesIO(page))
        results = table.column("results").combine_chunks().flatten()
        out["id"].extend(results.field("id").to_pylist())
        props = results.field("properties")
        for name in names:
            present = props.type.get_field_index(name) >= 0
            out[name].extend(props.field(name).to_pylist() if present else [None] * len(props))
    return out


def json_polars(pages: list[bytes]) -> Columns:
    import polars as pl

    names = _properties(pages)
    out: Columns = {name: [] for name in ["id", *names]}
    for page in pages:
        results = pl.read_json(page).get_column("results").explode().struct.unnest()
        props = results.get_column("properties").struct.unnest()
        out["id"].extend(results.get_column("id").to_list())
        for name in names:
            column = props.get_column(name).to_list() if name in props.columns else None
            out[name].extend(column or [None] * props.height)
    return out


STEP_FUNCTIONS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "parse": {"stdlib": parse_stdlib, "pyarrow": parse_pyarrow, "polars": parse_polars},
    "codes": {"stdlib": codes_stdlib, "pyarrow": codes_pyarrow, "polars": codes_polars},
    "distinct": {"stdlib": distinct_stdlib, "pyarrow": distinct_pyarrow, "polars": distinct_polars},
    "write": {"stdlib": write_stdlib, "pyarrow": write_pyarrow, "polars": write_polars},
    "json": {"stdlib": json_stdlib, "pyarrow": json_pyarrow, "polars": json_polars},
}


def digest(step: str, result: Any) -> str:
    """One hash of a step's output, comparable across libraries."""
    sha = hashlib.sha256()
    if step == "write":
        for blob in result:
            sha.update(blob)
        return sha.hexdigest()
    if step == "codes":
        merged: Columns = {}
        for name, values, codes in result:
            merged.setdefault(name, []).extend(values[int(c)] for c in codes)
        result = merged
    for name, column in result.items():
        sha.update(name.encode())
        for value in column:
            sha.update(b"\x00" if value is None else b"\x01" + value.encode() + b"\x1f")
    return sha.hexdigest()


# -- processes ----------------------------------------------------------------------------


def _status_mb(key: str) -> float:
    """``VmRSS`` or ``VmHWM`` (peak) of this process; unlike ``ru_maxrss``, the peak starts
    afresh at ``exec`` rather than carrying the forking parent's."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise LookupError(key)


def child(lib: str, step: str, folder: Path) -> None:
    """Run one step once in this process and print its figures as JSON."""
    function = STEP_FUNCTIONS[step][lib]
    if lib != "stdlib":
        __import__(lib)  # import time is measured apart (--imports)
    source = {"write": "scored", "json": "hubspot_pages"}.get(step, "bulk_pages")
    data = pickle.loads((folder / f"{source}.pickle").read_bytes())
    before = _status_mb("VmRSS")
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(data)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    peak = _status_mb("VmHWM")
    print(
        json.dumps(
            {
                "cpu_s": cpu,
                "wall_s": wall,
                "rss_before_mb": before,
                "peak_rss_mb": peak,
                "digest": digest(step, result),
            }
        )
    )


def run_child(lib: str, step: str, folder: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", lib, step, str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def imports() -> None:
    """Import time (best of 5 fresh interpreters) and installed size of each library."""
    from importlib import metadata

    for lib, module in (
        ("stdlib", "csv, json"),
        ("pyarrow", "pyarrow.csv, pyarrow.json"),
        ("polars", "polars"),
    ):
        code = (
            f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        )
        times = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code], capture_output=True, text=True, check=True
                ).stdout
            )
            for _ in range(5)
        ]
        size = 0
        for dist in {
            "stdlib": [],
            "pyarrow": ["pyarrow"],
            "polars": ["polars", "polars-runtime-32"],
        }[lib]:
            try:
                files = metadata.distribution(dist).files or []
            except metadata.PackageNotFoundError:
                continue
            size += sum(f.size or 0 for f in files)
        version = metadata.version(lib) if lib != "stdlib" else sys.version.split()[0]
        print(
            json.dumps(
                {
                    "lib": lib,
                    "version": version,
                    "import_s": round(min(times), 3),
                    "installed_mb": round(size / 2**20, 1),
                }
            ),
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--libs", nargs="+", choices=LIBS, default=list(LIBS))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/icpsync-columnar"))
    parser.add_argument("--imports", action="store_true", help="Also time imports, sum sizes.")
    parser.add_argument(
        "--child", nargs=3, metavar=("LIB", "STEP", "FOLDER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], Path(args.child[2]))
        return
    if args.imports:
        imports()
    for size in args.sizes:
        folder = args.cache / str(size)
        if not (folder / "scored.pickle").exists():
            started = time.perf_counter()
            generate(size, folder)
            print(
                json.dumps({"generated": size, "seconds": round(time.perf_counter() - started, 1)}),
                flush=True,
            )
        for step in args.steps:
            reference = None
            for lib in ["stdlib", *[lib for lib in args.libs if lib != "stdlib"]]:
                runs = [run_child(lib, step, folder) for _ in range(args.repeat)]
                good = [r for r in runs if "error" not in r]
                if not good:
                    print(
                        json.dumps({"size": size, "step": step, "lib": lib, **runs[0]}), flush=True
                    )
                    continue
                best = min(good, key=lambda r: r["cpu_s"])
                if lib == "stdlib":
                    reference = best["digest"]
                if lib not in args.libs:
                    continue
                print(
                    json.dumps(
                        {
                            "size": size,
                            "step": step,
                            "lib": lib,
                            "cpu_s": round(best["cpu_s"], 3),
                            "cpu_s_runs": [round(r["cpu_s"], 2) for r in good],
                            "wall_s": round(best["wall_s"], 3),
                            "rss_before_mb": round(best["rss_before_mb"]),
                            "peak_rss_mb": round(best["peak_rss_mb"]),
                            "step_rss_mb": round(best["peak_rss_mb"] - best["rss_before_mb"]),
                            "equal": best["digest"] == reference,
                        }
                    ),
                    flush=True,
                )


if __name__ == "__main__":
    main()
