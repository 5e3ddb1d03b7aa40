"""Budget files: strict validation with key and line, and the comparison that gates CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from gomcu.budget import StackMargin, evaluate, load_budget
from gomcu.errors import GomcuError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gomcu.toml"
    path.write_text(text)
    return path


def test_valid_budget(tmp_path: Path) -> None:
    budget = load_budget(_write(tmp_path, """
[check]
chip = "lm3s6965"
run = true

[budget]
flash_bytes = 4096
gc_pause_us = 250.5
stack_margin_bytes = 64
allowed_findings = ["stack.recursion"]

[budget.stack_margin]
Reset_Handler = 128
"""))
    assert budget.limits == {"flash_bytes": 4096, "gc_pause_us": 250.5, "stack_margin_bytes": 64}
    assert budget.stack_margins == {"Reset_Handler": 128}
    assert budget.needs_measurements
    assert budget.allowed_findings == ("stack.recursion",)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[budget]\nflash_bytes = 1\nram_bytse = 2\n", ":3: budget.ram_bytse: unknown key"),
        ("[budget]\n\nflash_bytes = \"big\"\n", ":3: budget.flash_bytes: expected int, got str"),
        ("[budget]\nram_bytes = -1\n", ":2: budget.ram_bytes: must not be negative"),
        ("[budgets]\nram_bytes = 1\n", ":1: budgets: unknown section"),
        ("[check]\nrun = 1\n", ":2: check.run: expected bool"),
        ("[budget\n", "gomcu.toml"),
    ],
)
def test_bad_budgets_name_key_and_line(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(GomcuError, match=expected.replace("[", r"\[")):
        load_budget(_write(tmp_path, text))


def test_missing_budget_file(tmp_path: Path) -> None:
    with pytest.raises(GomcuError, match="no such budget file"):
        load_budget(tmp_path / "nope.toml")


def test_evaluate_max_and_min(tmp_path: Path) -> None:
    budget = load_budget(_write(tmp_path, "[budget]\nflash_bytes = 100\nheap_headroom_bytes = 50\nstack_margin_bytes = 10\n"))
    results = {r.key: r for r in evaluate(budget, {"flash_bytes": 120, "heap_headroom_bytes": 60},
                                          {"main": StackMargin(5, True), "isr": StackMargin(40, True)})}
    assert results["flash_bytes"].exceeded
    assert not results["heap_headroom_bytes"].exceeded
    assert results["stack_margin_bytes[main]"].exceeded
    assert not results["stack_margin_bytes[isr]"].exceeded
    assert "over budget" in results["flash_bytes"].line()
