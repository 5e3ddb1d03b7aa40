"""GC limit, measured part: collections and allocations counted by emulator probes, checked
against examples/README.md and against the counters the firmware itself prints; the sweep."""

from __future__ import annotations

import json
import re

import pytest

from conftest import FIXTURES, REFMW_BUILD, run_gomcu
from gomcu import image as image_mod
from gomcu.code import model as code_model
from gomcu.errors import GomcuError
from gomcu.limits import gc, gc_measure
from gomcu.report.gc import to_json
from gomcu.runtime.profile import detect_profile

# examples/README.md, "Recorded output facts" (m3 / m4f).
ALLOCS = {"m3": 3007, "m4f": 3008}
GC_CYCLES = {"m3": 6, "m4f": 6}
ALLOC_HANDLER_RUNS = 4


def _printed(output: str, label: str) -> int:
    m = re.search(rf"^{label}: (\d+)$", output, re.M)
    assert m, f"firmware did not print {label!r}"
    return int(m.group(1))


@pytest.fixture(scope="module")
def m3():
    return gc.analyse(image_mod.load(REFMW_BUILD / "refmw-m3.elf"), run=True, sweep="8K,16K,24K,32K,100%")


@pytest.mark.parametrize("build", ["m3", "m4f"])
def test_collections_and_allocations_match_the_truths(build):
    a = gc.analyse(image_mod.load(REFMW_BUILD / f"refmw-{build}.elf"), run=True)
    r = a.measurement.run
    assert r.ok
    assert r.collections == GC_CYCLES[build] == r.collector_calls
    assert r.allocations == ALLOCS[build]
    assert r.alloc_in_interrupt == ALLOC_HANDLER_RUNS
    p = r.pauses()
    assert p.count == GC_CYCLES[build] and 0 < p.min <= p.median <= p.p99 <= p.max


def test_static_budget_bounds_the_measured_high_water(m3):
    r, b = m3.measurement.run, m3.budget
    assert 0 < r.heap_high_water <= b.geometry.block_area
    assert not any(f.rule == "gc.bound-below-measurement" for f in m3.findings)


def test_pauses_are_repeatable():
    img = image_mod.load(REFMW_BUILD / "refmw-m3.elf")
    prof = detect_profile(s.name for s in img.symbols)
    first = gc_measure.run_once(img, prof)
    second = gc_measure.run_once(img, prof)
    assert first.pauses_insns == second.pauses_insns and first.alloc_insns == second.alloc_insns


def test_sweep_pause_grows_and_collections_fall_with_the_heap(m3):
    runs = m3.measurement.sweep
    assert [r.heap_bytes for r in runs] == sorted(r.heap_bytes for r in runs)
    assert all(r.ok for r in runs)
    medians = [r.pauses().median for r in runs]
    counts = [r.collections for r in runs]
    assert medians == sorted(medians) and medians[0] < medians[-1]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    # the probe's count is the firmware's own count in every run
    for r in runs:
        assert r.collections == _printed(r.output_tail, "gc cycles")
    assert runs[-1].heap_bytes == m3.budget.heap_bytes and runs[-1].collections == GC_CYCLES["m3"]
    fit = m3.measurement.scaling
    assert fit is not None and fit.slope_insns_per_kib > 0 and fit.r2 > 0.9


def test_sweep_patches_the_heap_end_literal():
    img = image_mod.load(REFMW_BUILD / "refmw-m3.elf")
    words = gc_measure.heap_end_literals(code_model(img), img.symbol("_heap_end").address)
    assert len(words) >= 1
    assert all(code_model(img).function_at(w) is not None for w in words)


def test_too_small_heap_runs_out_in_the_sweep():
    a = gc.analyse(image_mod.load(REFMW_BUILD / "refmw-m3.elf"), sweep="2K")
    (small,) = a.measurement.sweep
    assert not small.ok  # the goroutine stacks alone need 4 KiB: "out of memory"


def test_sizes_parse():
    assert gc_measure.parse_sizes("8K, 50%,1000", 20000) == (1000, 8192, 10000)
    with pytest.raises(GomcuError, match="more than the linked heap"):
        gc_measure.parse_sizes("1M", 20000)


