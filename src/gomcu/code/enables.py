"""Which exceptions the code can make takeable, and where (Cortex-M).

At reset no external interrupt is enabled (NVIC_ISER reads 0), SysTick does not interrupt
(SYST_CSR.TICKINT is 0) and nothing is pending: an IRQ, SysTick, PendSV or SVCall can be taken
only after some code has done one of these, so a stretch of code from which none is reachable
cannot be interrupted by it (`gomcu.limits.stack`: the handlers that can nest on the reset path).

What makes an exception takeable:
- IRQ n: a store to NVIC_ISERk (0xE000E100 + 4k) that can set bit n - 32k (a constant, or the bits
  a read-modify-write sets: the constant-store reading of `gomcu.code.priorities`), or a call of
  one of the runtime's enable functions (profile `[interrupts] enable_calls`: Embedded Go's
  `rtos.IRQ.Enable` / `irqEnable` / `irqctl`, TinyGo's `interrupt.Interrupt.Enable` and
  `arm.EnableIRQ`) with a constant IRQ number; the stores of those functions, and of
  `enable_store_functions` (the system call's handler that does the store for `irqctl`), write
  what the calls pass;
- SysTick: a write to SYST_CSR that can set TICKINT, or to ICSR that can set PENDSTSET;
- PendSV: a write to ICSR that can set PENDSVSET;
- SVCall: an `svc` instruction.

A store into the NVIC, SCB or SysTick registers through an address that is not constant, or a call
of an enable function with an IRQ number that is not constant, can make anything takeable
(`Enable.exception` None). NMI, HardFault and the configurable faults can always be taken.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from capstone import arm as A

from gomcu.code.masking import system_instructions
from gomcu.code.model import CodeModel
from gomcu.code.priorities import (_BLOCK_BASES, _STORES, _argument, _Body, _address, _derived, _stack_slot,
                                   _stored_bits, scs_bodies)

ISER_BASE, ISER_END = 0xE000E100, 0xE000E140  # 16 words: 496 IRQs
ICSR = 0xE000ED04
SHCSR = 0xE000ED24
SVCALLPENDED = 1 << 15
SYST_CSR = 0xE000E010
PENDSVSET, PENDSTSET = 1 << 28, 1 << 26
TICKINT = 1 << 1
SVCALL, PENDSV, SYSTICK = 11, 14, 15
#: exceptions that only the code can make takeable: SVCall, PendSV, SysTick and the IRQs
EXCLUDABLE = frozenset({SVCALL, PENDSV, SYSTICK})
_SPILL_BACK = 64  # instructions looked back for a stack slot's reload and its store


def excludable(exception: int) -> bool:
    """Whether `exception` is taken only once the code enabled, pended or raised it."""
    return exception in EXCLUDABLE or exception >= 16


@dataclass(frozen=True)
class Enable:
    """One place that can make an exception takeable: `exception` None when it could be any."""

    exception: int | None
    function: str
    address: int
    how: str
    #: a pend or an svc, taken at once and then gone (unless masked); an enable stays on
    transient: bool = False


def _reaches_enables(base: int | None) -> bool:
    """A base an index added to can make an enable register's address: the SCS, NVIC or SCB
    block base, the SysTick block, or an address inside ISER."""
    if base is None:
        return False
    return base in _BLOCK_BASES or base in (SYST_CSR, ICSR, SHCSR) or ISER_BASE <= base < ISER_END


def _stored(address: int, width: int, mask: int, value: int, preserved: bool) -> tuple[int, int]:
    """(word address, bits the store can set in it): the known bits it sets, and every unknown
    bit unless a read-modify-write keeps it as it was (those were set already)."""
    full = (1 << 8 * width) - 1
    can = (value & mask) | (0 if preserved else ~mask & full)
    shift = 8 * (address & 3)
    return address & ~3, (can << shift) & 0xFFFFFFFF


def _store_enables(word: int, bits: int, function: str, at: int, how: str) -> list[Enable]:
    out: list[Enable] = []
    if ISER_BASE <= word < ISER_END:
        first = 32 * ((word - ISER_BASE) // 4)
        out += [Enable(16 + first + b, function, at, f"{how} to NVIC_ISER{(word - ISER_BASE) // 4}")
                for b in range(32) if bits >> b & 1]
    elif word == ICSR:
        if bits & PENDSVSET:
            out.append(Enable(PENDSV, function, at, f"{how} to ICSR setting PENDSVSET", transient=True))
        if bits & PENDSTSET:
            out.append(Enable(SYSTICK, function, at, f"{how} to ICSR setting PENDSTSET", transient=True))
    elif word == SHCSR and bits & SVCALLPENDED:
        out.append(Enable(SVCALL, function, at, f"{how} to SHCSR setting SVCALLPENDED"))
    elif word == SYST_CSR and bits & TICKINT:
        out.append(Enable(SYSTICK, function, at, f"{how} to SYST_CSR setting TICKINT"))
    return out


def _spilled(decoded: _Body, at: int, reg: int) -> int | None:
    """The constant `reg` holds at instruction `at` when it was reloaded from a stack slot the
    function stored a constant in before (`str r0, [sp, #28]` ... `ldr r1, [sp, #28]`; Go keeps a
    register block's base there across a call): read back in address order, as `_derived` does."""
    states = decoded.states
    for j in range(at - 1, max(-1, at - 1 - _SPILL_BACK), -1):
        ins = states[j][0]
        if ins.dst == reg or reg in ins.writes:
            break
    else:
        return None
    ld = decoded.cs(j) if ins.dst == reg and not ins.writes and not ins.conditional else None
    if ld is None or ld.id != A.ARM_INS_LDR or len(ld.operands) != 2 or ld.operands[1].type != A.ARM_OP_MEM \
            or ld.operands[1].mem.base != A.ARM_REG_SP or ld.operands[1].mem.index:
        return None
    slot, lowest = ld.operands[1].mem.disp, j - _SPILL_BACK
    for k in reversed([k for k in decoded.stores if lowest <= k < j]):
        if any(states[n][0].sp_delta for n in range(k + 1, j)):
            return None
        st = decoded.cs(k)
        source = _stack_slot(st, slot, words_only=True) if st is not None else None
        if source is not None:
            v = decoded.regs(k).get(source)
            return None if v is None else v.value
    return None


def _enable_calls(profile: object | None) -> tuple[Mapping[str, Any], ...]:
    table = getattr(profile, "interrupts", None) or {}
    return tuple(table.get("enable_calls", ()))


class Enables:
    """Every place the code of a model can make an exception takeable, by function. Stores and
    calls are read once for the whole program; `svc` instructions per function when asked."""

    def __init__(self, model: CodeModel, profile: object | None) -> None:
        self.model = model
        self._svc: dict[str, tuple[Enable, ...]] = {}
        self._mask: dict[str, bool] = {}
        self.by_function: dict[str, list[Enable]] = {}
        calls = {str(s["function"]): s for s in _enable_calls(profile) if model.function(str(s["function"]))}
        covered = set(calls) | set((getattr(profile, "interrupts", None) or {}).get("enable_store_functions", ()))
        for name, decoded in scs_bodies(model).items():
            self._stores(name, decoded, name in covered)
        for fname, spec in calls.items():
            for call in model.calls_to(fname):
                if call.site.caller in calls:
                    continue  # an enable function calling another: its own callers' arguments decide
                self._call(fname, spec, call.site.caller, call.site.address, call.arguments)

    def _add(self, e: Enable) -> None:
        self.by_function.setdefault(e.function, []).append(e)

    def _stores(self, name: str, decoded: _Body, covered: bool) -> None:
        for i in decoded.stores:
            (ins, regs), cs = decoded.states[i], decoded.cs(i)
            if cs is None or cs.id not in _STORES or len(cs.operands) < 2 or cs.operands[1].type != A.ARM_OP_MEM:
                continue
            mem, width = cs.operands[1].mem, _STORES[cs.id]
            address = _address(regs, mem, len(cs.operands) > 2)
            if address is None and not mem.index and len(cs.operands) == 2:
                base = _spilled(decoded, i, mem.base)  # a base kept in a stack slot across a call
                address = None if base is None else (base + mem.disp) & 0xFFFFFFFF
            if address is None:
                if not covered and mem.base != A.ARM_REG_SP \
                        and _derived(self.model, decoded, i, mem.base, reaches=_reaches_enables):
                    self._add(Enable(None, name, ins.address, "a store through an NVIC/SCB/SysTick address that "
                                     "is not constant"))
                continue
            word = address & ~3
            if not (ISER_BASE <= word < ISER_END or word in (ICSR, SYST_CSR, SHCSR)):
                continue
            mask, value, preserved = _stored_bits(decoded, i, cs.operands[0].reg, address, width)
            word, bits = _stored(address, width, mask, value, preserved)
            for e in _store_enables(word, bits, name, ins.address, "read-modify-write" if preserved else "store"):
                self._add(e)

    def _call(self, fname: str, spec: Mapping[str, Any], caller: str, site: int, arguments: tuple[Any, ...]) -> None:
        if "control" in spec:  # Embedded Go's irqctl: a control below `enables_from` disables or reads
            ctl = _argument(self.model, site, arguments, str(spec["control"]))
            signed = ctl - (1 << 32) if ctl is not None and ctl & 0x80000000 else ctl
            if signed is not None and signed < int(spec.get("enables_from", 0)):
                return
        irq = _argument(self.model, site, arguments, str(spec["irq"]))
        if irq is None or irq >= 496:
            self._add(Enable(None, caller, site, f"a call of {fname} with an IRQ number that is not constant"))
        else:
            self._add(Enable(16 + irq, caller, site, f"a call of {fname}"))

    def of(self, name: str) -> tuple[Enable, ...]:
        """What function `name` itself does that can make an exception takeable."""
        return tuple(self.by_function.get(name, ())) + self.svcs(name)

    def svcs(self, name: str) -> tuple[Enable, ...]:
        """The svc instructions of function `name`."""
        return self._raw(name)[0]

    def masks(self, name: str) -> bool:
        """Whether function `name` changes interrupt masking (CPSID/CPSIE, MSR PRIMASK/BASEPRI/
        FAULTMASK: gomcu.code.masking's encodings): a pend may then wait for a deeper point."""
        return self._raw(name)[1]

    def _raw(self, name: str) -> tuple[tuple[Enable, ...], bool]:
        """The svc instructions of `name` and whether it masks (gomcu.code.masking's reading)."""
        if name not in self._svc:
            sites = system_instructions(self.model, name)
            self._svc[name] = tuple(Enable(SVCALL, name, s.address, "an svc instruction", transient=True)
                                    for s in sites if s.what == "SVC")
            self._mask[name] = any(s.what != "SVC" for s in sites)
        return self._svc[name], self._mask[name]

    def where(self, exception: int) -> Enable | None:
        """A place anywhere in the program that makes `exception` takeable (for the report)."""
        return next((e for es in self.by_function.values() for e in es if e.exception == exception), None)


_ENABLES: weakref.WeakKeyDictionary[CodeModel, dict[str, Enables]] = weakref.WeakKeyDictionary()


def enables(model: CodeModel, profile: object | None) -> Enables:
    """The enables of `model`'s code, kept per model and profile."""
    memo = _ENABLES.setdefault(model, {})
    key = str(getattr(profile, "name", ""))
    if key not in memo:
        memo[key] = Enables(model, profile)
    return memo[key]


@dataclass(frozen=True)
class Takeable:
    """What can be taken while some thread code runs: the handlers (those in `at_svc` only at an
    svc the thread code executes: SVCall, and what its handler pends, taken as it returns), the
    exceptions the code reached makes takeable (with one place each), a place that makes any of
    them takeable, the code (the thread's, and the handlers' taken, everything they reach) and
    the thread code's functions that execute svc."""

    handlers: frozenset[str]
    exceptions: Mapping[int, Enable]
    anything: Enable | None
    functions: frozenset[str]
    at_svc: frozenset[str] = frozenset()
    svc_functions: frozenset[str] = frozenset()


@dataclass
class _Closure:
    reach: set[str]
    enables: dict[int, list[Enable]]
    anything: Enable | None
    taken: set[str]


def _closure(model: CodeModel, found: Enables, thread: Iterable[str], handlers: Mapping[str, tuple[int, ...]],
             svc: bool = True) -> _Closure:
    """Handlers with a vector always takeable, then, until nothing changes, those whose exception
    the code reached (the thread's, and the handlers' taken so far) makes takeable; `svc` False:
    an svc instruction raises nothing (what is taken without one)."""
    out = _Closure(set(), {}, None, set())
    todo = [n for n in thread if model.function(n) is not None]
    while True:
        while todo:  # everything the new starts reach through resolved calls
            name = todo.pop()
            if name in out.reach:
                continue
            out.reach.add(name)
            for e in found.of(name):
                if e.exception is None:
                    out.anything = out.anything or e
                elif svc or not (e.exception == SVCALL and e.transient):
                    out.enables.setdefault(e.exception, []).append(e)
            fn = model.function(name)
            for c in fn.calls if fn is not None else ():
                if c.callee is not None and c.callee not in out.reach and model.function(c.callee) is not None:
                    todo.append(c.callee)
        new = [h for h, vectors in handlers.items() if h not in out.taken and any(
            not excludable(v) or out.anything is not None or v in out.enables for v in vectors)]
        if not new:
            return out
        out.taken.update(new)
        todo = [h for h in new if model.function(h) is not None]


def takeable(model: CodeModel, found: Enables, thread: Iterable[str],
             handlers: Mapping[str, tuple[int, ...]]) -> Takeable:
    """The handlers that can run while the functions `thread` reach run. Those taken only because
    the thread code executes svc are `at_svc` when nothing else can make them takeable: every way
    the code reached makes them takeable is a pend or an svc, nothing reached masks interrupts
    (a pend is then taken at once, not at a deeper point), and no handler taken without an svc
    executes one (SVCall would nest on it)."""
    thread = [n for n in thread if model.function(n) is not None]
    full = _closure(model, found, thread, handlers)
    exceptions = {v: es[0] for v, es in full.enables.items()}
    if full.anything is not None:
        return Takeable(frozenset(full.taken), exceptions, full.anything, frozenset(full.reach))
    own = _closure(model, found, thread, {})
    svcs = frozenset(f for f in own.reach if found.svcs(f))
    alone = _closure(model, found, thread, handlers, svc=False)
    late = full.taken - alone.taken
    ok = late and not any(found.masks(f) for f in alone.reach) \
        and not any(found.svcs(f) for f in alone.reach - own.reach) \
        and all(e.transient for h in late for v in handlers[h] for e in full.enables.get(v, ()))
    return Takeable(frozenset(full.taken), exceptions, None, frozenset(full.reach),
                    frozenset(late) if ok else frozenset(), svcs)
