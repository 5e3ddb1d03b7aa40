"""`gomcu ld check` and `gomcu ld adapt` end to end on the CubeMX-style and pico-style test
scripts, and the adapted scripts linked by arm-none-eabi-ld."""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gomcu import linker
from gomcu.cli import main
from gomcu.findings import Severity
from gomcu.linker.check import check
from gomcu.linker.requirements import TINYGO
from test_linker_support import (  # noqa: F401 (object_dir is a fixture)
    COMMON,
    FIXTURES,
    REFMW,
    compile_sources,
    differences,
    elf_facts,
    evaluate_case,
    link,
    needs_toolchain,
    object_dir,
    object_symbols,
    refmw_ready,
    script_targets,
)


def _check(name: str, search=(), defsyms=(), chip=None):
    script = linker.load_script(str(FIXTURES / name), list(search))
    layout = linker.evaluate(script, [linker.parse_defsym(d) for d in defsyms])
    return check(script, layout, TINYGO, chip)


def _rules(findings, severity=None):
    return {f.rule for f in findings if severity is None or f.severity is severity}


def test_cubemx_style_fails_with_reasons_and_lines() -> None:
    findings = _check("cubemx_style.ld")
    errors = _rules(findings, Severity.ERROR)
    assert {"ld.region-name", "ld.symbol"} <= errors
    stack = [f for f in findings if f.rule == "ld.stack-placement"]
    assert len(stack) == 1 and stack[0].severity is Severity.WARNING
    assert "_estack" in stack[0].message and "heap" in stack[0].message
    # the finding points at the line that defines _estack
    line = next(i for i, text in enumerate((FIXTURES / "cubemx_style.ld").read_text()
                                           .splitlines(), 1) if text.startswith("_estack"))
    assert stack[0].location.line == line
    missing = {f.message.split()[1] for f in findings if f.rule == "ld.symbol"}
    assert {"_stack_top", "_heap_start", "_heap_end", "_globals_start"} <= missing
    assert "ld.unused-region" in _rules(findings, Severity.INFO)


def test_chip_memory_checks() -> None:
    pytest.importorskip("gomcu.chips")
    from gomcu.chips import find_chip

    # STM32F401: 512 KiB flash, 96 KiB SRAM, no CCM: the script claims more than it has
    findings = _check("cubemx_style.ld", chip=find_chip("stm32f401re"))
    chip_errors = [f for f in findings if f.rule == "ld.chip-memory"]
    names = " ".join(f.message for f in chip_errors)
    assert "FLASH" in names and "RAM" in names and "CCMRAM" in names
    # STM32F407 has all three: no chip-memory error
    assert not [f for f in _check("cubemx_style.ld", chip=find_chip("stm32f407vg"))
                if f.rule == "ld.chip-memory"]


def test_bootloader_offset_is_pointed_out() -> None:
    from gomcu.chips import find_chip

    findings = _check("tinygo_style_chip.ld", (str(COMMON),), ("_stack_size=2048",),
                      chip=find_chip("lm3s6965"))
    boot = [f for f in findings if f.rule == "ld.bootloader"]
    assert boot and "VTOR" in boot[0].message and "0x2000" in boot[0].message


def test_known_board_bootloader_is_named() -> None:
    from gomcu.chips import find_chip

    # SAMD21 boards ship a UF2/SAM-BA bootloader in the first 8 KiB (chip database, boot table)
    findings = _check("tinygo_style_chip.ld", (str(COMMON),), ("_stack_size=2048",),
                      chip=find_chip("feather-m0"))
    boot = [f for f in findings if f.rule == "ld.bootloader"]
    assert [f.severity for f in boot] == [Severity.INFO]
    assert "UF2" in boot[0].message and "feather-m0" in boot[0].message


