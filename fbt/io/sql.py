"""A securities master in SQL: symbols and their bars (needs ``pip install 'fbt[sql]'``).

Any database SQLAlchemy reaches by URL: SQLite (``sqlite:///path/to/master.db``, the embedded
default, nothing to install), PostgreSQL (``postgresql+psycopg://user:password@host:5432/db`` with
``pip install 'psycopg[binary]'``, or ``postgresql://`` with SQLAlchemy's default driver), and the
others SQLAlchemy supports. The schema, made by
:func:`ingest` (or :func:`create_schema`) when missing::

    CREATE TABLE symbols (
        symbol_id  INTEGER PRIMARY KEY,        -- assigned by the database
        ticker     VARCHAR(64) NOT NULL UNIQUE,
        intraday   BOOLEAN NOT NULL,           -- the bars have a time of day (shown as date and time)
        source     TEXT,                       -- the file the bars were ingested from
        first_bar  TIMESTAMP,                  -- the first and last bar time, and the number of bars
        last_bar   TIMESTAMP,
        bars       INTEGER NOT NULL
    );
    CREATE TABLE bars (
        symbol_id     INTEGER NOT NULL REFERENCES symbols (symbol_id) ON DELETE CASCADE,
        timestamp     TIMESTAMP NOT NULL,      -- the data's own bar label, no time zone (UTC when the source had one)
        open          DOUBLE PRECISION,        -- NULL: the source had no such column
        high          DOUBLE PRECISION,
        low           DOUBLE PRECISION,
        close         DOUBLE PRECISION NOT NULL,
        adj_close     DOUBLE PRECISION,
        volume        DOUBLE PRECISION,
        open_interest DOUBLE PRECISION,
        PRIMARY KEY (symbol_id, timestamp)
    );

Bars are written by :func:`ingest` only after every file has passed the CSV loader's checks, in
one transaction (a failure leaves the database as it was). They are read back by :func:`load_sql`
through :func:`fbt.io.loaders.bars_from_frame` — so rows put in by other tools get the same checks
— and aligned by :func:`fbt.load`, with its ``start`` and ``end``: the same bars give the same run
as from CSV, bit for bit. A column that is NULL on every row of a symbol is left out, as a CSV file
without it (``adj_close`` then defaults to ``close``); a NULL among numbers is an error, as an
empty CSV cell. Timestamps are stored to the microsecond (a label with nanoseconds is refused).

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "ABC.csv").write_text("Date,Close\\n2024-01-02,10.5\\n2024-01-03,11\\n")
>>> url = f"sqlite:///{folder / 'master.db'}"
>>> ingest(folder, url)
{'ABC': 2}
>>> data = load_sql(url, start="2024-01-03")
>>> data.symbols, data.column("ABC", "close").tolist()
(('ABC',), [11.0])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import attrs
import numpy as np
import pandas as pd

from fbt.core.errors import ConfigError, DataError
from fbt.core.market import BarData
from fbt.io.loaders import Source, SymbolBars, bars_from_frame, load
from fbt.io.progress import ProgressCallback

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Engine

__all__ = ["COLUMNS", "create_schema", "ingest", "is_url", "list_symbols", "load_sql", "read_symbol"]

#: The bar columns of the ``bars`` table, in order (fbt's field names).
COLUMNS: Final = ("open", "high", "low", "close", "adj_close", "volume", "open_interest")
_CHUNK: Final = 20_000
_DAY: Final = pd.Timedelta(days=1)


def is_url(text: str) -> bool:
    """Tell whether a ``--data`` value is a database URL (it contains ``://``).

    >>> is_url("sqlite:///master.db"), is_url("data/ORCL.csv")
    (True, False)
    """
    return "://" in text


def _sa() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise ConfigError("SQL sources need SQLAlchemy: pip install 'fbt[sql]'") from None
    return sqlalchemy


@attrs.frozen
class _Schema:
    metadata: Any
    symbols: Any
    bars: Any


def _schema() -> _Schema:
    sa = _sa()
    metadata = sa.MetaData()
    symbols = sa.Table(
        "symbols", metadata,
        sa.Column("symbol_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticker", sa.String(64), nullable=False, unique=True),
        sa.Column("intraday", sa.Boolean, nullable=False),
        sa.Column("source", sa.Text),
        sa.Column("first_bar", sa.DateTime),
        sa.Column("last_bar", sa.DateTime),
        sa.Column("bars", sa.Integer, nullable=False),
    )
    bars = sa.Table(
        "bars", metadata,
        sa.Column("symbol_id", sa.Integer, sa.ForeignKey("symbols.symbol_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("timestamp", sa.DateTime, primary_key=True),
        *(sa.Column(name, sa.Double, nullable=name != "close") for name in COLUMNS),
    )
    return _Schema(metadata, symbols, bars)


def _show(url: str) -> str:
    """The URL with its password hidden, for messages."""
    sa = _sa()
    try:
        return str(sa.engine.make_url(url).render_as_string(hide_password=True))
    except Exception:
        return url


def _engine(url: str, *, must_exist: bool) -> Engine:
    sa = _sa()
    try:
        parsed = sa.engine.make_url(url)
    except Exception:
        raise ConfigError(f"--data: expected a database URL like sqlite:///path/to/master.db, got {url!r}") from None
    if must_exist and parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database in (None, "", ":memory:") or not os.path.isfile(database):
            raise DataError(f"{_show(url)}: expected an SQLite database file, got no such file "
                            f"(make one with: fbt ingest DIR --into {url})")
    try:
        engine: Engine = sa.create_engine(parsed)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigError(f"{_show(url)}: cannot load the database driver: {exc} "
                          "(for PostgreSQL: pip install 'psycopg[binary]', URL postgresql+psycopg://...)") from None
    return engine


def _failure(url: str, exc: Exception) -> DataError:
    first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return DataError(f"{_show(url)}: {first[0] if first else type(exc).__name__}")


def create_schema(url: str) -> None:
    """Create the ``symbols`` and ``bars`` tables where they are missing (nothing else changes)."""
    sa = _sa()
    engine = _engine(url, must_exist=False)
    try:
        with engine.begin() as conn:
            _schema().metadata.create_all(conn)
    except sa.exc.SQLAlchemyError as exc:
        raise _failure(url, exc) from None
    finally:
        engine.dispose()


def _ingest_sources(
    sources: Mapping[str, Source] | str | os.PathLike[str], symbols: Sequence[str] | None
) -> dict[str, Source]:
    if isinstance(sources, Mapping):
        if symbols is not None:
            raise ConfigError("symbols: only with a directory; a mapping names its symbols already")
        return dict(sources)
    folder = os.fspath(sources)
    if not os.path.isdir(folder):
        what = "a file" if os.path.exists(folder) else "no such directory"
        raise DataError(f"{folder}: expected a directory of CSV files, got {what}")
    files = sorted(n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n)))
    found: dict[str, str] = {}
    for name in files:
        stem, ext = os.path.splitext(name)
        if stem and ext in (".csv", ".txt", ".parquet") and (symbols is not None or ext != ".txt"):
            if stem in found:
                raise DataError(f"{folder}: {stem}: expected one file per symbol, got {os.path.basename(found[stem])} "
                                f"and {name}")
            found[stem] = os.path.join(folder, name)
    if symbols is None:
        if not found:
            raise DataError(f"{folder}: expected *.csv files, got none")
        return dict(found)
    missing = [s for s in symbols if s not in found]
    if missing:
        raise DataError(f"{folder}: {missing[0]}: expected a file {missing[0]}.csv, .txt or .parquet, got no such file")
    return {s: found[s] for s in symbols}


def ingest(
    sources: Mapping[str, Source] | str | os.PathLike[str],
    url: str,
    *,
    symbols: Sequence[str] | None = None,
    replace: bool = False,
    progress: ProgressCallback | None = None,
) -> dict[str, int]:
    """Load a directory of CSV (or Parquet) files, or ``{symbol: file or DataFrame}``, into the securities master.

    Every file is read and checked first (as :func:`fbt.load_dir` does: ``SYMBOL.csv`` for every
    ``*.csv`` and ``*.parquet`` in the directory, or the ``symbols`` given, ``.txt`` found too);
    then the tables are made if missing and the bars inserted in one transaction. A symbol that is
    already there is an error unless ``replace`` is True, which deletes its bars first. Returns the
    number of bars written per symbol. ``progress(done, total)`` is told the rows written.
    """
    sa = _sa()
    chosen = _ingest_sources(sources, symbols)
    checked: dict[str, SymbolBars] = {}
    for symbol, src in chosen.items():
        if not symbol or len(symbol) > 64:
            raise ConfigError(f"symbol: expected a name of 1 to 64 characters, got {symbol!r}")
        bars = _checked(src, symbol)
        if bool((bars.timestamps % 1000).any()):
            raise DataError(f"{bars.source}: expected timestamps in whole microseconds for SQL, got nanoseconds")
        checked[symbol] = bars
    total = sum(len(b) for b in checked.values())
    engine = _engine(url, must_exist=False)
    schema = _schema()
    written: dict[str, int] = {}
    done = 0
    if progress is not None:
        progress(0, total)
    try:
        with engine.begin() as conn:
            schema.metadata.create_all(conn)
            for symbol, bars in checked.items():
                existing = conn.execute(
                    sa.select(schema.symbols.c.symbol_id).where(schema.symbols.c.ticker == symbol)
                ).scalar_one_or_none()
                if existing is not None:
                    if not replace:
                        raise DataError(f"{_show(url)}: {symbol}: expected a new symbol, got one already in the "
                                        "database (use --replace to overwrite its bars)")
                    conn.execute(sa.delete(schema.bars).where(schema.bars.c.symbol_id == existing))
                    conn.execute(sa.delete(schema.symbols).where(schema.symbols.c.symbol_id == existing))
                stamps = pd.DatetimeIndex(bars.timestamps.astype("datetime64[ns]")).to_pydatetime()
                key = conn.execute(
                    sa.insert(schema.symbols).values(
                        ticker=symbol, intraday=bars.has_time, source=bars.source,
                        first_bar=stamps[0], last_bar=stamps[-1], bars=len(bars),
                    )
                ).inserted_primary_key
                symbol_id = key[0] if key is not None else None
                columns = {name: bars.columns[name].tolist() for name in COLUMNS if name in bars.columns}
                for lo in range(0, len(bars), _CHUNK):
                    hi = min(lo + _CHUNK, len(bars))
                    rows = [{"symbol_id": symbol_id, "timestamp": stamps[k],
                             **{name: None for name in COLUMNS},
                             **{name: values[k] for name, values in columns.items()}} for k in range(lo, hi)]
                    conn.execute(sa.insert(schema.bars), rows)
                    done += hi - lo
                    if progress is not None:
                        progress(done, total)
                written[symbol] = len(bars)
    except sa.exc.SQLAlchemyError as exc:
        raise _failure(url, exc) from None
    finally:
        engine.dispose()
    return written


def _checked(src: Source, symbol: str) -> SymbolBars:
    """Read and check one source as :func:`fbt.load` does (the same errors), without aligning."""
    from fbt.io import loaders

    return loaders._read_source(src, f"<DataFrame {symbol}>")


def list_symbols(url: str) -> list[str]:
    """Return the tickers in the securities master, sorted."""
    sa = _sa()
    engine = _engine(url, must_exist=True)
    schema = _schema()
    try:
        with engine.connect() as conn:
            _require_schema(conn, url)
            return sorted(conn.execute(sa.select(schema.symbols.c.ticker)).scalars().all())
    except sa.exc.SQLAlchemyError as exc:
        raise _failure(url, exc) from None
    finally:
        engine.dispose()


def _require_schema(conn: Any, url: str) -> None:
    sa = _sa()
    names = set(sa.inspect(conn).get_table_names())
    missing = [t for t in ("symbols", "bars") if t not in names]
    if missing:
        raise DataError(f"{_show(url)}: expected a securities master (tables symbols and bars), got no table "
                        f"{' or '.join(missing)} (make one with: fbt ingest DIR --into URL)")


def _prefilter_bound(value: Any, *, end: bool) -> datetime | None:
    """A loose bound for the query; :func:`fbt.load` applies the exact one."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            return None
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        bound = stamp + _DAY if end else stamp - _DAY
        return bound.to_pydatetime()
    except (ValueError, TypeError, OverflowError):
        return None  # fbt.load reports it


def read_symbol(conn: Any, url: str, symbol: str, *, start: Any = None, end: Any = None) -> SymbolBars:
    """Read one symbol's bars (loosely cut to ``start``/``end``) from an open connection, checked."""
    sa = _sa()
    schema = _schema()
    row = conn.execute(
        sa.select(schema.symbols.c.symbol_id, schema.symbols.c.intraday).where(schema.symbols.c.ticker == symbol)
    ).first()
    source = f"{_show(url)} {symbol}"
    if row is None:
        known = sorted(conn.execute(sa.select(schema.symbols.c.ticker)).scalars().all())
        shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
        raise DataError(f"{_show(url)}: {symbol}: expected a symbol of the securities master, got no such symbol; "
                        f"it has {shown or 'none'}")
    symbol_id, intraday = row
    b = schema.bars
    query = sa.select(b.c.timestamp, *(b.c[name] for name in COLUMNS)).where(b.c.symbol_id == symbol_id)
    lo, hi = _prefilter_bound(start, end=False), _prefilter_bound(end, end=True)
    if lo is not None:
        query = query.where(b.c.timestamp >= lo)
    if hi is not None:
        query = query.where(b.c.timestamp <= hi)
    rows = conn.execute(query.order_by(b.c.timestamp)).all()
    if not rows:
        first, last = conn.execute(
            sa.select(sa.func.min(b.c.timestamp), sa.func.max(b.c.timestamp)).where(b.c.symbol_id == symbol_id)
        ).one()
        if first is None:
            raise DataError(f"{source}: expected bars, got none")
        span = " .. ".join(str(pd.Timestamp(t)) if intraday else pd.Timestamp(t).strftime("%Y-%m-%d")
                           for t in (first, last))
        raise DataError(f"{source}: expected bars from {start if start is not None else 'the start'} to "
                        f"{end if end is not None else 'the end'}, got none (the data runs {span})")
    columns = list(zip(*rows, strict=True))
    index = pd.DatetimeIndex(pd.to_datetime(list(columns[0])), name="timestamp")
    frame_columns: dict[str, Any] = {}
    for name, values in zip(COLUMNS, columns[1:], strict=True):
        if all(v is None for v in values):
            continue  # the source had no such column
        if all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values):
            frame_columns[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        else:  # text in a number column (SQLite allows it): the checks say where
            frame_columns[name] = np.array([np.nan if v is None else v for v in values], dtype=object)
    frame = pd.DataFrame(frame_columns, index=index)
    bars = bars_from_frame(frame, source)
    if bool(intraday) and not bars.has_time:
        bars = attrs.evolve(bars, has_time=True)
    return bars


def load_sql(
    url: str,
    symbols: Sequence[str] | None = None,
    *,
    start: Any = None,
    end: Any = None,
) -> BarData:
    """Load symbols (default: all, sorted) from the securities master at ``url``, aligned as :func:`fbt.load`.

    ``start`` and ``end`` are as in :func:`fbt.load` (both ends included; a plain-date ``end`` takes
    that whole day); a symbol with no bar in the range is a :class:`~fbt.core.errors.DataError`.
    """
    sa = _sa()
    if isinstance(symbols, str):
        raise ConfigError(f"symbols: expected a sequence of symbol names, got the string {symbols!r}")
    engine = _engine(url, must_exist=True)
    try:
        with engine.connect() as conn:
            _require_schema(conn, url)
            schema = _schema()
            chosen = list(symbols) if symbols is not None else sorted(
                conn.execute(sa.select(schema.symbols.c.ticker)).scalars().all()
            )
            if not chosen:
                raise DataError(f"{_show(url)}: expected symbols in the securities master, got none")
            per_symbol = {s: read_symbol(conn, url, s, start=start, end=end) for s in chosen}
    except sa.exc.SQLAlchemyError as exc:
        raise _failure(url, exc) from None
    finally:
        engine.dispose()
    sources: dict[str, Source] = dict(per_symbol)
    return load(sources, start=start, end=end)
