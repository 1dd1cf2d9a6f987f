"""PDFs rendered on several processes: WeasyPrint holds the GIL, so threads would take
turns; a pool of processes, each with its own renderer (fonts and resources cached from
one document to the next), renders a school's documents side by side.

The HTML is made where the data is (the caller's process, which reads the database); only
the HTML goes to a process, and only the PDF's bytes come back. Processes are started with
`spawn` (never `fork`: the service has threads and open connections) by `start()` or when
the first document comes, and live as long as the pool. With one process, documents are
rendered in the caller's process, as without a pool.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from mobility_match.documents.rendering import DocumentRenderer

_renderer: DocumentRenderer | None = None
"""The renderer of a pool's process (set by `_start`)."""


def _start(override_dir: Path | None) -> None:
    global _renderer  # noqa: PLW0603 - one renderer per process of the pool
    _renderer = DocumentRenderer(override_dir)
    # What the imports made lives as long as the process: out of the collector's sight, the
    # collection after each document looks at that document's objects only.
    gc.collect()
    gc.freeze()


def _render(html: str) -> bytes:
    assert _renderer is not None
    return _renderer.pdf(html)


def _started() -> None:
    """Nothing: run by each new process once `_start` has made its renderer."""


def processes_for(setting: int) -> int:
    """The processes to render with: the setting, or one per core when it is 0."""
    return setting if setting > 0 else max(1, os.cpu_count() or 1)


class RenderPool:
    """Renders PDFs from HTML on `processes` processes (1: in this process)."""

    def __init__(self, renderer: DocumentRenderer, processes: int) -> None:
        self.renderer = renderer
        self.processes = max(1, processes)
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, html: str) -> Future[bytes]:
        """The PDF of `html`, rendered now (one process) or by a process of the pool."""
        if self.processes == 1:
            done: Future[bytes] = Future()
            try:
                done.set_result(self.renderer.pdf(html))
            except Exception as error:  # given back by result(), as a process's would be
                done.set_exception(error)
            return done
        return self._pool().submit(_render, html)

    def start(self) -> None:
        """Start the processes now rather than with the first document: each first imports
        WeasyPrint and makes its renderer, about a second."""
        if self.processes > 1:
            pool = self._pool()
            for future in [pool.submit(_started) for _ in range(self.processes)]:
                future.result()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start,
                    initargs=(self.renderer.override_dir,),
                )
            return self._executor

    def shutdown(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None
