"""The article's experiments: each expands its inputs into runs and turns their outcomes into
tables. Adding an experiment is one class here; the engine, cache, CLI and reporters need no change.

Every experiment works on any firmware and chip the emulator runs (board-shaped chips included,
as the chip database gains run models): nothing here names a board."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gomcu.lab import figures as fig
from gomcu.lab.runs import RunOutcome, RunSpec, make_spec
from gomcu.lab.tables import Claim, Column, ExperimentResult, Series, Table
from gomcu.limits.irq_latency import Sample, fit_model, percentile


@dataclass(frozen=True)
class Firmware:
    path: str
    digest: str

    @property
    def label(self) -> str:
        return _short(self.path)


@dataclass(frozen=True)
class LabInputs:
    firmware: tuple[Firmware, ...]
    chips: tuple[str | None, ...] = (None,)
    heap_sizes: tuple[int | None, ...] = (None,)  # None: the heap as linked
    stack_sizes: tuple[int | None, ...] = (None,)  # None: each stack as allotted
    irq: int | None = None
    periods_us: tuple[float, ...] = (200.0,)
    count: int = 200
    seed: int = 1
    max_insns: int = 200_000_000


Outcomes = dict[RunSpec, RunOutcome]


class Experiment:
    name: str = ""
    description: str = ""

    def expand(self, inputs: LabInputs) -> list[RunSpec]:
        raise NotImplementedError

    def tabulate(self, inputs: LabInputs, outcomes: Outcomes) -> ExperimentResult:
        raise NotImplementedError

    def _result(self, tables: Sequence[Table], outcomes: Outcomes, **kw: Any) -> ExperimentResult:
        failed = tuple((_run_label(s), o.stop, o.message) for s, o in outcomes.items() if o.figures is None)
        return ExperimentResult(self.name, self.description, tuple(tables), failed_runs=failed, **kw)


def _short(path: str) -> str:
    """A firmware's name in tables: its file name without .elf."""
    name = os.path.basename(path)
    return name[:-4] if name.endswith(".elf") else name


def _chip_label(chip: str | None) -> str:
    return chip or "auto"


def _run_label(spec: RunSpec) -> str:
    params = ", ".join(f"{k}={v}" for k, v in spec.params if k != "max_insns")
    return f"{spec.kind} {_short(spec.firmware)} on {_chip_label(spec.chip)}" + (f" ({params})" if params else "")


def _stop_cell(outcome: RunOutcome) -> str:
    """'exit' for a complete run; otherwise the stop, so a partial figure is never taken as whole."""
    return outcome.stop if outcome.stop != "static" else "static"


def _us(cycles: float | None, clock_hz: int) -> float | None:
    return None if cycles is None or clock_hz <= 0 else round(cycles * 1e6 / clock_hz, 3)


def _pct(values: Sequence[float], q: float) -> float | None:
    return None if not values else round(percentile(values, q), 1)


# -- recursion -------------------------------------------------------------------------------------

class Recursion(Experiment):
    name = "recursion"
    description = ("deepest safe recursion per root and stack size (static), beside the stack high-water "
                   "an emulated run reaches")

    def expand(self, inputs: LabInputs) -> list[RunSpec]:
        specs = [make_spec("stack", f.path, f.digest, None, stack_size=size)
                 for f in inputs.firmware for size in inputs.stack_sizes]
        specs += [make_spec("stack-run", f.path, f.digest, chip, max_insns=inputs.max_insns)
                  for f in inputs.firmware for chip in inputs.chips]
        return specs

    def tabulate(self, inputs: LabInputs, outcomes: Outcomes) -> ExperimentResult:
        static_rows: list[tuple[Any, ...]] = []
        run_rows: list[tuple[Any, ...]] = []
        for spec, o in outcomes.items():
            if spec.kind == "stack" and isinstance(o.figures, fig.StackFigures):
                size = spec.param("stack_size")
                for r in o.figures.recursions:
                    static_rows.append((_short(spec.firmware), r.cycle, r.root, r.bytes_per_level,
                                        r.stack_bytes, r.max_depth))
                if not o.figures.recursions:
                    static_rows.append((_short(spec.firmware), "(no recursion)", None, None,
                                        size, None))
            elif spec.kind == "stack-run" and isinstance(o.figures, fig.StackRunFigures):
                for s in o.figures.stacks:
                    run_rows.append((_short(spec.firmware), _chip_label(spec.chip), s.name, s.size,
                                     s.used, "overflow" if s.overflow else _stop_cell(o)))
        tables = [
            Table("deepest safe recursion (static)", "static",
                  (Column("firmware"), Column("cycle"), Column("root"), Column("per level", "B"),
                   Column("stack", "B"), Column("deepest safe", "levels")), tuple(static_rows),
                  ("a cycle's depth is how many activations fit in the tightest stack of the roots that reach "
                   "it, after what the root uses before entering it",)),
            Table("stack high-water (emulated)", "emulated",
                  (Column("firmware"), Column("chip"), Column("stack"), Column("size", "B"), Column("used", "B"),
                   Column("run")), tuple(run_rows),
                  ("TinyGo goroutine stacks are fixed: a run that recurses deeper than the deepest safe depth "
                   "overflows (see 'overflow')",)),
        ]
        return self._result(tables, outcomes, claims=(Claim("92 levels of recursion on an STM32H743"),))


