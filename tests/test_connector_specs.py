"""The built-in connectors declare themselves: sections, secrets, path keys, field maps and
sandboxes come from their specs, found through the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from icpsync.engine.registry import connector_spec, connector_specs, sandbox_class, sandbox_names
from icpsync.engine.settings import load_settings


def test_each_built_in_connector_declares_what_it_owns() -> None:
    specs = {spec.name: spec for spec in connector_specs()}
    assert {"file", "salesforce", "hubspot"} <= set(specs)
    # the secrets and path keys once listed by hand, now read off the section models
    assert specs["salesforce"].secret_fields == (
        "password",
        "security_token",
        "consumer_secret",
        "session_id",
    )
    assert specs["hubspot"].secret_fields == ("access_token",)
    assert specs["file"].secret_fields == ()
    assert specs["file"].path_keys == ("accounts", "opportunities", "output")
    assert specs["salesforce"].path_keys == ("privatekey_file", "ca_bundle")
    assert [specs[n].field_map for n in ("file", "salesforce", "hubspot")] == [
        "file",
        "salesforce",
        "hubspot",
    ]
    assert sorted(sandbox_names()) == sorted(n for n, s in specs.items() if s.sandbox)
    assert {"salesforce", "hubspot"} <= set(sandbox_names())
    assert sandbox_class("hubspot").__name__ == "Sandbox"


def test_path_keys_are_relative_to_the_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    config = folder / "icpsync.toml"
    config.write_text(
        '[salesforce]\nca_bundle = "ca.pem"\nprivatekey_file = "/abs/server.key"\n'
        '[file]\naccounts = "data/a.csv"\n[state]\ndir = "st"\n'
    )
    settings = load_settings(config)
    assert settings.salesforce.ca_bundle == folder / "ca.pem"
    assert settings.salesforce.privatekey_file == Path("/abs/server.key")
    assert settings.file.accounts == folder / "data" / "a.csv"
    assert settings.state.dir == folder / "st"


def test_a_connector_without_a_sandbox_is_refused_by_name() -> None:
    from icpsync.core.errors import ConfigError

    with pytest.raises(ConfigError, match="'file' has no sandbox"):
        sandbox_class("file")
    with pytest.raises(ConfigError, match="unknown connector 'nosuch'"):
        connector_spec("nosuch")
