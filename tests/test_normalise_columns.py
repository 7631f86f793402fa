"""The column normaliser on hand-written batches: rejects with their addresses, ids
missing or repeated across batches, large batches (the vectorised id check), JSON-typed
values, and deals as an OpportunityBatch."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import pytest

from icpsync.core.batch import OpportunityBatch
from icpsync.core.clean_columns import _TOKEN_STARTS, SMALL, text_column
from icpsync.core.model import Account, ConnectorStats, CurrentIcp, Opportunity
from icpsync.core.normalise import Normaliser, Reject, Vocabulary
from icpsync.core.normalise_columns import accounts_from_columns, opportunities_from_columns
from icpsync.core.parsers import MISSING_TOKENS, clean_text
from icpsync.core.seen_ids import SeenIds

VOCABULARIES = {
    "industry": Vocabulary({"Tech": "Technology"}, keep_unknown=False),
    "tech_stack": Vocabulary({"gong": "Gong", "slack": "Slack"}, keep_unknown=False),
}


def listening() -> tuple[Normaliser, list[Reject]]:
    rejects: list[Reject] = []
    return Normaliser(ConnectorStats(), VOCABULARIES, rejects.append), rejects


def test_rejects_name_row_id_column_value_and_reason_column_by_column() -> None:
    normaliser, rejects = listening()
    batch = accounts_from_columns(
        normaliser,
        {
            "id": ["A1", None, "A2", "A1"],
            "industry": ["Mining", "Tech", "Tech", "Tech"],
            "employees": ["-5", "1", "lots", "3"],
            "tech_stack": ["Gong;Fax", None, "Telex;slack;Abacus", None],
            "icp_tier_override": [None, None, "Tier 9", None],
        },
        rows=[2, 3, 4, 5],
    )
    assert batch.ids == ["A1", "A2"] and batch.rows == [2, 4]
    assert batch.columns["industry"] == [None, "Technology"]
    assert batch.columns["tech_stack"] == [frozenset({"Gong"}), frozenset({"Slack"})]
    assert batch.columns["current"][1] == CurrentIcp()  # the bad override made missing
    assert rejects == [
        Reject(3, None, None, None, "account_without_id"),
        Reject(5, "A1", None, None, "duplicate_account_id"),
        Reject(2, "A1", "industry", "Mining", "not one of the field map's values"),
        Reject(2, "A1", "employees", "-5", "negative"),
        Reject(4, "A2", "employees", "lots", "not a number"),
        Reject(2, "A1", "tech_stack", "Fax", "not one of the field map's values"),
        Reject(4, "A2", "tech_stack", "Abacus", "not one of the field map's values"),
        Reject(4, "A2", "tech_stack", "Telex", "not one of the field map's values"),
        Reject(4, "A2", "icp_tier_override", "Tier 9", "not a tier"),
    ]
    assert normaliser.stats.bad_values == {
        "industry": 1, "employees": 2, "tech_stack": 3, "icp_tier_override": 1,
    }  # fmt: skip
    assert normaliser.stats.skipped == {"account_without_id": 1, "duplicate_account_id": 1}


def test_the_view_reports_a_record_in_the_order_of_its_fields() -> None:
    normaliser, rejects = listening()
    raw = {"id": " A1 ", "icp_score": "-1", "employees": "x", "industry": "Mining"}
    assert normaliser.account({**raw, "icp_tier_override": "Tier 0"}, row=7) == Account("A1")
    assert [(r.row, r.id, r.column) for r in rejects] == [
        (7, "A1", "industry"),
        (7, "A1", "employees"),
        (7, "A1", "icp_tier_override"),
        (7, "A1", "icp_score"),
    ]
    assert list(normaliser.stats.bad_values) == [r.column for r in rejects]
    assert normaliser.account(raw, row=8) is None  # the same id again
    assert rejects[-1] == Reject(8, "A1", None, None, "duplicate_account_id")
    assert normaliser.account(raw, row=9, dedupe=False) == Account("A1")


@pytest.mark.parametrize("size", [1, 7, 8, 500])
def test_ids_repeated_across_batches_are_skipped_with_their_rows(size: int) -> None:
    """Small batches check ids one by one, large ones all at once: the same answer,
    also once the ids seen are folded into hashes."""
    normaliser, rejects = listening()
    normaliser.seen_accounts = SeenIds(fold=4)
    first = [f"A{i}" for i in range(size)]
    assert accounts_from_columns(normaliser, {"id": first}).ids == first
    second = [f"B{i}" for i in range(size - 1)] + ["A0"]
    batch = accounts_from_columns(normaliser, {"id": second}, rows=list(range(size)))
    assert batch.ids == second[:-1]
    assert rejects == [Reject(size - 1, "A0", None, None, "duplicate_account_id")]
    within = accounts_from_columns(normaliser, {"id": ["C", " C", "n/a"] * size}, dedupe=True)
    assert within.ids == ["C"]
    assert normaliser.stats.skipped == {
        "duplicate_account_id": 1 + 2 * size - 1,
        "account_without_id": size,
    }
    again = accounts_from_columns(normaliser, {"id": first}, dedupe=False)
    assert again.ids == first


def test_json_values_are_cleaned_value_by_value() -> None:
    normaliser, rejects = listening()
    batch = accounts_from_columns(
        normaliser,
        {
            "id": ["A1", "A2", "A3"],
            "employees": [250, True, 2.6],
            "annual_revenue": [1e14, None, "3.5e6"],
            "tech_stack": [["gong", "Fax"], "Slack", None],
            "icp_score": [0, None, None],
            "last_modified": ["2026-01-02T03:04:05+0100", 1700000000000, None],
        },
        [{"plan": "gold"}, None, "not a mapping"],
        rows=[1, 2, 3],
    )
    assert batch.columns["employees"] == [250, None, 3]
    assert batch.columns["annual_revenue"] == [None, None, 3.5e6]
    assert batch.columns["tech_stack"] == [frozenset({"Gong"}), frozenset({"Slack"}), frozenset()]
    assert batch.columns["signals"] == [{"plan": "gold"}, {}, {}]
    # a score of 0 is a value the CRM holds (not a missing one)
    assert batch.columns["current"] == [CurrentIcp(score=0), CurrentIcp(), CurrentIcp()]
    assert batch.columns["last_modified"][0] == datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC)
    assert [(r.row, r.column, r.value) for r in rejects] == [
        (2, "employees", "True"),
        (1, "annual_revenue", "100000000000000.0"),
        (1, "tech_stack", "Fax"),
    ]
    assert list(batch) == [batch.account(i) for i in range(3)]


def test_deals_come_as_a_batch_with_the_views_answers() -> None:
    normaliser, rejects = listening()
    columns: dict[str, list[object]] = {
        "id": ["O1", "O2", "O1", ""],
        "account_id": ["A1", " A2 ", "A1", "A3"],
        "is_won": ["true", "maybe", None, None],
        "is_closed": ["false", "1", None, None],
        "amount": ["10.5", "-1", None, None],
        "created": ["2026-01-02", "2026-02-30", None, None],
    }
    batch = opportunities_from_columns(normaliser, columns, rows=[10, 11, 12, 13])
    assert isinstance(batch, OpportunityBatch) and batch.rows == [10, 11]
    assert list(batch) == [
        Opportunity("O1", "A1", None, True, True, 10.5, date(2026, 1, 2)),
        Opportunity("O2", "A2", None, True, False, None, None),
    ]
    assert [batch.opportunity(i) for i in range(len(batch))] == list(batch)
    assert [(r.row, r.id, r.column, r.reason) for r in rejects] == [
        (12, "O1", None, "duplicate_opportunity_id"),
        (13, None, None, "opportunity_without_id"),
        (11, "O2", "is_won", "not true or false"),
        (11, "O2", "amount", "negative"),
        (11, "O2", "created", "not a date"),
    ]
    viewer, view_rejects = listening()
    one_by_one = [
        viewer.opportunity({k: v[i] for k, v in columns.items()}, row=10 + i) for i in range(4)
    ]
    assert one_by_one == [*batch, None, None]
    assert view_rejects == sorted(rejects, key=lambda r: r.row or 0)


def test_refused_values_keep_their_places_among_those_parsed_in_c() -> None:
    """A large column of text is parsed a distinct value at a time by ``map``; values it
    refuses, at the start, in the middle, one after another and at the end, are each
    counted and reported at their own record."""
    normaliser, rejects = listening()
    raw = ["x", "1", "2", "-3", "lots", "4", "1", "5", "6", "nan", "7", "many", "8", "9", "?"]
    ids = [f"A{i}" for i in range(len(raw))]
    batch = accounts_from_columns(normaliser, {"id": ids, "annual_revenue": raw})
    assert batch.columns["annual_revenue"] == [
        None, 1.0, 2.0, None, None, 4.0, 1.0, 5.0, 6.0, None, 7.0, None, 8.0, 9.0, None,
    ]  # fmt: skip
    assert normaliser.stats.bad_values["annual_revenue"] == 4
    assert [(r.id, r.value, r.reason) for r in rejects] == [
        ("A0", "x", "not a number"),
        ("A3", "-3", "negative"),
        ("A4", "lots", "not a number"),
        ("A11", "many", "not a number"),
    ]


def test_domains_of_a_large_column_lose_scheme_path_and_www() -> None:
    raw = [
        "https://www.Acme.com/about", " http://beta.io ", "https://http://x.com/a",
        "http://https://foo.org", "WWW.Gamma.NET", "www.", "https://", "wwww.delta.com",
        "epsilon.co/x/y", None, "", "N/A", "zeta.com",
    ]  # fmt: skip
    normaliser, _ = listening()
    ids = [f"A{i}" for i in range(len(raw))]
    small = [
        accounts_from_columns(listening()[0], {"id": [i], "domain": [d]})
        for i, d in zip(ids, raw, strict=True)
    ]
    batch = accounts_from_columns(normaliser, {"id": ids, "domain": raw})
    expected = [
        "acme.com", "beta.io", "x.com", "https:", "gamma.net", None, None, "wwww.delta.com",
        "epsilon.co", None, None, None, "zeta.com",
    ]  # fmt: skip
    assert batch.columns["domain"] == expected
    assert [b.columns["domain"][0] for b in small] == expected


def test_a_full_memo_parses_each_value_where_it_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a field remembers its limit of texts, later batches parse their values in
    place: the same answers, counts and rejects as remembering them."""
    monkeypatch.setattr("icpsync.core.clean_columns.MEMO_LIMIT", 4)
    normaliser, rejects = listening()
    stamps = [
        ["2024-05-15T00:01:26.000Z", "bad", "2024-05-16", None, "2024-05-15T00:01:26.000Z"],
        ["1715731200000", "2024-05-15T10:00:00+0530", "bad", "", "2024-13-01", "N/A"],
    ]
    got = []
    for number, raw in enumerate(stamps):
        ids = [f"B{number}-{i}" for i in range(len(raw))]
        got.append(accounts_from_columns(normaliser, {"id": ids, "last_modified": raw}))
    utc = UTC
    assert got[0].columns["last_modified"] == [
        datetime(2024, 5, 15, 0, 1, 26, tzinfo=utc), None, datetime(2024, 5, 16, tzinfo=utc),
        None, datetime(2024, 5, 15, 0, 1, 26, tzinfo=utc),
    ]  # fmt: skip
    assert got[1].columns["last_modified"] == [
        datetime(2024, 5, 15, tzinfo=utc), datetime(2024, 5, 15, 4, 30, tzinfo=utc), None,
        None, None, None,
    ]  # fmt: skip
    assert normaliser.stats.bad_values["last_modified"] == 3
    assert [r.value for r in rejects] == ["bad", "bad", "2024-13-01"]


