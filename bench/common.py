"""Shared helpers for the benchmarks: timing loops and picking the largest ELF available."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Timing:
    """Median wall time and median user CPU time of a command's runs, in seconds (on a shared
    machine the CPU time is the steadier of the two)."""

    wall: float
    user: float

    def __str__(self) -> str:
        return f"{self.wall:.3f} s wall, {self.user:.3f} s user CPU"


def timed(repeats: int, fn: Callable[[], object]) -> Timing:
    """The median wall and user CPU time of `repeats` calls of `fn`, which runs a child process."""
    walls, users = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        users.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before)
    return Timing(statistics.median(walls), statistics.median(users))


def command(args: list[str], ok_codes: tuple[int, ...] = (0,),
            env: dict[str, str | None] | None = None) -> Callable[[], object]:
    """A callable that runs `args` (with `env` added to the environment; a None value removes
    the variable) and fails loudly on an unexpected exit status."""
    environment = None if env is None else {k: v for k, v in {**os.environ, **env}.items() if v is not None}

    def go() -> object:
        done = subprocess.run(args, capture_output=True, env=environment)
        if done.returncode not in ok_codes:
            raise SystemExit(f"{args[0]} exited {done.returncode}: {done.stderr.decode(errors='replace')[:500]}")
        return done

    return go
