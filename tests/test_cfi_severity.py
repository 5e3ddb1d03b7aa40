"""Frames read from the code against .debug_frame: a disagreement is a warning only where the
CFI says more than the code (the bound may be too small); where it says less (Go's assembly
carries a placeholder CFA offset of 4), the bound already uses the code's larger frame."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIXTURES, assert_rebuilds_identically, needs_tool, run_gomcu

CFI = FIXTURES / "cfi"


def test_a_cfi_smaller_than_the_code_is_information_a_larger_one_a_warning() -> None:
    p = run_gomcu("stack", str(CFI / "cfi.elf"), "--format", "json")
    doc = json.loads(p.stdout)
    found = {f["message"].split(":")[0]: f for f in doc["findings"] if f["rule"] == "stack.frame-disagrees-with-cfi"}
    assert found["over_cfi"]["severity"] == "info"
    assert "20 B" in found["over_cfi"]["message"] and "4 B" in found["over_cfi"]["message"]
    assert found["under_cfi"]["severity"] == "warning"
    assert "32 B too small" in found["under_cfi"]["message"]
    assert doc["status"] == "warn"  # the under-counting frame keeps the verdict at warn


@needs_tool("arm-none-eabi-gcc")
def test_cfi_fixture_rebuilds_identically(tmp_path: Path) -> None:
    assert_rebuilds_identically(CFI, tmp_path, ["cfi.S", "cfi.ld", "Makefile"], ["cfi.elf"])
