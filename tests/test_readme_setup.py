"""The README's two set-up commands, taken from the README text and run in a fresh clone with no
`.venv`, so the README cannot drift from what works: the first installs gomcu and checks the bundled
example; the second (its installation part: GOMCU_SETUP_ONLY=1, or it would run this suite again)
reuses that `.venv` and installs the test tools into it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def setup_commands(readme: str) -> list[str]:
    """The shell blocks of the README's set-up section, in order."""
    section = readme.split("## Set up on a fresh Debian/Ubuntu machine", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def test_readme_has_exactly_two_setup_commands() -> None:
    commands = setup_commands((ROOT / "README.md").read_text())
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert commands[1] == "bash .ci/run"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_readme_commands_work_in_a_fresh_clone(tmp_path: Path) -> None:
    first, second = setup_commands((ROOT / "README.md").read_text())
    clone = tmp_path / "gomcu"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True, timeout=120)
    assert not (clone / ".venv").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["COLUMNS"] = "120"
    demo = subprocess.run(["bash", "-c", first], cwd=clone, env=env, capture_output=True, text=True, timeout=1200)
    # The reference firmware fails three limits on purpose: exit 1, and the script says so.
    assert demo.returncode == 1, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "exit status 1, as expected" in demo.stdout
    assert "UART1_IRQHandler" in demo.stdout
    assert "native block hook" in demo.stdout
    python = clone / ".venv" / "bin" / "python"
    made = python.lstat().st_mtime_ns

    tests = subprocess.run(["bash", "-c", second], cwd=clone, env=dict(env, GOMCU_SETUP_ONLY="1"),
                           capture_output=True, text=True, timeout=1200)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-3000:]
    assert python.lstat().st_mtime_ns == made, "the second command must reuse the first one's .venv"
    for tool in ("pytest", "mypy", "ruff"):
        assert (clone / ".venv" / "bin" / tool).exists()
    where = subprocess.run([str(python), "-c", "import gomcu; print(gomcu.__file__)"], capture_output=True,
                           text=True, env=env, cwd=clone, timeout=60)
    assert where.stdout.strip().startswith(str(clone / "src")), "the tests must run the clone's code"
