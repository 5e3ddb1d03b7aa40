"""The emulator against its oracles: QEMU's recorded output, the firmware's own printed truths,
determinism, and the two time-base implementations agreeing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from conftest import FIXTURES, REFMW, REFMW_BUILD, assert_rebuilds_identically, needs_tool, run_gomcu
from gomcu import emu, image
from gomcu.errors import EmulationError

EMU = FIXTURES / "emu"
ARM_REFMW = sorted(p for p in REFMW_BUILD.glob("refmw-*.elf") if "rv32" not in p.name) if REFMW_BUILD.exists() else []
STACKS = emu.StackProbe("internal/task.start", "runtime.alloc", "task")


def _printed(output: str, key: str) -> int:
    m = re.search(rf"^{re.escape(key)}: (\d+)$", output, re.M)
    assert m, f"firmware did not print {key!r}"
    return int(m.group(1))


@pytest.mark.parametrize("elf,board", [("irqdemo-m3.elf", "lm3s6965evb"), ("irqdemo-mps2.elf", "mps2-an385")])
def test_fixture_output_equals_qemu_recording(elf: str, board: str) -> None:
    r = emu.run(image.load(EMU / elf), board)
    assert r.stop == "exit" and r.exit_code == 0
    assert r.streams["uart0"] == (EMU / elf.replace(".elf", ".qemu.out")).read_text()
    assert r.streams["semihosting"] == "irqdemo: semihosting up\n"
    # every kind of exception the fixture provokes was taken through the model
    assert {"IRQ5", "IRQ6", "IRQ7", "SVCall", "SysTick", "PendSV"} <= set(r.exception_counts)


@pytest.mark.skipif(not ARM_REFMW, reason="reference firmware not built")
@pytest.mark.parametrize("elf", ARM_REFMW, ids=lambda p: p.name)
def test_refmw_output_equals_qemu_recording(elf) -> None:  # type: ignore[no-untyped-def]
    expected = (REFMW / "expected" / elf.name.replace(".elf", ".out")).read_text()
    r = emu.run(image.load(elf), probes=[STACKS])
    assert r.stop in ("exit",), r.message
    assert r.streams["uart0"] == expected


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or not ARM_REFMW, reason="needs qemu and the refmw")
@pytest.mark.parametrize("elf", ARM_REFMW, ids=lambda p: p.name)
def test_refmw_exit_status_equals_qemu(elf) -> None:  # type: ignore[no-untyped-def]
    r = emu.run(image.load(elf))
    machine = "mps2-an386" if r.board.startswith("mps2-an386") else "lm3s6965evb"
    q = subprocess.run(["qemu-system-arm", "-M", machine, "-nographic", "-monitor", "none", "-serial", "stdio",
                        "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                       capture_output=True, text=True, timeout=60)
    assert r.exit_code == q.returncode
    assert r.streams["uart0"] == q.stdout


@pytest.mark.skipif(not ARM_REFMW, reason="reference firmware not built")
def test_repeated_runs_are_identical() -> None:
    img = image.load(REFMW_BUILD / "refmw-m3.elf")
    probes = [STACKS, emu.AllocProbe("runtime.alloc"), emu.FunctionProbe("runtime.GC")]
    inj = [emu.Injection(irq=0, period_cycles=30_000, jitter_cycles=500)]
    a = emu.run(img, probes=probes, injections=inj)
    b = emu.run(img, probes=probes, injections=inj)
    assert (a.instructions, a.cycles, a.output) == (b.instructions, b.cycles, b.output)
    assert a.stacks == b.stacks and a.functions == b.functions
    assert a.allocations == b.allocations and a.interrupts == b.interrupts


@pytest.mark.skipif(not emu.native_available(), reason="native time base not built")
@pytest.mark.parametrize("elf", ["irqdemo-m3.elf"] + [p.name for p in ARM_REFMW[:2]])
def test_native_and_python_time_bases_agree(elf: str) -> None:
    path = EMU / elf if (EMU / elf).exists() else REFMW_BUILD / elf
    img = image.load(path)
    n = emu.run(img, native=True)
    p = emu.run(img, native=False)
    assert n.native_timebase and not p.native_timebase
    assert (n.instructions, n.cycles, n.output, n.exit_code) == (p.instructions, p.cycles, p.output, p.exit_code)


def _comparable(r: emu.RunResult) -> dict:  # type: ignore[type-arg]
    d = r.to_dict()
    d.pop("wall_seconds")
    d.pop("native_timebase")
    return d


@pytest.mark.skipif(not emu.native_available() or not ARM_REFMW, reason="needs the native time base and the refmw")
@pytest.mark.parametrize("elf", ARM_REFMW, ids=lambda p: p.name)
@pytest.mark.parametrize("zero_paint", [False, True])
def test_native_and_python_probes_agree(elf, zero_paint: bool) -> None:  # type: ignore[no-untyped-def]
    """The probes run in C with the native time base and in Python without it: every figure
    (stacks, allocations, function timings, interrupt samples, counts) must be the same."""
    img = image.load(elf)
    probes = [emu.StackProbe("internal/task.start", "runtime.alloc", "task", zero_paint=zero_paint),
              emu.AllocProbe("runtime.alloc"), emu.FunctionProbe("runtime.GC"), emu.FunctionProbe("runtime.alloc")]
    inj = [emu.Injection(irq=0, period_cycles=9_000, jitter_cycles=300)]
    n = emu.run(img, probes=probes, injections=inj, native=True)
    p = emu.run(img, probes=probes, injections=inj, native=False)
    assert n.native_timebase and not p.native_timebase
    assert n.allocations and any(s.kind == "runtime" for s in n.stacks)
    assert _comparable(n) == _comparable(p)


@pytest.mark.skipif(not ARM_REFMW, reason="reference firmware not built")
def test_probes_agree_with_what_the_firmware_counts() -> None:
    img = image.load(REFMW_BUILD / "refmw-m3.elf")
    r = emu.run(img, probes=[STACKS, emu.AllocProbe("runtime.alloc"), emu.FunctionProbe("runtime.GC")])
    out = r.streams["uart0"]
    # the recursion task measures its own stack by painting; our high-water must agree
    assert _printed(out, "recursion stack used") in {s.used for s in r.stacks if s.kind == "runtime"}
    assert len(r.allocations) == _printed(out, "allocations")
    gc = next(f for f in r.functions if f.name == "runtime.GC")
    assert gc.calls == _printed(out, "gc cycles") and gc.unfinished == 0
    assert 0 < gc.min_insns <= gc.max_insns
    assert sum(1 for s in r.stacks if s.kind == "runtime") == _printed(out, "tasks started") + 1  # + main task
    msp = next(s for s in r.stacks if s.kind == "msp")
    assert msp.size == image.load(REFMW_BUILD / "refmw-m3.elf").symbol("_stack_size").address
    assert 0 < msp.used < msp.size
    handler_allocs = [a for a in r.allocations if a.in_exception]
    assert len(handler_allocs) == _printed(out, "alloc irq runs")


@pytest.mark.skipif(not ARM_REFMW, reason="reference firmware not built")
def test_small_stack_build_overflows_its_recursion_stack() -> None:
    r = emu.run(image.load(REFMW_BUILD / "refmw-m3-small-stack.elf"), probes=[STACKS])
    assert r.exit_code == 1
    assert any(s.overflow for s in r.stacks if s.kind == "runtime")


def test_stop_chain_is_read_off_the_stack() -> None:
    """The small-stack build panics in internal/task.Pause: the run records the stop's pc and the
    calls that led there (return addresses found on the goroutine's stack), each at the line of
    its call in the source we wrote."""
    img = image.load(str(REFMW_BUILD / "refmw-m3-small-stack.elf"))
    result = emu.run(img, probes=[STACKS])
    frames = [img.function_at(a) for a in result.return_addresses]
    assert [f.name for f in frames[:2] if f] == ["runtime._panic", "internal/task.Pause"]
    assert img.function_at(result.stop_pc).name == "runtime.exit"
    source = (REFMW / "task.c").read_text().splitlines()
    line = img.line_for(result.return_addresses[1] - 2)
    assert line is not None and 'runtime_panic("goroutine stack overflow")' in source[line.line - 1]
    assert any(s.bottom <= result.stop_sp < s.top and s.name == "main.recurse$gowrapper" for s in result.stacks)


GOROUTINES = FIXTURES / "goroutines"


@pytest.mark.parametrize("native", [True, False])
def test_stack_named_by_the_start_in_its_initial_frame(native: bool) -> None:
    """TinyGo 0.37's shape: the create call's argument is the stack size and the start function
    is in the initial frame it writes at the stack's top; the task's bookkeeping block allocated
    beside the stack is not a stack. Both probe paths agree."""
    img = image.load(str(GOROUTINES / "goroutines.elf"))
    size = int(re.search(r"start\((\d+)\)", (GOROUTINES / "goroutines.c").read_text()).group(1))  # type: ignore[union-attr]
    result = emu.run(img, probes=[STACKS], native=native)
    assert result.stop == "exit" and result.exit_code == 0
    runtime = [s for s in result.stacks if s.kind == "runtime"]
    assert [(s.name, s.start, s.size) for s in runtime] == [("main.worker$gowrapper", "main.worker$gowrapper", size)]


def test_stack_with_no_known_start_says_so() -> None:
    """Without an initial frame nothing names the stack: the emulator says the start is unknown
    (and keeps every block the create call allocated, as it cannot tell them apart)."""
    result = emu.run(image.load(str(GOROUTINES / "goroutines-noframe.elf")), probes=[STACKS])
    runtime = [s for s in result.stacks if s.kind == "runtime"]
    assert runtime and all(s.start is None and s.name.endswith("(start unknown)") for s in runtime)
    assert [s.name.split(" (")[0] for s in runtime] == [f"task #{n}" for n in range(1, len(runtime) + 1)]


@needs_tool("arm-none-eabi-gcc")
def test_goroutine_fixtures_rebuild_identically(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert_rebuilds_identically(GOROUTINES, tmp_path, ("goroutines.c", "goroutines.ld", "Makefile"),
                                ("goroutines.elf", "goroutines-noframe.elf"))


def test_injection_records_latency_and_duration() -> None:
    img = image.load(EMU / "irqdemo-m3.elf")
    r = emu.run(img, injections=[emu.Injection(irq=7, period_cycles=1_000)])
    assert r.stop == "exit"
    injected = [s for s in r.interrupts if s.injected]
    assert injected
    timing = emu.machine_timing(r.core)
    for s in injected:
        assert s.entry_cycle - s.pend_cycle == s.latency_cycles
        assert s.latency_cycles >= timing.tailchain
        assert s.duration_cycles is not None and s.duration_cycles > 0


@pytest.mark.parametrize("elf,stop", [
    ("bad-spin-masked.elf", "spin"), ("bad-jump-unmapped.elf", "fault"),
    ("bad-forever.elf", "budget"), ("bad-wfi-deadlock.elf", "deadlock"),
])
def test_runaway_firmware_is_reported(elf: str, stop: str) -> None:
    r = emu.run(image.load(EMU / elf), max_insns=20_000_000, timeout=30)
    assert r.stop == stop and r.message
    if stop == "fault":
        assert r.fault is not None and r.fault.registers["pc"] == 0x90000000


def test_bad_input_is_one_line_exit_2() -> None:
    p = run_gomcu("run", str(EMU / "bad-vector.elf"))
    assert p.returncode == 2 and "vector table" in p.stderr and "Traceback" not in p.stderr
    p = run_gomcu("run", str(EMU / "bad-forever.elf"), "--max-insns", "100000")
    assert p.returncode == 2 and "budget" in p.stderr
    with pytest.raises(EmulationError):
        emu.run(image.load(EMU / "irqdemo-m3.elf"), "no-such-board")


@pytest.mark.skipif(not (REFMW_BUILD / "refmw-rv32.elf").exists(), reason="reference firmware not built")
def test_other_architecture_is_refused() -> None:
    with pytest.raises(EmulationError, match="Cortex-M"):
        emu.run(image.load(REFMW_BUILD / "refmw-rv32.elf"))


def test_cli_json_has_the_documented_keys() -> None:
    p = run_gomcu("run", str(EMU / "irqdemo-m3.elf"), "--format", "json", "--inject", "7:5000")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert {"exit", "output", "instructions", "stacks", "functions", "interrupts", "allocations"} <= set(doc)
    assert doc["exit"]["code"] == 0 and "done" in doc["output"]
    assert doc["board"] == "lm3s6965evb"


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("make") is None,
                    reason="needs arm-none-eabi-gcc and make")
def test_firmware_linked_after_a_bootloader_starts_from_its_own_table(tmp_path) -> None:
    """Flash origin 0x4000 (as behind a UF2 bootloader): the run starts from __isr_vector, with the
    same output as the firmware linked at 0."""
    refmw = REFMW_BUILD.parent
    build = tmp_path / "build"
    subprocess.run(["make", "-s", "-C", str(refmw), f"BUILD={build}", f"{build}/refmw-m3.elf"],
                   check=True, capture_output=True)
    script = tmp_path / "offset.ld"
    script.write_text((refmw / "refmw-m3.ld").read_text().replace(
        "ORIGIN = 0x00000000, LENGTH = 256K", "ORIGIN = 0x00004000, LENGTH = 240K"))
    elf = tmp_path / "offset.elf"
    objects = sorted(str(p) for p in (build / "m3").glob("*.o"))
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m3", "-mthumb", "-nostdlib", "-Wl,--gc-sections",
                    f"-L{refmw}", "-T", str(script), *objects, "-lgcc", "-o", str(elf)], check=True)
    img = image.load(elf)
    assert img.symbol("__isr_vector").address == 0x4000
    result = emu.run(img, board="lm3s6965evb")
    assert result.stop == "exit" and result.exit_code == 0
    assert result.output == (refmw / "expected" / "refmw-m3.out").read_text()


def test_lm3s_system_control_reads_as_qemu_models_it() -> None:
    """DID0/DID1/DC0-4, the PLL-lock status after RCC powers the PLL up, PLLCFG per crystal and
    SSI0's status and receive FIFO, as qemu-system-arm returns them (the FreeRTOS lm3s6965 demo
    asserts DID1's part number, computes its SSI clock from PLLCFG and polls SSI0 for the OLED)."""
    r = emu.run(image.load(EMU / "sysctl-lm3s.elf"), "lm3s6965evb")
    assert r.stop == "exit" and r.exit_code == 0
    assert r.streams["uart0"] == (EMU / "sysctl-lm3s.qemu.out").read_text()
    assert not [m for m in r.unknown_mmio if 0x400FE000 <= m.address < 0x400FF000 or 0x40008000 <= m.address < 0x40009000]


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="needs qemu")
def test_lm3s_system_control_recording_is_qemus() -> None:
    q = subprocess.run(["qemu-system-arm", "-M", "lm3s6965evb", "-nographic", "-monitor", "none", "-serial", "stdio",
                        "-semihosting-config", "enable=on,target=native", "-kernel", str(EMU / "sysctl-lm3s.elf")],
                       capture_output=True, text=True, timeout=30)
    assert q.stdout == (EMU / "sysctl-lm3s.qemu.out").read_text()


def test_latency_of_an_irq_pended_while_disabled_counts_from_its_enable() -> None:
    """An IRQ pended before the firmware enables it waits by the firmware's choice: the sample's
    latency runs from the ISER write (refmw enables IRQ6 in main), not from the early pend."""
    img = image.load(str(REFMW_BUILD / "refmw-m3.elf"))
    r = emu.run(img, "lm3s6965evb", injections=[emu.Injection(irq=6, instants=(50,))], max_insns=3_000_000)
    first = next(s for s in r.interrupts if s.name == "IRQ6")
    assert first.injected and first.pend_cycle > 50
    assert first.latency_cycles == first.entry_cycle - first.pend_cycle < 100
