"""The interrupt-context limit: handlers and what they reach (static), priorities as the firmware
sets them and latency under injected interrupts (emulated), one verdict.

`analyse` gathers everything into an `IrqReport`; `evaluate` turns it into the `LimitResult`
`gomcu check` shows. The parts live in irq_static (call-graph proof, instruction counts),
irq_priorities (NVIC/SCB read-back and checks) and irq_latency (campaign, causes, fitted model).
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gomcu.code import CodeModel, model as code_model
from gomcu.emu.clock import cycles_to_us
from gomcu.findings import Figure, Finding, Location, Origin, Severity, status_of
from gomcu.image import Arch, Image
from gomcu.limits import irq_join, irq_latency, irq_priorities, irq_static, rtos_rules, stack, syscall_level
from gomcu.limits.irq_join import SourceJoin
from gomcu.limits.rtos_rules import RtosRules
from gomcu.limits.stack import StackReport
from gomcu.limits.irq_latency import Campaign
from gomcu.limits.irq_priorities import PriorityState
from gomcu.limits.irq_static import Handler, VectorProblem
from gomcu.limits.result import LimitResult
from gomcu.runtime.profile import RuntimeProfile, detect_profile

if TYPE_CHECKING:
    from gomcu.chips import Chip

RULES = {
    "alloc": "irq.alloc-in-handler",
    "gc": "irq.gc-in-handler",
    "block": "irq.block-in-handler",
    "scheduler": "irq.scheduler-in-handler",
    "panic": "irq.panic-in-handler",
    "print": "irq.print-in-handler",
    "runtime_check": "irq.runtime-check-in-handler",
}


@dataclass(frozen=True)
class IrqReport:
    path: str
    arch: str
    core: str
    runtime: str | None
    chip: str | None
    clock_hz: int | None
    handlers: tuple[Handler, ...]
    vector_problems: tuple[VectorProblem, ...]
    priorities: PriorityState | None
    campaign: Campaign | None
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]
    source: SourceJoin | None = None  # --src: the Go source joined to the binary
    via_source: tuple[str, ...] = ()  # handlers whose proof goes through a call resolved from source
    rtos: RtosRules | None = None  # an RTOS's interrupt rules (FreeRTOS: configMAX_SYSCALL_INTERRUPT_PRIORITY)


def analyse(image: Image, chip: Chip | None = None, profile: RuntimeProfile | None = None, run: bool = False,
            inject: int | None = None, count: int = irq_latency.DEFAULT_COUNT,
            period_us: float = irq_latency.DEFAULT_PERIOD_US, seed: int = 1,
            stack_report: StackReport | None = None, source: SourceJoin | None = None,
            max_insns: int = irq_latency.MAX_INSNS, timeout: float = irq_latency.TIMEOUT) -> IrqReport:
    """Static proof for every handler; with `run` (or `inject`), priorities and a latency campaign.
    `stack_report`: the stack analysis already made for this image (else it is made here).
    `source`: the Go source joined to it, whose callbacks resolve the dispatchers' indirect calls."""
    model = code_model(image)
    if source is not None:
        model = source.resolve(model)
    if profile is None:
        profile = detect_profile(s.name for s in image.symbols)
    stacks = _stacks(stack_report or stack.analyse(image, model=model))
    # A growth point (Embedded Go's morestack) in a handler does not grow anything: on the ISR
    # stack it throws ("morestack on gsignal"), a stack overflow the stack bound is about.
    in_handler = model.without_calls_to(profile.growth if profile else frozenset())
    counter = irq_static.InsnCounter(in_handler)
    handlers = tuple(irq_static.analyse_handler(image, in_handler, r, profile, stacks, counter)
                     for r in irq_static.handler_roots(model))
    problems = irq_static.vector_problems(image, model)
    notes: list[str] = []
    if profile is None:
        notes.append("no runtime profile matches this firmware: nothing is known to be unsafe, so no handler "
                     "can be proved clean")
    else:
        notes.append(f"runtime profile: {profile.name}")
        if profile.name == "tinygo":
            notes.append(irq_priorities.TINYGO_NOTE)
    if not model.vector_table:
        notes.append("no vector table found (RISC-V images have none; trap handlers come from mtvec)")
    priorities = campaign = None
    if (run or inject is not None) and image.arch is Arch.ARM:
        priorities = irq_priorities.read_back(image, model, handlers, chip)
        irq = inject if inject is not None else default_irq(handlers, priorities)
        if irq is not None:
            owner = next((h for h in handlers if irq in h.irqs), None)
            campaign = irq_latency.run_campaign(image, model, profile, chip, irq, count, period_us, seed=seed,
                                                priorities=priorities, handler=owner.name if owner else None,
                                                max_insns=max_insns, timeout=timeout)
        else:
            notes.append("no enabled IRQ with a handler of its own: no latency campaign")
    elif run or inject is not None:
        notes.append(f"priorities and latency need a Cortex-M firmware (this is {image.arch.value})")
    clock = campaign.clock_hz if campaign is not None else (chip.clock_hz if chip is not None else None)
    findings = _findings(image, handlers, problems, priorities, campaign, clock, source)
    if source is not None:
        notes.extend(source.notes)
    if profile is not None and profile.interrupts.get("syscall_priority") is not None and image.arch is Arch.ARM:
        from gomcu.code.priorities import find

        bits = chip.nvic_priority_bits if chip is not None else None
        level_findings, level_notes = syscall_level.check(model, profile, handlers, find(model, profile, bits or 8),
                                                          priorities, bits)
        findings.extend(level_findings)
        notes.extend(level_notes)
    rtos = None
    if profile is not None and profile.rtos and image.arch is Arch.ARM:
        rtos = rtos_rules.check(model, profile, handlers, priorities, chip.nvic_priority_bits if chip else None)
        findings.extend(rtos.findings)
        notes.extend(rtos.notes)
    return IrqReport(image.path, image.arch.value, image.core, profile.name if profile else None,
                     chip.name if chip is not None else None, clock, handlers, problems, priorities, campaign,
                     tuple(findings), tuple(notes), source, _via_source(model, handlers, source), rtos)


