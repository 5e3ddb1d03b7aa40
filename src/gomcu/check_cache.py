"""The whole static result of `gomcu check` on disk, so that checking the same firmware again
costs little more than Python's start-up.

The code model and line tables are cached already (`diskcache`), but a check still redid every
analysis on them; this keeps the typed `Report` itself, and beside it the JSON document
`check --format json` prints for it (CI's form: a cached JSON check then needs no analysis
module at all, not even to unpickle the report). Its key holds everything the result depends
on: the ELF's bytes (SHA-256) and the path it was given by (messages name it), the chip and
runtime options (a profile file's bytes too), the other options that reach the analyses, every
source and data file of the gomcu package (analyses, reporters, chip database, built-in
profiles), the Python version and the installed capstone and pyelftools. Never cached: runs in
the emulator (a wall-clock timeout makes them depend on the machine) and `--src` (Go sources on
disk). The linker script and the budget are applied to a stored report afresh every time (a
script's INCLUDEs are other files), so the stored JSON serves only a check without them.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu import diskcache

if TYPE_CHECKING:
    from gomcu.check import CheckOptions
    from gomcu.report.model import Report

KIND = "check-report"
#: Bump when what is stored changes meaning in a way the code's own hash would not show.
FORMAT = 1
#: Libraries whose results the analyses keep: the decoder and the ELF/DWARF reader.
LIBRARIES = ("capstone", "pyelftools")


@dataclass(frozen=True)
class Entry:
    """Where a check's result is stored, and the digest of the firmware bytes its key holds."""

    name: str
    digest: str


@dataclass(frozen=True)
class Stored:
    """A stored check: its JSON document, whether it failed, and the report, unpickled on demand."""

    json_text: str
    failed: bool
    report_bytes: bytes

    def report(self) -> Report | None:
        """The typed report, or None when it cannot be read back (it is then made again)."""
        from gomcu.report.model import Report

        try:
            found = pickle.loads(self.report_bytes)
        except Exception:  # a damaged entry of any kind is rebuilt, never reported
            return None
        return found if isinstance(found, Report) else None


def file_digest(path: str) -> str | None:
    """SHA-256 of a regular file's bytes, or None (a pipe would be read up before the analysis)."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def entry(options: CheckOptions) -> Entry | None:
    """The entry of this check, or None when such a check is not cached (an emulated run, Go
    sources joined, the cache off, a file that cannot be read: the analysis then says why)."""
    measured = options.budget is not None and options.budget.needs_measurements
    if options.run or measured or options.src or diskcache.directory() is None:
        return None
    runtime = options.runtime or ""
    runtime_bytes = ""
    if runtime and os.path.isfile(runtime):
        found = file_digest(runtime)
        if found is None:
            return None
        runtime_bytes = found
    digest = file_digest(options.firmware)
    if digest is None:
        return None
    extra = (options.firmware, options.chip or "", runtime, runtime_bytes, str(options.max_insns),
             repr(options.timeout), "\0".join(options.extra_notes), sys.version,
             *diskcache.library_versions(LIBRARIES))
    return Entry(diskcache.key(KIND, FORMAT, digest, ("",), extra), digest)


def load(where: Entry) -> Stored | None:
    """The stored check, or None (no entry, or one that cannot be read: it is made again)."""
    found = diskcache.load(KIND, where.name)
    if not (isinstance(found, tuple) and len(found) == 3 and isinstance(found[0], str)
            and isinstance(found[1], bool) and isinstance(found[2], bytes)):
        return None
    return Stored(*found)


def store(where: Entry, report: Report) -> None:
    """Keep `report` and its JSON document under `where`."""
    import json

    from gomcu.report.json_report import to_json

    text = json.dumps(to_json(report), indent=2) + "\n"
    report_bytes = pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)
    diskcache.store(KIND, where.name, (text, report.overall.value == "fail", report_bytes))
