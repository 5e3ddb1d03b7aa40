"""`gomcu ld show|check|adapt`: GNU ld scripts, their layout, and what the Go runtime needs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from gomcu.commands.base import (
    EXIT_BAD_INPUT,
    EXIT_LIMIT_FAILED,
    EXIT_OK,
    Command,
    add_chip_option,
    add_format_option,
    print_json,
    require_file,
)
from gomcu.errors import GomcuError, LinkerScriptError
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


def evaluate_args(args: argparse.Namespace, extra_defsyms: dict[str, int] | None = None):
    """Parse the script and lay it out from the command line's inputs."""
    from gomcu import linker

    require_file(args.script, "linker script")
    script = linker.load_script(args.script, args.search)
    defsyms = [linker.parse_defsym(d) for d in args.defsym]
    from gomcu.linker import ast

    for name, value in (extra_defsyms or {}).items():
        defsyms.insert(0, (name, ast.Num(value)))
    inputs = []
    linked = False
    if getattr(args, "elf", None):
        require_file(args.elf, "firmware")
        inputs = [linker.read_linked(args.elf)]
        linked = True
    for path in getattr(args, "input", None) or []:
        require_file(path, "object")
        inputs.append(linker.read_object(path))
    return script, linker.evaluate(script, defsyms, inputs, linked)


def _needs_stack_size(script, name: str, defsyms: list[str]) -> bool:
    """True when the script reads `name` without defining it and no --defsym gives it."""
    from gomcu.linker import ast

    if any(d.split("=", 1)[0].strip() == name for d in defsyms):
        return False
    defined = False
    used = False

    def walk_expr(e) -> None:
        nonlocal used
        stack = [e]
        while stack:
            n = stack.pop()
            if isinstance(n, ast.Sym) and n.name == name:
                used = True
            elif isinstance(n, ast.Binary):
                stack += (n.left, n.right)
            elif isinstance(n, ast.Unary):
                stack.append(n.operand)
            elif isinstance(n, ast.Cond):
                stack += (n.cond, n.then, n.otherwise)
            elif isinstance(n, ast.Call):
                if n.func == "DEFINED" and n.name == name:
                    return
                stack += n.args

    def visit(item) -> None:
        nonlocal defined
        if isinstance(item, ast.Assignment):
            if item.target == name and item.wrapper is None:
                defined = True
            walk_expr(item.expr)
        elif isinstance(item, ast.Assert):
            walk_expr(item.expr)
        elif isinstance(item, (ast.Sections, ast.OutputSection)):
            for i in item.items:
                visit(i)
        elif isinstance(item, ast.Overlay):
            for s in item.sections:
                visit(s)

    for cmd in script.commands:
        visit(cmd)
    return used and not defined


def _print_error(error: LinkerScriptError) -> None:
    sys.stderr.write(f"gomcu ld: error: {error}\n")
    excerpt = getattr(error, "excerpt", None)
    if excerpt:
        sys.stderr.write(excerpt + "\n")


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
        try:
            return {"show": self.show, "check": self.check, "adapt": self.adapt}[action](args)
        except LinkerScriptError as error:
            if getattr(args, "debug", False):
                raise
            _print_error(error)
            return EXIT_BAD_INPUT

    # -- show -------------------------------------------------------------------------------

    def show(self, args: argparse.Namespace) -> int:
        from gomcu.linker import render

        _, layout = evaluate_args(args)
        if args.format == "json":
            print_json(render.layout_json(layout))
        else:
            render.print_layout(layout)
        return EXIT_LIMIT_FAILED if layout.problems else EXIT_OK

    # -- check ------------------------------------------------------------------------------

    def _profile_and_layout(self, args: argparse.Namespace):
        from gomcu.linker.requirements import profile as get_profile

        prof = get_profile(args.runtime)
        from gomcu import linker

        require_file(args.script, "linker script")
        parsed = linker.load_script(args.script, args.search)
        missing = _needs_stack_size(parsed, prof.stack_size, args.defsym)
        extra = {prof.stack_size: prof.default_stack_size} if missing else None
        script, layout = evaluate_args(args, extra)
        return prof, script, layout, missing

    def check(self, args: argparse.Namespace) -> int:
        from gomcu.linker import render
        from gomcu.linker.check import check as run_check

        prof, script, layout, missing = self._profile_and_layout(args)
        chip = None
        if args.chip:
            from gomcu.chips import find_chip

            chip = find_chip(args.chip)
        findings = run_check(script, layout, prof, chip, stack_size_from_command_line=missing)
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