def default_irq(handlers: tuple[Handler, ...], priorities: PriorityState) -> int | None:
    """The enabled IRQ with its own handler and the lowest priority: it waits for everything else,
    so its latency tail shows every cause."""
    own = {irq: h for h in handlers if not h.catch_all for irq in h.irqs}
    candidates = [p for p in priorities.priorities if p.exception >= 16 and p.enabled and (p.exception - 16) in own]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.implemented, -p.exception)).exception - 16


def _stacks(report: StackReport) -> dict[str, tuple[int, bool]]:
    """Each handler's worst-case stack from the stack analysis (exception frame included)."""
    return {r.name: (r.bound_bytes, r.bounded) for r in report.roots}


def _findings(image: Image, handlers: tuple[Handler, ...], problems: tuple[VectorProblem, ...],
              priorities: PriorityState | None, campaign: Campaign | None, clock: int | None,
              source: SourceJoin | None = None) -> list[Finding]:
    out: list[Finding] = irq_join.findings(source) if source is not None else []
    for p in problems:
        sev = Severity.ERROR if p.problem == "outside-code" else Severity.WARNING
        rule = "irq.vector-outside-code" if p.problem == "outside-code" else "irq.handler-without-symbol"
        out.append(Finding(rule, sev, p.detail, Location(address=p.address)))
    out.extend(_handler_findings(handlers, source))
    if priorities is not None:
        for c in priorities.checks:
            sev = {"error": Severity.ERROR, "warning": Severity.WARNING}.get(c.severity, Severity.INFO)
            out.append(Finding(c.rule, sev, c.message))
    if campaign is not None:
        outcome = campaign.outcome
        if outcome is not None and outcome.failed:
            out.append(outcome.failure("irq.run-failed"))
        elif outcome is not None and not outcome.complete:
            out.append(Finding("irq.run-partial", Severity.WARNING,
                               f"the run did not reach the program's end; latency figures are {outcome.partial_note()}", outcome.location))
        lat = campaign.latency
        if lat is not None and clock:
            tail = ", ".join(f"{k} {n}" for k, n in sorted(campaign.causes.items(), key=lambda kv: -kv[1])
                             if k != "not-enabled")
            out.append(Finding("irq.latency", Severity.INFO,
                               f"IRQ {campaign.irq} latency min {lat.min} / median {lat.median:g} / p99 {lat.p99:.0f} / "
                               f"max {lat.max} cycles (max {cycles_to_us(lat.max, clock):.1f} µs); late samples: "
                               f"{tail or 'none'}"))
    return out


