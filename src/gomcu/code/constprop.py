"""Constant propagation through registers, over a function's control flow.

Which registers hold a known value before each instruction: constants from literal pools,
movw/movt and lui/auipc pairs, adds of constants, copies between registers, and words loaded
from a constant address when that word is constant in the image. Values in callee-saved
registers survive calls; the registers a call clobbers do not. At a join of paths a register
stays known only when every path gives it the same value; conditional writes forget it.

A load from a known address is remembered even when the word loaded is not constant (its
`loaded_from`): a stack-size table in RAM, a task's name pointer in .data.

`propagate(...)` is architecture-neutral: it works on the `Insn` summaries the decoders make.
The code model exposes it per instruction and per call site (see `gomcu.code.model`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from gomcu.code.types import Insn, Kind

ReadWord = Callable[[int], "int | None"]
_ENDS_BLOCK = (Kind.BRANCH, Kind.RETURN, Kind.INDIRECT_JUMP, Kind.JUMP_TABLE, Kind.TRAP)
_NO_FALLTHROUGH = (Kind.RETURN, Kind.INDIRECT_JUMP, Kind.JUMP_TABLE, Kind.TRAP, Kind.BRANCH)


@dataclass(frozen=True, slots=True)
class Value:
    """What a register is known to hold. `value` None: only where it was loaded from is known."""

    value: int | None
    how: str  # "constant", "movw/movt", "constant + offset", "load from read-only data", ...
    loaded_from: int | None = None  # the address the register was loaded from, when constant

    def __reduce__(self) -> tuple[type[Value], tuple[object, ...]]:
        """Pickled as its constructor's arguments (stored code models hold many; see `Insn`)."""
        return Value, (self.value, self.how, self.loaded_from)


State = dict[int, Value]
_FLOW_ENDS = (Kind.RETURN, Kind.INDIRECT_JUMP, Kind.JUMP_TABLE, Kind.TRAP)
_CALLS = (Kind.CALL, Kind.INDIRECT_CALL)
_ALU: dict[str, Callable[[int, int], int]] = {
    "lsl": lambda a, b: a << b, "lsr": lambda a, b: a >> b, "and": lambda a, b: a & b,
    "orr": lambda a, b: a | b, "eor": lambda a, b: a ^ b, "bic": lambda a, b: a & ~b,
}


def _meet(a: State, b: Mapping[int, Value]) -> State:
    return {r: v for r, v in a.items() if b.get(r) == v}


