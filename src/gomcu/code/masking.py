"""Instructions that change interrupt masking (CPSID/CPSIE, MSR to PRIMASK, BASEPRI, FAULTMASK) and
that raise SVCall (SVC).

Decoded from their Thumb encodings (ARMv7-M ARM, A7.7.30 CPS, A7.7.83 MSR, A7.7.175 SVC): capstone gives
CPS no operands for the i/f flags, so the fixed encodings are the clearest source.
"""

from __future__ import annotations

from dataclasses import dataclass

from gomcu.code.model import CodeModel
from gomcu.image import Arch

_CPS = {0xB672: "CPSID i", 0xB662: "CPSIE i", 0xB671: "CPSID f", 0xB661: "CPSIE f"}
_SYSM = {0x10: "PRIMASK", 0x11: "BASEPRI", 0x12: "BASEPRI_MAX", 0x13: "FAULTMASK"}


@dataclass(frozen=True)
class MaskSite:
    """An instruction that changes interrupt masking."""

    function: str
    address: int
    what: str  # "CPSID i", "MSR BASEPRI", ...


def system_instructions(model: CodeModel, name: str) -> tuple[MaskSite, ...]:
    """The SVC, CPS and MSR-to-mask instructions of function `name` ("SVC", "CPSID i", "MSR
    BASEPRI"), read from its encodings with one read of its body; none on RISC-V (CSRs mask)."""
    image, f = model.image, model.function(name)
    if image.arch is not Arch.ARM or f is None:
        return ()
    body = image.read(f.address, f.size) or b""
    out = []
    for ins in model.instructions(name):
        at = ins.address - f.address
        raw = body[at : at + ins.size] if 0 <= at and at + ins.size <= len(body) else image.read(ins.address, ins.size)
        if not raw or len(raw) < 2:
            continue
        first = int.from_bytes(raw[:2], "little")
        what = None
        if ins.size == 2:
            what = "SVC" if first & 0xFF00 == 0xDF00 else _CPS.get(first)  # SVC #imm8 (A7.7.175)
        elif ins.size == 4 and first & 0xFFF0 == 0xF380:  # MSR spec_reg, Rn
            second = int.from_bytes(raw[2:4], "little")
            if second & 0xFF00 == 0x8800 and (second & 0xFF) in _SYSM:
                what = f"MSR {_SYSM[second & 0xFF]}"
        if what:
            out.append(MaskSite(name, ins.address, what))
    return tuple(out)


def mask_sites(model: CodeModel) -> tuple[MaskSite, ...]:
    """Every masking instruction in the decoded functions (none on RISC-V, which masks via CSRs)."""
    return tuple(s for fn in model.functions for s in system_instructions(model, fn.name) if s.what != "SVC")


def svc_functions(model: CodeModel) -> frozenset[str]:
    """The functions that hold an SVC instruction: the system call stubs."""
    return frozenset(fn.name for fn in model.functions
                     if any(s.what == "SVC" for s in system_instructions(model, fn.name)))


def msr_constants(model: CodeModel, registers: tuple[str, ...] = ("BASEPRI", "BASEPRI_MAX")) -> tuple[tuple[MaskSite, int], ...]:
    """MSR sites to `registers` whose source register holds a constant set just before (within
    the 8 preceding instructions of the same function): the values code writes to BASEPRI."""
    from capstone import arm_const

    out = []
    for site in mask_sites(model):
        if site.what.split(" ", 1)[1] not in registers:
            continue
        raw = model.image.read(site.address, 2)
        if not raw:
            continue
        reg = arm_const.ARM_REG_R0 + (int.from_bytes(raw, "little") & 0xF)
        before = [i for i in model.instructions(site.function) if i.address < site.address][-8:]
        for ins in reversed(before):
            if ins.dst == reg:
                if ins.value is not None:
                    out.append((site, ins.value & 0xFFFFFFFF))
                break
    return tuple(out)