def test_refused_texts_are_remembered_only_as_far_as_the_memo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A field whose every value is a new refusal is still counted and rejected value by
    value, and what the run keeps of its refusals stays within the memo's limit."""
    monkeypatch.setattr("icpsync.core.clean_columns.MEMO_LIMIT", 4)
    normaliser, rejects = listening()
    for number in range(5):
        raw = [f"bad {number}-{i}" for i in range(10)]
        ids = [f"R{number}-{i}" for i in range(10)]
        batch = accounts_from_columns(normaliser, {"id": ids, "last_modified": raw})
        assert batch.columns["last_modified"] == [None] * 10
    assert normaliser.stats.bad_values["last_modified"] == 50
    assert len(rejects) == 50
    assert sum(map(len, normaliser._refused.values())) <= 4


def test_text_columns_answer_as_each_value_cleaned_alone() -> None:
    """A large text column (stripped in C, lowered only when a value may be a missing
    token) gives what :func:`clean_text` gives each value."""
    mixed = [
        "N/A", " unknown ", "Nordic", "UNKNOWN", "None", "-", "--", "?", "na", "NaN", "ok",
        " x ", "", None, "Null", "nully", "\u212aelvin", "u", "n", "?!",
    ]  # fmt: skip
    columns = [
        mixed,
        ["Acme", " Beta ", "Gamma Ltd", "Delta", "Epsilon", "Zeta", "Eta", "Theta", "Iota"],
        ["", None, " ", "", "", "", "", "", ""],
        ["Nebula", "Umbra", "Nova", "Ursa", "Norma", "Uno", "Nix", "Una", "none"],
        ["a" * 1001, "b", "c", "d", "e", "f", "g", "h", "unknown"],
    ]
    for raw in columns:
        assert len(raw) >= SMALL
        assert text_column(raw) == [clean_text(value) for value in raw]


