"""GNU ld is the oracle: every test script, linked by arm-none-eabi-ld, must come out of
gomcu's evaluator with the same output sections (VMA, LMA, size) and symbol values."""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gomcu.linker import load_script
from gomcu.report.linker import map_lines
from test_linker_support import (  # noqa: F401 (object_dir is a fixture)
    CASES,
    FIXTURES,
    REFMW,
    compile_sources,
    differences,
    elf_facts,
    evaluate_case,
    link,
    mid_section_symbols,
    needs_toolchain,
    object_dir,
    object_symbols,
    refmw_ready,
    script_targets,
)

pytestmark = needs_toolchain


@pytest.mark.parametrize("case", CASES, ids=[f"{c.id}{'-' + '-'.join(c.defsyms) if c.defsyms else ''}"
                                              for c in CASES])
def test_objects_layout_equals_gnu_ld(case, object_dir: Path, tmp_path: Path) -> None:
    objects = compile_sources(case.sources, object_dir)
    elf = tmp_path / "out.elf"
    result = link(FIXTURES / case.script, objects, elf, case.search, case.defsyms)
    assert result.returncode == 0, result.stderr
    layout = evaluate_case(FIXTURES / case.script, objects, case.search, case.defsyms)
    parsed = load_script(str(FIXTURES / case.script), list(case.search))
    targets = script_targets(parsed)
    assert differences(layout, elf_facts(str(elf)), targets, object_symbols(objects)) == []
    assert layout.problems == ()
    assert all(a.passed for a in layout.asserts)
    # orphans (input sections no description takes) are placed by ld's orphan rules
    placed = {(p.file, p.section) for s in layout.sections for p in s.inputs}
    assert [o.name for o in layout.orphans if (o.file, o.name) not in placed] == []
    if case.script == "orphans.ld":
        assert {o.name for o in layout.orphans} == {
            ".text.orphan_fn", ".ARM.exidx.text.orphan_fn", ".rodata.orphan", ".data.orphan",
            ".bss.orphan", ".noinit", "COMMON", ".ARM.attributes"}
    # the layout did place something: a test that cannot fail is no test
    assert any(s.size for s in layout.sections if not s.discarded)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.id}{'-' + '-'.join(c.defsyms) if c.defsyms else ''}"
                                              for c in CASES])
def test_linked_elf_layout_equals_gnu_ld(case, object_dir: Path, tmp_path: Path) -> None:
    """--elf: output-section sizes from the linked firmware stand in for the inputs."""
    objects = compile_sources(case.sources, object_dir)
    elf = tmp_path / "out.elf"
    assert link(FIXTURES / case.script, objects, elf, case.search, case.defsyms).returncode == 0
    layout = evaluate_case(FIXTURES / case.script, objects, case.search, case.defsyms,
                           elf=str(elf))
    parsed = load_script(str(FIXTURES / case.script), list(case.search))
    facts = elf_facts(str(elf))
    approximate = mid_section_symbols(parsed)
    if case.script == "orphans.ld":
        # the COMMON ld appends after _ebss is part of .bss's size in the linked file
        approximate.add("_ebss")
    for name in approximate:
        facts.symbols.pop(name, None)
    targets = script_targets(parsed) - approximate
    problems = differences(layout, facts, targets, object_symbols(objects))
    assert problems == []


def test_undeclared_region_warns_as_ld_does(object_dir: Path, tmp_path: Path) -> None:
    objects = compile_sources(("rules.S",), object_dir)
    result = link(FIXTURES / "missing_region.ld", objects, tmp_path / "o.elf")
    assert result.returncode == 0, result.stderr
    ld_warnings = {line.split("warning: ", 1)[1] for line in result.stderr.splitlines()
                   if "warning: " in line and "entry symbol" not in line}
    layout = evaluate_case(FIXTURES / "missing_region.ld", objects, (), ())
    assert {w.message for w in layout.warnings} == ld_warnings == {
        "memory region `CCMRAM' not declared"}
    ccm = layout.section(".ccmram")
    assert ccm is not None and ccm.vma == 0 and ccm.size == 4


def _map_entries(text: str) -> tuple[list[str], list[str]]:
    """Memory-configuration lines, and the output/input section lines of non-zero size, of a
    map in ld's -Map shape (a long name's entry, split over two lines, is joined)."""
    lines = text.splitlines()
    start = lines.index("Memory Configuration")
    end = lines.index("Linker script and memory map")
    regions = [line for line in lines[start + 3:end] if line.strip()]
    joined: list[str] = []
    for line in lines[end + 1:]:
        if joined and line.startswith(" " * 16 + "0x") and " " not in joined[-1].strip():
            joined[-1] = joined[-1] + "\n" + line
        else:
            joined.append(line)
    # (ld merges the inputs' .ARM.attributes into one synthesised section: not a layout fact)
    sections = [line for line in joined if re.match(r"^( ?\.| COMMON)\S*\s+0x", line)
                and not re.search(r"0x[0-9a-f]+ +0x0( |$)", line)
                and not line.lstrip().startswith(".ARM.attributes")]
    return regions, sections


