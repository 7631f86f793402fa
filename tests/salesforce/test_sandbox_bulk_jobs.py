"""The sandbox's Bulk jobs behave as the org's: a job runs after the call that starts it,
an update job's rows have the outcomes single updates have, results render as the API's."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import SalesforceMalformedRequest

from icpsync.connectors.salesforce.sandbox import Sandbox
from icpsync.connectors.salesforce.sandbox.render import (
    CsvRows,
    Selection,
    csv_column,
    json_column,
    select,
)
from icpsync.connectors.salesforce.sandbox.schema import to_csv, to_json
from icpsync.connectors.salesforce.sandbox.seed import sf_id

FIELDS = ["NumberOfEmployees", "Industry", "BillingCountry"]


def _rows(ids: list[str]) -> list[list[str]]:
    """An update per kind of outcome, in the upload's column order ``Id, *FIELDS``."""
    return [
        [ids[0], "77", "Technology", ""],  # saved; the empty cell leaves the country alone
        [ids[1], "lots", "Finance", "Canada"],  # not a number
        [ids[2], "12", "x" * 300, ""],  # too long: nothing of the row is saved
        [ids[3], "#N/A", "#N/A", "Chile"],  # #N/A clears a field
        [sf_id("001", 99_999), "5", "", ""],  # no such record
        ["001abc", "5", "", ""],  # not an id
        [ids[4], "9", "Retail", ""],  # refused by its validation rule
        [ids[5], "", "", ""],  # nothing to change: saved all the same
    ]


def _single_updates(box: Sandbox, rows: list[list[str]]) -> list[str]:
    """Each row as one update through the org's own single-record path: "" or the code."""
    outcomes = []
    for record_id, *cells in rows:
        values: dict[str, Any] = {
            name: (None if cell == "#N/A" else cell)
            for name, cell in zip(FIELDS, cells, strict=True)
            if cell != ""
        }
        try:
            box.org.update("Account", record_id, values)
            outcomes.append("")
        except Exception as exc:  # RecordError: its code is the outcome
            outcomes.append(str(getattr(exc, "code", exc)))
    return outcomes


def _upload(tmp_path: Path, rows: list[list[str]]) -> str:
    path = tmp_path / "update.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["Id", *FIELDS])
        writer.writerows(rows)
    return str(path)