def test_pico_style_without_inputs_cannot_place_the_vector_table() -> None:
    from gomcu.chips import find_chip

    findings = _check("pico_style.ld", chip=find_chip("rp2040"))
    assert "ld.region-name" in _rules(findings, Severity.ERROR)
    # boot2 is empty without inputs: gomcu says it cannot judge, and does not fail the script
    vectors = [f for f in findings if f.rule == "ld.vector-table"]
    assert [f.severity for f in vectors] == [Severity.INFO]
    assert "boot2" in vectors[0].message and "0x10000100" in vectors[0].message


def _check_linked(name: str, sources: tuple[str, ...], object_dir: Path, chip: str):
    from gomcu.chips import find_chip

    objects = compile_sources(sources, object_dir)
    script = linker.load_script(str(FIXTURES / name))
    layout = evaluate_case(FIXTURES / name, objects, (), ())
    return check(script, layout, TINYGO, find_chip(chip))


@needs_toolchain
def test_rp2040_vector_table_after_boot2(object_dir: Path) -> None:
    # the boot ROM runs the 256-byte boot2 at 0x10000000; boot2 enters the table at 0x10000100
    findings = _check_linked("pico_style.ld", ("startup.c", "app.c", "extra_pico.c"),
                             object_dir, "rp2040")
    vectors = [f for f in findings if f.rule == "ld.vector-table"]
    assert [f.severity for f in vectors] == [Severity.INFO], vectors
    assert "is at 0x10000100" in vectors[0].message
    # without a boot2 the table lands at the flash origin, where the boot ROM expects boot2
    findings = _check_linked("pico_style.ld", ("startup.c", "app.c"), object_dir, "rp2040")
    vectors = [f for f in findings if f.rule == "ld.vector-table"]
    assert [f.severity for f in vectors] == [Severity.ERROR]
    assert "0x10000000, not at 0x10000100" in vectors[0].message


@needs_toolchain
def test_boot2_before_the_vectors_is_an_error_without_a_boot_stage(object_dir: Path) -> None:
    # the same layout on a chip whose core boots from the flash origin
    findings = _check_linked("pico_style.ld", ("startup.c", "app.c", "extra_pico.c"),
                             object_dir, "stm32f407vg")
    assert "ld.vector-table" in _rules(findings, Severity.ERROR)


def test_tinygo_style_passes() -> None:
    findings = _check("tinygo_style_chip.ld", (str(COMMON),), ("_stack_size=4096",))
    assert not _rules(findings, Severity.ERROR)


@pytest.mark.skipif(not refmw_ready(), reason="reference firmware not built")
def test_reference_firmware_scripts() -> None:
    script = linker.load_script(str(REFMW / "refmw-m3.ld"), [str(REFMW)])
    layout = linker.evaluate(script, [], [linker.read_linked(str(REFMW / "build" /
                                                                  "refmw-m3.elf"))], True)
    assert [f for f in check(script, layout, TINYGO) if f.severity is not Severity.INFO] == []
    if (REFMW / "refmw-m3-stack-top.ld").exists():
        script = linker.load_script(str(REFMW / "refmw-m3-stack-top.ld"), [str(REFMW)])
        layout = linker.evaluate(script)
        assert "ld.stack-placement" in _rules(check(script, layout, TINYGO), Severity.WARNING)


