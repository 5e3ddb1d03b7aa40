"""The Go source joined to the binary (`gomcu irq/check --src DIR`) on machine code: join.elf is a
firmware whose EIC handler runs the callbacks main.go registers through a function pointer, as
TinyGo's machine package does (tests/fixtures/join/join.c plays the machine package)."""

from __future__ import annotations

import json
from pathlib import Path

from gomcu import image as image_mod
from gomcu.code import model as code_model
from gomcu.findings import Severity
from gomcu.limits import interrupts
from gomcu.limits.irq_join import join_directory
from tests.conftest import FIXTURES, needs_tool, run_gomcu
from tests.test_source import _line
from conftest import assert_rebuilds_identically

JOIN = FIXTURES / "join"
ELF = JOIN / "join.elf"
MAIN = JOIN / "main.go"
EIC = ("EIC_EXTINT_0_IRQHandler", "EIC_EXTINT_1_IRQHandler")
DISPATCHER = "(machine.Pin).SetInterrupt$1"


def _report(src: Path | None):  # type: ignore[no-untyped-def]
    image = image_mod.load(ELF)
    source = join_directory(image, str(src), None) if src is not None else None
    return interrupts.analyse(image, source=source)


def _handler(report, name):  # type: ignore[no-untyped-def]
    return next(h for h in report.handlers if h.name == name)


def _source_copy(tmp_path: Path, blank: tuple[str, ...]) -> Path:
    """main.go with the lines holding `blank` (and the body up to the closing `})`) emptied, keeping
    every other line where it is."""
    lines = MAIN.read_text().splitlines()
    i = 0
    while i < len(lines):
        if any(b in lines[i] for b in blank):
            while not lines[i].strip().startswith("})"):
                lines[i] = ""
                i += 1
            lines[i] = ""
        i += 1
    (tmp_path / "main.go").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_without_source_the_handlers_stop_at_the_indirect_call():
    report = _report(None)
    for name in EIC:
        h = _handler(report, name)
        assert h.status == "unknown" and h.violations == ()
        assert [u.function for u in h.unresolved] == [DISPATCHER]


def test_callback_allocation_is_reported_through_the_handler_with_chain_and_line():
    report = _report(JOIN)
    literal = _line(MAIN, "machine.BUTTON.SetInterrupt(")
    for name in EIC:
        h = _handler(report, name)
        assert h.status == "violation"
        v = next(v for v in h.violations if v.kind == "alloc")
        assert v.chain == (name, DISPATCHER, "main.main$1", "runtime.alloc")
        assert v.location.file == "main.go" and v.location.line == literal
    finding = next(f for f in report.findings if f.rule == "irq.alloc-in-handler")
    assert finding.severity is Severity.ERROR
    assert "resolved from source" in finding.message and f"main.go:{literal}" in finding.message


def test_each_callback_is_joined_with_its_evidence_or_left_with_the_reason():
    join = _report(JOIN).source
    assert join is not None and join.package == "main"
    links = {link.handler: link for link in join.callbacks}
    assert links["main.func1"].compiled == "main.main$1" and links["main.func1"].joined
    assert f"DWARF declaration main.go:{_line(MAIN, 'machine.BUTTON.SetInterrupt(')}" in links["main.func1"].evidence
    assert links["onEdge"].compiled == "main.onEdge" and links["onEdge"].joined
    cm = code_model(image_mod.load(ELF))
    unresolved = {c.address for name in (DISPATCHER, "IO_IRQ_BANK0_IRQHandler") for c in cm.function(name).unresolved}
    assert {s.address for s in links["onEdge"].sites} == unresolved
    missing = links["main.func2"]
    assert not missing.joined and missing.compiled is None and "main.main$2" in (missing.reason or "")
    # main.main$2 may run from the same call: it stays unresolved beside the joined callbacks
    h = _handler(_report(JOIN), EIC[0])
    assert [u.function for u in h.unresolved] == [DISPATCHER]


def test_a_complete_join_leaves_nothing_unresolved(tmp_path: Path):
    src = _source_copy(tmp_path, blank=("machine.D6.SetInterrupt(",))
    report = _report(src)
    h = _handler(report, EIC[0])
    assert h.unresolved == () and h.status == "violation"
    assert report.source is not None and all(link.joined for link in report.source.callbacks)


def test_source_that_is_not_the_binarys_resolves_nothing_as_complete(tmp_path: Path):
    """Without the allocating literal the source lacks main.main$1, which the binary has."""
    src = _source_copy(tmp_path, blank=("machine.BUTTON.SetInterrupt(", "machine.D6.SetInterrupt("))
    report = _report(src)
    assert report.source is not None and report.source.strangers == ("main.main$1",)
    assert any(f.rule == "irq.source-mismatch" for f in report.findings)
    assert all(_handler(report, n).status == "unknown" for n in EIC)


