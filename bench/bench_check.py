"""Time `gomcu check`: start-up alone, a static check of the largest ELF on a first run and
cached (the stored result of the same check), and with --run on the reference firmware.

Usage: python bench/bench_check.py [FIRMWARE.elf [CHIP]]
Targets (issue 18, case 12): a 1.3 MB TinyGo ELF in at most 1.0 s on a first run and 0.3 s when
cached; (issue 21, item 7) a 1 MB Embedded Go ELF in at most 2 s. With --run the emulation dominates.
Each figure is the median of a few runs, wall time and the child's user CPU time (the steadier
one on a shared machine). Compared in the same run with Python's own start-up and the plain tools
a user would otherwise chain: arm-none-eabi-size (footprint only), objdump and qemu-system-arm
running the same reference firmware (output only). Everything gomcu writes goes to a temporary
folder: the cache (the user's own is neither read nor written) and the bytecode, written by a
warm-up run as pip writes it when it installs a package, even where PYTHONDONTWRITEBYTECODE is set
(without it every run compiles every module again, about 0.25 s).
"""

from __future__ import annotations

import shutil
import sys
import tempfile

from common import ROOT, Timing, best_of, command, describe_gomcu, largest_elf, timed


def _warm(args: list[str], env: dict[str, str | None]) -> Timing:
    """`args` run once (its bytecode written), then timed."""
    command(args, ok_codes=(0, 1), env=env)()
    return timed(5, command(args, ok_codes=(0, 1), env=env))


def main() -> None:
    print(describe_gomcu())
    path = largest_elf(sys.argv)
    chip = sys.argv[2] if len(sys.argv) > 2 else None
    refmw = ROOT / "examples" / "refmw" / "build" / "refmw-m3.elf"
    chip_args = ["--chip", chip] if chip else []
    gomcu = [sys.executable, "-m", "gomcu"]
    check = [*gomcu, "check", str(path), *chip_args]
    with tempfile.TemporaryDirectory(prefix="gomcu-bench-") as work:
        env: dict[str, str | None] = {"XDG_CACHE_HOME": f"{work}/cache", "PYTHONPYCACHEPREFIX": f"{work}/bytecode",
                                      "PYTHONDONTWRITEBYTECODE": None}
        python = _warm([sys.executable, "-c", "pass"], env)
        startup = _warm([*gomcu, "--version"], env)
        command([*check, "--format", "json", "--no-cache"], ok_codes=(0, 1), env=env)()
        first = timed(3, command([*check, "--format", "json", "--no-cache"], ok_codes=(0, 1), env=env))
        cached = _warm([*check, "--format", "json"], env)  # the warm-up run stores the result
        cached_text = _warm(check, env)
        run = _warm([*gomcu, "check", str(refmw), "--chip", "lm3s6965", "--run", "--format", "json"], env)
    size_kib = path.stat().st_size / 1024
    print(f"python -c pass (the interpreter's own start-up): {python}")
    print(f"gomcu --version (start-up only): {startup}")
    print(f"gomcu check (static) on {path.name} ({size_kib:.0f} KiB), --format json, first run: {first}")
    print(f"gomcu check (static) on {path.name}, --format json, cached: {cached} "
          f"({cached.wall / startup.wall:.1f}x start-up; the first run takes {first.wall / cached.wall:.0f}x this)")
    print(f"gomcu check (static) on {path.name}, text, cached: {cached_text} "
          f"({cached_text.wall / startup.wall:.1f}x start-up)")
    print(f"gomcu check --run on {refmw.name}: {run}")
    if shutil.which("arm-none-eabi-size"):
        size = best_of(3, command(["arm-none-eabi-size", str(path)]))
        print(f"arm-none-eabi-size on the same ELF: {size:.4f} s (footprint totals only); "
              f"gomcu check takes {first.wall / size:.0f}x that on a first run, {cached.wall / size:.0f}x cached")
    if shutil.which("arm-none-eabi-objdump"):
        objdump = best_of(3, command(["arm-none-eabi-objdump", "-d", str(path)]))
        print(f"arm-none-eabi-objdump -d on the same ELF: {objdump:.3f} s (a listing to read by hand); "
              f"gomcu check takes {first.wall / objdump:.1f}x that on a first run, {cached.wall / objdump:.1f}x cached")
    if shutil.which("qemu-system-arm"):
        qemu = best_of(3, command(["qemu-system-arm", "-M", "lm3s6965evb", "-nographic", "-monitor", "none",
                                   "-serial", "stdio", "-semihosting-config", "enable=on,target=native",
                                   "-kernel", str(refmw)], ok_codes=(0, 1)))
        print(f"qemu-system-arm running {refmw.name}: {qemu:.3f} s (program output only, no measurements); "
              f"gomcu check --run takes {run.wall / qemu:.1f}x that")


if __name__ == "__main__":
    main()
