"""Runtime profiles: which functions are the allocator, the collector, task start and switch,
and which are unsafe in interrupt context. A profile is data (TOML in runtime/profiles/ or a
user's file); analyses ask it questions instead of hard-coding names.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from gomcu.errors import GomcuError

PROFILE_DIR = Path(__file__).with_name("profiles")


@dataclass(frozen=True)
class AllocatorProbeSpec:
    """Where an allocator's size (at entry) and result (at return) are: "r0" or "stack+N" from
    the entry SP (Go ABI0); `restart`: functions that, entered with that SP and the call's return
    address in `restart_return`, restart the call from the top (Go's morestack)."""

    size_at: str = "r0"
    result_at: str = "r0"
    restart: tuple[str, ...] = ()
    restart_return: str = "r3"


@dataclass(frozen=True)
class RuntimeProfile:
    name: str
    description: str
    detect_all: tuple[str, ...]
    detect_any: tuple[str, ...]
    memory: dict[str, Any]
    gc: dict[str, tuple[str, ...]]
    tasks: dict[str, Any]
    unsafe_in_interrupt: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: what the runtime needs from a linker script (read by gomcu.linker.requirements)
    linker: dict[str, Any] = field(default_factory=dict)
    #: names the Go source analysis (gomcu.source) matches calls against
    source: dict[str, Any] = field(default_factory=dict)
    #: the hardware boundary: functions a rehosted run answers itself ([[hooks]] tables;
    #: gomcu.runtime.boundary turns them into the emulator's hooks)
    hooks: tuple[dict[str, Any], ...] = ()
    #: an RTOS's kernel: its API, the interrupt-safe part, the port's handlers (gomcu.limits.rtos_rules)
    rtos: dict[str, Any] = field(default_factory=dict)
    #: what a handler may call although it reaches unsafe code on other paths ([interrupts]:
    #: Embedded Go's fast system calls and rtos.Note.Wakeup)
    interrupts: dict[str, Any] = field(default_factory=dict)

    # -- questions analyses ask -------------------------------------------------------------

    def matches(self, symbol_names: Iterable[str]) -> bool:
        names = set(symbol_names)
        return all(n in names for n in self.detect_all) and (
            not self.detect_any or any(n in names for n in self.detect_any)
        )

    def allocators(self) -> tuple[str, ...]:
        return self.gc.get("allocator", ())

    def heap_high_water_measurable(self) -> bool:
        """Whether the highest end of an allocated block is the heap's high-water (TinyGo's and
        C's heaps); Go's page heap (`heap_accounting = "per_gc_cycle"`) is reported by the bytes
        allocated in each GC cycle instead."""
        return self.gc.get("heap_accounting", "high_water") != "per_gc_cycle"

    def allocator_probe(self, function: str) -> AllocatorProbeSpec:
        """Where the emulator's allocation probe on `function` reads the size and the result
        (`[gc.allocator_probe]` names the function it describes; others: r0 and r0)."""
        spec: Any = self.gc.get("allocator_probe", {})
        if not isinstance(spec, dict) or spec.get("function") != function:
            return AllocatorProbeSpec()
        return AllocatorProbeSpec(str(spec.get("size_at", "r0")), str(spec.get("result_at", "r0")),
                                  tuple(spec.get("restart", ())), str(spec.get("restart_return", "r3")))

    def heap_counters(self) -> tuple[tuple[str, str, str], ...]:
        """(label, variable, field) of the runtime's own heap accounting a run reads from memory
        at its end (`[gc.heap_counters]`: label = "variable.field", the field's offset from DWARF)."""
        table: Any = self.gc.get("heap_counters", {})
        out = []
        for label, where in (table.items() if isinstance(table, dict) else ()):
            variable, _, member = str(where).rpartition(".")
            out.append((str(label), variable, member))
        return tuple(out)

    def is_allocator(self, name: str) -> bool:
        return _match(name, self.allocators())

    def is_collector(self, name: str) -> bool:
        return _match(name, self.gc.get("collector", ()))

    def is_task_start(self, name: str) -> bool:
        return _match(name, self.tasks.get("start", ()))

    def is_goroutine_entry(self, name: str) -> bool:
        return _match(name, self.tasks.get("entries", ()))

    def is_context_restore(self, name: str) -> bool:
        """A routine that jumps back to a context saved earlier on the same stack (longjmp)."""
        return _match(name, self.tasks.get("context_restore", ()))

    def is_runtime_code(self, name: str) -> bool:
        """The runtime's own code (`[tasks] runtime_cycles`): what it does is not the program's to change."""
        return _match(name, self.tasks.get("runtime_cycles", ()))

    def is_dying(self, name: str) -> bool:
        """Runs only once the program is dying (a panic, a failed run-time check): what it reaches
        on the way down is not what the program does."""
        return _match(name, self.tasks.get("dying", ()))

    @property
    def growth(self) -> frozenset[str]:
        """Stack growth points (Embedded Go's morestack): they move to another stack."""
        return frozenset(self.tasks.get("growth", ()))

    def is_init(self, name: str) -> bool:
        """A function that runs package initialisers (what it reaches runs once, at start-up)."""
        return _match(name, self.gc.get("init", ()))

    def is_main(self, name: str) -> bool:
        """The program's main function (what reset reaches through it is the running program)."""
        return _match(name, self.gc.get("main", ()))

    def pause_probe(self, symbol_names: Iterable[str]) -> str | None:
        """The function one call of which is one whole collection (runtime.GC / runGC), when the
        image still has it; optimised TinyGo builds inline it into the allocator."""
        names = set(symbol_names)
        for candidate in self.gc.get("pause_probe", ()):
            if candidate in names:
                return candidate
        return None

    def stw_span(self, symbol_names: Iterable[str]) -> tuple[str, str] | None:
        """The functions that stop the world and start it again (a pause spans from the first's
        entry to the second's return), when the image has both."""
        pair = self.gc.get("stw_span", ())
        names = set(symbol_names)
        return (pair[0], pair[1]) if len(pair) == 2 and pair[0] in names and pair[1] in names else None

    def stw_phase(self, stopped_by: str | None) -> tuple[int, str]:
        """(index, name) of the collector phase a pause belongs to, from the function that stopped
        the world; (-1, "other") when it is none of the profile's phases."""
        names = self.gc.get("stw_phase_names", ())
        for i, pattern in enumerate(self.gc.get("stw_phases", ())):
            if stopped_by is not None and _match(stopped_by, [pattern]):
                return i, names[i] if i < len(names) else pattern
        return -1, "other"

    def collection_marker(self, symbol_names: Iterable[str]) -> str | None:
        """A marking function that runs inside every collection (once or more): with the
        collector's entry inlined, an allocator call during which it ran is a collection."""
        present = self.mark_functions_present(symbol_names)
        return present[0] if present else None

    def mark_functions_present(self, symbol_names: Iterable[str]) -> tuple[str, ...]:
        """The marking functions the image defines (evidence for the GC kind)."""
        names = set(symbol_names)
        return tuple(sorted(n for n in names if _match(n, self.gc.get("mark_functions", ()))))

    def is_rtos_api(self, name: str) -> bool:
        """A kernel function of an RTOS profile (any of its API, interrupt-safe or not)."""
        return _match(name, self.rtos.get("api", ()))

    def is_isr_safe(self, name: str) -> bool:
        """A kernel function an interrupt handler may call (FreeRTOS's ...FromISR API)."""
        return _match(name, self.rtos.get("isr_safe", ()))

    def is_interrupt_safe(self, name: str) -> bool:
        """A function the runtime allows in handlers as a whole (what it reaches is its business)."""
        return _match(name, (*self.interrupts.get("allowed", ()), *self.interrupts.get("fast_syscalls", ())))

    def unsafe_category(self, name: str) -> str | None:
        """The first category ("alloc", "block", ...) whose patterns name this function."""
        for category, patterns in self.unsafe_in_interrupt.items():
            if _match(name, patterns):
                return category
        return None

    def layout_argument(self) -> int | None:
        """Which allocator argument (from 0) is the object layout the precise collector stores."""
        value: Any = self.gc.get("layout_argument")
        return value if isinstance(value, int) else None

    def precise_markers_present(self, symbol_names: Iterable[str]) -> bool:
        """The precise collector's named helpers are linked (they can be inlined away)."""
        return _match_any(set(symbol_names), self.gc.get("precise_markers", ()))

    def gc_kind(self, symbol_names: Iterable[str]) -> str:
        """conservative / precise / leaking / none, from which runtime symbols were linked."""
        names = set(symbol_names)
        if not any(_match_any(names, [a]) for a in self.allocators()):
            return "none"
        if not _match_any(names, self.gc.get("mark_functions", ())):
            return "leaking"
        if _match_any(names, self.gc.get("precise_markers", ())):
            return "precise"
        return "conservative"


def _match(name: str, patterns: Iterable[str]) -> bool:
    """`name` is one of the patterns, or matches one with wildcards (fnmatch, case kept)."""
    exact, wild = _matcher(patterns if isinstance(patterns, tuple) else tuple(patterns))
    return name in exact or (wild is not None and wild.match(name) is not None)


@lru_cache(maxsize=256)
def _matcher(patterns: tuple[str, ...]) -> tuple[frozenset[str], re.Pattern[str] | None]:
    """The patterns as a set of names and one expression for those with wildcards: the analyses
    ask of every function whether it is an allocator, a dying path, ... (thousands of times)."""
    wild = [p for p in patterns if any(c in p for c in "*?[")]
    regex = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in wild)) if wild else None
    return frozenset(patterns), regex


