"""Reports: equity.png and a self-contained report.html, checked by parsing and in a real headless browser."""

from __future__ import annotations

import base64
import html.parser
import json
import re
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import fbt
from fbt.cli.app import main
from fbt.report import LABELS, format_statistic, monthly_returns, read_output, write_report
from fbt.sample.data import sample_dir

pytest.importorskip("matplotlib")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


class Page(html.parser.HTMLParser):
    """The parts of the report a test looks at: images, elements with an id, data-key rows, tables, links."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.ids: set[str] = set()
        self.keys: set[str] = set()
        self.tables = 0
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.images.append(a)
        if "id" in a:
            self.ids.add(a["id"])
        if "data-key" in a:
            self.keys.add(a["data-key"])
        if tag == "table":
            self.tables += 1
        for attr in ("src", "href"):
            if attr in a and not a[attr].startswith(("data:", "#")):
                self.external.append(a[attr])

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fbt.sample.data import crossover

    out = tmp_path_factory.mktemp("run")
    result = fbt.run(crossover(), fbt.load_dir(sample_dir()))
    page = result.report(out)
    assert page == out / "report.html"
    return out


def test_the_png_is_the_expected_size(run_dir: Path) -> None:
    data = (run_dir / "equity.png").read_bytes()
    assert len(data) > 20_000  # a drawn chart, not an empty canvas
    assert png_size(data) == (1200, 700)


def test_the_html_parses_embeds_its_images_and_holds_every_statistic(run_dir: Path) -> None:
    text = (run_dir / "report.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    page.close()
    assert page.external == []  # nothing from the network
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text)
    assert "@import" not in text and "url(" not in text
    (image,) = page.images
    assert image["src"].startswith("data:image/png;base64,")
    embedded = base64.b64decode(image["src"].split(",", 1)[1])
    assert embedded == (run_dir / "equity.png").read_bytes()
    stats = json.loads((run_dir / "stats.json").read_text())
    for key, value in stats.items():
        assert key in page.keys, key
        if key in LABELS and not key.endswith("fingerprint"):
            assert format_statistic(key, value) in text, key
    assert {"equity-chart", "statistics", "monthly-returns", "trades", "configuration", "config"} <= page.ids
    body = "".join(page.text)
    assert stats["input_fingerprint"] in body and stats["events_fingerprint"] in body
    assert "moving_average_crossover(long_window=400, short_window=100) on SYNA, SYNB, SYNC" in body
    trades = pd.read_csv(run_dir / "trades.csv")
    assert text.count("<tr>") >= len(trades)
    for entry in trades["entry_time"]:
        assert entry in body


def test_the_page_renders_in_a_headless_browser(
    run_dir: Path, browser: Callable[..., list[str]], tmp_path: Path
) -> None:
    url = (run_dir / "report.html").as_uri()
    dom = subprocess.run(browser("--virtual-time-budget=3000", "--dump-dom", url), capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert re.search(r'<body data-images="1"', dom.stdout), dom.stdout[:500]  # the chart decoded
    page = Page()
    page.feed(dom.stdout)
    assert {"equity-chart", "statistics", "monthly-returns", "trades"} <= page.ids
    assert page.tables >= 5
    shot = tmp_path / "shot.png"
    done = subprocess.run(browser("--window-size=1280,2400", f"--screenshot={shot}", url), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert png_size(data) == (1280, 2400) and len(data) > 50_000  # a rendered page, not a blank one


def test_fbt_report_on_a_run_folder_and_run_with_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["run", "examples/moving_average_crossover.py:moving_average_crossover", "--data",
                 str(sample_dir()), "--param", "short_window=20", "--param", "long_window=80", "--out", str(out),
                 "--report"]) == 0
    printed = capsys.readouterr().out
    assert f"Wrote {out / 'equity.png'} and {out / 'report.html'}" in printed
    assert (out / "report.html").is_file() and png_size((out / "equity.png").read_bytes()) == (1200, 700)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "report.html").unlink()
    (copy / "equity.png").unlink()
    assert main(["report", str(copy), "--title", "A title of mine"]) == 0
    assert "<h1>A title of mine</h1>" in (copy / "report.html").read_text()
    assert (copy / "report.html").read_text().count("data:image/png;base64,") == 1
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "expected a run's output folder" in capsys.readouterr().err


def test_a_folder_without_journal_or_trades_still_reports(run_dir: Path, tmp_path: Path) -> None:
    for name in ("equity.csv", "fills.csv", "stats.json"):
        shutil.copy(run_dir / name, tmp_path / name)
    page = write_report(tmp_path)
    out = read_output(tmp_path)
    assert out.header is None and out.trades_source == "fills.csv"
    expected = pd.read_csv(run_dir / "trades.csv")
    assert out.trades["net_pnl"].tolist() == pytest.approx(expected["net_pnl"].tolist())
    assert out.trades["bars"].tolist() == expected["bars"].tolist()
    assert "not recorded" in page.read_text()


def test_many_fills_and_minute_bars(tmp_path: Path, crossover: Callable[..., Any]) -> None:
    n = 4000
    ts = np.datetime64("2024-01-02T14:30", "ns").astype(np.int64) + np.arange(n, dtype=np.int64) * 60 * 10**9
    close = 50 + np.cumsum(np.sin(np.arange(n) / 2.0) * 0.05)
    data = fbt.BarData.from_columns(symbols=("A",), timestamps=ts, columns={"close": close.reshape(1, n)})
    result = fbt.run(crossover(2, 5), data, periods="auto")
    assert result.statistics["fills"] > 400  # drawn as a rug, not markers
    page = result.report(tmp_path)
    text = page.read_text()
    assert "1-minute data" in text and "2024-01-02 14:30:00" in text
    assert png_size((tmp_path / "equity.png").read_bytes()) == (1200, 700)


def test_monthly_returns_by_hand() -> None:
    index = pd.to_datetime(["2023-12-29", "2024-01-15", "2024-01-31", "2024-03-01", "2024-03-28"])
    total = pd.Series([100.0, 105.0, 110.0, 99.0, 121.0], index=index)
    table = monthly_returns(total, initial=100.0)
    assert list(table.index) == [2023, 2024]
    assert table.loc[2023, 12] == 0.0
    assert table.loc[2024, 1] == pytest.approx(0.10)
    assert np.isnan(table.loc[2024, 2])
    assert table.loc[2024, 3] == pytest.approx(0.10)
    assert table.loc[2024, "Year"] == pytest.approx(0.21)
