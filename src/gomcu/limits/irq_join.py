"""Go source joined to the binary (`gomcu irq/check --src DIR`): each callback the source hands to
an interrupt API is found as its compiled function, and the machine package's indirect call that
runs such callbacks is resolved to it, so the handler's proof goes through the callback's code.

Evidence, never a guess. A callback is joined only when TinyGo's name for it (`pkg.fn$N` for a
literal, `pkg.f`, `(*pkg.T).m$bound` for a method value) is a function of the binary and, when the
binary has DWARF, that function is declared at the callback's file (base name) and line. Its call
is resolved only at indirect calls the code model could not resolve itself, inside the functions
the runtime profile names as that API's dispatchers (by symbol, or by DWARF when the dispatcher
was inlined into the handler). What cannot be joined stays unresolved, with the reason.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gomcu.code.model import CodeModel
from gomcu.errors import GomcuError
from gomcu.findings import Finding, Location, Severity
from gomcu.image import Image
from gomcu.image.types import SourceLine
from gomcu.runtime.profile import RuntimeProfile

if TYPE_CHECKING:  # the source layer (tree-sitter) is loaded by `join`, when --src asks for it
    from gomcu.source import SourceReport
    from gomcu.source.model import Function, Package, Registration
    from gomcu.source.names import SourceNames


@dataclass(frozen=True)
class DispatchSite:
    """An indirect call of the machine package that runs callbacks."""

    function: str    # the binary function that holds the call
    address: int
    dispatcher: str  # the profile's dispatcher it belongs to (itself, or inlined into `function`)

    def __str__(self) -> str:
        inlined = f" (inlined into {self.function})" if self.dispatcher != self.function else ""
        return f"{self.dispatcher}{inlined} at 0x{self.address:08x}"


@dataclass(frozen=True)
class CallbackLink:
    """One callback of the source and what the binary says about it."""

    label: str                            # "button.SetInterrupt callback"
    handler: str                          # the source's name for it ("main.func1", "onPress")
    declared: str                         # file:line of the callback in the source
    compiled: str | None                  # its function in the binary
    evidence: str                         # what matched (name, DWARF declaration)
    sites: tuple[DispatchSite, ...]       # the indirect calls resolved to it
    reason: str | None                    # why it is not joined; None when it is

    @property
    def joined(self) -> bool:
        return self.reason is None


@dataclass(frozen=True)
class ExportLink:
    """A function the source exports under a handler's name, and whether the binary has it."""

    name: str
    handler: str
    found: bool


@dataclass(frozen=True)
class SourceJoin:
    directory: str
    package: str               # the package path TinyGo prefixes its symbols with
    functions: int             # functions of the package (source)
    in_binary: int             # how many of them the binary has (symbol or DWARF declaration)
    callbacks: tuple[CallbackLink, ...]
    exports: tuple[ExportLink, ...]
    notes: tuple[str, ...]
    strangers: tuple[str, ...] = ()  # functions of the package in the binary that the source does not have
    foreign: tuple[str, ...] = ()    # functions of third-party packages whose address the binary takes

    def resolutions(self) -> dict[int, tuple[str, ...]]:
        """Indirect call address -> the compiled callbacks it is resolved to."""
        out: dict[int, dict[str, None]] = {}
        for link in self.callbacks:
            if link.compiled is None or not link.joined:
                continue
            for site in link.sites:
                out.setdefault(site.address, {})[link.compiled] = None
        return {a: tuple(v) for a, v in out.items()}

    def resolve(self, model: CodeModel) -> CodeModel:
        """The code model with the dispatchers' calls resolved to the joined callbacks."""
        return model.with_resolved(self.resolutions(), "source", self.incomplete())

    def incomplete(self) -> frozenset[int]:
        """Indirect calls that also run a callback the join could not find: they stay unresolved too.
        When the binary has functions of the package the source lacks, the source is not the binary's
        and no dispatcher call is complete."""
        return frozenset(site.address for link in self.callbacks if not link.joined or self.strangers or self.foreign
                         for site in link.sites)

    def edge(self, caller: str, callee: str) -> CallbackLink | None:
        """The link behind a resolved call caller -> callee, if the join made it."""
        for link in self.callbacks:
            if link.joined and link.compiled == callee and any(s.function == caller for s in link.sites):
                return link
        return None


def package_path(package: Package) -> str:
    """The import path TinyGo prefixes symbols with: "main", or the module path plus the directory."""
    if package.name == "main":
        return "main"
    directory = Path(package.directory).resolve()
    for parent in (directory, *directory.parents):
        mod = parent / "go.mod"
        if mod.is_file():
            for line in mod.read_text(errors="replace").splitlines():
                words = line.split()
                if len(words) >= 2 and words[0] == "module":
                    rel = directory.relative_to(parent).as_posix()
                    return words[1] if rel == "." else f"{words[1]}/{rel}"
            break
    return package.name


def _same_file(dwarf_file: str, source_file: str) -> bool:
    """DWARF keeps the build machine's path: compare base names (the checkout may live elsewhere)."""
    return _base(dwarf_file) == _base(source_file)


