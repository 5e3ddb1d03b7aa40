"""The stack analysis on damaged binaries: handled and reported, never a crash (issue 9)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

from conftest import REFMW_BUILD, needs_tool, run_gomcu
from gomcu.code import model
from gomcu.image import load
from gomcu.limits.stack import analyse

SOURCE = REFMW_BUILD / "refmw-m3.elf"


def _symbol_entry(path: Path, name: str) -> int:
    """File offset of a symbol's 16-byte ELF32 entry."""
    with path.open("rb") as handle:
        elf = ELFFile(handle)
        table = elf.get_section_by_name(".symtab")
        for index, sym in enumerate(table.iter_symbols()):
            if sym.name == name:
                return table["sh_offset"] + index * 16
    raise AssertionError(name)


def _patched(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "patched.elf"
    shutil.copy(SOURCE, path)
    data = bytearray(path.read_bytes())
    edit(path, data)
    path.write_bytes(bytes(data))
    return path


def test_symbol_size_past_its_section(tmp_path: Path) -> None:
    def edit(path: Path, data: bytearray) -> None:
        struct.pack_into("<I", data, _symbol_entry(path, "main.main") + 8, 0x100000)

    image = load(_patched(tmp_path, edit))
    code = model(image)
    assert any("main.main" in note and "past the end" in note for note in code.notes)
    report = analyse(image)
    assert any(r.name == "Reset_Handler" for r in report.roots)


def test_overlapping_symbols(tmp_path: Path) -> None:
    def edit(path: Path, data: bytearray) -> None:
        # runtime.alloc claims to run 4 KiB, over every function after it.
        struct.pack_into("<I", data, _symbol_entry(path, "runtime.alloc") + 8, 4096)

    code = model(load(_patched(tmp_path, edit)))
    assert any("runtime.alloc" in note and "overlaps" in note for note in code.notes)
    assert code.function("runtime.GC") is not None, "the function after it keeps its own extent"


def _undecodable_recursion(tmp_path: Path) -> Path:
    """main.recurse's prologue overwritten with bytes that are no Thumb-2 instruction."""

    def edit(path: Path, data: bytearray) -> None:
        image = load(SOURCE)
        fn = image.symbol("main.recurse")
        text = image.section_at(fn.address)
        offset = text.offset + (fn.address - text.vma)
        data[offset : offset + 8] = b"\xff\xff" * 4

    return _patched(tmp_path, edit)


def test_undecodable_code_takes_the_frame_from_cfi(tmp_path: Path) -> None:
    path = _undecodable_recursion(tmp_path)
    result = run_gomcu("stack", str(path), "--format", "json")
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr
    report = analyse(load(path))
    cycle = next(r for r in report.recursion if r.cycle.functions == ("main.recurse",))
    assert cycle.cycle.bytes_per_iteration == 24, "the frame .debug_frame gives, not the 0 B the damaged code shows"


@needs_tool("arm-none-eabi-strip")
def test_undecodable_code_without_cfi_is_unbounded(tmp_path: Path) -> None:
    damaged = _undecodable_recursion(tmp_path)
    no_debug = tmp_path / "nodebug.elf"
    subprocess.run(["arm-none-eabi-strip", "--strip-debug", "-o", str(no_debug), str(damaged)], check=True)
    image = load(no_debug)
    assert image.cfi_frames == {}
    recurse = model(image).function("main.recurse")
    assert recurse is not None and recurse.frame_bytes is None
    assert any("could not decode" in note for note in recurse.notes)


@needs_tool("arm-none-eabi-strip")
def test_stripped_binary_is_analysed_from_the_vector_table(tmp_path: Path) -> None:
    stripped = tmp_path / "stripped.elf"
    subprocess.run(["arm-none-eabi-strip", "-o", str(stripped), str(SOURCE)], check=True)
    result = run_gomcu("stack", str(stripped), "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(result.stdout)
    assert any(root["kind"] == "reset" for root in document["roots"])
