"""The runtime profile's `[source]` table as a small typed object: which packages are the
interrupt, volatile and unsafe ones, and which calls into other packages allocate, block,
print, or are known safe. Data, not code paths (docs/architecture.md: a profile is data)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from gomcu.errors import GomcuError
from gomcu.runtime.profile import RuntimeProfile, load_profile


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

    @classmethod
    def from_profile(cls, profile: RuntimeProfile | None = None) -> SourceNames:
        table = (profile or load_profile("tinygo")).source
        if not table:
            name = profile.name if profile else "tinygo"
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
