"""The built-in default profile, shipped as TOML data inside the package."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from icpsync.core.profile import Profile, parse_profile

_SOURCE = "icpsync/profiles/default.toml"


@cache
def default_profile() -> Profile:
    """The mid-market B2B SaaS profile used when the config names none."""
    text = resources.files("icpsync.core").joinpath("profiles/default.toml").read_text("utf-8")
    return parse_profile(tomllib.loads(text)["profile"], source=_SOURCE)
