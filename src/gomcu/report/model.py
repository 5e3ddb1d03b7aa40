"""The one `Report` every reporter renders (text, JSON, HTML, SARIF).

Analyses fill it; reporters only format it. Plot data (pause and latency samples, the memory
map, stack paths) travel here as plain numbers so that the HTML reporter need not compute.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gomcu.budget import BudgetResult
from gomcu.findings import Finding, Status
from gomcu.limits.result import LIMIT_TITLES, LIMITS, LimitResult

__all__ = ["LIMITS", "LIMIT_TITLES", "LimitResult", "Plots", "Report", "overall_status"]


@dataclass(frozen=True)
class Plots:
    """Raw series for the HTML report's plots."""

    ram_map: tuple[tuple[str, int], ...] = ()
    ram_total: int | None = None
    flash_map: tuple[tuple[str, int], ...] = ()
    flash_total: int | None = None
    gc_pauses_us: tuple[float, ...] = ()
    latencies_us: tuple[float, ...] = ()
    latency_vs_heap: tuple[tuple[float, float], ...] = ()
    latency_model: tuple[float, float] | None = None  # intercept, slope
    stack_paths: tuple[tuple[str, tuple[tuple[str, int | None], ...]], ...] = ()


@dataclass(frozen=True)
class Report:
    firmware: str
    arch: str
    core: str
    toolchain: str
    chip: str | None
    runtime: str | None
    limits: tuple[LimitResult, ...]
    budget: tuple[BudgetResult, ...] = ()
    plots: Plots = field(default_factory=Plots)
    notes: tuple[str, ...] = ()
    source_root: str | None = None  # the main package's compilation directory (DWARF comp_dir)

    @property
    def overall(self) -> Status:
        analysed = [r.status for r in self.limits if r.skipped is None]
        return overall_status(analysed, any(b.exceeded for b in self.budget))

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.limits for f in r.findings)

    def limit(self, name: str) -> LimitResult | None:
        return next((r for r in self.limits if r.limit == name), None)


def overall_status(statuses: list[Status], budget_exceeded: bool = False) -> Status:
    """The worst of the limits' statuses; an exceeded budget fails the whole check."""
    if budget_exceeded or Status.FAIL in statuses:
        return Status.FAIL
    if Status.WARN in statuses or Status.UNKNOWN in statuses:
        return Status.WARN
    return Status.PASS
