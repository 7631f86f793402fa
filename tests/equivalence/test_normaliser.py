"""``Normaliser.account`` and ``.opportunity`` clean each stored raw record (CSV strings as
Salesforce Bulk delivers them, JSON types as REST and HubSpot do, junk of every kind) into
the release's canonical fields, counting the same bad values and skips and reporting the
same rejects, record for record; also without an ``on_reject``."""

from __future__ import annotations

from pathlib import Path

import pytest

from equivalence.compare import read_json, same_records, stored
from equivalence.runs import normalise

SETS = stored("normalise")


def test_the_corpus_has_the_sets() -> None:
    kinds = {read_json(path)["kind"] for path in SETS}
    assert len(SETS) >= 8 and kinds == {"account", "opportunity"}


@pytest.mark.parametrize("path", SETS, ids=[p.name.split(".")[0] for p in SETS])
def test_normaliser_matches_the_release(path: Path) -> None:
    spec = read_json(path)
    expected = spec["expected"]
    same_records(path.name, expected, normalise(spec, rejects=True))
    quiet = [{k: v for k, v in record.items() if k != "rejects"} for record in expected]
    same_records(f"{path.name} without on_reject", quiet, normalise(spec, rejects=False))
