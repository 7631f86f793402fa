"""The ICP profile: weighted criteria, anti-ICP rules and tier thresholds.

A profile is data (TOML, inside the config under ``[profile]`` or in its own file) and
validates into :class:`Profile`. Its ``version`` is a short hash of its normalised
content, so any change to what it scores gives a new version and forces a full run.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from icpsync.core.errors import ConfigError
from icpsync.core.model import ACCOUNT_COLUMNS, ANTI_ICP, NOT_ICP, TIER_1, TIER_2, TIER_3

#: Account fields a criterion may test (every canonical column but the id).
ACCOUNT_FIELDS = ACCOUNT_COLUMNS[1:]
AGGREGATE_FIELDS = (
    "customer",
    "won_deals",
    "lost_deals",
    "open_deals",
    "open_pipeline",
    "days_since_last_win",
    "sales_cycle_days",
)
OPERATORS = (
    "in",
    "not_in",
    "between",
    "at_least",
    "at_most",
    "contains_any",
    "contains_all",
    "is_missing",
)
Scalar = str | int | float | bool
CAPPABLE_TIERS = (TIER_1, TIER_2, TIER_3, NOT_ICP)


class Condition(BaseModel):
    """A test on one canonical field: exactly one operator is set."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    field: str
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    between: tuple[float, float] | None = None
    at_least: float | None = None
    at_most: float | None = None
    contains_any: list[str] | None = None
    contains_all: list[str] | None = None
    is_missing: bool | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        set_ops = [op for op in OPERATORS if getattr(self, _attr(op)) is not None]
        if len(set_ops) != 1:
            raise ValueError(
                f"expected exactly one operator of {', '.join(OPERATORS)}; got {set_ops or 'none'}"
            )
        name = self.field
        if not (
            name in ACCOUNT_FIELDS
            or name in AGGREGATE_FIELDS
            or (name.startswith("signals.") and len(name) > len("signals."))
        ):
            raise ValueError(
                f"unknown field {name!r}; expected one of "
                f"{', '.join(ACCOUNT_FIELDS + AGGREGATE_FIELDS)}"
                " or signals.<name>"
            )
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError("between expects [low, high] with low <= high")
        return self

    @property
    def operator(self) -> str:
        """The one operator this condition uses."""
        return next(op for op in OPERATORS if getattr(self, _attr(op)) is not None)

    @property
    def operand(self) -> Any:
        """The value given to the operator."""
        return getattr(self, _attr(self.operator))


def _attr(op: str) -> str:
    return "in_" if op == "in" else op


class Criterion(Condition):
    """A weighted criterion: ``points`` when the condition holds (may be negative)."""

    id: str
    label: str | None = None
    points: int = Field(ge=-100, le=100)


class AntiRule(Condition):
    """An anti-ICP rule: a flag id, its condition and what it does to the account."""

    id: str
    label: str | None = None
    effect: Literal["disqualify", "cap", "penalty"] = "disqualify"
    cap: Literal["Tier 1", "Tier 2", "Tier 3", "Not ICP"] | None = None
    points: int | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _effect_arguments(self) -> AntiRule:
        if self.effect == "cap" and self.cap is None:
            raise ValueError("effect 'cap' needs cap = one of " + ", ".join(CAPPABLE_TIERS))
        if self.effect == "penalty" and not self.points:
            raise ValueError("effect 'penalty' needs points = 1..100")
        return self


