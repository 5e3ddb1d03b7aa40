"""Which core a firmware was built for, from the ELF header and build attributes.

ARM: the `.ARM.attributes` section's Tag_CPU_arch and Tag_CPU_arch_profile (ARM IHI 0045,
"Addenda to the ELF for the ARM Architecture"). RISC-V: ELFCLASS32 plus e_flags (RVC, float ABI,
RVE) and the `.riscv.attributes` arch string where present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gomcu.image.types import Arch

EM_ARM = 40
EM_RISCV = 243

#: Tag_CPU_arch values for M-profile cores.
_ARM_CPU_ARCH = {
    11: "ARMv6-M",
    12: "ARMv6-M",  # v6S-M (GCC's choice for cortex-m0/m0plus/m1)
    10: "ARMv7-M",
    13: "ARMv7E-M",
    16: "ARMv8-M.base",
    17: "ARMv8-M.main",
    21: "ARMv8.1-M.main",
}
_ARM_CPU_ARCH_NAMES = {
    1: "ARMv4", 2: "ARMv4T", 3: "ARMv5T", 4: "ARMv5TE", 5: "ARMv5TEJ", 6: "ARMv6",
    7: "ARMv6KZ", 8: "ARMv6T2", 9: "ARMv6K", 14: "ARMv8-A", 15: "ARMv8-R",
}
#: Tag_CPU_name of M-profile cores, for a file that names its core but not its architecture
#: (LLVM, hence TinyGo, writes only Tag_CPU_name "cortex-m0plus" for the RP2040).
_ARM_CPU_NAMES = {
    "cortex-m0": "ARMv6-M", "cortex-m0plus": "ARMv6-M", "cortex-m1": "ARMv6-M", "cortex-m3": "ARMv7-M",
    "cortex-m4": "ARMv7E-M", "cortex-m7": "ARMv7E-M", "cortex-m23": "ARMv8-M.base", "cortex-m33": "ARMv8-M.main",
    "cortex-m35p": "ARMv8-M.main", "cortex-m55": "ARMv8.1-M.main", "cortex-m85": "ARMv8.1-M.main",
}
EF_ARM_ABI_FLOAT_HARD = 0x400
EF_RISCV_RVC = 0x1
EF_RISCV_FLOAT_ABI = 0x6
EF_RISCV_RVE = 0x8

_MACHINE_NAMES = {
    3: "x86", 62: "x86-64", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 183: "AArch64",
    94: "Xtensa", 83: "AVR", 243: "RISC-V",
}


@dataclass(frozen=True)
class CoreInfo:
    arch: Arch
    core: str  # "ARMv7E-M", "RV32IMAC", ...
    hard_float: bool


class UnsupportedArchitecture(Exception):
    """Raised with a human-readable reason; the image loader turns it into an ImageError."""


def machine_name(e_machine: int | str) -> str:
    if isinstance(e_machine, str):
        return e_machine.removeprefix("EM_").replace("_", "-").lower()
    return _MACHINE_NAMES.get(e_machine, f"machine {e_machine}")


def decode_arm(attributes: dict[str, object], e_flags: int) -> CoreInfo:
    """ARM core from build attributes; only M-profile cores are accepted."""
    cpu_arch = attributes.get("TAG_CPU_ARCH")
    profile = attributes.get("TAG_CPU_ARCH_PROFILE")
    hard_float = bool(e_flags & EF_ARM_ABI_FLOAT_HARD) or attributes.get("TAG_ABI_VFP_ARGS") == 1
    if cpu_arch is None:
        # No architecture tag: the core's name when the file gives it, else (stripped or
        # hand-assembled) the most common M core family.
        name = attributes.get("TAG_CPU_NAME")
        return CoreInfo(Arch.ARM, _ARM_CPU_NAMES.get(name.lower() if isinstance(name, str) else "", "ARMv7-M"),
                        hard_float)
    if isinstance(cpu_arch, int) and cpu_arch in _ARM_CPU_ARCH and profile in (None, ord("M"), 0):
        return CoreInfo(Arch.ARM, _ARM_CPU_ARCH[cpu_arch], hard_float)
    name = _ARM_CPU_ARCH_NAMES.get(cpu_arch if isinstance(cpu_arch, int) else -1, f"Tag_CPU_arch {cpu_arch}")
    prof = chr(profile) if isinstance(profile, int) and profile else "?"
    raise UnsupportedArchitecture(
        f"unsupported architecture ARM {name} (profile {prof}): gomcu reads ARM Cortex-M and RISC-V 32 firmware"
    )


def decode_riscv(elfclass: int, e_flags: int, arch_string: str | None) -> CoreInfo:
    """RISC-V core: RV32 + extensions from the attribute string, else from e_flags."""
    if elfclass != 32:
        raise UnsupportedArchitecture(
            "unsupported architecture RISC-V 64-bit: gomcu reads ARM Cortex-M and RISC-V 32 firmware"
        )
    float_abi = (e_flags & EF_RISCV_FLOAT_ABI) >> 1
    if arch_string:
        exts = _extensions_from_arch_string(arch_string)
    else:
        base = "E" if e_flags & EF_RISCV_RVE else "I"
        exts = base + "M" + ("F" if float_abi >= 1 else "") + ("D" if float_abi >= 2 else "")
        exts += "C" if e_flags & EF_RISCV_RVC else ""
    return CoreInfo(Arch.RISCV32, "RV32" + exts, float_abi != 0)


def _extensions_from_arch_string(arch: str) -> str:
    """"rv32i2p1_m2p0_a2p1_c2p0_zicsr2p0" -> "IMAC" (single-letter extensions, in order)."""
    head, *rest = arch.lower().split("_")
    letters = re.sub(r"\d+(p\d+)?", "", head.removeprefix("rv32").removeprefix("rv64"))
    for part in rest:
        if len(part) > 0 and part[0] not in "zsx":
            letters += re.sub(r"\d+(p\d+)?", "", part)
    if "g" in letters:
        letters = letters.replace("g", "imafd")
    seen = ""
    for c in letters:
        if c not in seen:
            seen += c
    return seen.upper()
