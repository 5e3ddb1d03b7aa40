"""Time the whole stack analysis (load, disassemble, frames, call graph, roots, bounds) on an ELF.

    python bench/bench_stack.py [FIRMWARE.elf] [--repeat N]

Without a path, the largest ELF in the repository is used. Each run loads the image afresh and
the disk cache is off, so that nothing is cached between runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from common import describe_gomcu, largest_elf

from gomcu import diskcache, image
from gomcu.limits.stack import analyse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("firmware", nargs="?", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(describe_gomcu())
    diskcache.disable()
    path = args.firmware or largest_elf([])
    times = []
    report = None
    for _ in range(args.repeat):
        start = time.perf_counter()
        report = analyse(image.load(path))
        times.append(time.perf_counter() - start)
    assert report is not None
    code_bytes = sum(f.size for f in report.functions)
    print(f"{path} ({path.stat().st_size} bytes, {len(report.functions)} functions, {code_bytes} bytes of code)")
    print(f"stack analysis: best {min(times):.3f} s, median {statistics.median(times):.3f} s over {len(times)} runs")


if __name__ == "__main__":
    main()
