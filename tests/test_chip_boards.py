"""Chip boards: the run models (boot, information pages, timers), chip detection from the ELF
and the runtime's boundary hooks, on the chiptimer fixture built once per family
(tests/fixtures/chiptimer). The firmware checks what it sees itself and prints the verdicts."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from conftest import FIXTURES, REFMW_BUILD, assert_rebuilds_identically, run_gomcu
from gomcu import emu, image
from gomcu.chips import find_chip, load_chips
from gomcu.chips.detect import detect_chip
from gomcu.chips.runmodel import TIMER_KINDS, run_model_for, run_models
from gomcu.runtime.boundary import boundary_hooks
from gomcu.runtime.profile import load_profile

CT = FIXTURES / "chiptimer"
# fixture -> (chip detected, family printed, timer IRQ)
FAMILIES = {
    "rp2040": ("RP2040", "RP2040", 0),
    "samd51": ("SAMD51J19", "SAMD51", 11),
    "samd21": ("SAMD21G18", "SAMD21", 3),
    "nrf52840": ("nRF52840", "nRF52840", 17),
    "stm32f4": ("STM32F405", "STM32F4", 28),
    "stm32f1": ("STM32F103C8", "STM32F1", 28),
}
PROFILE_HOOKS = boundary_hooks(load_profile("tinygo"))
# every hook applied, the timer fallbacks too (the profile applies those only without a timer model)
TINYGO_HOOKS = tuple(dataclasses.replace(h, fallback=False) for h in PROFILE_HOOKS)


def _run(name: str, **kw):  # type: ignore[no-untyped-def]
    return emu.run(image.load(CT / f"chiptimer-{name}.elf"), hooks=kw.pop("hooks", TINYGO_HOOKS), **kw)


def test_every_run_model_names_chips_of_the_database_and_known_timers() -> None:
    names = {c.name for c in load_chips()}
    for m in run_models():
        assert m.chips and set(m.chips) <= names, m.family
        assert m.source and m.timers
        assert all(t.kind in TIMER_KINDS and t.hz > 0 for t in m.timers)
        for page in m.info:
            assert all(page.origin <= a < page.origin + page.length for a, _ in page.words), page.name


@pytest.mark.parametrize("name", FAMILIES)
def test_chip_is_detected_from_the_vector_table_names(name: str) -> None:
    chip, _family, _irq = FAMILIES[name]
    found = detect_chip(image.load(CT / f"chiptimer-{name}.elf"))
    assert found is not None and found.chip == chip
    assert "IRQHandler" in found.why


@pytest.mark.parametrize("name", FAMILIES)
def test_timer_sleeps_and_boundary_hooks_on_each_family(name: str) -> None:
    chip, family, irq = FAMILIES[name]
    r = _run(name)
    assert r.stop == "exit" and r.exit_code == 0, r.message
    assert r.board == chip and r.board_reason.startswith("auto-detected chip")
    assert r.output == f"chiptimer {family}\n" + (CT / "expected.out").read_text()
    # five compare interrupts, taken while the core slept in wfe
    timer = [s for s in r.interrupts if s.exception == 16 + irq]
    assert len(timer) == 5
    assert r.idle_cycles > 0
    used = {h.function: h for h in r.hooks}
    assert used["runtime.putchar"].applied and used["runtime.putchar"].calls == len(r.output)
    assert used["machine.GetRNG"].calls == 1 and used["runtime.sleepTicks"].calls == 1
    assert used["runtime.nanotime"].address is None  # absent: reported, not applied


def test_sleep_hook_advances_the_clock_by_the_requested_ticks() -> None:
    """runtime.sleepTicks(1000 µs) on the RP2040: the hooked run sleeps the whole millisecond
    (the firmware checked its timer moved by it: 'sleepTicks: ok'), counted as idle."""
    r = _run("rp2040")
    assert "sleepTicks: ok" in r.output
    assert r.idle_cycles >= 1000 * r.clock_hz // 1_000_000


def test_with_a_modelled_timer_the_time_hooks_run_as_code() -> None:
    """The profile's ticks/sleepTicks are fallbacks: on a chip whose timer is modelled the
    firmware's own code reads the timer (and still sees time pass, 'sleepTicks: ok')."""
    r = _run("nrf52840", hooks=PROFILE_HOOKS)
    assert r.ok and "sleepTicks: ok" in r.output
    used = {h.function: h for h in r.hooks}
    assert used["runtime.sleepTicks"].address is not None and not used["runtime.sleepTicks"].applied
    assert used["runtime.putchar"].applied


def test_runs_are_deterministic() -> None:
    a, b = _run("samd51"), _run("samd51")
    assert (a.instructions, a.cycles, a.output) == (b.instructions, b.cycles, b.output)
    assert [s.pend_cycle for s in a.interrupts] == [s.pend_cycle for s in b.interrupts]


def test_chip_option_overrides_detection() -> None:
    r = emu.run(image.load(CT / "chiptimer-samd51.elf"), chip="SAMD51P19", hooks=TINYGO_HOOKS)
    assert r.board == "SAMD51P19" and r.ok


def test_without_hooks_the_functions_run_as_code() -> None:
    r = _run("stm32f4", hooks=(), max_insns=2_000_000)
    assert r.hooks == () and "console" not in r.streams  # putchar wrote to the (unmodelled) USART


@pytest.mark.skipif(not (REFMW_BUILD / "refmw-m3.elf").exists(), reason="reference firmware not built")
def test_hooks_are_not_applied_on_qemu_boards() -> None:
    r = emu.run(image.load(REFMW_BUILD / "refmw-m3.elf"), hooks=TINYGO_HOOKS)
    assert r.ok and r.board == "lm3s6965evb"
    putchar = next(h for h in r.hooks if h.function == "runtime.putchar")
    assert putchar.address is not None and not putchar.applied


def test_board_from_chip_maps_info_pages_and_names_peripherals() -> None:
    board = emu.board_from_chip(find_chip("nRF52840"))
    assert board.run is not None and board.run.family == "nRF52"
    assert any(m.name == "FICR" and m.kind == "rom" for m in board.memory)
    assert board.run.peripheral_at(0x40011504) == "RTC1"
    assert run_model_for("LM3S6965") is None


def test_cli_run_reports_detection_hooks_and_peripherals() -> None:
    p = run_gomcu("run", str(CT / "chiptimer-nrf52840.elf"), "--runtime", "tinygo")
    assert p.returncode == 0, p.stderr
    assert "auto-detected chip nRF52840" in p.stdout
    assert "runtime.putchar putchar (" in p.stdout and "runtime.nanotime absent" in p.stdout
    p = run_gomcu("run", str(CT / "chiptimer-nrf52840.elf"), "--runtime", "tinygo", "--no-hooks",
                  "--max-insns", "3000000")
    assert p.returncode == 0, p.stderr  # the poll solver answers the RNG's VALRDY loop
    assert "UARTE0" in p.stdout  # the console writes went to the named, unmodelled block
    # GetRNG run as code: its wait for a value is answered by the poll solver
    assert "0x4000d508 RNG" in p.stdout.partition("polls answered by the solver")[2]
    assert "counter forwards" not in p.stdout  # ... so nothing was printed


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("make") is None,
                    reason="needs arm-none-eabi-gcc and make")
def test_fixtures_rebuild_bit_identical(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sources = [f.name for f in CT.iterdir() if f.suffix in (".c", ".S", ".ld") or f.name == "Makefile"]
    assert_rebuilds_identically(CT, tmp_path, sources, [elf.name for elf in CT.glob("*.elf")])
