"""Exact instruction attribution per translation block, for `gomcu lab profile`.

A Python block hook registered after the time base's sees the time base's count right after it
counted the block about to run: the increase is that block's instructions, and no increase means
the time base stopped before the block (it runs again later and is counted then). So the counts
add up to the run's instruction count exactly. It costs a Python call per block (a few times
slower than an unprofiled run), which is why only a profile asks for it."""

from __future__ import annotations

from collections.abc import Callable

from unicorn import UC_HOOK_BLOCK, Uc


class BlockProfiler:
    """Instructions executed per block start address, split into thread and handler mode."""

    def __init__(self, uc: Uc, count: Callable[[], int], in_handler: Callable[[], bool]) -> None:
        self._count = count
        self._in_handler = in_handler
        self._last = 0
        self.thread: dict[int, int] = {}
        self.handler: dict[int, int] = {}
        uc.hook_add(UC_HOOK_BLOCK, self._hook)

    def _hook(self, uc: Uc, address: int, size: int, _user: object) -> None:
        now = self._count()
        delta = now - self._last
        if delta <= 0:
            return
        self._last = now
        table = self.handler if self._in_handler() else self.thread
        table[address] = table.get(address, 0) + delta

    def blocks(self) -> tuple[tuple[int, int, int], ...]:
        """(block address, thread-mode instructions, handler-mode instructions), by address."""
        addresses = sorted(set(self.thread) | set(self.handler))
        return tuple((a, self.thread.get(a, 0), self.handler.get(a, 0)) for a in addresses)
