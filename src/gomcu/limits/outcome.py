"""How an emulated run ended, as every emulated figure must carry it.

A run is *complete* when the program exited (status 0) and printed no panic; *failed* when it
faulted, panicked, overflowed a stack or exited with a non-zero status (the firmware is broken:
the limit the run belongs to fails, with the function and line); *partial* for every other stop
(instruction budget, wall-clock limit, a spin or sleep nothing can end, a register nothing models,
and any stop reason the emulator adds later): what was measured is true only up to the stop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.findings import Finding, Location, Severity

if TYPE_CHECKING:
    from gomcu.emu import RunResult
    from gomcu.image import Image

COMPLETE, PARTIAL, FAILED = "complete", "partial", "failed"
_PANIC = re.compile(r"^(panic: .*|fatal error: .*)$", re.MULTILINE)
_ADDRESS = re.compile(r"\bat (0x[0-9a-fA-F]+)")


@dataclass(frozen=True)
class RunOutcome:
    """`state` is complete, partial or failed; `what` names a failure (fault, panic, stack
    overflow, exit status); `location` is where the run stopped, when the code says."""

    state: str
    stop: str
    message: str
    instructions: int
    what: str = ""
    location: Location | None = None
    run: str = "an emulated run"  # which run, for messages

    @property
    def complete(self) -> bool:
        return self.state == COMPLETE

    @property
    def failed(self) -> bool:
        return self.state == FAILED

    @property
    def overflow(self) -> bool:
        return self.failed and "stack overflow" in self.what

    def where(self) -> str:
        return f" in {self.location}" if self.location is not None else ""

    def partial_note(self) -> str:
        """What a figure from this run is: 'partial, up to the stop (...)', or '' when complete."""
        if self.complete:
            return ""
        cause = self.what if self.failed else self.stop
        return f"partial: {self.run} stopped after {self.instructions:,} instructions ({cause}{self.where()})"

    def failure(self, rule: str) -> Finding:
        """The error finding a failed run gives the limit it belongs to."""
        return Finding(rule, Severity.ERROR, f"{self.run}: the firmware {self.what}{self.where()} after "
                       f"{self.instructions:,} instructions in the emulator", self.location)


def outcome_of(result: RunResult, image: Image | None = None, run: str = "an emulated run") -> RunOutcome:
    """Classify one run of the emulator; `run` names it in messages."""
    panic = _PANIC.search(result.output or "")
    overflowed = [s for s in result.stacks if s.overflow]
    what = ""
    if panic is not None:
        what = f"stopped with {panic.group(1).strip()!r}"
    elif result.stop == "fault":
        what = f"faulted ({result.message})"
    elif overflowed:
        what = f"had a stack overflow ({', '.join(s.name for s in overflowed)})"
    elif result.stop == "exit" and result.exit_code not in (0, None):
        what = f"exited with status {result.exit_code}"
    if what and panic is not None and "stack overflow" not in what and overflowed:
        what += f" and a stack overflow ({', '.join(s.name for s in overflowed)})"
    state = FAILED if what else (COMPLETE if result.stop == "exit" else PARTIAL)
    return RunOutcome(state, result.stop, result.message, result.instructions, what,
                      _stop_location(result, image), run)


def _stop_location(result: RunResult, image: Image | None) -> Location | None:
    """The first address at the stop that lies in a function: the faulting pc, else its return
    address, else the address the stop message names."""
    candidates: list[int] = []
    if result.fault is not None:
        candidates += [result.fault.pc, result.fault.registers.get("lr", 0) & ~1]
    m = _ADDRESS.search(result.message or "")
    if m:
        candidates.append(int(m.group(1), 16))
    for address in candidates:
        if image is None:
            return Location(address=address)
        fn = image.function_at(address)
        if fn is None:
            continue
        line = image.line_for(address)
        return Location(address, fn.name, line.file if line else None, line.line if line else None)
    return Location(address=candidates[0]) if candidates else None


def worst(outcomes: list[RunOutcome]) -> RunOutcome | None:
    """The outcome that decides a limit measured by several runs: failed, then partial."""
    order = {FAILED: 0, PARTIAL: 1, COMPLETE: 2}
    return min(outcomes, key=lambda o: order[o.state], default=None)