def test_dwarf_line_mismatch_is_never_resolved(tmp_path: Path):
    """onEdge moved down a line: the binary's main.onEdge is declared elsewhere, so it is not joined."""
    lines = MAIN.read_text().splitlines(keepends=True)
    at = _line(MAIN, "func onEdge(") - 1
    (tmp_path / "main.go").write_text("".join(lines[:at] + ["\n"] + lines[at:]))
    report = _report(tmp_path)
    assert report.source is not None
    link = next(link for link in report.source.callbacks if link.handler == "onEdge")
    assert not link.joined and link.compiled == "main.onEdge"
    assert f"DWARF declares main.onEdge at main.go:{at + 1}" in (link.reason or "")
    h = _handler(report, EIC[0])
    assert [u.function for u in h.unresolved] == [DISPATCHER]  # onEdge may still run from there


def test_source_of_another_build_is_bad_input(tmp_path: Path):
    """Every function one line off: none is the binary's (main.main included, which every program has)."""
    (tmp_path / "main.go").write_text("\n" + MAIN.read_text())
    out = run_gomcu("irq", str(ELF), "--src", str(tmp_path))
    assert out.returncode == 2 and "does not match the firmware" in out.stderr


def test_cli_irq_and_check_with_src():
    out = run_gomcu("irq", str(ELF), "--src", str(JOIN), "--format", "json")
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert doc["source"]["origin"] == "source"
    assert {c["compiled"] for c in doc["source"]["callbacks"] if c["joined"]} == {"main.main$1", "main.onEdge"}
    check = run_gomcu("check", str(ELF), "--src", str(JOIN), "--format", "json")
    assert check.returncode == 1, check.stderr
    limit = next(r for r in json.loads(check.stdout)["limits"] if r["limit"] == "interrupts")
    figures = {f["name"]: f for f in limit["figures"]}
    assert figures["callbacks joined from source"]["value"] == 2
    assert figures["callbacks joined from source"]["origin"] == "source"
    assert figures["handlers judged through calls resolved from source"]["value"] == 3


def test_src_that_does_not_match_the_firmware_is_bad_input():
    out = run_gomcu("irq", str(ELF), "--src", str(FIXTURES / "go" / "clean"))
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "does not match the firmware" in out.stderr


@needs_tool("arm-none-eabi-gcc")
def test_join_fixture_rebuilds_bit_identical(tmp_path: Path):
    assert_rebuilds_identically(JOIN, tmp_path, ("join.c", "join.ld", "Makefile"), ("join.elf", "join-driver.elf"))


def test_dispatcher_inlined_into_the_handler_is_found_through_dwarf():
    """RP2040 builds inline machine.gpioHandleInterrupt into IO_IRQ_BANK0_IRQHandler: only DWARF's
    inlined-subroutine records say whose indirect call it is."""
    assert code_model(image_mod.load(ELF)).function("machine.gpioHandleInterrupt") is None
    before = _handler(_report(None), "IO_IRQ_BANK0_IRQHandler")
    assert before.status == "unknown"
    report = _report(JOIN)
    h = _handler(report, "IO_IRQ_BANK0_IRQHandler")
    v = next(v for v in h.violations if v.kind == "alloc")
    assert v.chain == ("IO_IRQ_BANK0_IRQHandler", "main.main$1", "runtime.alloc")
    assert report.source is not None
    link = next(link for link in report.source.callbacks if link.compiled == "main.main$1")
    assert {(s.function, s.dispatcher) for s in link.sites} == {
        ("IO_IRQ_BANK0_IRQHandler", "machine.gpioHandleInterrupt"), (DISPATCHER, DISPATCHER)}


def test_a_complete_join_bounds_the_handlers_stack_through_the_callback(tmp_path: Path):
    """The stack bound follows the resolved call: the handler's worst path now runs through
    main.main$1 into runtime.alloc, and with nothing unresolved left the bound is a bound."""
    from gomcu.limits import stack

    image = image_mod.load(ELF)
    before = next(r for r in stack.analyse(image).roots if r.name == EIC[0])
    assert not before.bounded
    source = join_directory(image, str(_source_copy(tmp_path, blank=("machine.D6.SetInterrupt(",))), None)
    after = next(r for r in stack.analyse(image, model=source.resolve(code_model(image))).roots if r.name == EIC[0])
    assert after.bounded
    assert [s.function for s in after.bound.path][:3] == [EIC[0], DISPATCHER, "main.main$1"]
    h = _handler(interrupts.analyse(image, source=source), EIC[0])
    assert h.stack_bounded and h.stack_bytes == after.bound_bytes


def test_a_driver_callback_the_source_does_not_show_keeps_the_call_unresolved(tmp_path: Path):
    """join-driver.elf: a third-party package registers its own pin callback. Its function's address
    is taken in the binary; the source cannot account for it, so nothing is proved complete."""
    image = image_mod.load(JOIN / "join-driver.elf")
    source = join_directory(image, str(_source_copy(tmp_path, blank=("machine.D6.SetInterrupt(",))), None)
    assert source.foreign == ("(*tinygo.org/x/drivers/demo.Device).pinChange$bound",)
    report = interrupts.analyse(image, source=source)
    assert any(f.rule == "irq.source-foreign-callbacks" for f in report.findings)
    h = _handler(report, EIC[0])
    assert [u.function for u in h.unresolved] == [DISPATCHER]
    clean = join_directory(image_mod.load(ELF), str(tmp_path), None)
    assert clean.foreign == ()  # the same source on join.elf: nothing foreign, the join is complete
