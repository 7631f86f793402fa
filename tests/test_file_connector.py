"""The file connector: canonical CSV/JSONL in, bad rows counted, ICP values round-trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from icpsync.connectors.file import FileConnector
from icpsync.core.model import ScoreUpdate


def test_reads_csv_with_bad_values_counted_and_extra_columns_as_signals(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(
        b"id,name,domain,industry,employees,annual_revenue,country,region,tech_stack,client\n"
        b"1,Acme,https://www.acme.com/x,Technology,250,N/A,USA,,Salesforce;Outreach,Current\n"
        b"2,Bad Corp,,Retail,-5,lots,Canada,,,\n"
        b"1,Dup,,,,,,,,\n"
        b",No Id,,,,,,,,\n"
        b",,,,,,,,,\n"
        b"3,Caf\xe9 \x81 GmbH,,Manufacturing,text,1e7,Germany,,,New\n"
    )
    connector = FileConnector(path)
    accounts = list(connector.read_accounts())
    assert [a.id for a in accounts] == ["1", "2", "3"]
    acme = accounts[0]
    assert acme.domain == "acme.com"
    assert acme.country == "United States"
    assert acme.tech_stack == frozenset({"Salesforce", "Outreach"})
    assert acme.signals == {"client": "Current"}
    assert acme.annual_revenue is None
    assert accounts[1].employees is None and accounts[1].annual_revenue is None
    assert accounts[2].employees is None and accounts[2].annual_revenue == 1e7
    # not UTF-8: read as Windows-1252, whose undefined bytes (0x81) become U+FFFD
    assert "\ufffd" in (accounts[2].name or "")
    assert (accounts[2].name or "").startswith("Café ")
    stats = connector.stats
    assert stats.bad_values["employees"] == 2
    assert stats.bad_values["annual_revenue"] == 1  # "N/A" is missing, "lots" is bad
    assert stats.skipped["duplicate_account_id"] == 1
    assert stats.skipped["account_without_id"] == 1
    assert stats.skipped["empty_row"] == 1


def test_reads_json_lines_and_skips_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        json.dumps({"id": "j1", "industry": "Finance", "employees": 300, "tech_stack": ["HubSpot"]})
        + "\n"
        + '{"id": "j2", "employees": \n'
        + "[1, 2]\n"
        + json.dumps({"id": "j3", "employees": "many"})
        + "\n"
    )
    connector = FileConnector(path)
    accounts = list(connector.read_accounts())
    assert [a.id for a in accounts] == ["j1", "j3"]
    assert accounts[0].tech_stack == frozenset({"HubSpot"})
    assert connector.stats.skipped["malformed_json_line"] == 1
    assert connector.stats.skipped["json_line_not_an_object"] == 1
    assert connector.stats.bad_values["employees"] == 1


def test_written_values_are_read_back_as_current(tmp_path: Path) -> None:
    accounts = tmp_path / "a.csv"
    accounts.write_text("id,name\nx1,One\nx2,Two\n")
    out = tmp_path / "out" / "scored.csv"
    connector = FileConnector(accounts, output=out)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    report = connector.write_scores(
        [
            ScoreUpdate(
                "x1", 72, "Tier 1", ("competitor", "tiny"), "+25 target industry", "abc", when
            )
        ]
    )
    assert report.updated == 1 and not report.failures
    connector.close()
    again = {a.id: a for a in FileConnector(accounts, output=out).read_accounts()}
    current = again["x1"].current
    assert (current.score, current.tier, current.flags) == (72, "Tier 1", ("competitor", "tiny"))
    assert current.reasons == "+25 target industry" and current.profile_version == "abc"
    assert current.scored_at == when
    assert again["x2"].current.score is None


def _held_output(path: Path, rows: dict[str, dict[str, str]]) -> None:
    columns = ["id", "icp_score", "icp_tier", "icp_tier_override"]
    lines = [",".join(columns)]
    lines += [",".join([key, *(row.get(c, "") for c in columns[1:])]) for key, row in rows.items()]
    path.write_text("\n".join(lines) + "\n")


def test_output_values_are_read_a_batch_at_a_time_past_the_first_batch(tmp_path: Path) -> None:
    """Rows past the first batch get the output's values; the accounts file's override wins
    over the output's, the output's score and tier over the accounts file's; a repeated id
    is skipped with its row number; CSV and JSON Lines alike."""
    from icpsync.connectors.file.connector import BATCH_ROWS
    from icpsync.connectors.file.rejects import RejectLog

    size = BATCH_ROWS * 2 + 10
    late, later = f"a{BATCH_ROWS + 5}", f"a{size - 1}"
    records = [
        {"id": f"a{i}", "name": f"Co {i}", "icp_score": "10", "icp_tier_override": ""}
        for i in range(size)
    ]
    records[size - 1]["icp_tier_override"] = "Tier 3"  # set in the accounts file
    records.append({"id": late, "name": "again", "icp_score": "", "icp_tier_override": ""})
    out = tmp_path / "scored.csv"
    _held_output(
        out,
        {
            late: {"icp_score": "81", "icp_tier": "Tier 1", "icp_tier_override": "Tier 2"},
            later: {"icp_score": "55", "icp_tier": "Tier 2", "icp_tier_override": "Tier 1"},
        },
    )
    csv_file = tmp_path / "a.csv"
    columns = ["id", "name", "icp_score", "icp_tier_override"]
    lines = [",".join(columns), *(",".join(r[c] for c in columns) for r in records)]
    csv_file.write_text("\n".join(lines) + "\n")
    jsonl_file = tmp_path / "a.jsonl"
    jsonl_file.write_text("".join(json.dumps(r) + "\n" for r in records))

    for accounts in (csv_file, jsonl_file):
        rejects = RejectLog()
        connector = FileConnector(accounts, output=out, rejects=rejects)
        read = {a.id: a for a in connector.read_accounts()}
        connector.close()
        assert len(read) == size, accounts.name
        held, set_in_file, plain = read[late].current, read[later].current, read["a7"].current
        assert (held.score, held.tier, held.override) == (81, "Tier 1", "Tier 2")
        assert (set_in_file.score, set_in_file.tier) == (55, "Tier 2")
        assert set_in_file.override == "Tier 3"
        assert (plain.score, plain.tier, plain.override) == (10, None, None)
        assert connector.stats.skipped["duplicate_account_id"] == 1
        [(_, repeat)] = rejects.duplicates
        assert repeat.reason == "duplicate_account_id" and repeat.id == late
        assert repeat.row == (size + 2 if accounts == csv_file else size + 1)


def test_encoding_is_told_across_ascii_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ASCII chunks need no decoding, but a character cut at a chunk's end is finished (or
    found broken) by the next one, ASCII or not."""
    from icpsync.connectors.file.text_format import FALLBACK_ENCODING, detect_encoding

    monkeypatch.setattr("icpsync.connectors.file.text_format._CHUNK", 4)
    cases = {
        "cut.csv": ("id,n\nA,é\n".encode(), "utf-8"),  # 'é' spans bytes 8 and 9
        "broken.csv": (b"id,n\nA,\xc3\nB,x\xa9\n", FALLBACK_ENCODING),  # lead, ASCII, tail
        "late.csv": (b"id,name\nA,b\nC,d\nE,\xe9\n", FALLBACK_ENCODING),
        "ascii.csv": (b"id,name\nA,b\n", "utf-8"),
    }
    for name, (data, encoding) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert detect_encoding(path) == (encoding, False), name


