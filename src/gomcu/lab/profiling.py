"""The `profile` run: where an emulated run's instructions go, per function.

Exclusive counts come from the emulator's per-block attribution (exact: they add up to the run's
instruction count), split into thread and handler mode; inclusive counts from a function probe on
every function the code model knows (a call's instructions, less those of interrupts that
preempted it). A recursive function's inclusive count adds every activation, nested ones
included."""

from __future__ import annotations

from typing import Any

from gomcu.lab import figures as fig
from gomcu.lab.runs import RunOutcome, RunSpec

UNKNOWN = "(no function)"


def profile_run(spec: RunSpec, image: Any, model: Any) -> RunOutcome:
    from gomcu import emu

    names = [f.name for f in model.functions if image.symbol(f.name) is not None]
    probes = [emu.FunctionProbe(n) for n in names]
    result = emu.run(image, chip=spec.chip, probes=probes, profile_blocks=True,
                     max_insns=spec.param("max_insns", 200_000_000))
    return RunOutcome(spec.key, result.stop, result.message,
                      fig.ProfileFigures(result.instructions, result.clock_hz, function_costs(image, result)))


def function_costs(image: Any, result: Any) -> tuple[fig.FunctionCost, ...]:
    """Per-function costs of a run made with `profile_blocks` (and, for calls and inclusive
    counts, function probes), most exclusive instructions first."""
    thread: dict[str, int] = {}
    handler: dict[str, int] = {}
    for address, in_thread, in_handler in result.blocks:
        f = image.function_at(address)
        name = f.name if f is not None else UNKNOWN
        thread[name] = thread.get(name, 0) + in_thread
        handler[name] = handler.get(name, 0) + in_handler
    timing = {t.name: t for t in result.functions}
    costs = []
    for name in sorted(set(thread) | set(handler) | {n for n, t in timing.items() if t.calls}):
        t = timing.get(name)
        costs.append(fig.FunctionCost(
            name, t.calls if t is not None else None, thread.get(name, 0) + handler.get(name, 0),
            handler.get(name, 0), t.total_excl_interrupts if t is not None and t.calls else None))
    costs.sort(key=lambda c: (-c.exclusive_insns, c.name))
    return tuple(costs)
