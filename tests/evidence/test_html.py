"""The HTML report reads at a glance: round ticks, titled charts with labelled axes, tables
instead of text blocks, and a page a real browser renders."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from icpsync.evidence.charts import bar_chart, nice_ticks, trend_chart


def test_ticks_fall_on_round_values() -> None:
    assert nice_ticks(0.52 * 1.1) == [0.0, 0.2, 0.4, 0.6]  # not 17%, 35%, 52%
    assert nice_ticks(2.05) == [0.0, 1.0, 2.0, 3.0]
    assert nice_ticks(0.93, floor=0.3, count=8) == [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert nice_ticks(38_000) == [0.0, 10_000.0, 20_000.0, 30_000.0, 40_000.0]


def test_a_chart_has_a_title_axis_labels_and_round_tick_labels() -> None:
    svg = bar_chart(
        ["Tier 1", "Tier 2"], [0.52, 0.3], title="Win rate by tier", x_label="tier", y_label="win"
    )
    assert ">Win rate by tier</text>" in svg and ">tier</text>" in svg and ">win</text>" in svg
    assert all(f">{p}%</text>" in svg for p in (0, 20, 40, 60))
    trend = [
        {"quarter": "2026-Q1", "deals": 90, "value": 0.8, "low": 0.7, "high": 0.9},
        {"quarter": "2026-Q2", "deals": 90, "value": 0.6, "low": 0.5, "high": 0.7},
    ]
    chart = trend_chart(trend, title="AUC by quarter")
    assert (
        ">Q1</text>" in chart
        and ">2026</text>" in chart
        and ">0.5</text>" in chart
        and ">0.9</text>" in chart
    )


def test_the_report_page_renders_in_a_headless_browser(tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium) to render the page")
    svg = bar_chart(["Tier 1"], [0.5], title="Win rate by tier", x_label="tier", y_label="win")
    page = tmp_path / "report.html"
    page.write_text(f"<!DOCTYPE html><html><body><h1>report</h1>{svg}</body></html>")
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=800,600",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000  # a drawn page, not blank
