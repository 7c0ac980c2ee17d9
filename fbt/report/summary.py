"""The statistics' labels and formats, and the run summary printed to the terminal."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final

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


def summary_text(stats: Mapping[str, Any], choices: Mapping[str, str], reasons: str = "") -> str:
    """Return a run's printed summary: the model choices, the book's figures, then :func:`summary_lines`.

    ``reasons`` follows the rejected count, e.g. ``" (cash 2)"``.
    """
    s, c = stats, choices
    sharpe = "n/a" if s["sharpe_ratio"] is None else f"{s['sharpe_ratio']:.2f}"
    lines = [
        f"Execution {c['execution']}  Commission {c['commission']}  Slippage {c['slippage']}  "
        f"Sizing {c['sizing']}  Risk {c['risk']}" + (f"  Instruments {c['instruments']}" if "instruments" in c
                                                        else ""),
        f"Total Return       {s['total_return'] * 100:.2f}%",
        f"Sharpe Ratio       {sharpe}",
        f"Max Drawdown       {s['max_drawdown'] * 100:.2f}%",
        f"Drawdown Duration  {s['drawdown_duration']} bars",
        f"Final Equity       {s['final_equity']:,.4f}",
        f"Commission         {s['commission']:,.2f}",
        f"Bars {s['bars']}  Signals {s['signals']}  Orders {s['orders']}  Fills {s['fills']}",
    ]
    extra = [f"Rejected {s['rejected']}{reasons}", f"Cancelled {s['cancelled']}",
             f"Working {s['working']}"] if s.get("rejected") or s.get("cancelled") or s.get("working") else []
    if "trades" in s:
        win = "n/a" if s["win_rate"] is None else f"{s['win_rate'] * 100:.1f}%"
        extra += [f"Trades {s['trades']}", f"Win Rate {win}"]
    if s.get("slippage"):
        extra.append(f"Slippage {s['slippage']:,.2f}")
    if extra:
        lines.append("  ".join(extra))
    lines += summary_lines(s)
    return "\n".join(lines)


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
