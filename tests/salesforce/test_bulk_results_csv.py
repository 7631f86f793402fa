"""A Bulk 2.0 results page is read as ``csv.DictReader`` reads it, a column at a time; a REST
page's records give typed columns."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from icpsync.connectors.salesforce.pages import CsvPage, JsonPage


def _dict_reader(text: str) -> tuple[list[str], list[dict[Any, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def _csv(rows: list[list[str]], ending: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=ending).writerows(rows)
    return out.getvalue()


FIELD = st.sampled_from(["", "Id", "x", "a,b", 'say "hi"', "two\nlines", " ", "é"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(FIELD, max_size=5), max_size=8),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_columns_are_those_of_dict_reader(rows: list[list[str]], ending: str, blank: bool) -> None:
    text = _csv(rows, ending)
    if blank and rows:  # blank lines, which DictReader skips
        text = text.replace(ending, ending + ending, 1)
    header, records = _dict_reader(text)
    page = CsvPage(text)
    assert page.size == len(records)
    for name in header:
        assert page.column(name) == [r.get(name) for r in records]
    names = {f"k{i}": name for i, name in enumerate(header)}
    assert page.renamed(names) == [{k: r.get(n) for k, n in names.items()} for r in records]
    assert page.present(names) == [
        {k: r[n] for k, n in names.items() if r.get(n) not in (None, "")} for r in records
    ]
    assert page.column("Not_A_Field__c") is None


def test_short_and_long_rows_and_empty_values() -> None:
    page = CsvPage("Id,Name,Industry\n001,,Tech\n002,Acme\n003,B,C,extra,more\n")
    assert page.size == 3
    assert page.column("Id") == ["001", "002", "003"]
    assert page.column("Name") == ["", "Acme", "B"]
    assert page.column("Industry") == ["Tech", None, "C"]
    assert page.present({"name": "Name", "industry": "Industry"}) == [
        {"industry": "Tech"},
        {"name": "Acme"},
        {"name": "B", "industry": "C"},
    ]
    empty = CsvPage("")
    assert empty.size == 0 and empty.column("Id") is None
    header_only = CsvPage("Id,Name\n")
    assert header_only.size == 0 and header_only.column("Id") == []


def test_a_json_page_gives_typed_columns() -> None:
    records = [
        {
            "attributes": {"type": "Account"},
            "Id": "001",
            "NumberOfEmployees": 12,
            "Name": "",
        },
        {"attributes": {"type": "Account"}, "Id": "002", "NumberOfEmployees": None, "Name": None},
    ]
    page = JsonPage(records)
    assert page.size == 2
    assert page.column("NumberOfEmployees") == [12, None]
    assert page.column("Missing__c") == [None, None]
    # a JSON value is kept unless it is null ("" is a value the CRM sent)
    assert page.present({"n": "Name", "e": "NumberOfEmployees"}) == [{"n": "", "e": 12}, {}]
    assert page.renamed({"id": "Id", "name": "Name", "x": "Missing__c"}) == [
        {"id": "001", "name": "", "x": None},
        {"id": "002", "name": None, "x": None},
    ]
