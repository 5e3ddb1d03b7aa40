"""`gomcu src DIR`: the Go source view (interrupt handlers, goroutines, recursion, MMIO)."""

from __future__ import annotations

import argparse

from gomcu.commands.base import EXIT_LIMIT_FAILED, EXIT_OK, Command, add_format_option, print_json


class SourceCommand(Command):
    name = "src"
    help = "Go source: what interrupt code (handlers, callbacks) reaches, goroutines, recursion, MMIO"
    description = (
        "Analyses a Go package directory with tree-sitter: every piece of interrupt code (interrupt.New "
        "handlers, callbacks handed to the machine package's interrupt APIs such as Pin.SetInterrupt, as "
        "literals, functions, method values or variables set once, and //export *_Handler functions) and "
        "what it can reach in the package that is unsafe in interrupt context (allocation, blocking, go, defer, panic, "
        "printing), with call chains and file:line:column; go statements (and those in loops); recursion; "
        "MMIO pointers without runtime/volatile; allocation in loops. Source findings are what the code "
        "asks for: `gomcu irq` on the built ELF is the proof for the binary. Exits 1 when a handler has "
        "an error-level violation."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("directory", metavar="DIR", help="the Go package directory")
        add_format_option(parser)

    def run(self, args: argparse.Namespace) -> int:
        from gomcu.findings import Severity
        from gomcu.report import source as report
        from gomcu.source import analyse

        result = analyse(args.directory)
        if args.format == "json":
            print_json(report.to_json(result))
        else:
            report.render_text(result)
        failed = any(v.severity is Severity.ERROR for h in result.handlers for v in h.violations)
        return EXIT_LIMIT_FAILED if failed else EXIT_OK


COMMAND = SourceCommand()
