"""Research over many runs: parameter sweeps (:mod:`fbt.research.sweep`) and walk-forward
optimisation (:mod:`fbt.research.walkforward`), locally or on Dask."""
