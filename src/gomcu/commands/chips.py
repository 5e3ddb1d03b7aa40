"""`gomcu chips`: list the chip database, filter it, or rank the chips a firmware fits.

    gomcu chips                      every chip
    gomcu chips stm32f4              name/alias/core/vendor substring filter
    gomcu chips --fits fw.elf        chips whose instruction set runs fw.elf, tightest fit first

Exit status: 0; 2 for a filter that matches nothing or bad input; with `--fits`, 1 when the
firmware fits no chip (a limit failed).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from gomcu.chips import Chip, Fit, load_chips, rank_fits
from gomcu.chips.loader import did_you_mean
from gomcu.commands.base import (
    EXIT_LIMIT_FAILED,
    EXIT_OK,
    Command,
    add_format_option,
    print_json,
    require_file,
)
from gomcu.errors import ChipError


def filter_chips(chips: Sequence[Chip], text: str | None) -> list[Chip]:
    """Chips whose name, part, an alias, core, architecture or vendor contains `text`."""
    if not text:
        return list(chips)
    needle = text.lower()
    out = []
    for chip in chips:
        haystack = [chip.name, chip.part, chip.core, chip.arch, chip.vendor, *chip.aliases]
        if any(needle in field.lower() for field in haystack):
            out.append(chip)
    return out


def _kib(n: int) -> str:
    """KiB with no decimals when whole (512 B shows as 0.5)."""
    return f"{n // 1024}" if n % 1024 == 0 else f"{n / 1024:.1f}"


def _signed_kib(n: int) -> str:
    return ("-" if n < 0 else "+") + _kib(abs(n))


class ChipsCommand(Command):
    name = "chips"
    help = "list the chip database, or the chips a firmware ELF fits"
    description = (
        "List microcontrollers known to gomcu (memory map, core, clock, TinyGo support), "
        "filtered by a substring of name, alias, core or vendor; with --fits, rank the chips "
        "whose instruction set runs the firmware by flash/RAM headroom (tightest fit first)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("filter", nargs="?", metavar="FILTER",
                            help="substring of name, alias, core or vendor (case-insensitive)")
        add_format_option(parser)
        parser.add_argument("--fits", metavar="FIRMWARE.elf",
                            help="rank chips that can run this firmware ELF")

    def run(self, args: argparse.Namespace) -> int:
        chips = load_chips()
        selected = filter_chips(chips, args.filter)
        if not selected:
            words = {c.name.lower() for c in chips} | {a for c in chips for a in c.aliases}
            raise ChipError(f"no chip matches {args.filter!r}{did_you_mean(args.filter, words)}")
        if args.fits:
            return self._fits(args, selected)
        if args.format == "json":
            print_json({"chips": [c.to_dict() for c in selected]})
        else:
            _print_table(selected)
        return EXIT_OK

    def _fits(self, args: argparse.Namespace, selected: list[Chip]) -> int:
        path = require_file(args.fits, "firmware file")
        try:
            from gomcu import image as image_module
            from gomcu.limits import footprint
        except ImportError as error:  # the ELF loader is another module's job
            raise ChipError(f"--fits is not available in this build ({error})") from None
        image = image_module.load(path)
        size = footprint.measure(image)
        arch = str(getattr(image.arch, "value", image.arch))
        fits = rank_fits(arch, image.core, size.flash_bytes, size.ram_bytes, selected,
                         hard_float=bool(getattr(image, "hard_float", False)))
        if args.format == "json":
            print_json({
                "firmware": path,
                "arch": arch,
                "core": image.core,
                "hard_float": bool(getattr(image, "hard_float", False)),
                "flash_bytes": size.flash_bytes,
                "ram_bytes": size.ram_bytes,
                "fits": [f.to_dict() for f in fits],
            })
        else:
            _print_fits(fits, path, size.flash_bytes, size.ram_bytes)
        return EXIT_OK if any(f.fits for f in fits) else EXIT_LIMIT_FAILED


def _print_table(chips: Sequence[Chip]) -> None:
    from rich.table import Table

    from gomcu.report.console import stdout_console

    table = Table(title=f"{len(chips)} chips")
    for column, justify in (("name", "left"), ("core", "left"), ("clock MHz", "right"),
                            ("flash KiB", "right"), ("RAM KiB", "right"), ("TinyGo", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for c in chips:
        ram = _kib(c.ram_bytes) + (f" +{_kib(c.extra_ram_bytes)}" if c.extra_ram_bytes else "")
        table.add_row(c.name, c.core, f"{c.clock_mhz:g}", _kib(c.flash_bytes), ram,
                      c.tinygo_support)
    stdout_console().print(table)


def _print_fits(fits: Sequence[Fit], path: str, flash: int, ram: int) -> None:
    from rich.table import Table

    from gomcu.report.console import stdout_console

    table = Table(title=f"{path}: {_kib(flash)} KiB flash, {_kib(ram)} KiB RAM")
    for column in ("chip", "core", "flash free KiB", "RAM free KiB", "fits", "TinyGo"):
        table.add_column(column)
    for f in fits:
        table.add_row(f.chip.name, f.chip.core, _signed_kib(f.flash_headroom),
                      _signed_kib(f.ram_headroom), "yes" if f.fits else "no",
                      f.chip.tinygo_support)
    stdout_console().print(table)


COMMAND = ChipsCommand()
