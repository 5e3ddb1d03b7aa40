"""The verdict on one limit, as every analysis hands it to the reporters and the budget.

It lives with the analyses (DESIGN: analyses return typed results that live beside them; the
report layer imports it, never the reverse).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gomcu.findings import Figure, Finding, Status

LIMITS = ("memory", "gc", "interrupts", "linker")
LIMIT_TITLES = {
    "memory": "memory model",
    "gc": "garbage collection",
    "interrupts": "interrupt context",
    "linker": "linker script",
}


@dataclass(frozen=True)
class LimitResult:
    """The verdict on one limit, what decided it, and the analysis it came from (typed: the JSON
    document is derived from `analysis` in report/details.py, never carried here)."""

    limit: str
    status: Status
    figures: tuple[Figure, ...] = ()
    findings: tuple[Finding, ...] = ()
    suggestions: tuple[str, ...] = ()
    skipped: str | None = None
    #: the analysis's own typed result (MemoryAnalysis, GcAnalysis, IrqReport, LinkerCheck):
    #: reporters and budgets read its fields; the JSON document is derived from it in report/
    analysis: Any = None

    @property
    def title(self) -> str:
        return LIMIT_TITLES.get(self.limit, self.limit)
