"""The project's error types.

Every problem caused by the user's input (a missing file, a corrupt ELF, an unknown chip, a
linker-script syntax error) is raised as a `GomcuError` subclass. The CLI turns it into one line
on stderr and exit status 2; anything else is a bug in gomcu and shows a traceback with --debug.
"""

from __future__ import annotations

import os


class GomcuError(Exception):
    """A user-facing error: bad input or usage. The message is shown as one line."""

    exit_status = 2


class ImageError(GomcuError):
    """The firmware file cannot be read as a supported ELF image."""


class ChipError(GomcuError):
    """An unknown chip name or an invalid chip database entry."""


class LinkerScriptError(GomcuError):
    """A linker script that cannot be parsed or evaluated."""


class EmulationError(GomcuError):
    """The firmware cannot be run (or ran away) in the emulator."""


def require_file(path: str, what: str = "file") -> str:
    """Fail with one line when an input path does not exist or is not a file."""
    if not os.path.exists(path):
        raise GomcuError(f"{path}: no such {what}")
    if not os.path.isfile(path):
        raise GomcuError(f"{path}: not a regular file")
    return path
