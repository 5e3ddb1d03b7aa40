"""Time `gomcu check`: static on the largest ELF (a first run, and one that reads the cache the
first left), and with --run on the reference firmware.

Usage: python bench/bench_check.py [FIRMWARE.elf [CHIP]]
Targets (issue 18, case 12): a 1.3 MB TinyGo ELF in at most 1.0 s on a first run and 0.3 s when
cached; (issue 21, item 7) a 1 MB Embedded Go ELF in at most 2 s. With --run the emulation dominates.
Compared in the same run with the plain tools a user would otherwise chain: arm-none-eabi-size
(footprint only) and qemu-system-arm running the same reference firmware (output only). The cache
lives in a temporary folder: the user's own is neither read nor written.
"""

from __future__ import annotations

import shutil
import sys
import tempfile

from common import ROOT, best_of, command, describe_gomcu, largest_elf


def main() -> None:
    print(describe_gomcu())
    path = largest_elf(sys.argv)
    chip = sys.argv[2] if len(sys.argv) > 2 else None
    refmw = ROOT / "examples" / "refmw" / "build" / "refmw-m3.elf"
    chip_args = ["--chip", chip] if chip else []
    check = [sys.executable, "-m", "gomcu", "check", str(path), *chip_args, "--format", "json"]
    with tempfile.TemporaryDirectory(prefix="gomcu-bench-cache-") as cache:
        env = {"XDG_CACHE_HOME": cache}
        first = best_of(3, command([*check, "--no-cache"], ok_codes=(0, 1), env=env))
        command(check, ok_codes=(0, 1), env=env)()  # fills the cache
        cached = best_of(5, command(check, ok_codes=(0, 1), env=env))
        run = best_of(3, command([sys.executable, "-m", "gomcu", "check", str(refmw), "--chip", "lm3s6965", "--run",
                                  "--format", "json"], ok_codes=(0, 1), env=env))
    startup = best_of(5, command([sys.executable, "-m", "gomcu", "--version"]))
    print(f"gomcu --version (start-up only): {startup:.3f} s")
    print(f"gomcu check (static) on {path.name} ({path.stat().st_size / 1024:.0f} KiB), first run: {first:.3f} s")
    print(f"gomcu check (static) on {path.name}, cached: {cached:.3f} s")
    print(f"gomcu check --run on {refmw.name}: {run:.3f} s")
    if shutil.which("arm-none-eabi-size"):
        size = best_of(3, command(["arm-none-eabi-size", str(path)]))
        print(f"arm-none-eabi-size on the same ELF: {size:.4f} s (footprint totals only); "
              f"gomcu check takes {first / size:.0f}x that on a first run, {cached / size:.0f}x cached")
    if shutil.which("arm-none-eabi-objdump"):
        objdump = best_of(3, command(["arm-none-eabi-objdump", "-d", str(path)]))
        print(f"arm-none-eabi-objdump -d on the same ELF: {objdump:.3f} s (a listing to read by hand); "
              f"gomcu check takes {first / objdump:.1f}x that on a first run, {cached / objdump:.1f}x cached")
    if shutil.which("qemu-system-arm"):
        qemu = best_of(3, command(["qemu-system-arm", "-M", "lm3s6965evb", "-nographic", "-monitor", "none",
                                   "-serial", "stdio", "-semihosting-config", "enable=on,target=native",
                                   "-kernel", str(refmw)], ok_codes=(0, 1)))
        print(f"qemu-system-arm running {refmw.name}: {qemu:.3f} s (program output only, no measurements); "
              f"gomcu check --run takes {run / qemu:.1f}x that")


if __name__ == "__main__":
    main()