def test_a_batch_is_let_go_before_the_next_one_is_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the next batch's text is cut into cells, no reader holds the previous batch's
    raw columns or its clean batch any more: the new cells take the memory just freed."""
    import sys

    import icpsync.connectors.file.rows as rows

    monkeypatch.setattr("icpsync.connectors.file.connector.BATCH_ROWS", 16)
    path = tmp_path / "a.csv"
    path.write_text(
        "id,name,domain,industry,employees\n"
        + "".join(f"a{i},N{i},d{i}.example.com,Software,{i}\n" for i in range(40))
    )
    raw: list[list[str]] = []  # each batch's raw ids, as cut
    clean: list[list[object]] = []  # each clean batch's domains
    held: list[tuple[int, int]] = []  # their references (less ours) when the next is cut
    cut = rows.plain_columns

    def spy(*args: object, **kwargs: object) -> list[list[str]] | None:
        if clean:
            held.append((sys.getrefcount(raw[-1]) - 2, sys.getrefcount(clean[-1]) - 2))
        columns = cut(*args, **kwargs)  # type: ignore[arg-type]
        if columns is not None:
            raw.append(columns[0])
        return columns

    monkeypatch.setattr(rows, "plain_columns", spy)
    batches = FileConnector(path).read_account_batches()
    for _ in range(3):
        batch = next(batches)
        clean.append(batch.columns["domain"])
        del batch
    assert [len(column) for column in clean] == [16, 16, 8]
    assert held == [(0, 0), (0, 0)]
