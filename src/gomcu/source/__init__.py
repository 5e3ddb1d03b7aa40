"""The source layer: a Go package directory analysed with tree-sitter (docs/architecture.md, "source").

`analyse(directory)` -> SourceReport: interrupt handlers and what they reach, goroutines,
recursion, MMIO without volatile, allocation in loops. Source findings are what the code asks
for; the compiler's inlining and escape analysis are invisible here, and `gomcu irq` on the
built ELF is the proof for the binary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gomcu.findings import Figure, Finding, Origin
from gomcu.runtime.profile import RuntimeProfile
from gomcu.source.callgraph import CallGraph
from gomcu.source.model import GoStatement, MmioAccess, MmioPointer, Package
from gomcu.source.rules import (
    Cycle,
    HandlerResult,
    analyse_handlers,
    goroutine_findings,
    loop_allocations,
    mmio_findings,
    recursion,
)

CAVEAT = ("source findings are what the code asks for; inlining and the compiler's escape analysis "
          "are not visible here: `gomcu irq` on the built ELF is the proof for the binary")


@dataclass(frozen=True)
class SourceReport:
    package: Package
    handlers: tuple[HandlerResult, ...]
    goroutines: tuple[GoStatement, ...]
    recursion: tuple[Cycle, ...]
    mmio_pointers: tuple[MmioPointer, ...]
    mmio_accesses: tuple[MmioAccess, ...]
    findings: tuple[Finding, ...]
    figures: tuple[Figure, ...]
    notes: tuple[str, ...]


def analyse(directory: str | Path, profile: RuntimeProfile | None = None) -> SourceReport:
    """Parse and judge the Go package in `directory` (GomcuError for bad input)."""
    from gomcu.source.extract import Extractor
    from gomcu.source.names import SourceNames
    from gomcu.source.parse import parse_package

    names = SourceNames.from_profile(profile)
    files = parse_package(directory)
    package = Extractor(files, names).run(str(directory))
    graph = CallGraph(package, names)
    cycles, rec = recursion(package, graph)
    handlers, findings = analyse_handlers(package, graph, cycles)
    handler_reach: set[str] = set()
    for h in handlers:
        for fn in package.named(h.registration.handler) if h.registration.resolved else ():
            handler_reach |= set(graph.reach(fn))
    findings += goroutine_findings(package)
    findings += rec
    pointers, accesses, mmio = mmio_findings(package)
    findings += mmio
    findings += loop_allocations(package, graph, handler_reach)
    figures = (
        Figure("interrupt handlers", len(handlers), "handlers", Origin.SOURCE),
        Figure("go statements", len(package.goroutines), "statements", Origin.SOURCE),
        Figure("go statements in loops", sum(g.in_loop for g in package.goroutines), "statements", Origin.SOURCE),
        Figure("recursion cycles", len(cycles), "cycles", Origin.SOURCE),
        Figure("MMIO pointers without volatile", len(pointers), "pointers", Origin.SOURCE),
    )
    return SourceReport(package, handlers, package.goroutines, cycles, pointers, accesses,
                        tuple(findings), figures, package.notes + (CAVEAT,))


__all__ = ["CAVEAT", "SourceReport", "analyse"]
