"""``Scorer(profile).score`` and ``score_many`` give every field of the release's score
(score, tier, computed tier, override, flags, contributions, missing, reasons, short
reasons, profile version) for arbitrary profiles and awkward values, and for a synthetic
book under the default, a learned and an every-condition profile."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from equivalence.compare import CORPUS, read_json, same_records, stored
from equivalence.runs import scored
from icpsync.core.profile import Profile, load_profile

AS_OF = datetime.fromisoformat(read_json(CORPUS / "release.json")["as_of"])
RANDOM = CORPUS / "scoring" / "random-profiles.json.gz"
BOOKS = stored("scoring", "book-*.json*")


def _same_scores(what: str, profile: Profile, cases: list, expected: list) -> None:  # type: ignore[type-arg]
    single, many = scored(profile, cases, AS_OF)
    same_records(f"{what}: score", expected, single, key="account_id")
    same_records(f"{what}: score_many", expected, many, key="account_id")


def test_arbitrary_profiles_score_as_the_release_did() -> None:
    sets = read_json(RANDOM)
    assert len(sets) >= 300
    for index, data in enumerate(sets):
        profile = Profile.model_validate(data["profile"])
        _same_scores(f"random profile {index}", profile, data["cases"], data["expected"])


@pytest.mark.parametrize("path", BOOKS, ids=[p.name.split(".")[0] for p in BOOKS])
def test_a_book_scores_as_the_release_did(path: Path) -> None:
    data = read_json(path)
    profile = load_profile(CORPUS / "profiles" / data["profile"])
    assert len(data["cases"]) >= 2000
    _same_scores(path.name, profile, data["cases"], data["expected"])
