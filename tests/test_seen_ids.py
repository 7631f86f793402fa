"""The compact duplicate-id guard answers like a set, before and after folding."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from icpsync.core.seen_ids import SeenIds


@given(st.lists(st.text(max_size=12), max_size=200), st.lists(st.text(max_size=12), max_size=50))
def test_answers_like_a_set(added: list[str], probes: list[str]) -> None:
    seen, reference = SeenIds(fold=7), set()
    for key in added:
        assert (key in seen) == (key in reference)
        assert seen.add_new(key) == (key not in reference)
        reference.add(key)
    for key in probes:
        assert (key in seen) == (key in reference)
    assert seen.isdisjoint(probes) == reference.isdisjoint(probes)


def test_update_folds_and_still_finds_every_id() -> None:
    seen = SeenIds(fold=1000)
    ids = [f"A{i:07d}" for i in range(5000)]
    seen.update(ids[:2500])
    assert seen.isdisjoint(ids[2500:])
    assert not seen.isdisjoint(["nope", ids[10]])
    for key in ids[2500:]:
        seen.add(key)
    assert all(key in seen for key in ids)
    assert "A9999999" not in seen


@given(
    st.lists(st.lists(st.text(alphabet="abc", max_size=3), max_size=20), max_size=12),
    st.integers(min_value=1, max_value=9),
)
def test_add_new_many_answers_as_add_new_one_by_one(batches: list[list[str]], fold: int) -> None:
    many, one = SeenIds(fold=fold), SeenIds(fold=fold)
    for batch in batches:
        assert many.add_new_many(batch) == [one.add_new(key) for key in batch]
    probes = [key for batch in batches for key in batch] + ["zz", ""]
    assert [key in many for key in probes] == [key in one for key in probes]
    assert many.add_new_many([]) == []


@given(
    st.lists(st.lists(st.text(alphabet="abcd", max_size=4), max_size=30), max_size=15),
    st.integers(min_value=1, max_value=9),
)
def test_batches_checked_then_added_answer_like_a_set(batches: list[list[str]], fold: int) -> None:
    """The duplicate-id guard's batch path (isdisjoint, then update) across folds."""
    seen, reference = SeenIds(fold=fold), set()
    for batch in batches:
        assert seen.isdisjoint(iter(batch)) == reference.isdisjoint(batch)
        assert seen.isdisjoint(batch) == reference.isdisjoint(batch)
        seen.update(iter(batch) if len(batch) % 2 else batch)
        reference.update(batch)
        assert all(key in seen for key in reference)
    assert seen.isdisjoint(["zzzzz", "e"])


def test_folds_grow_with_what_is_folded() -> None:
    """Past ``fold * FOLD_SHARE`` ids a fold waits for a share of those folded, so the
    number of folds grows with the log of the ids, not with the ids."""
    seen = SeenIds(fold=10)
    folds = 0
    for i in range(20_000):
        before = len(seen._recent)
        seen.add(f"id{i}")
        folds += len(seen._recent) < before + 1
    assert 40 <= folds <= 120  # one per 10 ids would be 2,000
    assert all(f"id{i}" in seen for i in range(0, 20_000, 7))
    assert "id20000" not in seen


@given(
    st.lists(st.lists(st.text(alphabet="abcd", max_size=4), max_size=30), max_size=15),
    st.integers(min_value=1, max_value=9),
)
def test_add_all_new_remembers_a_batch_only_when_none_was_seen(
    batches: list[list[str]], fold: int
) -> None:
    """The normaliser's batch path: all new and none repeated within the batch, remembered
    in one call; any seen before or repeated, nothing remembered."""
    seen, reference = SeenIds(fold=fold), set()
    for batch in batches:
        for keys in (batch, list(dict.fromkeys(batch))):  # as read, then each key once
            all_new = reference.isdisjoint(keys) and len(set(keys)) == len(keys)
            assert seen.add_all_new(keys) == all_new
            if all_new:
                reference.update(keys)
            probes = [*keys, "zzzzz", "e"]
            assert [key in seen for key in probes] == [key in reference for key in probes]


def test_folded_hashes_are_found_within_their_buckets() -> None:
    """The search within buckets answers as a bisection of the whole array, for hashes at
    both ends of the range, in crowded buckets and in empty ones."""
    import numpy as np

    from icpsync.core.seen_ids import _among, _buckets

    rng = np.random.default_rng(7)
    ends = np.array([-(2**63), -(2**63) + 1, -1, 0, 1, 2**63 - 2, 2**63 - 1], dtype=np.int64)
    crowded = np.arange(500, dtype=np.int64) * 3 + (5 << 48)  # one bucket, 500 hashes
    hashes = np.unique(np.concatenate([rng.integers(-(2**63), 2**63 - 1, 20_000), ends, crowded]))
    starts = np.zeros((1 << 16) + 1, dtype=np.int64)
    starts[1:] = np.bincount(_buckets(hashes), minlength=1 << 16).cumsum()
    near = np.concatenate([hashes - 1, hashes + 1])
    wanted = np.concatenate([hashes[::7], near[::5], rng.integers(-(2**63), 2**63 - 1, 5_000)])
    at = hashes.searchsorted(wanted)
    expected = hashes[np.minimum(at, len(hashes) - 1)] == wanted
    assert (_among(hashes, starts, wanted) == expected).all()
    assert expected.sum() > 2_000 and (~expected).sum() > 5_000
