"""Write a learned profile as the TOML the scorer reads, every criterion with its evidence.

The text is the source of truth: :func:`profile_from_text` parses it back with the same
validation ``load_profile`` applies, so what is evaluated is exactly what is written.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from pathlib import Path

from icpsync.core.errors import ConfigError
from icpsync.core.profile import Profile, parse_profile
from icpsync.evidence.points import PointsProfile, Rule, slug

#: An accepted anti-ICP candidate keeps its accounts at Tier 3 or below.
ANTI_CAP = "Tier 3"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _evidence(rule: Rule, base_rate: float) -> str:
    return f"# {rule.deals:,} deals, win rate {rule.win_rate:.1%} (base rate {base_rate:.1%})"


def _table(kind: str, fields: dict[str, object], comment: str) -> list[str]:
    lines = ["", comment, f"[[profile.{kind}]]"]
    lines += [f"{key} = {_value(val)}" for key, val in fields.items()]
    return lines


def render_profile(
    points: PointsProfile, *, name: str, description: str, header: Sequence[str] = ()
) -> str:
    """The TOML text of a learned profile.

    Args:
        points: the learned points, anti-ICP candidates and tiers.
        name: the profile's name.
        description: one line saying where it came from.
        header: comment lines (without ``#``) put at the top of the file.
    """
    base = points.wins / points.deals if points.deals else 0.0
    lines = [f"# {line}".rstrip() for line in header]
    lines += [
        "[profile]",
        f"name = {_value(name)}",
        f"description = {_value(description)}",
        "",
        "# Lowest score of each tier, read off the win rate the scores earned on the deals",
        "# learned from: Tier 1 from an expected 1.2x the base win rate, Tier 2 from 0.4x,",
        "# Tier 3 from 0.1x; Not ICP below.",
        "[profile.tiers]",
    ]
    lines += [f"tier_{i} = {t}" for i, t in enumerate(points.tiers, start=1)]
    used: set[str] = set()
    for rule in sorted(points.rules, key=lambda r: (r.field, -r.points)):
        label = rule.bin.label
        fields: dict[str, object] = {
            "id": _unique(slug(label), used),
            "label": label,
            **rule.bin.condition(),
            "points": rule.points,
        }
        lines += _table("criteria", fields, _evidence(rule, base))
    if points.anti:
        lines += [
            "",
            "# Anti-ICP candidates: bins that won at under half the base rate. They are not",
            "# applied (the validation figures are for the criteria above); uncomment one to",
            "# keep its accounts at Tier 3 or below.",
        ]
    for rule in points.anti:
        label = rule.bin.label
        fields = {
            "id": _unique("anti_" + slug(label), used),
            "label": f"{label} (low win rate)",
            **rule.bin.condition(),
            "effect": "cap",
            "cap": ANTI_CAP,
        }
        block = _table("anti", fields, _evidence(rule, base))
        lines += [block[0], block[1], *(f"# {line}" for line in block[2:])]
    return "\n".join(lines) + "\n"


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
