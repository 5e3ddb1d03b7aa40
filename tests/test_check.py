"""`gomcu check`: verdicts, the three report formats and budgets, on the reference firmware."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from conftest import REFMW_BUILD, ROOT, needs_tool, run_gomcu

M3 = str(REFMW_BUILD / "refmw-m3.elf")
SARIF_SCHEMA = ROOT / ".cache" / "sarif-2.1.0.json"


def _check(*args: str) -> subprocess.CompletedProcess[str]:
    return run_gomcu("check", *args, timeout=600)


def test_json_report_validates_against_published_schema() -> None:
    result = _check(M3, "--chip", "lm3s6965", "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(result.stdout)
    schema = json.loads(run_gomcu("schema").stdout)
    jsonschema.validate(document, schema)
    assert document["chip"] == "LM3S6965"
    memory = next(limit for limit in document["limits"] if limit["limit"] == "memory")
    assert {"name": "flash", "value": memory["details"]["flash_bytes"], "unit": "bytes", "origin": "static",
            "qualifier": None, "partial": None, "deciding": False} in memory["figures"]


def test_errors_inside_json_and_one_line_on_stderr(tmp_path: Path) -> None:
    result = _check(str(tmp_path / "missing.elf"), "--format", "json")
    assert result.returncode == 2
    document = json.loads(result.stdout)
    jsonschema.validate(document, json.loads(run_gomcu("schema").stdout))
    assert "no such file" in document["error"]
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--html", "/nonexistent-dir/report.html"], "cannot write report"),
        (["--chip", "rp2040"], "cannot run this firmware"),
        (["--chip", "nosuchchip"], "unknown chip"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], message: str) -> None:
    result = _check(M3, *args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_budget_gates_the_exit_status(tmp_path: Path) -> None:
    tight = tmp_path / "tight.toml"
    tight.write_text("[budget]\nflash_bytes = 1000\n")
    result = _check(M3, "--budget", str(tight))
    assert result.returncode == 1
    assert "flash_bytes" in result.stdout and "over budget" in result.stdout
    roomy = tmp_path / "roomy.toml"
    roomy.write_text("[budget]\nflash_bytes = 200000\n")
    result = _check(M3, "--budget", str(roomy), "--format", "json")
    document = json.loads(result.stdout)
    assert [b["exceeded"] for b in document["budget"]] == [False]


def test_budget_with_unknown_key_names_key_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[budget]\nflash_bytes = 1\nflsh = 2\n")
    result = _check(M3, "--budget", str(bad))
    assert result.returncode == 2
    assert f"{bad}:3: budget.flsh: unknown key" in result.stderr


@pytest.mark.skipif(not SARIF_SCHEMA.exists(), reason="SARIF schema not downloaded (.ci/run fetches it)")
def test_sarif_validates_against_2_1_0_schema(tmp_path: Path) -> None:
    out = tmp_path / "out.sarif"
    result = _check(M3, "--chip", "lm3s6965", "--sarif", str(out))
    assert result.returncode in (0, 1), result.stderr
    document = json.loads(out.read_text())
    jsonschema.validate(document, json.loads(SARIF_SCHEMA.read_text()))
    assert document["version"] == "2.1.0"
    results = document["runs"][0]["results"]
    alloc = next(r for r in results if r["ruleId"] == "irq.alloc-in-handler")
    location = alloc["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].endswith("main.c") and location["region"]["startLine"] == 190
    assert any(r["ruleId"] == "stack.recursion" for r in results)


CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@needs_tool("chromium")
def test_html_report_in_a_real_browser(tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    result = _check(M3, "--chip", "lm3s6965", "--html", str(html))
    assert result.returncode in (0, 1), result.stderr
    url = html.resolve().as_uri()
    dom = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile1'}", "--enable-logging=stderr",
         "--v=0", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    page = dom.stdout.replace("<wbr>", "")  # break opportunities inside long names
    assert "<svg" in page and 'class="plot"' in page, "the plots are in the rendered page"
    assert 'id="verdicts"' in page
    assert 'id="allocation-sites"' in page and "main.c:190" in page
    assert 'id="interrupt-handlers"' in page and "UART1_IRQHandler" in page
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], f"console messages: {console}"
    shot = tmp_path / "report.png"
    subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", f"--screenshot={shot}",
         "--window-size=1200,1600", url],
        capture_output=True, timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 10_000


def test_html_escapes_user_strings(tmp_path: Path) -> None:
    """A firmware path with markup in it must come out as text."""
    evil = tmp_path / "<script>alert(1)<" / "fw.elf"
    evil.parent.mkdir()
    shutil.copy(M3, evil)
    html = tmp_path / "r.html"
    result = _check(str(evil), "--html", str(html))
    assert result.returncode in (0, 1), result.stderr
    text = html.read_text()
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text


def test_init_writes_a_budget_that_check_accepts(tmp_path: Path) -> None:
    out = tmp_path / "gomcu.toml"
    result = run_gomcu("init", M3, "--chip", "lm3s6965", "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert 'chip = "lm3s6965"' in text and "flash_bytes =" in text
    result = _check(M3, "--budget", str(out), "--format", "json")
    document = json.loads(result.stdout)
    assert document["chip"] == "LM3S6965", "the budget's [check] chip is used"
    assert document["budget"] and not any(b["exceeded"] for b in document["budget"])
    again = run_gomcu("init", M3, "-o", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_small_stack_variant_fails_the_memory_limit_with_a_fix() -> None:
    result = _check(str(REFMW_BUILD / "refmw-m3-small-stack.elf"), "--chip", "lm3s6965", "--format", "json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    memory = next(limit for limit in document["limits"] if limit["limit"] == "memory")
    assert memory["status"] == "fail"
    assert any("main.recurse$gowrapper" in s and "-stack-size=" in s for s in memory["suggestions"])
    assert document["overall"] == "fail"


def test_stack_at_top_of_ram_fails_the_linker_limit() -> None:
    refmw = REFMW_BUILD.parent
    result = _check(str(REFMW_BUILD / "refmw-m3-stack-top.elf"), "--chip", "lm3s6965",
                    "--ld", str(refmw / "refmw-m3-stack-top.ld"), "-L", str(refmw), "--format", "json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    linker = next(limit for limit in document["limits"] if limit["limit"] == "linker")
    assert linker["status"] == "fail"
    assert any("top of RAM" in f["message"] for f in linker["findings"])
    assert any("gomcu ld adapt" in s for s in linker["suggestions"])
    good = _check(M3, "--chip", "lm3s6965", "--ld", str(refmw / "refmw-m3.ld"), "-L", str(refmw), "--format", "json")
    linker = next(limit for limit in json.loads(good.stdout)["limits"] if limit["limit"] == "linker")
    assert linker["status"] == "pass", linker["findings"]


def test_without_a_script_the_linker_limit_is_not_analysed() -> None:
    document = json.loads(_check(M3, "--format", "json").stdout)
    linker = next(limit for limit in document["limits"] if limit["limit"] == "linker")
    assert linker["skipped"] and linker["status"] == "unknown"


def test_measured_budgets_run_the_emulator(tmp_path: Path) -> None:
    """A budget on GC pauses and latency makes check measure; the figures are emulated and gate the exit."""
    budget = tmp_path / "gomcu.toml"
    budget.write_text('[check]\nchip = "lm3s6965"\n\n[budget]\ngc_pause_us = 100\nirq_latency_us = 1000000\n')
    result = _check(M3, "--budget", str(budget), "--format", "json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    by_key = {b["key"]: b for b in document["budget"]}
    assert by_key["gc_pause_us"]["exceeded"] and by_key["gc_pause_us"]["actual"] > 100
    assert not by_key["irq_latency_us"]["exceeded"] and by_key["irq_latency_us"]["actual"] is not None
    gc = next(limit for limit in document["limits"] if limit["limit"] == "gc")
    assert any(f["origin"] == "emulated" for f in gc["figures"])
    assert document["plots"]["gc_pauses_us"], "pause samples for the histogram"


def test_reference_firmware_verdicts() -> None:
    """The allocating handler fails both the GC and the interrupt limit, at its source line."""
    document = json.loads(_check(M3, "--chip", "lm3s6965", "--format", "json").stdout)
    status = {limit["limit"]: limit["status"] for limit in document["limits"]}
    assert status["gc"] == "fail" and status["interrupts"] == "fail"
    irq = next(limit for limit in document["limits"] if limit["limit"] == "interrupts")
    alloc = next(f for f in irq["findings"] if f["rule"] == "irq.alloc-in-handler")
    assert alloc["location"]["file"].endswith("main.c") and alloc["location"]["line"] == 190
    assert alloc["chain"][0] == "UART1_IRQHandler" and alloc["chain"][-1] == "runtime.alloc"


def test_run_puts_measured_high_water_beside_the_bounds() -> None:
    """The small-stack variant: the static under-allocation finding and the emulator's overflow agree."""
    result = _check(str(REFMW_BUILD / "refmw-m3-small-stack.elf"), "--chip", "lm3s6965", "--run", "--format", "json")
    assert result.returncode == 1
    memory = json.loads(result.stdout)["limits"][0]
    origins = {f["name"]: f["origin"] for f in memory["figures"]}
    assert origins["system stack high-water"] == "emulated" and origins["flash"] == "static"
    rules = {f["rule"] for f in memory["findings"]}
    assert {"stack.under-allocated", "stack.overflow-measured"} <= rules
    assert "stack.bound-below-measurement" not in rules


def test_init_with_run_budgets_measured_figures(tmp_path: Path) -> None:
    out = tmp_path / "gomcu.toml"
    result = run_gomcu("init", M3, "--chip", "lm3s6965", "--run", "-o", str(out))
    assert result.returncode == 0, result.stderr
    from gomcu.budget import load_budget

    budget = load_budget(out)
    assert budget.limits["gc_pause_us"] > 0 and budget.limits["irq_latency_us"] > 0
    document = json.loads(_check(M3, "--budget", str(out), "--format", "json").stdout)
    by_key = {b["key"]: b for b in document["budget"]}
    assert not by_key["gc_pause_us"]["exceeded"] and by_key["gc_pause_us"]["actual"] is not None


