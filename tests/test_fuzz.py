"""Property tests: damaged input of any shape ends in gomcu's own error, never a crash.

docs/architecture.md: bad input is one line and exit 2, never a traceback. These throw random damage at
the two parsers of user input (ELF files and ld scripts) and at what runs on top of them.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ELF_FIXTURES, REFMW, REFMW_BUILD
from gomcu.errors import GomcuError
from gomcu.image import load
from gomcu.limits.footprint import measure

ELF_BYTES = (ELF_FIXTURES / "mini-m4f.elf").read_bytes()
SCRIPT = (REFMW / "arm-sections.ld").read_text()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(ELF_BYTES) - 1), st.integers(0, 255)), min_size=1, max_size=12))
def test_damaged_elf_loads_or_says_why(tmp_path_factory, edits: list[tuple[int, int]]) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(ELF_BYTES)
    for offset, value in edits:
        data[offset] = value
    path = Path(tmp_path_factory.mktemp("elf")) / "damaged.elf"
    path.write_bytes(bytes(data))
    try:
        image = load(path)
        fp = measure(image)
        assert fp.flash_bytes >= 0
        _ = image.toolchain, image.compile_units
    except GomcuError:
        pass


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, len(ELF_BYTES)))
def test_truncated_elf_never_crashes_the_stack_analysis(tmp_path_factory, cut: int) -> None:  # type: ignore[no-untyped-def]
    from gomcu.limits.stack import analyse

    path = Path(tmp_path_factory.mktemp("elf")) / "cut.elf"
    path.write_bytes((REFMW_BUILD / "refmw-m3.elf").read_bytes()[:cut])
    try:
        analyse(load(path))
    except GomcuError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(SCRIPT)), st.integers(0, 40), st.text(alphabet="{}();=:><*./\"'#\\ \n\tA-Z0-9", max_size=8))
def test_damaged_ld_script_parses_or_points_at_the_error(start: int, length: int, insert: str) -> None:
    from gomcu.linker import parse_text

    text = SCRIPT[:start] + insert + SCRIPT[start + length :]
    try:
        parse_text(text, "fuzz.ld", [str(REFMW)])
    except GomcuError as error:
        # Every syntax error names file:line:column, and the caret excerpt goes with it.
        assert re.search(r"\.ld:\d+:\d+: ", str(error)), str(error)
