"""Text views of the chip database and of `--fits` rankings."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from gomcu.chips import Chip, Fit
from gomcu.report.console import stdout_console


def _kib(n: int) -> str:
    """KiB with no decimals when whole (512 B shows as 0.5)."""
    return f"{n // 1024}" if n % 1024 == 0 else f"{n / 1024:.1f}"


def _signed_kib(n: int) -> str:
    return ("-" if n < 0 else "+") + _kib(abs(n))


def print_table(chips: Sequence[Chip]) -> None:
    table = Table(title=f"{len(chips)} chips")
    for column, justify in (("name", "left"), ("core", "left"), ("clock MHz", "right"),
                            ("flash KiB", "right"), ("RAM KiB", "right"), ("TinyGo", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for c in chips:
        ram = _kib(c.ram_bytes) + (f" +{_kib(c.extra_ram_bytes)}" if c.extra_ram_bytes else "")
        table.add_row(escape(c.name), c.core, f"{c.clock_mhz:g}", _kib(c.flash_bytes), ram,
                      c.tinygo_support)
    stdout_console().print(table)


def print_fits(fits: Sequence[Fit], path: str, flash: int, ram: int, goroutine_stacks: int = 0) -> None:
    stacks = f" + {_kib(goroutine_stacks)} KiB goroutine stacks on the heap" if goroutine_stacks else ""
    table = Table(title=f"{escape(path)}: {_kib(flash)} KiB flash, {_kib(ram)} KiB static RAM{stacks}")
    for column in ("chip", "core", "flash free KiB", "heap free KiB", "fits", "TinyGo"):
        table.add_column(column)
    for f in fits:
        table.add_row(escape(f.chip.name), f.chip.core, _signed_kib(f.flash_headroom),
                      _signed_kib(f.ram_headroom), "yes" if f.fits else "no",
                      f.chip.tinygo_support)
    stdout_console().print(table)
