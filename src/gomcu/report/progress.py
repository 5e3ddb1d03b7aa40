"""A progress bar on stderr for long emulation, shown only to a person at a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def emulation_progress(label: str = "emulating") -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """(update(done, total), finish()): a rich bar on stderr once a run has taken over a second;
    nothing when stderr is not a terminal (CI logs, pipes)."""
    if not sys.stderr.isatty():
        return None, lambda: None
    from rich.console import Console
    from rich.progress import Progress, TaskID

    start = time.monotonic()
    bar: Progress | None = None
    task: TaskID | None = None

    def update(done: int, total: int) -> None:
        nonlocal bar, task
        if bar is None:
            if time.monotonic() - start < 1.0:
                return
            bar = Progress(console=Console(stderr=True), transient=True)
            bar.start()
            task = bar.add_task(label, total=total)
        assert task is not None  # set together with bar
        bar.update(task, completed=done, total=total)

    def finish() -> None:
        if bar is not None:
            bar.stop()

    return update, finish
