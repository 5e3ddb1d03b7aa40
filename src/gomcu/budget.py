"""Budgets for CI: `gomcu.toml` states limits; a report that exceeds one exits 1.

The file is validated strictly (unknown keys and wrong types are errors with the key and its
line), because a typo in a budget that silently disables a check is worse than no budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gomcu.errors import GomcuError

#: key -> (type, meaning, unit, "max" or "min"): the one table that drives validation, `gomcu init` and docs.
BUDGET_KEYS: dict[str, tuple[type, str, str, str]] = {
    "flash_bytes": (int, "flash the firmware may use (text + rodata + data load image)", "bytes", "max"),
    "ram_bytes": (int, "statically allocated RAM (data + bss + stack sections)", "bytes", "max"),
    "heap_headroom_bytes": (int, "heap that must remain for the program", "bytes", "min"),
    "stack_margin_bytes": (int, "free bytes every stack must keep above its worst case", "bytes", "min"),
    "gc_pause_us": (float, "longest measured GC pause", "us", "max"),
    "irq_latency_us": (float, "longest measured interrupt latency", "us", "max"),
    # Delta budgets: read by `gomcu diff BASE NEW`, not by `check`.
    "max_flash_increase_bytes": (int, "flash a change may add (gomcu diff)", "bytes", "max"),
    "max_ram_increase_bytes": (int, "static RAM a change may add (gomcu diff)", "bytes", "max"),
    "max_stack_increase_bytes": (int, "worst-case stack a change may add to any root (gomcu diff)", "bytes", "max"),
    "new_isr_allocations": (int, "allocation sites a change may make reachable from an interrupt (gomcu diff)",
                            "sites", "max"),
}
CHECK_KEYS: dict[str, type] = {"chip": str, "ld": str, "run": bool, "runtime": str}
#: Options of [budget] that are not limits: key -> (type, meaning).
BUDGET_OPTIONS: dict[str, tuple[type, str]] = {
    "measured_stack_margins": (bool, "a root whose stack cannot be bounded statically is judged by its emulated "
                                     "high-water instead of failing (needs a run)"),
}


@dataclass(frozen=True)
class StackMargin:
    """One root's margin as the budget sees it: `margin` is proved when `proved`, otherwise an
    upper bound (allotted minus a lower bound on use); `measured` is allotted minus the emulated
    high-water of its stack, when a run measured it."""

    margin: int | None
    proved: bool
    measured: int | None = None


@dataclass(frozen=True)
class Budget:
    path: str
    limits: dict[str, float]
    stack_margins: dict[str, int] = field(default_factory=dict)
    allowed_findings: tuple[str, ...] = ()
    check: dict[str, Any] = field(default_factory=dict)
    measured_stack_margins: bool = False

    @property
    def needs_measurements(self) -> bool:
        return ("gc_pause_us" in self.limits or "irq_latency_us" in self.limits or bool(self.check.get("run"))
                or self.measured_stack_margins)


@dataclass(frozen=True)
class BudgetResult:
    key: str
    limit: float
    actual: float | None
    unit: str
    kind: str  # "max" or "min"
    unprovable: str = ""  # why the figure cannot be known: the budget fails
    basis: str = ""  # which figure was used when it is not the plain static one

    @property
    def exceeded(self) -> bool:
        if self.unprovable:
            return True
        if self.actual is None:
            return False
        return self.actual > self.limit if self.kind == "max" else self.actual < self.limit

    def line(self) -> str:
        word = "over" if self.kind == "max" else "under"
        if self.unprovable:
            return f"{self.key}: {self.unprovable} (fails the budget: {self.kind} {self.limit:g} {self.unit})"
        actual = "not measured" if self.actual is None else f"{self.actual:g} {self.unit}"
        if self.basis:
            actual += f" ({self.basis})"
        status = f"{word} budget" if self.exceeded else "within budget"
        return f"{self.key}: {actual} ({status}: {self.kind} {self.limit:g} {self.unit})"


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf'^[ \t]*(?:"?{re.escape(key)}"?[ \t]*=|\[[ \t]*{re.escape(key)}[ \t]*\])', re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _error(path: str, text: str, key: str, message: str) -> GomcuError:
    line = _line_of(text, key.split(".")[-1])
    where = f"{path}:{line}" if line else path
    return GomcuError(f"{where}: {key}: {message}")


def _check_type(path: str, text: str, key: str, value: Any, expected: type) -> None:
    ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise _error(path, text, key, f"expected {expected.__name__}, got {type(value).__name__} {value!r}")
    if expected in (int, float) and value < 0:
        raise _error(path, text, key, "must not be negative")


def load_budget(path: str | Path) -> Budget:
    import tomllib

    path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GomcuError(f"{path}: no such budget file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise GomcuError(f"{path}: cannot read ({error})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise GomcuError(f"{path}: {error}") from None
    for top in data:
        if top not in ("budget", "check"):
            raise _error(path, text, top, "unknown section (expected [budget] or [check])")
    limits: dict[str, float] = {}
    margins: dict[str, int] = {}
    allowed: tuple[str, ...] = ()
    options: dict[str, Any] = {}
    for key, value in data.get("budget", {}).items():
        if key in BUDGET_OPTIONS:
            _check_type(path, text, f"budget.{key}", value, BUDGET_OPTIONS[key][0])
            options[key] = value
        elif key == "allowed_findings":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _error(path, text, "budget.allowed_findings", "expected a list of rule names")
            allowed = tuple(value)
        elif key == "stack_margin" and isinstance(value, dict):
            for root, margin in value.items():
                _check_type(path, text, f"budget.stack_margin.{root}", margin, int)
                margins[root] = margin
        elif key in BUDGET_KEYS:
            _check_type(path, text, f"budget.{key}", value, BUDGET_KEYS[key][0])
            limits[key] = value
        else:
            known = ", ".join([*BUDGET_KEYS, "stack_margin", "allowed_findings", *BUDGET_OPTIONS])
            raise _error(path, text, f"budget.{key}", f"unknown key (known: {known})")
    check = data.get("check", {})
    for key, value in check.items():
        if key not in CHECK_KEYS:
            raise _error(path, text, f"check.{key}", f"unknown key (known: {', '.join(CHECK_KEYS)})")
        _check_type(path, text, f"check.{key}", value, CHECK_KEYS[key])
    return Budget(path, limits, margins, allowed, dict(check), bool(options.get("measured_stack_margins")))


DELTA_KEYS = frozenset({"max_flash_increase_bytes", "max_ram_increase_bytes", "max_stack_increase_bytes",
                        "new_isr_allocations"})


def evaluate_deltas(budget: Budget, deltas: dict[str, float | None]) -> list[BudgetResult]:
    """`gomcu diff`: the delta budgets against what the change did."""
    return [BudgetResult(key, limit, deltas.get(key), BUDGET_KEYS[key][2], BUDGET_KEYS[key][3])
            for key, limit in budget.limits.items() if key in DELTA_KEYS]


def evaluate(budget: Budget, figures: dict[str, float | None], stack_margins: dict[str, StackMargin]) -> list[BudgetResult]:
    """Compare measured/static figures with the budget; one result per budgeted key (the delta
    budgets are `gomcu diff`'s)."""
    results = []
    for key, limit in budget.limits.items():
        if key in DELTA_KEYS:
            continue
        _, _, unit, kind = BUDGET_KEYS[key]
        if key == "stack_margin_bytes":
            for root, margin in stack_margins.items():
                results.append(_margin_result(budget, root, budget.stack_margins.get(root, int(limit)), margin))
            continue
        results.append(BudgetResult(key, limit, figures.get(key), unit, kind))
    for root, limit in budget.stack_margins.items():
        if "stack_margin_bytes" not in budget.limits:
            results.append(_margin_result(budget, root, limit, stack_margins.get(root)))
    return results


def _margin_result(budget: Budget, root: str, limit: int, margin: StackMargin | None) -> BudgetResult:
    """A proved margin is compared as it is; an unproved one fails ("cannot be proved statically")
    unless the budget accepts measured margins and the run measured this root's stack."""
    key = f"stack_margin_bytes[{root}]"
    if margin is None or margin.margin is None:
        return BudgetResult(key, limit, None, "bytes", "min")
    if margin.proved:
        return BudgetResult(key, limit, margin.margin, "bytes", "min")
    if budget.measured_stack_margins and margin.measured is not None:
        return BudgetResult(key, limit, margin.measured, "bytes", "min", basis="emulated high-water: not proved")
    why = (f"cannot be proved statically (margin at most {margin.margin} bytes: the stack's use is unbounded)"
           + ("" if budget.measured_stack_margins else
              "; set measured_stack_margins = true to judge it by the emulated high-water"))
    return BudgetResult(key, limit, None, "bytes", "min", unprovable=why)
