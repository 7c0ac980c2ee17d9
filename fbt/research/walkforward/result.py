"""The result of a walk-forward analysis: :class:`WalkForward`, assembled and stitched from the windows' runs."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pandas as pd

from fbt.core.market import BarData
from fbt.io.outdir import WALK_FORWARD_FOLDER, output_folder
from fbt.io.writers import format_floats, format_timestamps, write_csv, write_json
from fbt.research.sweep import (
    Outcome,
    Value,
    stat_names,
    text_of,
)
from fbt.research.walkforward.window import Window
from fbt.results.stats import drawdowns, sharpe_ratio


@attrs.frozen(eq=False, kw_only=True)
class WalkForward:
    """A finished walk-forward analysis.

    - ``windows``: one row per window: ranges (bar indices and times), the chosen parameters,
      ``is_*`` statistics of the chosen set in sample, ``oos_*`` statistics out of sample, ``error``;
    - ``in_sample``: every in-sample run, one row per window and parameter set;
    - ``equity``: the stitched out-of-sample curve, one row per out-of-sample bar;
    - ``statistics``: of the stitched curve, with the mean metric in and out of sample.
    """

    metric: str
    minimize: bool
    windows: pd.DataFrame
    in_sample: pd.DataFrame
    equity: pd.DataFrame
    statistics: dict[str, Any]
    time_format: str = "datetime"

    def summary(self) -> str:
        """Return the stitched out-of-sample statistics and the metric in vs out of sample."""
        s = self.statistics
        sharpe = "n/a" if s["sharpe_ratio"] is None else f"{s['sharpe_ratio']:.2f}"

        def show(v: object) -> str:
            return "n/a" if v is None else f"{v:.4g}"

        return "\n".join([
            f"Walk-forward: {s['windows']} windows, best {self.metric} "
            f"({'lowest' if self.minimize else 'highest'}) in sample, then out of sample",
            f"{self.metric} mean in sample {show(s['in_sample_metric_mean'])}, "
            f"out of sample {show(s['out_of_sample_metric_mean'])}",
            f"Out of sample (stitched, {s['bars']} bars):",
            f"Total Return       {s['total_return'] * 100:.2f}%",
            f"Sharpe Ratio       {sharpe}",
            f"Max Drawdown       {s['max_drawdown'] * 100:.2f}%",
            f"Drawdown Duration  {s['drawdown_duration']} bars",
            f"Final Equity       {s['final_equity']:,.4f}",
        ])

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write ``walk_forward.csv``, ``oos_equity.csv``, ``in_sample.csv`` and ``walk_forward.json`` into ``out``.

        The folder is replaced whole (:func:`fbt.io.outdir.output_folder`); the in-sample runs' cache
        ``sweep.jsonl`` is carried over.
        """
        with output_folder(out, WALK_FORWARD_FOLDER, carry=("sweep.jsonl",)) as folder:
            self._write_into(folder)
        return Path(out)

    def _write_into(self, directory: Path) -> None:
        _write_frame(directory / "walk_forward.csv", self.windows, self.time_format)
        _write_frame(directory / "in_sample.csv", self.in_sample, self.time_format)
        eq = self.equity
        stamps = eq.index.to_numpy().astype("datetime64[ns]").astype(np.int64)
        write_csv(
            directory / "oos_equity.csv",
            ["timestamp", "window", "equity", "returns", "equity_curve", "drawdown"],
            [format_timestamps(stamps, self.time_format), [str(w) for w in eq["window"].tolist()],
             *(format_floats(eq[c].to_numpy(dtype=np.float64)) for c in ("equity", "returns", "equity_curve",
                                                                           "drawdown"))],
        )
        write_json(directory / "walk_forward.json", self.statistics)


def _write_frame(path: Path, frame: pd.DataFrame, time_format: str) -> None:
    columns: list[list[str]] = []
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            columns.append(format_timestamps(col.to_numpy().astype("datetime64[ns]").astype(np.int64), time_format))
        else:
            columns.append([text_of(_py(v)) for v in col.tolist()])
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(frame.columns))
    writer.writerows(zip(*columns, strict=True) if columns else [])
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(tmp, path)


