"""Pure reducers ``(state, event) -> (state, events)`` and the step that orders them."""

from fbt.reducers.broker import execute_order
from fbt.reducers.portfolio import apply_fill, mark, naive_orders
from fbt.reducers.step import Context, make_step

__all__ = ["Context", "apply_fill", "execute_order", "make_step", "mark", "naive_orders"]
