"""Reports of a finished run: ``equity.png`` and a self-contained ``report.html`` (needs ``pip install 'fbt[plot]'``).

:func:`write_report` reads a run's output folder — ``equity.csv``, ``fills.csv``, ``stats.json``,
and ``trades.csv`` and ``journal.jsonl`` where present — and writes into it:

- ``equity.png`` (1200 x 700 pixels): the equity curve with every fill marked (buys as green
  triangles up, sells as red triangles down; a thin rug along the bottom when there are too many to
  mark) and, below it, the drawdown from the running peak in percent;
- ``report.html``: one page that opens offline, in any browser, with no server: the headline
  figures, the statistics table (every key of ``stats.json``, with its label and formula key), the
  equity-and-drawdown chart (the PNG, embedded as base64), a monthly-returns heatmap (a table
  coloured green for gains and red for losses, with each year's total), the trade list (closed round
  trips: ``trades.csv`` if the run wrote one, else derived from ``fills.csv`` by
  :func:`fbt.accounting.account`), and the run's configuration and fingerprints (from the
  journal's header and ``stats.json``).

The page has no external reference (no script, font, style sheet or image from elsewhere); a few
lines of inline script only mark, on ``<body>``, how many images decoded (``data-images``), which
the tests read in a headless browser.

:func:`summary_lines` formats the statistics beyond the book's four for the printed table.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs
import numpy as np
import pandas as pd

from fbt.errors import ConfigError, DataError

__all__ = [
    "LABELS",
    "RunOutput",
    "format_statistic",
    "monthly_returns",
    "plot_equity",
    "read_output",
    "render_html",
    "summary_lines",
    "write_report",
]

PNG_SIZE: Final = (1200, 700)  # pixels
_DPI: Final = 100
_MAX_MARKERS: Final = 400
_MAX_TRADE_ROWS: Final = 5000

#: Statistic key -> (label, kind, group). Kinds: pct (fraction shown in percent), ratio, money,
#: count, days, bars, text, number. Keys not listed are shown as they are, under "Other".
LABELS: Final[Mapping[str, tuple[str, str, str]]] = {
    "total_return": ("Total return", "pct", "Returns"),
    "cagr": ("CAGR", "pct", "Returns"),
    "annual_volatility": ("Annualised volatility", "pct", "Returns"),
    "sharpe_ratio": ("Sharpe ratio", "ratio", "Returns"),
    "sortino_ratio": ("Sortino ratio", "ratio", "Returns"),
    "calmar_ratio": ("Calmar ratio", "ratio", "Returns"),
    "max_drawdown": ("Max drawdown (of starting capital, book)", "pct", "Drawdowns"),
    "max_drawdown_from_peak": ("Max drawdown (of peak)", "pct", "Drawdowns"),
    "drawdown_duration": ("Longest drawdown (bars)", "bars", "Drawdowns"),
    "drawdown_duration_days": ("Longest drawdown (days)", "days", "Drawdowns"),
    "trades": ("Round trips", "count", "Trades"),
    "win_rate": ("Win rate", "pct", "Trades"),
    "average_win": ("Average win", "money", "Trades"),
    "average_loss": ("Average loss", "money", "Trades"),
    "profit_factor": ("Profit factor", "ratio", "Trades"),
    "expectancy": ("Expectancy (per trade)", "money", "Trades"),
    "best_trade": ("Best trade", "money", "Trades"),
    "worst_trade": ("Worst trade", "money", "Trades"),
    "exposure": ("Exposure (time in market)", "pct", "Trades"),
    "turnover": ("Turnover (x average equity)", "ratio", "Trades"),
    "initial_capital": ("Initial capital", "money", "Run"),
    "final_equity": ("Final equity", "money", "Run"),
    "commission": ("Commission", "money", "Run"),
    "slippage": ("Slippage cost", "money", "Run"),
    "frequency": ("Bar frequency", "text", "Run"),
    "periods": ("Bars per year (annualisation)", "number", "Run"),
    "risk_free": ("Risk-free rate (yearly)", "pct", "Run"),
    "bars": ("Bars", "count", "Run"),
    "signals": ("Signals", "count", "Run"),
    "orders": ("Orders", "count", "Run"),
    "fills": ("Fills", "count", "Run"),
    "rejected": ("Orders rejected", "count", "Run"),
    "cancelled": ("Orders cancelled", "count", "Run"),
    "working": ("Orders working at the end", "count", "Run"),
    "execution_model": ("Execution", "text", "Models"),
    "commission_model": ("Commission", "text", "Models"),
    "slippage_model": ("Slippage", "text", "Models"),
    "sizing_model": ("Sizing", "text", "Models"),
    "risk_model": ("Risk", "text", "Models"),
}
_GROUPS: Final = ("Returns", "Drawdowns", "Trades", "Run", "Models", "Other")


def format_statistic(key: str, value: Any) -> str:
    """Return a statistic as readable text, by its kind (percent, ratio, money, ...); ``n/a`` for null.

    >>> format_statistic("total_return", 0.0311), format_statistic("sharpe_ratio", None)
    ('3.11%', 'n/a')
    >>> format_statistic("final_equity", 103107.4395), format_statistic("bars", 5036)
    ('103,107.44', '5,036')
    """
    kind = LABELS.get(key, ("", "raw", ""))[1]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if not isinstance(value, int | float):
        return json.dumps(value)
    if kind == "pct":
        return f"{value * 100:.2f}%"
    if kind == "ratio":
        return f"{value:.2f}"
    if kind == "money":
        return f"{value:,.2f}"
    if kind in ("count", "bars"):
        return f"{int(value):,}"
    if kind == "days":
        return f"{value:,.1f}"
    if kind == "number":
        return f"{value:,.6g}" if not float(value).is_integer() else f"{int(value):,}"
    return repr(value) if isinstance(value, float) else str(value)


def summary_lines(stats: Mapping[str, Any]) -> list[str]:
    """Return the printed lines for the statistics beyond the seed's four (those present).

    >>> print("\\n".join(summary_lines({"cagr": 0.05, "annual_volatility": 0.1, "sortino_ratio": 1.5,
    ...                                 "calmar_ratio": None, "frequency": "daily", "periods": 252.0})))
    CAGR               5.00%   Volatility 10.00%   Sortino 1.50   Calmar n/a
    Annualised at 252 bars a year (daily data)
    """
    f = format_statistic

    def pairs(*items: tuple[str, str]) -> str:
        return "   ".join(f"{label} {f(key, stats.get(key))}" for label, key in items)

    lines = []
    if "cagr" in stats:
        lines.append(f"CAGR               {f('cagr', stats['cagr'])}   " + pairs(
            ("Volatility", "annual_volatility"), ("Sortino", "sortino_ratio"), ("Calmar", "calmar_ratio")))
    if "max_drawdown_from_peak" in stats:
        days = f('drawdown_duration_days', stats.get('drawdown_duration_days'))
        lines.append(f"Max DD of Peak     {f('max_drawdown_from_peak', stats['max_drawdown_from_peak'])}   "
                     f"Longest Drawdown {days} days   " + pairs(("Exposure", "exposure"), ("Turnover", "turnover")))
    if stats.get("trades"):
        lines.append(pairs(("Avg Win", "average_win"), ("Avg Loss", "average_loss"), ("Profit Factor", "profit_factor"),
                           ("Expectancy", "expectancy"), ("Best", "best_trade"), ("Worst", "worst_trade")))
    if "frequency" in stats:
        rf = stats.get("risk_free") or 0.0
        extra = f", risk-free {rf * 100:g}% a year" if rf else ""
        periods = f("periods", stats.get("periods"))
        lines.append(f"Annualised at {periods} bars a year ({stats['frequency']} data{extra})")
    return lines


# --------------------------------------------------------------------------------------------------
# Reading a run's output folder


@attrs.frozen(eq=False, kw_only=True)
class RunOutput:
    """What a run's output folder holds, read back: equity rows, fills, statistics, trades, journal header."""

    directory: Path
    equity: pd.DataFrame  # DatetimeIndex; columns as equity.csv
    fills: pd.DataFrame  # timestamp (datetime64), symbol, direction, quantity, price, commission, ...
    stats: dict[str, Any]
    trades: pd.DataFrame  # closed round trips
    trades_source: str  # "trades.csv" or "fills.csv"
    header: dict[str, Any] | None  # the journal's header line
    time_format: str  # "date" or "datetime"


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: expected a file of the run's output, got no such file (write it with fbt run --out)")
    try:
        return pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: expected a CSV file written by fbt run, got one that cannot be read: {exc}") from None


