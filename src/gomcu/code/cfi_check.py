"""Cross-check gomcu's frames (read from prologues) against the compiler's call-frame information.

Two independent accounts of the same frame must agree; a disagreement means either gomcu misread
an instruction sequence or the CFI is incomplete, and the stack analysis says so instead of
silently trusting one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from gomcu.code.model import CodeModel


@dataclass(frozen=True)
class FrameDisagreement:
    function: str
    computed: int
    cfi: int


@dataclass(frozen=True)
class FrameCrossCheck:
    checked: int  # functions with CFI expressed against sp
    disagreements: tuple[FrameDisagreement, ...]


def cross_check_frames(model: CodeModel) -> FrameCrossCheck:
    cfi = model.image.cfi_frames
    checked = 0
    bad: list[FrameDisagreement] = []
    for fn in model.functions:
        entry = cfi.get(fn.address)
        if entry is None or entry.max_offset is None or fn.frame.dynamic:
            continue
        checked += 1
        if entry.max_offset != fn.frame.bytes:
            bad.append(FrameDisagreement(fn.name, fn.frame.bytes, entry.max_offset))
    return FrameCrossCheck(checked, tuple(bad))
