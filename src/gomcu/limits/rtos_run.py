"""Run-time figures of FreeRTOS firmware, measured in the emulator beside the static bounds.

The kernel keeps what is needed, so nothing is painted: a new task's stack is filled with 0xa5
(tskSTACK_FILL_BYTE), and what is still 0xa5 from the stack's lowest address (TCB_t.pxStack) was
never used - the figure uxTaskGetStackHighWaterMark reports. Each task the static analysis knows
by name is found in the end-of-run memory as its TCB: pxStack directly followed by pcTaskName.
The heap's low-water mark is heap_4's xMinimumEverFreeBytesRemaining; the tick's latency and
duration come from SysTick's samples, the context switch's time from PendSV's.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.code import model as code_model
from gomcu.code.rtos_tasks import creations
from gomcu.findings import Finding, Location, Severity
from gomcu.runtime.profile import RuntimeProfile

if TYPE_CHECKING:
    from gomcu.emu.result import RunResult
    from gomcu.image import Image
    from gomcu.limits.stack import StackReport

PENDSV, SYSTICK = 14, 15


@dataclass(frozen=True)
class TaskUse:
    """One task found in memory after the run."""

    name: str
    entry: str | None
    stack_address: int
    allotted_bytes: int | None
    bound_bytes: int | None
    bounded: bool
    min_free_bytes: int  # stack bytes still holding the fill byte: never used

    @property
    def used_bytes(self) -> int | None:
        return None if self.allotted_bytes is None else self.allotted_bytes - self.min_free_bytes

    @property
    def within_bound(self) -> bool | None:
        """bound >= measured (None when either is unknown)."""
        used = self.used_bytes
        return None if used is None or self.bound_bytes is None else self.bound_bytes >= used


@dataclass(frozen=True)
class Spread:
    """min / median / max of a set of cycle counts."""

    count: int
    min: int
    median: float
    max: int


@dataclass(frozen=True)
class RtosRun:
    stop: str
    message: str
    instructions: int
    time_us: float
    clock_hz: int
    tasks: tuple[TaskUse, ...]
    not_found: tuple[str, ...]  # task names known statically whose TCB was not in memory
    heap_min_free: int | None
    tick_latency: Spread | None
    tick_duration: Spread | None
    switch_duration: Spread | None
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]


def measure(image: Image, profile: RuntimeProfile, stacks: StackReport, board: str | None = None,
            chip: str | None = None, max_insns: int = 200_000_000, timeout: float = 120.0) -> RtosRun:
    """Run the firmware once and read the kernel's bookkeeping at the end."""
    from gomcu import emu

    result = emu.run(image, board, chip=chip, max_insns=max_insns, timeout=timeout, snapshot=True)
    return from_run(image, profile, stacks, result)


def from_run(image: Image, profile: RuntimeProfile, stacks: StackReport, result: RunResult) -> RtosRun:
    fill = int(profile.tasks.get("stack_fill_byte", 0xA5))
    by_entry = {r.name: r for r in stacks.roots if r.stack == "task"}
    named: dict[str, str | None] = {}
    for c in creations(code_model(image), profile):
        if c.task_name:
            named.setdefault(c.task_name, c.entry)
    tasks: list[TaskUse] = []
    missing: list[str] = []
    freed = 0
    for name, entry in named.items():
        found = _tcbs(result, name)
        live = [a for a in found if not _freed(image, profile, result, a)]
        freed += len(found) - len(live)
        if not live:
            missing.append(name)
        for stack_address in live:
            root = by_entry.get(entry) if entry else None
            allotted = root.allotted_bytes if root is not None else None
            free = _leading(result, stack_address, fill, allotted)
            tasks.append(TaskUse(name, entry, stack_address, allotted, root.bound_bytes if root else None,
                                 root.bounded if root else False, free))
    heap = _heap_min_free(image, profile, result)
    samples = result.interrupts
    tick = [s for s in samples if s.exception == SYSTICK]
    switch = [s for s in samples if s.exception == PENDSV]
    findings = list(_findings(tasks))
    notes = [f"one emulated run on {result.board}: {result.stop} after {result.instructions:,} instructions "
             f"({result.time_us / 1e6:.3f} s emulated)"]
    if result.stop not in ("exit", "budget", "timeout"):
        notes.append(f"the run ended early ({result.stop}: {result.message}): the figures cover only what ran")
    if missing:
        notes.append(f"{len(missing)} task(s) named at creation not found alive in memory (not created in this "
                     f"run, or deleted): {', '.join(missing[:8])}")
    if freed:
        notes.append(f"{freed} TCB(s) of deleted tasks (their stack's heap block is free) left out")
    return RtosRun(result.stop, result.message, result.instructions, result.time_us, result.clock_hz,
                   tuple(sorted(tasks, key=lambda t: t.stack_address)), tuple(missing), heap,
                   spread_of([s.latency_cycles for s in tick]), spread_of([s.duration_cycles for s in tick if s.duration_cycles is not None]),
                   spread_of([s.duration_cycles for s in switch if s.duration_cycles is not None]), tuple(findings), tuple(notes))


