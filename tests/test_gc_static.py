"""GC limit, static part: allocation sites, roots, loops, no-GC verdicts and the heap budget,
computed from the reference firmware's binaries and compared with the truths in
examples/README.md (which come from the C we wrote, not from gomcu)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURES, REFMW_BUILD, assert_rebuilds_identically, needs_tool
from gomcu import image as image_mod
from gomcu.code import model as code_model
from gomcu.findings import Severity, Status
from gomcu.limits import gc
from gomcu.limits.gc_budget import block_geometry
from gomcu.runtime.profile import detect_profile, load_profile

GC_FIXTURES = FIXTURES / "gc"

# examples/README.md, "Allocation call sites": (caller, file:line) per build.
HANDLER = {"m3": "UART1_IRQHandler", "m4f": "TIMER1_IRQHandler"}
# examples/README.md, "Layout": _heap_start/_heap_end; RAM 0x20000000 64K; stack sizes table.
HEAP = {"m3": (0x2000493C, 0x20010000), "m4f": (0x20004944, 0x20010000)}
RAM_BYTES = 64 * 1024
SYSTEM_STACK = 2048
TASK_STACKS = {"m3": {"runtime.run$1": 2048, "main.producer$gowrapper": 1024, "main.recurse$gowrapper": 1024},
               "m4f": {"runtime.run$1": 2048, "main.producer$gowrapper": 1024, "main.recurse$gowrapper": 1024,
                       "main.fpu$gowrapper": 1024}}


def _analyse(path: Path, **kw):
    return gc.analyse(image_mod.load(path), **kw)


@pytest.fixture(scope="module", params=["m3", "m4f"])
def refmw(request):
    build = request.param
    return build, _analyse(REFMW_BUILD / f"refmw-{build}.elf")


def test_refmw_allocation_sites_and_lines(refmw):
    build, a = refmw
    found = {(s.function, s.file, s.line) for s in a.sites}
    assert found == {
        ("internal/task.start", "task.c", 55),
        ("main.producer$gowrapper", "main.c", 76),
        ("main.producer$gowrapper", "main.c", 77),
        (HANDLER[build], "main.c", 190),
    }
    assert a.gc_kind == "conservative" and a.runtime == "refmw"


def test_refmw_roots_loops_and_context(refmw):
    build, a = refmw
    by_line = {(s.file, s.line): s for s in a.sites}
    stack = by_line[("task.c", 55)]
    assert stack.purpose == "goroutine stack"
    assert {r.root for r in stack.roots} == {"Reset_Handler", "runtime.run$1"}
    assert stack.loop is None and not stack.in_interrupt
    # main + the goroutines it starts: one task.start call per task (README: tasks table)
    assert stack.executions == len(TASK_STACKS[build])
    for line in (76, 77):
        s = by_line[("main.c", line)]
        assert [r.root for r in s.roots] == ["main.producer$gowrapper"]
        assert s.loop == "in main.producer$gowrapper" and not s.init_only and s.executions is None
    assert by_line[("main.c", 76)].size == 16
    isr = by_line[("main.c", 190)]
    assert isr.in_interrupt and [r.root for r in isr.roots] == [HANDLER[build]] and isr.size == 24


def test_refmw_interrupt_allocation_is_an_error_with_location(refmw):
    build, a = refmw
    errors = [f for f in a.findings if f.rule == "gc.alloc-in-interrupt"]
    assert len(errors) == 1 and errors[0].severity is Severity.ERROR
    loc = errors[0].location
    assert (loc.function, loc.file, loc.line) == (HANDLER[build], "main.c", 190)
    assert errors[0].chain == (HANDLER[build], "runtime.alloc")
    assert a.status is Status.FAIL
    loops = [f for f in a.findings if f.rule == "gc.alloc-in-loop"]
    assert {f.location.line for f in loops} == {76, 77}


def test_refmw_no_gc_verdicts(refmw):
    _, a = refmw
    none, leaking = a.verdict("none"), a.verdict("leaking")
    assert none.feasible is False and len(none.blocking) == 4
    assert leaking.feasible is False
    assert {(s.file, s.line) for s, _ in leaking.blocking} == {("main.c", 76), ("main.c", 77), ("main.c", 190)}


def test_refmw_heap_budget_adds_up_to_the_linker_layout(refmw):
    build, a = refmw
    b = a.budget
    assert (b.heap_start, b.heap_end) == HEAP[build]
    assert b.ram_bytes == RAM_BYTES and b.system_stack_bytes == SYSTEM_STACK
    assert b.data_bytes + b.bss_bytes + b.system_stack_bytes + b.other_ram_bytes + b.heap_bytes == RAM_BYTES
    assert b.outside_bytes == 0
    assert {g.root: g.bytes for g in b.goroutine_stacks} == TASK_STACKS[build]
    geo = b.geometry
    # the most blocks whose data and 2-bit states fit in the aligned heap, as in gc_blocks.go
    aligned = b.heap_bytes - geo.alignment_bytes
    assert geo.blocks * 16 + (geo.blocks + 3) // 4 <= aligned < (geo.blocks + 1) * 16 + (geo.blocks + 4) // 4
    assert b.usable_bytes == b.heap_bytes - b.gc_overhead_bytes - sum(TASK_STACKS[build].values())


def test_block_geometry_is_about_one_65th():
    g = block_geometry(0x1000, 0x1000 + 65 * 1000, 16, 2)
    assert g.blocks == 4000 and g.metadata_bytes == 1000 and g.tail_bytes == 0


def test_rv32_has_only_the_two_producer_sites():
    a = _analyse(REFMW_BUILD / "refmw-rv32.elf")
    assert {(s.file, s.line) for s in a.sites} == {("main.c", 76), ("main.c", 77)}
    assert not any(s.in_interrupt for s in a.sites)


def test_profiles_detect_refmw_before_tinygo_and_force_by_name_or_file(tmp_path):
    img = image_mod.load(REFMW_BUILD / "refmw-m3.elf")
    names = [s.name for s in img.symbols]
    assert detect_profile(names).name == "refmw"
    a = gc.analyse(img, profile="tinygo")
    assert a.runtime == "tinygo" and len(a.sites) == 4
    text = (Path(gc.__file__).parent.parent / "runtime" / "profiles" / "tinygo.toml").read_text()
    custom = tmp_path / "mine.toml"
    custom.write_text(text.replace('name = "tinygo"', 'name = "mine"'))
    assert load_profile(str(custom)).name == "mine"
    assert gc.analyse(img, profile=str(custom)).runtime == "mine"


# -- bad input: tiny fixtures of our own (tests/fixtures/gc) ---------------------------------

def test_firmware_without_allocator_is_gc_none():
    a = _analyse(GC_FIXTURES / "gcfx-noalloc.elf")
    assert a.runtime == "tinygo" and a.gc_kind == "none" and a.sites == ()
    assert a.verdict("none").feasible is True
    assert a.status is Status.PASS
    assert any("-gc=none" in s for s in a.suggestions)


def test_allocator_without_collector_is_leaking_and_flags_the_loop():
    a = _analyse(GC_FIXTURES / "gcfx-leaking.elf")
    assert a.gc_kind == "leaking"
    by_line = {s.line: s for s in a.sites}
    assert set(by_line) == {41, 44}
    assert by_line[41].loop is None and by_line[41].executions == 1 and by_line[41].size == 64
    assert by_line[44].loop == "in main.main" and by_line[44].size == 32
    assert a.verdict("leaking").feasible is False
    assert [s.line for s, _ in a.verdict("leaking").blocking] == [44]
    assert {"gc.alloc-in-loop", "gc.leaking-exhausts"} <= {f.rule for f in a.findings}
    assert a.budget.gc_metadata_bytes == 0  # no collector, no metadata


def test_stripped_firmware_is_unknown_not_a_crash():
    a = _analyse(GC_FIXTURES / "gcfx-stripped.elf")
    assert a.gc_kind == "unknown" and a.status is Status.UNKNOWN
    assert a.verdict("none").feasible is None
    assert [f.rule for f in a.findings] == ["gc.unknown-runtime"]


@needs_tool("arm-none-eabi-gcc")
def test_gc_fixtures_rebuild_bit_identical(tmp_path):
    assert_rebuilds_identically(GC_FIXTURES, tmp_path, ("gcfx.c", "gcfx.ld", "Makefile"),
                                ("gcfx-noalloc.elf", "gcfx-leaking.elf", "gcfx-stripped.elf"))


def test_sites_come_from_the_code_model_call_graph():
    """Two views agree: every site is a call the code model knows, to the profile's allocator."""
    img = image_mod.load(REFMW_BUILD / "refmw-m3.elf")
    a = gc.analyse(img)
    cm = code_model(img)
    calls = {c.address for c in cm.callers_of("runtime.alloc")}
    assert {s.address for s in a.sites} == calls
