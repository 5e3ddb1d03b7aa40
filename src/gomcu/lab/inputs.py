"""Turn what the user gave (command-line flags or a plan's settings) into an experiment's
`LabInputs` and the firmware bytes the runs need."""

from __future__ import annotations

from typing import Any

from gomcu.errors import GomcuError
from gomcu.lab.experiments import Firmware, LabInputs
from gomcu.lab.runs import digest_of


def read_firmware(paths: list[str]) -> tuple[tuple[Firmware, ...], dict[str, bytes]]:
    """Each ELF's bytes and content hash (runs are keyed by content, not by path)."""
    from gomcu.commands.base import require_file

    firmware, data = [], {}
    for path in paths:
        require_file(path, "firmware file")
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:4] != b"\x7fELF":
            raise GomcuError(f"{path}: not an ELF file")
        digest = digest_of(raw)
        firmware.append(Firmware(path, digest))
        data[digest] = raw
    if not firmware:
        raise GomcuError("no firmware given")
    return tuple(firmware), data


def _sizes(value: Any, option: str) -> tuple[int | None, ...]:
    from gomcu.limits.gc_measure import parse_sizes

    if value is None:
        return (None,)
    text = value if isinstance(value, str) else ",".join(str(v) for v in value)
    return parse_sizes(text, None, option)


def _periods(value: Any) -> tuple[float, ...]:
    if value is None:
        return (200.0,)
    items = value.split(",") if isinstance(value, str) else value
    try:
        periods = tuple(float(v) for v in items if str(v).strip())
    except ValueError:
        raise GomcuError(f"--period: cannot read {value!r} (use µs, e.g. 100,200)") from None
    if not periods or any(p <= 0 for p in periods):
        raise GomcuError("--period: periods must be positive (µs)")
    return periods


def make_inputs(firmware: tuple[Firmware, ...], settings: dict[str, Any]) -> LabInputs:
    """LabInputs from settings named as in a plan file: chips, heap, stack_sizes, irq, period_us,
    count, seed, max_insns (absent or None: the default)."""
    from gomcu.chips import find_chip

    chips = tuple(settings.get("chips") or ()) or (None,)
    for chip in chips:
        if chip is not None:
            find_chip(chip)  # an unknown name is bad input now, not a failed run later
    count = settings.get("count") or 200
    max_insns = settings.get("max_insns") or 200_000_000
    if count <= 0 or max_insns <= 0:
        raise GomcuError("--count and --max-insns must be positive")
    irq = settings.get("irq")
    if irq is not None and irq < 0:
        raise GomcuError("--irq: an IRQ number is 0 or more")
    return LabInputs(firmware=firmware, chips=chips, heap_sizes=_sizes(settings.get("heap"), "--heap"),
                     stack_sizes=_sizes(settings.get("stack_sizes"), "--stack-size"), irq=irq,
                     periods_us=_periods(settings.get("period_us")), count=count, seed=settings.get("seed") or 1,
                     max_insns=max_insns)
