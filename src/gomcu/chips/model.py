"""The chip database's value types: a memory region and a chip.

Plain frozen dataclasses so that analyses can hold, compare and hash them; the TOML files and
their validation live in `schema.py` and `loader.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Core names the data files may use, with the architecture family each belongs to.
CORE_ARCH: dict[str, str] = {
    "cortex-m0": "arm",
    "cortex-m0plus": "arm",
    "cortex-m3": "arm",
    "cortex-m4": "arm",
    "cortex-m4f": "arm",
    "cortex-m7": "arm",
    "cortex-m7f": "arm",
    "cortex-m33": "arm",
    "cortex-m33f": "arm",
    "rv32ec": "riscv32",
    "rv32i": "riscv32",
    "rv32imc": "riscv32",
    "rv32imac": "riscv32",
    "rv32imafc": "riscv32",
    "rv64gc": "riscv64",
    "xtensa-lx6": "xtensa",
    "xtensa-lx7": "xtensa",
    "xtensa-lx106": "xtensa",
    "avr": "avr",
}
ARCHES = ("arm", "riscv32", "riscv64", "xtensa", "avr")
REGION_KINDS = ("flash", "sram", "ccm", "tcm", "psram", "eeprom", "rom")
FPU_KINDS = ("none", "sp", "dp")
SUPPORT_LEVELS = ("supported", "partial", "unsupported")

#: Region kinds that count as general-purpose RAM (`Chip.ram_bytes`) and as tightly coupled
#: extra RAM (`Chip.extra_ram_bytes`): CCM/TCM are fast but often not DMA-able or not where a
#: default linker script puts `.data`/`.bss`, so they are kept apart.
RAM_KINDS = ("sram",)
EXTRA_RAM_KINDS = ("ccm", "tcm")


@dataclass(frozen=True)
class MemoryRegion:
    """One contiguous address range of one kind of memory, as the core sees it."""

    name: str
    kind: str
    origin: int
    length: int
    note: str = ""

    @property
    def end(self) -> int:
        """The first address after the region (exclusive end)."""
        return self.origin + self.length

    def contains(self, addr: int) -> bool:
        return self.origin <= addr < self.end

    def intersects(self, other: MemoryRegion) -> bool:
        """True when the two regions share at least one byte."""
        return self.origin < other.end and other.origin < self.end

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "origin": self.origin,
            "length": self.length,
        }
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class BootStage:
    """Code the chip's boot ROM takes from flash and runs before the application (RP2040 boot2).

    It fills `[origin, end)` at the start of flash, so the application's vector table is not at
    the flash origin; `runs_at` is where the ROM copies it to run (None: it runs in place).
    """

    name: str
    origin: int
    length: int
    runs_at: int | None = None
    note: str = ""

    @property
    def end(self) -> int:
        return self.origin + self.length

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "origin": self.origin, "length": self.length}
        if self.runs_at is not None:
            out["runs_at"] = self.runs_at
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Bootloader:
    """A bootloader some boards ship in the first `length` bytes of flash (UF2, SoftDevice).

    It belongs to the board, not the chip: the same chip runs bare or behind one, so a
    bootloader only explains an offset a script already has; it never moves the expected layout.
    """

    name: str
    length: int
    boards: tuple[str, ...]
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "length": self.length, "boards": list(self.boards),
                "source": self.source}


@dataclass(frozen=True)
class BootLayout:
    """How the chip starts: boot stages in flash and where the core finds the vector table.

    `vector_table` None means the start of the main flash region (the Cortex-M default).
    """

    source: str = ""
    vector_table: int | None = None
    stage2: BootStage | None = None
    bootloaders: tuple[Bootloader, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source}
        if self.vector_table is not None:
            out["vector_table"] = self.vector_table
        if self.stage2 is not None:
            out["stage2"] = self.stage2.to_dict()
        if self.bootloaders:
            out["bootloaders"] = [b.to_dict() for b in self.bootloaders]
        return out


@dataclass(frozen=True)
class Chip:
    """One microcontroller: memory map, core, clock, and what TinyGo can do with it.

    Memory figures are for the part named in `part` (the variant boards usually carry); every
    entry names the datasheet it came from.
    """

    name: str
    aliases: tuple[str, ...]
    vendor: str
    core: str
    arch: str
    clock_hz: int
    regions: tuple[MemoryRegion, ...]
    fpu: str
    mpu: bool
    nvic_priority_bits: int | None
    tinygo_targets: tuple[str, ...]
    tinygo_support: str
    tinygo_note: str
    datasheet: str
    part: str = ""
    link_flash: str = ""
    link_ram: str = ""
    notes: str = ""
    boot: BootLayout = BootLayout()
    source_file: str = field(default="", compare=False)

    # -- memory summaries -------------------------------------------------------------------
    def regions_of(self, *kinds: str) -> tuple[MemoryRegion, ...]:
        return tuple(r for r in self.regions if r.kind in kinds)

    @property
    def flash_bytes(self) -> int:
        """Total flash (internal or board flash that is memory-mapped for code)."""
        return sum(r.length for r in self.regions_of("flash"))

    @property
    def ram_bytes(self) -> int:
        """Total general-purpose SRAM (CCM/TCM excluded: see `extra_ram_bytes`)."""
        return sum(r.length for r in self.regions_of(*RAM_KINDS))

    @property
    def extra_ram_bytes(self) -> int:
        """Core-coupled memory (CCM, ITCM/DTCM), counted apart from `ram_bytes`."""
        return sum(r.length for r in self.regions_of(*EXTRA_RAM_KINDS))

    @property
    def main_flash(self) -> MemoryRegion:
        """The region a default linker script puts code in (`link_flash` in the data file)."""
        return self.region(self.link_flash)

    @property
    def main_ram(self) -> MemoryRegion:
        """The region a default linker script puts `.data`/`.bss`/stack in."""
        return self.region(self.link_ram)

    @property
    def code_in_ram(self) -> bool:
        """True when the firmware image is loaded into RAM (no memory-mapped flash for code)."""
        return self.main_flash.kind != "flash"

    @property
    def vector_table(self) -> int:
        """Where a bare image (no board bootloader) must put its vector table."""
        if self.boot.vector_table is not None:
            return self.boot.vector_table
        return self.main_flash.origin

    def bootloaders_of(self, length: int) -> tuple[Bootloader, ...]:
        """The known board bootloaders that take exactly the first `length` bytes of flash."""
        return tuple(b for b in self.boot.bootloaders if b.length == length)

    @property
    def clock_mhz(self) -> float:
        return self.clock_hz / 1e6

    def region(self, name: str) -> MemoryRegion:
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)

    def region_at(self, addr: int) -> MemoryRegion | None:
        """The region holding `addr`, or None."""
        for r in self.regions:
            if r.contains(addr):
                return r
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the CLI's `--format json`)."""
        return {
            "name": self.name,
            "part": self.part,
            "aliases": list(self.aliases),
            "vendor": self.vendor,
            "core": self.core,
            "arch": self.arch,
            "clock_hz": self.clock_hz,
            "fpu": self.fpu,
            "mpu": self.mpu,
            "nvic_priority_bits": self.nvic_priority_bits,
            "flash_bytes": self.flash_bytes,
            "ram_bytes": self.ram_bytes,
            "extra_ram_bytes": self.extra_ram_bytes,
            "main_flash": self.link_flash,
            "main_ram": self.link_ram,
            "regions": [r.to_dict() for r in self.regions],
            "tinygo": {
                "targets": list(self.tinygo_targets),
                "support": self.tinygo_support,
                "note": self.tinygo_note,
            },
            "datasheet": self.datasheet,
            "notes": self.notes,
            "boot": {**self.boot.to_dict(), "vector_table": self.vector_table},
        }
