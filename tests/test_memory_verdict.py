"""The memory verdict: overflow fails and names chips that would fit."""

from __future__ import annotations

import dataclasses

from conftest import REFMW_BUILD
from gomcu.chips import find_chip, isa_runs_on
from gomcu.findings import Status
from gomcu.image import load
from gomcu.limits import memory


def test_overflow_fails_and_suggests_chips_that_fit() -> None:
    image = load(REFMW_BUILD / "refmw-m3.elf")
    chip = find_chip("lm3s6965")
    small = dataclasses.replace(
        chip, regions=tuple(dataclasses.replace(r, length=8 * 1024) if r.kind == "sram" else r for r in chip.regions)
    )
    result = memory.evaluate(image, small)
    assert result.status is Status.FAIL
    names = next(s for s in result.suggestions if s.startswith("chips this firmware fits"))
    suggested = [find_chip(n.strip()) for n in names.split(":", 1)[1].split(",")]
    assert suggested
    for candidate in suggested:
        assert isa_runs_on("arm", image.core, candidate)
        assert candidate.ram_bytes >= result.analysis.footprint.ram_bytes
