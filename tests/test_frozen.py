"""fast_constructor builds objects indistinguishable from the class's own."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass

import pytest

from icpsync.core.frozen import fast_constructor
from icpsync.core.model import Account, Contribution, CurrentIcp, IcpScore

FIELDS = (
    "A1",
    55,
    "Tier 2",
    ("x",),
    (Contribution(5, "y"),),
    ("z",),
    "v1",
    "Tier 2",
    False,
    "r",
    "r",
)


def test_same_type_value_hash_and_repr() -> None:
    built = fast_constructor(IcpScore)(*FIELDS)
    plain = IcpScore(*FIELDS)
    assert type(built) is IcpScore
    assert built == plain and hash(built) == hash(plain) and repr(built) == repr(plain)
    assert pickle.loads(pickle.dumps(built)) == plain
    assert dataclasses.replace(built, score=1) == dataclasses.replace(plain, score=1)


def test_result_stays_frozen() -> None:
    built = fast_constructor(IcpScore)(*FIELDS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.score = 1  # type: ignore[misc]


def test_every_field_is_set() -> None:
    values = [f"v{i}" for i in range(len(dataclasses.fields(Account)))]
    built = fast_constructor(Account)(*values)
    assert dataclasses.astuple(built) == tuple(values)
    assert built == Account(*values)  # type: ignore[arg-type]
    assert fast_constructor(CurrentIcp)(*[None] * 7) == CurrentIcp(flags=None)  # type: ignore[arg-type]


def test_refuses_classes_it_cannot_build() -> None:
    @dataclass
    class Mutable:
        a: int

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (Mutable, NoSlots, Checked):
        with pytest.raises(TypeError):
            fast_constructor(cls)
