"""Priorities read from the code, and the system stack nesting by them (tests/fixtures/prio).

Every expected figure comes from prio.c (the priorities it writes) and GCC's .su files beside
the ELFs (each handler's frame), plus the 32-byte exception frame of each nested handler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, assert_rebuilds_identically, needs_tool, read_su, run_gomcu
from gomcu import image
from gomcu.code import model
from gomcu.code.priorities import find
from gomcu.limits.stack import analyse
from gomcu.runtime.profile import load_profile

PRIO = FIXTURES / "prio"
FRAME = 32  # exception frame, no FPU
IRQ0, IRQ1, IRQ2, PENDSV, SYSTICK = 16, 17, 18, 14, 15


def _su(variant: str) -> dict[str, int]:
    return read_su(PRIO / variant / "prio.su")


def _stack(variant: str):
    return analyse(image.load(PRIO / f"prio-{variant}.elf"), runtime=load_profile("tinygo"))


def test_every_shape_of_setting_a_priority_is_read() -> None:
    found = find(model(image.load(PRIO / "prio-known.elf")), load_profile("tinygo"))
    assert found is not None and not found.computed  # the pointer stepped over ICER reaches no priority
    by = {s.exception: s for s in found.sets}
    assert (by[IRQ0].value, by[IRQ0].how) == (0x40, "store")  # CMSIS strb
    assert (by[IRQ1].value, by[IRQ1].how) == (0x50, "read-modify-write")  # TinyGo's ldr; bfi; str
    assert (by[IRQ2].value, by[IRQ2].how) == (0x80, "call of device/arm.SetPriority")
    assert (by[SYSTICK].value, by[PENDSV].value) == (0xC0, 0xE0)  # one word to SHPR3
    assert (found.prigroup, found.prigroup_known) == (4, True)
    assert found.of(IRQ1) == ("set", frozenset({0x50})) and found.group(0x50, 8) == found.group(0x40, 8) == 0x40
    assert found.of(IRQ0 + 5) == ("reset", frozenset({0}))


def test_a_setter_nobody_names_makes_every_priority_unknown() -> None:
    """Without the tinygo profile, device/arm.SetPriority is just code storing through a computed
    NVIC address: no exception keeps its reset value for a fact."""
    found = find(model(image.load(PRIO / "prio-known.elf")), None)
    assert found is not None and found.computed
    assert found.of(IRQ0 + 5) == ("unknown", frozenset())


def test_bound_is_the_deepest_handler_of_each_level() -> None:
    su = _su("known")
    system = _stack("known").system
    assert system is not None and system.origin == "static" and not system.unplaced
    reset = su["Reset_Handler"] + su["set_priorities"]
    fault = su["Fault_Handler"] + FRAME  # NMI and HardFault: two fixed levels
    # IRQ0 (0x40) and IRQ1 (0x50) share group 0x40 under PRIGROUP 4: only the deeper counts
    level_40 = max(su["IRQ0_Handler"], su["IRQ1_Handler"]) + FRAME
    rest = sum(su[n] + FRAME for n in ("IRQ2_Handler", "SysTick_Handler", "PendSV_Handler"))
    assert system.bound_bytes == reset + 2 * fault + level_40 + rest
    assert [(x.level, x.handler) for x in system.levels] == [
        (-2, "Fault_Handler"), (-1, "Fault_Handler"), (0x40, "IRQ0_Handler"), (0x80, "IRQ2_Handler"),
        (0xC0, "SysTick_Handler"), (0xE0, "PendSV_Handler")]
    every = reset + sum(su[n] + FRAME for n in ("Fault_Handler", "IRQ0_Handler", "IRQ1_Handler", "IRQ2_Handler",
                                                  "SysTick_Handler", "PendSV_Handler"))
    assert system.all_nest_bytes == every


def test_a_value_not_constant_leaves_that_handler_nesting() -> None:
    su = _su("unknown")
    system = _stack("unknown").system
    assert system is not None and system.unplaced == ("IRQ2_Handler",)
    reset = su["Reset_Handler"] + su["set_priorities"]
    expected = reset + 2 * (su["Fault_Handler"] + FRAME) + sum(
        su[n] + FRAME for n in ("IRQ0_Handler", "SysTick_Handler", "PendSV_Handler", "IRQ2_Handler"))
    assert system.bound_bytes == expected
    assert "levels known for 5 of 6 handlers" in system.assumption and "1 unknown assumed to nest" in system.assumption


def test_a_setter_call_with_an_irq_not_known_widens_every_irq() -> None:
    """device/arm.SetPriority(configured_irq, 0xA0): any IRQ may be at 0xA0 as well as its own
    level, so level 0xA0 counts the deepest IRQ handler (IRQ0) a second time."""
    su = _su("anyirq")
    system = _stack("anyirq").system
    assert system is not None and not system.unplaced
    assert [(x.level, x.handler) for x in system.levels] == [
        (-2, "Fault_Handler"), (-1, "Fault_Handler"), (0x40, "IRQ0_Handler"), (0x80, "IRQ2_Handler"),
        (0xA0, "IRQ0_Handler"), (0xC0, "SysTick_Handler"), (0xE0, "PendSV_Handler")]
    reset = su["Reset_Handler"] + su["set_priorities"]
    assert system.bound_bytes == reset + sum(su[x.handler] + FRAME for x in system.levels)


def test_a_computed_priority_address_means_every_handler_nests() -> None:
    su = _su("computed")
    system = _stack("computed").system
    assert system is not None and system.origin == "" and system.all_nest_bytes is None
    handlers = ("Fault_Handler", "IRQ0_Handler", "IRQ1_Handler", "IRQ2_Handler", "SysTick_Handler", "PendSV_Handler")
    assert system.bound_bytes == su["Reset_Handler"] + su["set_priorities"] + sum(su[n] + FRAME for n in handlers)
    assert "not constant" in system.assumption and "every handler assumed to nest" in system.assumption


def test_chip_priority_bits_merge_levels() -> None:
    """On a chip with 2 priority bits 0x40 and 0x80 are distinct but 0xC0 and 0xE0 are one level."""
    su = _su("known")
    narrow = analyse(image.load(PRIO / "prio-known.elf"), runtime=load_profile("tinygo"), priority_bits=2).system
    wide = _stack("known").system
    assert narrow is not None and wide is not None
    assert [x.level for x in narrow.levels] == [-2, -1, 0x40, 0x80, 0xC0]
    assert wide.bound_bytes - narrow.bound_bytes == min(su["SysTick_Handler"], su["PendSV_Handler"]) + FRAME


def test_check_json_carries_the_levels() -> None:
    done = run_gomcu("check", "--format", "json", "--runtime", "tinygo", str(PRIO / "prio-unknown.elf"))
    assert done.returncode in (0, 1), done.stderr
    doc = json.loads(done.stdout)
    memory = next(limit for limit in doc["limits"] if limit["limit"] == "memory")
    system = memory["details"]["stack"]["system_stack"]
    assert system["levels_from"] == "static" and system["unknown_priority"] == ["IRQ2_Handler"]
    assert [x["name"] for x in system["levels"]] == ["NMI", "HardFault", "0x40", "0xC0", "0xE0"]
    assert system["every_handler_nesting_bytes"] > system["bound_bytes"]
    names = {f["name"] for f in memory["figures"]}
    assert "system stack bound (nesting by the priorities set in the code)" in names


def test_stack_text_shows_levels_and_the_every_handler_figure() -> None:
    done = run_gomcu("stack", str(PRIO / "prio-known.elf"))
    assert done.returncode == 0, done.stderr
    # without a runtime profile the setter's computed store makes every priority unknown
    assert "every handler assumed to nest" in done.stdout


@needs_tool("arm-none-eabi-gcc")
def test_fixture_rebuilds_identically(tmp_path: Path) -> None:
    assert_rebuilds_identically(PRIO, tmp_path, ("prio.c", "prio.ld", "Makefile"),
                                ("prio-known.elf", "prio-unknown.elf", "prio-computed.elf", "prio-anyirq.elf"))


@pytest.mark.parametrize("variant", ["m3", "m4f"])
def test_refmw_static_levels_agree_with_the_source(variant: str) -> None:
    """examples/refmw/main.c writes PRIO_QUIET 0x40 and PRIO_ALLOC 0x80 to its two IRQs."""
    from conftest import REFMW_BUILD

    found = find(model(image.load(REFMW_BUILD / f"refmw-{variant}.elf")))
    assert found is not None and not found.computed
    values = {s.value for s in found.sets if s.exception >= 16}
    assert values == {0x40, 0x80}


def test_html_states_the_levels_and_the_assumption(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    done = run_gomcu("check", "--runtime", "tinygo", "--html", str(page), str(PRIO / "prio-unknown.elf"))
    assert done.returncode in (0, 1), done.stderr
    html = page.read_text()
    start = html.index('id="system-stack"')
    section = html[start:html.index("</p>", start)]
    assert "[0x40] IRQ0_Handler" in section and "+ IRQ2_Handler" in section
    assert "the 1 unknown assumed to nest" in section and "if every handler nested" in section


def test_the_emulator_reads_back_the_levels_the_code_sets() -> None:
    """Two views of one firmware: the NVIC the emulator reads back after initialisation holds
    the levels read from the code (PRIGROUP 4, the bfi and the setter call included)."""
    from gomcu.limits import interrupts

    img = image.load(PRIO / "prio-known.elf")
    emulated = interrupts.preemption_levels(interrupts.analyse(img, run=True))
    system = _stack("known").system
    assert emulated is not None and system is not None
    assert emulated == {name: set(levels) for name, levels in system.placed}


def test_the_emulator_places_a_value_only_known_at_run_time() -> None:
    """prio-unknown writes IRQ2's byte from a variable Reset_Handler set (0x80): unknown to the
    code, read back by the emulator, which places IRQ2 at its own level."""
    from gomcu.limits import interrupts
    from gomcu.limits.nesting import by_level, with_static

    img = image.load(PRIO / "prio-unknown.elf")
    emulated = interrupts.preemption_levels(interrupts.analyse(img, run=True))
    system = _stack("unknown").system
    assert emulated is not None and system is not None and emulated["IRQ2_Handler"] == {0x80}
    joined = by_level(system, with_static(emulated, system), "emulated", "read back")
    assert not joined.unplaced and [x.level for x in joined.levels] == [-2, -1, 0x40, 0x80, 0xC0, 0xE0]
    assert joined.bound_bytes == system.bound_bytes  # IRQ2 alone at 0x80: counted once either way
