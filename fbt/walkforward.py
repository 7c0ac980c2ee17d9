"""Walk-forward analysis: optimise in sample, trade out of sample, window after window.

The bars are split by count into consecutive windows (:func:`windows`): in-sample bars
``[s, s + in_sample)`` followed by out-of-sample bars ``[s + in_sample, s + in_sample + out_of_sample)``,
``s`` advancing by ``out_of_sample`` so that the out-of-sample stretches are consecutive and never
overlap (``anchored=True`` keeps every in-sample window starting at bar 0). In each in-sample window
every parameter set runs (one sweep, all windows at once, on any executor); the best by ``metric``
(highest, or lowest for ``max_drawdown`` and ``drawdown_duration``; ties go to the earliest set)
then runs on the out-of-sample bars.

Each out-of-sample run starts flat, from ``capital``, with fresh strategy state on its own bars
only (so indicators warm up inside the window: choose ``out_of_sample`` well above the longest
lookback). The out-of-sample equity curves are stitched by **chaining returns**: window ``k``'s
curve is scaled by ``E[k-1] / capital``, where ``E[k-1]`` is the stitched equity at the end of the
previous window (``E[-1] = capital``), so each window starts where the last one ended. The
stitched statistics follow fbt's definitions (see :func:`fbt.stats.sharpe_ratio` and
:func:`fbt.stats.drawdowns`); both the in-sample and the out-of-sample statistics of every window
are reported, so that overfitting shows.

>>> [(w.in_sample, w.out_of_sample) for w in windows(10, in_sample=4, out_of_sample=3)]
[((0, 4), (4, 7)), ((3, 7), (7, 10))]
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs
import numpy as np
import pandas as pd

from fbt.errors import ConfigError, FbtError
from fbt.io.writers import format_floats, format_timestamps, write_csv, write_json
from fbt.market import BarData
from fbt.models.commission import CommissionModel, ib_seed_commission
from fbt.stats import drawdowns, sharpe_ratio
from fbt.sweep import (
    Constraint,
    Factory,
    GridLike,
    Job,
    Outcome,
    Progress,
    Value,
    _as_grid,
    _unique,
    check_params,
    engine,
    execute,
    run_config,
    run_key,
    stat_names,
    text_of,
)

__all__ = ["WalkForward", "Window", "walk_forward", "windows"]

#: Statistics where lower is better: walk-forward picks their minimum by default.
LOWER_IS_BETTER: Final = frozenset({"max_drawdown", "drawdown_duration"})


@attrs.frozen
class Window:
    """One walk-forward window: bar ranges ``[start, stop)`` in and out of sample."""

    index: int
    in_sample: tuple[int, int]
    out_of_sample: tuple[int, int]


def _count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: expected a whole number of bars >= 1, got {value!r}")
    return value


def windows(bars: int, *, in_sample: int, out_of_sample: int, anchored: bool = False) -> tuple[Window, ...]:
    """Return the walk-forward windows over ``bars`` bars.

    Window ``k`` has out-of-sample bars ``[in_sample + k * out_of_sample, ... + out_of_sample)`` (the
    last one cut at ``bars``) and the ``in_sample`` bars just before them (from bar 0 when
    ``anchored``). Out-of-sample ranges are consecutive, never overlap, and never overlap their own
    in-sample range.

    >>> [(w.in_sample, w.out_of_sample) for w in windows(10, in_sample=4, out_of_sample=4, anchored=True)]
    [((0, 4), (4, 8)), ((0, 8), (8, 10))]
    """
    _count(in_sample, "in_sample")
    _count(out_of_sample, "out_of_sample")
    if in_sample >= bars:
        raise ConfigError(f"in_sample: {in_sample} bars leave no out-of-sample bars in {bars}")
    found = []
    for k, start in enumerate(range(in_sample, bars, out_of_sample)):
        stop = min(start + out_of_sample, bars)
        found.append(Window(k, (0 if anchored else start - in_sample, start), (start, stop)))
    return tuple(found)


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
        """Write ``walk_forward.csv``, ``oos_equity.csv``, ``in_sample.csv`` and ``walk_forward.json`` into ``out``."""
        directory = Path(out)
        directory.mkdir(parents=True, exist_ok=True)
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
        return directory


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


def _metric_value(outcome: Outcome, metric: str) -> float | None:
    if outcome.statistics is None:
        return None
    value = outcome.statistics.get(metric)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _best(rows: Sequence[tuple[dict[str, Value], Outcome]], metric: str, minimize: bool) -> int | None:
    best: int | None = None
    best_value = math.nan
    for k, (_, outcome) in enumerate(rows):
        value = _metric_value(outcome, metric)
        if value is None:
            continue
        if best is None or (value < best_value if minimize else value > best_value):
            best, best_value = k, value
    return best


def walk_forward(
    strategy: Factory,
    grid: GridLike,
    data: BarData,
    *,
    in_sample: int,
    out_of_sample: int,
    metric: str = "sharpe_ratio",
    minimize: bool | None = None,
    anchored: bool = False,
    where: Constraint | None = None,
    executor: cf.Executor | str | None = None,
    workers: int | None = None,
    chunk_size: int | None = None,
    out: str | os.PathLike[str] | None = None,
    capital: float = 100_000.0,
    quantity: float = 100.0,
    commission: CommissionModel = ib_seed_commission,
    periods: float = 252.0,
    run_options: Mapping[str, Any] | None = None,
    progress: bool = False,
    connect_timeout: float = 5.0,
) -> WalkForward:
    """Optimise ``metric`` over ``grid`` in each in-sample window, run the winner out of sample, stitch.

    The arguments are :func:`fbt.sweep`'s, plus the window sizes in bars (see :func:`windows`),
    ``metric`` (a key of ``stats.json``) and ``minimize`` (default: True for ``max_drawdown`` and
    ``drawdown_duration``). With ``out``, the in-sample runs are cached in ``OUT/sweep.jsonl`` (a rerun
    reuses them) and the results written there (:meth:`WalkForward.write`).

    >>> import fbt
    >>> from fbt.sample import sample_dir
    >>> data = fbt.load_dir(sample_dir(), ["SYNA"]).head(600)
    >>> wf = walk_forward("fbt.strategies:moving_average_crossover", {"short_window": [5, 10], "long_window": [30, 60]},
    ...                   data, in_sample=300, out_of_sample=150, executor="serial")
    >>> wf.windows[["oos_start_bar", "oos_stop_bar", "short_window", "long_window"]].to_dict("records")
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'oos_start_bar': 300, 'oos_stop_bar': 450, 'short_window': 5, 'long_window': 30},
     {'oos_start_bar': 450, 'oos_stop_bar': 600, 'short_window': 10, 'long_window': 30}]
    >>> len(wf.equity), wf.statistics["bars"]
    (300, 300)
    """
    g = _as_grid(grid)
    if not len(g):
        raise ConfigError("grid: expected at least one parameter set, got none")
    if not isinstance(data, BarData):
        raise ConfigError(f"data: expected fbt.BarData (see fbt.load and fbt.load_dir), got {type(data).__name__}")
    if not isinstance(metric, str) or not metric:
        raise ConfigError(f"metric: expected the name of a statistic, got {metric!r}")
    lower = metric in LOWER_IS_BETTER if minimize is None else bool(minimize)
    spans = windows(len(data), in_sample=in_sample, out_of_sample=out_of_sample, anchored=anchored)
    config = run_config(capital=capital, quantity=quantity, commission=commission, periods=periods,
                        run_options=run_options)
    with engine(strategy, data, executor=executor, workers=workers, out=out,
                connect_timeout=connect_timeout) as (ref, fingerprint, cache, pool):
        check_params(ref.factory, g.names)
        if where is not None:
            kept = g.where(where)
            if not len(kept):
                raise ConfigError(f"where: {where if isinstance(where, str) else 'the constraint'!r} filters out "
                                  f"all {len(g)} parameter sets")
            g = kept
        points = list(g)
        keys = {(w.index, k): run_key(fingerprint, ref.name, p, config, w.in_sample)
                for w in spans for k, p in enumerate(points)}
        jobs = _unique(Job(keys[w.index, k], tuple(p.items()), *w.in_sample) for w in spans
                       for k, p in enumerate(points))
        params_of = {keys[w.index, k]: p for w in spans for k, p in enumerate(points)}
        wanted = set(params_of)
        reused = {key: s for key, s in cache.load().items() if key in wanted}
        bar = Progress(len(jobs), enabled=progress)
        try:
            outcomes, _ = execute(jobs, data, fingerprint, ref, config, pool(len(jobs) - len(reused)),
                                  chunk_size=chunk_size, cache=cache, params_of=params_of, progress=bar,
                                  reused=reused)
        finally:
            bar.close(len(jobs))
        per_window = [[(p, outcomes[keys[w.index, k]]) for k, p in enumerate(points)] for w in spans]
        _check_metric(metric, [o for rows in per_window for _, o in rows])
        chosen = [_best(rows, metric, lower) for rows in per_window]
        oos_jobs = [
            Job(run_key(fingerprint, ref.name, points[c], config, w.out_of_sample), tuple(points[c].items()),
                *w.out_of_sample, curve=True)
            for w, c in zip(spans, chosen, strict=True) if c is not None
        ]
        oos_params = {j.key: dict(j.params) for j in oos_jobs}
        bar = Progress(len(oos_jobs), enabled=progress)
        try:
            oos, _ = execute(oos_jobs, data, fingerprint, ref, config, pool(len(oos_jobs)), chunk_size=1,
                             cache=cache, params_of=oos_params, progress=bar, reused={})
        finally:
            bar.close(len(oos_jobs))
    oos_outcomes: list[Outcome | None] = []
    it = iter(oos_jobs)
    for c in chosen:
        oos_outcomes.append(oos[next(it).key] if c is not None else None)
    return _assemble(data, spans, g.names, per_window, chosen, oos_outcomes, metric, lower, config.capital,
                     config.periods)


def _check_metric(metric: str, outcomes: Sequence[Outcome]) -> None:
    ok = [o for o in outcomes if o.statistics is not None]
    if not ok:
        first = next((o.error for o in outcomes if o.error), "no runs")
        raise FbtError(f"walk-forward: every in-sample run failed; the first: {first}")
    names = stat_names(ok)
    if metric not in names:
        raise ConfigError(f"metric: unknown statistic {metric!r}; the statistics are {', '.join(names)}")


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
