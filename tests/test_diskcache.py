"""The on-disk cache of code models and line tables: a cached run reports exactly what an
uncached one does, a damaged entry is rebuilt (never a traceback), and --no-cache / GOMCU_NO_CACHE
keep the cache out of it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import REFMW_BUILD, run_gomcu
from gomcu import diskcache
from gomcu.code.model import model as code_model
from gomcu.image import load

ELF = REFMW_BUILD / "refmw-m3.elf"  # built with -g: the code model, DWARF line tables and CFI are stored


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.pickle"))


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "gomcu"


def test_cached_and_corrupt_runs_report_what_an_uncached_run_does(cache: Path) -> None:
    first = run_gomcu("check", str(ELF), "--format", "json")
    assert first.returncode in (0, 1), first.stderr
    entries = _entries(cache)
    kinds = {p.parent.name for p in entries}
    assert kinds == {"code-model", "dwarf-lines", "dwarf-units", "cfi", "check-report"}, entries

    cached = run_gomcu("check", str(ELF), "--format", "json")
    assert (cached.returncode, cached.stdout, cached.stderr) == (first.returncode, first.stdout, first.stderr)

    # Without the stored check (test_check_cache.py), the analyses run on the stored model, lines and CFI.
    shutil.rmtree(cache / "check-report")
    from_parts = run_gomcu("check", str(ELF), "--format", "json")
    assert (from_parts.returncode, from_parts.stdout, from_parts.stderr) == (first.returncode, first.stdout,
                                                                              first.stderr)
    entries = _entries(cache)

    uncached = run_gomcu("check", str(ELF), "--format", "json", "--no-cache")
    assert (uncached.returncode, uncached.stdout) == (first.returncode, first.stdout)

    # Damage every entry three ways: garbage, truncated, empty. Each is rebuilt.
    for i, path in enumerate(entries):
        data = path.read_bytes()
        path.write_bytes([b"not a pickle at all", data[: len(data) // 2], b""][i % 3])
    damaged = run_gomcu("check", str(ELF), "--format", "json")
    assert (damaged.returncode, damaged.stdout, damaged.stderr) == (first.returncode, first.stdout, first.stderr)
    assert _entries(cache) == entries
    assert all(p.stat().st_size > 100 for p in entries), "damaged entries were not written again"


def test_a_stored_model_is_what_later_runs_read(cache: Path) -> None:
    built = code_model(load(ELF))
    entries = _entries(cache / "code-model")
    assert len(entries) == 1
    key = entries[0].stem
    state = diskcache.load("code-model", key)
    assert state is not None and state["_functions"] == built._functions
    # A marker written into the stored entry shows up in the next model of the same bytes:
    # the model is read from disk, not built again.
    state["notes"] = [*state["notes"], "marker from the stored entry"]
    diskcache.store("code-model", key, state)
    again = code_model(load(ELF))
    assert again is not built and "marker from the stored entry" in again.notes
    assert again.functions == built.functions and again.roots == built.roots


def test_no_cache_environment_variable_writes_nothing(cache: Path) -> None:
    env_before = os.environ.get(diskcache.ENV_OFF)
    os.environ[diskcache.ENV_OFF] = "1"
    try:
        done = run_gomcu("stack", str(ELF), "--format", "json")
    finally:
        if env_before is None:
            del os.environ[diskcache.ENV_OFF]
        else:
            os.environ[diskcache.ENV_OFF] = env_before
    assert done.returncode in (0, 1), done.stderr
    assert not _entries(cache)
