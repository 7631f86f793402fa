"""Settings: the TOML file, environment overrides, secrets, and one-line config errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from icpsync.core.default_profile import default_profile
from icpsync.core.errors import ConfigError
from icpsync.engine.settings import load_settings

REPO = Path(__file__).resolve().parents[1]


def test_example_config_loads_as_it_is_and_carries_the_default_profile() -> None:
    settings = load_settings(REPO / "config.example.toml")
    assert settings.sync.crm == "file"
    assert settings.active_profile().version == default_profile().version
    assert settings.file.accounts is not None and settings.file.accounts.is_file()


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[sync]\nlookback_days = 100\n[hubspot]\nrate_limit_per_10s = 100\n")
    monkeypatch.setenv("ICPSYNC_SYNC__LOOKBACK_DAYS", "365")
    monkeypatch.setenv("ICPSYNC_HUBSPOT__ACCESS_TOKEN", "pat-na1-secret-value")
    settings = load_settings(config)
    assert settings.sync.lookback_days == 365
    assert settings.hubspot.access_token is not None
    assert settings.hubspot.access_token.get_secret_value() == "pat-na1-secret-value"
    assert "pat-na1-secret-value" not in str(settings.masked())
    assert "pat-na1-secret-value" not in repr(settings)


def test_config_env_variable_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "from-env.toml"
    config.write_text("[sync]\nexamples = 9\n")
    monkeypatch.setenv("ICPSYNC_CONFIG", str(config))
    assert load_settings().sync.examples == 9


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[sync]\nlookbak_days = 3\n", "sync.lookbak_days", "unknown key"),
        ('[sync]\nlookback_days = "soon"\n', "sync.lookback_days", "valid integer"),
        ("[sync]\nlookback_days = 0\n", "sync.lookback_days", "greater than or equal to 1"),
        ('[salesforce]\nauth = "magic"\n', "salesforce.auth", "'password'"),
        ("[nonsense]\na = 1\n", "nonsense", "unknown key"),
        ("[profile.tiers]\ntier_1 = 10\ntier_2 = 50\n", "profile.tiers", "tier_1 >= tier_2"),
        (
            '[[profile.criteria]]\nid = "x"\nfield = "employees"\npoints = 5\n',
            "profile.criteria.0",
            "exactly one operator",
        ),
        (
            '[[profile.criteria]]\nid = "x"\nfield = "shoe_size"\nat_least = 3\npoints = 5\n',
            "profile.criteria.0",
            "unknown field",
        ),
    ],
)
def test_bad_config_names_file_key_and_expectation(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(config)
    assert err.value.source == str(config)
    assert err.value.key == key
    assert expected in err.value.message


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")
    bad = tmp_path / "broken.toml"
    bad.write_text("[sync\ncrm = 'file'\n")
    with pytest.raises(ConfigError, match="not valid TOML") as err:
        load_settings(bad)
    assert str(bad) in str(err.value)


def test_cli_with_broken_config_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[sync]\nlookback_days = "soon"\n')
    accounts = REPO / "examples" / "accounts.csv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "icpsync",
            "--config",
            str(bad),
            "score",
            "--accounts",
            str(accounts),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(bad) in lines[0] and "sync.lookback_days" in lines[0] and "integer" in lines[0]


def test_a_secret_of_the_wrong_type_is_not_echoed(tmp_path: Path) -> None:
    from icpsync.core.errors import ConfigError
    from icpsync.engine.settings import load_settings

    for text in (
        "[salesforce]\npassword = 98765432\n",
        '[hubspot]\naccess_token = ["pat-na1-very-secret"]\n',
    ):
        config = tmp_path / "icpsync.toml"
        config.write_text(text)
        try:
            load_settings(config)
        except ConfigError as exc:
            message = str(exc)
        else:
            raise AssertionError("expected a config error")
        assert "98765432" not in message and "very-secret" not in message
        assert "password" in message or "access_token" in message