# -- heap ---------------------------------------------------------------------------------------------

SIZE_CLASSES = (16, 32, 64, 128, 256, 512, 1024, 4096, 1 << 30)


def _size_class(size: int) -> int:
    return next(c for c in SIZE_CLASSES if size <= c)


class Heap(Experiment):
    name = "heap"
    description = "GC metadata and heap overhead by GC kind; allocation latency by size class (emulated)"

    def expand(self, inputs: LabInputs) -> list[RunSpec]:
        return [make_spec("gc", f.path, f.digest, chip, heap_bytes=size, max_insns=inputs.max_insns)
                for f in inputs.firmware for chip in inputs.chips for size in inputs.heap_sizes]

    def tabulate(self, inputs: LabInputs, outcomes: Outcomes) -> ExperimentResult:
        overhead, latency = [], []
        for spec, o in outcomes.items():
            f = o.figures
            if not isinstance(f, fig.GcFigures):
                continue
            label = (_short(spec.firmware), _chip_label(spec.chip))
            share = None if not f.heap_bytes or f.metadata_bytes is None else \
                round(100 * f.metadata_bytes / f.heap_bytes, 2)
            overhead.append((*label, f.gc_kind, f.heap_bytes, f.metadata_bytes, share, f.heap_high_water,
                             _stop_cell(o)))
            classes: dict[int, list[int]] = {}
            for size, cycles in zip(f.alloc_sizes, f.alloc_cycles):
                classes.setdefault(_size_class(size), []).append(cycles)
            for cls in sorted(classes):
                values = classes[cls]
                bound = "larger" if cls == SIZE_CLASSES[-1] else f"≤ {cls}"
                latency.append((*label, f.heap_bytes, bound, len(values), _pct(values, 50), _pct(values, 99),
                                max(values), _us(max(values), f.clock_hz)))
        tables = [
            Table("GC metadata and heap overhead (static geometry, emulated high-water)", "static + emulated",
                  (Column("firmware"), Column("chip"), Column("GC kind"), Column("heap", "B"),
                   Column("metadata", "B"), Column("metadata", "%"), Column("high-water", "B"), Column("run")),
                  tuple(overhead)),
            Table("allocation latency by size class (emulated)", "emulated",
                  (Column("firmware"), Column("chip"), Column("heap", "B"), Column("size", "B"), Column("calls"),
                   Column("p50", "cycles"), Column("p99", "cycles"), Column("max", "cycles"), Column("max", "µs")),
                  tuple(latency), ("a call's latency includes any collection it triggered",)),
        ]
        return self._result(tables, outcomes)


# -- footprint ------------------------------------------------------------------------------------

