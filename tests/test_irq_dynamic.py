"""Interrupt limit, emulated part: priorities read back, latency campaign, cause attribution, fit."""

from __future__ import annotations

import json
import re

import pytest

from conftest import REFMW, REFMW_BUILD, run_gomcu
from gomcu import image as image_mod
from gomcu.chips import find_chip
from gomcu.limits import interrupts
from gomcu.limits.irq_latency import least_squares, percentile

pytest.importorskip("unicorn")


def _written() -> dict[str, int]:
    """Priorities as main.c writes them (PRIO_* defines), read from the source."""
    text = (REFMW / "main.c").read_text()
    return {m.group(1): int(m.group(2), 16) for m in re.finditer(r"#define PRIO_(\w+)\s+(0x[0-9A-Fa-f]+)", text)}


@pytest.mark.parametrize("build,quiet,alloc", [("refmw-m3.elf", 16, 22), ("refmw-m4f.elf", 24, 25)])
def test_priorities_read_back(build: str, quiet: int, alloc: int) -> None:
    prio = _written()
    report = interrupts.analyse(image_mod.load(REFMW_BUILD / build), run=True, count=20)
    pr = report.priorities
    assert pr is not None
    got = {p.exception: p for p in pr.priorities}
    assert got[14].written == prio["PENDSV"] and got[15].written == prio["SYSTICK"]
    assert got[quiet].written == prio["QUIET"] and got[alloc].written == prio["ALLOC"]
    assert got[quiet].enabled and got[alloc].enabled
    assert pr.prigroup == 0
    names = {(a.split()[1], b.split()[1]) for a, b in pr.preempts}
    q, a = got[quiet].handler, got[alloc].handler
    assert (q, a) in names and (a, q) not in names  # the quiet handler nests in the allocating one
    assert not any(c.rule == "irq.pendsv-not-lowest" for c in pr.checks)


def test_chip_priority_bits() -> None:
    chip = find_chip("LM3S6965")
    report = interrupts.analyse(image_mod.load(REFMW_BUILD / "refmw-m3.elf"), chip, run=True, count=10)
    pendsv = report.priorities.of(14)
    mask = (0xFF << (8 - chip.nvic_priority_bits)) & 0xFF
    assert pendsv.written == _written()["PENDSV"] and pendsv.implemented == pendsv.written & mask
    assert pendsv.implemented != pendsv.written  # 3 bits cannot hold 0xFF


def test_latency_campaign_allocating_irq() -> None:
    img = image_mod.load(REFMW_BUILD / "refmw-m3.elf")
    report = interrupts.analyse(img, run=True, inject=6, count=200, period_us=400)
    c = report.campaign
    assert c is not None and c.irq == 6 and c.handler == "UART1_IRQHandler"
    assert len(c.samples) > 20
    lat = c.latency
    assert lat.min >= 12 and lat.min <= lat.median <= lat.p99 <= lat.max  # entry costs at least 12 cycles
    assert c.gc_in_handler >= 1  # the allocating handler collected inside the interrupt
    late = [s for s in c.samples if s.cause]
    assert late and all(s.latency_cycles > c.late_threshold for s in late)
    # the tail comes from the handler itself: a previous activation still running (collecting)
    assert c.causes.get("gc-in-handler", 0) + c.causes.get("own-previous", 0) >= 1
    worst = max(c.samples, key=lambda s: s.latency_cycles)
    assert worst.cause is not None
    assert c.fit.n > 0 and (c.fit.r2 is None or 0.0 <= c.fit.r2 <= 1.0)


def test_latency_campaign_clean_irq_is_flat() -> None:
    img = image_mod.load(REFMW_BUILD / "refmw-m3.elf")
    report = interrupts.analyse(img, run=True, inject=0, count=100, period_us=400)
    c = report.campaign
    assert c.stop == "exit" and c.output_tail == "done"  # a clean handler does not disturb the program
    # the highest-priority IRQ is never delayed by collections: the only late one was pended before enable
    assert set(c.causes) <= {"not-enabled", "other"}
    assert c.latency.p99 < 100


def test_cli_run_json() -> None:
    proc = run_gomcu("irq", str(REFMW_BUILD / "refmw-m3.elf"), "--inject", "6", "--count", "50", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["latency"]["irq"] == 6 and doc["latency"]["latency"]["cycles"]["max"] >= doc["latency"]["latency"]["cycles"]["min"]
    assert set(doc["model"]) >= {"intercept", "gc", "heap", "r2"}
    assert next(h for h in doc["handlers"] if h["name"] == "UART1_IRQHandler")["priority"]["written"] == 0x80


def test_least_squares_recovers_known_coefficients() -> None:
    xs = [(g, h) for g in (0.0, 1.0) for h in (0.0, 10.0, 25.0, 40.0, 80.0)]
    rows = [[1.0, g, h] for g, h in xs]
    y = [3.0 + 200.0 * g + 0.5 * h for g, h in xs]
    beta, r2 = least_squares(rows, y)
    assert beta is not None and r2 == pytest.approx(1.0)
    assert beta == pytest.approx([3.0, 200.0, 0.5])
    noisy = [v + (1.0 if i % 2 else -1.0) for i, v in enumerate(y)]
    _, r2n = least_squares(rows, noisy)
    assert 0.0 < r2n < 1.0


def test_percentile() -> None:
    assert percentile([5, 1, 3], 50) == 3
    assert percentile(list(range(101)), 99) == pytest.approx(99)
