"""Verdicts a CI can trust (issue 18, cases 1-4): no false pass, no false margin.

Each test runs `gomcu check` (or `chips --fits`) on a committed ELF and checks the verdict, the
exit status and the figure the case was about.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, REFMW_BUILD, assert_rebuilds_identically, needs_tool, run_gomcu

EMU = FIXTURES / "emu"
M3 = str(REFMW_BUILD / "refmw-m3.elf")
SMALL = str(REFMW_BUILD / "refmw-m3-small-stack.elf")


def _json(*args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    result = run_gomcu(*args, "--format", "json", timeout=600)
    return result, json.loads(result.stdout)


def _limit(document: dict, name: str) -> dict:
    return next(limit for limit in document["limits"] if limit["limit"] == name)


# -- case 1: a run that crashes or runs away never passes -------------------------------------

def test_fault_in_emulation_fails_the_memory_limit_with_where() -> None:
    result, document = _json("check", "--run", str(EMU / "bad-jump-unmapped.elf"))
    assert result.returncode == 1, result.stderr
    memory = _limit(document, "memory")
    assert memory["status"] == "fail"
    failed = [f for f in memory["findings"] if f["rule"] == "memory.run-failed"]
    assert failed and failed[0]["severity"] == "error" and "faulted" in failed[0]["message"]
    assert failed[0]["location"]["address"] == 0x90000000
    # a run that measured nothing before its fault shows no emulated figure at all (not zero)
    assert not any(f["origin"] == "emulated" for f in memory["figures"])


def _source_line(path: Path, text: str) -> int:
    """The line of `text` in a source file we wrote (the place a finding must point at)."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_one_finding_per_distinct_stop_at_its_place() -> None:
    """The small-stack build overflows in all three runs (stack, GC, latency): one error in the
    memory limit names the three runs, the place (the function that called the panic routine,
    at the line of that call, read off the emulated stack), the chain and the stack it ran on;
    the GC and interrupt limits keep a warning that their figures are partial, not copies."""
    result, document = _json("check", "--run", "--chip", "lm3s6965", SMALL)
    assert result.returncode == 1
    memory, gc, irq = (_limit(document, n) for n in ("memory", "gc", "interrupts"))
    stops = [f for f in memory["findings"] if "goroutine stack overflow" in f["message"]]
    assert [f["rule"] for f in stops] == ["stack.overflow-measured"] and stops[0]["severity"] == "error"
    message, where = stops[0]["message"], stops[0]["location"]
    for run in ("the stack high-water run", "the GC measurement run", "the latency campaign (IRQ 6 injected)"):
        assert message.count(run) == 1, message
    assert "on the stack of main.recurse$gowrapper" in message and "runtime._panic (runtime.c:" in message
    panic_call = _source_line(REFMW_BUILD.parent / "task.c", 'runtime_panic("goroutine stack overflow")')
    assert (where["function"], where["file"], where["line"]) == ("internal/task.Pause", "task.c", panic_call)
    assert not any(f["rule"] == "memory.run-failed" for f in memory["findings"])
    for limit, rule in ((gc, "gc.run"), (irq, "irq.run")):
        assert not any(f["rule"] == f"{rule}-failed" for f in limit["findings"])
        partial = [f for f in limit["findings"] if f["rule"] == f"{rule}-partial"]
        assert len(partial) == 1 and partial[0]["severity"] == "warning" and "memory limit" in partial[0]["message"]


