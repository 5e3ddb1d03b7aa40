"""`gomcu irq`: what each interrupt handler reaches, priorities, and latency under injection."""

from __future__ import annotations

import argparse

from gomcu.commands.base import (
    Command,
    EXIT_LIMIT_FAILED,
    EXIT_OK,
    add_chip_option,
    add_firmware_argument,
    add_format_option,
    add_src_option,
    chip_for_image,
    print_json,
    require_file,
)
from gomcu.errors import GomcuError
from gomcu.findings import Severity
from gomcu.commands.options import duration, positive_int, to_micros
from gomcu.limits.irq_latency import DEFAULT_COUNT, DEFAULT_PERIOD_US


class IrqCommand(Command):
    name = "irq"
    help = "interrupt handlers: what they reach (alloc, blocking, ...), priorities, latency under injection"
    description = (
        "Decodes the vector table and proves for every handler what it can reach that is unsafe in "
        "interrupt context (allocation, collection, blocking, scheduler, panic, printing), with call "
        "chains and source lines. With --run, runs the firmware's initialisation in the emulator to read "
        "back the priorities it set and injects an IRQ to measure latency and what drives its tail. "
        "Exits 1 when a handler reaches allocation, a collection, blocking or the scheduler."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_firmware_argument(parser)
        add_chip_option(parser)
        parser.add_argument("--run", action="store_true",
                            help="emulate: read back priorities and run a latency campaign")
        parser.add_argument("--inject", metavar="IRQ", type=int,
                            help="IRQ number to inject (implies --run; default: the lowest-priority enabled IRQ)")
        parser.add_argument("--count", metavar="N", type=positive_int, default=DEFAULT_COUNT,
                            help=f"injections (default {DEFAULT_COUNT})")
        parser.add_argument("--period", metavar="TIME", type=lambda t: duration(t, "us"),
                            default=(DEFAULT_PERIOD_US, "us"),
                            help=f"injection period, ±25%% seeded jitter: 100us, 2ms or 5000cyc; a bare number is "
                                 f"µs (default {DEFAULT_PERIOD_US:g}us)")
        parser.add_argument("--seed", metavar="N", type=int, default=1, help="jitter seed (default 1)")
        add_src_option(parser)
        add_format_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        from gomcu import image as image_mod
        from gomcu.limits import interrupts
        from gomcu.report import irq as report

        if args.inject is not None and args.inject < 0:
            raise GomcuError("--inject must be an IRQ number (0 or more)")
        image = image_mod.load(require_file(args.firmware, "firmware file"))
        chip = chip_for_image(args.chip, image) if args.chip else None
        value, unit = args.period
        clock = 0
        if unit == "cyc":  # the campaign's board decides the clock
            from gomcu.emu import choose_board

            clock = choose_board(image, None, chip.name if chip else None)[0].clock_hz
        period_us = to_micros(value, unit, clock)
        source = None
        if args.src:
            from gomcu.limits.irq_join import join_directory
            from gomcu.runtime.profile import detect_profile

            source = join_directory(image, args.src, detect_profile(s.name for s in image.symbols))
        result = interrupts.analyse(image, chip, run=args.run, inject=args.inject, count=args.count,
                                    period_us=period_us, seed=args.seed, source=source)
        if args.format == "json":
            print_json(report.to_json(result))
        else:
            report.render_text(result)
        failed = any(f.severity is Severity.ERROR for f in result.findings)
        return EXIT_LIMIT_FAILED if failed else EXIT_OK


COMMAND = IrqCommand()
