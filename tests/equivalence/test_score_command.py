"""``icpsync score`` gives, byte for byte, what the release gave: the scored CSV, the
rejects CSV, the summary it prints, its exit code and its JSON report (less timing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from equivalence.compare import CORPUS, read_bytes, same_text, same_value
from equivalence.runs import icpsync, score_report

CASES = sorted(p.parent for p in (CORPUS / "score").glob("*/case.json"))


def _lay_out(case_dir: Path, case: dict[str, Any], folder: Path) -> None:
    """The case's input files (and profile) under the names the command is given."""
    for name, pooled in case["inputs"].items():
        (folder / name).write_bytes(read_bytes(CORPUS / "score" / "inputs" / pooled))
    if "--profile" in case["args"]:
        profile = case["args"][case["args"].index("--profile") + 1]
        (folder / profile).write_bytes((CORPUS / "profiles" / profile).read_bytes())


def test_the_corpus_has_the_cases() -> None:
    names = {c.name for c in CASES}
    assert len(CASES) >= 40
    assert {"synthetic-default", "overrides-kitchen", "junk-default", "malformed-jsonl"} <= names


@pytest.mark.parametrize("case_dir", CASES, ids=[c.name for c in CASES])
def test_score_matches_the_release(case_dir: Path, tmp_path: Path) -> None:
    case = json.loads((case_dir / "case.json").read_text())
    _lay_out(case_dir, case, tmp_path)
    run = icpsync(tmp_path, case["args"])
    for made in ("out.csv", "rejects.csv"):
        path = tmp_path / made
        if made not in case["expected"]:
            assert not path.exists(), f"{case_dir.name}: {made} written; the release wrote none"
            continue
        expected = read_bytes(case_dir / "expected" / case["expected"][made])
        same_text(f"{case_dir.name}: {made}", expected, path.read_bytes())
        path.unlink()
    same_value(
        f"{case_dir.name}: exit code and output",
        {k: case[k] for k in ("exit_code", "stderr", "stdout")},
        run,
    )
    same_value(f"{case_dir.name}: --json", case["report"], score_report(tmp_path, case["args"]))


def test_a_one_point_change_to_the_profile_fails_with_the_first_differing_row(
    tmp_path: Path,
) -> None:
    """The corpus can fail: +1 point on one criterion of the default profile, and the
    comparison names the first row and column that moved, in a few lines."""
    case_dir = CORPUS / "score" / "synthetic-default"
    case = json.loads((case_dir / "case.json").read_text())
    _lay_out(case_dir, case, tmp_path)
    text = (CORPUS / "profiles" / "default.toml").read_text(encoding="utf-8")
    changed = text.replace(
        "between = [200, 2000]\npoints = 20", "between = [200, 2000]\npoints = 21"
    )
    assert changed != text
    (tmp_path / "changed.toml").write_text(changed, encoding="utf-8")
    run = icpsync(tmp_path, [*case["args"], "--profile", "changed.toml"])
    assert run["exit_code"] == 0
    expected = read_bytes(case_dir / "expected" / case["expected"]["out.csv"])
    with pytest.raises(pytest.fail.Exception) as failed:
        same_text("synthetic-default: out.csv", expected, (tmp_path / "out.csv").read_bytes())
    message = str(failed.value)
    # every row carries the profile's version, which the change moved too
    assert "line 2 differs" in message and "icp_profile_version" in message, message
    assert "first difference at character" in message, message
    assert len(message.splitlines()) == 4 and len(message) < 1500, message
