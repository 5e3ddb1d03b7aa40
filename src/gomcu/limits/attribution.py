"""Whose code a finding is about: the user's, or the toolchain's runtime and standard library.

A Go function's source lies under its toolchain's root as `ROOT/src/PACKAGE/file.go` (TinyGo's
runtime and machine packages under TinyGo's root, the standard library under Go's). The roots
are read from the image: the prefix before `/src/PACKAGE/` of every function of a standard
package (no dot in its first path element) whose DWARF file says so. Everything under a root is
the runtime; the `main` package and anything elsewhere is the user's. A finding is attributed to
the innermost frame of its chain that is the user's code, with the chain into the runtime in its
message; a finding with no user frame at all is wholly inside the runtime (`in_runtime`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

from gomcu.findings import Finding, Location
from gomcu.image import Image
from gomcu.runtime.names import go_package


@dataclass(frozen=True)
class CodeOwners:
    roots: tuple[str, ...]  # toolchain source roots, e.g. /usr/local/Cellar/tinygo/0.37.0
    image: Image
    # function -> its location, found once (the line rows of a whole function are read for it)
    _locations: dict[str, Location | None] = field(default_factory=dict, compare=False, repr=False)

    def location(self, function: str) -> Location | None:
        """Where a function is: its first line outside the toolchain's roots (a user function
        full of inlined library code still points at the user's file), else its first line."""
        image = self.image
        sym = image.symbol(function)
        if sym is None:
            return None
        cached = self._locations.get(function)
        if cached is not None or function in self._locations:
            return cached
        first = None
        for line in image.lines_in_range(sym.address, sym.address + min(max(sym.size, 2), 8192)):
            first = first or line
            if not self.foreign(line.file):
                first = line
                break
        found = Location(sym.address, function, first.file if first else None, first.line if first else None)
        self._locations[function] = found
        return found

    def foreign(self, file: str) -> bool:
        """A file that is not the user's: under the toolchain's roots, or a module the build
        downloaded (Go's module cache, `.../pkg/mod/...`)."""
        return any(file.startswith(r + "/") for r in self.roots) or "/pkg/mod/" in file

    def is_runtime(self, function: str) -> bool:
        if go_package(function) == "main":
            return False
        if go_package(function) == "(interface methods)":
            return True  # a dispatch thunk the compiler made: no one's source
        loc = self.location(function)
        if loc is not None and loc.file is not None and loc.file.startswith("<"):
            return True
        if loc is None or loc.file is None:
            # no source line in a Go build: code the compiler made (OUTLINED_FUNCTION_n) or a
            # runtime routine, never a place in the user's sources
            return bool(self.roots)
        return any(loc.file.startswith(root + "/") for root in self.roots)

    def is_users(self, function: str) -> bool:
        """Whether a frame is the user's code. Without toolchain roots in DWARF (a C build of the
        runtime, as the reference firmware's), the runtime is what a standard Go package names
        (`runtime.`, `internal/task.`, `machine.`) and TinyGo's assembly helpers (`tinygo_*`)."""
        if self.roots:
            return not self.is_runtime(function)
        package = go_package(function)
        return not function.startswith("tinygo_") and (package is None or not _standard(package))


def _standard(package: str) -> bool:
    return "." not in package.split("/")[0] and package != "main"


def owners(image: Image) -> CodeOwners:
    """The toolchain roots this image's debug lines show."""
    return _owners(image)


@lru_cache(maxsize=8)
def _owners(image: Image) -> CodeOwners:
    roots: set[str] = set()
    seen: set[str] = set()
    # any Go toolchain (TinyGo, Embedded Go): a standard package's DWARF file is ROOT/src/PACKAGE/f.go
    for fn in image.functions:
        pkg = go_package(fn.name)
        if pkg is None or not _standard(pkg) or pkg in seen:
            continue
        seen.add(pkg)
        line = image.line_for(fn.address)
        marker = f"/src/{pkg}/"
        if line is not None and marker in line.file:
            roots.add(line.file.split(marker, 1)[0])
    return CodeOwners(tuple(sorted(roots)), image)


def place(f: Finding, who: CodeOwners) -> Finding:
    """A finding whose location has an address or a function but no source line gets the line
    DWARF gives for it (so that code scanning can show it)."""
    loc = f.location
    if loc is None or loc.file is not None:
        return f
    image = who.image
    address = loc.address
    if address is None and loc.function:
        sym = image.symbol(loc.function)
        address = sym.address if sym is not None else None
    line = image.line_for(address) if address is not None else None
    if line is None:
        return f
    return replace(f, location=Location(address, loc.function, line.file, line.line))


def source_root(who: CodeOwners, entries: tuple[str, ...] = ("main.main", "main")) -> str | None:
    """Where the user's sources are: the compilation directory of the unit that holds the main
    function, else the directory of the main package's own file (TinyGo leaves comp_dir out)."""
    image = who.image
    sym = next((s for s in (image.symbol(n) for n in entries) if s is not None), None)
    unit = None if sym is None else next(
        (u for u in image.compile_units if any(lo <= sym.address < hi for lo, hi in u.ranges)), None)
    if unit is not None and unit.comp_dir:
        return unit.comp_dir
    for fn in image.functions:
        if go_package(fn.name) == "main":
            loc = who.location(fn.name)
            if loc is not None and loc.file and loc.file.startswith("/") and not who.foreign(loc.file):
                return loc.file.rsplit("/", 1)[0]
    return None


def attribute(findings: tuple[Finding, ...], who: CodeOwners) -> tuple[Finding, ...]:
    """Each finding moved to its innermost user frame (the chain into the runtime said in its
    message), or marked `in_runtime` when none of its frames is the user's; every location
    DWARF can place gets its line."""
    if not who.roots:
        return tuple(place(f, who) for f in findings)
    out = []
    for f in findings:
        f = place(f, who)
        here = f.location.function if f.location is not None else None
        if here is not None and not who.is_runtime(here):
            out.append(f)
            continue
        frames = list(f.chain)
        user = [i for i, name in enumerate(frames) if not who.is_runtime(name)]
        if not frames or (here is None and not user and f.location is None):
            out.append(f)  # not about code at all (a figure, a priority): nothing to attribute
            continue
        if not user:
            out.append(replace(f, in_runtime=True))
            continue
        i = user[-1]
        into = " -> ".join(frames[i:]) if i < len(frames) - 1 else frames[i]
        message = f.message + (f" [in the runtime, via {into}]" if i < len(frames) - 1 else "")
        out.append(replace(f, message=message, location=who.location(frames[i]) or f.location))
    return tuple(out)
