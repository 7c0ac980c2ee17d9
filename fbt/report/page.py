"""The HTML report: a self-contained ``report.html`` of cards, tables and the embedded chart."""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from fbt.report.output import RunOutput, _title, monthly_returns
from fbt.report.plot import PNG_SIZE, _closing_total
from fbt.report.summary import _GROUPS, LABELS, format_statistic

# --------------------------------------------------------------------------------------------------
# The page

_MAX_TRADE_ROWS: Final = 5000


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _when(stamp: Any, time_format: str) -> str:
    if stamp is None or (isinstance(stamp, float) and math.isnan(stamp)):
        return ""
    try:
        t = pd.Timestamp(stamp)
    except (ValueError, TypeError):
        return str(stamp)
    if pd.isna(t):
        return ""
    return t.strftime("%Y-%m-%d") if time_format == "date" else str(t)


_CSS: Final = """
:root { --ink:#1d2330; --muted:#667085; --line:#e4e7ec; --up:#1a7f37; --down:#c4320a; --accent:#1f4e79; }
* { box-sizing: border-box; }
body { margin: 0; background: #f6f7f9; color: var(--ink);
       font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { font-size: 22px; margin: 0 0 4px; }
header p { margin: 0; color: var(--muted); }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; margin-top: 18px; }
section h2 { font-size: 16px; margin: 0 0 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin-top: 18px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .v { font-size: 22px; font-weight: 600; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.pos { color: var(--up); } .neg { color: var(--down); }
.groups { display: grid; grid-template-columns: repeat(auto-fit, minmax(330px, 1fr)); gap: 8px 28px;
          align-items: start; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.stats td.key { color: var(--muted); font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 11px; }
table.stats caption { text-align: left; font-weight: 600; padding: 10px 0 4px; }
figure { margin: 0; }
figure img { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 6px; }
table.monthly td { text-align: right; font-variant-numeric: tabular-nums; font-size: 12px; min-width: 52px; }
table.monthly th { text-align: right; font-size: 12px; }
.scroll { max-height: 520px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.scroll table th { position: sticky; top: 0; background: #f2f4f7; }
table.trades td, table.trades th { font-size: 12px; white-space: nowrap; }
pre { background: #f6f7f9; border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow: auto;
      font-size: 12px; }
.muted { color: var(--muted); }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
"""

_SCRIPT: Final = """
window.addEventListener("load", function () {
  var ok = 0, imgs = document.images;
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; } }
  document.body.setAttribute("data-images", String(ok));
});
"""


def _sign_class(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value != 0:
        return "pos" if value > 0 else "neg"
    return ""


def _cards(stats: Mapping[str, Any]) -> str:
    keys = ("total_return", "cagr", "sharpe_ratio", "max_drawdown_from_peak", "trades", "win_rate", "final_equity")
    cells = []
    for key in keys:
        if key not in stats:
            continue
        label = LABELS[key][0]
        value = stats[key]
        tone = _sign_class(value) if key in ("total_return", "cagr", "sharpe_ratio") else ""
        cells.append(f'<div class="card" data-key="{key}"><div class="k">{_esc(label)}</div>'
                     f'<div class="v {tone}">{_esc(format_statistic(key, value))}</div></div>')
    return f'<div class="cards">{"".join(cells)}</div>'


def _stats_table(stats: Mapping[str, Any]) -> str:
    groups: dict[str, list[str]] = {g: [] for g in _GROUPS}
    for key, value in stats.items():
        if key.endswith("fingerprint"):
            continue  # shown with the run's configuration
        label, _, group = LABELS.get(key, (key.replace("_", " ").capitalize(), "raw", "Other"))
        shown = format_statistic(key, value)
        groups[group].append(
            f'<tr data-key="{_esc(key)}"><td>{_esc(label)}</td><td class="num">{_esc(shown)}</td>'
            f'<td class="key">{_esc(key)}</td></tr>'
        )
    tables = [
        f'<table class="stats"><caption>{_esc(group)}</caption>{"".join(rows)}</table>'
        for group, rows in groups.items() if rows
    ]
    return f'<div class="groups">{"".join(tables)}</div>'


def _heat(value: float, scale: float) -> str:
    """A background colour for a return: green for gains, red for losses, full at ``scale`` and beyond."""
    strength = min(1.0, abs(value) / scale)
    if value >= 0:
        r, g, b = (int(255 - (255 - c) * strength) for c in (26, 152, 80))
    else:
        r, g, b = (int(255 - (255 - c) * strength) for c in (215, 48, 39))
    return f"rgb({r},{g},{b})"


def _monthly_table(table: pd.DataFrame) -> str:
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    head = "<tr><th>Year</th>" + "".join(f"<th>{m}</th>" for m in months) + "<th>Year</th></tr>"
    rows = []
    values = np.abs(table[list(range(1, 13))].to_numpy(dtype=np.float64))
    values = values[np.isfinite(values)]
    scale = max(0.005, float(np.quantile(values, 0.95))) if values.size else 0.1
    for year, row in table.iterrows():
        cells = []
        for column in [*range(1, 13), "Year"]:
            value = float(row[column])
            if math.isnan(value):
                cells.append("<td></td>")
                continue
            strong = abs(value) > 0.7 * scale
            style = f"background:{_heat(value, scale)};" + ("color:#fff;" if strong else "")
            weight = "font-weight:600;" if column == "Year" else ""
            shown = f"{value * 100:.1f}%" if abs(value) >= 0.0005 else "0.0%"  # no "-0.0%"
            cells.append(f'<td style="{style}{weight}">{shown}</td>')
        rows.append(f"<tr><th>{_esc(year)}</th>{''.join(cells)}</tr>")
    return f'<table class="monthly" id="monthly-returns">{head}{"".join(rows)}</table>'


def _trade_cell(column: str, value: Any, time_format: str) -> tuple[str, str]:
    if isinstance(value, pd.Timestamp) or (column.endswith("time") or column in ("entry", "exit", "timestamp")):
        return _esc(_when(value, time_format)), ""
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return "", "num"
        if column in ("return", "return_pct"):
            return f"{number * 100:.2f}%", f"num {_sign_class(number)}"
        if column in ("pnl", "net_pnl", "profit"):
            return f"{number:,.2f}", f"num {_sign_class(number)}"
        if column == "commission":
            return f"{number:,.2f}", "num"
        return (f"{number:,.6g}" if abs(number) < 1e6 else f"{number:,.2f}"), "num"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}", "num"
    return _esc(value), ""


