"""Interrupt limit, static part: handlers of the reference firmware, their proofs, bad vector tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import REFMW_BUILD, REFMW, run_gomcu
from gomcu import image as image_mod
from gomcu.code import model as code_model
from gomcu.findings import Severity, Status
from gomcu.limits import interrupts, stack

# (build, quiet handler, its IRQ, allocating handler, its IRQ) from examples/refmw/vectors.c and main.c
BUILDS = [("refmw-m3.elf", "GPIOPortA_IRQHandler", 0, "UART1_IRQHandler", 6),
          ("refmw-m4f.elf", "TIMER0_IRQHandler", 8, "TIMER1_IRQHandler", 9)]


def _alloc_line() -> int:
    """The line of the allocation in the allocating handler, read from the source, not hard-coded."""
    lines = (REFMW / "main.c").read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("void ALLOC_HANDLER"))
    return next(i + 1 for i in range(start, len(lines)) if "runtime_alloc(" in lines[i])


@pytest.mark.parametrize("build,quiet,quiet_irq,alloc,alloc_irq", BUILDS)
def test_handlers_and_proofs(build: str, quiet: str, quiet_irq: int, alloc: str, alloc_irq: int) -> None:
    img = image_mod.load(REFMW_BUILD / build)
    report = interrupts.analyse(img)
    by_name = {h.name: h for h in report.handlers}
    # the allocating handler: flagged, with its chain, line and the collection behind the allocator
    h = by_name[alloc]
    assert h.irqs == (alloc_irq,)
    assert h.status == "violation"
    v = next(v for v in h.violations if v.kind == "alloc")
    assert v.chain == (alloc, "runtime.alloc")
    assert v.location.file and v.location.file.endswith("main.c") and v.location.line == _alloc_line()
    assert v.severity is Severity.ERROR
    assert any(c[-1] == "runtime.GC" for c in v.consequences)
    # the quiet handler: proved clean, with the number of functions it can reach
    q = by_name[quiet]
    assert q.irqs == (quiet_irq,) and q.status == "clean" and not q.violations and q.reachable >= 1
    assert q.max_insns is not None and q.max_insns > 0
    # the catch-all: one handler for every unused vector; its panic is expected (info)
    d = by_name["Default_Handler"]
    assert len(d.vectors) > 40 and all(v.severity is Severity.INFO for v in d.violations)
    assert d.status == "clean", "a fault handler that reports and stops is doing its job"
    # stack per handler: the stack analysis' bound
    bounds = {r.name: r.bound_bytes for r in stack.analyse(img).roots}
    assert all(h.stack_bytes == bounds[h.name] for h in report.handlers)
    # PendSV and SysTick are core exceptions with handlers of their own
    assert {"PendSV_Handler", "SysTick_Handler"} <= set(by_name)
    assert by_name["PendSV_Handler"].vectors == (14,) and by_name["SysTick_Handler"].vectors == (15,)


def test_allocating_path_needs_more_instructions_than_loop_free_bound() -> None:
    img = image_mod.load(REFMW_BUILD / "refmw-m3.elf")
    report = interrupts.analyse(img)
    alloc = next(h for h in report.handlers if h.name == "UART1_IRQHandler")
    assert alloc.max_insns is None and "loop" in alloc.insns_note  # the allocator's free-list search loops


def test_evaluate_fails_on_allocating_handler() -> None:
    img = image_mod.load(REFMW_BUILD / "refmw-m3.elf")
    result = interrupts.evaluate(img, None)
    assert result.limit == "interrupts" and result.status is Status.FAIL
    f = next(f for f in result.findings if f.rule == "irq.alloc-in-handler")
    assert f.location is not None and f.location.line == _alloc_line() and f.chain[-1] == "runtime.alloc"
    assert result.analysis.handlers


def test_cli_json_keys() -> None:
    proc = run_gomcu("irq", str(REFMW_BUILD / "refmw-m3.elf"), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    for h in doc["handlers"]:
        assert {"name", "irq", "priority", "violations", "stack_bytes", "status"} <= set(h)
        assert h["status"] in ("clean", "violation", "unknown")
        for v in h["violations"]:
            assert {"kind", "chain", "location"} <= set(v)
    assert "latency" in doc and "model" in doc


def _patched(tmp_path: Path, irq: int, word_of) -> Path:
    """A copy of refmw-m3.elf whose vector 16+irq is replaced by word_of(image)."""
    src = REFMW_BUILD / "refmw-m3.elf"
    img = image_mod.load(src)
    table = img.symbol("__isr_vector")
    section = img.section_at(table.address)
    offset = section.offset + (table.address - section.vma) + 4 * (16 + irq)
    data = bytearray(src.read_bytes())
    data[offset:offset + 4] = int(word_of(img)).to_bytes(4, "little")
    out = tmp_path / "patched.elf"
    out.write_bytes(bytes(data))
    return out


def test_vector_outside_flash(tmp_path: Path) -> None:
    path = _patched(tmp_path, 0, lambda img: 0x30000001)
    report = interrupts.analyse(image_mod.load(path))
    assert any(f.rule == "irq.vector-outside-code" and f.severity is Severity.ERROR for f in report.findings)
    assert not any(0 in h.irqs for h in report.handlers)
    proc = run_gomcu("irq", str(path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "0x30000000" in proc.stdout


def test_handler_address_without_symbol(tmp_path: Path) -> None:
    path = _patched(tmp_path, 0, lambda img: (img.symbol("GPIOPortA_IRQHandler").address + 4) | 1)
    img = image_mod.load(path)
    report = interrupts.analyse(img)
    problem = next(p for p in report.vector_problems if p.number == 16)
    assert problem.problem == "no-symbol" and "GPIOPortA_IRQHandler" in problem.detail
    assert any(f.rule == "irq.handler-without-symbol" for f in report.findings)
    assert not any(0 in h.irqs for h in report.handlers)  # never "proved clean" from the wrong entry
    assert code_model(img).vector_table[16].address == img.symbol("GPIOPortA_IRQHandler").address + 4
    proc = run_gomcu("irq", str(path), "--format", "json")
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["vector_problems"]


def test_bad_options() -> None:
    elf = str(REFMW_BUILD / "refmw-m3.elf")
    for args in (["--count", "0", "--run"], ["--period", "-1", "--run"], ["--inject", "-3"]):
        proc = run_gomcu("irq", elf, *args)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, args
    proc = run_gomcu("irq", "/nonexistent.elf")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
