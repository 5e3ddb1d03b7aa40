"""Handlers left off the reset path's deepest point (tests/fixtures/resetnest, Embedded Go's shape).

Every expected figure comes from resetnest.c (where IRQ0 and SysTick are enabled) and GCC's .su
files beside the ELFs (each frame), plus the 32-byte exception frame of each nested handler."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIXTURES, assert_rebuilds_identically, needs_tool, read_su, run_gomcu
from gomcu import image
from gomcu.code import model
from gomcu.code.enables import enables
from gomcu.limits.stack import analyse
from gomcu.runtime.profile import load_profile

RESET = FIXTURES / "resetnest"
FRAME = 32  # exception frame, no FPU


def _su(variant: str) -> dict[str, int]:
    return read_su(RESET / variant / "resetnest.su")


def _figures(variant: str) -> tuple[int, int, int, int]:
    """(reset path, one Fault_Handler, IRQ0_Handler, SysTick_Handler) from the .su file."""
    su = _su(variant)
    reset = su["rt0"] + su["rt_rt0_go"] + su["rt_schedinit"] + su["deep"]
    return reset, su["Fault_Handler"] + FRAME, su["IRQ0_Handler"] + FRAME, su["SysTick_Handler"] + FRAME


def test_an_irq_enabled_after_the_switch_to_the_psp_is_not_on_the_reset_path() -> None:
    reset, fault, irq0, systick = _figures("late")
    system = analyse(image.load(RESET / "resetnest-late.elf")).system
    assert system is not None and system.reset_bytes == reset
    assert {n for n, _ in system.not_during_reset} == {"IRQ0_Handler", "SysTick_Handler"}
    # NMI and HardFault (one handler, two fixed levels) on the reset path's deepest point; IRQ0
    # (the deeper of level 0) only without it. The old rule counted IRQ0 on the reset path too.
    assert system.reset_case_bytes == reset + 2 * fault
    assert system.alone_bytes == 2 * fault + max(irq0, systick)
    assert system.bound_bytes == max(reset + 2 * fault, 2 * fault + irq0) < reset + 2 * fault + irq0
    why = dict(system.not_during_reset)
    assert "IRQ0: no enable of it is reachable from the reset path" in why["IRQ0_Handler"] and "main.main" in why["IRQ0_Handler"]
    assert "SYST_CSR setting TICKINT in main.main" in why["SysTick_Handler"]
    assert "only NMI, HardFault can be taken" in system.assumption


def test_an_irq_enabled_before_the_deep_part_still_counts() -> None:
    reset, fault, irq0, _ = _figures("early")
    system = analyse(image.load(RESET / "resetnest-early.elf")).system
    assert system is not None
    assert {n for n, _ in system.not_during_reset} == {"SysTick_Handler"}  # main.main enables it
    assert system.bound_bytes == system.reset_case_bytes == reset + 2 * fault + irq0


def test_svc_and_what_its_handler_pends_count_at_the_svc() -> None:
    """deep executes svc at its full depth; the SVCall handler pends PendSV, taken as it returns:
    both nest there (level 0: the deeper counts), not on top of the reset path's deepest point."""
    su = _su("svc")
    reset, fault, irq0, systick = _figures("svc")
    svcall, pendsv = su["rt_svcall"] + FRAME, su["rt_pendsv"] + FRAME
    system = analyse(image.load(RESET / "resetnest-svc.elf")).system
    assert system is not None
    assert set(system.at_svc) == {"runtime.svcallHandler", "runtime.pendsvHandler"}
    depth = su["rt0"] + su["rt_rt0_go"] + su["rt_schedinit"] + su["deep"]  # deep's entry + its frame
    assert system.svc_depth == depth
    assert system.svc_case_bytes == depth + 2 * fault + max(svcall, pendsv)
    assert system.reset_case_bytes == reset + 2 * fault
    assert system.alone_bytes == 2 * fault + max(irq0, systick, svcall, pendsv)
    # the svc case decides; the old rule put the deepest of level 0 (IRQ0) on the reset path
    assert system.bound_bytes == system.svc_case_bytes < reset + 2 * fault + max(irq0, svcall, pendsv)


def test_the_emulator_measures_the_svc_case_and_stays_below_the_bound() -> None:
    """Run on an LM3S6965 board: the MSP reaches deep's svc (400 B) plus PendSV's 112 B, above
    the reset case (the reset path + 2 x Fault, 464 B) and below the bound (576 B)."""
    done = run_gomcu("check", "--chip", "LM3S6965", "--run", "--max-insns", "200000", "--format", "json",
                     str(RESET / "resetnest-svc.elf"))
    assert done.returncode == 0, done.stderr
    memory = next(limit for limit in json.loads(done.stdout)["limits"] if limit["limit"] == "memory")
    figures = {f["name"].split(" (")[0]: f["value"] for f in memory["figures"]}
    su = _su("svc")
    reset, fault, _, _ = _figures("svc")
    measured = figures["system stack high-water"]
    assert measured == reset + su["rt_pendsv"] + FRAME  # svc at deep's depth, then PendSV as SVCall returns
    assert reset + 2 * fault < measured <= figures["system stack bound"]
    assert not any(f["rule"] == "stack.bound-below-measurement" for f in memory["findings"])


def test_the_enables_are_read_from_the_stores() -> None:
    found = enables(model(image.load(RESET / "resetnest-early.elf")), load_profile("embeddedgo"))
    where = {(e.exception, e.function) for es in found.by_function.values() for e in es}
    assert where == {(16, "runtime.schedinit"), (16, "main.main"), (15, "main.main")}


def test_without_leaving_the_msp_every_enable_counts() -> None:
    """With the tinygo profile (its reset path never leaves the MSP: the scheduler runs there
    beside the goroutines), main.main's enables count on the reset path: nothing is left out."""
    reset, fault, irq0, _ = _figures("late")
    system = analyse(image.load(RESET / "resetnest-late.elf"), runtime=load_profile("tinygo")).system
    assert system is not None and not system.not_during_reset and system.alone_bytes is None
    assert system.bound_bytes == reset + 2 * fault + irq0


def test_json_and_text_carry_the_cases() -> None:
    done = run_gomcu("stack", "--format", "json", str(RESET / "resetnest-late.elf"))
    assert done.returncode == 0, done.stderr
    system = json.loads(done.stdout)["system_stack"]
    reset, fault, irq0, _ = _figures("late")
    assert {x["handler"] for x in system["not_during_reset"]} == {"IRQ0_Handler", "SysTick_Handler"}
    assert (system["reset_case_bytes"], system["alone_bytes"]) == (reset + 2 * fault, 2 * fault + irq0)
    assert system["svc_case_bytes"] is None
    text = run_gomcu("stack", str(RESET / "resetnest-late.elf"))
    assert f"reset path + handlers that can nest on it: {reset + 2 * fault} B" in text.stdout
    assert "not on the reset path: IRQ0_Handler" in text.stdout


@needs_tool("arm-none-eabi-gcc")
def test_fixture_rebuilds_identically(tmp_path: Path) -> None:
    assert_rebuilds_identically(RESET, tmp_path, ("resetnest.c", "resetnest.ld", "names.txt", "Makefile"),
                                ("resetnest-late.elf", "resetnest-early.elf", "resetnest-svc.elf"))
