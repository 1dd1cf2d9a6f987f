"""A progress bar on the terminal for rounds that take more than a moment.

It appears only after DELAY seconds, on standard error, and only on a real
terminal; quick rounds and redirected output see nothing of it.
"""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from mobility_match.matching.engine import Progress as RoundProgress

DELAY = 1.5


class TerminalProgress:
    """Shows the current stage, its best value and bound, as a round goes on."""

    def __init__(self, console: Console, delay: float = DELAY) -> None:
        self._console = console
        self._delay = delay
        self._lock = threading.Lock()
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._latest: RoundProgress | None = None
        self._timer = threading.Timer(delay, self._show)
        self._timer.daemon = True

    def __enter__(self) -> TerminalProgress:
        if self._console.is_terminal:
            self._timer.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None

    def _show(self) -> None:
        with self._lock:
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("stage {task.completed}/{task.total}"),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._task = self._bar.add_task("preparing the round", total=1)
            self._bar.start()
            if self._latest is not None:
                self._update(self._latest)

    def __call__(self, progress: RoundProgress) -> None:
        with self._lock:
            self._latest = progress
            if self._bar is not None:
                self._update(progress)

    def _update(self, progress: RoundProgress) -> None:
        assert self._bar is not None
        assert self._task is not None
        text = progress.stage
        if progress.best is not None:
            text += f": best {progress.best:.4g}"
        if progress.bound is not None:
            text += f", bound {progress.bound:.4g}"
        self._bar.update(
            self._task,
            description=text,
            completed=progress.index - 1,
            total=progress.total,
        )