def _trades_table(trades: pd.DataFrame, time_format: str) -> str:
    if not len(trades):
        return '<p class="muted">No closed round trips.</p>'
    shown = trades.head(_MAX_TRADE_ROWS)
    columns = list(shown.columns)
    head = "<tr><th class=\"num\">#</th>" + "".join(f"<th>{_esc(c)}</th>" for c in columns) + "</tr>"
    body = []
    for k, row in enumerate(shown.itertuples(index=False), start=1):
        cells = [f'<td class="num">{k}</td>']
        for column, value in zip(columns, row, strict=True):
            text, css = _trade_cell(column, value, time_format)
            cells.append(f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    note = (f'<p class="muted">The first {_MAX_TRADE_ROWS:,} of {len(trades):,} round trips.</p>'
            if len(trades) > _MAX_TRADE_ROWS else "")
    return f'{note}<div class="scroll"><table class="trades" id="trades">{head}{"".join(body)}</table></div>'


def _configuration(out: RunOutput) -> str:
    header = out.header or {}
    rows = []
    title = _title(out)
    rows.append(("strategy", title))
    for key in ("fbt_version", "n_bars", "time_format", "symbols"):
        if key in header:
            rows.append((key, header[key] if not isinstance(header[key], list) else ", ".join(map(str, header[key]))))
    for key in ("input_fingerprint", "events_fingerprint", "data_fingerprint", "config_fingerprint"):
        value = out.stats.get(key, header.get(key))
        if value is not None:
            rows.append((key, value))
    for key, value in out.stats.items():
        if key.endswith("fingerprint") and (key, value) not in rows:
            rows.append((key, value))
    table = "".join(f'<tr data-key="{_esc(k)}"><th>{_esc(k)}</th><td><code>{_esc(v)}</code></td></tr>'
                    for k, v in rows)
    config = header.get("config")
    block = (f'<h3>Configuration</h3><pre id="config">{_esc(json.dumps(config, indent=2, sort_keys=True))}</pre>'
             if config is not None else '<p class="muted">No journal.jsonl in the folder: the configuration is not '
             'recorded.</p>')
    return f'<table class="config">{table}</table>{block}'


def _period(out: RunOutput) -> str:
    index = out.equity.index
    if not len(index):
        return "no bars"
    freq = out.stats.get("frequency")
    bars = out.stats.get("bars", len(index))
    parts = [f"{_when(index[0], out.time_format)} .. {_when(index[-1], out.time_format)}", f"{int(bars):,} bars"]
    if freq:
        parts.append(f"{freq} data")
    return " · ".join(parts)


def render_html(out: RunOutput, png: bytes, *, title: str | None = None) -> str:
    """Return the report page for a run's output, with ``png`` (the equity chart) embedded."""
    stats = out.stats
    title = title or _title(out)
    total = _closing_total(out)
    initial = stats.get("initial_capital")
    monthly = monthly_returns(total, initial=float(initial) if isinstance(initial, int | float) else None)
    image = base64.b64encode(png).decode("ascii")
    trade_note = ("closed round trips from trades.csv" if out.trades_source == "trades.csv"
                  else "closed round trips derived from fills.csv")
    files = "equity.csv, fills.csv, stats.json" + (", journal.jsonl" if out.header else "") + (
        ", trades.csv" if out.trades_source == "trades.csv" else "")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>fbt report: {_esc(title)}</title>",
        f"<style>{_CSS}</style></head>",
        '<body data-images="0"><main>',
        f'<header><h1>{_esc(title)}</h1><p>{_esc(_period(out))}</p></header>',
        _cards(stats),
        '<section id="equity"><h2>Equity and drawdown</h2>'
        f'<figure><img id="equity-chart" alt="Equity curve with fills marked, and drawdown from the peak" '
        f'width="{PNG_SIZE[0]}" height="{PNG_SIZE[1]}" src="data:image/png;base64,{image}">'
        "<figcaption>Top: equity (cash plus positions at each bar's adjusted close), with the fills marked: "
        "buys green, sells red. Bottom: drawdown from the running peak.</figcaption></figure></section>",
        '<section id="statistics"><h2>Statistics</h2>' + _stats_table(stats) + "</section>",
        '<section id="monthly"><h2>Monthly returns</h2>' + _monthly_table(monthly) +
        '<p class="muted">Each month\'s last equity over the previous month\'s; the first month over the initial '
        "capital.</p></section>",
        f'<section id="trade-list"><h2>Trades <span class="muted">({len(out.trades):,}; {_esc(trade_note)})</span>'
        "</h2>" + _trades_table(out.trades, out.time_format) + "</section>",
        '<section id="configuration"><h2>Run</h2>' + _configuration(out) + "</section>",
        f"<footer>Written by fbt from the run's output files: {_esc(files)}.</footer>",
        f"</main><script>{_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"