def test_only_the_token_starts_lower_to_a_token_start() -> None:
    """No character but those of ``_TOKEN_STARTS`` lowers to one (the text column's reason
    to lower no value of a column whose values start otherwise)."""
    starts = {token[:1] for token in MISSING_TOKENS} - {""}
    for point in range(sys.maxunicode + 1):
        char = chr(point)
        if char.lower()[:1] in starts:
            assert char in _TOKEN_STARTS, hex(point)
    assert "" in _TOKEN_STARTS


def test_a_refused_value_remembered_is_counted_in_every_batch() -> None:
    """A value refused in one batch and found remembered in the next is counted and
    reported again there."""
    normaliser, rejects = listening()
    raw = ["1", "lots", "2", "3", "4", "5", "6", "7", "8"]
    for number in range(3):
        ids = [f"B{number}-{i}" for i in range(len(raw))]
        batch = accounts_from_columns(normaliser, {"id": ids, "employees": raw})
        assert batch.columns["employees"] == [1, None, 2, 3, 4, 5, 6, 7, 8]
    assert normaliser.stats.bad_values["employees"] == 3
    assert [r.id for r in rejects] == ["B0-1", "B1-1", "B2-1"]


def test_lower_case_domains_without_a_slash_lose_only_www() -> None:
    raw = ["www.a.com", "b.com", "wwwc.com", "www.", "d.io", "e.org", "f.net", "www.g.co"]
    batch = accounts_from_columns(listening()[0], {"id": [f"A{i}" for i in raw], "domain": raw})
    assert batch.columns["domain"] == [
        "a.com",
        "b.com",
        "wwwc.com",
        None,
        "d.io",
        "e.org",
        "f.net",
        "g.co",
    ]


