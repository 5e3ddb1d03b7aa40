"""`gomcu stack --tinygo-stacks`: TinyGo's -print-stacks figures beside gomcu's bounds."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES, REFMW_BUILD, run_gomcu

from gomcu import image as image_mod
from gomcu.errors import GomcuError
from gomcu.limits import stack
from gomcu.limits.stack_tinygo import compare, parse_print_stacks, read_print_stacks

TINYGOZ = FIXTURES / "tinygoz"


def test_parse_keeps_figures_and_reasons_and_skips_other_output():
    text = "building...\nfunction                         stack usage (in bytes)\n" \
           "Reset_Handler                    316\nmain.f                           recursive, main.f may call itself\n" \
           "\n   text\t   data\t    bss\n"
    figures = parse_print_stacks(text, "x")
    assert [(f.function, f.bytes, f.reason) for f in figures] == [
        ("Reset_Handler", 316, None), ("main.f", None, "recursive, main.f may call itself")]
    with pytest.raises(GomcuError):
        parse_print_stacks("not it\n", "x")


def test_figures_are_compared_with_the_call_graph_depth():
    report = stack.analyse(image_mod.load(TINYGOZ / "tinygoz.elf"))
    check = compare(report, read_print_stacks(str(TINYGOZ / "tinygoz.print-stacks")))
    by_root = {c.root: c for c in check.comparisons}
    assert set(by_root) == {"Reset_Handler", "runtime.run$1$gowrapper", "main.sender$gowrapper",
                            "main.worker$gowrapper", "main.idle$gowrapper"}
    worker = by_root["main.worker$gowrapper"]
    rs = next(r for r in report.roots if r.name == "main.worker$gowrapper")
    assert worker.call_graph_bytes == rs.bound.bytes and worker.tinygo.bytes < rs.bound.bytes
    assert worker.below_bound and worker.allotted_bytes == rs.allotted_bytes
    flagged = {c.root for c in check.comparisons if c.below_bound}
    assert flagged == {"main.worker$gowrapper"}  # the others equal gomcu's call-graph depth or have no figure
    assert [f.rule for f in check.findings] == ["stack.tinygo-below-bound"]
    assert [f.function for f in check.unmatched] == ["main.gone"]


def test_recursion_tinygo_missed_is_flagged(tmp_path):
    """TinyGo cannot see a function calling itself inside its own section: a figure for a
    goroutine gomcu finds recursion under is flagged."""
    report = stack.analyse(image_mod.load(REFMW_BUILD / "refmw-m3.elf"))
    recursive = next(r for r in report.roots if r.bound.cycles and r.name.endswith("$gowrapper"))
    text = "function  stack usage (in bytes)\n" f"{recursive.name.removesuffix('$gowrapper')}  104\n"
    check = compare(report, parse_print_stacks(text, "t"))
    (c,) = check.comparisons
    assert c.root == recursive.name and c.missed_recursion
    assert "stack.tinygo-missed-recursion" in {f.rule for f in check.findings}


def test_cli_json_and_bad_input(tmp_path):
    elf = str(TINYGOZ / "tinygoz.elf")
    result = run_gomcu("stack", elf, "--tinygo-stacks", str(TINYGOZ / "tinygoz.print-stacks"), "--format", "json")
    data = json.loads(result.stdout)
    rows = {r["root"]: r for r in data["tinygo_print_stacks"]["roots"]}
    assert rows["main.worker$gowrapper"]["tinygo_below_bound"] is True
    assert rows["main.sender$gowrapper"]["tinygo_bytes"] is None
    bad = tmp_path / "bad.txt"
    bad.write_text("nothing here\n")
    for path in (str(bad), str(tmp_path / "missing.txt")):
        result = run_gomcu("stack", elf, "--tinygo-stacks", path)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
