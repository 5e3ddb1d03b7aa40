"""`gomcu stack`: worst-case stack for every root, against the stacks the binary allots."""

from __future__ import annotations

import argparse

from gomcu.commands.base import (
    Command,
    EXIT_LIMIT_FAILED,
    EXIT_OK,
    add_firmware_argument,
    add_format_option,
    print_json,
)
from gomcu.errors import GomcuError


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
        parser.add_argument("--stack-size", metavar="N", type=int,
                            help="goroutine/task stack size to judge against (like tinygo -stack-size)")
        parser.add_argument("--tinygo-stacks", metavar="FILE",
                            help="the output of `tinygo build -print-stacks`: TinyGo's figure per goroutine "
                                 "beside gomcu's bound, flagging every one TinyGo puts below it")
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
        result = stack.analyse(image, stack_size=args.stack_size, root=args.root)
        check = stack_tinygo.compare(result, figures) if figures is not None else None
        if args.format == "json":
            out = report.to_json(result)
            if check is not None:
                out["tinygo_print_stacks"] = report.tinygo_json(check)
            print_json(out)
        else:
            report.render_text(result)
            if check is not None:
                report.render_tinygo(check)
        return EXIT_LIMIT_FAILED if result.failed else EXIT_OK


COMMAND = StackCommand()