@pytest.mark.parametrize("name", ["bad-forever", "bad-spin-masked", "bad-wfi-deadlock"])
def test_runaway_firmware_is_bad_input(name: str) -> None:
    """A run that stops before the end without measuring anything: one line, exit 2 (DESIGN)."""
    result = run_gomcu("check", "--run", "--max-insns", "100000", str(EMU / f"{name}.elf"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "runs away" in result.stderr
    assert "Traceback" not in result.stderr


def test_early_stop_makes_emulated_figures_partial() -> None:
    """The budget ends the run mid-program: every emulated figure says it is partial and where,
    the GC limit says its figures are partial, and no figure is a zero nothing measured."""
    result, document = _json("check", "--run", "--max-insns", "400000", M3)
    assert result.returncode in (0, 1), result.stderr
    emulated = [f for limit in document["limits"] for f in limit["figures"] if f["origin"] == "emulated"]
    assert emulated, "the run measured something before the budget"
    for figure in emulated:
        assert figure["partial"] and "stopped after 400," in figure["partial"] and "budget" in figure["partial"]
        assert figure["value"], f"{figure['name']}: a zero up to an early stop is not a measurement"
    for limit, rule in (("gc", "gc.run-partial"), ("memory", "memory.run-partial")):
        partial = [f for f in _limit(document, limit)["findings"] if f["rule"] == rule]
        assert len(partial) == 1 and partial[0]["severity"] == "warning", limit
        assert "stopped after 400," in partial[0]["message"] and partial[0]["location"], limit


def test_check_flags_reject_nonsense() -> None:
    for args in (["--max-insns", "0"], ["--max-insns", "-1"], ["--timeout", "0"], ["--timeout", "-1"],
                 ["--timeout", "5000cyc"]):
        result = run_gomcu("check", "--run", *args, M3)
        assert result.returncode == 2 and "error: argument" in result.stderr, args
        assert len(result.stderr.strip().splitlines()) == 1


# -- case 2: a lower bound is never a margin ---------------------------------------------------

def test_smallest_margin_considers_unbounded_roots() -> None:
    """main.recurse$gowrapper's use is only bounded below: its margin is 'at most', and it is the
    smallest (108 B short under the countdown reading), not producer's proved 840 B."""
    _, document = _json("check", SMALL)
    figure = next(f for f in _limit(document, "memory")["figures"] if f["name"].startswith("smallest stack margin"))
    assert "main.recurse$gowrapper" in figure["name"]
    assert figure["qualifier"] == "at most" and figure["value"] == -108


def test_budget_on_an_unprovable_root_fails(tmp_path: Path) -> None:
    budget = tmp_path / "gomcu.toml"
    budget.write_text("[budget]\nstack_margin_bytes = 64\n")
    result, document = _json("check", M3, "--budget", str(budget))
    assert result.returncode == 1
    by_key = {b["key"]: b for b in document["budget"]}
    recurse = by_key["stack_margin_bytes[main.recurse$gowrapper]"]
    assert recurse["exceeded"] and recurse["actual"] is None
    proved = by_key["stack_margin_bytes[main.producer$gowrapper]"]
    assert not proved["exceeded"] and proved["actual"] > 64
    text = run_gomcu("check", M3, "--budget", str(budget)).stdout
    assert "cannot be proved statically" in text


def test_measured_margins_need_a_measurement(tmp_path: Path) -> None:
    """With measured_stack_margins an unprovable root is judged by its stack's emulated high-water
    (and says so); a run that stopped before the goroutine existed leaves it failed."""
    budget = tmp_path / "gomcu.toml"
    budget.write_text("[budget]\nmeasured_stack_margins = true\n[budget.stack_margin]\n"
                      '"main.recurse$gowrapper" = 64\n')
    key = "stack_margin_bytes[main.recurse$gowrapper]"
    _, document = _json("check", M3, "--budget", str(budget), "--max-insns", "3000000")
    recurse = next(b for b in document["budget"] if b["key"] == key)
    assert not recurse["exceeded"] and recurse["actual"] == 1024 - 584
    text = run_gomcu("check", M3, "--budget", str(budget), "--max-insns", "3000000").stdout
    assert "emulated high-water: not proved" in text
    _, early = _json("check", M3, "--budget", str(budget), "--max-insns", "120000")
    recurse = next(b for b in early["budget"] if b["key"] == key)
    assert recurse["exceeded"] and recurse["actual"] is None


# -- case 3: a crash under injection fails ------------------------------------------------------

def test_overflow_under_injection_fails_memory_once_at_the_users_frame() -> None:
    """The overflow only the latency campaign hits is the memory limit's error, placed at the
    user's frame that called into the panic (read off the emulated stack), with the chain in the
    message; the interrupt limit keeps a warning that its figures are partial, not a copy."""
    result, document = _json("check", "--run", M3)
    assert result.returncode == 1
    memory, irq = _limit(document, "memory"), _limit(document, "interrupts")
    overflow = [f for f in memory["findings"] if f["rule"] == "stack.overflow-measured"]
    assert len(overflow) == 1 and overflow[0]["severity"] == "error" and memory["status"] == "fail"
    message, where = overflow[0]["message"], overflow[0]["location"]
    assert "stack overflow" in message and "IRQ 6" in message
    assert where["function"] == "main.producer$gowrapper" and where["file"] == "main.c" and where["line"]
    assert "runtime._panic" in message and "internal/task.Pause" in message
    assert not [f for f in irq["findings"] if f["rule"] == "irq.run-failed"]
    partial = [f for f in irq["findings"] if f["rule"] == "irq.run-partial"]
    assert partial and partial[0]["severity"] == "warning" and "memory limit" in partial[0]["message"]


def test_irq_command_fails_on_the_crash() -> None:
    _, document = _json("irq", "--run", "--inject", "6", M3)
    crashed = [f for f in document["findings"] if f["rule"] == "irq.run-failed"]
    assert crashed and crashed[0]["severity"] == "error"


# -- case 4: one RAM account -------------------------------------------------------------------

def test_fits_counts_goroutine_stacks_like_check() -> None:
    _, fits = _json("chips", "--fits", M3)
    f103 = next(f for f in fits["fits"] if f["chip"] == "STM32F103C8")
    assert not f103["fits"] and fits["goroutine_stack_bytes"] == 4096
    _, document = _json("check", M3, "--chip", "stm32f103c8")
    memory = _limit(document, "memory")
    short = [f for f in memory["findings"] if f["rule"] == "memory.ram-short"]
    assert short and short[0]["severity"] == "error"
    left = next(f for f in memory["figures"] if f["name"] == "heap left for objects on STM32F103C8")
    assert left["value"] == f103["ram_headroom"] < 0
    # where it fits, check's usable heap and --fits' headroom are the same account
    lm3s = next(f for f in fits["fits"] if f["chip"] == "LM3S6965")
    _, document = _json("check", M3, "--chip", "lm3s6965")
    left = next(f for f in _limit(document, "memory")["figures"] if f["name"] == "heap left for objects on LM3S6965")
    assert left["value"] == lm3s["ram_headroom"] > 0


# -- case 9: flags validated at parse time -----------------------------------------------------

@pytest.mark.parametrize("args", [
    ["gc", "--max-insns", "-1", M3], ["run", "--timeout", "0", M3], ["run", "--timeout", "-1", M3],
    ["run", "--inject", "5:0", M3], ["check", "--chip", "", M3], ["check", "--chip", "stm32f10", M3],
    ["irq", "--count", "0", M3], ["irq", "--period", "0", M3], ["size", "--top", "0", M3],
    ["stack", "--stack-size", "0", M3],
])
def test_nonsense_flags_are_usage_errors(args: list[str]) -> None:
    result = run_gomcu(*args)
    assert result.returncode == 2 and "error: argument" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not result.stdout


def test_one_time_convention() -> None:
    """`--inject 6:100us` and `--inject 6:5000cyc` are the same period at the board's 50 MHz."""
    outs = [run_gomcu("run", "--inject", f"6:{p}", "--max-insns", "600000", "--format", "json", M3)
            for p in ("100us", "5000cyc", "5000")]
    counts = [json.loads(o.stdout)["interrupts"]["summary"] for o in outs]
    assert counts[0] == counts[1] == counts[2] and counts[0]


def test_sweep_failure_says_what_failed() -> None:
    result = run_gomcu("gc", "--sweep", "1", "--max-insns", "2000000", M3)
    assert "(None)" not in result.stdout
    assert "fault" in result.stdout or "partial" in result.stdout or "stopped with" in result.stdout


# -- case 10: text a person reads --------------------------------------------------------------

@pytest.mark.parametrize("elf", [M3, SMALL, str(REFMW_BUILD / "refmw-m4f.elf")])
def test_check_text_fits_100_columns(elf: str) -> None:
    result = run_gomcu("check", *(["--chip", "lm3s6965"] if "m4f" not in elf else []), elf)
    lines = result.stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= 100
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("limit ")):lines.index("")]
    assert table[0].split() == ["limit", "verdict", "deciding", "figures"]
    # two deciding figures per analysed limit, each on its own line, no box drawing
    assert not any(ch in result.stdout for ch in "┃│┏")
    assert sum(1 for line in table if line.startswith(("memory model", "garbage", "interrupt", "linker"))) == 4


