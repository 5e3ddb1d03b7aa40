"""What one lab run measured, as small frozen dataclasses that survive a JSON round trip (the
on-disk cache and cluster workers hand them back as JSON).

Every field is an int, float, str, bool, None or a tuple of those (tuples may nest), so one
generic codec serves every kind."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from gomcu.limits.irq_priorities import Priority


@dataclass(frozen=True)
class RootFigure:
    name: str
    stack: str  # "system", "goroutine", "task"
    bound_bytes: int
    bounded: bool
    allotted_bytes: int | None


@dataclass(frozen=True)
class RecursionFigure:
    cycle: str  # "a -> b -> a"
    root: str | None
    bytes_per_level: int
    stack_bytes: int | None
    max_depth: int | None  # deepest safe recursion on that stack (static)


@dataclass(frozen=True)
class StackFigures:
    """Static stack analysis (kind "stack")."""

    roots: tuple[RootFigure, ...]
    recursions: tuple[RecursionFigure, ...]
    exception_frame: int


@dataclass(frozen=True)
class StackUseFigure:
    name: str
    size: int
    used: int
    overflow: bool


@dataclass(frozen=True)
class StackRunFigures:
    """Stack high-water of every stack in one emulated run (kind "stack-run")."""

    stacks: tuple[StackUseFigure, ...]


@dataclass(frozen=True)
class GroupFigure:
    name: str
    flash_bytes: int
    ram_bytes: int


@dataclass(frozen=True)
class FootprintFigures:
    """Static footprint (kind "footprint"), grouped by Go package / compile unit."""

    flash_bytes: int
    ram_bytes: int
    heap_bytes: int | None
    groups: tuple[GroupFigure, ...]


@dataclass(frozen=True)
class GcFigures:
    """One emulated run timing the collector and the allocator (kind "gc")."""

    heap_bytes: int | None
    gc_kind: str
    metadata_bytes: int | None  # the collector's own bookkeeping for this heap (static)
    clock_hz: int
    instructions: int
    cycles: int
    pause_function: str | None
    pauses_cycles: tuple[int, ...]
    allocations: int
    alloc_sizes: tuple[int, ...]
    alloc_cycles: tuple[int, ...]
    heap_high_water: int | None


@dataclass(frozen=True)
class LatencySample:
    latency_cycles: int
    gc_active: bool
    heap_percent: float | None
    cause: str | None  # why it was late (irq_latency.CAUSES), None: on time


@dataclass(frozen=True)
class JitterFigures:
    """One interrupt-injection campaign (kind "jitter")."""

    irq: int
    handler: str | None
    heap_bytes: int | None
    period_us: float
    clock_hz: int
    samples: tuple[LatencySample, ...]
    gc_pauses: int


#: One exception's priority as written and as implemented: the analysis's own type.
PriorityFigure = Priority


@dataclass(frozen=True)
class PriorityFigures:
    """Priorities the firmware set, read back after its initialisation (kind "priorities")."""

    chip_bits: int
    prigroup: int
    priorities: tuple[PriorityFigure, ...]
    preempts: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FunctionCost:
    name: str
    calls: int | None  # None: not probed (no entry seen)
    exclusive_insns: int
    exclusive_in_interrupts: int
    inclusive_insns: int | None


@dataclass(frozen=True)
class ProfileFigures:
    """Where one emulated run's instructions went (kind "profile"): the exclusive counts add up
    to the run's instruction count exactly."""

    instructions: int
    clock_hz: int
    functions: tuple[FunctionCost, ...]


Figures = (StackFigures | StackRunFigures | FootprintFigures | GcFigures | JitterFigures | PriorityFigures
           | ProfileFigures)

FIGURE_TYPES: dict[str, type] = {
    "stack": StackFigures, "stack-run": StackRunFigures, "footprint": FootprintFigures, "gc": GcFigures,
    "jitter": JitterFigures, "priorities": PriorityFigures, "profile": ProfileFigures,
}


def to_json(value: Any) -> Any:
    """Plain JSON values from figures (dataclasses become dicts, tuples lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    return value


def from_json(kind: str, data: dict[str, Any]) -> Figures:
    """The figures of a run of `kind` back from `to_json`'s output."""
    return _build(FIGURE_TYPES[kind], data)


_NESTED: dict[tuple[type, str], type] = {
    (StackFigures, "roots"): RootFigure, (StackFigures, "recursions"): RecursionFigure,
    (StackRunFigures, "stacks"): StackUseFigure, (FootprintFigures, "groups"): GroupFigure,
    (JitterFigures, "samples"): LatencySample, (PriorityFigures, "priorities"): PriorityFigure,
    (ProfileFigures, "functions"): FunctionCost,
}


def _build(cls: type, data: dict[str, Any]) -> Any:
    values = {}
    for f in dataclasses.fields(cls):
        raw = data[f.name]
        inner = _NESTED.get((cls, f.name))
        if inner is not None:
            values[f.name] = tuple(_build(inner, item) for item in raw)
        else:
            values[f.name] = _tuples(raw)
    return cls(**values)


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value
