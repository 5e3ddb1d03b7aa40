"""A runtime's per-target constants, chosen by the binary's own build tags.

Embedded Go compiles one of runtime/const_noos_*.go per GOTARGET build tag (GOGC, the smallest
goroutine stack, the stack guard, and noosScaleDown, which divides maxstacksize); the tag is in
the build information the linker embeds (`-tags`, gomcu.image.gobuild). The profile lists the
targets as data (`[memory.targets.NAME]`: tags, source, gogc, max_stack_bytes...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gomcu.image import Image
from gomcu.image.gobuild import read_go_build
from gomcu.runtime.profile import RuntimeProfile


@dataclass(frozen=True)
class TargetConstants:
    """The constants one target's runtime is built with, and where they come from."""

    name: str
    tag: str  # the build tag that selected them
    source: str  # the runtime file that defines them
    gogc: int | None
    max_stack_bytes: int | None
    stack_min_bytes: int | None
    stack_guard_bytes: int | None

    @property
    def origin(self) -> str:
        return f"{self.source}, selected by build tag {self.tag}"


def _int(table: dict[str, Any], key: str) -> int | None:
    value = table.get(key)
    return int(value) if value is not None else None


def target_constants(image: Image, profile: RuntimeProfile | None) -> TargetConstants | None:
    """The profile's target whose tags the binary was built with; None when the binary carries no
    build information or no listed tag."""
    targets = profile.memory.get("targets", {}) if profile is not None else {}
    if not targets:
        return None
    build = read_go_build(image)
    if build is None:
        return None
    for name, table in targets.items():
        tag = next((t for t in build.tags if t in table.get("tags", ())), None)
        if tag is not None:
            return TargetConstants(name, tag, str(table.get("source", name)), _int(table, "gogc"),
                                   _int(table, "max_stack_bytes"), _int(table, "stack_min_bytes"),
                                   _int(table, "stack_guard_bytes"))
    return None


def memory_limit(image: Image, profile: RuntimeProfile | None) -> tuple[int, str] | None:
    """(bytes, how) of the memory limit the runtime sets itself, when the profile names its
    symbols (`memory_limit`: symbol pairs whose spans add up, as rt0_go sums noosMem.size)."""
    spans = profile.memory.get("memory_limit", ()) if profile is not None else ()
    total, parts = 0, []
    for pair in spans:
        start, end = (image.symbol(str(n)) for n in pair)
        if start is None or end is None:
            return None
        total += end.address - start.address
        parts.append(f"({end.name} - {start.name})")
    return (total, " + ".join(parts)) if parts else None
