"""The record ids a run has seen, kept as their 64-bit hashes, so a duplicate-id guard over a
million records stays small.

The newest ids sit in a set; when there are enough of them (:data:`FOLD`, or a sixteenth of
those folded before, so that folding costs a constant share per id however many ids there
are) their hashes are folded into a sorted NumPy array, searched a batch at a time. The
array's hashes are counted by their top :data:`BUCKET_BITS` bits, so a hash is looked for
among the few that share those bits (:func:`_among`): a search touches a line or two of the
array, where a bisection of the whole array touches a dozen, each a cache miss that also
pushes the run's other data (the batch's strings, the memos) out of the CPU's cache. Two
different ids whose hashes collide would make the second count as a repeat: with a million
ids the odds of any collision are about 1 in 30 million. NumPy is imported at the first
fold: a run of fewer ids does without it.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

FOLD = 65_536
#: Fold when the recent ids reach this share of the folded ones (1 / ``FOLD_SHARE``).
FOLD_SHARE = 16
#: Folded hashes past this many times the new ones: merged in by the stable sort.
MERGE_FROM = 4
#: The folded hashes are found through their counts by these top bits (2**16 counts).
BUCKET_BITS = 16


class SeenIds:
    """A set of strings that answers ``in``, ``add``, ``add_new``, ``add_new_many``,
    ``add_all_new``, ``update`` and ``isdisjoint``."""

    def __init__(self, fold: int = FOLD):
        self._fold_at = max(1, fold)
        self._recent: set[str] = set()  # the ids seen since the last fold
        # their hashes, taken as they come (a repeat does no harm), for the next fold
        self._pending = array("q")
        # the folded hashes, sorted, are ``_buffer[:_size]`` (``_hashes``, a view renewed by
        # each fold); the buffer doubles when full
        self._buffer: npt.NDArray[np.int64] | None = None
        self._hashes: npt.NDArray[np.int64] | None = None
        self._size = 0
        # where each bucket's hashes start in ``_hashes`` (and where the last one ends)
        self._starts: npt.NDArray[np.int64] | None = None

    def __contains__(self, key: object) -> bool:
        if key in self._recent:
            return True
        if self._hashes is None:
            return False
        wanted = hash(key)
        at = int(self._hashes.searchsorted(wanted))
        return at < self._size and int(self._hashes[at]) == wanted

    def add(self, key: str) -> None:
        """Remember one id."""
        if key not in self._recent:
            self._recent.add(key)
            self._pending.append(hash(key))
        self._maybe_fold()

    def add_new(self, key: str) -> bool:
        """Remember one id; False when it was seen before."""
        if key in self:
            return False
        self.add(key)
        return True

    def add_new_many(self, keys: Sequence[str]) -> list[bool]:
        """:meth:`add_new` of each key in turn (a key repeated within ``keys`` is new only
        the first time); the folded ids are searched for the whole batch at once."""
        folded = self._folded(list(map(hash, keys)))
        recent = self._recent
        out: list[bool] = []
        for key, was_folded in zip(keys, folded, strict=True):
            if was_folded or key in recent:
                out.append(False)
            else:
                recent.add(key)
                self._pending.append(hash(key))
                out.append(True)
        self._maybe_fold()
        return out

    def update(self, keys: Iterable[str]) -> None:
        """Remember many ids."""
        listed = keys if isinstance(keys, list) else list(keys)
        self._put(listed, self._hashed(listed))

    def isdisjoint(self, keys: Iterable[object]) -> bool:
        """True when none of ``keys`` was seen."""
        listed = keys if isinstance(keys, list) else list(keys)
        if not self._recent.isdisjoint(listed):
            return False
        hashes = self._hashed(listed)
        return hashes is None or not listed or not self._found(hashes).any()

    def add_all_new(self, keys: Sequence[str]) -> bool:
        """Remember every key and say True when none was seen before and none repeats within
        ``keys`` (``isdisjoint`` then ``update``, each key hashed once); else remember none
        and say False. No set of ``keys`` is made: a repeat shows as the recent ids growing
        by fewer than ``keys``, and is undone."""
        recent = self._recent
        if not recent.isdisjoint(keys):
            return False
        hashes = self._hashed(keys)
        if hashes is not None and len(keys) and self._found(hashes).any():
            return False
        held = len(recent)
        recent.update(keys)
        if len(recent) - held != len(keys):  # a key repeats within ``keys``
            recent.difference_update(keys)  # none of them was there before
            return False
        self._pending_hashes(keys, hashes)
        return True

    def _put(self, keys: Sequence[str], hashes: npt.NDArray[np.int64] | None) -> None:
        """Remember ``keys`` (``hashes``: theirs, from :meth:`_hashed`)."""
        self._recent.update(keys)
        self._pending_hashes(keys, hashes)

    def _pending_hashes(self, keys: Sequence[str], hashes: npt.NDArray[np.int64] | None) -> None:
        """Note the hashes of ``keys``, now among the recent ids, for the next fold."""
        if hashes is None:
            self._pending.extend(map(hash, keys))
        else:
            self._pending.frombytes(hashes.tobytes())
        self._maybe_fold()

    def _hashed(self, keys: Sequence[object]) -> npt.NDArray[np.int64] | None:
        """The keys' hashes, sorted (the searches go through the folded hashes in order);
        None before the first fold (nothing to search, and NumPy not imported)."""
        if self._hashes is None:
            return None
        import numpy as np

        hashes = np.fromiter(map(hash, keys), dtype=np.int64, count=len(keys))
        hashes.sort()
        return hashes

    def _folded(self, hashes: list[int]) -> list[bool]:
        """Per hash: is it among the folded ones."""
        if self._hashes is None or not hashes:
            return [False] * len(hashes)
        import numpy as np

        wanted = np.array(hashes, dtype=np.int64)
        order = wanted.argsort()
        found = np.empty(len(hashes), dtype=bool)
        found[order] = self._found(wanted[order])
        return found.tolist()

    def _found(self, wanted: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Per hash of ``wanted`` (sorted: the search is faster): is it folded."""
        assert self._hashes is not None and self._starts is not None
        return _among(self._hashes, self._starts, wanted)

    def _maybe_fold(self) -> None:
        if len(self._recent) >= max(self._fold_at, self._size // FOLD_SHARE):
            self._fold()

    def _fold(self) -> None:
        """Move the recent ids' hashes into the sorted buffer, in place (no temporary the size of
        the whole buffer: those fragment the heap and RSS would grow with them)."""
        import numpy as np

        count = len(self._pending)
        needed = self._size + count
        if self._buffer is None or needed > len(self._buffer):
            size = max(needed, self._fold_at, 0 if self._buffer is None else 2 * len(self._buffer))
            grown = np.empty(size, dtype=np.int64)
            if self._buffer is not None:
                grown[: self._size] = self._buffer[: self._size]
            self._buffer = grown
        new = np.frombuffer(self._pending, dtype=np.int64)
        self._buffer[self._size : needed] = new
        counts = np.bincount(_buckets(new), minlength=1 << BUCKET_BITS)
        if self._starts is None:
            self._starts = np.zeros(len(counts) + 1, dtype=np.int64)
        self._starts[1:] += counts.cumsum()
        self._size = needed
        # in place; a folded part several times the new one is one sorted run, which the
        # stable sort (a merge sort) merges with the new one; else the default sort is faster
        self._buffer[:needed].sort(kind="stable" if needed - count > MERGE_FROM * count else None)
        self._hashes = self._buffer[:needed]
        self._recent.clear()
        del new  # the view of ``_pending``: it cannot be emptied while viewed
        del self._pending[:]


def _buckets(hashes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Each hash's bucket: its top :data:`BUCKET_BITS` bits, as a count from 0 (the sorted
    order of the signed hashes)."""
    return (hashes >> (64 - BUCKET_BITS)) + (1 << (BUCKET_BITS - 1))


def _among(
    hashes: npt.NDArray[np.int64], starts: npt.NDArray[np.int64], wanted: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Per hash of ``wanted``: is it among ``hashes`` (sorted, not empty; ``starts``: where
    each bucket's hashes start). Each is bisected within its bucket, all at once: as many
    steps as the largest of their buckets takes."""
    import numpy as np

    bucket = _buckets(wanted)
    low = starts[bucket]
    left = starts[bucket + 1] - low  # hashes of the bucket not yet ruled out
    while True:
        live = left > 0
        if not live.any():
            break
        half = left >> 1
        middle = low + half
        below = (hashes.take(middle, mode="clip") < wanted) & live
        low = np.where(below, middle + 1, low)
        left = np.where(below, left - half - 1, half)
    return hashes.take(low, mode="clip") == wanted
