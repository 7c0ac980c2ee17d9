"""The equity chart: ``equity.png``, drawn with matplotlib."""

from __future__ import annotations

import io
import os
from typing import Any, Final

import numpy as np
import pandas as pd

from fbt.core.errors import ConfigError
from fbt.report.output import RunOutput, _title

PNG_SIZE: Final = (1200, 700)  # pixels
_DPI: Final = 100
_MAX_MARKERS: Final = 400


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
