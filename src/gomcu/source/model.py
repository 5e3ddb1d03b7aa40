"""What the Go source says, as plain values: functions with the constructs and calls in their
bodies, `go` statements, interrupt registrations and MMIO pointers. Built by extract.py; judged
by the rule modules. Nothing here knows tree-sitter.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    """file:line:column (1-based) of a construct in the user's package."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Construct:
    """A language construct that matters in interrupt context.

    kind: make, new, append, address-of-literal, slice-literal, map-literal, string-concat,
    closure, conversion, send, receive, select, go, defer, panic, print.
    category: alloc, block, go, defer, panic or print; "fine" for what looks unsafe but is not
    (a select with a default case never blocks).
    """

    kind: str
    category: str
    text: str
    position: Position
    in_loop: bool


class CallKind(str, enum.Enum):
    LOCAL = "local"          # a function declared in the package, by name
    METHOD = "method"        # a method declared in the package (by receiver type, else by name)
    LITERAL = "literal"      # a function literal of the package
    EXTERNAL = "external"    # a function or method of another package (callee: "path.Name")
    VALUE = "value"          # a function value (parameter, variable, field): cannot be followed
    INTERFACE = "interface"  # a method of an interface type: cannot be followed


@dataclass(frozen=True)
class Call:
    callee: str
    kind: CallKind
    position: Position
    in_loop: bool
    receiver_type: str | None = None  # for METHOD calls whose receiver type is known


@dataclass(frozen=True)
class GoStatement:
    function: str       # the function the statement is in
    target: str         # the started function, or "func literal"
    literal: str | None  # the literal's function name when it is one
    position: Position
    in_loop: bool


@dataclass(frozen=True)
class Function:
    """A function, method (name "T.m") or function literal (name "outer.func1") of the package."""

    name: str
    position: Position
    constructs: tuple[Construct, ...]
    calls: tuple[Call, ...]
    receiver: str | None = None   # receiver type name, for methods
    method: str | None = None     # bare method name, for methods
    literal: bool = False
    link: str = ""                # TinyGo's name without the package: "f", "(*T).m", "f$1", "(T).m$1$2"
    exported: str | None = None   # the //export name, when there is one

    def compiled_name(self, package_path: str) -> str:
        """The symbol TinyGo gives this function in package `package_path` (literals: `pkg.fn$N`)."""
        if self.exported:
            return self.exported
        if self.link.startswith("("):
            star = "*" if self.link.startswith("(*") else ""
            return f"({star}{package_path}.{self.link[1 + len(star):]}"
        return f"{package_path}.{self.link}"


class Form(str, enum.Enum):
    """How code is made to run in interrupt context."""

    INTERRUPT_NEW = "interrupt.New"  # interrupt.New(irq, handler)
    CALLBACK = "callback"            # a callback given to an API the profile lists (pin.SetInterrupt)
    EXPORT = "export"                # //export SysTick_Handler on a plain function


@dataclass(frozen=True)
class Registration:
    """Code registered to run in interrupt context."""

    irq: str                 # the IRQ expression; a callback's receiver (or API); the exported name
    handler: str             # function name (a literal's synthetic name) or the expression text
    resolved: bool           # the handler names a function of the package
    literal: bool
    position: Position
    function: str            # where the registration is
    form: Form = Form.INTERRUPT_NEW
    apis: tuple[str, ...] = ()  # callback: the profile's APIs the call can be
    how: str = ""            # callback: literal, function, method value, variable; or why not followed

    @property
    def label(self) -> str:
        """What the user wrote, as a report names it."""
        if self.form is Form.CALLBACK:
            member = self.apis[0].rsplit(".", 1)[-1] if self.apis else "?"
            return f"{self.irq}.{member} callback" if self.irq else f"{self.apis[0]} callback"
        if self.form is Form.EXPORT:
            return f"//export {self.irq}"
        return f"interrupt {self.irq}"


@dataclass(frozen=True)
class MmioPointer:
    """(*T)(unsafe.Pointer(<integer address>)): a pointer made from a constant address."""

    type_text: str
    address_text: str
    volatile: bool
    variable: str | None      # the variable it is stored in, when it is
    position: Position
    function: str


@dataclass(frozen=True)
class MmioAccess:
    """A read or write through a non-volatile MMIO pointer."""

    variable: str | None
    write: bool
    text: str
    position: Position
    function: str


@dataclass(frozen=True)
class Package:
    name: str
    directory: str
    files: tuple[str, ...]
    functions: tuple[Function, ...]
    registrations: tuple[Registration, ...]
    goroutines: tuple[GoStatement, ...]
    mmio_pointers: tuple[MmioPointer, ...]
    mmio_accesses: tuple[MmioAccess, ...]
    notes: tuple[str, ...]

    def named(self, name: str) -> tuple[Function, ...]:
        return tuple(f for f in self.functions if f.name == name)

    def methods(self, method: str, receiver: str | None = None) -> tuple[Function, ...]:
        return tuple(f for f in self.functions
                     if f.method == method and (receiver is None or f.receiver == receiver))