def _via_source(model: CodeModel, handlers: tuple[Handler, ...], source: SourceJoin | None) -> tuple[str, ...]:
    """Handlers that reach a call the Go source resolved: their status rests on the join."""
    if source is None:
        return ()
    callers = {s.function for link in source.callbacks if link.joined for s in link.sites}
    return tuple(h.name for h in handlers if callers & model.reachable_from(h.name))


def _from_source(source: SourceJoin | None, chain: tuple[str, ...]) -> str:
    """What in a chain the Go source resolved (origin: source), so the reader knows which step it is."""
    if source is None:
        return ""
    steps = [(a, b, link) for a, b in zip(chain, chain[1:]) if (link := source.edge(a, b)) is not None]
    return "".join(f" [call {a} -> {b} resolved from source: {link.label} at {link.declared}]" for a, b, link in steps)


def _handler_findings(handlers: tuple[Handler, ...], source: SourceJoin | None = None) -> list[Finding]:
    """What each handler reaches, one finding per distinct handler body: handlers whose findings
    differ only in their own name (TinyGo's per-vector wrappers around one body, such as
    EIC_EXTINT_0..15) share one finding that lists them and their vectors."""
    groups: dict[tuple[object, ...], list[Handler]] = {}
    made: dict[tuple[object, ...], Callable[[str, str], Finding]] = {}
    for h in handlers:
        for v in h.violations:
            more = "; then " + ", ".join(" -> ".join(c) for c in v.consequences) if v.consequences else ""
            why = ""
            if v.kind == "runtime_check":
                why = " (an implicit bounds/nil/division check: it panics only if the handler has a bug)"
            elif v.kind == "assert":
                why = " (the assertion-failure path: reached only when a configASSERT fails)"
            elif v.severity is Severity.INFO:
                why = " (a fault handler that reports and stops: expected)"
            rule = RULES.get(v.kind, f"irq.{v.kind}-in-handler")
            key: tuple[object, ...] = (rule, v.severity, v.target, v.kind, v.chain[1:], more, why, v.location)

            def violation(who: str, head: str, v: Any = v, rule: str = rule, more: str = more,
                          why: str = why) -> Finding:
                return Finding(rule, v.severity, f"{who} reaches {v.target} ({v.kind}): "
                               f"{' -> '.join((head, *v.chain[1:]))}{more}{why}{_from_source(source, v.chain)}",
                               v.location, v.chain)
            groups.setdefault(key, []).append(h)
            made.setdefault(key, violation)
        if h.unresolved and not any(v.severity is Severity.ERROR for v in h.violations):
            first = h.unresolved[0]
            key = ("irq.unknown-handler", len(h.unresolved), first)

            def unknown(who: str, _head: str, n: int = len(h.unresolved), first: Any = first) -> Finding:
                return Finding("irq.unknown-handler", Severity.WARNING,
                               f"{who}: {n} unresolved indirect call(s) below it; what they reach is unknown, so it "
                               f"cannot be proved clean (first at {first})", first)
            groups.setdefault(key, []).append(h)
            made.setdefault(key, unknown)
    out = []
    for group, hs in groups.items():
        if len(hs) == 1:
            out.append(made[group](f"{hs[0].name} ({hs[0].vectors_text})", hs[0].name))
        else:
            names = [h.name for h in hs]
            vectors = [n for h in hs for n in h.vector_names]
            shown = ", ".join(vectors) if len(vectors) <= 6 else f"{', '.join(vectors[:3])}, ..., {vectors[-1]}"
            who = f"{len(hs)} handlers with one body ({names[0]} ... {names[-1]}; vectors {shown})"
            out.append(made[group](who, "<each>"))
    return out