def test_cli_check_json_and_exit_status(capsys) -> None:
    status = main(["ld", "check", str(FIXTURES / "cubemx_style.ld"), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert status == 1 and out["status"] == "fail"
    assert any(f["rule"] == "ld.stack-placement" and f["line"] for f in out["findings"])
    status = main(["ld", "check", str(FIXTURES / "tinygo_style_chip.ld"), "-L", str(COMMON),
                   "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert status == 0
    assert any(f["rule"] == "ld.stack-size" for f in out["findings"])


VENDOR = [("cubemx_style.ld", (), ("startup.c", "app.c", "extra_cubemx.c"), "stm32f407vg"),
          ("pico_style.ld", (), ("startup.c", "app.c", "extra_pico.c"), "rp2040")]


@pytest.mark.parametrize("vendor,search,sources,chip", VENDOR, ids=["cubemx", "pico"])
def test_adapted_script_passes_check(vendor, search, sources, chip, tmp_path: Path,
                                     capsys) -> None:
    out = tmp_path / "adapted.ld"
    status = main(["ld", "adapt", str(FIXTURES / vendor), "--runtime", "tinygo", "-o", str(out),
                   "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0
    assert report["target"]["ldflags"] == ["--defsym=_stack_size=2048"]
    assert report["target"]["linkerscript"] == str(out)
    status = main(["ld", "check", str(out), "--chip", chip, "--format", "json"])
    checked = json.loads(capsys.readouterr().out)
    assert status == 0, checked["findings"]
    assert not [f for f in checked["findings"] if f["severity"] != "info"]
    # the vendor's memory map survives, bootloader offset and all
    vendor_layout = linker.evaluate(linker.load_script(str(FIXTURES / vendor)))
    adapted_regions = {r["name"]: (r["origin"], r["length"]) for r in checked["regions"]}
    for r in vendor_layout.regions:
        assert adapted_regions[r.name] == (r.origin, r.length)


@needs_toolchain
@pytest.mark.parametrize("vendor,search,sources,chip", VENDOR, ids=["cubemx", "pico"])
def test_adapted_script_links_fixture_objects(vendor, search, sources, chip, object_dir: Path,
                                              tmp_path: Path) -> None:
    out = tmp_path / "adapted.ld"
    assert main(["ld", "adapt", str(FIXTURES / vendor), "-o", str(out)]) == 0
    objects = compile_sources(("startup.c", "app.c", "extra_tinygo.c"), object_dir)
    (tmp_path / "alias.ld").write_text("_stack_top_ref = _stack_top;\n")
    elf = tmp_path / "fw.elf"
    result = link(out, [*objects, "-T", str(tmp_path / "alias.ld")], elf,
                  defsyms=("_stack_size=4096",))
    assert result.returncode == 0, result.stderr
    # and gomcu lays the adapted script out exactly as ld did
    layout = evaluate_case(out, objects, (), ("_stack_size=4096",))
    parsed = linker.load_script(str(out))
    assert differences(layout, elf_facts(str(elf)), script_targets(parsed),
                       object_symbols(objects)) == []
    facts = elf_facts(str(elf))
    assert facts.symbols["_stack_top"] - 4096 == facts.sections[".stack"][0]


@pytest.mark.skipif(not refmw_ready() or shutil.which("make") is None
                    or shutil.which("arm-none-eabi-gcc") is None,
                    reason="reference firmware, make or arm-none-eabi-gcc missing")
@pytest.mark.parametrize("vendor", ["cubemx_style.ld", "pico_style.ld"])
def test_adapted_script_links_reference_firmware(vendor: str, tmp_path: Path) -> None:
    build = tmp_path / "build"
    made = subprocess.run(["make", "-s", "-C", str(REFMW), f"BUILD={build}",
                           f"{build}/refmw-m3.elf"], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"refmw build failed: {made.stderr[-300:]}")
    out = tmp_path / "adapted.ld"
    assert main(["ld", "adapt", str(FIXTURES / vendor), "-o", str(out)]) == 0
    objects = sorted(glob.glob(str(build / "m3" / "*.o")))
    elf = tmp_path / "refmw.elf"
    result = subprocess.run(
        ["arm-none-eabi-gcc", "-mcpu=cortex-m3", "-mthumb", "-nostdlib", "-Wl,--gc-sections",
         "-Wl,--defsym=_stack_size=2048", "-T", str(out), *objects, "-lgcc", "-o", str(elf)],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    facts = elf_facts(str(elf))
    vendor_layout = linker.evaluate(linker.load_script(str(FIXTURES / vendor)))
    ram = next(r for r in vendor_layout.regions if r.name == "RAM")
    assert facts.sections[".stack"][0] == ram.origin
    assert facts.symbols["_heap_end"] == ram.end
