"""`gomcu init`: write a commented starter gomcu.toml from the firmware's current figures."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from gomcu.commands.base import (
    Command,
    EXIT_OK,
    add_chip_option,
    add_firmware_argument,
)
from gomcu.errors import GomcuError

if TYPE_CHECKING:
    from gomcu.report.model import Report

#: Headroom a starter budget leaves over today's figures, so that ordinary growth passes
#: and a jump fails.
GROWTH = 1.10


def render_budget(report: Report, chip: str | None, measured: bool) -> str:
    """The starter file's text: today's figures with headroom, each key explained."""
    from gomcu.budget import BUDGET_KEYS
    from gomcu.check import budget_figures

    figures = budget_figures(report)
    lines = [
        "# gomcu budget: `gomcu check FIRMWARE.elf --budget gomcu.toml` exits 1 when one is exceeded.",
        f"# Written by `gomcu init` from {report.firmware}; limits are today's figures + {round((GROWTH - 1) * 100)}%.",
        "",
        "[check]",
        f'chip = "{chip}"' if chip else '# chip = "lm3s6965"          # gomcu chips lists the names',
        f"run = {'true' if measured else 'false'}                   # also measure in the emulator (GC pauses, latency)",
        "",
        "[budget]",
    ]

    def entry(key: str, value: float | None) -> None:
        kind_type, meaning, unit, kind = BUDGET_KEYS[key]
        prefix = "# " if value is None else ""
        shown = "0" if value is None else (str(int(value)) if kind_type is int else f"{value:.1f}")
        lines.append(f"# {meaning} ({kind}, {unit})" + ("; measured with --run" if value is None and unit == "us" else ""))
        lines.append(f"{prefix}{key} = {shown}")

    entry("flash_bytes", _grow(figures.get("flash_bytes")))
    entry("ram_bytes", _grow(figures.get("ram_bytes")))
    heap = figures.get("heap_headroom_bytes")
    entry("heap_headroom_bytes", int(heap * 0.5) if heap else None)
    unproved = _unproved_roots(report)
    if unproved:
        # A margin that cannot be proved fails any stack budget: say so rather than write one
        # that fails on the first check.
        lines.append(f"# stacks that cannot be bounded statically: {', '.join(unproved)}; a stack margin budget "
                     "fails on them unless measured_stack_margins = true (with run = true)")
        lines.append("# measured_stack_margins = false")
        lines.append("# free bytes every stack must keep above its worst case (min, bytes)")
        lines.append("# stack_margin_bytes = 64")
    else:
        entry("stack_margin_bytes", 64)
    for key in ("gc_pause_us", "irq_latency_us"):
        value = figures.get(key)
        entry(key, value * GROWTH if value is not None else None)
    lines += [
        "# findings (rule names) that do not fail the check, e.g. a deliberate recursion:",
        "allowed_findings = []",
        "",
        "# per-root stack margins override stack_margin_bytes:",
        "# [budget.stack_margin]",
        '# "Reset_Handler" = 256',
        "",
    ]
    return "\n".join(lines)


def _unproved_roots(report: Report) -> list[str]:
    memory = report.limit("memory")
    stack = memory.analysis.stack if memory is not None and memory.analysis is not None else None
    roots = stack.roots if stack is not None else ()
    return [r.name for r in roots if not r.bounded and r.allotted_bytes is not None]


def _grow(value: float | None) -> int | None:
    return None if value is None else int(value * GROWTH)


class InitCommand(Command):
    name = "init"
    help = "write a commented starter gomcu.toml budget from the firmware's current figures"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_firmware_argument(parser)
        add_chip_option(parser)
        parser.add_argument("--run", action="store_true", help="measure in the emulator to budget GC pauses and latency")
        parser.add_argument("-o", "--output", default="gomcu.toml", help="where to write (default: gomcu.toml)")
        parser.add_argument("--force", action="store_true", help="overwrite an existing file")

    def run(self, args: argparse.Namespace) -> int:
        from gomcu.budget import load_budget
        from gomcu.check import CheckOptions, run_check

        if os.path.exists(args.output) and not args.force:
            raise GomcuError(f"{args.output}: already exists (use --force to overwrite)")
        report = run_check(CheckOptions(firmware=args.firmware, chip=args.chip, run=args.run))
        text = render_budget(report, report.chip and args.chip, args.run)
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as error:
            raise GomcuError(f"{args.output}: cannot write ({error.strerror})") from None
        load_budget(args.output)  # what we write must be a valid budget
        print(f"wrote {args.output}")
        return EXIT_OK


COMMAND = InitCommand()
