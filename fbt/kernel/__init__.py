"""Pure reducers ``(state, event) -> (state, events)`` and the step that orders them."""

from fbt.kernel.broker import accept_order, cancel_orders, execute_order, execute_order_checked, fill_working
from fbt.kernel.portfolio import apply_fill, mark, naive_orders, plan_orders
from fbt.kernel.step import Context, make_step

__all__ = [
    "Context",
    "accept_order",
    "apply_fill",
    "cancel_orders",
    "execute_order",
    "execute_order_checked",
    "fill_working",
    "make_step",
    "mark",
    "naive_orders",
    "plan_orders",
]