class Propagation:
    """Register values before every instruction of one function body, from an entry state.

    `entry` is what the registers hold when the function starts: empty for a function analysed
    on its own, a caller's state at one call site for a per-call-site analysis.
    """

    def __init__(self, insns: list[Insn], start: int, end: int, tables: Mapping[int, list[int]],
                 read_word: ReadWord, clobbered: frozenset[int], entry: Mapping[int, Value] | None = None) -> None:
        self.insns = insns
        self.read_word = read_word
        self.clobbered = clobbered
        index = {ins.address: i for i, ins in enumerate(insns)}
        leaders = {0} if insns else set()
        succ_addrs: dict[int, list[int]] = {}
        for i, ins in enumerate(insns):
            if ins.kind not in _ENDS_BLOCK:  # (only those have targets; a conditional return is one)
                continue
            targets: list[int] = []
            if ins.kind is Kind.BRANCH and ins.target is not None and start <= ins.target < end and ins.target in index:
                targets.append(index[ins.target])
            if ins.kind is Kind.JUMP_TABLE:
                targets.extend(index[t] for t in tables.get(ins.address, ()) if t in index)
            leaders.update(targets)
            if i + 1 < len(insns):
                leaders.add(i + 1)
            falls = ins.conditional or ins.kind not in _NO_FALLTHROUGH
            succ_addrs[i] = targets + ([i + 1] if falls and i + 1 < len(insns) else [])
        self._leaders = sorted(leaders)
        self._block_end = {lead: nxt for lead, nxt in zip(self._leaders, self._leaders[1:] + [len(insns)])}
        self._succ: dict[int, list[int]] = {}
        for lead, stop in self._block_end.items():
            last = stop - 1
            self._succ[lead] = succ_addrs.get(last, [stop] if stop < len(insns) else [])
        self._in: dict[int, State] = {}
        self._solve(dict(entry or {}))

    def _solve(self, entry: State) -> None:
        seeds: list[tuple[int, State]] = [(0, entry)] if self.insns else []
        while seeds:
            work = []
            for lead, state in seeds:
                if self._merge(lead, state):
                    work.append(lead)
            while work:
                lead = work.pop()
                out = self._run(lead, dict(self._in[lead]))
                for nxt in self._succ[lead]:
                    if self._merge(nxt, out):
                        work.append(nxt)
            # Blocks no path reached (after computed jumps): nothing is known on entry to them.
            seeds = [(lead, {}) for lead in self._leaders if lead not in self._in]

    def _merge(self, lead: int, state: State) -> bool:
        known = self._in.get(lead)
        if known is None:
            self._in[lead] = dict(state)
            return True
        met = _meet(known, state)
        if len(met) != len(known):
            self._in[lead] = met
            return True
        return False

    def _run(self, lead: int, state: State) -> State:
        step = self.step
        for ins in self.insns[lead : self._block_end[lead]]:
            step(ins, state)
        return state

    def states(self) -> Iterator[tuple[Insn, State]]:
        """(instruction, the register values before it), in address order. Do not keep the dict."""
        for ins, state, _ in self.steps():
            yield ins, state

    def steps(self) -> Iterator[tuple[Insn, State, Value | None]]:
        """(instruction, the register values before it, what it writes to its `dst` when that is
        known and unconditional), in address order. Do not keep the dict."""
        value_written, apply, step = self.value_written, self._apply, self.step
        insns = self.insns
        for lead in self._leaders:
            state = dict(self._in.get(lead, {}))
            for ins in insns[lead : self._block_end[lead]]:
                written = value_written(ins, state) if ins.dst is not None and not ins.conditional else None
                yield ins, state, written
                if ins.kind in _CALLS:
                    step(ins, state)  # the registers a call clobbers go before its own write is worked out
                else:
                    apply(ins, state, written)

    def step(self, ins: Insn, state: State) -> None:
        """Apply one instruction to `state` (in place)."""
        if ins.kind in _CALLS:
            for r in self.clobbered:
                state.pop(r, None)
        self._apply(ins, state, self.value_written(ins, state) if ins.dst is not None and not ins.conditional else None)

    @staticmethod
    def _apply(ins: Insn, state: State, new: Value | None) -> None:
        """The rest of `step` once what the instruction writes to `dst` is known."""
        for r in ins.writes:
            state.pop(r, None)
        dst = ins.dst
        if dst is not None:
            state.pop(dst, None)
            if new is not None:
                state[dst] = new

    def value_written(self, ins: Insn, state: Mapping[int, Value]) -> Value | None:
        """What `ins` puts in its destination register, given the values before it."""
        dst = ins.dst
        if dst is None:
            return None
        if ins.value is not None:
            return Value(ins.value & 0xFFFFFFFF, "constant")
        if ins.value_high is not None:
            low = state.get(dst)
            if low is None or low.value is None:
                return None
            return Value((low.value & 0xFFFF) | (ins.value_high << 16), "movw/movt")
        if ins.add_low is not None:
            base = state.get(ins.copy_from if ins.copy_from is not None else dst)
            if base is None or base.value is None:
                return None
            how = base.how if base.how.endswith(" + offset") else f"{base.how} + offset"
            return Value((base.value + ins.add_low) & 0xFFFFFFFF, how)
        if ins.alu is not None:
            base = state.get(ins.copy_from if ins.copy_from is not None else dst)
            if base is None or base.value is None or ins.alu not in _ALU:
                return None
            return Value(_ALU[ins.alu](base.value, ins.alu_imm) & 0xFFFFFFFF, f"{base.how}, {ins.alu}")
        if ins.load_base is not None:
            base = state.get(ins.load_base)
            if base is None or base.value is None:
                return None
            address = (base.value + ins.load_offset) & 0xFFFFFFFF
            word = self.read_word(address)
            return Value(word, "load from read-only data" if word is not None else "load", loaded_from=address)
        if ins.copy_from is not None:
            return state.get(ins.copy_from)
        return None


def entry_value_read(insns: list[Insn], start: int, end: int, tables: Mapping[int, list[int]], reg: int,
                     clobbered: frozenset[int]) -> int | None | bool:
    """Where a function first reads `reg` while it may still hold the value it was entered with
    (an argument it uses): the instruction's address; False when every path overwrites it first
    (the argument is unused); None when the decoder does not say what instructions read.
    Passing it on to a call does not count as a read (the callee's arguments are not known)."""
    if any(ins.reads is None for ins in insns):
        return None
    index = {ins.address: i for i, ins in enumerate(insns)}
    seen: set[int] = set()
    work = [0] if insns else []
    while work:
        i = work.pop()
        if i in seen or i >= len(insns):
            continue
        seen.add(i)
        ins = insns[i]
        if reg in (ins.reads or ()):
            return ins.address
        overwritten = not ins.conditional and (ins.dst == reg or reg in ins.writes)
        if ins.kind in (Kind.CALL, Kind.INDIRECT_CALL) and reg in clobbered:
            overwritten = True
        if overwritten:
            continue
        if ins.kind is Kind.BRANCH and ins.target is not None and start <= ins.target < end and ins.target in index:
            work.append(index[ins.target])
            if not ins.conditional:
                continue
        if ins.kind is Kind.JUMP_TABLE:
            work.extend(index[t] for t in tables.get(ins.address, ()) if t in index)
            continue
        if ins.kind in _FLOW_ENDS and not ins.conditional:
            continue
        work.append(i + 1)
    return False
