"""The runtime profile's `[source]` table as a small typed object: which packages are the
interrupt, volatile and unsafe ones, and which calls into other packages allocate, block,
print, or are known safe. Data, not code paths (docs/architecture.md: a profile is data)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from gomcu.errors import GomcuError
from gomcu.runtime.profile import RuntimeProfile, load_profile


@dataclass(frozen=True)
class CallbackApi:
    """An API whose callback argument runs in interrupt context (profile `[[source.callbacks]]`)."""

    api: str                      # "machine.Pin.SetInterrupt" or "machine.EnableCDC"
    arguments: int
    callbacks: tuple[int, ...]    # indexes of the callback arguments
    signature: str                # the callback's parameter types as source spells them
    dispatchers: tuple[str, ...]  # symbol globs of the binary's functions that call the callbacks

    @property
    def receiver(self) -> str | None:
        """"machine.Pin" for a method, None for a package function."""
        path, _, rest = self.api.rpartition("/")
        parts = rest.split(".")
        return (f"{path}/" if path else "") + ".".join(parts[:-1]) if len(parts) == 3 else None

    @property
    def member(self) -> str:
        return self.api.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class SourceNames:
    interrupt_package: str
    volatile_package: str
    unsafe_package: str
    allocating_calls: tuple[str, ...]
    blocking_calls: tuple[str, ...]
    printing_calls: tuple[str, ...]
    printing_builtins: tuple[str, ...]
    safe_calls: tuple[str, ...]
    callbacks: tuple[CallbackApi, ...] = ()
    export_handlers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # arch -> name globs
    value_types: dict[str, tuple[str, ...]] = field(default_factory=dict)      # type -> value globs

    @classmethod
    def from_profile(cls, profile: RuntimeProfile | None = None) -> SourceNames:
        table = (profile or load_profile("tinygo")).source
        name = profile.name if profile else "tinygo"
        if not table:
            raise GomcuError(f"runtime profile {name!r} has no [source] table")

        def names(key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in table.get(key, ()))

        return cls(
            interrupt_package=str(table.get("interrupt_package", "runtime/interrupt")),
            volatile_package=str(table.get("volatile_package", "runtime/volatile")),
            unsafe_package=str(table.get("unsafe_package", "unsafe")),
            allocating_calls=names("allocating_calls"),
            blocking_calls=names("blocking_calls"),
            printing_calls=names("printing_calls"),
            printing_builtins=names("printing_builtins"),
            safe_calls=names("safe_calls"),
            callbacks=tuple(_callback(c, name) for c in table.get("callbacks", ())),
            export_handlers={str(k): tuple(str(p) for p in v) for k, v in table.get("export_handlers", {}).items()},
            value_types={str(k): tuple(str(p) for p in v) for k, v in table.get("value_types", {}).items()},
        )

    def categories(self, callee: str) -> tuple[str, ...]:
        """The categories (block, alloc, print) a call into another package falls in."""
        out = []
        for category, patterns in (("block", self.blocking_calls), ("alloc", self.allocating_calls),
                                   ("print", self.printing_calls)):
            if any(fnmatch.fnmatchcase(callee, p) for p in patterns):
                out.append(category)
        return tuple(out)

    def is_safe(self, callee: str) -> bool:
        return any(fnmatch.fnmatchcase(callee, p) for p in self.safe_calls)

    def callback_apis(self, member: str, arguments: int) -> tuple[CallbackApi, ...]:
        """The callback APIs a call `x.member(...)` with that many arguments can be."""
        return tuple(c for c in self.callbacks if c.member == member and c.arguments == arguments)

    def is_export_handler(self, name: str, arch: str | None = None) -> bool:
        """An exported name that makes a function a vector's handler (any architecture by default)."""
        tables = [self.export_handlers.get(arch, ())] if arch else list(self.export_handlers.values())
        return any(fnmatch.fnmatchcase(name, p) for t in tables for p in t)

    def value_type(self, qualified: str) -> str | None:
        """The type of another package's value by its name ("machine.LED" -> "machine.Pin")."""
        for typ, patterns in self.value_types.items():
            if any(fnmatch.fnmatchcase(qualified, p) for p in patterns):
                return typ
        return None


def _callback(entry: Any, profile: str) -> CallbackApi:
    try:
        return CallbackApi(str(entry["api"]), int(entry["arguments"]), tuple(int(i) for i in entry["callbacks"]),
                           str(entry.get("signature", "")), tuple(str(d) for d in entry.get("dispatchers", ())))
    except (KeyError, TypeError, ValueError) as error:
        raise GomcuError(f"runtime profile {profile!r}: invalid [[source.callbacks]] entry ({error})") from None