def test_json_keys_the_issue_names(m3):
    doc = to_json(m3)
    assert doc["gc_kind"] == "conservative"
    assert all(site["roots"] for site in doc["allocation_sites"])
    assert set(doc["no_gc"]) == {"none", "leaking"}
    assert doc["heap_budget"]["usable_bytes"] == m3.budget.usable_bytes
    assert {"count", "min", "median", "p99", "max"} <= set(doc["pauses"])
    assert doc["pauses"]["count"] == GC_CYCLES["m3"] and doc["pauses"]["us"]["max"] > 0
    json.dumps(doc)


def test_evaluate_for_check():
    img = image_mod.load(REFMW_BUILD / "refmw-m3.elf")
    result = gc.evaluate(img, None, run=True)
    assert result.limit == "gc" and result.status.value == "fail"
    assert any(f.rule == "gc.alloc-in-interrupt" and f.location.line == 190 for f in result.findings)
    assert any(fig.origin.value == "emulated" and fig.unit == "µs" for fig in result.figures)
    assert result.analysis.gc_kind == "conservative"


# -- the command ------------------------------------------------------------------------------

def test_cli_json_and_exit_status():
    p = run_gomcu("gc", str(REFMW_BUILD / "refmw-m3.elf"), "--run", "--format", "json")
    assert p.returncode == 1, p.stderr  # allocation in an interrupt handler
    doc = json.loads(p.stdout)
    assert doc["schema_version"] == 2 and doc["pauses"]["count"] == GC_CYCLES["m3"]


@pytest.mark.parametrize("args", [
    ("gc", "missing.elf"),
    ("gc", str(REFMW_BUILD / "refmw-m3.elf"), "--runtime", "nosuch"),
    ("gc", str(REFMW_BUILD / "refmw-m3.elf"), "--sweep", "lots"),
    ("gc", str(REFMW_BUILD / "refmw-m3.elf"), "--sweep", "1M"),
])
def test_cli_bad_input_is_one_line_and_exit_2(args):
    p = run_gomcu(*args)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


@pytest.mark.parametrize("name,kind,code", [("gcfx-noalloc.elf", "none", 0), ("gcfx-leaking.elf", "leaking", 0),
                                            ("gcfx-stripped.elf", "unknown", 0)])
def test_cli_fixtures(name, kind, code):
    p = run_gomcu("gc", str(FIXTURES / "gc" / name), "--format", "json")
    assert p.returncode == code, p.stderr
    assert json.loads(p.stdout)["gc_kind"] == kind
    text = run_gomcu("gc", str(FIXTURES / "gc" / name))
    assert text.returncode == code and "GC limit" in text.stdout


def test_inlined_collector_is_timed_through_the_allocator(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Optimised TinyGo inlines runtime.GC into runtime.alloc. Pretend the reference firmware did
    (a profile that does not know runtime.GC): collections are then the allocator calls during
    which marking ran, and each must cover the runtime.GC call it contains (the allocator also
    searches the heap before and after collecting, so it can take up to twice as long)."""
    from gomcu.runtime.profile import load_profile

    image = image_mod.load(REFMW_BUILD / "refmw-m3.elf")
    inlined = tmp_path / "inlined.toml"
    inlined.write_text(
        'name = "inlined"\ninherits = "refmw"\n[detect]\nall_symbols = ["runtime.alloc"]\n'
        '[gc]\nallocator = ["runtime.alloc"]\ncollector = ["runtime.markRoots"]\n'
        'mark_functions = ["runtime.markRoots"]\npause_probe = []\n'
    )
    direct = gc_measure.run_once(image, load_profile("refmw"))
    through_alloc = gc_measure.run_once(image, load_profile(str(inlined)))
    assert direct.pause_function == "runtime.GC"
    assert through_alloc.pause_function == "runtime.alloc calls that ran runtime.markRoots"
    # Six collections: five inside runtime.alloc, one explicit runtime.GC() from main.c:300,
    # which the allocator-based timing cannot see and says so.
    assert direct.collections == 6 and through_alloc.collections == 5
    assert any("outside allocator calls" in note for note in through_alloc.notes)
    # In time order the first five runtime.GC calls are the allocator's, the sixth is main's.
    for whole, gc_only in zip(through_alloc.pauses_insns, direct.pauses_insns[:5]):
        assert gc_only <= whole <= 2 * gc_only, (whole, gc_only)
