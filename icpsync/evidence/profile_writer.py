"""Write a learned profile as the TOML the scorer reads, every criterion with its evidence.

The text is the source of truth: :func:`profile_from_text` parses it back with the same
validation ``load_profile`` applies, so what is evaluated is exactly what is written.
"""

from __future__ import annotations

import textwrap
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from icpsync.core.errors import ConfigError
from icpsync.core.profile import Profile, parse_profile
from icpsync.evidence.points import (
    ANTI_ACTIVE_MIN_DEALS,
    ANTI_ACTIVE_RATIO,
    PointsProfile,
    Rule,
    slug,
)

#: An active anti-ICP rule keeps its accounts out of the tiers (flagged, capped at Not ICP).
ANTI_CAP = "Not ICP"
#: A candidate a human may switch on keeps its accounts at Tier 3 or below.
CANDIDATE_CAP = "Tier 3"


def _plain(value: object) -> object:
    """Whole floats as integers (``between = [200, 1999]``), lists element-wise."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _evidence(rule: Rule, base_rate: float) -> str:
    return f"{rule.deals:,} deals, win rate {rule.win_rate:.1%} (base rate {base_rate:.1%})"


def _table(fields: dict[str, object], comment: str) -> Table:
    table = tomlkit.table()
    table.add(tomlkit.comment(comment))
    for key, val in fields.items():
        table.add(key, _plain(val))
    return table


def _tiers(points: PointsProfile) -> Table:
    policy = points.policy
    table = tomlkit.table()
    for line in textwrap.wrap(f"Tier policy ({policy.kind}): {policy.describe()}", 88):
        table.add(tomlkit.comment(line))
    table.add(tomlkit.comment("Expected win rates from the deals learned from, shares from"))
    table.add(tomlkit.comment("the whole book of accounts; the cut-offs below are what scores."))
    table.add("policy", policy.kind)
    table.add("shares", list(policy.shares))
    if policy.kind == "lift" and policy.lifts is not None:
        table.add("lifts", list(policy.lifts))
    for i, cut in enumerate(points.tiers, start=1):
        table.add(f"tier_{i}", cut)
    return table


def _anti_fields(rule: Rule, used: set[str]) -> dict[str, Any]:
    label = rule.bin.label
    return {
        "id": _unique("anti_" + slug(label), used),
        "label": f"{label} (low win rate)",
        **rule.bin.condition(),
        "effect": "cap",
        "cap": ANTI_CAP if rule.active else CANDIDATE_CAP,
    }


def render_profile(
    points: PointsProfile, *, name: str, description: str, header: Sequence[str] = ()
) -> str:
    """The TOML text of a learned profile.

    Args:
        points: the learned points, anti-ICP rules and tiers.
        name: the profile's name.
        description: one line saying where it came from.
        header: comment lines (without ``#``) put at the top of the file.
    """
    base = points.wins / points.deals if points.deals else 0.0
    doc = tomlkit.document()
    for line in header:
        doc.add(tomlkit.comment(line) if line else tomlkit.nl())
    profile = tomlkit.table()
    profile.add("name", name)
    profile.add("description", description)
    profile.add("tiers", _tiers(points))
    used: set[str] = set()
    criteria = tomlkit.aot()
    for rule in sorted(points.rules, key=lambda r: (r.field, -r.points)):
        label = rule.bin.label
        fields: dict[str, object] = {
            "id": _unique(slug(label), used),
            "label": label,
            **rule.bin.condition(),
            "points": rule.points,
        }
        criteria.append(_table(fields, _evidence(rule, base)))
    if len(criteria):
        profile.add("criteria", criteria)
    active = [r for r in points.anti if r.active]
    if active:
        anti = tomlkit.aot()
        for rule in active:
            note = (
                f"{_evidence(rule, base)}: the whole 95% interval lies under "
                f"{ANTI_ACTIVE_RATIO:.2g}x the base rate on {ANTI_ACTIVE_MIN_DEALS}+ deals"
            )
            anti.append(_table(_anti_fields(rule, used), note))
        profile.add("anti", anti)
    doc.add("profile", profile)
    candidates = [r for r in points.anti if not r.active]
    if candidates:
        doc.add(tomlkit.nl())
        doc.add(tomlkit.comment("Anti-ICP candidates: bins that won at under half the base rate,"))
        doc.add(tomlkit.comment("on too little evidence to apply. Uncomment one to keep its"))
        doc.add(tomlkit.comment("accounts at Tier 3 or below."))
    for rule in candidates:
        block = tomlkit.document()
        block.add("profile", {"anti": [_anti_fields(rule, used)]})
        doc.add(tomlkit.nl())
        doc.add(tomlkit.comment(_evidence(rule, base)))
        for line in tomlkit.dumps(block).strip().splitlines():
            doc.add(tomlkit.comment(line))
    return tomlkit.dumps(doc)


def _unique(base: str, used: set[str]) -> str:
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}_{n}", n + 1
    used.add(candidate)
    return candidate


def profile_from_text(text: str, *, source: str = "learned profile") -> Profile:
    """Parse profile TOML text exactly as ``load_profile`` would."""
    data = tomllib.loads(text)
    return parse_profile(data.get("profile", data), source=source)


def write_profile(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path``; an existing file is replaced only with ``force``.

    Raises:
        ConfigError: the file exists and ``force`` is not set.
    """
    if path.exists() and not force:
        raise ConfigError("file exists; pass --force to replace it", source=str(path), key="--out")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
