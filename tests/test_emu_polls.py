"""The poll solver on our own firmware (tests/fixtures/emu/polls.c, polls.S): each loop shape is
left with the value the STM32F405 would show (the bits are RM0090's, written in the source),
every decision is recorded, runs repeat exactly, and loops only time can end stop the run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, run_gomcu
from gomcu import emu, image

EMU = FIXTURES / "emu"
POLLS = ("polls-m4.elf", "polls-m0.elf", "polls-counter.elf", "polls-change.elf", "polls-rp2040.elf")
STAGES = "hse\nusb reset\npll\nsysclk\nfield\ncbz\n"

RCC_CR, RCC_PLLCFGR, RCC_CFGR, RCC_BDCR = 0x40023800, 0x40023804, 0x40023808, 0x40023870
OTG_GRSTCTL, GPIOA_IDR = 0x50000010, 0x40020010
HSEON, HSERDY, PLLRDY = 1 << 16, 1 << 17, 1 << 25

# (register, loop exit function, bits that decide, value of those bits answered), in run order
EXPECTED = [
    (RCC_CR, "wait_hse", HSERDY, HSERDY),               # bit-set wait (lsls/tst + branch)
    (OTG_GRSTCTL, "core_reset", 1, 0),                  # bit-clear wait, written set first
    (RCC_CR, "pll_sequence", PLLRDY, PLLRDY),           # through an accessor: until set,
    (RCC_CR, "pll_sequence", PLLRDY, 0),                # then while set (the answer flips),
    (RCC_CR, "pll_sequence", PLLRDY, PLLRDY),           # then until set again
    (RCC_CFGR, "switch_sysclk", 0xC, 2 << 2),           # SWS equal to the SW written (2 = PLL)
    (RCC_PLLCFGR, "poll_field_nonzero", 0x30, 0x30),    # ubfx + cbnz (v7-M), lsls/lsrs + bne (v6-M)
    (RCC_BDCR, "poll_bit_clear_cbz", 1 << 16, 0),       # and + cbz (v7-M), ands + beq (v6-M)
]


def test_rp2040_resets_and_sio_spinlock_through_the_accessor() -> None:
    """On the RP2040 board: RESET_DONE (as TinyGo's unresetBlockWait) read through the accessor
    is answered by the solver; the SIO spinlock (a block outside 0x40000000-0x5fffffff) is
    claimed through the run model's spinlock device, so it is no poll."""
    r = _run("polls-rp2040.elf", "rp2040")
    assert r.stop == "exit" and r.exit_code == 0 and r.output == "resets\nspinlock\ndone\n", r.message
    assert [(p.address, p.peripheral, p.function, p.value & (1 << 5)) for p in r.polls] == [
        (0x4000C008, "RESETS", "reg_get", 1 << 5)]


def test_field_values_for_a_compare() -> None:
    """The value whose field a compare sees as the target, other bits as they were."""
    from gomcu.emu.polls import _field_value, evaluate, relevant_bits

    for ops, base, target, expected in [
        ((), 0, 1, 1),                                           # cmp r0, #1 on the whole value
        ((("and", 0xC, 0),), 0x2, 0x8, 0xA),                     # (CFGR & SWS) == 2 << 2, SW kept
        ((("ubfx", 4, 2),), 0xFF0F, 3, 0xFF3F),                   # ubfx r1, r1, #4, #2 == 3
        ((("lsr", 8, 0), ("and", 0xFF, 0)), 0x12345678, 0xAB, 0x1234AB78),
    ]:
        bits = relevant_bits(ops, base)
        v = _field_value(ops, base, bits, target)
        assert v == expected and evaluate(ops, v) == target
    assert _field_value((("and", 0xC, 0),), 0, 0xC, 0x10) is None  # not reachable through the mask


def _line(text: str) -> str:
    """polls.c:N of the line holding `text` (the DWARF line the report should name)."""
    lines = (EMU / "polls.c").read_text().splitlines()
    return f"polls.c:{next(i for i, line in enumerate(lines, 1) if text in line)}"


def _run(elf: str, chip: str = "STM32F405") -> emu.RunResult:
    return emu.run(image.load(EMU / elf), chip=chip, max_insns=2_000_000, timeout=60)


@pytest.mark.parametrize("elf,chip", [("polls-m4.elf", "STM32F405"), ("polls-m0.elf", "STM32G0B1")])
def test_every_loop_shape_is_left_with_the_hardware_value(elf: str, chip: str) -> None:
    r = _run(elf, chip)
    assert r.stop == "exit" and r.exit_code == 0, r.message
    assert r.output == STAGES + "done\n"
    got = [(p.address, p.exit_function, p.value & bits) for p, (_, _, bits, _) in zip(r.polls, EXPECTED)]
    assert got == [(reg, fn, value) for reg, fn, _, value in EXPECTED]
    assert len(r.polls) == len(EXPECTED)
    for p in r.polls:
        assert p.function and p.line and p.why and p.reads >= 32
        assert p.exit_line is not None and p.exit_line.split(":")[0] in ("polls.c", "polls.S")


def test_the_accessor_load_is_found_and_the_test_in_its_caller() -> None:
    """As TinyGo's (*runtime/volatile.Register32).Get: the load sits in reg_get, the loop and its
    exit in pll_sequence, the bit tested (PLLRDY, bit 25) through reg_has_bits' field extraction."""
    pll = [p for p in _run("polls-m4.elf").polls if p.exit_function == "pll_sequence"]
    assert [p.function for p in pll] == ["reg_get.constprop.0"] * 3
    assert all(p.mask == PLLRDY for p in pll)
    assert [("set" in p.why, "clear" in p.why) for p in pll] == [(True, False), (False, True), (True, False)]


def test_a_field_read_back_from_a_write_is_explained() -> None:
    sws = next(p for p in _run("polls-m4.elf").polls if p.address == RCC_CFGR)
    assert sws.value & 3 == 2, "SW keeps what the firmware wrote"
    assert "as written (0x2) read back 2 bits higher" in sws.why


def test_answers_keep_the_written_bits() -> None:
    """A decision replaces only the bits it decided: HSEON, written by the firmware, reads back."""
    hse = _run("polls-m4.elf").polls[0]
    assert hse.previous & HSEON and hse.value & HSEON and not hse.mask & HSEON


def test_runs_repeat_exactly() -> None:
    a, b = _run("polls-m4.elf"), _run("polls-m4.elf")
    assert a.instructions == b.instructions and a.polls == b.polls


@pytest.mark.parametrize("elf,function,words", [
    ("polls-counter.elf", "wait_ticks", ("counter", "magnitude", _line("while (TIM1_CNT - start < n)"))),
    ("polls-change.elf", "wait_edge", ("differ from a value read before", _line("while (GPIOA_IDR == last)"))),
])
def test_loops_only_time_can_end_stop_the_run(elf: str, function: str, words: tuple[str, ...]) -> None:
    r = _run(elf)
    assert r.stop == "spin"
    assert r.output.endswith(("ticks\n", "edge\n")) and "done" not in r.output
    assert function in r.message and all(w in r.message for w in words), r.message
    assert len(r.polls) == len(EXPECTED), "the loops before it were still answered"
    assert r.instructions < 10_000, "a spin is seen after a few dozen reads, not at the budget"


def test_cli_reports_the_decisions_and_the_stop() -> None:
    p = run_gomcu("run", str(EMU / "polls-m4.elf"), "--chip", "STM32F405", "--format", "json")
    assert p.returncode == 0, p.stderr
    polls = json.loads(p.stdout)["polls"]
    assert [(d["address"], d["exit_function"]) for d in polls] == [(reg, fn) for reg, fn, _, _ in EXPECTED]
    assert {"address", "peripheral", "pc", "function", "line", "value", "mask", "why"} <= set(polls[0])
    assert polls[0]["peripheral"] == "RCC", "the block's name from the chip's run model"
    text = run_gomcu("run", str(EMU / "polls-m4.elf"), "--chip", "STM32F405")
    assert "polls answered by the solver" in text.stdout
    assert f"wait_hse ({_line('while (!(RCC_CR & HSERDY))')})" in text.stdout
    bad = run_gomcu("run", str(EMU / "polls-counter.elf"), "--chip", "STM32F405")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "wait_ticks" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("make") is None,
                    reason="needs arm-none-eabi-gcc and make")
def test_poll_fixtures_rebuild_identically(tmp_path: Path) -> None:
    for name in ("polls.c", "polls.S", "polls.ld", "polls-rp2040.ld", "Makefile", "common.ld", "lm3s.ld", "mps2.ld", "bad.ld"):
        shutil.copy(EMU / name, tmp_path / name)
    subprocess.run(["make", "-s", *POLLS], cwd=tmp_path, check=True, capture_output=True)
    for name in POLLS:
        assert (tmp_path / name).read_bytes() == (EMU / name).read_bytes(), f"{name} differs from its rebuild"
