"""`gomcu run`: run a firmware ELF in the emulator and print what it measured."""

from __future__ import annotations

import argparse
import sys

from gomcu.commands.base import (
    Command,
    EXIT_BAD_INPUT,
    EXIT_LIMIT_FAILED,
    EXIT_OK,
    add_chip_option,
    add_firmware_argument,
    add_format_option,
    add_runtime_option,
    print_json,
    require_file,
)
from gomcu.commands.options import add_run_limits, injection, to_cycles
from gomcu.errors import GomcuError


class RunCommand(Command):
    name = "run"
    help = "run the firmware in the emulator: output, exit status, instructions, stack high-water, probes"
    description = (
        "Runs a Cortex-M firmware ELF on an emulated board (QEMU's lm3s6965evb or mps2-an385/an386, or "
        "a generic board from the chip database) until it exits through semihosting, runs out of "
        "instruction budget or wall-clock time, or faults. Prints the program's output, the exit "
        "status, instructions and cycles, painted stack high-water, and the probes asked for. "
        "Exit status: the firmware's (0 when it exited 0, 1 otherwise); 2 when it could not run or "
        "did not finish."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_firmware_argument(parser)
        parser.add_argument("--board", metavar="NAME", help="lm3s6965evb, mps2-an385 or mps2-an386 "
                            "(default: detected from the UART address the code uses, else by core)")
        add_chip_option(parser, "run on a generic board built from this chip's database entry")
        add_run_limits(parser)
        parser.add_argument("--inject", action="append", default=[], metavar="IRQ:PERIOD", type=injection,
                            help="pend IRQ every PERIOD: cycles, or a time such as 10us or 2ms (repeatable)")
        parser.add_argument("--trace-fn", action="append", default=[], metavar="NAME",
                            help="time calls of this function (repeatable)")
        parser.add_argument("--alloc-fn", metavar="NAME", help="trace calls of this allocator (size in r0)")
        parser.add_argument("--profile", action="store_true",
                            help="count instructions per function, exclusive and in interrupts (slower); "
                                 "`gomcu lab profile` adds inclusive counts")
        parser.add_argument("--stack-fn", metavar="CREATE:ALLOC",
                            help="stacks created at run time: blocks ALLOC returns while CREATE runs "
                                 "(TinyGo: internal/task.start:runtime.alloc; used by default when present)")
        parser.add_argument("--no-hooks", action="store_true",
                            help="run the runtime's boundary functions (putchar, ticks, sleep, random) as "
                                 "code instead of answering them (chip boards only)")
        add_runtime_option(parser)
        add_format_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        from gomcu import emu, image as image_mod

        require_file(args.firmware, "firmware file")
        if args.board and args.chip:
            raise GomcuError("give --board or --chip, not both")
        img = image_mod.load(args.firmware)
        probes: list[emu.Probe] = [emu.FunctionProbe(n) for n in args.trace_fn]
        if args.stack_fn:
            create, _, alloc = args.stack_fn.rpartition(":")
            probes.append(emu.StackProbe(create, alloc, "stack"))
        elif img.symbol("internal/task.start") and img.symbol("runtime.alloc"):
            probes.append(emu.StackProbe("internal/task.start", "runtime.alloc", "goroutine"))
        from gomcu.limits import tasker_run
        from gomcu.limits.gc_measure import allocator_probe
        from gomcu.runtime.boundary import boundary_hooks
        from gomcu.runtime.profile import detect_family, load_profile

        profile = load_profile(args.runtime) if args.runtime else detect_family(s.name for s in img.symbols)
        alloc_fn = args.alloc_fn or ("runtime.alloc" if img.symbol("runtime.alloc") else None)
        if alloc_fn:  # read where the runtime's calling convention puts the size (Go ABI0: the stack)
            probes.append(allocator_probe(profile, alloc_fn) if profile else emu.AllocProbe(alloc_fn))
        tasker = tasker_run.applies(img, profile)
        if tasker:
            probes += tasker_run.probes(img, profile)
        clock = emu.choose_board(img, args.board, args.chip)[0].clock_hz if args.inject else 0
        injections = [emu.Injection(irq=i, period_cycles=to_cycles(v, unit, clock)) for i, v, unit in args.inject]
        from gomcu.report.progress import emulation_progress

        progress, done = emulation_progress()
        try:
            hooks = boundary_hooks(profile)
            result = emu.run(img, args.board, chip=args.chip, max_insns=args.max_insns, timeout=args.timeout,
                             probes=probes, injections=injections, progress=progress,
                             hooks=() if args.no_hooks else hooks, milestones=("main.main",),
                             profile_blocks=args.profile)
        finally:
            done()
        from gomcu.report import run as report, tasker as tasker_report

        figures = tasker_run.from_run(img, profile, result) if tasker and profile is not None else None

        costs = None
        if args.profile:
            from gomcu.lab.profiling import function_costs

            costs = function_costs(img, result)
        if args.format == "json":
            document = report.to_json(result, args.firmware)
            if costs is not None:
                from gomcu.lab.figures import to_json

                document["profile"] = to_json(costs)
            if figures is not None:
                document["runtime"] = tasker_report.to_json(figures)
            print_json(document)
        else:
            report.render_text(result, args.firmware)
            if figures is not None:
                tasker_report.render_text(figures)
            if costs is not None:
                report.render_profile(costs, result.instructions)
        if result.stop != "exit":
            print(f"gomcu: {args.firmware}: {result.stop}: {result.message}", file=sys.stderr)
            return EXIT_BAD_INPUT
        return EXIT_OK if result.exit_code == 0 else EXIT_LIMIT_FAILED

COMMAND = RunCommand()
