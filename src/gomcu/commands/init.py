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
    from gomcu.report.model import LimitResult, Report

#: Headroom a starter budget leaves over today's figures, so that ordinary growth passes
#: and a jump fails.
GROWTH = 1.10


def render_budget(report: Report, chip: str | None, measured: bool) -> str:
    """The starter file's text: today's figures with headroom, each key explained."""
    from gomcu.budget import BUDGET_KEYS

    memory = report.limit("memory")
    details = memory.details if memory else {}
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

    def entry(key: str, value: float | None, comment_out: bool = False) -> None:
        _, meaning, unit, kind = BUDGET_KEYS[key]
        prefix = "# " if value is None or comment_out else ""
        shown = "0" if value is None else (str(int(value)) if BUDGET_KEYS[key][0] is int else f"{value:.1f}")
        lines.append(f"# {meaning} ({kind}, {unit})")
        lines.append(f"{prefix}{key} = {shown}")

    entry("flash_bytes", _grow(details.get("flash_bytes")))
    entry("ram_bytes", _grow(details.get("ram_bytes")))
    heap = details.get("heap_bytes")
    entry("heap_headroom_bytes", int(heap * 0.5) if heap else None)
    entry("stack_margin_bytes", 64)
    gc = report.limit("gc")
    irq = report.limit("interrupts")
    entry("gc_pause_us", _figure(gc, "us"), comment_out=not measured)
    entry("irq_latency_us", _figure(irq, "us"), comment_out=not measured)
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


def _grow(value: float | None) -> int | None:
    return None if value is None else int(value * GROWTH)


def _figure(result: LimitResult | None, unit: str) -> float | None:
    if result is None:
        return None
    values = [f.value for f in result.figures if f.unit == unit and isinstance(f.value, (int, float))]
    return max(values) * GROWTH if values else None


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
