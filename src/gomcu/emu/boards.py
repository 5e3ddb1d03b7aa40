"""Boards: the memory map and devices the emulator builds a machine from, kept as data.

A board names its core, clock, RAM/ROM regions (with mirrors), the UART it prints through and
the NVIC's size. Two QEMU machines are modelled so that QEMU can be the oracle for program
output, plus a generic board derived from any Cortex-M chip in the chip database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.chips.runmodel import TimerSpec
from gomcu.emu.cmsdk_timer import spec as cmsdk_timer_spec
from gomcu.errors import EmulationError

if TYPE_CHECKING:
    from gomcu.chips.runmodel import RunModel


@dataclass(frozen=True)
class MemoryMap:
    """One block of memory: `rom` is read/execute only (writes fault), `ram` is read/write/execute.

    `mirror_of` names the region whose storage this one aliases (QEMU maps mirrors this way)."""

    name: str
    origin: int
    length: int
    kind: str = "ram"  # "rom" | "ram"
    mirror_of: str | None = None


@dataclass(frozen=True)
class UartSpec:
    """A UART whose transmitted bytes are program output. `kind`: "stellaris" (PL011-like) or "cmsdk"."""

    kind: str
    base: int


@dataclass(frozen=True)
class Board:
    name: str
    cpu: str                       # cortex-m0, cortex-m3, cortex-m4, cortex-m4f, cortex-m7, ...
    clock_hz: int
    memory: tuple[MemoryMap, ...]
    uarts: tuple[UartSpec, ...] = ()
    priority_bits: int = 3
    num_irqs: int = 32
    note: str = ""
    #: the chip family's run model (boot, info pages, timers, named blocks); None on QEMU boards
    run: RunModel | None = None
    #: peripheral bit-band alias at 0x42000000 (and SRAM's at 0x22000000)
    bitband: bool = True
    #: where the chip's boot leaves the vector table (the chip database's `boot`), chip boards only
    vector_table: int | None = None
    #: timers of a QEMU board (the mps2's CMSDK timers), made like a run model's
    timers: tuple[TimerSpec, ...] = ()
    stellaris_sysctl: int | None = None  # base of an LM3S system control block (gomcu.emu.stellaris_sysctl)
    ssp: tuple[int, ...] = ()  # bases of PL022 SSP/SSI ports (gomcu.emu.pl022)

    @property
    def has_fpu(self) -> bool:
        return self.cpu.endswith("f")

    @property
    def rehosted(self) -> bool:
        """A real chip's board: the runtime's hardware boundary may be intercepted (hooks)."""
        return self.run is not None


#: QEMU's lm3s6965evb (hw/arm/stellaris.c), what TinyGo's cortex-m-qemu target runs on: flash
#: 256 KiB at 0, SRAM 64 KiB at 0x20000000, UART0 at 0x4000C000, 3 NVIC priority bits
#: (LM3S6965 data sheet). Clock: the chip database's 50 MHz.
LM3S6965EVB = Board(
    name="lm3s6965evb",
    cpu="cortex-m3",
    clock_hz=50_000_000,
    memory=(
        MemoryMap("flash", 0x00000000, 0x40000, "rom"),
        MemoryMap("sram", 0x20000000, 0x10000, "ram"),
    ),
    uarts=(UartSpec("stellaris", 0x4000C000), UartSpec("stellaris", 0x4000D000),
           UartSpec("stellaris", 0x4000E000)),
    priority_bits=8,  # QEMU 7.2's NVIC implements all 8 bits; the LM3S6965 has 3 (use --chip)
    num_irqs=64,
    note="QEMU lm3s6965evb: UART0 0x4000C000",
    stellaris_sysctl=0x400FE000,
    ssp=(0x40008000,),  # SSI0, wired to the board's OLED
)


def _mps2(name: str, cpu: str) -> Board:
    # QEMU hw/arm/mps2.c (mps2_common_init, FPGA_AN385; AN386 shares the map): ZBT SSRAM1
    # 0x00000000 4 MiB mirrored at 0x00400000, ZBT SSRAM2&3 0x20000000 4 MiB mirrored at
    # 0x20400000, block RAM 0x01000000 16 KiB mirrored three times, PSRAM 0x21000000 16 MiB,
    # CMSDK APB UARTs at 0x40004000/5000/6000/7000/9000, 32 IRQs, SYSCLK 25 MHz.
    return Board(
        name=name,
        cpu=cpu,
        clock_hz=25_000_000,
        memory=(
            MemoryMap("ssram1", 0x00000000, 0x400000, "ram"),
            MemoryMap("ssram1_m", 0x00400000, 0x400000, "ram", mirror_of="ssram1"),
            MemoryMap("blockram", 0x01000000, 0x4000, "ram"),
            MemoryMap("blockram_m1", 0x01004000, 0x4000, "ram", mirror_of="blockram"),
            MemoryMap("blockram_m2", 0x01008000, 0x4000, "ram", mirror_of="blockram"),
            MemoryMap("blockram_m3", 0x0100C000, 0x4000, "ram", mirror_of="blockram"),
            MemoryMap("ssram23", 0x20000000, 0x400000, "ram"),
            MemoryMap("ssram23_m", 0x20400000, 0x400000, "ram", mirror_of="ssram23"),
            MemoryMap("psram", 0x21000000, 0x1000000, "ram"),
        ),
        uarts=tuple(UartSpec("cmsdk", b) for b in (0x40004000, 0x40005000, 0x40006000, 0x40007000, 0x40009000)),
        priority_bits=8,  # as QEMU 7.2 (all 8 bits); the AN385/AN386 images have 3 (use --chip)
        num_irqs=32,
        note=f"QEMU {name}: CMSDK UART0 0x40004000",
        # CMSDK APB TIMER0/TIMER1 at PCLK = SYSCLK (AN385 application note: IRQ 8 and 9; QEMU mps2.c)
        timers=(cmsdk_timer_spec(0x40000000, 8, 25_000_000, "TIMER0"),
                cmsdk_timer_spec(0x40001000, 9, 25_000_000, "TIMER1")),
    )


MPS2_AN385 = _mps2("mps2-an385", "cortex-m3")
MPS2_AN386 = _mps2("mps2-an386", "cortex-m4f")

BOARDS: dict[str, Board] = {b.name: b for b in (LM3S6965EVB, MPS2_AN385, MPS2_AN386)}


def find_board(name: str) -> Board:
    try:
        return BOARDS[name.lower()]
    except KeyError:
        raise EmulationError(f"unknown board {name!r} (known: {', '.join(sorted(BOARDS))}; or use --chip)") from None


def board_from_chip(chip: object) -> Board:
    """A generic board: the chip's memory regions (flash read-only), no UART, its NVIC bits and clock.

    If the chip is one of the QEMU machines above, that board is used (so that its UART
    prints) with the chip's clock and its number of implemented priority bits (QEMU's board
    models implement all 8)."""
    from dataclasses import replace

    from gomcu.chips import Chip

    assert isinstance(chip, Chip)
    for alias in (chip.name, *chip.aliases):
        if alias.lower() in BOARDS:
            b = BOARDS[alias.lower()]
            return replace(b, name=f"{b.name} ({chip.name})", clock_hz=chip.clock_hz,
                           priority_bits=chip.nvic_priority_bits or b.priority_bits)
    if chip.arch != "arm":
        raise EmulationError(f"{chip.name}: the emulator models Cortex-M only (core {chip.core})")
    from gomcu.chips.runmodel import run_model_for

    memory = tuple(
        MemoryMap(r.name, r.origin, r.length, "rom" if r.kind in ("flash", "rom") else "ram")
        for r in chip.regions if r.kind not in ("eeprom",)
    )
    run = run_model_for(chip.name)
    if run is None:
        return Board(
            name=f"generic:{chip.name}",
            cpu=chip.core,
            clock_hz=chip.clock_hz,
            memory=memory,
            uarts=(),
            priority_bits=chip.nvic_priority_bits or 3,
            num_irqs=240,
            note=f"generic Cortex-M board from the chip database entry {chip.name} (no run model: no timer, "
                 "boot stage or information pages)",
        )
    taken = [(m.origin, m.origin + m.length) for m in memory]
    info = tuple(MemoryMap(p.name, p.origin, p.length, "ram" if p.writable else "rom")
                 for p in run.info if not any(a < p.origin + p.length and p.origin < b for a, b in taken))
    return Board(
        name=chip.name,
        cpu=chip.core,
        clock_hz=chip.clock_hz,
        memory=memory + info,
        uarts=(),
        priority_bits=chip.nvic_priority_bits or 3,
        num_irqs=run.num_irqs,
        note=f"{chip.name} from the chip database and the {run.family} run model ({run.source})",
        run=run,
        bitband=run.bitband,
        vector_table=chip.vector_table,
    )


def guess_board(core: str, hard_float: bool, uses: set[int]) -> Board:
    """Pick a QEMU board for an ELF: by the UART address its code references, else by core.

    `uses` holds 32-bit literal words found in the image (candidate MMIO addresses)."""
    if any(0x40004000 <= u < 0x4000A000 for u in uses) and not any(0x4000C000 <= u < 0x4000F000 for u in uses):
        return MPS2_AN386 if hard_float else MPS2_AN385
    if any(0x4000C000 <= u < 0x4000F000 for u in uses):
        return LM3S6965EVB
    if hard_float:
        return MPS2_AN386
    return LM3S6965EVB
