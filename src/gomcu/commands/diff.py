"""`gomcu diff BASE.elf NEW.elf`: what a change cost, for pull requests."""

from __future__ import annotations

import argparse

from gomcu.commands.base import (
    EXIT_LIMIT_FAILED,
    EXIT_OK,
    Command,
    add_chip_option,
    chip_for_image,
    print_json,
    require_file,
)


class DiffCommand(Command):
    name = "diff"
    help = "compare two builds: footprint, worst-case stacks, allocation sites, interrupt handlers, GC kind, recursion"
    description = (
        "Compares BASE and NEW (two builds of one program, same architecture and runtime) limit by limit, matching "
        "by names and source lines, never by addresses: flash and RAM per package or compile unit, sections that "
        "moved, each root's worst-case stack, allotment and margin, allocation sites added or removed (and those "
        "newly reachable from an interrupt or a loop), handlers whose status changed, GC kind and recursion. "
        "With --budget, the delta budgets of gomcu.toml's [budget] (max_flash_increase_bytes, "
        "max_ram_increase_bytes, max_stack_increase_bytes, new_isr_allocations) decide the exit status: 1 when one "
        "is exceeded.")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("base", metavar="BASE.elf", help="the build before the change")
        parser.add_argument("new", metavar="NEW.elf", help="the build after the change")
        add_chip_option(parser)
        parser.add_argument("--by", choices=("package", "file", "section"), default="package",
                            help="group the footprint by Go package / C unit (default), source file or section")
        parser.add_argument("--budget", metavar="gomcu.toml", help="delta budgets that set the exit status")
        parser.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                            help="output format; markdown is a pull-request comment (default: text)")

    def run(self, args: argparse.Namespace) -> int:
        from gomcu import image as image_mod
        from gomcu.budget import evaluate_deltas, load_budget
        from gomcu.limits.diff import compare
        from gomcu.report import diff as report

        require_file(args.base, "firmware file")
        require_file(args.new, "firmware file")
        base, new = image_mod.load(args.base), image_mod.load(args.new)
        chip = chip_for_image(args.chip, new) if args.chip else None
        d = compare(base, new, chip, args.by)
        results = []
        if args.budget:
            budget = load_budget(args.budget)
            results = evaluate_deltas(budget, {"max_flash_increase_bytes": d.flash.delta,
                                               "max_ram_increase_bytes": d.ram.delta,
                                               "max_stack_increase_bytes": d.max_stack_increase,
                                               "new_isr_allocations": d.new_isr_allocations})
        lines = [r.line() for r in results]
        unprovable = bool(args.budget) and "max_stack_increase_bytes" in budget.limits and d.max_stack_increase is None
        if unprovable:  # a budget that cannot be checked is failed, never passed
            lines = [line for line in lines if not line.startswith("max_stack_increase_bytes")]
            lines.append("max_stack_increase_bytes: cannot be proved statically (unbounded after the change: "
                         f"{', '.join(d.unprovable_roots)}) (over budget)")
        if args.format == "json":
            print_json(report.to_json(d, [{"key": r.key, "limit": r.limit, "actual": r.actual,
                                           "exceeded": r.exceeded} for r in results]))
        elif args.format == "markdown":
            print(report.render_markdown(d, lines), end="")
        else:
            report.render_text(d, lines)
        return EXIT_LIMIT_FAILED if unprovable or any(r.exceeded for r in results) else EXIT_OK


COMMAND = DiffCommand()
