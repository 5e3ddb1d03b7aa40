"""The stored result of a whole static check (gomcu/check_cache.py): a cached check prints what
an uncached one does in every format, whatever decides the result (bytes, chip, runtime profile,
gomcu's own code) makes a fresh analysis, the linker script and the budget are judged afresh, a
damaged entry is rebuilt, and a cached JSON check loads no analysis module."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REFMW, REFMW_BUILD, ROOT, run_gomcu
from gomcu import check_cache, diskcache

ELF = REFMW_BUILD / "refmw-m3.elf"
SMALL_STACK = REFMW_BUILD / "refmw-m3-small-stack.elf"


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "gomcu"


def _stored(cache: Path) -> list[Path]:
    return sorted((cache / check_cache.KIND).glob("*.pickle"))


def _check(*args: str) -> tuple[int, str, str]:
    done = run_gomcu("check", *args, timeout=600)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, done.stdout, done.stderr


def _every_format(tmp_path: Path, *extra: str) -> list[object]:
    """Text, JSON, and text with the HTML and SARIF files (all findings, runtime ones too)."""
    html, sarif = tmp_path / "report.html", tmp_path / "report.sarif"
    out: list[object] = [_check(str(ELF), *extra), _check(str(ELF), "--format", "json", *extra)]
    out.append(_check(str(ELF), "--all", "--include-runtime", "--html", str(html), "--sarif", str(sarif), *extra))
    out += [html.read_text(), sarif.read_text()]
    return out


def test_a_cached_check_prints_what_an_uncached_one_does_in_every_format(cache: Path, tmp_path: Path) -> None:
    reference = _every_format(tmp_path, "--no-cache")
    assert not cache.exists()
    filling = _every_format(tmp_path)
    assert len(_stored(cache)) == 1, "the formats and text options share one stored result"
    cached = _every_format(tmp_path)
    assert filling == reference
    assert cached == reference
    assert len(_stored(cache)) == 1
    assert reference[0][0] == 1, "the reference firmware fails a limit: the exit status comes back too"


def test_later_checks_print_the_stored_result(cache: Path, tmp_path: Path) -> None:
    """A marker written into the stored entry shows in the next check of the same firmware: the
    JSON form as stored, the typed report for text and for a check with a budget."""
    first = json.loads(_check(str(ELF), "--format", "json")[1])
    (path,) = _stored(cache)
    text, failed, report_bytes = diskcache.load(check_cache.KIND, path.stem)
    report = pickle.loads(report_bytes)
    marked = dataclasses.replace(report, notes=(*report.notes, "marker from the stored report"))
    document = json.loads(text)
    document["notes"].insert(0, "stored json")
    diskcache.store(check_cache.KIND, path.stem, (json.dumps(document, indent=2) + "\n", failed, pickle.dumps(marked)))

    assert json.loads(_check(str(ELF), "--format", "json")[1])["notes"] == ["stored json", *first["notes"]]
    assert "marker from the stored report" in _check(str(ELF))[1]
    budget = tmp_path / "gomcu.toml"
    budget.write_text("[budget]\nflash_bytes = 200000\n")
    with_budget = json.loads(_check(str(ELF), "--budget", str(budget), "--format", "json")[1])
    assert with_budget["notes"] == [*first["notes"], "marker from the stored report"]


def test_what_decides_the_result_makes_a_fresh_analysis(cache: Path, tmp_path: Path) -> None:
    def same_as_uncached(*args: str) -> str:
        cached = _check(*args, "--format", "json")
        assert cached == _check(*args, "--format", "json", "--no-cache")
        return cached[1]

    firmware = tmp_path / "fw.elf"
    shutil.copy(ELF, firmware)
    plain = same_as_uncached(str(firmware))
    assert json.loads(same_as_uncached(str(firmware), "--chip", "lm3s6965"))["chip"] == "LM3S6965"
    assert len(_stored(cache)) == 2

    shutil.copy(SMALL_STACK, firmware)  # same path, other bytes
    assert same_as_uncached(str(firmware)) != plain

    profile = tmp_path / "profile.toml"
    profile.write_text((ROOT / "src/gomcu/runtime/profiles/refmw.toml").read_text())
    assert json.loads(same_as_uncached(str(ELF), "--runtime", str(profile)))["runtime"] == "refmw"
    profile.write_text(profile.read_text().replace('name = "refmw"', 'name = "edited"'))
    assert json.loads(same_as_uncached(str(ELF), "--runtime", str(profile)))["runtime"] == "edited"


def test_the_budget_and_the_linker_script_are_judged_afresh(cache: Path, tmp_path: Path) -> None:
    _check(str(ELF), "--chip", "lm3s6965")
    budget = tmp_path / "gomcu.toml"
    script = tmp_path / "firmware.ld"
    args = (str(ELF), "--chip", "lm3s6965", "--budget", str(budget), "--ld", str(script), "-L", str(REFMW),
            "--format", "json")
    outcomes = []
    for flash, ld in ((1000, "refmw-m3.ld"), (200000, "refmw-m3-stack-top.ld")):
        budget.write_text(f"[budget]\nflash_bytes = {flash}\n")
        shutil.copy(REFMW / ld, script)
        cached = _check(*args)
        assert cached == _check(*args, "--no-cache")
        document = json.loads(cached[1])
        linker = next(limit for limit in document["limits"] if limit["limit"] == "linker")
        outcomes.append((document["budget"][0]["exceeded"], linker["status"]))
    assert outcomes == [(True, "pass"), (False, "fail")]
    assert len(_stored(cache)) == 1


def test_emulated_checks_are_not_stored(cache: Path) -> None:
    _check(str(ELF), "--run", "--max-insns", "3000000", "--format", "json")
    assert cache.exists() and not _stored(cache)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "other shape", "report unreadable"])
def test_a_damaged_entry_is_rebuilt(cache: Path, damage: str) -> None:
    reference = [_check(str(ELF)), _check(str(ELF), "--format", "json")]
    (path,) = _stored(cache)
    data = path.read_bytes()
    text, failed, _ = diskcache.load(check_cache.KIND, path.stem)
    path.write_bytes({
        "garbage": b"not a pickle at all",
        "truncated": data[: len(data) // 2],
        "empty": b"",
        "other shape": pickle.dumps((path.stem, {"report": "?"})),
        "report unreadable": pickle.dumps((path.stem, (text, failed, b"\x80\x05garbage"))),
    }[damage])
    assert [_check(str(ELF)), _check(str(ELF), "--format", "json")] == reference
    (again,) = _stored(cache)
    stored = check_cache.load(check_cache.Entry(again.stem, ""))
    assert stored is not None and stored.report() is not None, "the damaged entry was not written again"
    assert stored.json_text == reference[1][1]


def test_an_edit_to_gomcu_makes_a_new_entry(cache: Path, tmp_path: Path) -> None:
    """The key holds a hash of the package's sources: a check by edited code never reads what
    the old code stored."""
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "gomcu", copy / "gomcu", ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, PYTHONPATH=str(copy))

    def check() -> str:
        done = subprocess.run([sys.executable, "-m", "gomcu", "check", str(ELF), "--format", "json"],
                              capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode in (0, 1), done.stderr
        return done.stdout

    first = check()
    assert len(_stored(cache)) == 1
    memory = copy / "gomcu" / "limits" / "memory.py"
    memory.write_text(memory.read_text() + "\n# an edit\n")
    assert check() == first
    assert len(_stored(cache)) == 2


def _modules_loaded(*args: str) -> tuple[int, str, set[str]]:
    """Exit status, stdout and the modules a gomcu command loaded (Python's own start-up's too)."""
    probe = ("import sys\nfrom gomcu.cli import main\ntry:\n    status = main(sys.argv[1:])\n"
             "except SystemExit as stop:\n    status = stop.code\n"
             "sys.stderr.write('\\n'.join(sorted(sys.modules)))\nraise SystemExit(status)\n")
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, COLUMNS="200"))
    return done.returncode, done.stdout, set(done.stderr.split())


#: What a static check needs only when it analyses: the decoder, the ELF reader, the emulator, the
#: Go source parser, the HTML templates.
HEAVY = {"capstone", "elftools", "unicorn", "tree_sitter", "jinja2", "gomcu.emu.boards", "gomcu.source"}


def test_a_cached_check_loads_no_decoder_reader_or_emulator(cache: Path) -> None:
    """What makes it fast: the stored JSON is printed as it is, without any analysis module or
    the text reporter's library; the text is rendered from the stored report without the
    libraries that made it."""
    _check(str(ELF), "--format", "json")
    status, out, loaded = _modules_loaded("check", str(ELF), "--format", "json")
    assert status == 1 and json.loads(out)["firmware"] == str(ELF)
    assert not (HEAVY | {"rich", "gomcu.code", "gomcu.image", "gomcu.limits.memory", "gomcu.report.json_report"}
                ) & loaded
    status, out, loaded = _modules_loaded("check", str(ELF))
    assert status == 1 and "memory" in out
    assert not HEAVY & loaded


def test_version_loads_no_command() -> None:
    status, out, loaded = _modules_loaded("--version")
    assert status == 0 and out.startswith("gomcu ")
    assert not {m for m in loaded if m.startswith("gomcu.commands.") and m != "gomcu.commands.base"}


def test_library_versions_are_the_installed_ones() -> None:
    from importlib.metadata import version

    found = diskcache.library_versions(check_cache.LIBRARIES)
    assert found == tuple(sorted(f"{name}-{version(name)}.dist-info" for name in check_cache.LIBRARIES))
