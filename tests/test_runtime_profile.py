"""Runtime profiles are data: built-in TOML, inheritance, and a user's own file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from conftest import FIXTURES, REFMW_BUILD, run_gomcu
from gomcu.errors import GomcuError
from gomcu.image import load
from gomcu.linker.requirements import from_runtime
from gomcu.runtime.profile import detect_profile, load_profile

CUBEMX = FIXTURES / "ld" / "cubemx_style.ld"


def test_reference_firmware_is_detected_as_itself_and_inherits_tinygo_linker_needs() -> None:
    image = load(REFMW_BUILD / "refmw-m3.elf")
    profile = detect_profile(s.name for s in image.symbols)
    assert profile is not None and profile.name == "refmw"
    refmw, tinygo = from_runtime(profile), from_runtime(load_profile("tinygo"))
    assert refmw.name == "refmw"
    assert dataclasses.replace(refmw, name="tinygo") == tinygo, "every linker need comes from tinygo.toml"


def test_profile_without_linker_table_is_refused(tmp_path: Path) -> None:
    bare = tmp_path / "bare.toml"
    bare.write_text('name = "bare"\n[detect]\nall_symbols = ["x"]\n')
    with pytest.raises(GomcuError, match="no \\[linker\\] table"):
        from_runtime(load_profile(str(bare)))


def test_user_profile_changes_what_ld_check_requires(tmp_path: Path) -> None:
    """A vendor runtime whose flash region is called FLASH: the region-name error goes away."""
    tinygo = json.loads(run_gomcu("ld", "check", str(CUBEMX), "--format", "json").stdout)
    assert any(f["rule"] == "ld.region-name" for f in tinygo["findings"])
    mine = tmp_path / "vendor.toml"
    table = load_profile("tinygo").linker
    lines = ['name = "vendor"', 'inherits = "tinygo"', "[detect]", 'all_symbols = ["vendor_marker"]', "[linker]"]
    for key, value in table.items():
        if key in ("symbols", "keep"):
            continue
        lines.append(f"{key} = {json.dumps(value)}")
    text = "\n".join(lines).replace('flash_region = "FLASH_TEXT"', 'flash_region = "FLASH"') + "\n"
    mine.write_text(text)
    result = json.loads(run_gomcu("ld", "check", str(CUBEMX), "--runtime", str(mine), "--format", "json").stdout)
    assert result["runtime"] == "vendor"
    assert not any(f["rule"] == "ld.region-name" for f in result["findings"])
