"""The emulator: run a Cortex-M firmware ELF on a modelled board and measure it.

    from gomcu.emu import run, StackProbe, AllocProbe, FunctionProbe, Injection
    result = run(image, board="lm3s6965evb", max_insns=50_000_000,
                 probes=[StackProbe("internal/task.start", "runtime.alloc"),
                         AllocProbe("runtime.alloc"), FunctionProbe("runtime.GC")],
                 injections=[Injection(irq=5, period_cycles=20_000)])
    result.output, result.exit_code, result.instructions, result.stacks, result.interrupts

The emulator knows nothing about Go: probes name functions, the caller chooses them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from gomcu.emu import clock

if TYPE_CHECKING:
    from gomcu.emu.boards import BOARDS, Board, board_from_chip, find_board
    from gomcu.emu.hooks import Hook
    from gomcu.emu.probes import AllocProbe, FunctionProbe, Injection, SpanProbe, StackProbe
    from gomcu.emu.result import (
        Allocation,
        Fault,
        FunctionTiming,
        HookUse,
        InterruptSample,
        MmioRecord,
        MpuState,
        NvicState,
        RunResult,
        Span,
        StackUse,
    )

    Probe = StackProbe | FunctionProbe | AllocProbe | SpanProbe

#: The module of each public name, imported when the name is first used: a caller that needs
#: only `clock` or `emulator_path` (a static check, `gomcu --version`) loads no board or result type.
_HOMES = {
    **dict.fromkeys(("BOARDS", "Board", "board_from_chip", "find_board", "guess_board"), "boards"),
    "Hook": "hooks",
    **dict.fromkeys(("AllocProbe", "FunctionProbe", "Injection", "SpanProbe", "StackProbe"), "probes"),
    **dict.fromkeys(("Allocation", "Fault", "FunctionTiming", "HookUse", "InterruptSample", "MmioRecord",
                     "MpuState", "NvicState", "RunResult", "Span", "StackUse"), "result"),
}


if not TYPE_CHECKING:  # the type checker reads the imports above

    def __getattr__(name: str) -> Any:
        if name == "Probe":
            from gomcu.emu.probes import AllocProbe, FunctionProbe, SpanProbe, StackProbe

            value = StackProbe | FunctionProbe | AllocProbe | SpanProbe
        elif name in _HOMES:
            value = getattr(importlib.import_module(f"gomcu.emu.{_HOMES[name]}"), name)
        else:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals()[name] = value
        return value


__all__ = [
    "BOARDS", "Allocation", "AllocProbe", "Board", "Fault", "FunctionProbe", "FunctionTiming", "Hook", "HookUse",
    "Injection",
    "InterruptSample", "MmioRecord", "MpuState", "NvicState", "RunResult", "Span", "SpanProbe", "StackProbe", "StackUse", "board_from_chip", "choose_board",
    "emulator_path", "fallback_warning", "find_board", "machine_timing", "native_available", "run",
]


_progress_listener: ContextVar[Callable[[int, int], None] | None] = ContextVar("gomcu_emu_progress", default=None)


@contextmanager
def progress_to(listener: Callable[[int, int], None] | None) -> Iterator[None]:
    """Every run inside the block reports (instructions done, budget) to `listener`, unless it is
    given its own `progress`: how `gomcu check` shows progress for the runs its analyses make."""
    token = _progress_listener.set(listener)
    try:
        yield
    finally:
        _progress_listener.reset(token)


def native_available() -> bool:
    """Whether the compiled block hook loads (imported on demand: it loads unicorn)."""
    from gomcu.emu.native import native_available as available

    return available()


def emulator_path() -> str:
    """Which time base runs will use, for `gomcu --version` and the benchmarks."""
    from gomcu.emu import native

    if native.native_available():
        return "native block hook (C)"
    reason = native.unavailable_reason()
    if reason == "GOMCU_EMU_PURE is set":
        return f"pure-Python hook ({reason})"
    return f"pure-Python hook, about 10x slower: {reason}; {native.NATIVE_HINT}"


def fallback_warning() -> str | None:
    """A one-line warning when a run in this process fell back to the pure-Python time base."""
    import sys

    if "gomcu.emu.native" not in sys.modules:
        return None  # no run in this process: nothing to warn about (and no unicorn import)
    from gomcu.emu import native

    reason = native.fell_back()
    if not reason:
        return None
    return f"the emulator ran without its native hook, about 10x slower ({reason}); {native.NATIVE_HINT}"


def machine_timing(core: str) -> "clock.CoreTiming":
    """The cycle model's exception entry/exit/tail-chain costs for a core."""
    return clock.timing_for(core)


def choose_board(image: Any, board: str | Board | None = None, chip: str | None = None) -> tuple[Board, str]:
    """The board to run `image` on, and why (named, from the chip, or guessed from the ELF)."""
    from gomcu.emu.boards import Board, board_from_chip, find_board, guess_board

    if isinstance(board, Board):
        return board, "given"
    if board:
        return find_board(board), "given with --board"
    if chip:
        from gomcu.chips import find_chip

        b = board_from_chip(find_chip(chip))
        return b, f"from chip {chip}"
    from gomcu.chips.detect import detect_chip

    found = detect_chip(image)
    if found is not None:
        from gomcu.chips import find_chip

        return board_from_chip(find_chip(found.chip)), f"auto-detected chip {found.chip} ({found.why})"
    uses = _literal_words(image)
    b = guess_board(image.core, image.hard_float, uses)
    why = "UART address used by the code" if any(
        s.base <= u < s.base + 0x1000 for s in b.uarts[:1] for u in uses) else f"default for {image.core}" + (
        " with hard float" if image.hard_float else "")
    return b, f"auto-detected ({why})"


