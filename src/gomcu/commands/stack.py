"""`gomcu stack`: worst-case stack for every root, against the stacks the binary allots."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gomcu.commands.base import (
    Command,
    EXIT_LIMIT_FAILED,
    EXIT_OK,
    add_firmware_argument,
    add_format_option,
    chip_for_image,
    print_json,
)
from gomcu.errors import GomcuError

if TYPE_CHECKING:
    from gomcu.image import Image
    from gomcu.limits.rtos_run import RtosRun
    from gomcu.limits.stack import StackReport


from gomcu.commands.options import positive_int


class StackCommand(Command):
    name = "stack"
    help = "worst-case stack per root (reset, handlers, goroutines), recursion, unresolved calls"
    description = (
        "Disassembles the firmware, computes every function's frame and the call graph, and bounds "
        "the stack of each root: reset, every vector-table handler, every goroutine or task entry. "
        "Recursion and unresolved indirect calls make a bound 'at least N'. Exits 1 when a stack is "
        "under-allocated."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_firmware_argument(parser)
        parser.add_argument("--root", metavar="NAME", help="analyse only this root (or any function)")
        parser.add_argument("--stack-size", metavar="N", type=positive_int,
                            help="goroutine/task stack size to judge against (like tinygo -stack-size)")
        parser.add_argument("--tinygo-stacks", metavar="FILE",
                            help="the output of `tinygo build -print-stacks`: TinyGo's figure per goroutine "
                                 "beside gomcu's bound, flagging every one TinyGo puts below it")
        parser.add_argument("--run", action="store_true",
                            help="FreeRTOS firmware: also run it in the emulator and show each task's measured "
                                 "stack use (the kernel's fill byte), the heap's low-water mark, the tick and the "
                                 "context switch beside the bounds")
        parser.add_argument("--board", metavar="NAME", help="with --run: emulated board (default: detected)")
        parser.add_argument("--chip", metavar="NAME", help="the chip: its implemented priority bits decide which "
                            "handlers share a level (the system stack's nesting); with --run, a generic board "
                            "from this chip")
        parser.add_argument("--max-insns", metavar="N", type=int, default=200_000_000,
                            help="with --run: instruction budget (default 200,000,000)")
        parser.add_argument("--timeout", metavar="S", type=float, default=120.0,
                            help="with --run: wall-clock limit (default 120 s)")
        add_format_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        from gomcu import image as image_mod
        from gomcu.limits import stack
        from gomcu.report import stack as report

        if args.stack_size is not None and args.stack_size <= 0:
            raise GomcuError("--stack-size must be a positive number of bytes")
        from gomcu.limits import stack_tinygo

        figures = stack_tinygo.read_print_stacks(args.tinygo_stacks) if args.tinygo_stacks else None
        image = image_mod.load(args.firmware)
        bits = chip_for_image(args.chip, image).nvic_priority_bits if args.chip else None
        result = stack.analyse(image, stack_size=args.stack_size, root=args.root, priority_bits=bits)
        check = stack_tinygo.compare(result, figures) if figures is not None else None
        measured = _measure(image, result, args) if args.run else None
        if args.format == "json":
            out = report.to_json(result)
            if check is not None:
                out["tinygo_print_stacks"] = report.tinygo_json(check)
            if measured is not None:
                from gomcu.report import rtos as rtos_report

                out["rtos_run"] = rtos_report.to_json(measured)
            print_json(out)
        else:
            report.render_text(result)
            if check is not None:
                report.render_tinygo(check)
            if measured is not None:
                from gomcu.report import rtos as rtos_report

                rtos_report.render_text(measured)
        failed = result.failed or (measured is not None and any(f.severity.value == "error" for f in measured.findings))
        return EXIT_LIMIT_FAILED if failed else EXIT_OK


def _measure(image: Image, result: StackReport, args: argparse.Namespace) -> RtosRun:
    """The FreeRTOS run-time figures, or a one-line error for firmware without an RTOS profile."""
    from gomcu.limits import rtos_run
    from gomcu.runtime.profile import detect_profile

    profile = detect_profile(s.name for s in image.symbols)
    if profile is None or not profile.rtos:
        raise GomcuError("--run measures RTOS tasks: no RTOS profile (FreeRTOS) matches this firmware; "
                         "`gomcu run` measures any firmware")
    if args.max_insns <= 0 or args.timeout <= 0:
        raise GomcuError("--max-insns and --timeout must be positive")
    return rtos_run.measure(image, profile, result, board=args.board, chip=args.chip,
                            max_insns=args.max_insns, timeout=args.timeout)


COMMAND = StackCommand()
