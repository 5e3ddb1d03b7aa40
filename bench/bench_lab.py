"""`gomcu lab` campaign speed: a 64-run campaign on the reference firmware with -j 1, -j 2 and on a
two-worker dask LocalCluster (loopback), in one run of this script.

    python bench/bench_lab.py [RUNS]

Each configuration starts from an empty cache. Printed: wall time, speed-up over -j 1, and the
scheduling overhead per run: (wall x workers - wall of -j 1) / runs, i.e. what each run costs
beyond its own work (process start-up, transfer of the ELF and of the outcome). Timings are
benchmarks, never test assertions.
"""

from __future__ import annotations

import sys
import tempfile
import time

from common import ROOT, describe_gomcu

from gomcu.lab import cache, engine
from gomcu.lab.experiments import EXPERIMENTS, LabInputs
from gomcu.lab.inputs import read_firmware


def campaign(runs: int) -> tuple[list, dict[str, bytes]]:
    firmware, data = read_firmware([str(ROOT / "examples" / "refmw" / "build" / "refmw-m3.elf")])
    heaps = tuple(8192 + 2048 * i for i in range(8))
    periods = tuple(float(100 + 25 * i) for i in range(max(1, runs // len(heaps))))
    inputs = LabInputs(firmware=firmware, chips=("lm3s6965",), heap_sizes=heaps, irq=0, periods_us=periods, count=20)
    specs = EXPERIMENTS["jitter"].expand(inputs)[:runs]
    return specs, data


def timed(specs: list, data: dict[str, bytes], **kw: object) -> tuple[float, engine.CampaignStats]:
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        _outcomes, stats = engine.run_all(specs, data, cache=cache.Cache(directory), **kw)  # type: ignore[arg-type]
        return time.perf_counter() - start, stats


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 64
    print(describe_gomcu())
    specs, data = campaign(runs)
    print(f"campaign: {len(specs)} jitter runs (refmw-m3, 20 injections each, 8 heap sizes x periods)")
    one, stats = timed(specs, data, jobs=1)
    print(f"-j 1            {one:7.2f} s  ({one / len(specs) * 1000:.0f} ms per run, {stats.where})")
    two, stats = timed(specs, data, jobs=2)
    print(f"-j 2            {two:7.2f} s  speed-up {one / two:4.2f}x  overhead {(two * 2 - one) / len(specs) * 1000:6.1f} "
          f"ms per run  ({stats.where})")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("dask LocalCluster: distributed is not installed (pip install 'gomcu[cluster]')")
        return 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        dask, stats = timed(specs, data, cluster=client)
    print(f"dask 2 workers  {dask:7.2f} s  speed-up {one / dask:4.2f}x  overhead {(dask * 2 - one) / len(specs) * 1000:6.1f} "
          f"ms per run  ({stats.where}; cluster start-up not counted)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
