"""`gomcu size`: flash and RAM footprint of a firmware ELF."""

from __future__ import annotations

import argparse

from gomcu.commands.base import (
    Command,
    EXIT_LIMIT_FAILED,
    EXIT_OK,
    add_chip_option,
    add_firmware_argument,
    add_format_option,
    chip_for_image,
    print_json,
)
from gomcu.errors import GomcuError


from gomcu.commands.options import positive_int


class SizeCommand(Command):
    name = "size"
    help = "flash and RAM footprint by section, region, symbol, Go package or compile unit"
    description = (
        "Flash (text + rodata + the load image of initialised data) and RAM (data + bss + stack "
        "sections) of a firmware ELF, like `tinygo build -size full` but from the ELF alone. "
        "Totals equal arm-none-eabi-size. With --chip, use is shown against the chip's memory "
        "and an overflow exits with status 1."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_firmware_argument(parser)
        add_chip_option(parser)
        parser.add_argument(
            "--by", choices=("section", "symbol", "package", "file"), default="package",
            help="how to group bytes (default: package); JSON always has packages and adds files with --by file",
        )
        parser.add_argument("--top", type=positive_int, metavar="N", default=None,
                            help="show the N largest groups (text default 20; JSON: all symbols)")
        add_format_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        from gomcu import image as image_mod
        from gomcu.limits import footprint
        from gomcu.report import footprint as report

        if args.top is not None and args.top < 1:
            raise GomcuError("--top must be at least 1")
        image = image_mod.load(args.firmware)
        chip = chip_for_image(args.chip, image) if args.chip else None
        fp = footprint.measure(image, chip)
        findings = footprint.check_fit(fp, chip) if chip else []
        packages = footprint.group(fp, "package", image)
        if args.format == "json":
            files = footprint.group(fp, "file", image) if args.by == "file" and image.dwarf else None
            print_json(report.to_json(image, fp, packages, files, args.top, chip.name if chip else None, findings))
        else:
            groups = packages if args.by == "package" else footprint.group(fp, args.by, image)
            report.render_text(image, fp, args.by, groups, args.top or 20, chip.name if chip else None, findings)
        return EXIT_LIMIT_FAILED if findings else EXIT_OK


COMMAND = SizeCommand()
