"""`gomcu lab`: each experiment's table on the reference firmware, checked against the single
commands that measure the same thing; identical tables at -j 1, -j 2 and on a dask LocalCluster;
the cache makes a re-run do only what is missing; plan files are validated with line numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, REFMW_BUILD, run_gomcu

M3 = str(REFMW_BUILD / "refmw-m3.elf")
SMALL = str(REFMW_BUILD / "refmw-m3-small-stack.elf")


def lab(*args: str, cache: Path | None = None) -> dict[str, Any]:
    extra = ["--cache", str(cache)] if cache is not None else ["--no-cache"]
    done = run_gomcu("lab", *args, *extra, "--format", "json", timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def table(doc: dict[str, Any], title_part: str, experiment: int = 0) -> list[dict[str, Any]]:
    """Rows of the table whose title contains `title_part`, as dicts by column title (+ unit)."""
    t = next(t for t in doc["experiments"][experiment]["tables"] if title_part in t["title"])
    keys = [c["title"] + (f" ({c['unit']})" if c["unit"] else "") for c in t["columns"]]
    return [dict(zip(keys, row)) for row in t["rows"]]


def single(*args: str) -> dict[str, Any]:
    done = run_gomcu(*args, "--format", "json", timeout=600)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_gc_pause_table_matches_gc_sweep() -> None:
    doc = lab("gc-pause", M3, "--chip", "lm3s6965", "--heap", "8K,16K")
    rows = table(doc, "stop-the-world")
    sweep = single("gc", M3, "--chip", "lm3s6965", "--run", "--sweep", "8K,16K")["sweep"]
    assert [r["heap (B)"] for r in rows] == [s["heap_bytes"] for s in sweep] == [8192, 16384]
    for row, run in zip(rows, sweep):
        assert row["collections"] == run["collections"] > 0
        assert row["p50 (cycles)"] == run["pauses_cycles"]["median"]
        assert row["max (cycles)"] == run["pauses_cycles"]["max"]
        assert row["run"] == "exit"
    claims = doc["experiments"][0]["claims"]
    assert claims and "nRF52840" in claims[0]["text"] and "unverified" in claims[0]["source"]


def test_jitter_table_matches_irq_campaign() -> None:
    doc = lab("jitter", M3, "--chip", "lm3s6965", "--irq", "0", "--count", "40", "--period", "400")
    row = table(doc, "under injection")[0]
    camp = single("irq", M3, "--chip", "lm3s6965", "--inject", "0", "--count", "40", "--period", "400")["latency"]
    assert "IRQ 0 (GPIOPortA_IRQHandler)" in doc["experiments"][0]["tables"][0]["title"]
    assert row["samples"] == camp["latency"]["count"]
    assert row["max (cycles)"] == camp["latency"]["cycles"]["max"]
    assert row["min (cycles)"] == camp["latency"]["cycles"]["min"]
    assert row["p50 (cycles)"] == camp["latency"]["cycles"]["median"]
    fit = table(doc, "fitted model")[0]
    assert fit["samples"] > 0 and fit["note"] is not None
    assert "1.38" in doc["experiments"][0]["claims"][0]["text"]


def test_recursion_static_and_emulated() -> None:
    doc = lab("recursion", M3, SMALL, "--chip", "lm3s6965")
    static = {r["firmware"]: r for r in table(doc, "deepest safe")}
    stack = single("stack", SMALL)
    rec = stack["recursion"][0]
    assert static["refmw-m3-small-stack"]["deepest safe (levels)"] == rec["max_depth"]
    assert static["refmw-m3-small-stack"]["per level (B)"] == rec["bytes_per_iteration"]
    runs = table(doc, "high-water")
    assert any(r["firmware"] == "refmw-m3-small-stack" and r["run"] == "overflow" for r in runs)
    assert not any(r["firmware"] == "refmw-m3" and r["run"] == "overflow" for r in runs)


def test_profile_adds_up_to_the_run() -> None:
    doc = lab("profile", M3, "--chip", "lm3s6965")
    rows = table(doc, "profile:")
    total = next(r for r in rows if r["function"] == "total")
    # the same run without stack painting (which the firmware can see): what `gomcu gc --run` makes
    ran = single("gc", M3, "--chip", "lm3s6965", "--run")["measured"]
    assert total["exclusive (instructions)"] == total["inclusive (instructions)"] == ran["instructions"]
    handler = next(r for r in rows if r["function"] == "UART1_IRQHandler")
    assert handler["in interrupts (instructions)"] == handler["exclusive (instructions)"] > 0


def test_footprint_heap_and_priorities() -> None:
    doc = lab("footprint", M3, SMALL, "--chip", "lm3s6965")
    total = table(doc, "footprint")[-1]
    size = single("size", M3, "--chip", "lm3s6965")
    assert total["component"] == "total"
    assert total["refmw-m3 flash (B)"] == size["flash_bytes"]
    heap = table(lab("heap", M3, "--chip", "lm3s6965"), "metadata")[0]
    assert heap["GC kind"] == "conservative" and heap["metadata (B)"] == 720
    prio = {r["exception"]: r for r in table(lab("priorities", M3, "--chip", "lm3s6965"), "read back")}
    assert prio["PendSV"]["written"] == "0xFF" and prio["PendSV"]["implemented"] == "0xE0"
    assert prio["IRQ6"]["handler"] == "UART1_IRQHandler"


PLAN = """firmware = ["{m3}"]
chips = ["lm3s6965"]

