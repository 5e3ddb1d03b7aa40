"""Value types of the code model: decoded instructions, frames, call sites, roots.

The rest of gomcu sees these (ints, enums, strings), never capstone objects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple


class Kind(enum.IntEnum):
    """What an instruction does to control flow or the stack pointer."""

    OTHER = 0
    CALL = 1  # BL / BLX imm / JAL ra: direct call, target known
    INDIRECT_CALL = 2  # BLX reg / JALR ra: call through a register
    BRANCH = 3  # B / Bcc / CBZ / J / BEQ...: target known (inside or outside the function)
    INDIRECT_JUMP = 4  # BX reg (not lr) / LDR pc / JR reg (not ra): computed jump or tail call
    JUMP_TABLE = 5  # TBB / TBH: targets read from the table that follows
    RETURN = 6  # BX lr / POP {..pc} / RET
    STACK_ADJUST = 7  # PUSH / SUB sp,#n / VPUSH / ADDI sp,sp,-n (and their releases)
    DYNAMIC_STACK = 8  # SUB sp, rX / alloca: frame size unknown statically
    STACK_SWITCH = 9  # MOV sp, rX / MSR MSP / LDR sp: sp set from a value, not an offset
    TRAP = 10  # UDF / BKPT / EBREAK: does not fall through
    INVALID = 11  # bytes capstone could not decode


class Insn(NamedTuple):
    """One decoded instruction, summarised.

    `sp_delta` is the change of sp it makes (negative when it allocates). `conditional` marks
    instructions executed under a condition (IT blocks, Bcc): a conditional branch or return
    also falls through. `dst`/`value`/`load_base`/`load_offset`/`copy_from`/`add_low` describe how
    it sets a register, so that constants can be propagated (gomcu.code.constprop); `writes` lists
    the other registers it overwrites, which then hold nothing known.

    A named tuple, not a dataclass: a firmware has tens of thousands of instructions, and a frozen
    dataclass's `__init__` (one `object.__setattr__` per field) cost more than decoding them;
    a tuple is built in one step, is as immutable, and pickles as its fields.
    """

    address: int
    size: int
    kind: Kind = Kind.OTHER
    target: int | None = None
    sp_delta: int = 0
    conditional: bool = False
    reg: int | None = None  # the register of an indirect call/jump
    dst: int | None = None
    value: int | None = None  # dst = value (mov imm, literal load, adr, movw/lui...)
    value_high: int | None = None  # movt / upper half: dst = (dst & 0xffff) | value_high << 16
    add_low: int | None = None  # dst = (copy_from, else dst) + add_low: adds of constants, auipc/lui + addi
    load_base: int | None = None  # dst = mem[load_base + load_offset]
    load_offset: int = 0
    copy_from: int | None = None  # dst = copy_from
    fpu: bool = False  # touches floating-point registers
    sp_from_reg: int | None = None  # frame-pointer setup: reg = sp + sp_from_offset
    sp_from_offset: int = 0
    csr: int | None = None  # RISC-V: CSR written from `reg` (mtvec: the trap vector)
    alu: str | None = None  # dst = (copy_from, else dst) <alu> alu_imm: "lsl", "lsr", "and", "orr", "eor", "bic"
    alu_imm: int = 0
    reads: tuple[int, ...] | None = None  # core registers it reads (None: the decoder does not say)
    writes: tuple[int, ...] = ()  # every register it writes besides `dst` (ldm/pop lists, writeback bases)
    literal: int | None = None  # address of the pc-relative data it loads (a literal pool word: not code)
    literal_bytes: int = 0

    @property
    def end(self) -> int:
        return self.address + self.size


@dataclass(frozen=True)
class CallSite:
    """A call (or tail call) from one function to another, or an unresolved indirect one."""

    address: int
    caller: str
    callee: str | None  # None: unresolved
    callee_address: int | None
    kind: str  # "call", "tail-call", "indirect-call", "indirect-jump"
    stack_depth: int  # bytes the caller has on the stack at this site (its frame so far)
    resolved_by: str | None = None  # "literal", "movw/movt", "auipc", ... for indirect calls


@dataclass(frozen=True)
class Frame:
    """A function's own stack use: the deepest sp offset any path reaches."""

    bytes: int
    dynamic: bool  # sub sp, rX / alloca: `bytes` is only the static part
    notes: tuple[str, ...] = ()

    @property
    def bounded(self) -> bool:
        return not self.dynamic


@dataclass(frozen=True)
class Function:
    """A function as the code model sees it."""

    name: str
    address: int
    size: int
    frame: Frame
    calls: tuple[CallSite, ...]
    uses_fpu: bool = False
    aliases: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def frame_bytes(self) -> int | None:
        """The static frame, None when it is dynamic."""
        return None if self.frame.dynamic else self.frame.bytes

    @property
    def callees(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for c in self.calls:
            if c.callee is not None:
                seen.setdefault(c.callee, None)
        return tuple(seen)

    @property
    def unresolved(self) -> tuple[CallSite, ...]:
        return tuple(c for c in self.calls if c.callee is None)


class RootKind(str, enum.Enum):
    RESET = "reset"
    EXCEPTION = "exception"
    IRQ = "irq"
    GOROUTINE = "goroutine"
    TASK = "task"  # a C task started with a constant entry


@dataclass(frozen=True)
class VectorEntry:
    """One word of the vector table: number 0 is the initial sp, 1 reset, 16+n IRQ n."""

    number: int
    name: str  # "Reset", "NMI", "HardFault", ..., "IRQ3"
    address: int  # handler address (Thumb bit cleared), or the raw word for entry 0
    handler: str | None  # the function there, or None


@dataclass(frozen=True)
class Root:
    """Where execution starts: reset, an exception or IRQ handler, a goroutine or task entry."""

    name: str
    kind: RootKind
    address: int
    vectors: tuple[int, ...] = ()  # vector numbers (16+n = IRQ n); several when handlers are shared
    stack_slot: int | None = None  # goroutine: index into internal/task.stackSizes
    stack_size: int | None = None  # goroutine/task: size given at its creation when known
    evidence: str = ""
    stack_source: str = ""  # where stack_size comes from when not a stack-size table slot

    @property
    def irqs(self) -> tuple[int, ...]:
        return tuple(v - 16 for v in self.vectors if v >= 16)


@dataclass(frozen=True)
class Cycle:
    """A recursion: functions in a strongly connected component of the call graph."""

    functions: tuple[str, ...]  # one elementary cycle, in call order, the first repeated at the end implied
    bytes_per_iteration: int
    component: tuple[str, ...] = field(default=())  # the whole SCC
