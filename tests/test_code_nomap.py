"""Data inside .text with no mapping symbols (Go's linker writes none): never decoded as code.

tests/fixtures/nomap/nomap.S puts a literal pool holding `blxns sp` words and a data table
inside function bounds, then strips $t/$d. Frames are the ones the source shows.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import assert_rebuilds_identically, run_gomcu
from gomcu.code.arch_thumb import ThumbDecoder
from gomcu.code.model import CodeModel
from gomcu.code.types import Kind
from gomcu.image import load as load_image

NOMAP = Path(__file__).parent / "fixtures" / "nomap"
ELF = NOMAP / "nomap.elf"


def test_fixture_has_no_mapping_symbols() -> None:
    assert load_image(ELF).mapping_symbols == ()


def test_blxns_sp_decodes_as_an_indirect_call() -> None:
    insns = ThumbDecoder("ARMv8-M.main").decode(bytes.fromhex("ec47"), 0x1000, lambda a: None)
    assert [(i.kind, i.size) for i in insns] == [(Kind.INDIRECT_CALL, 2)]


def test_literal_pool_and_table_are_not_code() -> None:
    m = CodeModel(load_image(ELF))
    reader, table = m.function("main.reader"), m.function("main.table")
    assert reader is not None and table is not None
    # push {r4, lr} (8) + sub sp, #8 (8); the pool's "blxns sp" words are not decoded
    assert (reader.frame.bytes, reader.frame.dynamic) == (16, False)
    assert [i.address for i in m.instructions("main.reader")][-1] == reader.address + 10  # pop {r4, pc}
    # push {r3, lr}; the table's "sub sp, #508" and undecodable words are not code
    assert (table.frame.bytes, table.frame.dynamic) == (8, False)
    assert all(i.kind is not Kind.INVALID for i in m.instructions("main.table"))
    assert not any(c.callee is None for f in m.functions for c in f.calls)


def test_vector_slot_holding_one_is_no_handler() -> None:
    vt = CodeModel(load_image(ELF)).vector_table
    assert [(e.name, e.address, e.handler) for e in vt[1:4]] == [
        ("Reset", 0x08000010, "_rt0_thumb_noos"), ("NMI", 0, None), ("HardFault", 0x08000020, "main.reader")]


def test_check_does_not_crash() -> None:
    p = run_gomcu("check", str(ELF))
    assert p.returncode in (0, 1), p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("make") is None,
                    reason="needs arm-none-eabi-gcc and make")
def test_fixture_rebuilds_bit_identical(tmp_path: Path) -> None:
    assert_rebuilds_identically(NOMAP, tmp_path, ("nomap.S", "nomap.ld", "Makefile"), ("nomap.elf",))


def test_any_bytes_decode_without_raising() -> None:
    """Data read as code is whatever bytes a firmware holds: every halfword pattern, and each
    followed by a second halfword that makes it a Thumb-2 encoding, decodes to summaries."""
    decoder = ThumbDecoder("ARMv8-M.main")
    data = b"".join(h.to_bytes(2, "little") + ((h * 40503) & 0xFFFF).to_bytes(2, "little") for h in range(0x10000))
    insns = decoder.decode(data, 0x1000, lambda a: None)
    assert sum(i.size for i in insns) == len(data)


def test_tbb_table_without_mapping_symbols() -> None:
    """The table ends where its first case begins: its 3 bytes and the pad are not code, and
    the case that calls main.table is reached through the table."""
    m = CodeModel(load_image(ELF))
    f = m.function("main.switch")
    assert f is not None and (f.frame.bytes, f.frame.dynamic) == (8, False)
    assert [c.callee for c in f.calls] == ["main.table"]
    addresses = [i.address for i in m.instructions("main.switch")]
    assert not any(f.address + 10 <= a < f.address + 14 for a in addresses)  # the table + pad
