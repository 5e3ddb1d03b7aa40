"""Time `gomcu size` against `arm-none-eabi-size` on one ELF, in the same run.

Usage: python bench/bench_size.py [FIRMWARE.elf]   (default: the largest ELF in the repository)
Target (issue 2): under 0.5 s for a 1.3 MB ELF.
"""

from __future__ import annotations

import shutil
import sys

from common import best_of, command, describe_gomcu, largest_elf

from gomcu.image import load
from gomcu.limits.footprint import group, measure


def main() -> None:
    print(describe_gomcu())
    path = largest_elf(sys.argv)
    size_kb = path.stat().st_size / 1024
    in_process = best_of(5, lambda: group(measure(load(path)), "package", load(path)))
    cli = best_of(5, command([sys.executable, "-m", "gomcu", "size", str(path), "--format", "json"]))
    print(f"ELF: {path} ({size_kb:.0f} KiB)")
    print(f"gomcu size, in process (load + measure + group by package): {in_process * 1000:.1f} ms")
    print(f"gomcu size --format json, whole command:                    {cli * 1000:.1f} ms")
    if shutil.which("arm-none-eabi-size"):
        binutils = best_of(5, command(["arm-none-eabi-size", str(path)]))
        print(f"arm-none-eabi-size, whole command:                          {binutils * 1000:.1f} ms")
        print(f"ratio gomcu / arm-none-eabi-size: {cli / binutils:.0f}x (gomcu also groups by symbol and package)")


if __name__ == "__main__":
    main()
