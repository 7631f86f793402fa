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


def test_a_one_point_change_to_the_profile_names_the_account_and_fields() -> None:
    """The corpus can fail: the default profile with +1 point on one criterion gives a
    failure naming the first account that moved and the fields that moved, not a blob."""
    data = read_json(CORPUS / "scoring" / "book-default.json.gz")
    profile = load_profile(CORPUS / "profiles" / "default.toml")
    criteria = [
        c.model_copy(update={"points": c.points + 1}) if c.id == "employees_200_2000" else c
        for c in profile.criteria
    ]
    changed = profile.model_copy(update={"criteria": criteria})
    with pytest.raises(pytest.fail.Exception) as failed:
        _same_scores("book-default", changed, data["cases"], data["expected"])
    message = str(failed.value)
    assert message.startswith("book-default: score: record ") and "(account_id '" in message
    assert "  profile_version:\n" in message and "expected '09f0654b63'" in message, message
    assert len(message.splitlines()) < 20, message
