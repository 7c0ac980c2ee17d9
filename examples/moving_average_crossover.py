"""The book's moving-average crossover (chapter 15) — the strategy behind ``fbt demo``.

Its implementation ships with fbt as :func:`fbt.sample.strategies.moving_average_crossover` (read it
there: one ``build`` computing the two SMAs up front, one pure ``step`` per bar). This file names
it for the command line, exactly as the book's examples are run:

    fbt run examples/moving_average_crossover.py:moving_average_crossover \\
        --data ORCL=../shared/data/backtrader/orcl-1995-2014.txt

    fbt run examples/moving_average_crossover.py:moving_average_crossover --data DIR \\
        --param short_window=5 --param long_window=20
"""

from fbt.sample.strategies import moving_average_crossover

__all__ = ["moving_average_crossover"]
