"""The linker-script limit: lay a script out as GNU ld would and judge it against the runtime.

`gomcu ld` and `gomcu check --ld` both come here, so that the layout (with the --defsym values
and inputs the user gave) and the runtime's requirements are applied the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gomcu.errors import require_file
from gomcu.findings import Figure, Finding, Origin, Severity, status_of
from gomcu.limits.result import LimitResult

if TYPE_CHECKING:
    from gomcu.chips import Chip


def lay_out(script_path: str, search: Sequence[str] = (), defsyms: Sequence[str] = (), elf: str | None = None,
            objects: Sequence[str] = (), extra_defsyms: dict[str, int] | None = None) -> tuple[Any, Any]:
    """Parse the script and lay it out from the given inputs (objects exactly, or a linked ELF)."""
    from gomcu import linker
    from gomcu.linker import ast

    require_file(script_path, "linker script")
    script = linker.load_script(script_path, list(search))
    parsed = [linker.parse_defsym(d) for d in defsyms]
    for name, value in (extra_defsyms or {}).items():
        parsed.insert(0, (name, ast.Num(value)))
    inputs = []
    linked = False
    if elf:
        require_file(elf, "firmware")
        inputs = [linker.read_linked(elf)]
        linked = True
    for path in objects:
        require_file(path, "object")
        inputs.append(linker.read_object(path))
    return script, linker.evaluate(script, parsed, inputs, linked)


@dataclass(frozen=True)
class RuntimeLayout:
    profile: Any
    script: Any
    layout: Any
    stack_size_assumed: bool  # the script reads the stack size symbol and nothing defined it


@dataclass(frozen=True)
class LinkerCheck:
    """The script checked for `gomcu check --ld`, and its layout for the runtime."""

    script_path: str
    laid_out: RuntimeLayout


def lay_out_for_runtime(script_path: str, search: Sequence[str] = (), defsyms: Sequence[str] = (),
                        elf: str | None = None, objects: Sequence[str] = (), runtime: str = "tinygo") -> RuntimeLayout:
    """Lay out with the runtime's default stack size when the script expects it from --defsym."""
    from gomcu import linker
    from gomcu.linker.requirements import profile as get_profile

    prof = get_profile(runtime)
    require_file(script_path, "linker script")
    parsed = linker.load_script(script_path, list(search))
    missing = needs_symbol(parsed, prof.stack_size, defsyms)
    extra = {prof.stack_size: prof.default_stack_size} if missing else None
    script, layout = lay_out(script_path, search, defsyms, elf, objects, extra)
    return RuntimeLayout(prof, script, layout, missing)


def check_script(script_path: str, search: Sequence[str] = (), defsyms: Sequence[str] = (), elf: str | None = None,
                 objects: Sequence[str] = (), runtime: str = "tinygo", chip: Chip | None = None
                 ) -> tuple[RuntimeLayout, list[Finding]]:
    from gomcu.linker.check import check

    done = lay_out_for_runtime(script_path, search, defsyms, elf, objects, runtime)
    findings = check(done.script, done.layout, done.profile, chip, stack_size_from_command_line=done.stack_size_assumed)
    return done, findings


def evaluate(script_path: str, search: Sequence[str], defsyms: Sequence[str], elf: str | None,
             chip: Chip | None, runtime: str = "tinygo") -> LimitResult:
    """The linker-script verdict for `gomcu check --ld`: the script laid out with the firmware's sections."""
    done, findings = check_script(script_path, search, defsyms, elf, (), runtime, chip)
    figures: list[Figure] = []
    for region in done.layout.regions:
        figures.append(Figure(f"region {region.name} used", region.used, "bytes", Origin.STATIC))
    suggestions = []
    if any(f.severity is Severity.ERROR for f in findings):
        suggestions.append(f"`gomcu ld adapt {script_path} --runtime {runtime} -o adapted.ld` "
                           "writes a script that keeps this memory map and meets every check")
    return LimitResult("linker", status_of(findings), tuple(figures), tuple(findings), tuple(suggestions),
                       analysis=LinkerCheck(script_path, done))


def needs_symbol(script: Any, name: str, defsyms: Sequence[str]) -> bool:
    """True when the script reads `name` without defining it and no --defsym gives it."""
    from gomcu.linker import ast

    if any(d.split("=", 1)[0].strip() == name for d in defsyms):
        return False
    defined = False
    used = False

    def walk_expr(e: Any) -> None:
        nonlocal used
        nodes = list(ast.expression_nodes(e))
        if any(isinstance(n, ast.Call) and n.func == "DEFINED" and n.name == name for n in nodes):
            return  # a use guarded by DEFINED(name) does not require it
        used = used or any(isinstance(n, ast.Sym) and n.name == name for n in nodes)

    def visit(item: Any) -> None:
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