def test_an_update_job_row_has_the_outcome_of_the_same_single_update(
    sf, make_sandbox, client_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bulk_box, single_box = make_sandbox(seed=3), make_sandbox(seed=3)
    ids = sorted(bulk_box.org.records["Account"])[:6]
    for box in (bulk_box, single_box):
        box.reject_writes([ids[4]], "Locked this quarter")
    rows = _rows(ids)
    before = max(r["SystemModstamp"] for r in bulk_box.org.records["Account"].values())

    client = client_for(sf.settings_for(bulk_box))
    result = client.bulk2.Account.update(csv_file=_upload(tmp_path, rows), wait=0)
    job_id = result[0]["job_id"]
    failed = {
        r["sf__Id"]: r["sf__Error"].split(":")[0]
        for r in csv.DictReader(io.StringIO(client.bulk2.Account.get_failed_records(job_id)))
    }
    saved = list(csv.DictReader(io.StringIO(client.bulk2.Account.get_successful_records(job_id))))
    bulk_outcomes = [failed.get(row[0], "") for row in rows]

    assert bulk_outcomes == _single_updates(single_box, rows)
    assert bulk_outcomes == [
        "",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "STRING_TOO_LONG",
        "",
        "ENTITY_IS_DELETED",
        "MALFORMED_ID",
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "",
    ]
    assert [r["sf__Id"] for r in saved] == [ids[0], ids[3], ids[5]]
    assert saved[0]["sf__Created"] == "false" and saved[0]["Industry"] == "Technology"
    assert result[0]["numberRecordsProcessed"] == 8 and result[0]["numberRecordsFailed"] == 5
    kept = ["Name", *FIELDS]
    assert bulk_box.values(kept) == single_box.values(kept)
    assert bulk_box.values(FIELDS)[ids[3]][:2] == (None, None)
    assert bulk_box.write_counts() == single_box.write_counts()
    assert set(bulk_box.write_counts()) == {ids[0], ids[3], ids[5]}
    stamps = {bulk_box.org.records["Account"][i]["SystemModstamp"] for i in (ids[0], ids[3])}
    assert len(stamps) == 1 and stamps.pop() >= before  # one transaction: one modstamp


def test_a_query_job_answers_at_once_and_reads_the_org_when_it_runs(
    sf, sandbox: Sandbox, client_for
) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(sandbox)
    client = client_for(settings)
    url = f"{client.bulk2_url.rstrip('/')}/query"
    headers = {**client.headers, "Content-Type": "application/json"}
    verify = str(settings.salesforce.ca_bundle)
    with pytest.raises(SalesforceMalformedRequest, match="MALFORMED_QUERY"):
        client.query("SELECT FROM Account")  # a REST query is checked at once ...
    bad = requests.post(
        url,
        json={"operation": "query", "query": "SELECT Nope FROM Account"},
        headers=headers,
        verify=verify,
        timeout=30,
    )  # ... and so is a Bulk query job's, when the job is created
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"

    sandbox.app.jobs.proceed.clear()  # the org is busy: the job waits to run
    try:
        created = requests.post(
            url,
            json={"operation": "query", "query": "SELECT Id, NumberOfEmployees FROM Account"},
            headers=headers,
            verify=verify,
            timeout=30,
        ).json()
        assert created["state"] == "UploadComplete"
        job = f"{url}/{created['id']}"
        status = requests.get(job, headers=headers, verify=verify, timeout=30).json()
        assert status["state"] == "InProgress"
        early = requests.get(f"{job}/results", headers=headers, verify=verify, timeout=30)
        assert early.status_code == 400 and early.json()[0]["errorCode"] == "INVALIDJOBSTATE"
        first = sorted(sandbox.org.records["Account"])[0]
        sandbox.org.update("Account", first, {"NumberOfEmployees": 4321})
    finally:
        sandbox.app.jobs.proceed.set()
    pages = list(client.bulk2.Account.query("SELECT Id, NumberOfEmployees FROM Account", wait=0))
    assert pages  # the library's own job, for comparison of shapes
    for _ in range(200):
        status = requests.get(job, headers=headers, verify=verify, timeout=30).json()
        if status["state"] == "JobComplete":
            break
    assert status["state"] == "JobComplete" and status["numberRecordsProcessed"] == 300
    results = requests.get(f"{job}/results", headers=headers, verify=verify, timeout=30)
    rows = list(csv.DictReader(io.StringIO(results.text)))
    assert results.headers["Sforce-Locator"] == "null"
    assert results.headers["Sforce-NumberOfRecords"] == "300" and len(rows) == 300
    assert {r["Id"]: r["NumberOfEmployees"] for r in rows}[first] == "4321"
    assert results.text == pages[0]  # same query, same org: the same CSV


NAIVE = datetime(2026, 3, 1, 12, 30, 5, 250_000)
AWARE = datetime(2026, 3, 1, 12, 30, 5, 250_000, tzinfo=UTC)
COLUMNS: list[list[Any]] = [
    ["a", None, "b,c", 'say "hi"', "two\nlines"],
    [1, None, 2, 3],
    [1.0, 2.5, None, 1e20, float("inf")],
    [True, 1, 1.0, False, 0, None],
    [AWARE, None, AWARE.replace(microsecond=0), datetime(999, 1, 1, tzinfo=UTC)],
    [AWARE, AWARE.replace(microsecond=999_999), datetime(2026, 1, 1, tzinfo=UTC)],
    [AWARE, datetime(999, 1, 1, tzinfo=UTC)],
    [NAIVE, AWARE, date(2026, 3, 1), None],
    [{"nested": True}, None, "text"],
]


@pytest.mark.parametrize("column", COLUMNS, ids=lambda c: type(c[0]).__name__)
def test_columns_render_value_for_value_as_the_api_renders_each(column: list[Any]) -> None:
    assert list(json_column(column)) == [to_json(v) for v in column]
    assert json.dumps(list(json_column(column))) == json.dumps([to_json(v) for v in column])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(csv_column(column))
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\n").writerow([to_csv(v) for v in column])
    assert out.getvalue() == expected.getvalue()


@pytest.mark.parametrize("column", [*COLUMNS, [None, None], ["", None, ""], ["\r", "a"]])
def test_results_pages_are_the_csv_writer_s_bytes(column: list[Any]) -> None:
    """A results page is written a column's cells at a time, not by ``csv.writer``: the
    same bytes, alone in a row (an empty cell quoted) or beside other columns."""
    for fields in (["A"], ["A", "B"], ["B", "A", "C"]):
        other = [f"{i},x" if i % 2 else i for i in range(len(column))]
        values = {"A": column, "B": other, "C": [None] * len(column)}
        rows = list(zip(*(values[f] for f in fields), strict=True))
        order = list(range(len(rows)))
        pages = CsvRows(fields, Selection("Account", fields, rows, order))
        for start, end in ((0, len(rows)), (1, 3), (2, 99)):
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(fields)
            writer.writerows(zip(*(csv_column(values[f][start:end]) for f in fields), strict=True))
            assert pages.text(start, end) == out.getvalue()


def test_a_selection_is_sorted_with_no_value_first_ascending_and_last_descending() -> None:
    rows: list[dict[str, Any]] = [
        {"Id": "3", "N": 2},
        {"Id": "1", "N": None},
        {"Id": "2", "N": 1},
        {"Id": "4"},  # a record without the field
    ]
    ascending = select("Account", ["Id"], [("N", False), ("Id", False)], None, rows)
    assert list(ascending.columns()[0]) == ["1", "4", "2", "3"]
    assert len(ascending.columns()) == 1  # the sort's own field is not selected
    descending = select("Account", ["Id", "N"], [("N", True)], 2, rows)
    assert [list(c) for c in descending.columns()] == [["3", "2"], [2, 1]]
    assert descending.size == 2 and descending.fields == ["Id", "N"]
    assert [list(c) for c in descending.columns(1, 5)] == [["2"], [1]]
