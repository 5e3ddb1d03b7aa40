"""The rich console every text reporter writes to, and small formatting helpers."""

from __future__ import annotations

import sys

from rich.console import Console


def stdout_console() -> Console:
    # soft_wrap keeps long symbol names on one line when output is piped into other tools.
    return Console(file=sys.stdout, highlight=False, soft_wrap=not sys.stdout.isatty())


def human_bytes(n: int | None) -> str:
    if n is None:
        return "?"
    if abs(n) >= 1024 * 1024:
        return f"{n / (1024 * 1024):.2f} MiB"
    if abs(n) >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} B"


def percent(part: int, whole: int | None) -> str:
    if not whole:
        return ""
    return f"{100.0 * part / whole:.1f}%"