def _tcbs(result: RunResult, name: str) -> list[int]:
    """pxStack of every TCB whose pcTaskName is `name`: a word pointing into the snapshot right
    before the NUL-terminated name, at a word boundary."""
    key = name.encode() + b"\0"
    out = []
    for base, data in result.ram:
        at = data.find(key)
        while at >= 0:
            if at >= 4 and (base + at) % 4 == 0:
                pointer = int.from_bytes(data[at - 4:at], "little")
                if result.read(pointer, 4) is not None and pointer not in out:
                    out.append(pointer)
            at = data.find(key, at + 1)
    return out


def _freed(image: Image, profile: RuntimeProfile, result: RunResult, stack_address: int) -> bool:
    """The stack is a heap_4/heap_5 block whose header says free: its task was deleted."""
    marker = profile.rtos.get("heap_block_marker")
    heap = image.symbol(str(profile.memory.get("heap_array", "")))
    if not marker or image.symbol(str(marker)) is None or heap is None:
        return False
    if not heap.address < stack_address < heap.address + heap.size:
        return False  # a static stack (xTaskCreateStatic): not a heap block
    raw = result.read(stack_address - 4, 4)
    if raw is None:
        return False
    return not int.from_bytes(raw, "little") & int(profile.rtos.get("heap_allocated_bit", 0x80000000))


def _leading(result: RunResult, address: int, fill: int, limit: int | None) -> int:
    """Bytes from `address` up that still hold `fill` (at most `limit`)."""
    for base, data in result.ram:
        if base <= address < base + len(data):
            start = address - base
            end = len(data) if limit is None else min(len(data), start + limit)
            n = 0
            while start + n < end and data[start + n] == fill:
                n += 1
            return n
    return 0


def _heap_min_free(image: Image, profile: RuntimeProfile, result: RunResult) -> int | None:
    name = profile.rtos.get("min_ever_free_symbol")
    sym = image.symbol(str(name)) if name else None
    if sym is None:
        return None
    raw = result.read(sym.address, 4)
    return int.from_bytes(raw, "little") if raw else None


def spread_of(values: list[int]) -> Spread | None:
    if not values:
        return None
    return Spread(len(values), min(values), float(statistics.median(values)), max(values))


def _findings(tasks: list[TaskUse]) -> list[Finding]:
    out = []
    for t in tasks:
        where = Location(function=t.entry) if t.entry else Location()
        if t.min_free_bytes == 0 and t.allotted_bytes is not None:
            out.append(Finding("freertos.stack-exhausted-at-run-time", Severity.ERROR,
                               f'task "{t.name}" used its whole {t.allotted_bytes} B stack in the emulated run '
                               "(no fill byte left: it overflowed or came to the last byte)", where))
        elif t.within_bound is False and t.bounded:
            out.append(Finding("freertos.measured-above-bound", Severity.ERROR,
                               f'task "{t.name}": measured {t.used_bytes} B above its static bound '
                               f"{t.bound_bytes} B (a gomcu bug: please report)", where))
    return out
