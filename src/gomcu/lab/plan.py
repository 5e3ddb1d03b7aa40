"""Campaign files (`gomcu lab --plan lab.toml`): a whole characterisation — experiments, firmware,
chips, parameter grids — validated with the line of every mistake.

    firmware = ["build/fw-conservative.elf", "build/fw-leaking.elf"]   # defaults for every experiment
    chips = ["lm3s6965"]
    jobs = 2                                   # or cluster = "tcp://10.0.0.5:8786"

    [[experiment]]
    name = "gc-pause"
    heap = ["8K", "16K", "32K"]

    [[experiment]]
    name = "jitter"
    irq = 0
    period_us = [100, 200]

Paths are relative to the plan file. Keys of an experiment override the top-level ones.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gomcu.errors import GomcuError

#: key -> (type check, what it must be)
EXPERIMENT_KEYS: dict[str, tuple[Any, str]] = {
    "firmware": (lambda v: _strings(v), "a list of ELF paths"),
    "chips": (lambda v: _strings(v), "a list of chip names"),
    "heap": (lambda v: _strings(v) or _ints(v), "a list of heap sizes such as \"8K\" or 8192"),
    "stack_sizes": (lambda v: _strings(v) or _ints(v), "a list of stack sizes in bytes"),
    "irq": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "an IRQ number"),
    "period_us": (lambda v: isinstance(v, list) and bool(v) and all(_positive(x) for x in v),
                  "a list of positive periods in µs"),
    "count": (lambda v: _positive(v) and isinstance(v, int), "a positive number of injections"),
    "seed": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    "max_insns": (lambda v: _positive(v) and isinstance(v, int), "a positive instruction budget"),
}
TOP_KEYS: dict[str, tuple[Any, str]] = {
    **EXPERIMENT_KEYS,
    "jobs": (lambda v: _positive(v) and isinstance(v, int), "a positive number of local processes"),
    "cluster": (lambda v: isinstance(v, str) and bool(v), "a dask scheduler address such as tcp://host:8786"),
    "cache": (lambda v: isinstance(v, str) and bool(v), "a directory"),
    "experiment": (lambda v: isinstance(v, list), "an array of [[experiment]] tables"),
}


def _strings(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, str) and x for x in v)


def _ints(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(_positive(x) and isinstance(x, int) for x in v)


def _positive(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0


@dataclass(frozen=True)
class PlannedExperiment:
    name: str
    settings: dict[str, Any]  # top-level keys merged with the experiment's own


@dataclass(frozen=True)
class Plan:
    path: Path
    experiments: tuple[PlannedExperiment, ...]
    jobs: int | None
    cluster: str | None
    cache: str | None


class PlanError(GomcuError):
    pass


def load_plan(path: str, known_experiments: set[str]) -> Plan:
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as error:
        raise PlanError(f"{path}: cannot read the plan ({error.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PlanError(f"{path}: {error}") from None
    lines = _LineFinder(text)
    for key, value in data.items():
        _check(path, key, value, TOP_KEYS, lines.find(key, 0))
    tables = data.get("experiment") or []
    if not tables:
        raise PlanError(f"{path}: no [[experiment]] table: nothing to run")
    defaults = {k: v for k, v in data.items() if k in EXPERIMENT_KEYS}
    experiments = []
    for index, table in enumerate(tables):
        where = lines.experiment(index)
        if not isinstance(table, dict):
            raise PlanError(f"{path}:{where}: experiment {index + 1} is not a table")
        name = table.get("name")
        if name not in known_experiments:
            raise PlanError(f"{path}:{lines.find('name', where) or where}: experiment {index + 1}: name must be one "
                            f"of {', '.join(sorted(known_experiments))} (not {name!r})")
        for key, value in table.items():
            if key != "name":
                _check(path, key, value, EXPERIMENT_KEYS, lines.find(key, where) or where)
        settings = {**defaults, **{k: v for k, v in table.items() if k != "name"}}
        if "firmware" not in settings:
            raise PlanError(f"{path}:{where}: experiment {name!r} has no firmware (set firmware = [...])")
        settings["firmware"] = [str((file.parent / p)) if not Path(p).is_absolute() else p
                                for p in settings["firmware"]]
        experiments.append(PlannedExperiment(name, settings))
    cache = data.get("cache")
    if cache is not None and not Path(cache).is_absolute():
        cache = str(file.parent / cache)
    return Plan(file, tuple(experiments), data.get("jobs"), data.get("cluster"), cache)


def _check(path: str, key: str, value: Any, allowed: dict[str, tuple[Any, str]], line: int | None) -> None:
    where = f"{path}:{line}" if line else path
    if key not in allowed:
        raise PlanError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(allowed))})")
    ok, what = allowed[key]
    if not ok(value):
        raise PlanError(f"{where}: {key} must be {what}")


class _LineFinder:
    """Line numbers for keys: tomllib gives values, not positions."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers = [i + 1 for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*experiment\s*\]\]", line)]

    def experiment(self, index: int) -> int:
        return self.headers[index] if index < len(self.headers) else 1

    def find(self, key: str, after: int) -> int | None:
        """The first line at or after `after` (1-based) that assigns `key`, within its table."""
        pattern = re.compile(rf"\s*{re.escape(key)}\s*=")
        for number in range(max(after, 1), len(self.lines) + 1):
            line = self.lines[number - 1]
            if number > after and re.match(r"\s*\[", line) and after:
                return None
            if after == 0 and re.match(r"\s*\[", line):
                return None
            if pattern.match(line):
                return number
        return None