def _py(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return _py(value.item())
    return value


def _assemble(
    data: BarData,
    spans: Sequence[Window],
    names: Sequence[str],
    per_window: Sequence[Sequence[tuple[dict[str, Value], Outcome]]],
    chosen: Sequence[int | None],
    oos_outcomes: Sequence[Outcome | None],
    metric: str,
    minimize: bool,
    capital: float,
    periods: float,
) -> WalkForward:
    stamps = data.timestamps.astype("datetime64[ns]")
    stats = stat_names([o for rows in per_window for _, o in rows] + [o for o in oos_outcomes if o is not None])
    records = []
    equity_parts, window_of = [], []
    start_equity = capital
    for w, rows, c, oos in zip(spans, per_window, chosen, oos_outcomes, strict=True):
        (a, b), (c0, c1) = w.in_sample, w.out_of_sample
        row: dict[str, Any] = {
            "window": w.index,
            "is_start": stamps[a], "is_end": stamps[b - 1], "oos_start": stamps[c0], "oos_end": stamps[c1 - 1],
            "is_start_bar": a, "is_stop_bar": b, "oos_start_bar": c0, "oos_stop_bar": c1,
        }
        best = rows[c] if c is not None else None
        row.update({n: (best[0][n] if best else None) for n in names})
        row.update({f"is_{s}": ((best[1].statistics or {}).get(s) if best else None) for s in stats})
        row.update({f"oos_{s}": ((oos.statistics or {}).get(s) if oos is not None else None) for s in stats})
        error = None
        if best is None:
            error = f"no parameter set had a {metric} in sample; out of sample stays in cash"
        elif oos is None or oos.total is None or oos.final_equity is None:
            error = f"out of sample: {oos.error if oos is not None else 'not run'}; the window stays in cash"
        row["error"] = error
        records.append(row)
        length = c1 - c0
        if error is None and oos is not None and oos.total is not None and oos.final_equity is not None:
            equity_parts.append(start_equity * oos.total / capital)
            start_equity = start_equity * oos.final_equity / capital
        else:
            equity_parts.append(np.full(length, start_equity))
        window_of.append(np.full(length, w.index, dtype=np.int64))
    equity = np.concatenate(equity_parts) if equity_parts else np.zeros(0)
    index = pd.DatetimeIndex(stamps[spans[0].out_of_sample[0] : spans[-1].out_of_sample[1]], name="timestamp")
    previous = np.concatenate(([capital], equity[:-1])) if equity.size else equity
    returns = equity / previous - 1.0
    curve = equity / capital
    drawdown, _, _ = drawdowns(curve)
    frame = pd.DataFrame({"window": np.concatenate(window_of), "equity": equity, "returns": returns,
                          "equity_curve": curve, "drawdown": drawdown}, index=index)
    closed = np.concatenate((curve, [start_equity / capital]))
    closed_returns = np.concatenate((returns, [start_equity / equity[-1] - 1.0])) if equity.size else returns
    _, max_drawdown, duration = drawdowns(closed)
    sharpe = sharpe_ratio(closed_returns, periods=periods)

    def mean_of(prefix: str) -> float | None:
        values = [r[f"{prefix}{metric}"] for r in records]
        kept = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)
                and not math.isnan(v)]
        return float(np.mean(kept)) if kept else None

    statistics: dict[str, Any] = {
        "total_return": start_equity / capital - 1.0,
        "sharpe_ratio": None if math.isnan(sharpe) else sharpe,
        "max_drawdown": max_drawdown,
        "drawdown_duration": duration,
        "final_equity": start_equity,
        "initial_capital": capital,
        "periods": periods,
        "bars": int(equity.size),
        "windows": len(spans),
        "metric": metric,
        "in_sample_metric_mean": mean_of("is_"),
        "out_of_sample_metric_mean": mean_of("oos_"),
        "failed_windows": sum(r["error"] is not None for r in records),
    }
    table = pd.DataFrame.from_records(records)
    in_sample_rows = []
    for w, rows in zip(spans, per_window, strict=True):
        for k, (p, o) in enumerate(rows):
            in_sample_rows.append({"window": w.index, "set": k, **{n: p[n] for n in names},
                                   **{s: (o.statistics or {}).get(s) for s in stats}, "error": o.error})
    return WalkForward(metric=metric, minimize=minimize, windows=table,
                       in_sample=pd.DataFrame.from_records(in_sample_rows), equity=frame, statistics=statistics,
                       time_format=data.time_format)
