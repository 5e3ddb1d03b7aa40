"""Worst-case stacks of the reference firmware against its known truths (examples/README.md)."""

from __future__ import annotations

import json

import pytest

from conftest import REFMW_BUILD, run_gomcu
from gomcu import image
from gomcu.code import RootKind, model
from gomcu.findings import Status
from gomcu.limits.stack import analyse

pytestmark = pytest.mark.skipif(not (REFMW_BUILD / "refmw-m3.elf").exists(), reason="reference firmware not built")


def elf(variant: str):
    return REFMW_BUILD / f"refmw-{variant}.elf"


def test_roots_of_the_reference_firmware() -> None:
    code = model(image.load(elf("m3")))
    roots = {r.name: r for r in code.roots}
    assert roots["Reset_Handler"].kind is RootKind.RESET
    assert roots["SysTick_Handler"].vectors == (15,)
    assert roots["PendSV_Handler"].vectors == (14,)
    assert roots["UART1_IRQHandler"].irqs == (6,)
    assert roots["GPIOPortA_IRQHandler"].irqs == (0,)
    # goroutines with their slots in internal/task.stackSizes
    assert (roots["runtime.run$1"].stack_slot, roots["runtime.run$1"].stack_size) == (0, 2048)
    assert (roots["main.producer$gowrapper"].stack_slot, roots["main.producer$gowrapper"].stack_size) == (1, 1024)
    assert (roots["main.recurse$gowrapper"].stack_slot, roots["main.recurse$gowrapper"].stack_size) == (2, 1024)
    fpu = {r.name: r for r in model(image.load(elf("m4f"))).roots}["main.fpu$gowrapper"]
    assert (fpu.stack_slot, fpu.stack_size) == (3, 1024)
    # the only indirect call is tinygo_startTask's blx r4
    assert [c.caller for c in code.unresolved_calls] == ["tinygo_startTask"]


@pytest.mark.parametrize("variant", ["m3", "m4f", "rv32", "m3-small-stack"])
def test_each_bound_is_its_worst_path(variant: str) -> None:
    """By hand: a bound is the sum of call-site depths along its path plus the last frame."""
    report = analyse(image.load(elf(variant)))
    code = model(image.load(elf(variant)))
    for rs in report.roots:
        path = rs.bound.path
        last = path[-1]
        assert rs.bound.bytes >= last.entry_depth + (last.frame_bytes or 0)
        for step in path:  # each step's frame fits in what the caller has pushed + its own frame
            fn = code.function(step.function)
            assert fn is not None and step.entry_depth + fn.frame.bytes <= rs.bound.bytes
        assert rs.bound_bytes == rs.bound.bytes + sum(c.bytes for c in rs.added if not c.what.startswith("exit path")) \
            or rs.bound.bytes < rs.bound_bytes


def test_handler_bounds_carry_the_exception_frame() -> None:
    m3 = {r.name: r for r in analyse(image.load(elf("m3"))).roots}
    su_uart1 = 16  # .su: UART1_IRQHandler
    assert m3["UART1_IRQHandler"].bound.path[0].frame_bytes == su_uart1
    assert m3["PendSV_Handler"].bound_bytes == 0 + 32
    m4f = {r.name: r for r in analyse(image.load(elf("m4f"))).roots}
    assert m4f["PendSV_Handler"].bound_bytes == 104  # FP context on the FPU core


def test_recursion_depth_matches_the_truths() -> None:
    """README: floor((S - 8 - 4 canary - 32 exception frame) / 24): 40 for 1024, 19 for 512."""
    for variant, depth, usable in (("m3", 40, 1024 - 36), ("m3-small-stack", 19, 512 - 36)):
        report = analyse(image.load(elf(variant)))
        rec = {x.cycle.functions: x for x in report.recursion}[("main.recurse",)]
        assert rec.cycle.bytes_per_iteration == 24
        assert rec.root == "main.recurse$gowrapper"
        assert rec.entry_depth == 8
        assert rec.stack_bytes == usable
        assert rec.max_depth == depth == (usable - 8) // 24
        assert rec.entry_argument == 23 and rec.implied_depth == 24


def test_small_stack_variant_is_under_allocated() -> None:
    report = analyse(image.load(elf("m3-small-stack")))
    assert report.verdict.status is Status.FAIL
    recurse = {r.name: r for r in report.roots}["main.recurse$gowrapper"]
    assert recurse.status is Status.FAIL and recurse.allotted_bytes == 512 and not recurse.bounded
    errors = [f for f in report.findings if f.rule == "stack.under-allocated"]
    assert len(errors) == 1 and "main.recurse$gowrapper" in errors[0].message
    # README: 584 + 4 canary needed at 24 levels, + the 32-byte exception frame
    assert {x.cycle.functions: x for x in report.recursion}[("main.recurse",)].implied_bytes == 584 + 4 + 32
    ok = analyse(image.load(elf("m3")))
    assert ok.verdict.status is not Status.FAIL


def test_system_stack_nests_by_the_levels_main_c_sets() -> None:
    """main.c sets GPIOPortA 0x40, UART1 0x80, SysTick 0xC0 and PendSV 0xFF (group 0xFE under
    PRIGROUP 0) with constant stores; every other vector keeps 0. A chain of nested handlers holds
    one per level: the bound is the reset path plus the deepest handler of each level."""
    report = analyse(image.load(elf("m3")))
    system = report.system
    assert system is not None and system.allotted_bytes == 2048 and system.origin == "static"
    handlers = {r.name: r for r in report.roots if r.root.kind in (RootKind.EXCEPTION, RootKind.IRQ)}
    reset = next(r for r in report.roots if r.root.kind is RootKind.RESET)
    levels = {x.level: x.handler for x in system.levels}
    assert {0x40: "GPIOPortA_IRQHandler", 0x80: "UART1_IRQHandler", 0xC0: "SysTick_Handler",
            0xFE: "PendSV_Handler"}.items() <= levels.items()
    assert levels[-2] == levels[-1] == levels[0] == "Default_Handler"  # NMI, HardFault and the rest
    assert system.bound_bytes == reset.bound_bytes + sum(handlers[n].bound_bytes for n in levels.values())
    assert system.all_nest_bytes == reset.bound_bytes + sum(h.bound_bytes for h in handlers.values())
    assert not system.unplaced and "levels known for 5 of 5 handlers" in system.assumption


def test_cli_json_and_exit_status() -> None:
    done = run_gomcu("stack", "--format", "json", str(elf("m3")))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert {"roots", "recursion", "unresolved_calls", "functions"} <= doc.keys()
    root = doc["roots"][0]
    assert {"name", "kind", "bound_bytes", "bounded", "allotted_bytes", "path"} <= root.keys()
    assert {"functions", "bytes_per_iteration", "max_depth"} <= doc["recursion"][0].keys()
    fn = doc["functions"][0]
    assert {"name", "address", "frame_bytes", "callees"} <= fn.keys()
    assert run_gomcu("stack", str(elf("m3-small-stack"))).returncode == 1
    one = run_gomcu("stack", "--root", "main.recurse$gowrapper", "--stack-size", "4096", "--format", "json", str(elf("m3")))
    roots = json.loads(one.stdout)["roots"]
    assert [r["name"] for r in roots] == ["main.recurse$gowrapper"] and roots[0]["allotted_bytes"] == 4096
    bad = run_gomcu("stack", "--root", "no.such", str(elf("m3")))
    assert bad.returncode == 2 and "no.such" in bad.stderr and "Traceback" not in bad.stderr
