"""Which chip an ELF was built for, from what the ELF itself shows.

Evidence, strongest first: the interrupt handler names of the family's vector table (TinyGo's
`device/*` packages and the vendors' start-up files name them, e.g. `TIMER_IRQ_0_IRQHandler` on
the RP2040), TinyGo device package paths in symbol names (`device/rp.`, `device/sam.`); between
families with as much evidence (`RTC_IRQHandler` is SAMD21's and SAMD51's), the vector table's
length (`__isr_vector`'s size: a family with fewer interrupts cannot have written it, the closest
count wins); then which of the family's chips has memory where the ELF is linked. Each run model lists its
markers (`detect` in chips/runmodels/*.toml); the answer says which were found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gomcu.chips.runmodel import RunModel, run_models
from gomcu.errors import EmulationError

_DEVICE = re.compile(r"device/([a-z][a-z0-9]*)[./]")
_GENERIC_DEVICES = {"arm", "riscv", "avr", "arm64"}


@dataclass(frozen=True)
class Detected:
    chip: str
    family: str
    why: str


def _score(model: RunModel, names: set[str], devices: set[str]) -> tuple[int, list[str]]:
    hits = [s for s in model.detect_symbols if s in names]
    paths = [p for p in model.detect_paths if any(p.rstrip("./") == d or p.rstrip("./").endswith("/" + d)
                                                  for d in devices)]
    return len(hits) + 2 * len(paths), hits + [f"package {p.rstrip('.')}" for p in paths]


def _fits(image: Any, chip_name: str) -> bool:
    from gomcu.chips import find_chip

    chip = find_chip(chip_name)
    for sec in image.alloc_sections:
        if sec.size == 0:
            continue
        for addr in {sec.vma} | ({sec.lma} if not sec.nobits else set()):
            region = chip.region_at(addr)
            if region is None or addr + sec.size > region.end:
                return False
    return True


def detect_chip(image: Any) -> Detected | None:
    """The chip the ELF was built for, when a run model's markers say so clearly; None when
    nothing points to a family. Raises EmulationError for a TinyGo device package gomcu has no
    run model for (naming the families it knows)."""
    names = {s.name for s in image.symbols}
    devices = {m.group(1) for n in names if "device/" in n for m in _DEVICE.finditer(n)} - _GENERIC_DEVICES
    scored = [(*_score(m, names, devices), m) for m in run_models()]
    top = max((s for s, _, _ in scored), default=0)
    if top == 0:
        if devices:
            known = ", ".join(m.family for m in run_models())
            raise EmulationError(
                f"{image.path}: built for TinyGo package device/{sorted(devices)[0]}, a chip family gomcu has no "
                f"run model for (known: {known}); name a chip with --chip or a QEMU board with --board")
        return None
    best = [(ev, m) for s, ev, m in scored if s == top]
    irqs = _table_irqs(image)
    if irqs is not None:
        best = [(ev, m) for ev, m in best if m.num_irqs >= irqs]
        gap = min((m.num_irqs - irqs for _, m in best), default=0)
        best = [(ev, m) for ev, m in best if m.num_irqs - irqs == gap]
        if best:
            best = [(ev + [f"{irqs} interrupt vectors"], m) for ev, m in best]
    if len(best) != 1:
        return None
    evidence, model = best[0]
    for chip in model.chips:
        if _fits(image, chip):
            return Detected(chip, model.family, f"{', '.join(evidence[:4])}; linked inside {chip}'s memory")
    return None


def _table_irqs(image: Any) -> int | None:
    """External interrupt vectors in the ELF's vector table (from its symbol's size), if known."""
    for name in ("__isr_vector", "__vectors", "g_pfnVectors", "vectors"):
        sym = image.symbol(name)
        if sym is not None and getattr(sym, "size", 0) >= 64:
            return int(sym.size) // 4 - 16
    return None
