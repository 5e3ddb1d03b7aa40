"""The distributions a user installs: the wheel carries the data files and the native hook, and
gomcu runs from it outside the source tree; the sdist builds and ships no tests it cannot run."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import REFMW_BUILD, ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "License classifiers are deprecated" not in done.stderr
    assert "project.license" not in done.stderr, done.stderr  # the SPDX form raises no deprecation warning
    return out


def test_wheel_has_data_files_and_native_hook(dists: Path) -> None:
    wheel = next(dists.glob("gomcu-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    source_data = [p.relative_to(ROOT / "src").as_posix() for pattern in
                   ("gomcu/chips/data/**/*.toml", "gomcu/runtime/profiles/**/*.toml", "gomcu/report/templates/*")
                   for p in (ROOT / "src").glob(pattern)]
    assert source_data and set(source_data) <= set(names)
    assert "gomcu/py.typed" in names
    assert any(n.startswith("gomcu/emu/_fastblock") and n.endswith(".so") for n in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "License-Expression: MIT" in metadata


def test_installed_wheel_runs_outside_the_source_tree(dists: Path, tmp_path: Path) -> None:
    wheel = next(dists.glob("gomcu-*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
                    "--target", str(target), str(wheel)], check=True, capture_output=True, timeout=300)
    # The wheel's gomcu first on the path; its dependencies come from this environment.
    env = dict(os.environ, PYTHONPATH=str(target), COLUMNS="200")
    version = subprocess.run([sys.executable, "-m", "gomcu", "--version"], capture_output=True, text=True,
                             env=env, cwd=tmp_path, timeout=60)
    assert version.returncode == 0
    assert "native block hook" in version.stdout
    where = subprocess.run([sys.executable, "-c", "import gomcu; print(gomcu.__file__)"], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=60)
    assert where.stdout.strip().startswith(str(target))
    check = subprocess.run([sys.executable, "-m", "gomcu", "check", str(REFMW_BUILD / "refmw-m3.elf"),
                            "--chip", "lm3s6965", "--run", "--format", "json"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert check.returncode == 1, check.stderr  # the reference firmware fails two limits on purpose
    assert '"lm3s6965"' in check.stdout.lower() or "LM3S6965" in check.stdout


def test_sdist_ships_no_tests_it_cannot_run(dists: Path) -> None:
    sdist = next(dists.glob("gomcu-*.tar.gz"))
    names = tarfile.open(sdist).getnames()
    assert not [n for n in names if "/tests/" in n], "tests need the repository's fixtures and toolchains"
    assert any(n.endswith("src/gomcu/emu/_fastblock.c") for n in names)
    assert any(n.endswith("/LICENSE") for n in names)
