"""Errors that point at the fix: an untrusted certificate names the host, the CA in use and
``ca_bundle`` (and is not retried); an unreachable org names the host; the tool's fields
missing from the org say to run ``icpsync install``. Against the sandbox over real TLS."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from icpsync.cli import main
from icpsync.connectors.salesforce.sandbox import Sandbox
from icpsync.core.errors import FatalError, RetriableError


@pytest.fixture(autouse=True)
def _default_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def _run(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, err.getvalue()


def test_login_without_the_ca_names_host_ca_and_ca_bundle(sandbox: Sandbox, tmp_path: Path) -> None:
    config = sandbox.write_config(tmp_path / "icpsync.toml")
    text = config.read_text()
    config.write_text("\n".join(line for line in text.splitlines() if "ca_bundle" not in line))
    code, err = _run("--config", str(config), "sync", "--dry-run")
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    host = urlsplit(sandbox.url).netloc
    assert f"the TLS certificate of {host} is not trusted by the default CA list" in err
    assert "set [salesforce] ca_bundle" in err


def test_session_mode_without_the_ca_fails_at_once_naming_the_fix(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(
        sandbox, auth="session", session_id="00Dsession", instance_url=sandbox.url, ca_bundle=None
    )
    connector = sf.connector_for(settings)
    try:
        with pytest.raises(FatalError) as caught:
            list(connector.read_accounts())
    finally:
        connector.close()
    message = str(caught.value)
    assert urlsplit(sandbox.url).netloc in message and "ca_bundle" in message
    assert "default CA list" in message
    assert sum(connector.stats.api_calls.values()) == 1  # not retried: it cannot get better


def test_an_unreachable_instance_is_named(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    settings = sf.settings_for(
        sandbox,
        auth="session",
        session_id="00Dsession",
        instance_url="https://127.0.0.1:9",
        max_retries=0,
    )
    connector = sf.connector_for(settings)
    try:
        with pytest.raises(
            RetriableError, match=r"cannot reach 127\.0\.0\.1:9 \(ConnectionError\)"
        ):
            list(connector.read_accounts())
    finally:
        connector.close()


def test_dry_run_before_install_says_run_install(sf, sandbox: Sandbox) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FatalError) as caught:
        sf.sync(sf.settings_for(sandbox), dry_run=True)
    message = str(caught.value)
    assert "INVALID_FIELD: No such column 'ICP_" in message
    assert message.endswith("run `icpsync install`")