def evaluate(image: Image, chip: Chip | None, profile: RuntimeProfile | None = None, run: bool = False) -> LimitResult:
    """The interrupt limit for `gomcu check`: fail when a handler reaches allocation, a collection,
    blocking or the scheduler; warn when one is unknown."""
    return limit_result(analyse(image, chip, profile, run=run))


#: Exceptions with fixed priorities, and the configurable faults that escalate to HardFault
#: unless enabled in SHCSR (ARMv7-M ARM B1.5.4).
_FIXED_LEVELS = {2: -2, 3: -1, 4: -1, 5: -1, 6: -1}


def preemption_levels(report: IrqReport) -> dict[str, set[int]] | None:
    """Handler -> the preemption (group) levels it can run at, from the priorities read back in
    the emulator; None when they were not read. IRQs the firmware never enabled cannot run."""
    state = report.priorities
    if state is None:
        return None
    levels: dict[str, set[int]] = {}
    for h in report.handlers:
        for vector in h.vectors:
            if vector in _FIXED_LEVELS:
                level = _FIXED_LEVELS[vector]
            else:
                p = state.of(vector)
                if p is None:
                    continue
                if vector >= 16 and not p.enabled:
                    continue
                level = state.group(p.implemented)
            levels.setdefault(h.name, set()).add(level)
    return levels


def limit_result(report: IrqReport) -> LimitResult:
    """The LimitResult for one analysed firmware (figures, findings, suggestions; the report
    itself is its typed analysis)."""
    figures = [
        Figure("handlers", len(report.handlers), "count", Origin.STATIC),
        Figure("handlers with violations", sum(1 for h in report.handlers if h.status == "violation"), "count",
               Origin.STATIC, deciding=True),
        Figure("handlers unknown", sum(1 for h in report.handlers if h.status == "unknown"), "count", Origin.STATIC),
        Figure("handlers proved clean", sum(1 for h in report.handlers if h.status == "clean"), "count", Origin.STATIC),
    ]
    if report.source is not None:
        figures += [
            Figure("callbacks joined from source", sum(cb.joined for cb in report.source.callbacks), "count", Origin.SOURCE),
            Figure("callbacks not joined", sum(not cb.joined for cb in report.source.callbacks), "count", Origin.SOURCE),
            Figure("indirect calls resolved from source", len(report.source.resolutions()), "count", Origin.SOURCE),
            Figure("handlers judged through calls resolved from source", len(report.via_source), "count", Origin.SOURCE),
        ]
    c = report.campaign
    if c is not None and c.latency is not None:
        partial = c.outcome.partial_note() if c.outcome is not None else ""
        figures += [
            Figure(f"IRQ {c.irq} worst latency", round(cycles_to_us(c.latency.max, c.clock_hz), 3), "µs",
                   Origin.EMULATED, partial=partial, deciding=True),
            Figure(f"IRQ {c.irq} p99 latency", round(cycles_to_us(c.latency.p99, c.clock_hz), 3), "µs",
                   Origin.EMULATED, partial=partial),
            Figure(f"IRQ {c.irq} median latency", c.latency.median, "cycles", Origin.EMULATED, partial=partial),
        ]
        if c.duration is not None:
            figures.append(Figure(f"IRQ {c.irq} worst handler duration",
                                  round(cycles_to_us(c.duration.max, c.clock_hz), 3), "µs", Origin.EMULATED,
                                  partial=partial))
        if c.fit.r2 is not None:
            figures.append(Figure("latency model R²", round(c.fit.r2, 4), "", Origin.EMULATED, partial=partial))
    findings = tuple(report.findings)
    suggestions = []
    if any(f.rule in ("irq.alloc-in-handler", "irq.gc-in-handler") for f in findings):
        suggestions.append("move allocation out of the handler: preallocate buffers, or hand the work to a "
                           "goroutine through a buffered channel polled outside interrupt context")
    if any(f.rule == "irq.block-in-handler" for f in findings):
        suggestions.append("never block in a handler: use a non-blocking select with a default case or a flag")
    return LimitResult("interrupts", status_of(findings), tuple(figures), findings, tuple(suggestions),
                       analysis=report)
