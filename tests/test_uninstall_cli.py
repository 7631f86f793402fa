"""The uninstall and --emit-metadata contract for connectors that have nothing to remove."""

from __future__ import annotations

from pathlib import Path

import pytest

from icpsync.cli.app import main


def _exit_code(*args: str) -> int | str | None:
    with pytest.raises(SystemExit) as stopped:
        main(list(args))
    return stopped.value.code


def test_uninstall_of_the_file_connector_is_a_usage_error(
    file_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _exit_code("--config", str(file_config), "uninstall", "--crm", "file", "--yes")
    err = capsys.readouterr().err
    assert code == 2
    assert "the file connector has no uninstall" in err and "Traceback" not in err


def test_emit_metadata_is_salesforce_only(
    file_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "md"
    code = _exit_code(
        "--config", str(file_config), "install", "--crm", "hubspot", "--emit-metadata", str(out)
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "--emit-metadata" in err and "hubspot" in err and not out.exists()
