"""Stack frames from the instructions: the sp offset at every instruction, by data flow.

The offset is propagated along the function's control flow (fall-through, branches, jump
tables), so shrink-wrapped prologues, several epilogues and conditional returns come out right.
The frame is the deepest offset any path reaches; it is what GCC's `-fstack-usage` calls the
static stack usage of the function.
"""

from __future__ import annotations

from dataclasses import dataclass

from gomcu.code.types import Frame, Insn, Kind

_NO_FALLTHROUGH = (Kind.RETURN, Kind.INDIRECT_JUMP, Kind.TRAP, Kind.JUMP_TABLE)
_PLAIN = (Kind.OTHER, Kind.CALL, Kind.INDIRECT_CALL)  # fall through; sp moves only by their sp_delta
_MAX_VISITS = 16


@dataclass(frozen=True)
class FrameResult:
    frame: Frame
    depth_at: dict[int, int]  # instruction address -> bytes on the stack before it runs


def analyse_frame(insns: list[Insn], start: int, end: int, tables: dict[int, list[int]]) -> FrameResult:
    """Propagate the sp offset from the entry through `insns` (the body of [start, end))."""
    index = {ins.address: i for i, ins in enumerate(insns)}
    depth: list[int | None] = [None] * len(insns)
    visits = [0] * len(insns)
    fp: dict[int, int] = {}  # register -> stack depth it points at (frame pointer)
    notes: list[str] = []
    dynamic = False
    deepest = 0
    # alloca on cores without `sub sp, rX` sets sp from a computed register and later restores it
    # from a frame pointer; a stack switch (tinygo_swapTask's `mov sp, r0`) never restores it.
    fp_regs = {i.sp_from_reg for i in insns if i.sp_from_reg is not None}
    restores = any(i.kind is Kind.STACK_SWITCH and i.reg in fp_regs for i in insns)

    def step(i: int, d: int) -> list[tuple[int, int]]:
        nonlocal dynamic, deepest
        ins = insns[i]
        out = d
        k = ins.kind
        if ins.sp_from_reg is not None:
            fp[ins.sp_from_reg] = d - ins.sp_from_offset
        if k is Kind.DYNAMIC_STACK:
            dynamic = True
        elif k is Kind.STACK_SWITCH:
            if ins.reg is not None and ins.reg in fp:
                out = fp[ins.reg] - ins.sp_delta
            elif ins.reg is not None and restores:
                # sp copied earlier, then set from another register: alloca on cores without
                # `sub sp, rX` (ARMv6-M: mov r2, sp; subs r3, r2, r3; mov sp, r3)
                dynamic = True
            else:
                note = f"sp loaded with a new value at 0x{ins.address:x} (stack switch)"
                if note not in notes:
                    notes.append(note)
        elif ins.sp_delta and not (ins.conditional and k is Kind.RETURN):
            out = d - ins.sp_delta
        deepest = max(deepest, out)
        succ: list[tuple[int, int]] = []
        # A branch back to the entry finds sp where the caller left it (the entry is depth 0 by
        # definition): Go's morestack tail (`bl morestack; b entry`) is reached by falling through
        # from a call that never returns (panicIndex), whose pushed depth must not loop around.
        if (k is Kind.BRANCH and ins.target is not None and start < ins.target < end
                and ins.target in index):
            succ.append((index[ins.target], out))
        if k is Kind.JUMP_TABLE:
            succ.extend((index[t], out) for t in tables.get(ins.address, ()) if t in index)
        falls = not ((k in _NO_FALLTHROUGH or k is Kind.BRANCH) and not ins.conditional)
        if k is Kind.RETURN and ins.conditional:
            out = d  # the return did not happen: sp unchanged on the fall-through path
        if falls and i + 1 < len(insns):
            succ.append((i + 1, out))
        return succ

    def run(seeds: list[tuple[int, int]]) -> None:
        nonlocal deepest
        work = seeds
        count = len(insns)
        while work:
            i, d = work.pop()
            while True:  # the last successor (the fall-through) goes on at once, as if pushed and popped
                known = depth[i]
                if known is not None and known >= d:
                    break
                visits[i] += 1
                if visits[i] > _MAX_VISITS:
                    note = f"sp keeps changing around a loop at 0x{insns[i].address:x}"
                    if note not in notes:
                        notes.append(note)
                    break
                depth[i] = d
                ins = insns[i]
                if ins.kind in _PLAIN and not ins.sp_delta and ins.sp_from_reg is None:
                    # what `step` does with an instruction that leaves sp alone and falls through
                    deepest = max(deepest, d)
                    if i + 1 >= count:
                        break
                    i += 1
                    continue
                succ = step(i, d)
                if not succ:
                    break
                i, d = succ.pop()
                work.extend(succ)

    if insns:
        run([(0, 0)])
        # Code the flow did not reach (after computed jumps, noreturn calls): continue linearly
        # from the previous instruction, or from the deepest offset seen when that one ended a path.
        for i in range(len(insns)):
            if depth[i] is None:
                prev = insns[i - 1] if i else None
                seed = deepest
                prev_depth = depth[i - 1] if i else None
                if prev is not None and prev_depth is not None and prev.kind in (Kind.OTHER, Kind.CALL, Kind.INDIRECT_CALL):
                    seed = prev_depth - prev.sp_delta
                run([(i, max(seed, 0))])
    depth_at = {ins.address: d for ins, d in zip(insns, depth) if d is not None}
    if dynamic:
        notes.insert(0, "dynamic stack allocation (sub sp by a register / alloca)")
    return FrameResult(Frame(deepest, dynamic, tuple(notes)), depth_at)