@pytest.mark.parametrize("case", CASES, ids=[f"{c.id}{'-' + '-'.join(c.defsyms) if c.defsyms else ''}"
                                              for c in CASES])
def test_map_equals_ld_map(case, object_dir: Path, tmp_path: Path) -> None:
    """`gomcu ld show --map` prints regions, output sections (address, size, load address)
    and input sections line for line as ld -Map does."""
    objects = compile_sources(case.sources, object_dir)
    ld_map = tmp_path / "ld.map"
    result = link(FIXTURES / case.script, [*objects, "-Map", str(ld_map)], tmp_path / "o.elf",
                  case.search, case.defsyms)
    assert result.returncode == 0, result.stderr
    layout = evaluate_case(FIXTURES / case.script, objects, case.search, case.defsyms)
    ld_regions, ld_sections = _map_entries(ld_map.read_text())
    regions, sections = _map_entries("\n".join(map_lines(layout)))
    assert regions == ld_regions
    assert sections == ld_sections
    assert len(sections) > 2


def _overflow_script(tmp_path: Path, ram: str) -> Path:
    script = tmp_path / "small.ld"
    body = (FIXTURES / "cubemx_style.ld").read_text().replace("LENGTH = 128K", f"LENGTH = {ram}")
    script.write_text(body)
    return script


def test_region_overflow_reported_as_ld_reports_it(object_dir: Path, tmp_path: Path) -> None:
    objects = compile_sources(("startup.c", "app.c", "extra_cubemx.c"), object_dir)
    script = _overflow_script(tmp_path, "0x500")
    result = link(script, objects, tmp_path / "o.elf")
    assert result.returncode != 0
    layout = evaluate_case(script, objects, (), ())
    ld_lines = {line.split(": ", 1)[-1] for line in result.stderr.splitlines()}
    mine = {p.message for p in layout.problems}
    overflow = [m for m in mine if "overflowed by" in m]
    assert overflow and set(overflow) <= ld_lines, (mine, result.stderr)
    assert any("will not fit in region" in m for m in mine)


def test_failed_assert_is_reported(object_dir: Path, tmp_path: Path) -> None:
    objects = compile_sources(("startup.c", "app.c", "extra_pico.c"), object_dir)
    script = tmp_path / "pico_bad.ld"
    script.write_text((FIXTURES / "pico_style.ld").read_text().replace("== 256", "== 128"))
    result = link(script, objects, tmp_path / "o.elf")
    assert "Pico second stage bootloader must be 256 bytes" in result.stderr
    layout = evaluate_case(script, objects, (), ())
    failed = [a for a in layout.asserts if not a.passed]
    assert [a.message for a in failed] == [
        "ERROR: Pico second stage bootloader must be 256 bytes in size"]
    assert failed[0].pos.line > 0


@pytest.mark.skipif(not refmw_ready(), reason="reference firmware not built")
@pytest.mark.parametrize("variant", ["refmw-m3", "refmw-m4f", "refmw-m3-stack-top"])
def test_reference_firmware_script_equals_its_elf(variant: str) -> None:
    """The refmw's own scripts, evaluated against its committed ELF (--elf)."""
    script = REFMW / f"{variant}.ld"
    elf = REFMW / "build" / f"{variant}.elf"
    if not script.exists() or not elf.exists():
        pytest.skip(f"{variant} not present")
    parsed = load_script(str(script), [str(REFMW)])
    layout = evaluate_case(script, [], (str(REFMW),), (), elf=str(elf))
    facts = elf_facts(str(elf))
    approximate = mid_section_symbols(parsed)
    for name in approximate:
        facts.symbols.pop(name, None)
    assert differences(layout, facts, script_targets(parsed) - approximate, set()) == []
    assert layout.symbols["_stack_top"].value == facts.symbols["_stack_top"]


@pytest.mark.skipif(not refmw_ready() or shutil.which("make") is None,
                    reason="reference firmware or make not available")
def test_reference_firmware_objects_equal_gnu_ld(tmp_path: Path) -> None:
    """The refmw objects (built by its Makefile into tmp), linked by ld without
    --gc-sections, against gomcu's layout from the same objects."""
    build = tmp_path / "build"
    made = subprocess.run(["make", "-s", "-C", str(REFMW), f"BUILD={build}",
                           f"{build}/refmw-m3.elf"], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"refmw build failed: {made.stderr[-300:]}")
    objects = sorted(glob.glob(str(build / "m3" / "*.o")))
    elf = tmp_path / "m3.elf"
    result = link(REFMW / "refmw-m3.ld", objects, elf, (str(REFMW),))
    if result.returncode != 0:
        pytest.skip(f"refmw objects need libraries: {result.stderr[-300:]}")
    layout = evaluate_case(REFMW / "refmw-m3.ld", objects, (str(REFMW),), ())
    parsed = load_script(str(REFMW / "refmw-m3.ld"), [str(REFMW)])
    assert differences(layout, elf_facts(str(elf)), script_targets(parsed),
                       object_symbols(objects)) == []
