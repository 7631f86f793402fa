"""A Bulk 2.0 results page is read as ``csv.DictReader`` reads it, an empty field as None."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from icpsync.connectors.salesforce.reader import csv_records


def _dict_reader(text: str) -> list[dict[Any, Any]]:
    return [
        {k: (v if v != "" else None) for k, v in row.items()}
        for row in csv.DictReader(io.StringIO(text))
    ]


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
def test_rows_are_those_of_dict_reader(rows: list[list[str]], ending: str, blank: bool) -> None:
    text = _csv(rows, ending)
    if blank and rows:  # blank lines, which DictReader skips
        text = text.replace(ending, ending + ending, 1)
    assert list(csv_records(text)) == _dict_reader(text)


def test_short_and_long_rows_and_empty_values() -> None:
    text = "Id,Name,Industry\n001,,Tech\n002,Acme\n003,B,C,extra,more\n"
    assert list(csv_records(text)) == [
        {"Id": "001", "Name": None, "Industry": "Tech"},
        {"Id": "002", "Name": "Acme", "Industry": None},
        {"Id": "003", "Name": "B", "Industry": "C", None: ["extra", "more"]},
    ]
    assert list(csv_records("")) == []
