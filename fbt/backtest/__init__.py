"""``fbt.run`` and its :class:`~fbt.backtest.result.Result`: fold, derive, and hand back pandas objects.

The result reaches down to every layer below it: the kernel (the fold), results (the curve and
statistics), the journal and the audit tools (time travel), the report and the writers.
"""