class Footprint(Experiment):
    name = "footprint"
    description = "RAM and flash per component (Go package / compile unit) across builds and chips, side by side"
    top = 15

    def expand(self, inputs: LabInputs) -> list[RunSpec]:
        return [make_spec("footprint", f.path, f.digest, chip) for f in inputs.firmware for chip in inputs.chips]

    def tabulate(self, inputs: LabInputs, outcomes: Outcomes) -> ExperimentResult:
        builds = [(s, o.figures) for s, o in outcomes.items() if isinstance(o.figures, fig.FootprintFigures)]
        sizes: dict[str, int] = {}
        for _s, f in builds:
            for g in f.groups:
                sizes[g.name] = max(sizes.get(g.name, 0), g.flash_bytes + g.ram_bytes)
        names = sorted(sizes, key=lambda n: (-sizes[n], n))
        shown, rest = names[:self.top], names[self.top:]
        columns = [Column("component")]
        several_firmware = len({s.firmware for s, _f in builds}) > 1
        several_chips = len({s.chip for s, _f in builds}) > 1
        for s, _f in builds:
            label = "@".join(([_short(s.firmware)] if several_firmware or not several_chips else [])
                             + ([_chip_label(s.chip)] if several_chips else []))
            columns += [Column(f"{label} flash", "B"), Column(f"{label} RAM", "B")]
        rows = []
        for name in shown:
            row: list[Any] = [name]
            for _s, f in builds:
                found = next((g for g in f.groups if g.name == name), None)
                row += [found.flash_bytes if found else None, found.ram_bytes if found else None]
            rows.append(tuple(row))
        if rest:
            row = [f"({len(rest)} more)"]
            for _s, f in builds:
                row += [sum(g.flash_bytes for g in f.groups if g.name in rest),
                        sum(g.ram_bytes for g in f.groups if g.name in rest)]
            rows.append(tuple(row))
        total: list[Any] = ["total"]
        for _s, f in builds:
            total += [f.flash_bytes, f.ram_bytes]
        rows.append(tuple(total))
        chips = {s.chip for s, _f in builds}
        title = "footprint per component" + (f" on {_chip_label(next(iter(chips)))}" if len(chips) == 1 else "")
        return self._result([Table(title, "static", tuple(columns), tuple(rows))], outcomes)


# -- gc pauses ----------------------------------------------------------------------------------------

class GcPause(Experiment):
    name = "gc-pause"
    description = "stop-the-world pauses per chip and heap size: p50/p99/max, share of run time spent collecting"

    def expand(self, inputs: LabInputs) -> list[RunSpec]:
        return Heap().expand(inputs)

    def tabulate(self, inputs: LabInputs, outcomes: Outcomes) -> ExperimentResult:
        rows, series, notes = [], [], []
        groups: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for spec, o in outcomes.items():
            f = o.figures
            if not isinstance(f, fig.GcFigures):
                continue
            p = f.pauses_cycles
            share = round(100 * sum(p) / f.cycles, 2) if f.cycles else None
            rows.append((_short(spec.firmware), _chip_label(spec.chip), round(f.clock_hz / 1e6, 3),
                         f.heap_bytes, len(p), _pct(p, 50), _pct(p, 99), max(p) if p else None,
                         _us(max(p), f.clock_hz) if p else None, share, _stop_cell(o)))
            if p and o.complete and f.heap_bytes:
                key = (_short(spec.firmware), _chip_label(spec.chip))
                groups.setdefault(key, []).append((f.heap_bytes / 1024, float(percentile(p, 50))))
        for (fw, chip), points in groups.items():
            line = _line(points)
            if line is not None:
                a, b, r2 = line
                notes.append(f"{fw} on {chip}: median pause = {a:,.0f} + {b:,.1f} cycles per KiB of heap "
                             f"(R² {r2:.3f}, {len(points)} heap sizes)")
                series.append(Series(f"median pause against heap size: {fw} on {chip}", "scatter", "heap (KiB)",
                                     "median pause (cycles)", tuple(points), (a, b), x_unit="KiB", y_unit="cycles"))
        table = Table("stop-the-world pauses (emulated)", "emulated",
                      (Column("firmware"), Column("chip"), Column("clock", "MHz"), Column("heap", "B"),
                       Column("collections"), Column("p50", "cycles"), Column("p99", "cycles"),
                       Column("max", "cycles"), Column("max", "µs"), Column("collecting", "%"), Column("run")),
                      tuple(rows), ("µs at the chip's clock from the emulator's cycle model; a run that did not end "
                                    "with 'exit' measured only up to its stop",))
        return self._result([table], outcomes, claims=(Claim("4.2 ms stop-the-world on an nRF52840"),),
                            series=tuple(series), notes=tuple(notes))


