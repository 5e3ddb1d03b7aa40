"""`gomcu ld show|check|adapt`: GNU ld scripts, their layout, and what the Go runtime needs."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from gomcu.commands.base import (
    EXIT_LIMIT_FAILED,
    EXIT_OK,
    Command,
    add_chip_option,
    add_format_option,
    print_json,
)
from gomcu.errors import GomcuError
from gomcu.findings import Finding, Severity


def _common(parser: argparse.ArgumentParser, inputs: bool = True) -> None:
    parser.add_argument("script", metavar="SCRIPT.ld", help="the linker script")
    parser.add_argument("-L", dest="search", action="append", default=[], metavar="DIR",
                        help="directory to search for INCLUDEd scripts (like ld's -L)")
    parser.add_argument("--defsym", action="append", default=[], metavar="NAME=EXPR",
                        help="define a symbol as ld --defsym does")
    if inputs:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--input", nargs="+", default=[], metavar="OBJ.o",
                           help="relocatable objects whose sections are laid out (exact)")
        group.add_argument("--elf", metavar="FIRMWARE.elf",
                           help="a linked firmware whose output-section sizes stand in for "
                           "the inputs (less exact inside sections)")
    add_format_option(parser)


class LdCommand(Command):
    name = "ld"
    help = "GNU ld scripts: show the layout, check it for the Go runtime, adapt it"
    description = (
        "Parse and evaluate GNU ld linker scripts as arm-none-eabi-ld lays them out. "
        "`show` prints regions, output sections and symbols; `check` judges the script against "
        "what the Go runtime (TinyGo) needs; `adapt` writes a script that keeps the vendor's "
        "memory map and satisfies every check."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="ld_command", metavar="ACTION",
                                    parser_class=type(parser))
        show = sub.add_parser("show", help="regions, output sections and symbols of a script")
        _common(show)
        show.add_argument("--map", action="store_true",
                          help="print the layout in the shape of GNU ld's -Map memory map "
                          "(to diff against ld's)")
        check = sub.add_parser("check", help="what the Go runtime needs from the script")
        _common(check)
        check.add_argument("--runtime", default="tinygo", help="runtime profile (tinygo)")
        add_chip_option(check)
        adapt = sub.add_parser("adapt", help="write a script the Go runtime can use")
        _common(adapt)
        adapt.add_argument("--runtime", default="tinygo", help="runtime profile (tinygo)")
        adapt.add_argument("-o", "--output", required=True, metavar="OUT.ld",
                           help="where to write the adapted script")
        adapt.add_argument("--stack-size", type=lambda s: int(s, 0), default=None,
                           metavar="BYTES", help="system stack size (default: the runtime's)")

    def run(self, args: argparse.Namespace) -> int:
        action = getattr(args, "ld_command", None)
        if action is None:
            raise GomcuError("ld needs an action: show, check or adapt")
        return {"show": self.show, "check": self.check, "adapt": self.adapt}[action](args)

    # -- show -------------------------------------------------------------------------------

    def show(self, args: argparse.Namespace) -> int:
        from gomcu.limits.linking import lay_out
        from gomcu.report import linker as render

        _, layout = lay_out(args.script, args.search, args.defsym, getattr(args, "elf", None),
                            getattr(args, "input", None) or [])
        if args.format == "json":
            print_json(render.layout_json(layout))
        elif args.map:
            render.print_map(layout)
        else:
            render.print_layout(layout)
        return EXIT_LIMIT_FAILED if layout.problems else EXIT_OK

    # -- check ------------------------------------------------------------------------------

    def _profile_and_layout(self, args: argparse.Namespace):
        from gomcu.limits.linking import lay_out_for_runtime

        done = lay_out_for_runtime(args.script, args.search, args.defsym, getattr(args, "elf", None),
                                   getattr(args, "input", None) or [], args.runtime)
        return done.profile, done.script, done.layout, done.stack_size_assumed

    def check(self, args: argparse.Namespace) -> int:
        from gomcu.limits.linking import check_script
        from gomcu.report import linker as render

        chip = None
        if args.chip:
            from gomcu.chips import find_chip

            chip = find_chip(args.chip)
        done, findings = check_script(args.script, args.search, args.defsym, getattr(args, "elf", None),
                                      getattr(args, "input", None) or [], args.runtime, chip)
        prof, layout = done.profile, done.layout
        failed = any(f.severity is Severity.ERROR for f in findings)
        if args.format == "json":
            print_json({
                "script": args.script, "runtime": prof.name,
                "chip": chip.name if chip is not None else None,
                "status": "fail" if failed else ("warn" if any(
                    f.severity is Severity.WARNING for f in findings) else "pass"),
                "findings": [_finding_json(f) for f in findings],
                **render.layout_json(layout),
            })
        else:
            render.print_findings(args.script, prof.name, findings)
        return EXIT_LIMIT_FAILED if failed else EXIT_OK

    # -- adapt ------------------------------------------------------------------------------

    def adapt(self, args: argparse.Namespace) -> int:
        from gomcu.linker.adapt import adapt as run_adapt

        prof, script, layout, _ = self._profile_and_layout(args)
        result = run_adapt(script, layout, prof, os.path.basename(args.script), args.stack_size)
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(result.script)
        except OSError as error:
            raise GomcuError(f"{args.output}: cannot write: {error.strerror}") from None
        target = dict(result.target_json)
        target["linkerscript"] = args.output
        if args.format == "json":
            print_json({"output": args.output, "target": target, "notes": list(result.notes)})
        else:
            print(f"wrote {args.output}")
            for note in result.notes:
                print(f"note: {note}")
            print("TinyGo target JSON lines:")
            for key, value in target.items():
                print(f"  {json.dumps(key)}: {json.dumps(value)},")
        return EXIT_OK


def _finding_json(f: Finding) -> dict[str, Any]:
    loc = f.location
    return {
        "rule": f.rule, "severity": f.severity.value, "message": f.message,
        "file": loc.file if loc else None, "line": loc.line if loc else None,
    }


COMMAND = LdCommand()
