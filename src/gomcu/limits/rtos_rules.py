"""FreeRTOS's interrupt rules (the interrupt limit's RTOS part).

configMAX_SYSCALL_INTERRUPT_PRIORITY is read from the binary: the constant the port moves into
BASEPRI (vPortRaiseBASEPRI, ulPortRaiseBASEPRI, the PendSV handler). Then:
- the value is checked against the chip's implemented priority bits: one whose implemented bits
  are all zero writes BASEPRI 0, which disables masking, so no critical section masks anything
  (QEMU's NVIC keeps 8 bits and hides it);
- a handler whose priority (read back in the emulator) is more urgent than it (numerically
  lower on Cortex-M) and that reaches any kernel function is an error: a critical section does
  not mask it, so it can enter the kernel in the middle of another kernel call;
- the kernel's own handlers (PendSV, SysTick) should sit at the lowest implemented priority.
Reaching a non-interrupt-safe function is the profile's unsafe list (irq_static); a handler at
or below the syscall level that reaches only the ...FromISR API is clean as far as FreeRTOS goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.code.masking import msr_constants
from gomcu.code.model import CodeModel
from gomcu.findings import Finding, Location, Severity
from gomcu.limits.irq_priorities import PENDSV, SYSTICK, PriorityState
from gomcu.limits.reach import chains_to
from gomcu.runtime.profile import RuntimeProfile

if TYPE_CHECKING:
    from gomcu.limits.irq_static import Handler


@dataclass(frozen=True)
class SyscallPriority:
    """configMAX_SYSCALL_INTERRUPT_PRIORITY as found in the code, and where."""

    value: int
    sites: tuple[str, ...]  # "function at 0x..." of each MSR BASEPRI with that constant
    others: tuple[int, ...]  # other non-zero constants written to BASEPRI (ambiguity)


@dataclass(frozen=True)
class RtosRules:
    """What the FreeRTOS rules found: the configured value, per-handler verdicts and findings."""

    syscall: SyscallPriority | None
    chip_bits: int | None
    checked: tuple[str, ...]  # handlers whose priority was compared with the syscall level
    above: tuple[str, ...]  # handlers more urgent than it that reach the kernel
    clean: tuple[str, ...]  # handlers that reach only the interrupt-safe API (or none)
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]


def syscall_priority(model: CodeModel) -> SyscallPriority | None:
    """The non-zero constant(s) moved into BASEPRI: the port's configMAX_SYSCALL_INTERRUPT_PRIORITY."""
    found: dict[int, list[str]] = {}
    for site, value in msr_constants(model):
        if value & 0xFF:
            found.setdefault(value & 0xFF, []).append(f"{site.function} at 0x{site.address:x}")
    if not found:
        return None
    value = max(found, key=lambda v: len(found[v]))
    return SyscallPriority(value, tuple(found[value]), tuple(sorted(v for v in found if v != value)))


