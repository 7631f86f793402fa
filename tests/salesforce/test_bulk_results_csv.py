"""A Bulk 2.0 results page is read as ``csv.DictReader`` reads it, a column at a time; a REST
page's records give typed columns."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icpsync.connectors.salesforce.pages import CsvPage, JsonPage, _plain_columns


def _dict_reader(text: str) -> tuple[list[str], list[dict[Any, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def _csv(rows: list[list[str]], ending: str, quoting: int = csv.QUOTE_MINIMAL) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=ending, quoting=quoting).writerows(rows)
    return out.getvalue()


FIELD = st.sampled_from(
    ["", "Id", "x", "a,b", 'say "hi"', "two\nlines", " ", "é", "\n", "x\n", '","', '"\n"']
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(FIELD, max_size=5), max_size=8),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
)
def test_columns_are_those_of_dict_reader(
    rows: list[list[str]], ending: str, blank: bool, quoting: int
) -> None:
    text = _csv(rows, ending, quoting)
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


@pytest.mark.parametrize("quoting", [csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
def test_a_plain_page_is_cut_by_split_and_read_as_csv_reader_reads_it(quoting: int) -> None:
    names = ["Id", "Name", "Website", "NumberOfEmployees"]
    rows = [[f"001{i:03d}", f"Name {i}" if i % 3 else "", "", str(i)] for i in range(50)]
    if quoting == csv.QUOTE_ALL:  # quoted cells may hold the delimiter and line breaks
        rows[7][1], rows[8][1] = "Acme, Inc.", "two\nlines"
    text = _csv([names, *rows], "\n", quoting)
    assert _plain_columns(text) is not None  # no csv.reader for this page
    page = CsvPage(text)
    assert page.size == len(rows)
    for at, name in enumerate(names):
        assert page.column(name) == [row[at] for row in rows]
    for odd in (
        text.replace("Name 2", 'Name "2"'),  # a quote inside a cell
        text.replace("\n", "\r\n"),
        text.replace("\n", "\n\n", 2),  # a blank line
        text + "x,y\n",  # a short row
    ):
        assert _plain_columns(odd) is None
        header, records = _dict_reader(odd)
        page = CsvPage(odd)
        assert [page.column(name) for name in header] == [
            [r.get(name) for r in records] for name in header
        ]


def test_a_quoted_cell_of_a_line_break_is_not_taken_for_a_row_break() -> None:
    # a short row, then a long one whose first cell is a line break: as many cells, quotes
    # and '"\n"' as a plain page of two columns has, but the breaks fall elsewhere
    for text in ('"Id","Name"\n""\n"\n","",""\n', '"Id","Name"\n"",","\n""\n"\n","",""\n'):
        assert _plain_columns(text) is None
        header, records = _dict_reader(text)
        page = CsvPage(text)
        assert page.size == len(records)
        assert [page.column(n) for n in header] == [[r.get(n) for r in records] for n in header]


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
