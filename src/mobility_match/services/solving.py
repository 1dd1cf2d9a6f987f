"""Solving rounds in the background (being written)."""

from __future__ import annotations

from sqlalchemy import Engine

from mobility_match.config import Settings


class Solver:
    """Runs round solves on worker threads of this process."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings

    def recover(self) -> None:
        """Give back rounds whose solve lease expired."""

    def shutdown(self) -> None:
        """Stop the running solves."""