def check(model: CodeModel, profile: RuntimeProfile, handlers: tuple[Handler, ...],
          priorities: PriorityState | None, chip_bits: int | None) -> RtosRules:
    """The FreeRTOS rules for one firmware. `chip_bits`: the chip's implemented priority bits
    (None when no chip is known: the value is then not judged against the silicon)."""
    rtos = profile.rtos
    port = set(rtos.get("pendsv", ())) | set(rtos.get("systick", ())) | set(rtos.get("svc", ()))
    findings: list[Finding] = []
    notes: list[str] = []
    syscall = syscall_priority(model)
    if syscall is None:
        notes.append("configMAX_SYSCALL_INTERRUPT_PRIORITY not found (no constant is moved into BASEPRI): "
                     "handler priorities cannot be checked against it")
    else:
        notes.append(f"configMAX_SYSCALL_INTERRUPT_PRIORITY = 0x{syscall.value:02X}, the constant moved into "
                     f"BASEPRI in {', '.join(syscall.sites[:3])}" + (f" (+{len(syscall.sites) - 3})" if len(syscall.sites) > 3 else ""))
        if syscall.others:
            notes.append("other non-zero BASEPRI constants: " + ", ".join(f"0x{v:02X}" for v in syscall.others))
        findings.extend(_value_findings(syscall, chip_bits))
    if priorities is not None:
        findings.extend(_kernel_priority(priorities, chip_bits))
    checked: list[str] = []
    above: list[str] = []
    clean: list[str] = []
    by_vector = {p.exception: p for p in priorities.priorities} if priorities is not None else {}
    mask = _mask(chip_bits)
    for h in handlers:
        if h.name in port or h.catch_all:
            continue
        reached = chains_to(model, h.name, profile.is_rtos_api)
        unsafe = [v for v in h.violations if v.severity is Severity.ERROR]
        unlisted = [c for c in reached if not profile.is_isr_safe(c.target) and profile.unsafe_category(c.target) is None]
        for c in unlisted:
            findings.append(Finding(
                "freertos.api-not-isr-safe", Severity.WARNING,
                f"{h.name} reaches {c.target}, a kernel function outside the interrupt-safe (...FromISR) API: "
                f"{' -> '.join(c.functions)}", Location(function=h.name, address=h.address), c.functions))
        if not unsafe and not unlisted and not h.unresolved:
            clean.append(h.name)
        if syscall is None or not by_vector:
            continue
        # every vector the handler serves counts, enabled at the end of the run or not: an IRQ whose
        # priority was never set sits at 0, the most urgent
        levels = [by_vector[v] for v in h.vectors if v in by_vector]
        if not levels:
            continue
        checked.append(h.name)
        urgent = [p for p in levels if (p.written & mask) < (syscall.value & mask)]
        if urgent and reached:
            above.append(h.name)
            chain = reached[0]
            p = urgent[0]
            findings.append(Finding(
                "freertos.api-above-max-syscall", Severity.ERROR,
                f"{h.name} ({p.name}, priority 0x{p.written & mask:02X}) is more urgent than "
                f"configMAX_SYSCALL_INTERRUPT_PRIORITY 0x{syscall.value & mask:02X} and reaches the kernel: "
                f"{' -> '.join(chain.functions)}; a critical section does not mask it",
                Location(function=h.name, address=h.address), chain.functions))
    for name in clean:
        if name not in above:
            reached_api = any(chains_to(model, name, profile.is_rtos_api))
            what = "only the interrupt-safe API" if reached_api else "no kernel function"
            findings.append(Finding("freertos.handler-clean", Severity.INFO,
                                    f"{name} reaches {what}" + (" and its priority allows it" if name in checked else ""),
                                    Location(function=name)))
    return RtosRules(syscall, chip_bits, tuple(checked), tuple(above), tuple(n for n in clean if n not in above),
                     tuple(findings), tuple(notes))


def _mask(bits: int | None) -> int:
    return (0xFF << (8 - bits)) & 0xFF if bits else 0xFF


def _value_findings(syscall: SyscallPriority, chip_bits: int | None) -> list[Finding]:
    if chip_bits is None:
        return [Finding("freertos.max-syscall-unchecked", Severity.INFO,
                        f"configMAX_SYSCALL_INTERRUPT_PRIORITY 0x{syscall.value:02X} not checked against the "
                        "silicon's priority bits: give --chip")]
    mask = _mask(chip_bits)
    kept = syscall.value & mask
    if kept == 0:
        return [Finding(
            "freertos.max-syscall-masks-nothing", Severity.ERROR,
            f"configMAX_SYSCALL_INTERRUPT_PRIORITY 0x{syscall.value:02X} keeps no bit on a chip with {chip_bits} "
            f"priority bits (mask 0x{mask:02X}): BASEPRI reads 0, which disables masking, so no critical section "
            "masks any interrupt (QEMU keeps 8 bits and hides it); use a value in the top bits, e.g. "
            f"0x{(1 << (8 - chip_bits)) * 5 & 0xFF:02X}")]
    if syscall.value & ~mask & 0xFF:
        return [Finding(
            "freertos.max-syscall-low-bits", Severity.WARNING,
            f"configMAX_SYSCALL_INTERRUPT_PRIORITY 0x{syscall.value:02X} has bits the chip does not implement "
            f"({chip_bits} bits): it acts as 0x{kept:02X} (the kernel's configASSERT in xPortStartScheduler fails)")]
    return [Finding("freertos.max-syscall-ok", Severity.INFO,
                    f"configMAX_SYSCALL_INTERRUPT_PRIORITY 0x{syscall.value:02X} uses only the chip's "
                    f"{chip_bits} implemented bits")]


def _kernel_priority(priorities: PriorityState, chip_bits: int | None) -> list[Finding]:
    """PendSV and SysTick at the lowest implemented priority (configKERNEL_INTERRUPT_PRIORITY)."""
    mask = _mask(chip_bits or priorities.chip_bits)
    out = []
    for exc, name in ((PENDSV, "PendSV"), (SYSTICK, "SysTick")):
        p = priorities.of(exc)
        if p is None:
            continue
        if p.written & mask != mask:
            out.append(Finding(
                "freertos.kernel-priority-not-lowest", Severity.WARNING,
                f"{name} is at 0x{p.written & mask:02X}, not the lowest implemented priority 0x{mask:02X}: "
                "configKERNEL_INTERRUPT_PRIORITY should be the lowest, or the tick and the switch preempt "
                "application interrupts"))
    return out
