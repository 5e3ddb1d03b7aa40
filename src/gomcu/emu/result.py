"""What a run measured: frozen value types, no unicorn objects (the rest of gomcu reads these)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class StackUse:
    """High-water of one stack, by painting: `used` bytes of `size` were ever written.

    `kind`: "msp" (the main stack from the vector table) or "runtime" (created while running,
    found through the stack probe, and named by its `start`). `overflow` means the whole painted
    area was used."""

    name: str
    kind: str
    bottom: int
    top: int
    size: int
    used: int
    created_cycle: int = 0
    overflow: bool = False
    #: the function the runtime passed when it created the stack (a goroutine's start), when known
    start: str | None = None


@dataclass(frozen=True)
class FunctionTiming:
    """Calls of one function: instructions inclusive of callees, and with exception handlers'
    instructions subtracted (`exclusive_of_interrupts`). `unfinished` calls never returned."""

    name: str
    address: int
    calls: int
    total_insns: int
    total_excl_interrupts: int
    min_insns: int
    max_insns: int
    max_cycles: int
    unfinished: int = 0


@dataclass(frozen=True)
class Allocation:
    """One call of the traced allocator: requested size (r0 at entry), caller (return address),
    result (r0 at return; None if it never returned), cost in instructions and cycles."""

    cycle: int
    size: int
    caller: int
    caller_name: str | None
    result: int | None
    insns: int
    cycles: int
    in_exception: int  # IPSR at the call (0: thread mode)


@dataclass(frozen=True)
class InterruptSample:
    """One exception taken: pend -> first handler instruction (latency) and handler duration.

    `pc_at_pend`/`function_at_pend`/`active_at_pend` say what was running when it became
    pending (for attributing latency, e.g. to a garbage collection in progress)."""

    exception: int
    name: str
    injected: bool
    pend_cycle: int
    entry_cycle: int
    latency_cycles: int
    exit_cycle: int | None
    duration_cycles: int | None
    exclusive_cycles: int | None
    pc_at_pend: int
    function_at_pend: str | None
    active_at_pend: int
    tail_chained: bool
    #: the handler returned to another stack than the one it interrupted (a context switch)
    switched: bool = False


@dataclass(frozen=True)
class MmioRecord:
    address: int
    first_pc: int
    first_is_write: bool
    reads: int
    writes: int
    peripheral: str | None = None  # the block's name from the chip's run model


@dataclass(frozen=True)
class PollDecision:
    """An answer the poll solver gave: reads of `address` by the instruction at `pc` return
    `value` in the bits of `mask` (the rest reads what was written), because `why`.

    `also_at`: other instructions of the same loop that read the address get the same answer.
    `previous` is what the model answered before (the loop stayed on it), `reads` how many reads
    with no write showed the spin, `instructions` when it was decided; `exit_*` is the branch
    that leaves the loop (often in a caller of an accessor function)."""

    address: int
    peripheral: str | None
    pc: int
    function: str | None
    line: str | None
    value: int
    mask: int
    previous: int
    reads: int
    instructions: int
    exit_pc: int | None
    exit_function: str | None
    exit_line: str | None
    why: str
    also_at: tuple[int, ...] = ()  # other instructions in the loop reading it, answered the same
    key_pc: int = 0  # the block the run was in when it read the address (answers are kept per block)


@dataclass(frozen=True)
class Span:
    """One interval a `SpanProbe` measured: from the entry of its `begin` function to the return
    of its `end` function (cycles include interrupts taken meanwhile). `opened_by` is the
    function that called `begin`; `end_cycle` None: still open when the run stopped."""

    name: str
    opened_by: str | None
    start_cycle: int
    end_cycle: int | None
    instructions: int | None

    @property
    def cycles(self) -> int | None:
        return None if self.end_cycle is None else self.end_cycle - self.start_cycle


@dataclass(frozen=True)
class MpuRegion:
    """One enabled MPU region as the firmware wrote it: `access` is privileged/unprivileged
    rights ("rw/rw", "-/-" for none), `srd` the subregion-disable bits."""

    number: int
    base: int
    size: int
    enabled: bool
    ap: int
    access: str
    xn: bool
    srd: int


@dataclass(frozen=True)
class MpuState:
    """The MPU configuration at the end of the run; `guards` are the no-access ranges the
    emulator checked on every access (a fault there stops the run as MemManage)."""

    enabled: bool
    privdefena: bool
    hfnmiena: bool
    regions: tuple[MpuRegion, ...]
    guards: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Fault:
    """Why the machine stopped abnormally, with registers and a backtrace of return addresses."""

    message: str
    pc: int
    registers: dict[str, int]
    backtrace: tuple[str, ...]


@dataclass(frozen=True)
class NvicState:
    """What the firmware left in the NVIC/SCB when the run stopped: the priorities it wrote
    (as the board keeps them), which IRQs it enabled, and PRIGROUP."""

    priorities: dict[int, int]  # exception number -> priority byte
    enabled: tuple[int, ...]  # exception numbers (16 + IRQ) enabled in NVIC ISER
    prigroup: int
    priority_bits: int
    #: the longest chain of exceptions active at once (outermost first): the nesting really seen
    deepest: tuple[int, ...] = ()


@dataclass(frozen=True)
class HookUse:
    """A boundary hook the caller asked for: where it was found, and how often it answered.

    `address` None: the firmware has no such function (inlined or not linked); `applied` False:
    found but not applied (a QEMU board, whose devices are modelled, or a fallback hook on a chip
    whose timer is modelled)."""

    function: str
    action: str
    address: int | None
    applied: bool
    calls: int


@dataclass(frozen=True)
class RunResult:
    board: str
    board_reason: str
    core: str
    clock_hz: int
    stop: str              # exit | budget | timeout | fault | deadlock | reset | spin
    message: str
    exit_code: int | None
    output: str            # everything printed, in order (UARTs and semihosting)
    streams: dict[str, str]
    instructions: int
    cycles: int
    idle_cycles: int
    time_us: float
    stacks: tuple[StackUse, ...]
    functions: tuple[FunctionTiming, ...]
    allocations: tuple[Allocation, ...]
    interrupts: tuple[InterruptSample, ...]
    exception_counts: dict[str, int]
    unknown_mmio: tuple[MmioRecord, ...]
    fault: Fault | None
    wall_seconds: float
    native_timebase: bool
    notes: tuple[str, ...] = field(default_factory=tuple)
    nvic: NvicState | None = None
    hooks: tuple[HookUse, ...] = ()
    #: instructions executed when a given function was first entered (e.g. main.main), if asked
    reached: dict[str, int] = field(default_factory=dict)
    polls: tuple[PollDecision, ...] = ()
    #: With `profile_blocks`: (block address, thread-mode, handler-mode instructions); they add up
    #: to `instructions`.
    blocks: tuple[tuple[int, int, int], ...] = ()
    #: (address, bytes) of the image's writable sections at the end, when a snapshot was asked for
    ram: tuple[tuple[int, bytes], ...] = ()
    #: intervals the span probes measured (e.g. a collector's stop-the-world pauses)
    spans: tuple[Span, ...] = ()
    #: the MPU as the firmware configured it (None: it never wrote the MPU's registers)
    mpu: MpuState | None = None
    #: where the run stopped (the faulting pc for a fault) and SP there
    stop_pc: int | None = None
    stop_sp: int | None = None
    #: return addresses of the calls that led to `stop_pc`, innermost first (read off the stack)
    return_addresses: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.stop == "exit"

    @property
    def mips(self) -> float:
        return self.instructions / self.wall_seconds / 1e6 if self.wall_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("ram")  # raw memory is for analyses, not for reports
        return out

    def read(self, address: int, size: int) -> bytes | None:
        """Bytes of the end-of-run snapshot, when [address, address+size) lies in one section of it."""
        for base, data in self.ram:
            if base <= address and address + size <= base + len(data):
                return data[address - base:address - base + size]
        return None