def _base(path: str) -> str:
    """The file name of a path written on any system (DWARF from Windows builds uses backslashes)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


class _Binary:
    """What the join asks of the firmware: functions by name, DWARF declarations, inlined code."""

    def __init__(self, image: Image, model: CodeModel) -> None:
        self.image = image
        self.model = model
        dwarf = image.dwarf
        self.declarations: dict[str, SourceLine] = dwarf.declarations if dwarf is not None else {}
        self.has_dwarf = bool(self.declarations)

    def has(self, fn: Function, path: str) -> bool:
        """The binary has this function of the source: by name (code or DWARF), and where DWARF
        declares it, at the same file name and line (every program has a main.main)."""
        name = fn.compiled_name(path)
        decl = self.declarations.get(name)
        if decl is not None:
            return _same_file(decl.file, fn.position.file) and decl.line == fn.position.line
        return self.model.function(name) is not None

    def dispatch_sites(self, patterns: tuple[str, ...]) -> tuple[DispatchSite, ...]:
        """Unresolved indirect calls (not jumps) inside a dispatcher: its own function, or its code
        inlined elsewhere."""
        out: list[DispatchSite] = []
        for fn in self.model.functions:
            own = any(fnmatch.fnmatchcase(fn.name, p) for p in patterns)
            for site in fn.unresolved:
                if site.kind != "indirect-call":
                    continue  # a computed jump may be a switch: never taken for a callback's call
                inlined = () if own or self.image.dwarf is None else self.image.dwarf.inlined_at(site.address)
                which = fn.name if own else next(
                    (n for n in inlined if any(fnmatch.fnmatchcase(n, p) for p in patterns)), None)
                if which is not None:
                    out.append(DispatchSite(fn.name, site.address, which))
        return tuple(out)


def _candidates(fn: Function, reg: Registration, path: str) -> tuple[str, ...]:
    """TinyGo's names for the function value a registration passes, most specific first."""
    name = fn.compiled_name(path)
    if reg.how == "method value":
        return (f"{name}$bound", name)
    return (name,)


def _link(reg: Registration, package: Package, path: str, binary: _Binary, names: SourceNames,
          times: int = 1) -> CallbackLink:
    """Find the callback's compiled function and the dispatchers' calls that run it; or say why not.
    A callback that is not joined keeps its dispatchers' sites, which then stay unresolved."""
    label = reg.label + (f" (registered {times} times)" if times > 1 else "")
    patterns = tuple(p for a in names.callbacks if a.api in reg.apis for p in a.dispatchers)
    sites = binary.dispatch_sites(patterns) if patterns else ()
    found = package.named(reg.handler) if reg.resolved else ()
    if not found:
        return CallbackLink(label, reg.handler, str(reg.position), None, "", sites,
                            f"the source cannot name the callback ({reg.how})")
    fn = found[0]
    declared = f"{fn.position.file}:{fn.position.line}"

    def failed(compiled: str | None, evidence: str, reason: str) -> CallbackLink:
        return CallbackLink(label, fn.name, declared, compiled, evidence, sites, reason)

    candidates = _candidates(fn, reg, path)
    compiled = next((n for n in candidates if binary.model.function(n) is not None), None)
    if compiled is None:
        return failed(None, "", f"no function {' or '.join(candidates)} in the binary (inlined, merged or not linked)")
    evidence = f"TinyGo name {compiled}"
    if binary.has_dwarf:
        checked = fn.compiled_name(path)  # a $bound wrapper has no declaration of its own: check the method
        decl = binary.declarations.get(checked)
        if decl is None:
            return failed(compiled, evidence, f"DWARF has no declaration of {checked}: its source position cannot "
                                              "be checked")
        if not (_same_file(decl.file, fn.position.file) and decl.line == fn.position.line):
            return failed(compiled, evidence,
                          f"DWARF declares {checked} at {_base(decl.file)}:{decl.line}, the source's "
                          f"callback is at {_base(fn.position.file)}:{fn.position.line}: not the same "
                          "function (source and binary differ?)")
        evidence += f", DWARF declaration {_base(decl.file)}:{decl.line}"
    else:
        evidence += " (no DWARF: name only)"
    if not patterns:
        return failed(compiled, evidence, f"the runtime profile names no dispatcher for {', '.join(reg.apis)}")
    if not sites:
        return failed(compiled, evidence, f"no unresolved indirect call in a dispatcher of {', '.join(reg.apis)} "
                                          f"({', '.join(patterns)}) in the binary")
    return CallbackLink(label, fn.name, declared, compiled, evidence, sites, None)


