"""The ``fbt sweep`` and ``fbt walk-forward`` commands: argument parsing and printing only.

Both call the public API (:func:`fbt.sweep`, :func:`fbt.walk_forward`). Errors are one line on
standard error (``fbt: error: ...``), exit status 2; an interrupted sweep keeps its finished runs
in ``OUT/sweep.jsonl`` and exits with 130, and the same command resumes it.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fbt.cli.options import Parents, load_data, model_overrides, parse_value, whole
from fbt.core.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

    from fbt.cli.options import Subparsers
    from fbt.core.market import BarData

__all__ = ["heatmap", "parse_grid", "parse_grid_item", "register"]

_SHOWN_STATS = ("sharpe_ratio", "total_return", "max_drawdown", "fills")


def _number(text: str, what: str) -> int | float:
    value = parse_value(text.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{what}: expected a number, got {text.strip()!r}")
    return value


def _steps(start: int | float, stop: int | float, step: int | float, what: str) -> list[int | float]:
    if step <= 0:
        raise ConfigError(f"{what}: expected a positive STEP, got {step!r}")
    if stop < start:
        raise ConfigError(f"{what}: expected START <= STOP, got {start!r}:{stop!r}")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > 1_000_000:
        raise ConfigError(f"{what}: {count} values is too many for one parameter")
    if all(isinstance(x, int) for x in (start, stop, step)):
        return [int(start + k * step) for k in range(count)]
    return [round(start + k * step, 12) for k in range(count)]


def parse_grid_item(text: str, *, sampled: bool = False) -> tuple[str, Any]:
    """Parse ``--grid NAME=V1,V2,...`` or ``NAME=START:STOP[:STEP]`` (STOP included when a step lands on it).

    With ``sampled`` (``--samples N``), ``START:STOP`` without a step is a range to draw from.

    >>> parse_grid_item("short_window=5,10,20")
    ('short_window', [5, 10, 20])
    >>> parse_grid_item("long_window=50:200:50"), parse_grid_item("x=0.1:0.3:0.1")
    (('long_window', [50, 100, 150, 200]), ('x', [0.1, 0.2, 0.3]))
    >>> parse_grid_item("long_window=50:200", sampled=True)
    ('long_window', (50, 200))
    """
    name, sep, values = text.partition("=")
    name, values = name.strip(), values.strip()
    what = f"--grid {text}"
    if not sep or not name or not values:
        raise ConfigError(f"--grid: expected NAME=V1,V2,... or NAME=START:STOP:STEP, got {text!r}")
    if ":" in values and "," not in values:
        parts = values.split(":")
        if len(parts) not in (2, 3):
            raise ConfigError(f"{what}: expected START:STOP or START:STOP:STEP")
        start, stop = _number(parts[0], what), _number(parts[1], what)
        if len(parts) == 2 and sampled:
            if stop < start:
                raise ConfigError(f"{what}: expected START <= STOP")
            return name, (start, stop)
        step = _number(parts[2], what) if len(parts) == 3 else 1
        return name, _steps(start, stop, step, what)
    items = [v.strip() for v in values.split(",")]
    if any(not v for v in items):
        raise ConfigError(f"{what}: expected comma-separated values, got an empty one")
    return name, [parse_value(v) for v in items]


def parse_grid(items: Sequence[str], fixed: Sequence[str] | Sequence[tuple[str, Any]], *, samples: int | None,
               seed: int) -> Any:
    """Build the grid of ``--grid`` items (their product, or ``samples`` random draws) and ``--param`` values.

    ``fixed`` holds ``NAME=VALUE`` texts or the ``(name, value)`` pairs ``--param`` parses them into.
    """
    from fbt.cli.options import parse_param
    from fbt.research.sweep import grid, grid_random

    if not items:
        raise ConfigError("--grid: expected at least one NAME=V1,V2,... or NAME=START:STOP:STEP")
    parsed: dict[str, Any] = {}
    for item in items:
        name, values = parse_grid_item(item, sampled=samples is not None)
        if name in parsed:
            raise ConfigError(f"--grid: {name} given twice")
        parsed[name] = values
    pairs = [parse_param(f) if isinstance(f, str) else f for f in fixed]
    for name, value in dict(pairs).items():
        if name in parsed:
            raise ConfigError(f"--param: {name} is also in --grid")
        parsed[name] = value
    if samples is not None:
        if samples < 1:
            raise ConfigError(f"--samples: expected a whole number >= 1, got {samples}")
        return grid_random(samples, seed=seed, **parsed)
    return grid(**parsed)


def _grid_options() -> argparse.ArgumentParser:
    """The options sweep and walk-forward share beyond the common families: the grid and the ranking."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2|NAME=START:STOP[:STEP]",
                   help="values of one factory parameter (repeatable; the grid is their product)")
    p.add_argument("--samples", type=int, metavar="N",
                   help="draw N random parameter sets instead of the product (START:STOP is then a range)")
    p.add_argument("--seed", type=int, default=0, help="seed of --samples (default 0)")
    p.add_argument("--where", metavar="EXPR",
                   help='keep only the sets where EXPR holds, e.g. "short_window < long_window"')
    p.add_argument("--metric", default="sharpe_ratio", help="statistic to rank by (default sharpe_ratio)")
    return p


