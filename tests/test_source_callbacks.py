"""gomcu src: interrupt code written the way TinyGo programs write it (tests/fixtures/go/callbacks):
callbacks handed to the machine package's interrupt APIs, in every form, and //export handlers."""

from __future__ import annotations

import json

import pytest

from gomcu.findings import Severity
from gomcu.source import analyse
from gomcu.source.model import Form
from tests.conftest import FIXTURES, run_gomcu
from tests.test_source import _line

CALLBACKS = FIXTURES / "go" / "callbacks"
MAIN = CALLBACKS / "main.go"


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return analyse(CALLBACKS)


def _by_line(report, needle):  # type: ignore[no-untyped-def]
    line = _line(MAIN, needle)
    found = [h for h in report.handlers if h.registration.position.line == line]
    assert len(found) == 1, [(h.registration.handler, h.registration.position.line) for h in report.handlers]
    return found[0]


@pytest.mark.parametrize("needle,handler,how,apis,status,kind,violation_line", [
    ("button.SetInterrupt(", "main.func1", "literal", ("machine.Pin.SetInterrupt",), "violation", "make",
     "buf := make("),
    ("BUTTON_2.SetInterrupt(", "onPress", "function", ("machine.Pin.SetInterrupt",),
     "violation", "append", "log = append("),
    ("BUTTON_3.SetInterrupt(", "counter.tick", "method value", ("machine.Pin.SetInterrupt",), "violation",
     "sync.Mutex.Lock", "mu.Lock()"),
    ("D5.SetInterrupt(", "main.func2", "variable", ("machine.Pin.SetInterrupt",), "proved clean (source)", None, None),
    ("RTC.SetInterrupt(", "(package initialisers).func1", "variable", ("machine.rtcType.SetInterrupt",), "violation",
     "fmt.Println", 'fmt.Println("alarm")'),
    ("CAN0.SetInterrupt(", "main.func4", "literal", ("machine.CAN.SetInterrupt",), "violation", "select",
     "select {"),
    ("machine.EnableCDC(", "onReceive", "function", ("machine.EnableCDC",), "violation", "send", "events <- uint32("),
])
def test_every_callback_form_is_interrupt_code(report, needle, handler, how, apis, status, kind, violation_line):  # type: ignore[no-untyped-def]
    h = _by_line(report, needle)
    reg = h.registration
    assert reg.form is Form.CALLBACK and reg.resolved
    assert (reg.handler, reg.how, h.status) == (handler, how, status)
    assert reg.apis == apis
    if kind is None:
        assert h.violations == ()
        return
    v = next(v for v in h.violations if v.kind == kind)
    assert v.position.line == _line(MAIN, violation_line)
    assert v.chain[0] == handler and v.severity is Severity.ERROR


def test_pin_method_calls_through_a_named_pin_are_known_safe(report):  # type: ignore[no-untyped-def]
    """machine.LED is a Pin by its name (profile value_types); Pin.Set/Get are profile-safe calls."""
    h = _by_line(report, "D5.SetInterrupt(")
    assert h.unresolved == () and h.status == "proved clean (source)"


def test_reassigned_variable_and_nil_are_not_followed(report):  # type: ignore[no-untyped-def]
    h = _by_line(report, "D6.SetInterrupt(")
    assert h.status == "unknown" and not h.registration.resolved
    assert "assigned more than once" in h.unresolved[0].reason
    assert not [r for r in report.package.registrations if r.position.line == _line(MAIN, "D7.SetInterrupt(")]


def test_exported_handler_and_nonblocking_select(report):  # type: ignore[no-untyped-def]
    exports = [h for h in report.handlers if h.registration.form is Form.EXPORT]
    assert [(h.registration.irq, h.registration.handler, h.status) for h in exports] == [
        ("SysTick_Handler", "tick", "proved clean (source)"),  # //export add is not a handler name
        ("TIMER0_IRQHandler", "timer0", "violation")]
    fine = exports[0].fine
    assert [(v.kind, v.position.line) for v in fine] == [("select with default", _line(MAIN, "case events <- 2:") - 1)]
    assert any(f.rule == "source.irq-nonblocking" and f.severity is Severity.INFO for f in report.findings)


def test_tinygo_names_of_callbacks(report):  # type: ignore[no-untyped-def]
    """TinyGo names literals `pkg.fn$N` per enclosing function, package-level ones `pkg.init$N`."""
    names = {f.name: f.compiled_name("main") for f in report.package.functions}
    assert names["main.func1"] == "main.main$1"
    assert names["main.func2"] == "main.main$2"
    assert names["main.func4"] == "main.main$4"
    assert names["(package initialisers).func1"] == "main.init$1"
    assert names["counter.tick"] == "(*main.counter).tick"
    assert names["tick"] == "SysTick_Handler"


def test_cli_reports_the_forms():
    out = run_gomcu("src", str(CALLBACKS), "--format", "json")
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    forms = sorted({h["form"] for h in doc["handlers"]})
    assert forms == ["callback", "export"]
    assert {h["label"] for h in doc["handlers"]} >= {"button.SetInterrupt callback", "//export SysTick_Handler"}


def test_tinygo_names_of_nested_and_method_literals(tmp_path):  # type: ignore[no-untyped-def]
    """Literals are numbered per enclosing function, nested ones under their literal (`f$1$1`), and
    a method's literals carry its receiver as TinyGo writes it (`(*pkg.T).m$1`, `(pkg.T).m$1`)."""
    (tmp_path / "main.go").write_text(
        "package main\n\ntype T struct{}\n\n"
        "func (t *T) run() { go func() { _ = func() {} }() }\n\n"
        "func (t T) peek() { defer func() {}() }\n\n"
        "func main() { f := func() {}; f() }\n")
    names = sorted(f.compiled_name("main") for f in analyse(tmp_path).package.functions)
    assert names == ["(*main.T).run", "(*main.T).run$1", "(*main.T).run$1$1", "(main.T).peek", "(main.T).peek$1",
                     "main.main", "main.main$1"]


def test_recursion_reached_from_interrupt_code(report):  # type: ignore[no-untyped-def]
    h = next(h for h in report.handlers if h.registration.irq == "TIMER0_IRQHandler")
    v = [v for v in h.violations if v.kind == "recursion"]
    assert [(x.chain, x.text, x.severity, x.position.line) for x in v] == [
        (("timer0", "countdown"), "countdown -> countdown", Severity.WARNING, _line(MAIN, "func countdown("))]
    assert any(f.rule == "source.irq-recursion" for f in report.findings)
