"""Shared helpers for the benchmarks: timing loops and picking the largest ELF available."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def describe_gomcu() -> str:
    """Which gomcu the benchmark measures (installed or source tree) and its emulator path: a
    benchmark of the source tree without the built extension measures the slow fallback."""
    import gomcu
    from gomcu.emu import emulator_path

    where = Path(gomcu.__file__).resolve().parent
    kind = "source tree" if ROOT / "src" in where.parents else "installed"
    return f"gomcu {gomcu.__version__} from {where} ({kind}); emulator: {emulator_path()}"


def largest_elf(argv: list[str]) -> Path:
    """The ELF named on the command line, else the largest one in the repository."""
    if len(argv) > 1:
        return Path(argv[1])
    candidates = [p for p in ROOT.rglob("*.elf") if "x86" not in p.name]
    if not candidates:
        sys.exit("no ELF file found; pass one as the first argument")
    return max(candidates, key=lambda p: p.stat().st_size)


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """The median wall time of `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def command(args: list[str], ok_codes: tuple[int, ...] = (0,), env: dict[str, str] | None = None) -> Callable[[], object]:
    """A callable that runs `args` (with `env` added to the environment) and fails loudly on an
    unexpected exit status."""

    def go() -> object:
        done = subprocess.run(args, capture_output=True, env=None if env is None else {**os.environ, **env})
        if done.returncode not in ok_codes:
            raise SystemExit(f"{args[0]} exited {done.returncode}: {done.stderr.decode(errors='replace')[:500]}")
        return done

    return go
