"""Time `gomcu check`: static on the largest ELF, and with --run on the reference firmware.

Usage: python bench/bench_check.py [FIRMWARE.elf [CHIP]]
Targets (issue 8): under 1.0 s without --run on a 1.3 MB ELF; with --run the emulation dominates.
Compared in the same run with the plain tools a user would otherwise chain: arm-none-eabi-size
(footprint only) and qemu-system-arm running the same reference firmware (output only).
"""

from __future__ import annotations

import shutil
import sys

from common import ROOT, best_of, command, describe_gomcu, largest_elf


def main() -> None:
    print(describe_gomcu())
    path = largest_elf(sys.argv)
    chip = sys.argv[2] if len(sys.argv) > 2 else None
    refmw = ROOT / "examples" / "refmw" / "build" / "refmw-m3.elf"
    chip_args = ["--chip", chip] if chip else []
    static = best_of(3, command([sys.executable, "-m", "gomcu", "check", str(path), *chip_args, "--format", "json"],
                                ok_codes=(0, 1)))
    run = best_of(3, command([sys.executable, "-m", "gomcu", "check", str(refmw), "--chip", "lm3s6965", "--run",
                              "--format", "json"], ok_codes=(0, 1)))
    print(f"gomcu check (static) on {path.name} ({path.stat().st_size / 1024:.0f} KiB): {static:.3f} s")
    print(f"gomcu check --run on {refmw.name}: {run:.3f} s")
    if shutil.which("arm-none-eabi-size"):
        size = best_of(3, command(["arm-none-eabi-size", str(path)]))
        print(f"arm-none-eabi-size on the same ELF: {size:.4f} s (footprint totals only)")
    if shutil.which("qemu-system-arm"):
        qemu = best_of(3, command(["qemu-system-arm", "-M", "lm3s6965evb", "-nographic", "-monitor", "none",
                                   "-serial", "stdio", "-semihosting-config", "enable=on,target=native",
                                   "-kernel", str(refmw)], ok_codes=(0, 1)))
        print(f"qemu-system-arm running {refmw.name}: {qemu:.3f} s (program output only, no measurements)")


if __name__ == "__main__":
    main()
