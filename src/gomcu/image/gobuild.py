"""The build information Go's linker embeds (`go:buildinfo`): the toolchain version and the build
settings (`-tags`, `GOARM`, `-ldflags`...), as `go version -m` prints them.

Embedded Go's runtime takes its per-target constants (GOGC, maxstacksize) from the GOTARGET build
tag and enables the FPU only without `GOARM=...,softfloat`, so these settings say what the binary
does. Layout (Go 1.18+, src/debug/buildinfo): a 32-byte header "\\xff Go buildinf:", pointer size,
flags (bit 1: strings inline), then two varint-prefixed strings, the version and the module info
(framed by 16 sentinel bytes), whose lines are tab-separated: "build\\tKEY=VALUE".
"""

from __future__ import annotations

from dataclasses import dataclass

from gomcu.image.elf import Image

MAGIC = b"\xff Go buildinf:"
HEADER = 32
SENTINEL = 16
SYMBOL = "go:buildinfo"


@dataclass(frozen=True)
class GoBuild:
    """What `go version -m` would print for the binary."""

    version: str
    settings: tuple[tuple[str, str], ...]  # ("-tags", "stm32f407"), ("GOARM", "7,softfloat")...

    def setting(self, key: str) -> str | None:
        return next((v for k, v in self.settings if k == key), None)

    @property
    def tags(self) -> tuple[str, ...]:
        value = self.setting("-tags") or ""
        return tuple(t for t in value.split(",") if t)

    @property
    def soft_float(self) -> bool | None:
        """GOARM's float mode: True for softfloat, False for hardfloat, None when not set."""
        goarm = self.setting("GOARM")
        if goarm is None:
            return None
        return "softfloat" in goarm.split(",")


def _uvarint(data: bytes, at: int) -> tuple[int, int] | None:
    value = shift = 0
    while at < len(data):
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
    return None


def read_go_build(image: Image) -> GoBuild | None:
    """The build information, when the binary carries it inline (Go 1.18+); None otherwise."""
    sym = image.symbol(SYMBOL)
    section = image.section(".go.buildinfo")
    address = sym.address if sym is not None else section.vma if section is not None else None
    if address is None:
        return None
    head = image.read(address, HEADER)
    if not head or not head.startswith(MAGIC) or not head[15] & 2:
        return None
    holder = image.section_at(address)
    end = holder.end if holder is not None else address + HEADER
    data = image.read(address + HEADER, min(4096, end - address - HEADER)) or b""
    strings: list[str] = []
    at = 0
    for _ in range(2):
        found = _uvarint(data, at)
        if found is None or found[1] + found[0] > len(data):
            return None
        size, at = found
        strings.append(data[at : at + size].decode("utf-8", "replace"))
        at += size
    version, modinfo = strings
    if len(modinfo) >= 2 * SENTINEL:
        modinfo = modinfo[SENTINEL:-SENTINEL]
    settings = []
    for line in modinfo.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "build" and "=" in rest:
            key, _, value = rest.partition("=")
            settings.append((key, value.strip('"')))
    return GoBuild(version, tuple(settings))
