"""Streaming runs: data larger than memory, read, folded and written a chunk at a time.

- :func:`read_chunks` (:mod:`fbt.stream.reader`) reads what :func:`fbt.load_dir` reads as aligned
  chunks of at most N bars, with the loaders' checks;
- :func:`run_stream` (:mod:`fbt.stream.run`) folds chunk after chunk from the world the last one
  ended in, each built with the strategies' declared lookback in front, and appends the equity
  rows, fills, trades and journal events to the output files as it goes (:mod:`fbt.stream.output`,
  :mod:`fbt.stream.spill`); the statistics are accumulated exactly (:mod:`fbt.stream.tally`).

The files are the in-memory run's (:meth:`fbt.Result.write`), line for line; peak memory depends on
the chunk size, not on the data's length.
"""

from fbt.stream.reader import Chunks, read_chunks
from fbt.stream.run import StreamResult, history_needed, run_stream

__all__ = ["Chunks", "StreamResult", "history_needed", "read_chunks", "run_stream"]
