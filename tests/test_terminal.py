"""The progress bar a coordinator sees during a long round."""

from __future__ import annotations

import io
import time

from rich.console import Console

from mobility_match.matching.engine import Progress
from mobility_match.terminal import TerminalProgress


def test_progress_shows_the_current_stage_with_best_and_bound() -> None:
    """On a terminal, after the delay, the bar names the stage and its best value and bound."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with TerminalProgress(console, delay=0.0) as progress:
        time.sleep(0.2)
        progress(Progress("school_fairness", 4, 4, best=0.75, bound=0.8))
        time.sleep(0.3)
    shown = screen.getvalue()
    assert "school_fairness: best 0.75, bound 0.8" in shown
    assert "stage 3/4" in shown


def test_no_progress_when_output_is_not_a_terminal() -> None:
    """Redirected output gets no bar at all."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=False)
    with TerminalProgress(console, delay=0.0) as progress:
        progress(Progress("placements", 1, 4))
        time.sleep(0.1)
    assert screen.getvalue() == ""


def test_quick_rounds_show_nothing() -> None:
    """A round over before the delay leaves the terminal untouched."""
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True)
    with TerminalProgress(console, delay=5.0) as progress:
        progress(Progress("placements", 1, 4))
    assert screen.getvalue() == ""
