"""The board-shaped reference firmware (examples/boards) holds the truths its README states.

1. Rebuilt from source, every committed ELF and .su file is bit-identical (as refmw).
2. The qemu reference build (lm3s6965evb) prints exactly expected/board.out and exits 0:
   the family builds run the same program.c, so that file is their expected output too.
3. Each family ELF is linked where its chip (database entry) has memory, with a vector
   table of the chip's length at the documented address whose timer slot holds the
   documented handler; the RP2040 build's boot2 carries the CRC the boot ROM checks.
4. The runtime is refmw's, shared through the Makefile, not a copy.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from gomcu.chips import find_chip

BOARDS_DIR = Path(__file__).resolve().parent.parent / "examples" / "boards"
BUILD = BOARDS_DIR / "build"
EXPECTED = BOARDS_DIR / "expected" / "board.out"


@dataclass(frozen=True)
class Board:
    """One committed build: where it is linked and how its timer interrupt is wired."""

    name: str  # build/board-<name>.elf, build/<name>/*.su
    chip: str  # chip database name
    vectors: int  # address of __isr_vector
    irqs: int  # external interrupt vectors after the 16 core ones
    timer_vector: int  # vector index of the timer handler (15 = SysTick)
    timer_handler: str

    @property
    def elf(self) -> Path:
        return BUILD / f"board-{self.name}.elf"


BOARDS = (
    Board("lm3s6965", "LM3S6965", 0x00000000, 48, 15, "SysTick_Handler"),
    Board("rp2040", "RP2040", 0x10000100, 26, 16 + 0, "TIMER_IRQ_0_IRQHandler"),
    Board("samd51p19", "SAMD51P19", 0x00004000, 137, 16 + 11, "RTC_IRQHandler"),
    Board("nrf52840", "nRF52840", 0x00000000, 48, 16 + 17, "RTC1_IRQHandler"),
    Board("stm32f405", "STM32F405", 0x08000000, 82, 16 + 29, "TIM3_IRQHandler"),
    Board("stm32f103c8", "STM32F103C8", 0x08000000, 43, 16 + 30, "TIM4_IRQHandler"),
    Board("samd21g18", "SAMD21G18", 0x00002000, 29, 16 + 3, "RTC_IRQHandler"),
)
IDS = [b.name for b in BOARDS]


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the Makefile into a fresh directory, once for the module."""
    for tool in ("make", "arm-none-eabi-gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    out = tmp_path_factory.mktemp("boards-build")
    proc = subprocess.run(
        ["make", "-s", "-j2", "-C", str(BOARDS_DIR), f"BUILD={out}"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
def test_rebuild_is_bit_identical(board: Board, rebuilt: Path) -> None:
    assert (rebuilt / board.elf.name).read_bytes() == board.elf.read_bytes(), (
        f"{board.elf.name} differs from a rebuild: run `make -C examples/boards` and commit")
    committed = {p.name: p.read_text() for p in (BUILD / board.name).glob("*.su")}
    fresh = {p.name: p.read_text() for p in (rebuilt / board.name).glob("*.su")}
    assert committed and committed == fresh


def test_qemu_reference_build_prints_the_expected_output() -> None:
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm is not installed")
    proc = subprocess.run(
        ["qemu-system-arm", "-M", "lm3s6965evb", "-semihosting-config", "enable=on,target=native",
         "-nographic", "-monitor", "none", "-serial", "stdio", "-kernel", str(BOARDS[0].elf)],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
    )
    assert proc.stdout.decode() == EXPECTED.read_text()
    assert proc.returncode == 0


def _symbols(elf: ELFFile) -> dict[str, tuple[int, int]]:
    symtab = elf.get_section_by_name(".symtab")
    assert isinstance(symtab, SymbolTableSection)
    return {s.name: (s["st_value"], s["st_size"]) for s in symtab.iter_symbols() if s.name}


def _read(elf: ELFFile, address: int, size: int) -> bytes:
    for seg in elf.iter_segments("PT_LOAD"):
        start = seg["p_vaddr"]
        if start <= address and address + size <= start + seg["p_filesz"]:
            return seg.data()[address - start:address - start + size]
    raise AssertionError(f"{address:#x} is not in a loaded segment")


@pytest.mark.parametrize("board", BOARDS, ids=IDS)
def test_linked_at_the_chips_memory_with_its_vector_table(board: Board) -> None:
    chip = find_chip(board.chip)
    with board.elf.open("rb") as f:
        elf = ELFFile(f)
        for section in elf.iter_sections():
            if not section["sh_flags"] & 2 or section["sh_size"] == 0:  # SHF_ALLOC
                continue
            lo, hi = section["sh_addr"], section["sh_addr"] + section["sh_size"]
            assert any(r.origin <= lo and hi <= r.end for r in chip.regions), (
                f"{section.name} {lo:#x}-{hi:#x} is outside {chip.name}'s memory")
        symbols = _symbols(elf)
        address, size = symbols["__isr_vector"]
        assert address == board.vectors and size == 4 * (16 + board.irqs)
        words = struct.unpack(f"<{16 + board.irqs}I", _read(elf, address, size))
    assert words[0] == symbols["_stack_top"][0]
    assert words[1] == symbols["Reset_Handler"][0] | 1
    assert words[board.timer_vector] == symbols[board.timer_handler][0] | 1
    # every other interrupt goes to Default_Handler (panics), so a stray one cannot pass
    default = symbols["Default_Handler"][0] | 1
    assert words[16:].count(default) == board.irqs - (1 if board.timer_vector >= 16 else 0)


def _boot_rom_crc32(data: bytes) -> int:
    """CRC-32 as the RP2040 boot ROM checks boot2: poly 0x04C11DB7, no reflection."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def test_rp2040_boot2_has_a_valid_crc_and_vectors_into_flash() -> None:
    with (BUILD / "board-rp2040.elf").open("rb") as f:
        elf = ELFFile(f)
        boot2 = elf.get_section_by_name(".boot2")
        assert boot2 is not None and boot2["sh_addr"] == 0x10000000
        data = boot2.data()
    assert len(data) == 256
    assert struct.unpack("<I", data[252:])[0] == _boot_rom_crc32(data[:252])
    literals = struct.unpack("<63I", data[:252])
    assert 0x10000100 in literals and 0xE000ED08 in literals  # VTOR = the vector table


def test_runtime_is_refmws_shared_source() -> None:
    with (BUILD / "board-rp2040.elf").open("rb") as f:
        units = {cu.get_top_DIE().attributes["DW_AT_name"].value.decode()
                 for cu in ELFFile(f).get_dwarf_info().iter_CUs()}
    assert {"../refmw/runtime.c", "../refmw/task.c"} <= units
    assert not (BOARDS_DIR / "runtime.c").exists() and not (BOARDS_DIR / "task.c").exists()
