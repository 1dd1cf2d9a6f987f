"""Python's cyclic garbage collector, paused where it only costs time."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block, for work that makes objects by the
    hundred thousand and leaves no cycle worth collecting meanwhile: rendering one PDF
    (WeasyPrint's collections cost up to a tenth of its time), or building tens of
    thousands of small records (a third of the time of 20,000 graduates in
    benchmarks/evaluation.py). The first collection after the block frees what it left."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