def test_findings_one_per_line_grouped_by_limit_most_severe_first() -> None:
    text = run_gomcu("check", "--chip", "lm3s6965", M3).stdout
    gc = text[text.index("\ngarbage collection (") + 1:].split("\n\n")[0]
    starts = [line.split()[0] for line in gc.splitlines()[1:] if line.startswith("  ") and not line.startswith("   ")]
    severities = [s for s in starts if s in ("error", "warning", "info")]
    assert severities[0] == "error" and severities == sorted(severities, key=["error", "warning", "info"].index)


def test_units_read_as_english() -> None:
    text = run_gomcu("check", "--all", M3).stdout
    for bad in (" count (", " sites (", " ratio (", " calls ("):
        assert bad not in text
    assert "allocation sites: 4 (static)" in text


def test_run_names_stacks_as_the_static_analysis_does() -> None:
    """`gomcu run` names each goroutine stack by the start function the runtime passed when it
    created it: the names the static analysis gives the goroutine roots, in text and JSON."""
    roots = json.loads(run_gomcu("stack", "--format", "json", M3).stdout)["roots"]
    goroutines = {r["name"] for r in roots if r["kind"] == "goroutine"}
    stacks = json.loads(run_gomcu("run", "--format", "json", M3).stdout)["stacks"]
    assert {s["name"] for s in stacks if s["kind"] == "runtime"} == goroutines
    assert all(s["start"] == s["name"] for s in stacks if s["kind"] == "runtime")
    text = run_gomcu("run", M3).stdout
    assert all(name in text for name in goroutines) and "goroutine0" not in text