def _literal_words(image: Any) -> set[int]:
    """4 KiB pages of peripheral addresses the code uses: literal-pool words, and the constants
    Thumb-2 builds in registers (MOV.W with a modified immediate, MOVW/MOVT), which is how GCC
    loads 0x40004000 (the CMSDK UART of the mps2 boards)."""
    words: set[int] = set()
    for sec in image.sections:
        if sec.alloc and sec.exec and not sec.nobits:
            data = image.section_bytes(sec)
            for i in range(0, len(data) - 3, 4):
                w = int.from_bytes(data[i:i + 4], "little")
                if 0x40000000 <= w < 0x40100000:
                    words.add(w & ~0xFFF)
            words.update(w & ~0xFFF for w in _thumb2_constants(data) if 0x40000000 <= w < 0x40100000)
    return words


def _thumb2_constants(data: bytes) -> set[int]:
    """Values of MOV.W (T2, ThumbExpandImm) and MOVT over MOVW found at any halfword."""
    out: set[int] = set()
    halves = [int.from_bytes(data[i:i + 2], "little") for i in range(0, len(data) - 1, 2)]
    low: dict[int, int] = {}
    for k in range(len(halves) - 1):
        hw1, hw2 = halves[k], halves[k + 1]
        if hw2 & 0x8000:
            continue
        rd = (hw2 >> 8) & 0xF
        if hw1 & 0xFBEF == 0xF04F:  # MOV{S}.W Rd, #const
            imm12 = ((hw1 >> 10) & 1) << 11 | ((hw2 >> 12) & 7) << 8 | (hw2 & 0xFF)
            out.add(_expand_imm(imm12))
        elif hw1 & 0xFBF0 in (0xF240, 0xF2C0):  # MOVW / MOVT
            imm16 = (hw1 & 0xF) << 12 | ((hw1 >> 10) & 1) << 11 | ((hw2 >> 12) & 7) << 8 | (hw2 & 0xFF)
            if hw1 & 0xFBF0 == 0xF240:
                low[rd] = imm16
            elif rd in low:
                out.add(imm16 << 16 | low.pop(rd))
    return out


def _expand_imm(imm12: int) -> int:
    """ARMv7-M ThumbExpandImm (A5.3.2)."""
    byte = imm12 & 0xFF
    if imm12 >> 10 == 0:
        kind = (imm12 >> 8) & 3
        return (byte, byte << 16 | byte, byte << 24 | byte << 8, byte * 0x01010101)[kind]
    value = 0x80 | (imm12 & 0x7F)
    rot = imm12 >> 7
    return ((value >> rot) | (value << (32 - rot))) & 0xFFFFFFFF


def run(image: Any, board: str | Board | None = None, *, chip: str | None = None,
        max_insns: int = 200_000_000, timeout: float | None = 60.0, probes: Iterable[Probe] = (),
        injections: Iterable[Injection] = (), stdin: bytes = b"", native: bool = True,
        progress: Callable[[int, int], None] | None = None, hooks: Iterable[Hook] = (),
        milestones: Iterable[str] = (), profile_blocks: bool = False,
        snapshot: bool = False) -> RunResult:
    """Run the firmware to exit, budget, timeout or fault and return what was measured.
    With `snapshot`, the result keeps the image's writable sections as they were at the end
    (`RunResult.ram`), for analyses that read the runtime's own bookkeeping (an RTOS's TCBs).

    Raises EmulationError for unusable input (not ARM, memory outside the board, corrupt
    vector table, unknown probe function); runaway firmware returns a RunResult whose
    `stop` says why (budget, timeout, spin, deadlock, fault). `hooks` (boundary functions the
    emulator answers itself) apply on rehosted chip boards only; `milestones` are functions whose
    first entry is recorded (instructions executed before it) in `RunResult.reached`. `profile_blocks` records the
    instructions run per translation block (`RunResult.blocks`; slower)."""
    from gomcu.emu.machine import Machine
    from gomcu.emu.probes import AllocProbe, FunctionProbe, SpanProbe, StackProbe

    b, why = choose_board(image, board, chip)
    probes = tuple(probes)
    progress = progress or _progress_listener.get()
    m = Machine(image, b, board_reason=why,
                stack_probes=tuple(p for p in probes if isinstance(p, StackProbe)),
                function_probes=tuple(p for p in probes if isinstance(p, FunctionProbe)),
                alloc_probes=tuple(p for p in probes if isinstance(p, AllocProbe)),
                span_probes=tuple(p for p in probes if isinstance(p, SpanProbe)),
                injections=tuple(injections), max_insns=max_insns, timeout=timeout, stdin=stdin,
                prefer_native=native, progress=progress, hooks=tuple(hooks), milestones=tuple(milestones),
                profile_blocks=profile_blocks, snapshot=snapshot)
    return m.run()
