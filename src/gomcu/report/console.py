"""The rich console every text reporter writes to (formatting lives in gomcu.report.fmt)."""

from __future__ import annotations

import os
import sys

from rich.console import Console


def stdout_console() -> Console:
    """Console for reports: when piped (CI logs, files) use 120 columns unless COLUMNS says otherwise."""
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
    return Console(file=sys.stdout, highlight=False, width=width)
