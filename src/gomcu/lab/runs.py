"""One lab run: what to measure (`RunSpec`), and `execute`, a pure function of the ELF's bytes, the
chip and the parameters that returns typed figures (`figures.py`) or why there are none.

Runs are executed in worker processes or on cluster workers that may not see the user's files,
so `execute` takes the ELF's bytes, not its path; a worker keeps the images it has loaded, by
content hash, for the next run of the same firmware."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from typing import Any

import gomcu
from gomcu.lab import figures as fig

#: Bump when a kind's figures change meaning: cached outcomes of another format are not reused.
FORMAT = 1

KINDS = tuple(fig.FIGURE_TYPES)


@dataclass(frozen=True)
class RunSpec:
    """A run: `kind` of measurement on the firmware whose bytes hash to `digest`, on `chip`, with
    `params` (sorted name/value pairs). `firmware` is the path, for display only."""

    kind: str
    firmware: str
    digest: str
    chip: str | None
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)

    @property
    def key(self) -> str:
        """The cache key: everything the outcome depends on, and nothing else (not the path)."""
        text = json.dumps([gomcu.__version__, FORMAT, self.kind, self.digest, self.chip, list(self.params)])
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class RunOutcome:
    """A run's result: `stop` is how the emulated run ended ("exit" for a complete one, "static"
    for analyses that run nothing, "error" when it could not be made at all, else the emulator's
    stop reason); figures of a run that stopped early cover only what ran."""

    key: str
    stop: str
    message: str
    figures: fig.Figures | None

    @property
    def complete(self) -> bool:
        return self.figures is not None and self.stop in ("exit", "static")

    def to_json(self, kind: str) -> dict[str, Any]:
        return {"key": self.key, "kind": kind, "stop": self.stop, "message": self.message,
                "figures": fig.to_json(self.figures) if self.figures is not None else None}

    @staticmethod
    def from_json(data: dict[str, Any]) -> RunOutcome:
        raw = data["figures"]
        return RunOutcome(data["key"], data["stop"], data["message"],
                          fig.from_json(data["kind"], raw) if raw is not None else None)


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_spec(kind: str, firmware: str, digest: str, chip: str | None, **params: Any) -> RunSpec:
    if kind not in KINDS:
        raise ValueError(f"unknown run kind {kind!r}")
    return RunSpec(kind, firmware, digest, chip, tuple(sorted((k, v) for k, v in params.items() if v is not None)))


def execute(spec: RunSpec, elf: bytes) -> RunOutcome:
    """Measure one run. Bad input and firmware the emulator cannot run become an outcome with
    stop "error" (a campaign reports it and goes on); a bug in gomcu still raises."""
    from gomcu.errors import GomcuError

    if digest_of(elf) != spec.digest:
        return RunOutcome(spec.key, "error", f"{spec.firmware}: the bytes given do not match the run's hash", None)
    try:
        image, model, profile = _loaded(spec.digest, elf)
        chip = _chip(spec.chip, image)
        return _KINDS[spec.kind](spec, image, model, profile, chip)
    except GomcuError as error:
        return RunOutcome(spec.key, "error", str(error), None)


# -- per-process cache of loaded firmware ------------------------------------------------------

_LOADED: dict[str, tuple[Any, Any, Any]] = {}
_DIR: str | None = None


def _loaded(digest: str, elf: bytes) -> tuple[Any, Any, Any]:
    global _DIR
    if digest not in _LOADED:
        from gomcu.code.model import model as code_model
        from gomcu.image import load
        from gomcu.limits.gc import resolve_profile

        if _DIR is None:
            _DIR = tempfile.mkdtemp(prefix="gomcu-lab-")
        path = os.path.join(_DIR, f"{digest[:16]}.elf")
        with open(path, "wb") as f:
            f.write(elf)
        image = load(path)
        if len(_LOADED) >= 8:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[digest] = (image, code_model(image), resolve_profile(image, None))
    return _LOADED[digest]


def _chip(name: str | None, image: Any) -> Any:
    if name is None:
        return None
    from gomcu.commands.base import chip_for_image

    return chip_for_image(name, image)


# -- the kinds -------------------------------------------------------------------------------------

def _stack(spec: RunSpec, image: Any, model: Any, profile: Any, chip: Any) -> RunOutcome:
    from gomcu.limits import stack

    report = stack.analyse(image, stack_size=spec.param("stack_size"))
    roots = tuple(fig.RootFigure(r.name, r.stack, r.bound_bytes, r.bounded, r.allotted_bytes) for r in report.roots)
    recursions = tuple(fig.RecursionFigure(" -> ".join((*r.cycle.functions, r.cycle.functions[0])), r.root,
                                           r.cycle.bytes_per_iteration, r.stack_bytes, r.max_depth)
                       for r in report.recursion)
    return RunOutcome(spec.key, "static", "", fig.StackFigures(roots, recursions, report.exception_frame))


def _stack_run(spec: RunSpec, image: Any, model: Any, profile: Any, chip: Any) -> RunOutcome:
    from gomcu import emu

    probes = []
    tasks = profile.tasks if profile else {}
    starts = [n for n in tasks.get("start", ()) if image.symbol(n)]
    allocators = [n for n in (profile.allocators() if profile else ()) if image.symbol(n)]
    if starts and allocators:
        probes.append(emu.StackProbe(starts[0], allocators[0], "goroutine"))
    result = emu.run(image, chip=spec.chip, probes=probes, max_insns=spec.param("max_insns", 200_000_000))
    stacks = tuple(fig.StackUseFigure(s.name, s.size, s.used, s.overflow) for s in result.stacks)
    return RunOutcome(spec.key, result.stop, result.message, fig.StackRunFigures(stacks))


def _footprint(spec: RunSpec, image: Any, model: Any, profile: Any, chip: Any) -> RunOutcome:
    from gomcu.limits import footprint

    fp = footprint.measure(image, chip)
    by: footprint.GroupBy = "package" if profile is not None and profile.name == "tinygo" else "file"
    groups = tuple(fig.GroupFigure(g.name, g.flash_bytes, g.ram_bytes) for g in footprint.group(fp, by, image))
    return RunOutcome(spec.key, "static", "", fig.FootprintFigures(fp.flash_bytes, fp.ram_bytes, fp.heap_bytes,
                                                                    groups))


def _gc(spec: RunSpec, image: Any, model: Any, profile: Any, chip: Any) -> RunOutcome:
    from gomcu.errors import GomcuError
    from gomcu.limits import gc_measure
    from gomcu.limits.gc import gc_kind_of

    if profile is None:
        raise GomcuError(f"{spec.firmware}: no runtime profile matches this firmware: no allocator to time")
    size = spec.param("heap_bytes")
    budget = spec.param("max_insns", gc_measure.DEFAULT_MAX_INSNS)
    if size is None:
        run = gc_measure.run_once(image, profile, chip=chip, max_insns=budget)
    else:
        with gc_measure.heap_resized(image, model, profile, size) as (patched, _note):
            run = gc_measure.run_once(patched, profile, chip=chip, max_insns=budget)
    kind, _evidence = gc_kind_of(image, profile)
    figures = fig.GcFigures(
        heap_bytes=size if size is not None else run.heap_bytes, gc_kind=kind,
        metadata_bytes=_metadata_bytes(image, profile, size), clock_hz=run.clock_hz,
        instructions=run.instructions, cycles=run.cycles, pause_function=run.pause_function,
        pauses_cycles=run.pauses_cycles, allocations=run.allocations, alloc_sizes=run.alloc_sizes,
        alloc_cycles=run.alloc_cycles, heap_high_water=run.heap_high_water)
    return RunOutcome(spec.key, run.stop if run.exit_code in (0, None) else "exit-error",
                      run.message or (f"exit code {run.exit_code}" if run.exit_code else ""), figures)


def _metadata_bytes(image: Any, profile: Any, size: int | None) -> int | None:
    from gomcu.limits.gc_budget import block_geometry

    memory = profile.memory
    start = image.symbol(memory.get("heap_start", "_heap_start"))
    end = image.symbol(memory.get("heap_end", "_heap_end"))
    block, bits = memory.get("gc_block_bytes"), memory.get("gc_state_bits_per_block")
    if start is None or end is None or not block or not bits:
        return None
    stop = start.address + size if size is not None else end.address
    return block_geometry(start.address, stop, int(block), int(bits)).metadata_bytes


def _jitter(spec: RunSpec, image: Any, model: Any, profile: Any, chip: Any) -> RunOutcome:
    from contextlib import nullcontext

    from gomcu.limits import gc_measure, irq_latency

    size = spec.param("heap_bytes")
    resized = gc_measure.heap_resized(image, model, profile, size) if size is not None else nullcontext((image, ""))
    irq = spec.param("irq")
    handler = next((v.handler for v in model.vector_table if v.number == 16 + irq), None)
    with resized as (target, _note):
        campaign = irq_latency.run_campaign(target, model, profile, chip, irq, handler=handler,
                                            count=spec.param("count", irq_latency.DEFAULT_COUNT),
                                            period_us=spec.param("period_us", irq_latency.DEFAULT_PERIOD_US),
                                            seed=spec.param("seed", 1))
    samples = tuple(fig.LatencySample(s.latency_cycles, s.gc_active, s.heap_percent, s.cause) for s in campaign.samples)
    heap = size if size is not None else irq_latency.heap_bytes(image, profile)
    figures = fig.JitterFigures(campaign.irq, campaign.handler, heap, spec.param("period_us"), campaign.clock_hz,
                                samples, campaign.gc_pauses)
    return RunOutcome(spec.key, campaign.stop, campaign.stop_message, figures)


def _priorities(spec: RunSpec, image: Any, model: Any, profile: Any, chip: Any) -> RunOutcome:
    from gomcu.limits import irq_priorities, irq_static, stack

    stacks = {r.name: (r.bound_bytes, r.bounded) for r in stack.analyse(image).roots}
    counter = irq_static.InsnCounter(model)
    handlers = tuple(irq_static.analyse_handler(image, model, r, profile, stacks, counter)
                     for r in irq_static.handler_roots(model))
    state = irq_priorities.read_back(image, model, handlers, chip)
    # Only the initialisation runs (an instruction budget ends it on purpose): the stop is said as
    # it was, never turned into "exit".
    return RunOutcome(spec.key, state.stop, "priorities read back after the initialisation run", fig.PriorityFigures(state.chip_bits, state.prigroup, state.priorities,
                                                              state.preempts))


def _profile(spec: RunSpec, image: Any, model: Any, profile: Any, chip: Any) -> RunOutcome:
    from gomcu.lab.profiling import profile_run

    return profile_run(spec, image, model)


_KINDS = {"stack": _stack, "stack-run": _stack_run, "footprint": _footprint, "gc": _gc, "jitter": _jitter,
          "priorities": _priorities, "profile": _profile}
