"""Cooperative cancellation: the caller's check, polled wherever a solve can stop cleanly.

A web service re-running a round must be able to give up on it (the user
cancelled, a newer request came in). Killing the thread is not possible, so the
engine polls a check the caller gives: between stages, in CP-SAT's solution
callbacks, and from a small watcher thread while CP-SAT runs, since a long proof
may go minutes without a new solution. CpSolver.stop_search is made for that:
it takes the solver's own lock and asks the search to stop at its next check.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType

from ortools.sat.python import cp_model

CancelCheck = Callable[[], bool]
"""Return True once the solve should stop; called from the watcher thread too, so thread-safe
(a threading.Event's is_set is)."""

POLL_SECONDS = 0.2
"""How often the watcher asks the check while CP-SAT runs."""


class SolveCancelled(Exception):
    """The caller's check said stop: the solve ended without a result."""


def check(cancelled: CancelCheck | None) -> None:
    """Raise SolveCancelled if the caller's check says stop."""
    if cancelled is not None and cancelled():
        raise SolveCancelled


class Watch:
    """Watches a cancellation check during one CP-SAT solve, and stops the solve when it fires.

    Use as `with Watch(cancelled, solver) as watch: solver.solve(...)`; leaving
    the block raises SolveCancelled if the check fired, so a search cut short is
    never taken for a result. Without a check it does nothing.
    """

    def __init__(self, cancelled: CancelCheck | None, solver: cp_model.CpSolver) -> None:
        self._cancelled = cancelled
        self._solver = solver
        self._fired = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        """Whether there is a check to poll at all."""
        return self._cancelled is not None

    def fired(self) -> bool:
        """Poll the check; once it has said stop, keep saying so."""
        if not self._fired and self._cancelled is not None and self._cancelled():
            self._fired = True
        return self._fired

    def __enter__(self) -> Watch:
        if self._cancelled is not None:
            self._thread = threading.Thread(target=self._watch, name="cp-sat-watch", daemon=True)
            self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._done.wait(POLL_SECONDS):
            if self.fired():
                # Again at every poll: a stop asked before the search has started is lost.
                self._solver.stop_search()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        if exc_type is None and self.fired():
            raise SolveCancelled
