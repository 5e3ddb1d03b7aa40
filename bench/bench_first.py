"""Time the first run of `gomcu check` (static, nothing cached): a TinyGo-built ELF and an
Embedded Go-shaped one from the repository's reference firmware, and any ELF named on the
command line (a real build: issue 18 case 12 asks for a 1.3 MB TinyGo ELF in at most 1.0 s,
issue 21 item 7 for a 1 MB Embedded Go ELF in at most 2 s).

Usage: python bench/bench_first.py [FIRMWARE.elf ...]
Each figure is the median of 3 runs with `--no-cache`, wall time and the child's user CPU time
(the steadier one on a shared machine), after a warm-up run that writes the bytecode to a
temporary folder as pip does when it installs the package. Ratios: to gomcu's own start-up
(`gomcu --version`) and to `arm-none-eabi-objdump -d` on the same file (a listing to read by hand).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from common import ROOT, Timing, command, describe_gomcu, timed

#: The repository's own firmware of each shape.
REFERENCE = {"TinyGo-built": ROOT / "tests" / "fixtures" / "tinygoz" / "tinygoz.elf",
             "Embedded Go-shaped": ROOT / "examples" / "embeddedgo" / "egofw.elf"}


def _warm(args: list[str], env: dict[str, str | None]) -> Timing:
    """`args` run once (its bytecode written), then timed."""
    command(args, ok_codes=(0, 1), env=env)()
    return timed(3, command(args, ok_codes=(0, 1), env=env))


def main() -> None:
    print(describe_gomcu())
    targets = [*REFERENCE.items(), *(("given", Path(p)) for p in sys.argv[1:])]
    gomcu = [sys.executable, "-m", "gomcu"]
    with tempfile.TemporaryDirectory(prefix="gomcu-bench-") as work:
        env: dict[str, str | None] = {"XDG_CACHE_HOME": f"{work}/cache", "PYTHONPYCACHEPREFIX": f"{work}/bytecode",
                                      "PYTHONDONTWRITEBYTECODE": None, "GOMCU_NO_CACHE": "1"}
        startup = _warm([*gomcu, "--version"], env)
        print(f"gomcu --version (start-up only): {startup}")
        for kind, path in targets:
            first = _warm([*gomcu, "check", str(path), "--format", "json", "--no-cache"], env)
            line = (f"gomcu check (static, first run) on {path.name} ({kind}, {path.stat().st_size / 1024:.0f} KiB): "
                    f"{first} ({first.wall / startup.wall:.1f}x start-up)")
            if shutil.which("arm-none-eabi-objdump"):
                objdump = timed(3, command(["arm-none-eabi-objdump", "-d", str(path)]))
                line += f"; arm-none-eabi-objdump -d {objdump.wall:.3f} s ({first.wall / objdump.wall:.1f}x)"
            print(line)


if __name__ == "__main__":
    main()
