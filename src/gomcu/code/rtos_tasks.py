"""RTOS tasks as roots: every call of a task-creation function (FreeRTOS's xTaskCreate and
friends, named with their argument positions in the runtime profile) whose entry function is a
constant at the call site becomes a root, with the stack it is given (depth × word size) and the
task's name string. Calls whose entry or depth is not a constant are kept as unresolved, with
their call site, so a report can say which tasks it could not check.

Arguments are the register values the code model's constant propagation knows at the call
(`CodeModel.calls_to`: r0-r3, through the caller's registers when a helper makes the call), or,
for the Restricted variants, the fields of a constant TaskParameters_t in read-only memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gomcu.code.types import Root, RootKind
from gomcu.runtime.names import strip_clone_suffix
from gomcu.runtime.profile import RuntimeProfile, load_profile

if TYPE_CHECKING:
    from gomcu.code.model import CodeModel

ARG_REGS = 4  # AAPCS: arguments 0-3 in r0-r3, the rest on the stack (not tracked)


@dataclass(frozen=True)
class TaskCreation:
    """One call of a creation function, and what could be read of its arguments."""

    api: str
    caller: str
    address: int  # the call instruction
    entry: str | None  # the task's entry function
    entry_address: int | None
    task_name: str | None  # the pcName string
    depth_words: int | None
    stack_bytes: int | None
    missing: tuple[str, ...]  # arguments that were not constants ("entry", "depth")

    @property
    def resolved(self) -> bool:
        return self.entry is not None and self.depth_words is not None

    @property
    def where(self) -> str:
        return f"{self.api} in {self.caller} at 0x{self.address:x}"


def profile_for(model: CodeModel) -> RuntimeProfile | None:
    """The built-in RTOS profile whose creation functions the image defines."""
    rtos = load_profile("freertos")
    creators = {n for n, layout in rtos.tasks.get("create", {}).items() if not layout.get("internal")}
    return rtos if any(model.function(n) is not None for n in creators) else None


def creations(model: CodeModel, profile: RuntimeProfile | None = None) -> tuple[TaskCreation, ...]:
    """Every call of a creation function the profile names, in address order."""
    profile = profile or profile_for(model)
    if profile is None:
        return ()
    word = int(profile.tasks.get("stack_word_bytes", 4))
    table: dict[str, dict[str, Any]] = profile.tasks.get("create", {})
    creators = {strip_clone_suffix(n) for n in table}
    out: list[TaskCreation] = []
    for api, layout in table.items():
        for name in _definitions(model, api):
            for call in model.calls_to(name):
                site = call.site
                if strip_clone_suffix(site.caller) in creators:
                    continue  # a creation function passing its own parameters on
                args = tuple(a.value if a is not None else None for a in call.arguments)
                out.append(_read_call(model, api, site.caller, site.address, layout, word, args))
    return tuple(sorted(out, key=lambda c: c.address))


def _definitions(model: CodeModel, api: str) -> list[str]:
    """The function and its GCC clones (xTaskCreate.constprop.0) that the image defines."""
    return [f.name for f in model.functions if f.name == api or strip_clone_suffix(f.name) == api]


def _read_call(model: CodeModel, api: str, caller: str, address: int, layout: dict[str, Any],
               word: int, args: tuple[int | None, ...]) -> TaskCreation:
    def arg(key: str) -> int | None:
        index = layout.get(key)
        if index is None or index >= ARG_REGS or index >= len(args):
            return None
        return args[index]

    entry_value, name_value, depth = arg("entry"), arg("name"), arg("depth")
    if "parameters" in layout:
        entry_value, name_value, depth = _parameters(model, arg("parameters"))
    entry_address = model.code_address(entry_value)
    entry_fn = model.function_at(entry_address) if entry_address is not None else None
    entry = entry_fn.name if entry_fn is not None and entry_fn.address == entry_address else None
    missing = tuple(k for k, v in (("entry", entry), ("depth", depth)) if v is None)
    return TaskCreation(api, caller, address, entry, entry_address if entry else None,
                        _string(model, name_value), depth, depth * word if depth is not None else None, missing)


def _parameters(model: CodeModel, pointer: int | None) -> tuple[int | None, int | None, int | None]:
    """pvTaskCode, pcName and usStackDepth of a constant TaskParameters_t."""
    if pointer is None:
        return None, None, None
    read = model.word
    depth = read(pointer + 8)
    return read(pointer), read(pointer + 4), depth & 0xFFFF if depth is not None else None


def _string(model: CodeModel, address: int | None) -> str | None:
    if address is None or model.word(address & ~3) is None:
        return None
    section = model.image.section_at(address)
    raw = model.image.read(address, min(32, section.end - address)) if section is not None else None
    raw = raw or b""
    text = raw.split(b"\0", 1)[0]
    try:
        return text.decode("ascii") if text and text.isascii() else None
    except UnicodeDecodeError:
        return None


def task_roots(model: CodeModel, taken: set[int]) -> list[Root]:
    """One root per task entry created with constants; an entry created several times keeps its
    smallest stack (the tightest), and the evidence names every task created from it."""
    by_entry: dict[int, list[TaskCreation]] = {}
    for c in creations(model):
        if c.entry_address is not None and c.entry_address not in taken:
            by_entry.setdefault(c.entry_address, []).append(c)
    roots = []
    for address, made in by_entry.items():
        sized = [c for c in made if c.stack_bytes is not None]
        tightest = min(sized, key=lambda c: c.stack_bytes or 0) if sized else made[0]
        names = sorted({f'"{c.task_name}"' if c.task_name else "(no name)" for c in made})
        evidence = (f"task {', '.join(names)} created by {tightest.where}"
                    + (f" with {tightest.depth_words} words" if tightest.depth_words is not None else
                       " (stack depth not a constant)")
                    + (f"; created {len(made)} times, the smallest stack counts" if len(made) > 1 else ""))
        assert tightest.entry is not None
        roots.append(Root(tightest.entry, RootKind.TASK, address, stack_size=tightest.stack_bytes,
                          evidence=evidence, stack_source=f"stack depth at {tightest.where}"))
    return roots
