"""gomcu src: the Go source layer on small packages written for the purpose (tests/fixtures/go)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gomcu.errors import GomcuError
from gomcu.findings import Severity
from gomcu.source import analyse
from tests.conftest import FIXTURES, run_gomcu

GO = FIXTURES / "go"
VIOLATIONS = GO / "violations"


def _line(path: Path, needle: str) -> int:
    """The 1-based line of the first line containing needle (so the tests follow the fixture)."""
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if needle in text:
            return number
    raise AssertionError(needle)


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return analyse(VIOLATIONS)


def _handler(report, name):  # type: ignore[no-untyped-def]
    return next(h for h in report.handlers if h.registration.handler == name)


MAIN = VIOLATIONS / "main.go"


@pytest.mark.parametrize("handler,kind,category,needle,chain", [
    ("allocating", "make", "alloc", "buf := make(", ("allocating", "record")),
    ("allocating", "append", "alloc", "samples = append(", ("allocating",)),
    ("allocating", "address-of-literal", "alloc", "&Sample{", ("allocating",)),
    ("allocating", "string-concat", "alloc", '"irq " + name', ("allocating",)),
    ("blocking", "send", "block", "events <- 1", ("blocking",)),
    ("blocking", "time.Sleep", "block", "time.Sleep(", ("blocking", "time.Sleep")),
    ("blocking", "go", "go", "go worker(0)", ("blocking",)),
    ("noisy", "defer", "defer", "defer finish()", ("noisy",)),
    ("noisy", "print", "print", 'println("tick")', ("noisy",)),
    ("noisy", "fmt.Println", "alloc", 'fmt.Println("tock")', ("noisy", "fmt.Println")),
])
def test_handler_constructs(report, handler, kind, category, needle, chain):  # type: ignore[no-untyped-def]
    h = _handler(report, handler)
    assert h.status == "violation"
    found = [v for v in h.violations if v.kind == kind]
    assert found, [v.kind for v in h.violations]
    v = found[0]
    assert v.category == category
    assert v.position.line == _line(MAIN, needle)
    assert v.position.column == _line_col(MAIN, needle, kind)
    assert v.chain == chain
    expected = Severity.ERROR if category in ("alloc", "block", "go") else Severity.WARNING
    assert v.severity is expected


def _line_col(path: Path, needle: str, kind: str) -> int:
    text = path.read_text().splitlines()[_line(path, needle) - 1]
    if kind in ("make", "append", "address-of-literal", "string-concat"):
        return text.index(needle.split(" := ")[-1].split(" = ")[-1]) + 1
    return len(text) - len(text.lstrip("\t")) + 1


def test_helper_allocation_has_the_chain(report):  # type: ignore[no-untyped-def]
    h = _handler(report, "allocating")
    assert "record" in h.reachable
    finding = next(f for f in report.findings if f.rule == "source.irq-alloc" and "make" in f.message)
    assert finding.chain == ("allocating", "record")
    assert finding.location is not None and finding.location.function == "record"


def test_unknown_handler_says_which_call(report):  # type: ignore[no-untyped-def]
    h = _handler(report, "indirect")
    assert h.status == "unknown"
    assert [(u.call.callee, u.reason) for u in h.unresolved] == [("callback", "function value")]
    assert any(f.rule == "source.irq-unknown" and "callback" in f.message for f in report.findings)


def test_literal_handler_is_followed(report):  # type: ignore[no-untyped-def]
    h = _handler(report, "main.func1")
    assert h.registration.literal and h.registration.irq == "5"
    assert h.status == "proved clean (source)"


def test_clean_package_is_proved_clean():
    r = analyse(GO / "clean")
    assert [(h.registration.handler, h.status) for h in r.handlers] == [("handleUART", "proved clean (source)")]
    assert set(r.handlers[0].reachable) == {"handleUART", "acknowledge"}
    assert r.mmio_pointers == ()  # a struct of volatile registers is volatile
    assert not [f for f in r.findings if f.severity is not Severity.INFO]


def test_goroutines_and_loop(report):  # type: ignore[no-untyped-def]
    gos = {(g.function, g.target, g.in_loop, g.position.line) for g in report.goroutines}
    assert gos == {("blocking", "worker", False, _line(MAIN, "go worker(0)")),
                   ("main", "worker", True, _line(MAIN, "go worker(i)"))}
    loop = [f for f in report.findings if f.rule == "source.go-in-loop"]
    assert len(loop) == 1 and loop[0].location is not None and loop[0].location.line == _line(MAIN, "go worker(i)")


def test_recursion(report):  # type: ignore[no-untyped-def]
    cycles = {c.functions: c for c in report.recursion}
    assert set(cycles) == {("factorial",), ("ping", "pong")}
    assert [p.line for _, _, p in cycles[("factorial",)].calls] == [_line(MAIN, "n * factorial(")]
    assert {(a, b, p.line) for a, b, p in cycles[("ping", "pong")].calls} == {
        ("ping", "pong", _line(MAIN, "return pong(")), ("pong", "ping", _line(MAIN, "return ping(n)"))}
    assert all(f.severity is Severity.INFO for f in report.findings if f.rule == "source.recursion")


def test_mmio_without_volatile(report):  # type: ignore[no-untyped-def]
    assert [(p.variable, p.type_text, p.position.line) for p in report.mmio_pointers] == [
        ("gpio", "uint32", _line(MAIN, "var gpio = "))]
    assert {(a.write, a.position.line) for a in report.mmio_accesses} == {
        (True, _line(MAIN, "*gpio = 1")), (False, _line(MAIN, "v := *gpio"))}


def test_allocation_in_loop_outside_handlers(report):  # type: ignore[no-untyped-def]
    found = [f for f in report.findings if f.rule == "source.alloc-in-loop"]
    assert [(f.location.function, f.location.line) for f in found if f.location] == [
        ("main", _line(MAIN, "fmt.Sprintf("))]


def test_cli_json_and_exit_codes():
    out = run_gomcu("src", str(VIOLATIONS), "--format", "json")
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    for key in ("package", "files", "handlers", "goroutines", "recursion", "mmio", "findings"):
        assert key in doc
    assert {h["name"]: h["status"] for h in doc["handlers"]}["indirect"] == "unknown"
    assert doc["goroutines"]["count"] == 2
    assert all(f["origin"] == "source" for f in doc["findings"])
    clean = run_gomcu("src", str(GO / "clean"))
    assert clean.returncode == 0, clean.stderr
    assert "proved clean (source)" in clean.stdout and "gomcu irq" in clean.stdout


@pytest.mark.parametrize("make_input", ["missing", "no-go", "broken"])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, make_input: str):
    target = {"missing": tmp_path / "nope", "no-go": tmp_path, "broken": GO / "broken"}[make_input]
    (tmp_path / "main_test.go").write_text("package main\n")
    out = run_gomcu("src", str(target))
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    with pytest.raises(GomcuError):
        analyse(target)


def test_syntax_error_in_one_file_is_a_note(tmp_path: Path):
    (tmp_path / "good.go").write_text((GO / "clean" / "main.go").read_text())
    (tmp_path / "bad.go").write_text("package main\n\nfunc oops() {\n\tx := (1 +\n}\n")
    r = analyse(tmp_path)
    assert any("bad.go:" in n and "syntax error" in n for n in r.notes)
    assert [h.status for h in r.handlers] == ["proved clean (source)"]