def _times(values: pd.Series, path: Path) -> pd.DatetimeIndex:
    try:
        return pd.DatetimeIndex(pd.to_datetime(values.astype(str), format="ISO8601"))
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: timestamp: expected ISO dates, got {exc}") from None


def read_output(directory: str | os.PathLike[str]) -> RunOutput:
    """Read a run's output folder (see the module's docstring)."""
    folder = Path(directory)
    if not folder.is_dir():
        raise DataError(f"{folder}: expected a run's output folder (fbt run --out), got "
                        f"{'a file' if folder.exists() else 'no such directory'}")
    equity = _read_csv(folder / "equity.csv")
    for column in ("timestamp", "total"):
        if column not in equity.columns:
            raise DataError(f"{folder / 'equity.csv'}: expected a {column} column, got {', '.join(equity.columns)}")
    text = equity["timestamp"].astype(str)
    time_format = "date" if bool(text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()) else "datetime"
    equity.index = _times(equity.pop("timestamp"), folder / "equity.csv")
    fills = _read_csv(folder / "fills.csv")
    if len(fills):
        fills["timestamp"] = _times(fills["timestamp"], folder / "fills.csv")
    else:
        fills["timestamp"] = pd.DatetimeIndex([])
    stats_path = folder / "stats.json"
    if not stats_path.is_file():
        raise DataError(f"{stats_path}: expected the run's statistics, got no such file")
    try:
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DataError(f"{stats_path}: expected JSON, got {exc}") from None
    if not isinstance(stats, dict):
        raise DataError(f"{stats_path}: expected a JSON object, got {type(stats).__name__}")
    header = _journal_header(folder / "journal.jsonl")
    if (folder / "trades.csv").is_file():
        trades, source = _read_csv(folder / "trades.csv"), "trades.csv"
    else:
        trades, source = round_trips_of(fills, pd.DatetimeIndex(equity.index)), "fills.csv"
    return RunOutput(directory=folder, equity=equity, fills=fills, stats=stats, trades=trades, trades_source=source,
                     header=header, time_format=time_format)


