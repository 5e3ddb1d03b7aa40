"""`gomcu check`: one verdict per limit and overall, with reports for people and for CI."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from gomcu.commands.base import (
    Command,
    EXIT_LIMIT_FAILED,
    EXIT_OK,
    add_chip_option,
    add_firmware_argument,
    add_format_option,
    add_runtime_option,
    add_src_option,
)
from gomcu.commands.options import add_run_limits
from gomcu.errors import GomcuError

if TYPE_CHECKING:
    from gomcu.check import CheckOptions
    from gomcu.check_cache import Stored


def _writable(path: str) -> str:
    """Fail before any analysis when a report path cannot be written."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise GomcuError(f"{path}: cannot write report (no directory {directory})")
    if os.path.isdir(path):
        raise GomcuError(f"{path}: cannot write report (is a directory)")
    if not os.access(directory, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise GomcuError(f"{path}: cannot write report (permission denied)")
    return path


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise GomcuError(f"{path}: cannot write report ({error.strerror})") from None


class CheckCommand(Command):
    name = "check"
    help = "one verdict per limit (memory, GC, interrupts, linker script) and overall"
    description = (
        "Can Go run on this chip, and will it keep its deadlines? Runs every analysis that applies "
        "(static always; emulated with --run or when the budget asks for measured figures) and prints "
        "one verdict per limit with the figures that decide it. Exit 0 all held, 1 a limit or budget "
        "failed, 2 bad input."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_firmware_argument(parser)
        add_chip_option(parser)
        parser.add_argument("--ld", metavar="SCRIPT", help="the linker script to check against the Go runtime's needs")
        parser.add_argument("-L", dest="ld_search", action="append", default=[], metavar="DIR",
                            help="search directory for INCLUDE in the linker script")
        parser.add_argument("--defsym", dest="ld_defsyms", action="append", default=[], metavar="NAME=EXPR",
                            help="linker --defsym for the script (e.g. _stack_size=4K)")
        parser.add_argument("--run", action="store_true", help="also run the firmware in the emulator and measure")
        add_run_limits(parser)
        add_runtime_option(parser)
        add_src_option(parser)
        parser.add_argument("--budget", metavar="gomcu.toml", help="budgets that gate CI (exit 1 when exceeded)")
        parser.add_argument("--html", metavar="FILE", help="also write a static HTML report")
        parser.add_argument("--sarif", metavar="FILE", help="also write SARIF 2.1.0 for code scanning")
        parser.add_argument("--include-runtime", action="store_true",
                            help="also show findings wholly inside the toolchain's runtime (text and SARIF)")
        parser.add_argument("--src-root", metavar="DIR",
                            help="SARIF paths relative to this directory (default: the main package's "
                                 "DWARF compilation directory)")
        parser.add_argument("--all", action="store_true",
                            help="text: every figure and every finding (default: two deciding figures per limit, "
                                 "the five most severe findings)")
        add_format_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        from gomcu.budget import load_budget
        from gomcu.check import CheckOptions, run_check

        try:
            for path in (args.html, args.sarif):
                if path:
                    _writable(path)
            budget = load_budget(args.budget) if args.budget else None
            chip = args.chip or (budget.check.get("chip") if budget else None)
            options = CheckOptions(
                firmware=args.firmware,
                chip=chip,
                ld_script=args.ld or (budget.check.get("ld") if budget else None),
                ld_search=tuple(args.ld_search),
                ld_defsyms=tuple(args.ld_defsyms),
                run=args.run or bool(budget and budget.check.get("run")),
                max_insns=args.max_insns,
                timeout=args.timeout,
                runtime=args.runtime or (budget.check.get("runtime") if budget else None),
                budget=budget,
                src=args.src,
            )
            if args.format == "json" and not (args.html or args.sarif or options.ld_script or options.budget):
                stored = _stored(options)
                if stored is not None:
                    sys.stdout.write(stored.json_text)
                    return EXIT_LIMIT_FAILED if stored.failed else EXIT_OK
            with _emulation_progress(args.format, options.run or bool(budget and budget.needs_measurements)):
                report = run_check(options, progress=_progress(args.format))
        except GomcuError as error:
            if args.format == "json":
                from gomcu.report.json_report import error_json

                json.dump(error_json(str(error)), sys.stdout, indent=2)
                sys.stdout.write("\n")
            raise
        if args.html:
            from gomcu.report.html import render_html

            _write(args.html, render_html(report))
        if args.sarif:
            from gomcu.report.sarif import to_sarif

            _write(args.sarif, json.dumps(to_sarif(report, include_runtime=args.include_runtime,
                                                   src_root=args.src_root), indent=2))
        if args.format == "json":
            from gomcu.report.json_report import to_json

            json.dump(to_json(report), sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            from gomcu.report.text import render_text

            render_text(report, show_all=args.all, include_runtime=args.include_runtime)
        return EXIT_LIMIT_FAILED if report.overall.value == "fail" else EXIT_OK


def _stored(options: CheckOptions) -> Stored | None:
    """The stored result of this very check, if an earlier one left it (its JSON is printed as
    it is: no analysis module is imported)."""
    from gomcu import check_cache

    entry = check_cache.entry(options)
    return check_cache.load(entry) if entry is not None else None


@contextmanager
def _emulation_progress(fmt: str, emulates: bool) -> Iterator[None]:
    """A progress bar for the check's emulated runs (text only); a static check has none and
    does not import the emulator."""
    if not emulates:
        yield
        return
    from gomcu import emu
    from gomcu.report.progress import emulation_progress

    update, finish = emulation_progress("emulating") if fmt == "text" else (None, lambda: None)
    try:
        with emu.progress_to(update):
            yield
    finally:
        finish()


def _progress(fmt: str) -> Callable[[str], None] | None:
    """Progress lines on stderr for people; silent for JSON consumers and pipes."""
    if fmt == "json" or not sys.stderr.isatty():
        return None
    from rich.console import Console

    console = Console(stderr=True)
    return lambda step: console.print(f"[dim]analysing {step}...[/]")


COMMAND = CheckCommand()
