"""One name installed: ``pip install .`` puts ``icpsync`` into site-packages and nothing else
of ours; the connectors and field maps travel inside it."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, distribution

import pytest


def _installed_files() -> list[str]:
    try:
        dist = distribution("icpsync")
    except PackageNotFoundError:
        pytest.skip("icpsync is not installed in this environment (run `pip install .`)")
    direct = dist.read_text("direct_url.json")
    if direct and json.loads(direct).get("dir_info", {}).get("editable"):
        pytest.skip("an editable install maps the checkout; the wheel's layout is not in play")
    return [str(path) for path in dist.files or []]


def test_only_icpsync_is_installed_at_the_top_level() -> None:
    files = _installed_files()
    top = {f.split("/", 1)[0] for f in files if not f.startswith("..")}
    assert {t for t in top if not t.endswith(".dist-info")} == {"icpsync"}


def test_connectors_and_field_maps_ship_inside_icpsync() -> None:
    files = set(_installed_files())
    for expected in (
        "icpsync/connectors/salesforce/connector.py",
        "icpsync/connectors/hubspot/connector.py",
        "icpsync/connectors/file/connector.py",
        "icpsync/field_maps/salesforce.toml",
        "icpsync/field_maps/hubspot.toml",
        "icpsync/core/profiles/default.toml",
    ):
        assert expected in files, expected


def test_entry_points_name_the_packaged_connectors() -> None:
    _installed_files()
    eps = distribution("icpsync").entry_points
    targets = {ep.name: ep.value for ep in eps if ep.group == "icpsync.connectors"}
    assert targets and all(v.startswith("icpsync.connectors.") for v in targets.values())
