"""The interface every architecture module implements, and the choice of one for an image."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from gomcu.code.types import Insn
from gomcu.errors import ImageError
from gomcu.image import Arch, Image

ReadWord = Callable[[int], "int | None"]
Read = Callable[[int, int], "bytes | None"]


class Decoder(Protocol):
    """Decodes code bytes into `Insn` summaries; knows its architecture's conventions."""

    name: str
    #: bytes a call instruction leaves on the stack before the callee runs (0: return address in a register)
    call_push: int
    #: registers that carry the first call arguments, in order
    arg_regs: tuple[int, ...]
    #: registers a call clobbers (constants in them do not survive a call)
    clobbered: frozenset[int]
    #: smallest instruction size (bytes), for resynchronising after undecodable bytes
    min_size: int

    def decode(self, code: bytes, address: int, read_word: ReadWord) -> list[Insn]:
        """Every instruction in `code` (which starts at `address`), INVALID entries for holes."""
        ...

    def jump_table(self, insn: Insn, read: Read, limit: int) -> list[int]:
        """Targets of a JUMP_TABLE instruction whose table ends before `limit`."""
        ...

    def register(self, name: str) -> int:
        """The number this decoder uses for a register named in assembly ("r9", "sb", "a0", "x10")."""
        ...


def register_numbers(cs: object, count: int, aliases: dict[str, str]) -> dict[str, int]:
    """name -> capstone register number, with the architecture's other spellings."""
    names: dict[str, int] = {}
    for number in range(1, count):
        name = cs.reg_name(number)  # type: ignore[attr-defined]
        if name:
            names.setdefault(name, number)
    for alias, name in aliases.items():
        if name in names:
            names[alias] = names[name]
    return names


def decoder_for(image: Image) -> Decoder:
    if image.arch is Arch.ARM:
        from gomcu.code.arch_thumb import ThumbDecoder

        return ThumbDecoder(image.core)
    if image.arch is Arch.RISCV32:
        from gomcu.code.arch_riscv import RiscvDecoder

        return RiscvDecoder(compressed="C" in image.core.removeprefix("RV32"))
    raise ImageError(f"{image.path}: no disassembler for {image.arch}")  # pragma: no cover