def join(image: Image, model: CodeModel, report: SourceReport, profile: RuntimeProfile | None) -> SourceJoin:
    """Join the analysed source to the image; bad input when no function of the package is in it."""
    from gomcu.runtime.profile import load_profile
    from gomcu.source.model import Form
    from gomcu.source.names import SourceNames

    package = report.package
    names = SourceNames.from_profile(profile if profile is not None and profile.source else load_profile("tinygo"))
    path = package_path(package)
    binary = _Binary(image, model)
    compiled = {f.compiled_name(path) for f in package.functions if f.link}
    present = [f for f in package.functions if f.link and binary.has(f, path)]
    if package.functions and not present:
        raise GomcuError(f"{package.directory}: none of the {len(package.functions)} functions of package {path} is "
                         f"in {image.path} under TinyGo's name and, where DWARF declares it, at the same file and "
                         "line: --src does not match the firmware")
    first: dict[tuple[str, bool], Registration] = {}
    times: dict[tuple[str, bool], int] = {}
    for r in package.registrations:  # a callback registered again (re-enabling the interrupt) is one link
        if r.form is Form.CALLBACK:
            key = (r.handler, r.resolved)
            first.setdefault(key, r)
            times[key] = times.get(key, 0) + 1
    links = tuple(_link(r, package, path, binary, names, times[key]) for key, r in first.items())
    exports = tuple(ExportLink(r.irq, r.handler, model.function(r.irq) is not None)
                    for r in package.registrations if r.form is Form.EXPORT)
    strangers = tuple(sorted(f.name for f in model.functions if _of_package(f.name, path) and f.name not in compiled
                             and not f.name.endswith("$bound") and not f.name.endswith("$gowrapper")))
    foreign = tuple(sorted(n for n in _address_taken(model) if _third_party(n) and n not in compiled))
    notes = []
    if any(link.joined for link in links) and not foreign:
        notes.append(f"callbacks joined from source ({package.directory}): only this package's registrations are "
                     "known; the binary takes the address of no third-party package's function, so no driver "
                     "registers a callback of its own")
    return SourceJoin(package.directory, path, len(package.functions), len(present), links, exports, tuple(notes),
                      strangers, foreign)


def _address_taken(model: CodeModel) -> set[str]:
    """Functions whose start address some code loads as a constant: what a function value can hold."""
    out: set[str] = set()
    for addresses in model.address_constants.values():
        for address in addresses:
            fn = model.function_at(address)
            if fn is not None and fn.address == address:
                out.add(fn.name)
    return out


def _third_party(symbol: str) -> bool:
    """A function of a package whose import path starts with a domain ("tinygo.org/x/drivers/..."):
    a driver, which may register its own callbacks; the standard library and TinyGo's runtime,
    machine and device packages do not start with one."""
    name = symbol.lstrip("(*")
    first = name.split("/", 1)[0] if "/" in name else ""
    return "." in first


def _of_package(symbol: str, path: str) -> bool:
    """A TinyGo symbol of package `path`: "path.f", "(path.T).m", "(*path.T).m" (not "path/sub.f")."""
    return symbol.startswith((f"{path}.", f"({path}.", f"(*{path}."))


def findings(source_join: SourceJoin) -> list[Finding]:
    """One finding per callback: the calls resolved from source (info), or why not (warning)."""
    out: list[Finding] = []
    for link in source_join.callbacks:
        where = Location(function=link.handler, file=link.declared.rsplit(":", 1)[0],
                         line=int(link.declared.rsplit(":", 1)[1]))
        if link.joined:
            sites = ", ".join(str(s) for s in link.sites)
            out.append(Finding("irq.source-resolved", Severity.INFO,
                               f"{link.label} {link.handler} ({link.declared}) is {link.compiled} in the binary "
                               f"({link.evidence}); indirect call resolved from source in {sites}", where,
                               (link.handler, link.compiled or "?")))
        else:
            out.append(Finding("irq.source-unresolved", Severity.WARNING,
                               f"{link.label} {link.handler} ({link.declared}) not joined to the binary: "
                               f"{link.reason}", where, (link.handler,)))
    if source_join.strangers:
        shown = ", ".join(source_join.strangers[:5]) + (", ..." if len(source_join.strangers) > 5 else "")
        out.append(Finding("irq.source-mismatch", Severity.WARNING,
                           f"the binary has {len(source_join.strangers)} function(s) of package {source_join.package} "
                           f"that {source_join.directory} does not declare ({shown}): the source is not the one "
                           "this firmware was built from, so no call resolved from it is taken as complete"))
    if source_join.foreign:
        shown = ", ".join(source_join.foreign[:4]) + (", ..." if len(source_join.foreign) > 4 else "")
        out.append(Finding("irq.source-foreign-callbacks", Severity.WARNING,
                           f"the binary takes the address of {len(source_join.foreign)} function(s) of other "
                           f"packages ({shown}): one may be a callback such a package registers itself, which "
                           f"{source_join.directory} does not show, so no call resolved from source is taken as complete"))
    for e in source_join.exports:
        if not e.found:
            out.append(Finding("irq.source-export-missing", Severity.WARNING,
                               f"//export {e.name} ({e.handler}) is not a function of the binary"))
    return out


def join_directory(image: Image, directory: str, profile: RuntimeProfile | None) -> SourceJoin:
    """Analyse the Go package in `directory` and join it to `image` (`--src DIR`)."""
    from gomcu.code import model as code_model
    from gomcu.source import analyse

    source_profile = profile if profile is not None and profile.source else None
    return join(image, code_model(image), analyse(directory, source_profile), profile)