def register(subparsers: Subparsers, parents: Parents) -> None:
    """Add the ``sweep`` and ``walk-forward`` subcommands to ``fbt``'s parser."""
    shared = [parents.strategy, parents.data, parents.dates, parents.capital, parents.periods, _grid_options(),
              parents.executor, parents.out, parents.quiet, parents.models]
    s = subparsers.add_parser(
        "sweep", help="run a strategy over a grid of parameters (local processes or Dask)",
        description="Run one backtest per parameter set; write OUT/sweep.csv (and OUT/sweep.jsonl, the cache "
                    "a rerun resumes from); print the best sets.", parents=shared)
    s.add_argument("--top", type=whole("--top", 0), default=5, metavar="N", help="best rows to print (default 5)")
    s.add_argument("--report", action="store_true", help="also draw OUT/heatmap.png of --metric over two parameters")
    s.add_argument("--axes", metavar="Y,X", help="the heatmap's two parameters (default: the first two --grid names)")
    s.set_defaults(func=cmd_sweep)
    w = subparsers.add_parser(
        "walk-forward", help="optimise in sample, run the best out of sample, window after window",
        description="Split the bars into in-sample/out-of-sample windows; pick the best parameter set in each "
                    "in-sample window by --metric, run it out of sample, stitch the out-of-sample equity. Writes "
                    "OUT/walk_forward.csv, OUT/oos_equity.csv, OUT/in_sample.csv and OUT/walk_forward.json.",
        parents=shared)
    w.add_argument("--in-sample", type=whole("--in-sample"), required=True, metavar="BARS",
                   help="bars in each in-sample window")
    w.add_argument("--out-of-sample", type=whole("--out-of-sample"), required=True, metavar="BARS",
                   help="bars in each out-of-sample window (windows advance by this much)")
    w.add_argument("--anchored", action="store_true", help="every in-sample window starts at the first bar")
    direction = w.add_mutually_exclusive_group()
    direction.add_argument("--minimize", dest="minimize", action="store_true", default=None,
                           help="pick the lowest --metric (default for max_drawdown and drawdown_duration)")
    direction.add_argument("--maximize", dest="minimize", action="store_false", help="pick the highest --metric")
    w.set_defaults(func=cmd_walk_forward)


def _setup(args: argparse.Namespace) -> tuple[Any, BarData, dict[str, Any]]:
    g = parse_grid(args.grid, args.param, samples=args.samples, seed=args.seed)
    models = model_overrides(args)
    data = load_data(args.data, args.symbols, start=args.start, end=args.end)
    options = {
        "where": args.where, "executor": args.executor, "workers": args.workers, "chunk_size": args.chunk_size,
        "out": args.out, "progress": sys.stderr.isatty() and not args.quiet, "connect_timeout": args.connect_timeout,
        "capital": args.capital, "periods": args.periods, **models,
    }
    return g, data, options


def _describe_data(data: BarData) -> str:
    from fbt.io.writers import format_timestamps

    if not len(data):
        return f"{', '.join(data.symbols)}: 0 bars"
    ends = format_timestamps(data.timestamps[[0, len(data) - 1]], data.time_format)
    return f"{', '.join(data.symbols)}: {len(data)} bars, {ends[0]} .. {ends[1]}"


def _header(args: argparse.Namespace, g: Any) -> str:
    label = args.strategy.rpartition(":")[2]
    count = f"{len(g)}" if not args.where else f"{len(g.where(args.where))} of {len(g)}"
    return f"{label} over {count} parameter sets ({' x '.join(g.names)})"


def _interrupted(out: str) -> int:
    print(f"fbt: interrupted; finished runs are kept in {Path(out) / 'sweep.jsonl'}: "
          "run the same command again to resume (the folder's other files are unchanged)", file=sys.stderr)
    return 130


def _ranked(frame: pd.DataFrame, metric: str, minimize: bool) -> pd.DataFrame:
    import pandas as pd

    if metric not in frame.columns:
        stats = [c for c in frame.columns if c not in ("error",)]
        raise ConfigError(f"--metric: unknown statistic {metric!r}; the columns are {', '.join(stats)}")
    values = pd.to_numeric(frame[metric], errors="coerce")
    order = values.sort_values(ascending=minimize, na_position="last", kind="stable").index
    return frame.loc[order]


