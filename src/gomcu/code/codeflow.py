"""Which bytes of a function are code when no mapping symbols say so.

Go's linker (and any stripped image) writes no `$t`/`$d` symbols, and puts literal pools and
tables inside a function's bounds. Decoding the bounds linearly reads that data as instructions
(stack adjustments that are not there, `blxns sp`, undecodable words). Here the function's code is
what control flow reaches from its entry: straight-line runs that end at an unconditional branch
or return, the targets of its branches, and never a word a pc-relative load reads as data.
A function with a computed jump keeps its linear decode (less the literal words): its cases are
unknown, and unknown code is kept, not dropped, so no call or frame it may run is lost.
"""

from __future__ import annotations

from collections.abc import Callable

from gomcu.code.types import Insn, Kind

Decode = Callable[[int, int], list[Insn]]  # (start, end) -> instructions decoded from start
Table = Callable[[Insn], list[int]]  # a TBB/TBH -> its targets

_ENDS = (Kind.RETURN, Kind.BRANCH, Kind.TRAP)


def reachable_code(insns: list[Insn], start: int, end: int, decode: Decode, table: Table) -> list[Insn]:
    """The instructions reached from `start` (in address order), literal pool words excluded.

    `insns` is the linear decode of [start, end); `decode` re-decodes from an address a branch
    reaches that the linear decode did not start an instruction at (after a pool)."""
    by_address = {i.address: i for i in insns}
    data: set[int] = set()
    for _ in range(8):  # a newly found literal can cut a run walked earlier: walk again
        reached, literals = _walk(by_address, start, end, data, decode, table)
        if literals <= data:
            break
        data |= literals
        if literals.isdisjoint(reached):
            break  # no instruction walked is one of them: walking again would go the same way
    if any(i.kind is Kind.INDIRECT_JUMP for i in reached.values()):
        # a computed jump (an inline switch table on ARMv6-M) may reach anything after it: keep
        # the linear decode, less the literal words, rather than drop cases it jumps to
        return [i for i in insns if not data.intersection(range(i.address, i.address + i.size))]
    return sorted(reached.values(), key=lambda i: i.address)


def _walk(by_address: dict[int, Insn], start: int, end: int, data: set[int],
          decode: Decode, table: Table) -> tuple[dict[int, Insn], set[int]]:
    reached: dict[int, Insn] = {}
    literals: set[int] = set()
    work = [start]
    while work:
        address = work.pop()
        while start <= address < end and address not in reached and address not in data:
            ins = by_address.get(address)
            if ins is None:
                for found in decode(address, end):
                    by_address.setdefault(found.address, found)
                ins = by_address.get(address)
                if ins is None:
                    break
            reached[address] = ins
            if ins.literal is not None:
                literals.update(range(ins.literal & ~1, ins.literal + max(ins.literal_bytes, 2), 2))
            if ins.kind is Kind.BRANCH and ins.target is not None and start <= ins.target < end:
                work.append(ins.target)
            if ins.kind is Kind.JUMP_TABLE:  # the cases; the table itself is data
                work.extend(t for t in table(ins) if start <= t < end)
                break
            if ins.kind in _ENDS and not ins.conditional:
                break
            address += ins.size
    return reached, literals
