"""The running Embedded Go-shaped reference firmware (examples/embeddedgo/egorun.*) in the emulator.

Every figure is read off egorun.c / egorun.S (examples/README.md adds them up):
- output: ten lines through ITM stimulus port 2 (port 1 is disabled: its one write is dropped);
- main.main checks that `msr control` and `cpsid i` are ignored in unprivileged thread mode;
- 3 rounds x 40 objects of 32 B in a 1 KiB heap: the heap fills at objects 32, 64 and 96, so
  3 GC cycles, each with two stop-the-world pauses of 110 (sweep termination) and 412 (mark
  termination) instructions;
- the allocator takes its arguments the ABI0 way (mallocgc: size at sp+4, result at sp+16): 120
  allocations of 32 B = 3,840 B, of which 33 x 32 = 1,056 B before the first GC cycle (the 33rd
  starts it), 32 x 32 = 1,024 B in cycles 1 and 2 and 23 x 32 = 736 B in cycle 3; after each
  collection mallocgc's next entry is preempted at its stack check and entered again (3 restarts:
  123 entries, 120 allocations);
- two threads yielding 3 times each: 6 PendSV handlers switching threads; before the second
  thread exists, main.main waits for a device nothing models, yielding (svc 2, a PendSV that
  does not switch) until the poll solver answers it through the profile's `yield` hook;
- the MPU as Embedded Go's taskerinit sets it: 4 regions, region 1 = 64 B of no access at 0.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import assert_rebuilds_identically, run_gomcu
from gomcu import emu, image as image_mod
from gomcu.emu.peripherals import POLL_READS
from gomcu.errors import EmulationError
from gomcu.limits import tasker_run
from gomcu.runtime.boundary import boundary_hooks
from gomcu.limits.outcome import outcome_of
from gomcu.runtime.profile import load_profile

EGO = Path(__file__).resolve().parent.parent / "examples" / "embeddedgo"
CHIPS = {"egorun-f407.elf": "STM32F407", "egorun-nrf52840.elf": "nRF52840"}
OUTPUT = ("ego: start\nego: thread mode unprivileged on PSP\n"
          "ego: A 0\nego: B 0\nego: A 1\nego: B 1\nego: A 2\nego: B 2\nego: gc cycles 3\nego: preempted 3\n")
PROFILE = load_profile("embeddedgo")


def _run(elf: str, **kw: object) -> tuple[object, emu.RunResult]:
    img = image_mod.load(str(EGO / elf))
    kw.setdefault("hooks", boundary_hooks(PROFILE))
    kw.setdefault("max_insns", 2_000_000)
    result = emu.run(img, chip=CHIPS.get(elf, "STM32F407"), probes=tasker_run.probes(img, PROFILE),
                     **kw)  # type: ignore[arg-type]
    return img, result


@pytest.mark.parametrize("elf", sorted(CHIPS))
def test_runs_to_exit_with_itm_output(elf: str) -> None:
    _, r = _run(elf)
    assert (r.stop, r.exit_code) == ("exit", 0), r.message
    assert r.output == OUTPUT and r.streams["itm2"] == OUTPUT and "itm1" not in r.streams
    assert any("1 writes to a disabled port dropped" in n for n in r.notes)


@pytest.mark.parametrize("elf", sorted(CHIPS))
def test_stop_the_world_pauses_and_switches(elf: str) -> None:
    img, r = _run(elf)
    t = tasker_run.from_run(img, PROFILE, r)
    assert t.outcome.complete and t.gc_cycles == 3
    assert [(p.gc_cycle, p.phase, p.instructions) for p in t.pauses] == [
        (c, phase, n) for c in (1, 2, 3) for phase, n in (("sweep termination", 110), ("mark termination", 412))]
    assert [p.stopped_by for p in t.pauses[:2]] == ["runtime.gcStart", "runtime.gcMarkDone"]
    assert all(p.cycles == p.instructions for p in t.pauses)  # nothing interrupted them
    assert (t.switches, t.pendsv) == (6, 6 + POLL_READS)  # one yield per read until the solver answers
    svc = [s for s in r.interrupts if s.name == "SVCall"]
    # 10 writes, newosproc, 6 yields, the poll's yields (exit never returns)
    assert len(svc) == 17 + POLL_READS and not any(s.switched for s in svc)


def test_a_poll_that_yields_is_answered_through_the_yield_hook() -> None:
    _, r = _run("egorun-f407.elf")
    [poll] = [p for p in r.polls if p.address == 0x40001010]
    assert (poll.function, poll.value, poll.mask) == ("main.main", 1, 1)
    assert any(h.function == "runtime.osyield" and h.action == "yield" and h.applied for h in r.hooks)
    # without it one iteration runs into the SVC: the solver finds no loop and does not answer
    _, r = _run("egorun-f407.elf", hooks=(), max_insns=300_000)
    assert r.stop == "budget" and not r.polls and r.output == OUTPUT.split("ego: A")[0]


def test_mpu_configuration_reported() -> None:
    _, r = _run("egorun-f407.elf")
    assert r.mpu is not None and r.mpu.enabled and r.mpu.privdefena
    assert [(g.number, g.base, g.size, g.access) for g in r.mpu.regions] == [
        (0, 0, 1 << 29, "rw/rw"), (1, 0, 64, "-/-"), (2, 0, 1 << 32, "rw/rw"), (3, 0, 1 << 32, "rw/rw")]
    assert r.mpu.regions[2].xn and r.mpu.regions[2].srd == 0x9B and r.mpu.regions[3].srd == 0xE5
    assert r.mpu.guards == ((0, 64),)


def test_nil_dereference_is_a_memmanage_fault_in_its_function() -> None:
    img, r = _run("egorun-null.elf")
    assert r.stop == "fault" and r.output == OUTPUT.split("ego: A")[0]
    assert "MemManage" in r.message and "0x00000000" in r.message and "MPU region 1" in r.message
    o = outcome_of(r, img)
    assert o.failed and o.location is not None and o.location.function == "main.main"


def test_unprivileged_scs_access_is_a_busfault() -> None:
    img, r = _run("egorun-ppb.elf")
    assert r.stop == "fault" and "BusFault" in r.message and "0xe000ed04" in r.message
    assert r.fault is not None and r.fault.registers["control"] == 3
    assert outcome_of(r, img).location.function == "main.main"  # type: ignore[union-attr]


@pytest.mark.parametrize("elf", sorted(CHIPS))
def test_interrupts_injected_into_unprivileged_threads(elf: str) -> None:
    """IRQ6 preempts the SVC handler and PendSV (nested, then back to the thread on PSP with
    nPRIV kept): the program still runs to its end, and the latency is measured."""
    img, r = _run(elf, injections=[emu.Injection(irq=6, period_cycles=1000)])
    assert (r.stop, r.exit_code, r.output) == ("exit", 0, OUTPUT), r.message
    t = tasker_run.from_run(img, PROFILE, r)
    assert all(s.latency_cycles >= 0 for s in r.interrupts)  # none pended during a return comes out negative
    nested = [s for s in r.interrupts if s.name == "IRQ6" and s.active_at_pend in (11, 14)]
    assert nested and t.latency and t.latency[0][0] == "IRQ6" and t.latency[0][1].count == r.exception_counts["IRQ6"]
    assert t.switches == 6 and [p.phase for p in t.pauses].count("mark termination") == 3
    assert all(p.instructions is not None and p.instructions >= (110 if p.phase == "sweep termination" else 412)
               for p in t.pauses)


def test_run_json_and_check_run_show_the_figures() -> None:
    p = run_gomcu("run", str(EGO / "egorun-f407.elf"), "--chip", "STM32F407", "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)["runtime"]
    assert doc["stop_the_world"]["gc_cycles"] == 3 and doc["outcome"]["state"] == "complete"
    assert doc["stop_the_world"]["by_phase"]["mark termination"]["max"] == 412
    assert doc["context_switches"]["count"] == 6 and doc["itm"]["2"] == OUTPUT
    p = run_gomcu("check", str(EGO / "egorun-f407.elf"), "--chip", "STM32F407", "--run", "--format", "json")
    assert "Traceback" not in p.stderr
    notes = " ".join(json.loads(p.stdout)["notes"])
    gc = next(lim for lim in json.loads(p.stdout)["limits"] if lim["limit"] == "gc")
    figures = {f["name"]: f["value"] for f in gc["figures"] if f["origin"] == "emulated"}
    assert "heap high-water" not in figures and figures["allocations"] == 120 and figures["allocated"] == 3840
    # 1,056 B before the first cycle; cycles 1..3 (the run exited: the last is whole) 1,024 / 1,024 / 736 B
    assert figures["allocated before the first GC cycle"] == 1056 and figures["allocated per GC cycle max"] == 1024
    assert "6 in 3 GC cycle(s)" in notes and f"6 PendSV context switch(es) of {6 + POLL_READS}" in notes and f"port 2 printed {len(OUTPUT)}" in notes


def test_gc_run_counts_cycles_not_pauses() -> None:
    p = run_gomcu("gc", str(EGO / "egorun-f407.elf"), "--chip", "STM32F407", "--run")
    out = " ".join(p.stdout.split())
    assert "collections: 3 " in out and "6 stop-the-world pause(s) in 3 GC cycle(s)" in out
    assert "min 110 / median 261 / p99 412 / max 412 instructions" in out


def test_partial_when_the_run_stops_early() -> None:
    img = image_mod.load(str(EGO / "egorun-f407.elf"))
    r = emu.run(img, chip="STM32F407", probes=tasker_run.probes(img, PROFILE), max_insns=18_000,
                hooks=boundary_hooks(PROFILE))
    t = tasker_run.from_run(img, PROFILE, r)
    assert r.stop == "budget" and not t.outcome.complete and "partial" in t.outcome.partial_note()
    assert 0 < len(t.pauses) < 6


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("make") is None,
                    reason="needs arm-none-eabi-gcc and make")
def test_rebuild_bit_identical(tmp_path: Path) -> None:
    assert_rebuilds_identically(EGO, tmp_path, ("egorun.c", "egorun.S", "egorun-f407.ld", "egorun-nrf52840.ld",
                                                "egorun-names.txt", "Makefile"),
                                ("egorun-f407.elf", "egorun-nrf52840.elf", "egorun-null.elf", "egorun-ppb.elf"),
                                targets=("egorun-f407.elf", "egorun-nrf52840.elf", "egorun-null.elf",
                                         "egorun-ppb.elf"))


ROUNDS, PER_ROUND, OBJECT, HEAP = 3, 40, 32, 1024  # egorun.c


def _replay() -> tuple[list[int], int, int]:
    """egorun.c's bump allocator replayed: bytes requested between GC cycle starts (the
    allocation that fills the heap is entered before the cycle it starts), the heap in use when
    the last collection ran (gcController.heapMarked) and at the end (heapInUse)."""
    out, used, marked = [0], 0, 0
    for _ in range(ROUNDS * PER_ROUND):
        at = (used + 7) & ~7
        out[-1] += OBJECT
        if at + OBJECT > HEAP:
            out.append(0)
            marked, at = used, 0
        used = at + OBJECT
    return out, marked, used


def _per_cycle() -> list[int]:
    return _replay()[0]


@pytest.mark.parametrize("native", [True, False])
def test_allocation_probe_reads_abi0_stack_slots_once_per_allocation(native: bool) -> None:
    """mallocgc takes its size at sp+4 and returns its result at sp+16 (Go ABI0): the probe reads
    them there, and a call its stack check restarts through morestack counts once."""
    from gomcu.limits.gc_measure import allocator_probe

    if native and not emu.native_available():
        pytest.skip("native probes not built")
    img = image_mod.load(str(EGO / "egorun-f407.elf"))
    probes = [allocator_probe(PROFILE, "runtime.mallocgc"), emu.FunctionProbe("runtime.mallocgc"),
              emu.FunctionProbe("runtime.morestack")]
    r = emu.run(img, chip="STM32F407", probes=probes, hooks=boundary_hooks(PROFILE), max_insns=2_000_000,
                native=native)
    assert (r.stop, r.exit_code) == ("exit", 0), r.message
    heap = img.symbol("runtime.end").address  # type: ignore[union-attr]
    assert [(a.size, a.caller_name) for a in r.allocations] == [(OBJECT, "runtime.newobject")] * (ROUNDS * PER_ROUND)
    assert all(heap <= (a.result or 0) and (a.result or 0) + a.size <= heap + HEAP for a in r.allocations)
    assert r.allocations[0].result == heap and r.allocations[1].result == heap + OBJECT
    timing = {f.name: f for f in r.functions}
    restarts = timing["runtime.morestack"].calls
    assert restarts == 3 and timing["runtime.mallocgc"].calls == ROUNDS * PER_ROUND + restarts


def test_native_and_python_probes_agree_on_abi0() -> None:
    if not emu.native_available():
        pytest.skip("native probes not built")
    from gomcu.limits.gc_measure import allocator_probe

    img = image_mod.load(str(EGO / "egorun-f407.elf"))
    probes = [allocator_probe(PROFILE, "runtime.mallocgc")] + tasker_run.probes(img, PROFILE)
    inj = [emu.Injection(irq=6, period_cycles=900, jitter_cycles=200)]
    n, p = (emu.run(img, chip="STM32F407", probes=probes, injections=inj, hooks=boundary_hooks(PROFILE),
                    max_insns=2_000_000, native=native) for native in (True, False))
    assert n.native_timebase and not p.native_timebase and len(n.allocations) == ROUNDS * PER_ROUND
    assert n.allocations == p.allocations and n.spans == p.spans and n.instructions == p.instructions


def test_gc_run_reports_bytes_per_gc_cycle_not_a_high_water() -> None:
    """Go's page heap: the run says what was requested between GC cycle starts, and no high-water
    (a high-water read from r0 was a flash address on a real build: 128 MiB on a 128 KiB chip)."""
    p = run_gomcu("gc", str(EGO / "egorun-f407.elf"), "--chip", "STM32F407", "--run", "--format", "json",
                  timeout=600)
    assert p.returncode in (0, 1), p.stderr
    m = json.loads(p.stdout)["measured"]
    assert m["allocations"] == ROUNDS * PER_ROUND and m["alloc_size_counts"] == {str(OBJECT): ROUNDS * PER_ROUND}
    assert m["alloc_bytes"] == ROUNDS * PER_ROUND * OBJECT
    assert m["alloc_bytes_by_gc_cycle"] == _per_cycle() == [1056, 1024, 1024, 736]
    assert m["heap_high_water_bytes"] is None
    _, marked, in_use = _replay()
    assert (marked, in_use) == (1024, 768)  # 32 objects when the third collection ran; 24 at the end
    assert m["runtime_heap_counters"] == {"heap marked live by the last GC cycle": marked,
                                          "heap in in-use spans at the run's end": in_use}
    assert any("heap high-water not measured" in n for n in json.loads(p.stdout)["notes"])
    text = run_gomcu("gc", str(EGO / "egorun-f407.elf"), "--chip", "STM32F407", "--run").stdout
    assert "requested: 3840 B" in " ".join(text.split())
    assert PROFILE.heap_high_water_measurable() is False and load_profile("tinygo").heap_high_water_measurable()


def test_a_profile_location_the_probe_cannot_read_is_a_one_line_error(tmp_path: Path) -> None:
    from gomcu.runtime.profile import PROFILE_DIR

    text = (PROFILE_DIR / "embeddedgo.toml").read_text()
    bad = tmp_path / "mine.toml"
    bad.write_text(text.replace('name = "embeddedgo"', 'name = "mine"').replace('size_at = "stack+4"', 'size_at = "stack-4"'))
    p = run_gomcu("gc", str(EGO / "egorun-f407.elf"), "--chip", "STM32F407", "--run", "--runtime", str(bad))
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "[gc.allocator_probe]" in p.stderr and "'stack-4'" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    static = tmp_path / "static.toml"
    static.write_text(text.replace('name = "embeddedgo"', 'name = "static"')
                      .replace('size_argument = { "runtime.mallocgc" = "stack+4" }',
                               'size_argument = { "runtime.mallocgc" = "stack+2" }'))
    p = run_gomcu("gc", str(EGO / "egorun-f407.elf"), "--runtime", str(static))
    assert p.returncode == 2 and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert "size_argument" in p.stderr and "'stack+2'" in p.stderr
    setter = tmp_path / "setter.toml"
    setter.write_text(text.replace('name = "embeddedgo"', 'name = "setter"').replace('priority = "stack+8"', 'priority = "lr"'))
    p = run_gomcu("check", str(EGO / "egorun-f407.elf"), "--no-cache", "--runtime", str(setter))
    assert p.returncode == 2 and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert "priority_setters" in p.stderr and "'lr'" in p.stderr
    assert emu.probes.location("stack+16") == emu.probes.location("sp+16") == ("stack", 16)
    assert emu.probes.location("r0") == ("reg", 0)
    for wrong in ("sp+2", "r13", "lr", "stack-4"):
        with pytest.raises(EmulationError):
            emu.probes.location(wrong)


def test_runtime_counters_are_found_through_dwarf_and_missing_ones_said() -> None:
    """runtime.gcController's fields are read at the offsets DWARF gives (the C struct in egorun.c:
    two 8-byte fields and heapLive before heapMarked); a field the image lacks is a note, not 0."""
    from dataclasses import replace

    from gomcu.chips.loader import find_chip
    from gomcu.limits.gc_measure import run_once

    img = image_mod.load(str(EGO / "egorun-f407.elf"))
    where = img.symbol("runtime.gcController")
    assert where is not None and img.dwarf is not None
    assert img.dwarf.member(where.address, "heapMarked") == (24, 8)
    assert img.dwarf.member(where.address, "heapInUse") == (32, 8)
    assert img.dwarf.member(where.address, "noSuchField") is None
    gc = dict(PROFILE.gc, heap_counters={"missing": "runtime.gcController.noSuchField",
                                         "in use": "runtime.gcController.heapInUse"})
    r = run_once(img, replace(PROFILE, gc=gc), chip=find_chip("STM32F407"), max_insns=2_000_000)
    assert r.heap_counters == (("missing", None), ("in use", _replay()[2]))
    assert any(n.startswith("missing not read: no runtime.gcController.noSuchField") for n in r.notes)