[[experiment]]
name = "gc-pause"
heap = ["8K", "16K", "32K"]

[[experiment]]
name = "jitter"
irq = 0
count = 30
heap = ["16K", "32K"]

[[experiment]]
name = "priorities"
"""


def test_same_tables_at_any_parallelism_and_on_a_dask_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    plan = tmp_path / "lab.toml"
    plan.write_text(PLAN.format(m3=M3))
    one = lab("--plan", str(plan), "-j", "1")
    two = lab("--plan", str(plan), "-j", "2")
    assert one["campaign"]["executed"] == 6 and one["campaign"]["where"] == "this process"
    assert two["campaign"]["where"] == "2 local processes"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        on_cluster = lab("--plan", str(plan), "--cluster", cluster.scheduler_address)
    assert on_cluster["campaign"]["where"].startswith("dask tcp://127.0.0.1")
    assert one["experiments"] == two["experiments"] == on_cluster["experiments"]


def test_a_rerun_after_an_interruption_does_only_what_is_missing(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = lab("gc-pause", M3, "--chip", "lm3s6965", "--heap", "8K,16K,32K", cache=cache)
    assert first["campaign"] == {**first["campaign"], "runs": 3, "cached": 0, "executed": 3}
    files = sorted(cache.rglob("*.json"))
    assert len(files) == 3
    files[1].unlink()  # as if the campaign had been stopped before this run finished
    again = lab("gc-pause", M3, "--chip", "lm3s6965", "--heap", "8K,16K,32K", cache=cache)
    assert again["campaign"]["cached"] == 2 and again["campaign"]["executed"] == 1
    assert again["experiments"] == first["experiments"]


def test_a_failed_run_is_reported_and_does_not_sink_the_campaign() -> None:
    bad = str(FIXTURES / "emu" / "bad-jump-unmapped.elf")
    doc = lab("gc-pause", M3, bad, "--chip", "lm3s6965")
    rows = table(doc, "stop-the-world")
    assert [r["firmware"] for r in rows] == ["refmw-m3"]
    failed = doc["experiments"][0]["failed_runs"]
    assert len(failed) == 1 and "bad-jump-unmapped" in failed[0]["run"] and failed[0]["stop"] == "error"


@pytest.mark.parametrize("text,where,message", [
    ("firmware = [\"x.elf\"]\n[[experiment]]\nname = \"gc-pause\"\nheap = 5\n", ":4:", "heap must be"),
    ("firmware = [\"x.elf\"]\ncolour = 1\n[[experiment]]\nname = \"heap\"\n", ":2:", "unknown key 'colour'"),
    ("firmware = [\"x.elf\"]\n\n[[experiment]]\nname = \"nope\"\n", ":4:", "name must be one of"),
    ("firmware = [\"x.elf\"]\n", "", "no [[experiment]]"),
    ("firmware = [\n", "", "lab.toml"),
])
def test_plan_errors_name_the_line(tmp_path: Path, text: str, where: str, message: str) -> None:
    plan = tmp_path / "lab.toml"
    plan.write_text(text)
    done = run_gomcu("lab", "--plan", str(plan))
    assert done.returncode == 2
    assert message in done.stderr and where in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args,message", [
    (("nope", M3), "unknown experiment"),
    (("gc-pause",), "give one or more FIRMWARE.elf"),
    (("jitter", M3), "--irq"),
    (("gc-pause", M3, "--heap", "lots"), "--heap"),
    (("gc-pause", M3, "--chip", "nosuchchip"), "nosuchchip"),
    (("gc-pause", M3, "-j", "0"), "must be positive"),
    (("gc-pause", "/no/such.elf"), "no such firmware file"),
])
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    done = run_gomcu("lab", *args, "--no-cache")
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and "Traceback" not in done.stderr


def test_html_plots_have_ticks_in_units(tmp_path: Path) -> None:
    """The pause-against-heap plot's axes are labelled in their units (KiB, cycles), not bare numbers."""
    page = tmp_path / "lab.html"
    done = run_gomcu("lab", "gc-pause", M3, "--chip", "lm3s6965", "--heap", "8K,16K", "--no-cache",
                     "--html", str(page), timeout=600)
    assert done.returncode == 0, done.stderr
    ticks = re.findall(r'class="tick"[^>]*>([^<]+)<', page.read_text())
    assert any(t.endswith(" KiB") for t in ticks), ticks
    assert any(t.endswith(" cyc") for t in ticks), ticks
    assert not [t for t in ticks if re.fullmatch(r"[\d.,]+(e[+-]?\d+)?", t)], ticks
