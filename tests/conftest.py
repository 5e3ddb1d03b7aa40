"""Shared paths and helpers for the test suite."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
ELF_FIXTURES = FIXTURES / "elf"
REFMW = ROOT / "examples" / "refmw"
REFMW_BUILD = REFMW / "build"


def pytest_configure(config: pytest.Config) -> None:
    """Every test (and every gomcu it starts) uses a cache folder of its own session, never the
    user's: no test depends on what an earlier gomcu left in ~/.cache/gomcu."""
    folder = tempfile.mkdtemp(prefix="gomcu-test-cache-")
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
    os.environ["XDG_CACHE_HOME"] = folder
    os.environ.pop("GOMCU_NO_CACHE", None)


def run_gomcu(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "gomcu", *args],
        capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env,
    )


def read_su(path: Path) -> dict[str, int]:
    """Function -> frame bytes from one of GCC's -fstack-usage (.su) files: the frame oracle."""
    out = {}
    for line in path.read_text().splitlines():
        where, size, _ = line.split("\t")
        out[where.rsplit(":", 1)[-1]] = int(size)
    return out


def needs_tool(name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(shutil.which(name) is None, reason=f"{name} is not installed")




def assert_rebuilds_identically(fixture: Path, work: Path, sources: Sequence[str], elves: Sequence[str],
                                targets: Sequence[str] = ()) -> None:
    """Copy a committed fixture's `sources` into `work`, run its Makefile there (for `targets`, else
    the default one), and require each of `elves` to come out byte for byte as committed (so the
    ELFs match the sources beside them)."""
    for name in sources:
        shutil.copy(fixture / name, work / name)
    subprocess.run(["make", "-s", "-C", str(work), *targets], check=True, capture_output=True)
    for elf in elves:
        assert (work / elf).read_bytes() == (fixture / elf).read_bytes(), f"{elf}: run make in {fixture} and commit"