def _line(points: list[tuple[float, float]]) -> tuple[float, float, float] | None:
    """Least-squares y = a + b x with R², or None with fewer than two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for _, y in points)
    ss_res = sum((y - a - b * x) ** 2 for x, y in points)
    return a, b, (1 - ss_res / ss_tot) if ss_tot else 1.0


# -- jitter ----------------------------------------------------------------------------------------------

class Jitter(Experiment):
    name = "jitter"
    description = ("interrupt latency under injection across GC activity and heap fill, with the fitted model "
                   "latency = a + b × gc_active + c × heap %")

    def expand(self, inputs: LabInputs) -> list[RunSpec]:
        if inputs.irq is None:
            from gomcu.errors import GomcuError

            raise GomcuError("jitter: say which interrupt to inject with --irq N (see `gomcu irq FIRMWARE.elf`)")
        return [make_spec("jitter", f.path, f.digest, chip, irq=inputs.irq, heap_bytes=size, period_us=period,
                          count=inputs.count, seed=inputs.seed)
                for f in inputs.firmware for chip in inputs.chips for size in inputs.heap_sizes
                for period in inputs.periods_us]

    def tabulate(self, inputs: LabInputs, outcomes: Outcomes) -> ExperimentResult:
        rows, fits, series = [], [], []
        handlers: set[str] = set()
        pooled: dict[tuple[str, str], list[fig.LatencySample]] = {}
        for spec, o in outcomes.items():
            f = o.figures
            if not isinstance(f, fig.JitterFigures):
                continue
            lat = [s.latency_cycles for s in f.samples if s.cause != "not-enabled"]
            handlers.add(f"IRQ {f.irq} ({f.handler or 'no handler'})")
            rows.append((_short(spec.firmware), _chip_label(spec.chip), f.heap_bytes,
                         f.period_us, len(lat), min(lat) if lat else None, _pct(lat, 50), _pct(lat, 99),
                         max(lat) if lat else None, (max(lat) - min(lat)) if lat else None,
                         _us(max(lat) - min(lat), f.clock_hz) if lat else None, f.gc_pauses, _stop_cell(o)))
            if o.complete:
                key = (_short(spec.firmware), _chip_label(spec.chip))
                pooled.setdefault(key, []).extend(f.samples)
        for (fw, chip), samples in pooled.items():
            model = fit_model([Sample(0, s.latency_cycles, None, None, s.gc_active, s.heap_percent, s.cause)
                               for s in samples])
            fits.append((fw, chip, model.n, _round(model.intercept), _round(model.gc), _round(model.heap),
                         _round(model.r2, 4), model.note or ""))
            if model.intercept is not None:
                pts = tuple((s.heap_percent, float(s.latency_cycles)) for s in samples
                            if s.heap_percent is not None and s.cause != "not-enabled")
                series.append(Series(f"latency against heap use: {fw} on {chip}", "scatter", "heap in use (%)",
                                     "latency (cycles)", pts, (model.intercept, model.heap or 0.0), x_unit="%",
                                     y_unit="cycles"))
        tables = [
            Table(f"interrupt latency under injection of {', '.join(sorted(handlers))} (emulated)", "emulated",
                  (Column("firmware"), Column("chip"), Column("heap", "B"),
                   Column("period", "µs"), Column("samples"), Column("min", "cycles"), Column("p50", "cycles"),
                   Column("p99", "cycles"), Column("max", "cycles"), Column("jitter", "cycles"),
                   Column("jitter", "µs"), Column("GC pauses"), Column("run")), tuple(rows),
                  ("jitter = max − min latency; samples pended before the IRQ was enabled are left out",)),
            Table("fitted model: latency = a + b × gc_active + c × heap % (emulated)", "emulated",
                  (Column("firmware"), Column("chip"), Column("samples"), Column("a", "cycles"),
                   Column("b (GC active)", "cycles"), Column("c (per heap %)", "cycles"), Column("R²"),
                   Column("note")), tuple(fits),
                  ("gc_active is 1 when a collection was running as the interrupt was pended; a coefficient is "
                   "absent when its regressor never varied",)),
        ]
        return self._result(tables, outcomes, series=tuple(series),
                            claims=(Claim("jitter = 1.38 × GC pause + 42.6 × heap %, R² 0.92"),))


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


# -- priorities -----------------------------------------------------------------------------------------

class Priorities(Experiment):
    name = "priorities"
    description = "the priorities the firmware sets (read back after its initialisation), and what can preempt what"

    def expand(self, inputs: LabInputs) -> list[RunSpec]:
        return [make_spec("priorities", f.path, f.digest, chip) for f in inputs.firmware for chip in inputs.chips]

    def tabulate(self, inputs: LabInputs, outcomes: Outcomes) -> ExperimentResult:
        rows, pre = [], []
        for spec, o in outcomes.items():
            f = o.figures
            if not isinstance(f, fig.PriorityFigures):
                continue
            label = (_short(spec.firmware), _chip_label(spec.chip))
            for p in f.priorities:
                if not p.written and (not p.enabled or p.exception < 11):
                    continue  # a fault or a disabled IRQ the firmware never configured
                rows.append((*label, p.name, p.handler, f"0x{p.written:02X}", f"0x{p.implemented:02X}",
                             f.chip_bits, "yes" if p.enabled else "no"))
            pre += [(*label, a, b) for a, b in f.preempts]
        tables = [
            Table("priorities read back (emulated initialisation)", "emulated",
                  (Column("firmware"), Column("chip"), Column("exception"), Column("handler"), Column("written"),
                   Column("implemented"), Column("priority bits"), Column("enabled")), tuple(rows)),
            Table("what can preempt what", "emulated",
                  (Column("firmware"), Column("chip"), Column("can preempt"), Column("this")), tuple(pre)),
        ]
        return self._result(tables, outcomes)


# -- profile --------------------------------------------------------------------------------------------

class Profile(Experiment):
    name = "profile"
    description = "where the time goes: per function, exclusive and inclusive instructions, interrupts separated"
    top = 25

    def expand(self, inputs: LabInputs) -> list[RunSpec]:
        return [make_spec("profile", f.path, f.digest, chip, max_insns=inputs.max_insns)
                for f in inputs.firmware for chip in inputs.chips]

    def tabulate(self, inputs: LabInputs, outcomes: Outcomes) -> ExperimentResult:
        tables, series = [], []
        for spec, o in outcomes.items():
            f = o.figures
            if not isinstance(f, fig.ProfileFigures):
                continue
            total = f.instructions
            rows = []
            for c in f.functions[:self.top]:
                # A task switch "returns" on another stack: its calls cannot be matched, so its
                # inclusive count is no measurement (and can exceed the run).
                inclusive = c.inclusive_insns if c.inclusive_insns is not None and c.inclusive_insns <= total else None
                rows.append((c.name, c.calls or None, c.exclusive_insns, round(100 * c.exclusive_insns / total, 2),
                             c.exclusive_in_interrupts, inclusive))
            rest = f.functions[self.top:]
            if rest:
                excl = sum(c.exclusive_insns for c in rest)
                rows.append((f"({len(rest)} more)", None, excl, round(100 * excl / total, 2),
                             sum(c.exclusive_in_interrupts for c in rest), None))
            rows.append(("total", None, sum(c.exclusive_insns for c in f.functions), 100.0,
                         sum(c.exclusive_in_interrupts for c in f.functions), total))
            label = f"{_short(spec.firmware)} on {_chip_label(spec.chip)}"
            tables.append(Table(f"profile: {label} ({_stop_cell(o)}, {total:,} instructions)", "emulated",
                                (Column("function"), Column("calls"), Column("exclusive", "instructions"),
                                 Column("exclusive", "%"), Column("in interrupts", "instructions"),
                                 Column("inclusive", "instructions")), tuple(rows),
                                ("exclusive counts add up to the run's instruction count exactly; calls and "
                                 "inclusive counts come from returns seen on the same stack (none for handlers, "
                                 "functions that never return and task switches); inclusive excludes interrupts "
                                 "that preempted the call and adds every activation of a recursive function",)))
            series.append(Series(f"exclusive instructions: {label}", "bars", "function", "instructions",
                                 tuple((c.name, float(c.exclusive_insns)) for c in f.functions[:self.top])))
        return self._result(tables, outcomes, series=tuple(series))


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (Recursion(), Heap(), Footprint(), GcPause(), Jitter(),
                                                           Priorities(), Profile())}
