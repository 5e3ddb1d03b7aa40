"""`gomcu diff`: pairs of builds that differ in known ways (tests/fixtures/diff/diffprog.c) report
exactly those changes and nothing else; the same ELF twice reports none; delta budgets set the exit
status; builds of different kinds are refused."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, REFMW_BUILD, needs_tool, run_gomcu

DIFF = FIXTURES / "diff"
BASE = str(DIFF / "diff-base.elf")


def diff(new: str, *args: str, base: str = BASE) -> dict[str, Any]:
    done = run_gomcu("diff", base, new, *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def line_of(text: str) -> int:
    return next(i for i, line in enumerate((DIFF / "diffprog.c").read_text().splitlines(), 1) if text in line)


def unchanged(d: dict[str, Any], *keep: str) -> None:
    """Every kind of change other than `keep` is empty."""
    for key in ("groups", "roots", "allocation_sites", "handlers", "recursion_added", "recursion_removed"):
        if key not in keep:
            assert d[key] == [], key
    assert d["gc_kind"][0] == d["gc_kind"][1] and d["unmatched"] == []


def test_the_same_build_twice_changes_nothing() -> None:
    d = diff(BASE)
    assert d["changed"] is False and d["flash"]["delta"] == 0 and d["ram"]["delta"] == 0
    assert d["moved_sections"] == []
    unchanged(d)


def test_new_allocation_in_a_handler() -> None:
    d = diff(str(DIFF / "diff-isr-alloc.elf"))
    unchanged(d, "groups", "roots", "allocation_sites", "handlers")
    [site] = d["allocation_sites"]
    assert site == {**site, "change": "added", "function": "UART1_IRQHandler", "file": "diffprog.c",
                    "line": line_of("ISR_ALLOC();"), "allocator": "runtime.alloc", "in_interrupt": True}
    assert d["new_isr_allocations"] == 1
    [handler] = d["handlers"]
    assert handler["name"] == "UART1_IRQHandler" and (handler["before"], handler["after"]) == ("clean", "violation")
    assert "runtime.alloc" in handler["why"]
    [root] = d["roots"]
    assert root["name"] == "UART1_IRQHandler" and root["bound"][1] > root["bound"][0]


def test_deeper_call_chain() -> None:
    d = diff(str(DIFF / "diff-deeper.elf"))
    unchanged(d, "groups", "roots")
    [root] = d["roots"]
    assert root["name"] == "main.producer$gowrapper" and root["bounded"] == [True, True]
    increase = root["bound"][1] - root["bound"][0]
    assert increase > 0 and d["max_stack_increase_bytes"] == increase
    assert root["margin"][0] - root["margin"][1] == increase  # same allotment, margin shrinks as much
    assert [g["name"] for g in d["groups"]] == ["main"]


def test_a_package_that_grew() -> None:
    d = diff(str(DIFF / "diff-grew.elf"))
    unchanged(d, "groups")
    assert d["groups"] == [{"name": "main", "before": d["groups"][0]["before"],
                            "after": d["groups"][0]["before"] + (1024 - 64) * 4, "delta": (1024 - 64) * 4}]
    assert d["flash"]["delta"] == (1024 - 64) * 4 and d["ram"]["delta"] == 0


def test_a_goroutine_added() -> None:
    d = diff(str(DIFF / "diff-goroutine.elf"))
    unchanged(d, "groups", "roots")
    [root] = d["roots"]
    assert root["name"] == "main.worker$gowrapper" and root["stack"] == "goroutine"
    assert root["bound"][0] is None and root["bound"][1] > 0 and root["allotted"] == [None, 1024]


def test_delta_budgets_set_the_exit_status(tmp_path: Path) -> None:
    budget = tmp_path / "gomcu.toml"
    budget.write_text("[budget]\nmax_flash_increase_bytes = 1024\nnew_isr_allocations = 0\n"
                      "max_stack_increase_bytes = 64\n")
    grew = run_gomcu("diff", BASE, str(DIFF / "diff-grew.elf"), "--budget", str(budget))
    assert grew.returncode == 1 and "max_flash_increase_bytes: 3840 bytes (over budget" in grew.stdout
    isr = run_gomcu("diff", BASE, str(DIFF / "diff-isr-alloc.elf"), "--budget", str(budget))
    assert isr.returncode == 1 and "new_isr_allocations: 1 sites (over budget" in isr.stdout
    deeper = run_gomcu("diff", BASE, str(DIFF / "diff-deeper.elf"), "--budget", str(budget))
    assert deeper.returncode == 0, deeper.stdout
    # check ignores delta budgets (they describe a change, not a build)
    check = run_gomcu("check", BASE, "--budget", str(budget))
    assert "max_flash_increase_bytes" not in check.stdout


def test_markdown_comment_starts_with_the_summary() -> None:
    done = run_gomcu("diff", BASE, str(DIFF / "diff-isr-alloc.elf"), "--format", "markdown")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == "### gomcu diff" and "| --- | --- | --- |" in lines
    assert "<details><summary>allocation sites (1)</summary>" in done.stdout
    assert "clean → violation" in done.stdout


def test_stripped_builds_compare_what_they_can() -> None:
    # gcfx-stripped.elf is gcfx-leaking.elf without its symbol table (tests/fixtures/gc/Makefile)
    d = diff(str(FIXTURES / "gc" / "gcfx-stripped.elf"), base=str(FIXTURES / "gc" / "gcfx-leaking.elf"))
    assert d["unmatched"] and "no symbol table" in d["unmatched"][0]
    assert d["roots"] == [] and d["allocation_sites"] == []
    assert d["flash"]["delta"] == 0


@pytest.mark.parametrize("base,new,message", [
    (BASE, str(REFMW_BUILD / "refmw-rv32.elf"), "for one architecture"),
    (BASE, str(FIXTURES / "elf" / "mini-m4f.elf"), "one runtime"),
    (BASE, "/no/such.elf", "no such firmware file"),
    (BASE, str(DIFF / "diffprog.c"), "diffprog.c"),
])
def test_builds_of_different_kinds_are_refused(base: str, new: str, message: str) -> None:
    done = run_gomcu("diff", base, new)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


@needs_tool("arm-none-eabi-gcc")
def test_fixtures_rebuild_bit_identically(tmp_path: Path) -> None:
    work = tmp_path / "tests" / "fixtures" / "diff"
    shutil.copytree(DIFF, work)
    shutil.copytree(REFMW_BUILD.parent, tmp_path / "examples" / "refmw",
                    ignore=shutil.ignore_patterns("build", "expected"))
    for elf in work.glob("*.elf"):
        elf.unlink()
    subprocess.run(["make", "-s", "-C", str(work)], check=True, capture_output=True)
    for elf in sorted(DIFF.glob("*.elf")):
        assert (work / elf.name).read_bytes() == elf.read_bytes(), elf.name


def test_an_unbounded_root_is_never_a_proved_increase(tmp_path: Path) -> None:
    # refmw-m3 -> refmw-m3-small-stack: the recursing goroutine's stack is halved; its bound is only
    # a lower bound (recursion), so its margin is an upper one and no increase can be proved.
    small = str(REFMW_BUILD / "refmw-m3-small-stack.elf")
    d = diff(small, base=str(REFMW_BUILD / "refmw-m3.elf"))
    root = next(r for r in d["roots"] if r["name"] == "main.recurse$gowrapper")
    assert root["bounded"] == [False, False] and root["allotted"] == [1024, 512]
    assert d["max_stack_increase_bytes"] is None and d["unprovable_roots"] == ["main.recurse$gowrapper"]
    text = run_gomcu("diff", str(REFMW_BUILD / "refmw-m3.elf"), small).stdout
    assert "margin ≤" in text and "cannot be proved" in text
    budget = tmp_path / "gomcu.toml"
    budget.write_text("[budget]\nmax_stack_increase_bytes = 100000\n")
    done = run_gomcu("diff", str(REFMW_BUILD / "refmw-m3.elf"), small, "--budget", str(budget))
    assert done.returncode == 1 and "cannot be proved statically" in done.stdout