def cmd_sweep(args: argparse.Namespace) -> int:
    from fbt.research.sweep import sweep
    from fbt.research.walkforward import LOWER_IS_BETTER

    g, data, options = _setup(args)
    print(f"fbt sweep: {_header(args, g)} on {_describe_data(data)}", flush=True)
    try:
        frame = sweep(args.strategy, g, data, **options)
    except KeyboardInterrupt:
        return _interrupted(args.out)
    a = frame.attrs
    rate = a["computed"] / a["seconds"] if a["seconds"] > 0 else 0.0
    print(f"{len(frame)} runs: {a['computed']} computed, {a['reused']} reused from the cache, {a['failed']} failed; "
          f"{a['seconds']:.2f} s on {a['executor']} ({rate:,.0f} runs/s)")
    if a["failed"]:
        first = frame.loc[frame["error"].notna(), "error"].iloc[0]
        print(f"first failure: {first}")
    print(f"Wrote sweep.csv to {args.out}")
    names = list(g.names)
    ok = frame[frame["error"].isna()]
    if len(ok):
        minimize = args.metric in LOWER_IS_BETTER
        ranked = _ranked(ok, args.metric, minimize)
        shown = list(dict.fromkeys([*names, *(c for c in (args.metric, *_SHOWN_STATS) if c in frame.columns)]))
        if args.top > 0:
            print(f"best {min(args.top, len(ranked))} by {args.metric} ({'lowest' if minimize else 'highest'}):")
            print(ranked[shown].head(args.top).to_string(index=False))
    if args.report:
        from fbt.io.outdir import SWEEP_FOLDER, output_folder

        # the folder swapped whole again: this sweep's sweep.csv and cache, and its heatmap
        with output_folder(args.out, SWEEP_FOLDER, keep=SWEEP_FOLDER - {"heatmap.png"}) as folder:
            heatmap(frame, names, args.metric, args.axes, folder / "heatmap.png")
        print(f"Wrote heatmap.png to {args.out}")
    if not len(ok):
        raise ConfigError(f"all {len(frame)} runs failed; the first: {frame['error'].iloc[0]}")
    return 0


def heatmap(frame: pd.DataFrame, names: Sequence[str], metric: str, axes: str | None, path: Path) -> Path:
    """Draw ``metric`` over two parameters (the best over any others) into a PNG; return its path."""
    import pandas as pd

    if axes:
        chosen = [a.strip() for a in axes.split(",")]
        if len(chosen) != 2 or any(c not in names for c in chosen) or chosen[0] == chosen[1]:
            raise ConfigError(f"--axes: expected two of {', '.join(names)}, as Y,X; got {axes!r}")
    else:
        if len(names) < 2:
            raise ConfigError(f"--report: the heatmap needs two grid parameters, the grid has {', '.join(names)}")
        chosen = list(names[:2])
    if metric not in frame.columns:
        raise ConfigError(f"--metric: unknown statistic {metric!r}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--report: the heatmap needs matplotlib: pip install 'fbt[plot]'") from None
    from fbt.research.walkforward import LOWER_IS_BETTER

    y, x = chosen
    values = frame.assign(_m=pd.to_numeric(frame[metric], errors="coerce"))
    lowest = metric in LOWER_IS_BETTER
    how = "min" if lowest else "max"
    table = values.pivot_table(index=y, columns=x, values="_m", aggfunc="min" if lowest else "max", dropna=False)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.5 * table.shape[1] + 2), max(3.0, 0.4 * table.shape[0] + 1.5)))
    image = ax.imshow(table.to_numpy(dtype=float), aspect="auto", origin="lower", cmap="viridis")
    ax.set_xticks(range(table.shape[1]), [str(v) for v in table.columns], rotation=90 if table.shape[1] > 12 else 0)
    ax.set_yticks(range(table.shape[0]), [str(v) for v in table.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    others = [n for n in names if n not in chosen]
    ax.set_title(f"{metric}" + (f" ({how} over {', '.join(others)})" if others else ""))
    fig.colorbar(image, ax=ax, label=metric)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def cmd_walk_forward(args: argparse.Namespace) -> int:
    from fbt.research.walkforward import walk_forward

    g, data, options = _setup(args)
    print(f"fbt walk-forward: {_header(args, g)} on {_describe_data(data)}", flush=True)
    try:
        result = walk_forward(args.strategy, g, data, in_sample=args.in_sample, out_of_sample=args.out_of_sample,
                              metric=args.metric, minimize=args.minimize, anchored=args.anchored, **options)
    except KeyboardInterrupt:
        return _interrupted(args.out)
    print(result.summary())
    table = result.windows
    columns = ["window", "oos_start", "oos_end", *g.names, f"is_{args.metric}", f"oos_{args.metric}"]
    shown = table[[c for c in columns if c in table.columns]].copy()
    for c in ("oos_start", "oos_end"):
        shown[c] = shown[c].dt.strftime("%Y-%m-%d" if data.time_format == "date" else "%Y-%m-%d %H:%M:%S")
    print(shown.to_string(index=False))
    directory = result.write(args.out)
    print(f"Wrote walk_forward.csv, oos_equity.csv, in_sample.csv and walk_forward.json to {directory}")
    return 0
