"""FreeRTOS-shaped firmware (examples/rtos): the freertos profile is detected, every task created
with constants is a root with the stack its creation call gives it, bounds agree with GCC's
-fstack-usage frames plus what the port adds, the overflowing task fails, and the handler that
calls a non-interrupt-safe API is a violation."""

from __future__ import annotations

import re
from pathlib import Path

from gomcu import image
from gomcu.chips import find_chip
from gomcu.code import model as code_model
from gomcu.code.rtos_tasks import creations
from gomcu.code.types import RootKind
from gomcu.findings import Status
from gomcu.limits import interrupts, rtos_run, stack
from gomcu.runtime.profile import detect_profile

RTOS = Path(__file__).resolve().parent.parent / "examples" / "rtos"
ELF = RTOS / "build" / "rtos-m3.elf"


def _config() -> dict[str, int]:
    out = {}
    for m in re.finditer(r"#define (config\w+) (\d+)u?\b", (RTOS / "FreeRTOSConfig.h").read_text()):
        out[m.group(1)] = int(m.group(2))
    return out


def _created_in_source() -> dict[str, tuple[str, int]]:
    """entry function -> (task name, depth in words), from the creation calls in the C source."""
    config = _config()
    out = {}
    for path in (RTOS / "main.c", RTOS / "tasks.c"):
        for m in re.finditer(r'xTaskCreate(?:Static)?\((\w+), "([^"]+)", (\w+)', path.read_text()):
            depth = m.group(3)
            out[m.group(1)] = (m.group(2), config[depth] if depth in config else int(depth))
    return out


def _frames() -> dict[str, int]:
    """GCC's -fstack-usage frames by C function name (clone suffixes dropped)."""
    out = {}
    for su in (RTOS / "build" / "m3").glob("*.su"):
        for line in su.read_text().splitlines():
            where, size, _ = line.split("\t")
            out[where.rsplit(":", 1)[1].split(".")[0]] = int(size)
    return out


def test_profile_is_freertos() -> None:
    img = image.load(ELF)
    profile = detect_profile(s.name for s in img.symbols)
    assert profile is not None and profile.name == "freertos"


def test_every_created_task_is_a_root_with_its_stack() -> None:
    img = image.load(ELF)
    expected = _created_in_source()
    assert len(expected) == 7  # five in main.c, the idle and timer tasks in tasks.c
    tasks = {r.name: r for r in code_model(img).roots if r.kind is RootKind.TASK}
    assert set(tasks) == set(expected)
    for entry, (name, depth) in expected.items():
        assert tasks[entry].stack_size == depth * 4
        assert f'"{name}"' in tasks[entry].evidence
    assert all(c.resolved for c in creations(code_model(img)))


def test_task_bounds_are_frames_plus_what_the_port_adds() -> None:
    report = stack.analyse(image.load(ELF))
    frames = _frames()
    adder = next(r for r in report.roots if r.name == "prvAdderTask")
    # prvAdderTask calls prvSum (64 words on the stack); the port adds the exception frame (32),
    # r4-r11 saved by PendSV (32) and the 16 bytes configCHECK_FOR_STACK_OVERFLOW 2 watches
    assert [s.function.split(".")[0] for s in adder.bound.path] == ["prvAdderTask", "prvSum"]
    assert adder.bound_bytes == frames["prvAdderTask"] + frames["prvSum"] + 32 + 32 + 16
    assert adder.allotted_bytes == 512 and adder.status is Status.PASS
    overflow = next(r for r in report.roots if r.name == "prvOverflowTask")
    assert overflow.bound_bytes >= frames["prvOverflowTask"] + frames["prvDeep"] + 80
    assert overflow.status is Status.FAIL
    assert any(f.rule == "stack.under-allocated" and "prvOverflowTask" in f.message for f in report.findings)
    assert report.system is not None and report.system.allotted_bytes == 0x400  # _Min_Stack_Size


def test_handler_calling_a_non_isr_api_is_a_violation() -> None:
    report = interrupts.analyse(image.load(ELF))
    by_name = {h.name: h for h in report.handlers}
    assert by_name["TIMER1_Handler"].status == "violation"
    assert [v.target for v in by_name["TIMER1_Handler"].violations] == ["xQueueSend"]
    assert by_name["TIMER0_Handler"].status == "clean"  # xQueueSendFromISR only
    assert by_name["xPortPendSVHandler"].status == "clean"


def test_priority_rules_on_the_chip() -> None:
    """Read back in the emulator: UARTRX0 (0x20) is above configMAX_SYSCALL_INTERRUPT_PRIORITY
    (0x40, found in the port's BASEPRI writes) and reaches the kernel; TIMER0 (0x80) is fine."""
    chip = find_chip("mps2-an385")
    report = interrupts.analyse(image.load(ELF), chip, run=True)
    assert report.rtos is not None and report.rtos.syscall is not None
    assert report.rtos.syscall.value == 0x40 and not report.rtos.syscall.others
    above = [f for f in report.findings if f.rule == "freertos.api-above-max-syscall"]
    assert [f.location.function for f in above] == ["UARTRX0_Handler"]
    assert "TIMER0_Handler" in report.rtos.clean and "TIMER0_Handler" in report.rtos.checked
    assert not any(f.rule == "freertos.max-syscall-masks-nothing" for f in report.findings)
    assert not any(f.rule == "irq.pendsv-not-lowest" for f in report.findings)  # PendSV and SysTick share 0xE0


def test_syscall_priority_in_unimplemented_bits_masks_nothing() -> None:
    img = image.load(RTOS / "build" / "rtos-m3-basepri4.elf")
    report = interrupts.analyse(img, find_chip("mps2-an385"))
    assert report.rtos is not None and report.rtos.syscall is not None and report.rtos.syscall.value == 4
    assert any(f.rule == "freertos.max-syscall-masks-nothing" for f in report.findings)
    # without a chip nothing is known of the silicon's bits: said, not judged
    plain = interrupts.analyse(img)
    assert any(f.rule == "freertos.max-syscall-unchecked" for f in plain.findings)


def test_run_time_stack_use_stays_within_the_bounds() -> None:
    """Measured from the kernel's own fill byte after one emulated run: every task is found, each
    bound is >= what the task used, the overflowing task used all of its stack, and the heap's
    low-water mark is what the firmware itself prints."""
    img = image.load(ELF)
    profile = detect_profile(s.name for s in img.symbols)
    assert profile is not None
    run = rtos_run.measure(img, profile, stack.analyse(img))
    assert run.stop == "exit"
    assert {t.name for t in run.tasks} == {name for name, _ in _created_in_source().values()}
    assert not run.not_found
    for t in run.tasks:
        assert t.within_bound, (t.name, t.bound_bytes, t.used_bytes)
    overflow = next(t for t in run.tasks if t.name == "overflow")
    assert overflow.min_free_bytes == 0
    assert [f.rule for f in run.findings] == ["freertos.stack-exhausted-at-run-time"]
    printed = re.search(r"heap never below \(bytes free\): (\d+)", (RTOS / "expected" / "rtos-m3.out").read_text())
    assert printed and run.heap_min_free == int(printed.group(1))
    assert run.tick_latency is not None and run.switch_duration is not None


def test_stack_run_needs_an_rtos() -> None:
    from conftest import REFMW_BUILD, run_gomcu

    proc = run_gomcu("stack", "--run", str(REFMW_BUILD / "refmw-m3.elf"))
    assert proc.returncode == 2 and "no RTOS profile" in proc.stderr and "Traceback" not in proc.stderr
