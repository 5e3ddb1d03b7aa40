"""`.debug_frame` read over its bytes (image/frametab.py) must give exactly the frames pyelftools'
decoded tables give: plain, compressed in place as Go's linker writes it, and anything unusual
left to pyelftools."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, REFMW_BUILD, ROOT, needs_tool
from gomcu.image import cfi, frametab, load

WITH_CFI = [REFMW_BUILD / "refmw-m3.elf", REFMW_BUILD / "refmw-m4f.elf", REFMW_BUILD / "refmw-rv32.elf",
            ROOT / "examples/embeddedgo/egofw.elf", FIXTURES / "cfi/cfi.elf", FIXTURES / "stack/stackfx-m0.elf"]


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[int, cfi.CfiFrame], dict[int, cfi.CfiFrame]]:
    """The frames of `path` read over the bytes, and read by pyelftools (the fast reader off)."""
    image = load(path)
    elf, arch = image._elf, image.arch.value
    assert frametab.frames(elf, cfi.SP_REGISTER[arch]) is not None, "the fast reader left this file to pyelftools"
    fast = cfi.read_cfi(elf, arch, image._guard)
    with monkeypatch.context() as m:
        m.setattr(frametab, "frames", lambda *_: None)
        slow = cfi.read_cfi(elf, arch, image._guard)
    return fast, slow


@pytest.mark.parametrize("elf", WITH_CFI, ids=lambda p: p.name)
def test_frames_equal_pyelftools(elf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _both(elf, monkeypatch)
    assert fast == slow
    assert any(f.max_offset for f in fast.values()), "no frame with a CFA offset: the test compares nothing"


@needs_tool("arm-none-eabi-objcopy")
def test_compressed_in_place_equals_plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Go's linker compresses .debug_frame in place (SHF_COMPRESSED): read inflated, same frames."""
    packed = tmp_path / "refmw-m3-zlib.elf"
    subprocess.run(["arm-none-eabi-objcopy", "--compress-debug-sections=zlib-gabi", str(REFMW_BUILD / "refmw-m3.elf"),
                    str(packed)], check=True)
    section = load(packed)._elf.get_section_by_name(".debug_frame")
    assert section["sh_flags"] & 0x800, "objcopy did not compress .debug_frame"
    fast, slow = _both(packed, monkeypatch)
    assert fast == slow == cfi.read_cfi(load(REFMW_BUILD / "refmw-m3.elf")._elf, "arm", load(packed)._guard)


def test_what_it_does_not_know_is_left_to_pyelftools() -> None:
    """A CFI opcode the reader does not take (DW_CFA_GNU_args_size, which pyelftools refuses when
    decoding a table) in an FDE: the reader gives up rather than guess."""
    elf = load(REFMW_BUILD / "refmw-m3.elf")._elf
    data = bytearray(elf.get_section_by_name(".debug_frame").data())
    assert frametab._entries(bytes(data), 4, 13) is not None
    cie_length = int.from_bytes(data[0:4], "little")
    fde = 4 + cie_length  # the first FDE follows the CIE: length, CIE pointer, start, size, instructions
    fde_length = int.from_bytes(data[fde : fde + 4], "little")
    assert fde_length > 12, "the first FDE has no instructions to replace"
    data[fde + 16] = 0x2E  # DW_CFA_GNU_args_size
    with pytest.raises(frametab._Unknown):
        frametab._entries(bytes(data), 4, 13)
