"""Emulator speed: gomcu's emulator vs qemu-system-arm on the reference firmware.

    python bench/bench_emu.py [ELF ...]

For each firmware: gomcu's wall time and M instructions/s with no probes and with every
probe on (stack painting of runtime stacks, allocation tracing, function timing of the
collector, a periodic injected interrupt), and qemu-system-arm's wall time for the same run.
Then the board-shaped reference firmware (examples/boards) rehosted on each chip's board (run
model, poll solver, boundary hooks): instructions, emulation wall time and M instructions/s in
this process, and the whole `gomcu run --chip` process (Python start-up, chip database, poll
solving included); the lm3s6965evb build of the same program beside qemu-system-arm.
QEMU's rate is the same instruction count over its wall time minus its start-up time
(measured on a firmware that exits after ~2,000 instructions). Timings are benchmarks, never
test assertions. It measures the gomcu that Python imports (install it first: `pip install .`, or
build the extension in place with `python setup.py build_ext --inplace`); the first line says
which one and which emulator path it runs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, describe_gomcu

from gomcu import emu, image

REFMW = ROOT / "examples" / "refmw" / "build"
BOARDS = ROOT / "examples" / "boards" / "build"
BOARD_CHIPS = {"rp2040": "RP2040", "samd51p19": "SAMD51P19", "samd21g18": "SAMD21G18", "nrf52840": "nRF52840",
               "stm32f405": "STM32F405", "stm32f103c8": "STM32F103C8"}
TINY = ROOT / "tests" / "fixtures" / "emu" / "irqdemo-m3.elf"


def qemu_wall(elf: Path, machine: str, repeat: int = 3) -> float | None:
    if shutil.which("qemu-system-arm") is None:
        return None
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(["qemu-system-arm", "-M", machine, "-nographic", "-monitor", "none", "-serial", "null",
                        "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                       capture_output=True, timeout=120)
        times.append(time.perf_counter() - t)
    return min(times)


def gomcu_wall(img: image.Image, repeat: int = 3, **kw: object) -> tuple[float, emu.RunResult]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        r = emu.run(img, **kw)  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - t)
        result = r
    assert result is not None
    return best, result


def n_or(n: int, cap: int) -> float:
    """Scale a pure-Python run capped at `cap` instructions to the full run."""
    return n / min(n, cap)


def main(argv: list[str]) -> int:
    elfs = [Path(a) for a in argv] or [REFMW / "refmw-m3.elf", REFMW / "refmw-m4f.elf",
                                       ROOT / "tests" / "fixtures" / "emu" / "benchloop.elf"]
    q_tiny = qemu_wall(TINY, "lm3s6965evb")
    print(describe_gomcu())
    print(f"{'firmware':<22} {'insns':>10} {'gomcu bare':>16} {'gomcu probes':>16} {'pure-Python':>14} "
          f"{'qemu':>16} {'qemu/gomcu':>10}")
    for elf in elfs:
        img = image.load(elf)
        t_bare, r = gomcu_wall(img)
        probes = []
        if img.symbol("internal/task.start") and img.symbol("runtime.alloc"):
            probes = [emu.StackProbe("internal/task.start", "runtime.alloc"), emu.AllocProbe("runtime.alloc")]
        if img.symbol("runtime.GC"):
            probes.append(emu.FunctionProbe("runtime.GC"))
        t_probes, rp = gomcu_wall(img, probes=probes, injections=[emu.Injection(irq=0, period_cycles=50_000)])
        t_pure, _ = gomcu_wall(img, repeat=1, native=False, max_insns=20_000_000)
        t_pure = t_pure * n_or(r.instructions, 20_000_000)
        machine = "mps2-an386" if r.board.startswith("mps2-an386") else "lm3s6965evb"
        q = qemu_wall(elf, machine)
        n = r.instructions
        if q is not None and q_tiny is not None and q - q_tiny < 0.05:
            qtxt, ratio = f"{q:6.3f}s (too short)", "n/a"
        elif q is not None and q_tiny is not None:
            q_run = max(q - q_tiny, 1e-6)
            qtxt = f"{q:6.3f}s {n / q_run / 1e6:6.0f}M/s"
            ratio = f"{(n / q_run) / (rp.instructions / t_probes):8.1f}x"
        else:
            qtxt, ratio = "n/a", "n/a"
        print(f"{elf.name:<22} {n:>10,} {t_bare:6.3f}s {n / t_bare / 1e6:6.0f}M/s "
              f"{t_probes:6.3f}s {rp.instructions / t_probes / 1e6:6.1f}M/s "
              f"{n / t_pure / 1e6:8.1f}M/s  {qtxt:>16} {ratio:>10}")
    print(f"qemu start-up (irqdemo, ~2k instructions): {q_tiny:.3f}s" if q_tiny else "qemu-system-arm not found")
    if not argv:
        boards(q_tiny)
    return 0


def boards(q_tiny: float | None) -> None:
    """The board firmware on its chip: in-process emulation and the whole CLI process."""
    from gomcu.runtime.boundary import hooks_for_image

    print(f"\n{'board firmware':<22} {'chip':<12} {'insns':>10} {'to main.main':>12} {'polls':>5} "
          f"{'emulation':>16} {'whole process':>16}")
    for name, chip in BOARD_CHIPS.items():
        elf = BOARDS / f"board-{name}.elf"
        img = image.load(elf)
        t, r = gomcu_wall(img, chip=chip, hooks=hooks_for_image(img), milestones=("main.main",))
        w = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gomcu", "run", str(elf), "--chip", chip, "--format", "json"],
                       capture_output=True, timeout=300)
        w = time.perf_counter() - w
        n = r.instructions
        print(f"{elf.name:<22} {chip:<12} {n:>10,} {r.reached.get('main.main', 0):>12,} {len(r.polls):>5} "
              f"{t:6.3f}s {n / t / 1e6:6.1f}M/s {w:6.3f}s {n / w / 1e6:6.1f}M/s  ({r.stop})")
    oracle = BOARDS / "board-lm3s6965.elf"
    if oracle.exists():
        img = image.load(oracle)
        t, r = gomcu_wall(img)
        q = qemu_wall(oracle, "lm3s6965evb")
        qtxt = f"qemu {q:.3f}s (start-up {q_tiny:.3f}s)" if q is not None and q_tiny is not None else "qemu n/a"
        print(f"{oracle.name:<22} {'lm3s6965evb':<12} {r.instructions:>10,} {'':>12} {'':>5} "
              f"{t:6.3f}s {r.instructions / t / 1e6:6.1f}M/s  {qtxt}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
