"""The kernel: the fold, the step it drives, the parts the step is made of, and the reducers.

A run's step is assembled from parts the caller chooses (:mod:`fbt.kernel.parts`): the portfolio's
rules and an execution port (the book's, the simulated broker's, a live broker's). The reducers
are pure ``(state, event) -> (state, events)`` functions; :mod:`fbt.kernel.fast` holds the fast
paths, each tested equal to the plain one.
"""

from fbt.kernel.broker import accept_order, cancel_orders, execute_order, execute_order_checked, fill_working
from fbt.kernel.parts import ExecutionPort, Parts, PartsFactory, book_parts, parts_for, parts_of, simulated_parts
from fbt.kernel.portfolio import apply_fill, mark, naive_orders, plan_orders
from fbt.kernel.step import Context, drain, make_step

__all__ = [
    "Context",
    "ExecutionPort",
    "Parts",
    "PartsFactory",
    "accept_order",
    "apply_fill",
    "book_parts",
    "cancel_orders",
    "drain",
    "execute_order",
    "execute_order_checked",
    "fill_working",
    "make_step",
    "mark",
    "naive_orders",
    "parts_for",
    "parts_of",
    "plan_orders",
    "simulated_parts",
]
