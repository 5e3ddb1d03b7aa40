"""Core result types shared by every analysis: figures with their origin, findings and verdicts.

docs/architecture.md: every figure carries its unit and its origin; analyses return findings, reporters
print them. These are small frozen dataclasses so that JSON output can be derived from them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Origin(str, enum.Enum):
    """Where a figure came from."""

    STATIC = "static"
    EMULATED = "emulated"
    SOURCE = "source"
    DATASHEET = "datasheet"


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Status(str, enum.Enum):
    """A verdict on one limit."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Figure:
    """A number with its unit and origin, e.g. Figure("flash", 12345, "bytes", Origin.STATIC).

    `qualifier` says when the number is a bound, not a value ("at most": a margin computed from
    a lower bound on use); `partial` says when an emulated run stopped before the program's end
    (the figure holds only up to that stop, and the text says where); `deciding` marks the
    figures a one-line summary of the limit shows."""

    name: str
    value: float | int | None
    unit: str
    origin: Origin
    qualifier: str = ""
    partial: str = ""
    deciding: bool = False


@dataclass(frozen=True)
class Location:
    """A place in the user's program: a source line when DWARF knows it, else an address."""

    address: int | None = None
    function: str | None = None
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        parts = []
        if self.function:
            parts.append(self.function)
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        elif self.address is not None:
            parts.append(f"0x{self.address:08x}")
        return " at ".join(parts) if parts else "?"


@dataclass(frozen=True)
class Finding:
    """One thing an analysis found, with why it matters and where."""

    rule: str
    severity: Severity
    message: str
    location: Location | None = None
    chain: tuple[str, ...] = ()
    in_runtime: bool = False  # wholly inside the toolchain's runtime: no frame of the user's code


@dataclass(frozen=True)
class Verdict:
    """The verdict on one limit, with the figures that decide it and the findings behind it."""

    limit: str
    status: Status
    figures: tuple[Figure, ...] = ()
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def status_of(findings: "list[Finding] | tuple[Finding, ...]") -> Status:
    """The verdict findings alone imply: any error fails, any warning warns."""
    if any(f.severity is Severity.ERROR for f in findings):
        return Status.FAIL
    if any(f.severity is Severity.WARNING for f in findings):
        return Status.WARN
    return Status.PASS
