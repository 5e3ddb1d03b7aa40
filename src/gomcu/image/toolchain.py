"""Which toolchain built a firmware: DWARF producers first, runtime symbols when there is no DWARF."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from gomcu.image.types import CompileUnit, Toolchain

#: Symbols only TinyGo's runtime defines (TINYGO-FACTS.md).
TINYGO_MARKER_SYMBOLS = ("runtime.alloc", "tinygo_swapTask", "tinygo_scanCurrentStack", "internal/task.start")
#: The entry only Embedded Go's runtime (GOOS=noos GOARCH=thumb, rt0_noos_thumb.s) defines.
EMBEDDEDGO_ENTRY = "_rt0_thumb_noos"


def _classify(producer: str) -> tuple[str, str | None] | None:
    if producer.startswith("TinyGo"):
        match = re.search(r"TinyGo\s+([\w.\-]+)", producer)
        return "tinygo", match.group(1) if match else None
    match = re.match(r"Go cmd/compile (\S+)", producer)
    if match:
        return "go", match.group(1)
    match = re.search(r"clang version ([\w.\-]+)", producer)
    if match:
        return "clang", match.group(1)
    match = re.search(r"rustc version ([\w.\-]+)", producer)
    if match:
        return "rustc", match.group(1)
    match = re.match(r"GNU (?:C|C\+\+|AS|Go|Fortran)\w*\s+([\d.]+)", producer)
    if match:
        return "gcc", match.group(1)
    if producer.startswith("GNU AS"):
        return "gcc", None
    return None


def detect_toolchain(units: Iterable[CompileUnit], symbol_names: Collection[str]) -> Toolchain:
    counts: dict[str, int] = {}
    versions: dict[str, str | None] = {}
    for unit in units:
        found = _classify(unit.producer)
        if found:
            counts[found[0]] = counts.get(found[0], 0) + 1
            versions.setdefault(found[0], found[1])
    markers = [s for s in TINYGO_MARKER_SYMBOLS if s in symbol_names]
    if EMBEDDEDGO_ENTRY in symbol_names and (not counts or "go" in counts):
        go = f"; {counts['go']} compile units produced by Go cmd/compile" if "go" in counts else ""
        return Toolchain("embeddedgo", versions.get("go"), f"entry {EMBEDDEDGO_ENTRY} (GOOS=noos GOARCH=thumb){go}")
    if "tinygo" in counts:
        return Toolchain("tinygo", versions["tinygo"], f"{counts['tinygo']} compile units with producer TinyGo")
    if counts:
        name = max(counts, key=lambda k: counts[k])
        evidence = f"{counts[name]} compile units produced by {name}"
        if EMBEDDEDGO_ENTRY in symbol_names:
            evidence += f"; Embedded Go-shaped runtime ({EMBEDDEDGO_ENTRY})"
        if markers:
            evidence += f"; TinyGo-shaped runtime symbols present ({', '.join(markers)})"
        return Toolchain(name, versions[name], evidence)
    if len(markers) >= 2:
        return Toolchain("tinygo", None, f"no DWARF; TinyGo runtime symbols {', '.join(markers)}")
    return Toolchain("unknown", None, "no DWARF producer and no runtime marker symbols")
