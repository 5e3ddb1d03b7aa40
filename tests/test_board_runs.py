"""The board-shaped reference firmware (examples/boards) runs on its chip's board: every family's
build reaches its exit with the program's expected output (the same as the QEMU reference build
prints), through its own start-up (polls answered by the solver, timers modelled, calibration rows
mapped), and what `--run` measures comes out of it: GC pauses, allocations, interrupt latency."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT, run_gomcu
from gomcu import emu, image
from gomcu.runtime.boundary import hooks_for_image

BOARDS = ROOT / "examples" / "boards"
EXPECTED = (BOARDS / "expected" / "board.out").read_text()
# build -> (chip, timer IRQ)
FAMILIES = {
    "rp2040": ("RP2040", 0),
    "samd51p19": ("SAMD51P19", 11),
    "samd21g18": ("SAMD21G18", 3),
    "nrf52840": ("nRF52840", 17),
    "stm32f405": ("STM32F405", 29),
    "stm32f103c8": ("STM32F103C8", 30),
}


def _elf(name: str) -> str:
    return str(BOARDS / "build" / f"board-{name}.elf")


#: families whose run model has the clock peripheral the start-up waits on (nRF52 CLOCK)
CLOCK_MODELLED = {"nrf52840"}


@pytest.mark.parametrize("name", FAMILIES)
def test_board_runs_to_its_exit_with_the_expected_output(name: str) -> None:
    chip, irq = FAMILIES[name]
    img = image.load(_elf(name))
    r = emu.run(img, chip=chip, hooks=hooks_for_image(img), milestones=("main.main",),
                probes=[emu.StackProbe("internal/task.start", "runtime.alloc", "goroutine"),
                        emu.AllocProbe("runtime.alloc")])
    assert r.stop == "exit" and r.exit_code == 0, r.message
    assert r.output == EXPECTED
    if name in CLOCK_MODELLED:  # the run model's CLOCK answers the oscillator waits itself
        assert not r.polls, r.polls
    else:
        assert r.polls, "the start-up waits on clock and reset registers: the solver answered them"
    assert 0 < r.reached["main.main"] < r.instructions
    # the sleeps were taken on the chip's timer interrupt, with the core asleep meanwhile
    assert r.exception_counts.get(f"IRQ{irq}", 0) >= 5 and r.idle_cycles > 0
    assert len(r.allocations) == 607  # the program prints its own count ("allocations: 607")
    assert any(s.kind == "runtime" and s.used > 0 for s in r.stacks)


def test_same_instruction_count_run_to_run() -> None:
    img = image.load(_elf("samd21g18"))
    a = emu.run(img, chip="SAMD21G18", hooks=hooks_for_image(img))
    b = emu.run(img, chip="SAMD21G18", hooks=hooks_for_image(img))
    assert (a.instructions, a.cycles, a.polls) == (b.instructions, b.cycles, b.polls)


@pytest.mark.parametrize("name", ["rp2040", "stm32f405"])
def test_check_run_gives_emulated_gc_pauses(name: str) -> None:
    chip, _irq = FAMILIES[name]
    p = run_gomcu("check", _elf(name), "--chip", chip, "--run", "--format", "json", timeout=600)
    assert p.returncode in (0, 1), p.stderr
    doc = json.loads(p.stdout)
    gc = next(limit for limit in doc["limits"] if limit["limit"] == "gc")
    measured = {(f["name"], f["unit"]): f["value"] for f in gc["figures"] if f["origin"] == "emulated"}
    assert measured[("collections", "collections")] == 6  # the program prints "collections at least: 6"
    assert measured[("allocations", "calls")] == 607
    assert 0 < measured[("GC pause median", "µs")] <= measured[("GC pause max", "µs")]


def test_irq_campaign_on_a_chip_board() -> None:
    """Latency of the firmware's own timer interrupt (RTC1, enabled by its start-up), injected."""
    p = run_gomcu("irq", _elf("nrf52840"), "--chip", "nRF52840", "--run", "--inject", "17", "--count", "20",
                  timeout=600)
    assert p.returncode in (0, 1), p.stderr
    assert "20 samples of 20 injected" in p.stdout and "run: exit" in p.stdout


@pytest.mark.parametrize("name", FAMILIES)
def test_board_builds_are_detected_from_their_vector_table(name: str) -> None:
    """One handler name (the timer's) plus the table's length pick the family: RTC_IRQHandler is
    SAMD21's and SAMD51's, the 29 or 137 interrupt vectors tell them apart."""
    from gomcu.chips.detect import detect_chip

    chip, _irq = FAMILIES[name]
    found = detect_chip(image.load(_elf(name)))
    assert found is not None
    # the SAMD51 build is linked inside every SAMD51 of 512 KiB; the first of them is named
    assert found.chip == chip or (name == "samd51p19" and found.family == "SAMD51")
    assert "interrupt vectors" in found.why


def test_nrf_clock_reports_the_source_asked_for_once_started() -> None:
    """Embedded Go's hal/system.Setup waits until LFCLKSTAT shows the source it asked for and
    STATE set: a solver can't answer a loop with two ways back, the CLOCK model does."""
    from gomcu.chips.runmodel import run_model_for
    from gomcu.emu.timers import make_timer

    now = [0]
    spec = next(d for d in run_model_for("nRF52840").devices if d.kind == "nrf-clock")
    clock = make_timer(spec, lambda: now[0], 64_000_000)
    assert clock is not None
    assert clock.read(0x418, 4) == 0 and clock.read(0x40C, 4) == 1 << 16  # LFCLK off; HFINT runs
    clock.write(0x518, 4, 1)  # LFCLKSRC = crystal
    clock.write(0x304, 4, 2)  # INTENSET LFCLKSTARTED
    clock.write(0x008, 4, 1)  # TASKS_LFCLKSTART
    clock.write(0x000, 4, 1)  # TASKS_HFCLKSTART
    assert clock.read(0x418, 4) == (1 << 16) | 1 and clock.read(0x41C, 4) == 1
    assert clock.read(0x40C, 4) == (1 << 16) | 1
    assert clock.read(0x104, 4) == 1 and clock.read(0x100, 4) == 1
    assert clock.fire(now[0]) == [(0, 0)]  # POWER_CLOCK_IRQn for the enabled event
    clock.write(0x104, 4, 0)
    assert clock.read(0x104, 4) == 0 and clock.next_event() is None
