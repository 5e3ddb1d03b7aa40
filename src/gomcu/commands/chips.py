"""`gomcu chips`: list the chip database, filter it, or rank the chips a firmware fits.

    gomcu chips                      every chip
    gomcu chips stm32f4              name/alias/core/vendor substring filter
    gomcu chips --fits fw.elf        chips whose instruction set runs fw.elf, tightest fit first

Exit status: 0; 2 for a filter that matches nothing or bad input; with `--fits`, 1 when the
firmware fits no chip (a limit failed).
"""

from __future__ import annotations

import argparse
from gomcu.chips import Chip, filter_chips, load_chips, rank_fits
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
from gomcu.report import chips as report


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
            report.print_table(selected)
        return EXIT_OK

    def _fits(self, args: argparse.Namespace, selected: list[Chip]) -> int:
        from gomcu import image as image_module
        from gomcu.limits import footprint

        path = require_file(args.fits, "firmware file")
        from gomcu.limits.ram import account
        from gomcu.runtime.profile import detect_profile

        image = image_module.load(path)
        size = footprint.measure(image)
        ram = account(image, detect_profile(s.name for s in image.symbols))
        arch = image.arch.value
        fits = rank_fits(arch, image.core, size.flash_bytes, ram.needed_bytes, selected, hard_float=image.hard_float,
                         headroom=ram.headroom)
        if args.format == "json":
            print_json({
                "firmware": path,
                "arch": arch,
                "core": image.core,
                "hard_float": image.hard_float,
                "flash_bytes": size.flash_bytes,
                "ram_bytes": size.ram_bytes,
                "goroutine_stack_bytes": ram.goroutine_stack_bytes,
                "ram_needed_bytes": ram.needed_bytes,
                "fits": [f.to_dict() for f in fits],
            })
        else:
            report.print_fits(fits, path, size.flash_bytes, size.ram_bytes, ram.goroutine_stack_bytes)
        return EXIT_OK if any(f.fits for f in fits) else EXIT_LIMIT_FAILED


COMMAND = ChipsCommand()