class Tiers(BaseModel):
    """Lowest score of each tier; below ``tier_3`` is Not ICP.

    ``policy`` says how the cut-offs were chosen: ``fixed`` (written by hand, the default),
    ``share`` (cumulative shares of the book: ``shares`` for Tier 1, Tiers 1-2, Tiers 1-3) or
    ``lift`` (expected win rate multiples of the base rate: ``lifts``, each tier's share of
    the book capped by ``shares``). ``icpsync learn`` resolves a policy into the cut-offs
    ``tier_1..3`` against the book; scoring reads only the cut-offs, so the policy keys do
    not change the profile's version.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Literal["fixed", "share", "lift"] = "fixed"
    shares: tuple[float, float, float] | None = None
    lifts: tuple[float, float, float] | None = None
    tier_1: int = Field(default=70, ge=0, le=100)
    tier_2: int = Field(default=50, ge=0, le=100)
    tier_3: int = Field(default=30, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Tiers:
        if not self.tier_1 >= self.tier_2 >= self.tier_3:
            raise ValueError("expected tier_1 >= tier_2 >= tier_3")
        if self.shares is not None and not (
            0 < self.shares[0] <= self.shares[1] <= self.shares[2] <= 1
        ):
            raise ValueError("shares expects [tier 1, tiers 1-2, tiers 1-3] rising within 0..1")
        if self.lifts is not None and not (self.lifts[0] >= self.lifts[1] >= self.lifts[2] > 0):
            raise ValueError("lifts expects [tier 1, tier 2, tier 3] falling, each above 0")
        if self.policy == "fixed" and (self.shares or self.lifts):
            raise ValueError("shares and lifts need policy = 'share' or 'lift'")
        return self

    def tier_for(self, score: int) -> str:
        """The tier a score lands in."""
        if score >= self.tier_1:
            return TIER_1
        if score >= self.tier_2:
            return TIER_2
        if score >= self.tier_3:
            return TIER_3
        return NOT_ICP


class Profile(BaseModel):
    """A complete ICP profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "ICP profile"
    description: str = ""
    criteria: list[Criterion] = Field(default_factory=list)
    anti: list[AntiRule] = Field(default_factory=list)
    tiers: Tiers = Field(default_factory=Tiers)

    @model_validator(mode="after")
    def _unique_ids(self) -> Profile:
        ids = [c.id for c in self.criteria] + [a.id for a in self.anti]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"criterion and anti-ICP ids must be unique; repeated: {dupes}")
        return self

    @property
    def version(self) -> str:
        """A short hash of the normalised content (name and description excluded)."""
        content = self.model_dump(
            mode="json",
            by_alias=True,
            exclude={"name": True, "description": True, "tiers": {"policy", "shares", "lifts"}},
        )
        blob = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:10]


TIER_ORDER = {TIER_1: 0, TIER_2: 1, TIER_3: 2, NOT_ICP: 3, ANTI_ICP: 4}


def load_profile(path: str | Path) -> Profile:
    """Load a profile from a TOML file (its ``[profile]`` table, or the whole file).

    Raises:
        ConfigError: naming the file, the key and what was expected.
    """
    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read profile ({exc.strerror})", source=source) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML ({exc})", source=source) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text", source=source) from exc
    table = data.get("profile", data)
    prefix = "profile" if "profile" in data else ""
    return parse_profile(table, source=source, prefix=prefix)


def parse_profile(data: dict[str, Any], *, source: str, prefix: str = "profile") -> Profile:
    """Validate profile data, turning the first validation error into a ConfigError."""
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise config_error_from(exc, source=source, prefix=prefix) from None


def config_error_from(
    exc: ValidationError, *, source: str, prefix: str = "", secret_keys: Collection[str] = ()
) -> ConfigError:
    """The first error of a pydantic ValidationError as a ConfigError with a dotted key.

    The bad value is echoed unless the key holds a credential: one of ``secret_keys``
    (dotted, e.g. ``hubspot.access_token``; the settings pass every connector's).
    """
    err = exc.errors()[0]
    parts = [str(p) for p in err["loc"] if not str(p).startswith("function-after")]
    key = ".".join(p for p in [prefix, *parts] if p)
    secret = any(key == k or key.startswith(f"{k}.") for k in secret_keys)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key"
    elif (
        "input" in err
        and err["type"] not in ("missing",)
        and not isinstance(err["input"], dict)
        and not secret
        and repr(err["input"]) not in message
    ):
        message = f"{message} (got {err['input']!r})"
    return ConfigError(message, source=source, key=key or None)
