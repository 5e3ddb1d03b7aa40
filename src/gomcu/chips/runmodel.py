"""Run models: what the emulator needs to run firmware built for a chip family, as data.

A chip entry (`data/*.toml`) says what the chip *is*; a run model (`runmodels/*.toml`, one per
family) says what a run on it needs: where the boot stage leaves the vector table, the
information pages firmware reads (with datasheet default contents), the peripheral blocks by
name (for reports), the timer the runtime counts time with, and how to recognise an ELF built
for the family. Every file names its datasheet sources.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gomcu.errors import ChipError

RUNMODEL_DIR = Path(__file__).with_name("runmodels")
TIMER_KINDS = ("rp2040-timer", "sam-rtc-mode0", "samd21-rtc-mode0", "nrf-rtc", "stm32-tim", "systick")
#: other modelled blocks ([[device]] tables; same keys as a timer, `hz` unused)
DEVICE_KINDS = ("rp2040-spinlocks", "rp2040-core1-fifo", "nrf-clock")


@dataclass(frozen=True)
class InfoPage:
    """A read-only page firmware reads (calibration rows, FICR, unique ID): `fill` everywhere,
    `words` (address -> 32-bit value) where the datasheet gives a default."""

    name: str
    origin: int
    length: int
    fill: int = 0
    words: tuple[tuple[int, int], ...] = ()
    writable: bool = False


@dataclass(frozen=True)
class Block:
    """A named address range: a peripheral (for reports) or extra MMIO the chip map lacks."""

    name: str
    base: int
    size: int


@dataclass(frozen=True)
class TimerSpec:
    """The timer the runtime counts with: its model, base, counting rate and interrupt(s)."""

    kind: str
    base: int
    hz: int
    irqs: tuple[int, ...]
    name: str = "timer"
    size: int = 0x1000  # the register block's span


@dataclass(frozen=True)
class RunModel:
    family: str
    chips: tuple[str, ...]
    source: str
    num_irqs: int
    detect_symbols: tuple[str, ...]
    detect_paths: tuple[str, ...]
    info: tuple[InfoPage, ...]
    mmio: tuple[Block, ...]
    peripherals: tuple[Block, ...]
    timers: tuple[TimerSpec, ...]
    devices: tuple[TimerSpec, ...]
    atomic_aliases: tuple[tuple[int, int], ...]
    bitband: bool = False
    note: str = ""

    @property
    def tick_hz(self) -> int | None:
        """The rate of the runtime's time unit (the first timer's counting rate)."""
        return self.timers[0].hz if self.timers else None

    def peripheral_at(self, address: int) -> str | None:
        for b in self.peripherals:
            if b.base <= address < b.base + b.size:
                return b.name
        return None


def _int(raw: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ChipError(f"{where}: {key}: expected a non-negative integer, got {value!r}")
    return value


def _parse(raw: dict[str, Any], origin: str) -> RunModel:
    try:
        detect = raw.get("detect", {})
        specs: dict[str, list[TimerSpec]] = {"timer": [], "device": []}
        for table, kinds in (("timer", TIMER_KINDS), ("device", DEVICE_KINDS)):
            for i, t in enumerate(raw.get(table, [])):
                where = f"{origin}: {table}[{i}]"
                if t.get("kind") not in kinds:
                    raise ChipError(f"{where}: kind: expected one of {', '.join(kinds)}, got {t.get('kind')!r}")
                specs[table].append(TimerSpec(t["kind"], _int(t, "base", where), _int(t, "hz", where, 0),
                                              tuple(int(x) for x in t.get("irqs", ())), str(t.get("name", t["kind"])),
                                              _int(t, "size", where, 0x1000)))
        info = tuple(InfoPage(str(p["name"]), _int(p, "origin", origin), _int(p, "length", origin),
                              _int(p, "fill", origin, 0),
                              tuple(sorted((int(a, 0) if isinstance(a, str) else int(a), int(v))
                                           for a, v in p.get("words", {}).items())),
                              bool(p.get("writable", False)))
                     for p in raw.get("info", []))
        return RunModel(
            family=str(raw["family"]), chips=tuple(raw["chips"]), source=str(raw["source"]),
            num_irqs=_int(raw, "num_irqs", origin, 240),
            detect_symbols=tuple(detect.get("symbols", ())), detect_paths=tuple(detect.get("paths", ())),
            info=info,
            mmio=tuple(Block(str(b["name"]), _int(b, "base", origin), _int(b, "size", origin))
                       for b in raw.get("mmio", [])),
            peripherals=tuple(sorted((Block(str(name), int(v[0]), int(v[1]))
                                      for name, v in raw.get("peripherals", {}).items()), key=lambda b: b.base)),
            timers=tuple(specs["timer"]),
            devices=tuple(specs["device"]),
            atomic_aliases=tuple((int(a), int(b)) for a, b in raw.get("atomic_aliases", [])),
            bitband=bool(raw.get("bitband", False)),
            note=str(raw.get("note", "")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ChipError(f"{origin}: invalid run model ({error!r})") from None


@functools.lru_cache(maxsize=1)
def run_models() -> tuple[RunModel, ...]:
    """Every bundled run model."""
    out = []
    for path in sorted(RUNMODEL_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            try:
                out.append(_parse(tomllib.load(handle), path.name))
            except tomllib.TOMLDecodeError as error:
                raise ChipError(f"{path.name}: TOML syntax error: {error}") from None
    return tuple(out)


def run_model_for(chip_name: str) -> RunModel | None:
    """The run model covering the chip (by its database name), or None."""
    for m in run_models():
        if chip_name in m.chips:
            return m
    return None


def chips_with_run_models() -> tuple[str, ...]:
    return tuple(c for m in run_models() for c in m.chips)