def test_emulated_stack_has_the_static_name() -> None:
    _, document = _json("check", "--run", M3)
    fullest = next(f for f in _limit(document, "memory")["figures"] if f["name"].startswith("fullest goroutine"))
    assert "main.recurse$gowrapper" in fullest["name"] and "stack2" not in fullest["name"]


# -- cases 5 and 6: one finding per handler body; recursion while dying is its own category ----

NOISE = FIXTURES / "noise"


def test_one_finding_per_handler_body() -> None:
    _, document = _json("check", "--runtime", "refmw", str(NOISE / "noise.elf"))
    unknown = [f for f in _limit(document, "interrupts")["findings"] if f["rule"] == "irq.unknown-handler"]
    assert len(unknown) == 1, [f["message"] for f in unknown]
    message = unknown[0]["message"]
    assert "3 handlers with one body" in message and "IRQ0, IRQ1, IRQ2" in message
    assert unknown[0]["location"]["function"] == "machine.pinDispatch"


def test_recursion_only_through_panic_is_info() -> None:
    _, document = _json("check", "--runtime", "refmw", str(NOISE / "noise.elf"))
    memory = _limit(document, "memory")
    dying = [f for f in memory["findings"] if f["rule"] == "stack.recursion-while-dying"]
    assert len(dying) == 1 and dying[0]["severity"] == "info" and "runtime._panic" in dying[0]["message"]
    assert not any(f["rule"] == "stack.recursion" for f in memory["findings"])


@needs_tool("arm-none-eabi-gcc")
def test_noise_fixture_rebuilds_bit_identical(tmp_path: Path) -> None:
    assert_rebuilds_identically(NOISE, tmp_path, ("noise.c", "noise.ld", "Makefile"), ("noise.elf",))


# -- case 8: SARIF code scanning can place -----------------------------------------------------

def test_sarif_results_are_relative_and_have_lines(tmp_path: Path) -> None:
    out = tmp_path / "out.sarif"
    run_gomcu("check", M3, "--sarif", str(out), "--src-root", str(REFMW_BUILD.parent))
    results = json.loads(out.read_text())["runs"][0]["results"]
    assert results
    for r in results:
        physical = r["locations"][0]["physicalLocation"]
        if r["ruleId"].startswith(("stack.", "gc.alloc", "irq.")) and r["ruleId"] != "irq.latency":
            assert physical["artifactLocation"]["uri"] in ("main.c", "vectors.c", "runtime.c"), physical
            assert physical["artifactLocation"]["uriBaseId"] == "SRCROOT"
            assert physical["region"]["startLine"] > 0, r["ruleId"]


def test_sarif_paths_under_an_absolute_root_become_relative(tmp_path: Path) -> None:
    from gomcu.findings import Finding, Location, Severity
    from gomcu.report.model import LimitResult, Report
    from gomcu.report.sarif import to_sarif
    from gomcu.findings import Status

    finding = Finding("gc.alloc-in-loop", Severity.WARNING, "m", Location(1, "main.f", "/home/u/repo/cmd/main.go", 7))
    hidden = Finding("stack.recursion", Severity.WARNING, "r", Location(2, "fmt.x", "/opt/go/src/fmt/print.go", 3),
                     in_runtime=True)
    report = Report("fw.elf", "arm", "ARMv7-M", "tinygo", None, None,
                    (LimitResult("gc", Status.WARN, findings=(finding, hidden)),), source_root="/home/u/repo")
    run = to_sarif(report)["runs"][0]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]] == [
        {"uri": "cmd/main.go", "uriBaseId": "SRCROOT"}]
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == "file:///home/u/repo/"
    assert len(to_sarif(report, include_runtime=True)["runs"][0]["results"]) == 2


# -- case 11: the HTML page reads on a laptop --------------------------------------------------

@needs_tool("chromium")
def test_html_has_stacks_table_and_no_sideways_scroll(tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    run_gomcu("check", "--run", M3, "--html", str(html), timeout=600)
    page = html.read_text()
    assert 'id="stack-table"' in page and "584 B of 1024 B" in page and "≤ 404 B" in page
    # measure in a real browser: the page's own width against the window's
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", "<script>document.body.setAttribute('data-overflow', "
                                  "String(document.documentElement.scrollWidth - "
                                  "document.documentElement.clientWidth));</script></body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--window-size=1024,768"]
    dom = subprocess.run(["chromium", *flags, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                          probe.resolve().as_uri()], capture_output=True, text=True, timeout=180)
    assert 'data-overflow="0"' in dom.stdout, dom.stdout[:300]
