"""`gomcu gc`: allocation sites, no-GC feasibility, heap budget and measured GC pauses."""

from __future__ import annotations

import argparse

from gomcu.commands.base import (
    Command,
    EXIT_LIMIT_FAILED,
    EXIT_OK,
    add_chip_option,
    add_firmware_argument,
    add_format_option,
    add_runtime_option,
    chip_for_image,
    print_json,
    require_file,
)
from gomcu.commands.options import add_run_limits
from gomcu.findings import Status


class GcCommand(Command):
    name = "gc"
    help = "allocation sites and their roots, -gc=none/leaking feasibility, heap budget, measured GC pauses"
    description = (
        "Finds every call of the runtime's allocator with its source line and the roots (main, goroutines, "
        "interrupt handlers) that reach it; says whether -gc=none or -gc=leaking would work; adds up the heap "
        "the program really has; with --run, measures collections in the emulator, and with --sweep re-runs "
        "with smaller heaps. Exits 1 when an error-level finding (allocation in an interrupt) is found."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_firmware_argument(parser)
        add_chip_option(parser)
        add_runtime_option(parser)
        parser.add_argument("--run", action="store_true", help="run the firmware in the emulator and measure pauses")
        parser.add_argument("--sweep", metavar="SIZES",
                            help="re-run with these heap sizes (e.g. 8K,16K,32K or 25%%,50%%); implies --run")
        add_run_limits(parser)
        add_format_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        from gomcu import image as image_mod
        from gomcu.limits import gc
        from gomcu.report import gc as report

        require_file(args.firmware, "firmware file")
        image = image_mod.load(args.firmware)
        chip = chip_for_image(args.chip, image) if args.chip else None
        analysis = gc.analyse(image, chip, args.runtime, run=args.run, sweep=args.sweep, max_insns=args.max_insns,
                               timeout=args.timeout)
        if args.format == "json":
            print_json({"file": args.firmware, **report.to_json(analysis)})
        else:
            report.render_text(analysis, args.firmware)
        return EXIT_LIMIT_FAILED if analysis.status is Status.FAIL else EXIT_OK


COMMAND = GcCommand()
