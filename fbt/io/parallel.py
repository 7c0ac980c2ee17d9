"""Writing output files on two cores: one group of writers in a forked child, the other here.

Formatting a million-row equity curve and a journal as text is CPU-bound Python work, so threads
would not help. Where the platform forks and this process runs a single thread (forking a
threaded process can deadlock the child), :func:`run_both` runs ``background`` in a forked child
while ``foreground`` runs here, and returns both results; the child sends its result back through
a pipe (pickled) and exits without running any of this process's clean-up. Anywhere else the two
run one after the other. Either way the files are the same bytes.

>>> run_both(lambda: 1 + 1, lambda: "here")
(2, 'here')
"""

from __future__ import annotations

import os
import pickle
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["can_fork", "run_both"]

A = TypeVar("A")
B = TypeVar("B")


def can_fork() -> bool:
    """True when :func:`run_both` will use a child process (``FBT_NO_FORK=1`` turns it off)."""
    return hasattr(os, "fork") and threading.active_count() == 1 and os.environ.get("FBT_NO_FORK", "") in ("", "0")


def run_both(background: Callable[[], A], foreground: Callable[[], B]) -> tuple[A, B]:
    """Run ``background`` (in a forked child when :func:`can_fork`) and ``foreground``; return both results.

    An exception in either is raised here (the child's is pickled back; one that cannot be is
    raised as a RuntimeError with its text). ``foreground``'s exception wins if both fail.
    """
    if not can_fork():
        return background(), foreground()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: do the work, send the outcome, leave at once
        status = 0
        try:
            os.close(read_end)
            try:
                payload = pickle.dumps((True, background()))
            except BaseException as exc:
                status = 1
                try:
                    payload = pickle.dumps((False, exc))
                except Exception:
                    payload = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        mine = foreground()
    finally:
        with os.fdopen(read_end, "rb") as pipe:
            payload = pipe.read()
        os.waitpid(pid, 0)
    if not payload:
        raise RuntimeError("the writer process ended without a result")
    ok, value = pickle.loads(payload)
    if not ok:
        raise value
    return value, mine