def _journal_header(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            first = json.loads(fh.readline())
    except (ValueError, OSError):
        return None
    return first if isinstance(first, dict) and first.get("type") == "header" else None


def round_trips_of(fills: pd.DataFrame, bars: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Return the closed round trips of a fills table (as ``fills.csv``), by :func:`fbt.accounting.account`.

    The columns of ``trades.csv``: ``symbol``, ``direction`` (LONG/SHORT), ``entry_time``,
    ``exit_time``, ``quantity``, ``entry_price``, ``exit_price``, ``pnl`` (gross), ``commission``,
    ``net_pnl``, and ``bars`` held when the run's bar times ``bars`` are given.

    >>> import pandas as pd
    >>> fills = pd.DataFrame({"timestamp": pd.to_datetime(["2024-01-02", "2024-01-05"]), "symbol": ["A", "A"],
    ...                       "direction": ["BUY", "SELL"], "quantity": [10.0, 10.0], "price": [5.0, 6.0],
    ...                       "commission": [1.0, 1.0]})
    >>> round_trips_of(fills)[["symbol", "direction", "pnl", "net_pnl"]].to_dict("records")
    [{'symbol': 'A', 'direction': 'LONG', 'pnl': 10.0, 'net_pnl': 8.0}]
    """
    from fbt.accounting import account

    columns = ["symbol", "direction", "entry_time", "exit_time", "quantity", "entry_price", "exit_price", "pnl",
               "commission", "net_pnl", "bars"]
    if not len(fills):
        return pd.DataFrame({c: [] for c in columns})
    names = sorted(set(fills["symbol"].astype(str)))
    index = {s: k for k, s in enumerate(names)}
    times = fills["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    _, trades = account(
        bar=times,
        symbol=np.array([index[s] for s in fills["symbol"].astype(str)], dtype=np.int64),
        sign=np.where(fills["direction"].astype(str).str.upper() == "BUY", 1.0, -1.0),
        quantity=fills["quantity"].to_numpy(dtype=np.float64),
        price=fills["price"].to_numpy(dtype=np.float64),
        commission=fills["commission"].to_numpy(dtype=np.float64),
        n_symbols=len(names),
    )
    frame = pd.DataFrame({
        "symbol": [names[k] for k in trades.symbol.tolist()],
        "direction": np.where(trades.quantity > 0, "LONG", "SHORT"),
        "entry_time": pd.DatetimeIndex(trades.entry_bar.astype("datetime64[ns]")),
        "exit_time": pd.DatetimeIndex(trades.exit_bar.astype("datetime64[ns]")),
        "quantity": np.abs(trades.quantity),
        "entry_price": trades.entry_price,
        "exit_price": trades.exit_price,
        "pnl": trades.pnl,
        "commission": trades.commission,
        "net_pnl": trades.pnl - trades.commission,
    })
    if bars is not None:
        stamps = bars.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        frame["bars"] = np.searchsorted(stamps, trades.exit_bar) - np.searchsorted(stamps, trades.entry_bar)
    return frame


def monthly_returns(total: pd.Series, *, initial: float | None = None) -> pd.DataFrame:
    """Return the returns of each calendar month, years as rows, months 1..12 and ``Year`` as columns.

    A month's return is its last equity over the previous month's last (the first month's over
    ``initial``, default the first value) minus 1; ``Year`` compounds the year's months. NaN where a
    month has no bar.

    >>> import pandas as pd
    >>> total = pd.Series([100.0, 110.0, 99.0], index=pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-29"]))
    >>> table = monthly_returns(total, initial=100.0)
    >>> table.loc[2024, [1, 2, 3, "Year"]].round(4).tolist()
    [0.0, 0.1, -0.1, -0.01]
    """
    series = total.astype(np.float64)
    index = pd.DatetimeIndex(series.index)
    if series.empty:
        return pd.DataFrame(columns=[*range(1, 13), "Year"], dtype=np.float64)
    start = float(series.iloc[0]) if initial is None else float(initial)
    month_end = series.groupby([index.year, index.month]).last()
    previous = np.concatenate(([start], month_end.to_numpy()[:-1]))
    returns = month_end.to_numpy() / previous - 1.0
    years = sorted({y for y, _ in month_end.index})
    table = pd.DataFrame(np.nan, index=pd.Index(years, name="year"), columns=[*range(1, 13), "Year"], dtype=np.float64)
    for (year, month), value in zip(month_end.index, returns, strict=True):
        table.loc[year, month] = value
    year_end = series.groupby(index.year).last()
    year_previous = np.concatenate(([start], year_end.to_numpy()[:-1]))
    for year, end_value, before in zip(year_end.index, year_end.to_numpy(), year_previous, strict=True):
        table.loc[year, "Year"] = end_value / before - 1.0
    return table


# --------------------------------------------------------------------------------------------------
# The chart


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("reports need matplotlib: pip install 'fbt[plot]'") from None
    return matplotlib


def _closing_total(out: RunOutput) -> pd.Series:
    """The equity per bar, closed by the final equity (after the last bar's fills) as the statistics are."""
    total = out.equity["total"].astype(np.float64).copy()
    final = out.stats.get("final_equity")
    if isinstance(final, int | float) and len(total):
        total.iloc[-1] = float(final)
    return total


def plot_equity(out: RunOutput, path: str | os.PathLike[str] | io.BytesIO, *, title: str | None = None) -> None:
    """Draw the equity curve (fills marked) over the drawdown from the peak, 1200 x 700 pixels, as PNG."""
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    total = _closing_total(out)
    times = total.index
    fig = Figure(figsize=(PNG_SIZE[0] / _DPI, PNG_SIZE[1] / _DPI), dpi=_DPI)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 1, height_ratios=(3, 1), hspace=0.06, left=0.09, right=0.985, top=0.92, bottom=0.07)
    ax = fig.add_subplot(grid[0])
    dd_ax = fig.add_subplot(grid[1], sharex=ax)
    initial = out.stats.get("initial_capital")
    ax.plot(times, total.to_numpy(), color="#1f4e79", linewidth=1.1, label="equity", zorder=3)
    if isinstance(initial, int | float):
        ax.axhline(float(initial), color="#888888", linewidth=0.8, linestyle="--", label="initial capital", zorder=1)
    fills = out.fills
    if len(fills) and len(total):
        at = np.clip(np.searchsorted(times.to_numpy(), fills["timestamp"].to_numpy(), side="left"), 0, len(total) - 1)
        level = total.to_numpy()[at]
        buys = (fills["direction"].astype(str).str.upper() == "BUY").to_numpy()
        if len(fills) <= _MAX_MARKERS:
            ax.scatter(fills["timestamp"][buys], level[buys], marker="^", s=64, color="#1a9850", edgecolor="white",
                       linewidth=0.5, label="buy", zorder=4)
            ax.scatter(fills["timestamp"][~buys], level[~buys], marker="v", s=64, color="#d73027", edgecolor="white",
                       linewidth=0.5, label="sell", zorder=4)
        else:  # too many to mark one by one: a rug along the bottom, buys below sells
            from matplotlib.lines import Line2D

            transform = ax.get_xaxis_transform()
            ax.vlines(fills["timestamp"][buys], 0.0, 0.03, transform=transform, color="#1a9850", linewidth=0.6,
                      alpha=0.8)
            ax.vlines(fills["timestamp"][~buys], 0.03, 0.06, transform=transform, color="#d73027", linewidth=0.6,
                      alpha=0.8)
            for color, text in (("#1a9850", f"buys ({int(buys.sum()):,}, rug)"),
                                ("#d73027", f"sells ({int((~buys).sum()):,}, rug)")):
                ax.add_line(Line2D([], [], color=color, linewidth=2.5, label=text))
    ax.set_ylabel("equity")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.legend(loc="upper left", frameon=False, fontsize=9, ncol=4)
    ax.tick_params(labelbottom=False)
    peak = np.maximum.accumulate(total.to_numpy()) if len(total) else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(peak > 0, total.to_numpy() / peak - 1.0, np.nan)
    dd_ax.fill_between(times, fraction, 0.0, color="#d73027", alpha=0.35, linewidth=0)
    dd_ax.plot(times, fraction, color="#a50026", linewidth=0.7)
    dd_ax.set_ylabel("drawdown")
    dd_ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1 if np.nanmin(fraction, initial=0.0) > -0.1 else 0))
    dd_ax.grid(True, color="#e5e5e5", linewidth=0.6)
    low = float(np.nanmin(fraction, initial=0.0))
    dd_ax.set_ylim(min(low * 1.1, -0.001), 0.0005)
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    dd_ax.xaxis.set_major_locator(locator)
    dd_ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    for axis in (ax, dd_ax):
        for side in ("top", "right"):
            axis.spines[side].set_visible(False)
    fig.suptitle(title or _title(out), x=0.09, ha="left", fontsize=12, fontweight="bold")
    fig.savefig(path, format="png", dpi=_DPI)


# --------------------------------------------------------------------------------------------------
# The page


def _title(out: RunOutput) -> str:
    header = out.header or {}
    strategies = header.get("strategies") or []
    names = []
    for s in strategies:
        if isinstance(s, dict):
            params = ", ".join(f"{k}={v!r}" for k, v in (s.get("params") or []))
            names.append(f"{s.get('name', '?')}({params})")
    symbols = header.get("symbols") or [c[: -len("_position")] for c in out.equity.columns if c.endswith("_position")]
    label = " + ".join(names) if names else "fbt run"
    return f"{label} on {', '.join(map(str, symbols))}" if symbols else label


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


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def write_report(directory: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Write ``equity.png`` and ``report.html`` into a run's output folder; return the page's path."""
    out = read_output(directory)
    buffer = io.BytesIO()
    plot_equity(out, buffer, title=title)
    png = buffer.getvalue()
    _write_atomic(out.directory / "equity.png", png)
    page = out.directory / "report.html"
    _write_atomic(page, render_html(out, png, title=title).encode("utf-8"))
    return page

