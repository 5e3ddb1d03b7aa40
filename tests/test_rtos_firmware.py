"""The reference RTOS (examples/rtos: FreeRTOS's API names and Cortex-M3 port structure, our own
kernel) holds: it rebuilds bit-identically, QEMU prints its recorded output, and the emulator
prints the same - which needs the CMSDK timers' interrupts (40 queue items come from TIMER0 and
TIMER1 handlers) and the mps2 board found from the UART address the code builds with MOV.W."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gomcu import emu, image

RTOS = Path(__file__).resolve().parent.parent / "examples" / "rtos"
BUILDS = ("rtos-m3", "rtos-m3-basepri4")


def _elf(build: str) -> Path:
    return RTOS / "build" / f"{build}.elf"


def _expected(build: str) -> str:
    return (RTOS / "expected" / f"{build}.out").read_text()


def test_rebuild_is_bit_identical(tmp_path: Path) -> None:
    for tool in ("make", "arm-none-eabi-gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    proc = subprocess.run(["make", "-s", "-C", str(RTOS), f"BUILD={tmp_path}"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    for build in BUILDS:
        assert (tmp_path / f"{build}.elf").read_bytes() == _elf(build).read_bytes(), "run `make -C examples/rtos`"
        variant = build.removeprefix("rtos-")
        committed = {p.name: p.read_text() for p in (RTOS / "build" / variant).glob("*.su")}
        assert committed and committed == {p.name: p.read_text() for p in (tmp_path / variant).glob("*.su")}


@pytest.mark.parametrize("build", BUILDS)
def test_qemu_prints_the_recorded_output(build: str) -> None:
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm is not installed")
    proc = subprocess.run(["qemu-system-arm", "-M", "mps2-an385", "-nographic", "-monitor", "none", "-serial",
                           "stdio", "-semihosting-config", "enable=on,target=native", "-kernel", str(_elf(build))],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert proc.stdout == _expected(build)
    assert proc.returncode == 1  # the overflowing task is caught by the stack check


@pytest.mark.parametrize("build", BUILDS)
def test_emulator_prints_what_qemu_prints(build: str) -> None:
    r = emu.run(image.load(_elf(build)))
    assert r.board == "mps2-an385" and "UART address" in r.board_reason
    assert r.stop == "exit" and r.exit_code == 1, r.message
    assert r.streams["uart0"] == _expected(build)
    # the timers' handlers ran through the NVIC model, as did the software-pended UART interrupt
    assert r.exception_counts["IRQ8"] > 0 and r.exception_counts["IRQ9"] > 0
    assert r.exception_counts["IRQ0"] == 1