@pytest.mark.parametrize("few", [0, 2, 64])
def test_new_values_among_remembered_ones_answer_as_each_alone(
    monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    """Batches whose values are mostly remembered, with new texts (some refused), a JSON
    number and None among them, answer as the first batch of their values would."""
    monkeypatch.setattr("icpsync.core.clean_columns.FEW_NEW", few)
    normaliser, rejects = listening()
    known = ["10", "20", "lots", "30", "", "40", "50", "60", "70"]
    batches = [
        known,
        ["10", "11", "20", "many", "30", "12", None, "40", "13"],
        ["50", "14", 15, "10", "16", "lots", "17", "18", "19"],
        ["20", "21", "22", "23", "24", "25", "26", "27", "28"],
    ]
    for number, raw in enumerate(batches):
        ids = [f"B{number}-{i}" for i in range(len(raw))]
        batch = accounts_from_columns(normaliser, {"id": ids, "employees": raw})
        alone = [
            accounts_from_columns(listening()[0], {"id": ["x"], "employees": [value]})
            for value in raw
        ]
        assert batch.columns["employees"] == [b.columns["employees"][0] for b in alone]
    assert normaliser.stats.bad_values["employees"] == 3
    assert [(r.id, r.value) for r in rejects] == [
        ("B0-2", "lots"),
        ("B1-3", "many"),
        ("B2-5", "lots"),
    ]


def test_ids_are_made_anew_one_after_another_when_all_are_plain_text() -> None:
    """``adjacent`` gives equal strings (new objects) for a column of text, and the column
    itself for one holding anything else or a line feed (or too short to bother)."""
    from icpsync.core.clean_columns import adjacent

    ids = [f"001{i:015}" for i in range(SMALL * 3)]
    made = adjacent(ids)
    assert made == ids and made is not ids and all(type(i) is str for i in made)
    for odd in ([*ids, None], [*ids, 5], [*ids, "a\nb"], ids[: SMALL - 1]):
        assert adjacent(odd) is odd
    normaliser = Normaliser(ConnectorStats())
    batch = accounts_from_columns(normaliser, {"id": [*ids, ids[0], " x "]})
    assert batch.ids == [*ids, "x"] and normaliser.stats.skipped == {"duplicate_account_id": 1}