def _match_any(names: set[str], patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if pattern in names or any(fnmatch.fnmatchcase(n, pattern) for n in names if any(c in pattern for c in "*?[")):
            return True
    return False


def _tuples(table: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}


_LOCATION = re.compile(r"^(?:r(\d{1,2})|(?:sp|stack)\s*\+\s*(\d+))$")


def argument_location(spec: object, registers: int = 13) -> tuple[str, int] | None:
    """Where a profile says a call's argument (or result) is: ("reg", n) for "rN" with n below
    `registers`, ("stack", N) for "stack+N" or "sp+N" (Go's ABI0: the word N bytes above the SP
    at the call's entry; N word-aligned, below 64 KiB); None for anything else."""
    m = _LOCATION.match(spec.strip().lower()) if isinstance(spec, str) else None
    if m and m.group(1) is not None and int(m.group(1)) < registers:
        return "reg", int(m.group(1))
    if m and m.group(2) is not None and int(m.group(2)) % 4 == 0 and int(m.group(2)) < 0x10000:
        return "stack", int(m.group(2))
    return None


#: the tables whose entries name call arguments the static analyses read (register index or location)
_ARGUMENT_TABLES = (("gc", "size_argument"), ("gc", "size_from_type"))
_ARGUMENT_LISTS = (("interrupts", "priority_setters", ("irq", "priority")),
                   ("interrupts", "enable_calls", ("irq", "control")))


def _check_argument_locations(data: dict[str, Any], origin: str) -> None:
    """Every argument location the static analyses read must be readable (r0..r3, stack+N): else a
    one-line error at load, not a traceback halfway through an analysis."""
    def bad(table: str, key: str, what: object, where: object) -> GomcuError:
        return GomcuError(f"{origin}: [{table}] {key}: cannot read {what}'s argument at {where!r} "
                          f"(use r0..r3 or stack+N, N a multiple of 4)")

    for table, key in _ARGUMENT_TABLES:
        entries = data.get(table, {}).get(key)
        for allocator, where in (entries.items() if isinstance(entries, dict) else ()):
            index = isinstance(where, int) and not isinstance(where, bool) and 0 <= where <= 3
            if not index and argument_location(where, registers=4) is None:
                raise bad(table, key, allocator, where)
    for table, key, fields in _ARGUMENT_LISTS:
        for spec in data.get(table, {}).get(key, ()):
            for name in fields:
                if isinstance(spec, dict) and name in spec and argument_location(spec[name], registers=4) is None:
                    raise bad(table, key, spec.get("function"), spec[name])


def parse_profile(data: dict[str, Any], origin: str) -> RuntimeProfile:
    _check_argument_locations(data, origin)
    try:
        detect = data.get("detect", {})
        return RuntimeProfile(
            name=str(data["name"]),
            description=str(data.get("description", "")),
            detect_all=tuple(detect.get("all_symbols", ())),
            detect_any=tuple(detect.get("any_symbols", ())),
            memory=dict(data.get("memory", {})),
            gc=_tuples(data.get("gc", {})),
            tasks=_tuples(data.get("tasks", {})),
            unsafe_in_interrupt=_tuples(data.get("unsafe_in_interrupt", {})),
            linker=dict(data.get("linker", {})),
            source=_tuples(data.get("source", {})),
            hooks=tuple(dict(h) for h in data.get("hooks", ())),
            rtos=_tuples(data.get("rtos", {})),
            interrupts=_tuples(data.get("interrupts", {})),
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise GomcuError(f"{origin}: invalid runtime profile ({error})") from None


@lru_cache(maxsize=None)
def builtin_profiles() -> tuple[RuntimeProfile, ...]:
    """Every built-in profile, the most specific (most required symbols) first, so that a
    runtime that extends another (the reference firmware over TinyGo) is detected as itself."""
    raw = _builtin_tables()
    out = [parse_profile(_inherited(data, raw), origin) for data, origin in raw.values()]
    return tuple(sorted(out, key=lambda p: (-len(p.detect_all), p.name)))


@lru_cache(maxsize=None)
def _builtin_tables() -> dict[str, tuple[dict[str, Any], str]]:
    """name -> (the TOML tables, the file) of every built-in profile."""
    import tomllib

    raw: dict[str, tuple[dict[str, Any], str]] = {}
    for path in sorted(PROFILE_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        raw[str(data.get("name", path.stem))] = (data, str(path))
    return raw


def _inherited(data: dict[str, Any], builtin: dict[str, tuple[dict[str, Any], str]]) -> dict[str, Any]:
    """`inherits = "tinygo"`: tables the profile does not define come from the named built-in."""
    parent_name = data.get("inherits")
    if not parent_name:
        return data
    if parent_name not in builtin:
        raise GomcuError(f"runtime profile {data.get('name')!r} inherits unknown profile {parent_name!r}")
    parent = _inherited(builtin[parent_name][0], builtin)
    return {**{k: v for k, v in parent.items() if k not in ("name", "description", "detect")}, **data}


def load_profile(name_or_path: str) -> RuntimeProfile:
    """A built-in profile by name, or a user's TOML file."""
    for profile in builtin_profiles():
        if profile.name == name_or_path:
            return profile
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        import tomllib

        try:
            with path.open("rb") as handle:
                data = tomllib.load(handle)
            return parse_profile(_inherited(data, _builtin_tables()), str(path))
        except tomllib.TOMLDecodeError as error:
            raise GomcuError(f"{path}: {error}") from None
    known = ", ".join(p.name for p in builtin_profiles())
    raise GomcuError(f"unknown runtime profile '{name_or_path}' (built in: {known}; or a path to a .toml file)")


def detect_profile(symbol_names: Iterable[str]) -> RuntimeProfile | None:
    """The first built-in profile whose marker symbols the image defines."""
    names = set(symbol_names)
    for profile in builtin_profiles():
        if profile.matches(names):
            return profile
    return None


def detect_family(symbol_names: Iterable[str]) -> RuntimeProfile | None:
    """A built-in profile whose runtime the image shows signs of even without its allocator
    (a TinyGo build with -gc=none has no runtime.alloc but still has its task machinery)."""
    names = set(symbol_names)
    found = detect_profile(names)
    if found is not None:
        return found
    for profile in builtin_profiles():
        if profile.detect_any and any(n in names for n in profile.detect_any):
            return profile
    return None
