"""Which chips can run a given binary: instruction set first, then flash and RAM.

The instruction-set rule is "every instruction the binary may use exists on the chip":
- Arm M-profile: ARMv6-M runs on every M core; ARMv7-M needs Cortex-M3/M4/M7/M33; ARMv7E-M
  (the DSP extension) needs M4/M7/M33 (the M33s in the database all implement the DSP
  extension); ARMv8-M baseline/mainline need M33; ARMv8.1-M (M55/M85) matches nothing here.
  A hard-float binary (`hard_float=True`) also needs an FPU.
- RISC-V: the binary's base (RV32I or RV32E) and every single-letter extension must be on the
  chip; an RV32E binary runs on an RV32I core but not the reverse, and RV32 code does not run on
  the RV64 K210. Multi-letter `Z...` extensions are ignored.
- Xtensa and AVR: same architecture, and the same core when one is given.

Ordering (documented choice): chips that fit come first, tightest fit first (least RAM headroom,
then least flash headroom), because the smallest chip that still fits is usually the answer
sought; chips that do not fit follow, closest to fitting first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gomcu.chips.model import Chip
from gomcu.errors import ChipError

#: Which ELF-level Arm architecture each chip core implements, as a set of profiles it can run.
_ARM_RUNS: dict[str, frozenset[str]] = {
    "cortex-m0": frozenset({"ARMv6-M"}),
    "cortex-m0plus": frozenset({"ARMv6-M"}),
    "cortex-m3": frozenset({"ARMv6-M", "ARMv7-M"}),
    "cortex-m4": frozenset({"ARMv6-M", "ARMv7-M", "ARMv7E-M"}),
    "cortex-m4f": frozenset({"ARMv6-M", "ARMv7-M", "ARMv7E-M"}),
    "cortex-m7": frozenset({"ARMv6-M", "ARMv7-M", "ARMv7E-M"}),
    "cortex-m7f": frozenset({"ARMv6-M", "ARMv7-M", "ARMv7E-M"}),
    "cortex-m33": frozenset({"ARMv6-M", "ARMv7-M", "ARMv7E-M", "ARMv8-M.base", "ARMv8-M.main"}),
    "cortex-m33f": frozenset({"ARMv6-M", "ARMv7-M", "ARMv7E-M", "ARMv8-M.base", "ARMv8-M.main"}),
}
ARM_PROFILES = ("ARMv6-M", "ARMv7-M", "ARMv7E-M", "ARMv8-M.base", "ARMv8-M.main",
                "ARMv8.1-M.main")

#: (XLEN, base letter, extension letters) for each RISC-V chip core.
_RISCV_ISA: dict[str, tuple[int, str, frozenset[str]]] = {
    "rv32ec": (32, "e", frozenset("c")),
    "rv32i": (32, "i", frozenset()),
    "rv32imc": (32, "i", frozenset("mc")),
    "rv32imac": (32, "i", frozenset("mac")),
    "rv32imafc": (32, "i", frozenset("mafc")),
    "rv64gc": (64, "i", frozenset("mafdc")),
}
_RISCV_RE = re.compile(r"^rv(32|64)([ieg])([a-z]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Fit:
    """One candidate chip: headroom in bytes (negative = short by that much), and the verdict."""

    chip: Chip
    flash_headroom: int
    ram_headroom: int
    fits: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "chip": self.chip.name,
            "core": self.chip.core,
            "flash_bytes": self.chip.flash_bytes,
            "ram_bytes": self.chip.ram_bytes,
            "flash_headroom": self.flash_headroom,
            "ram_headroom": self.ram_headroom,
            "fits": self.fits,
            "tinygo_support": self.chip.tinygo_support,
        }


def parse_riscv(core: str) -> tuple[int, str, frozenset[str]]:
    """'RV32IMAC' -> (32, 'i', {'m','a','c'}); 'G' expands to IMAFD; Z* extensions dropped."""
    m = _RISCV_RE.match(core.split("_")[0])
    if not m:
        raise ChipError(f"unknown RISC-V core string {core!r} (expected e.g. RV32IMAC)")
    xlen, base, rest = int(m.group(1)), m.group(2).lower(), m.group(3).lower()
    letters = set(rest.split("z")[0].split("x")[0])
    if base == "g":
        base, letters = "i", letters | set("mafd")
    return xlen, base, frozenset(letters)


def isa_runs_on(arch: str, core: str | None, chip: Chip, hard_float: bool = False) -> bool:
    """True when code built for (`arch`, `core`) can execute on `chip`."""
    if chip.arch != arch:
        return False
    if hard_float and chip.fpu == "none":
        return False
    if core is None:
        return True
    if arch == "arm":
        if core not in ARM_PROFILES:
            raise ChipError(f"unknown Arm core string {core!r} "
                            f"(expected one of {', '.join(ARM_PROFILES)})")
        return core in _ARM_RUNS.get(chip.core, frozenset())
    if arch in ("riscv32", "riscv64"):
        xlen, base, letters = parse_riscv(core)
        chip_xlen, chip_base, chip_letters = _RISCV_ISA[chip.core]
        if xlen != chip_xlen or (base == "i" and chip_base == "e"):
            return False
        if hard_float and not ({"f", "d"} & chip_letters):
            return False
        return letters <= chip_letters
    return core.lower() == chip.core


def measure_fit(chip: Chip, flash_bytes: int, ram_bytes: int,
                headroom: Callable[[int], int] | None = None) -> Fit:
    """Headroom of one chip. When the image is loaded into RAM (no code flash), both share RAM.
    `headroom(ram)`: the RAM left on a chip with that much RAM, when the program needs more than
    its static `ram_bytes` (the RAM account: goroutine stacks on the heap, GC metadata)."""
    room_of = headroom or (lambda ram: ram - ram_bytes)
    if chip.code_in_ram or chip.flash_bytes == 0:
        room = room_of(chip.ram_bytes - flash_bytes)
        return Fit(chip, room, room, room >= 0)
    flash_room = chip.flash_bytes - flash_bytes
    ram_room = room_of(chip.ram_bytes)
    return Fit(chip, flash_room, ram_room, flash_room >= 0 and ram_room >= 0)


def rank_fits(
    arch: str,
    core: str | None,
    flash_bytes: int,
    ram_bytes: int,
    chips: Iterable[Chip] | None = None,
    *,
    hard_float: bool = False,
    headroom: Callable[[int], int] | None = None,
) -> list[Fit]:
    """Every chip whose instruction set runs the binary, with flash/RAM headroom.

    Chips that fit come first, tightest first; then those that do not, closest first. Capacity
    is total flash and total general SRAM (CCM/TCM excluded, see `Chip.ram_bytes`).
    """
    if flash_bytes < 0 or ram_bytes < 0:
        raise ChipError("flash and RAM sizes must not be negative")
    if chips is None:
        from gomcu.chips.loader import load_chips

        chips = load_chips()
    fits = [measure_fit(c, flash_bytes, ram_bytes, headroom)
            for c in chips if isa_runs_on(arch, core, c, hard_float)]

    def order(f: Fit) -> tuple[int, int, int, str]:
        if f.fits:
            return (0, f.ram_headroom, f.flash_headroom, f.chip.name)
        shortfall = -(min(f.ram_headroom, 0) + min(f.flash_headroom, 0))
        return (1, shortfall, 0, f.chip.name)

    return sorted(fits, key=order)
