"""The rich console every text reporter writes to, and small formatting helpers."""

from __future__ import annotations

import os
import sys

from rich.console import Console


def stdout_console() -> Console:
    """Console for reports: when piped (CI logs, files) use 120 columns unless COLUMNS says otherwise."""
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
    return Console(file=sys.stdout, highlight=False, width=width)


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
