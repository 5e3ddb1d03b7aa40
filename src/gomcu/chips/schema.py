"""Validation of one chip database file: TOML tables in, `Chip` values out.

Every complaint names the file, the chip and the key ("stm32.toml: chip 'STM32F407':
regions[1].kind: expected one of ..."), so that a broken entry is fixed in one look. The schema is
written out here in Python rather than JSON Schema so that the cross-field rules (core versus
architecture, NVIC bits only on Arm, overlapping regions, link regions that exist) sit next to
the per-key ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from gomcu.chips.model import (
    ARCHES,
    CORE_ARCH,
    FPU_KINDS,
    REGION_KINDS,
    SUPPORT_LEVELS,
    BootLayout,
    Bootloader,
    BootStage,
    Chip,
    MemoryRegion,
)
from gomcu.errors import ChipError


@dataclass(frozen=True)
class _Key:
    """One allowed key: its checker and whether it must be present."""

    check: Callable[[Any], str | None]  # returns a complaint or None
    required: bool = True


def _str(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"expected a non-empty string, got {value!r}"
    return None


def _opt_str(value: Any) -> str | None:
    return None if isinstance(value, str) else f"expected a string, got {value!r}"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"expected true or false, got {value!r}"


def _positive_int(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return f"expected a positive integer, got {value!r}"
    return None


def _address(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        return f"expected an address (integer >= 0), got {value!r}"
    return None


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value not in choices:
            return f"expected one of {', '.join(choices)}; got {value!r}"
        return None

    return check


def _str_list(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        return f"expected a list of non-empty strings, got {value!r}"
    return None


def _lower_str_list(value: Any) -> str | None:
    problem = _str_list(value)
    if problem:
        return problem
    upper = [v for v in value if v != v.lower()]
    return f"aliases must be lowercase: {', '.join(upper)}" if upper else None


def _table(value: Any) -> str | None:
    return None if isinstance(value, dict) else f"expected a table, got {value!r}"


def _table_list(value: Any) -> str | None:
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        return None
    return f"expected an array of tables, got {value!r}"


def _nvic_bits(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 8:
        return f"expected an integer from 2 to 8, got {value!r}"
    return None


CHIP_KEYS: dict[str, _Key] = {
    "name": _Key(_str),
    "part": _Key(_str),
    "aliases": _Key(_lower_str_list),
    "vendor": _Key(_str),
    "core": _Key(_one_of(tuple(CORE_ARCH))),
    "arch": _Key(_one_of(ARCHES)),
    "clock_hz": _Key(_positive_int),
    "fpu": _Key(_one_of(FPU_KINDS)),
    "mpu": _Key(_bool),
    "nvic_priority_bits": _Key(_nvic_bits, required=False),
    "datasheet": _Key(_str),
    "notes": _Key(_opt_str, required=False),
    "link_flash": _Key(_str, required=False),
    "link_ram": _Key(_str, required=False),
    "tinygo": _Key(_table),
    "boot": _Key(_table, required=False),
    "regions": _Key(
        lambda v: None
        if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)
        else f"expected a non-empty array of tables ([[chip.regions]]), got {v!r}"
    ),
}
TINYGO_KEYS: dict[str, _Key] = {
    "targets": _Key(_str_list),
    "support": _Key(_one_of(SUPPORT_LEVELS)),
    "note": _Key(_str),
}
BOOT_KEYS: dict[str, _Key] = {
    "source": _Key(_str),
    "vector_table": _Key(_address, required=False),
    "stage2": _Key(_table, required=False),
    "bootloaders": _Key(_table_list, required=False),
}
STAGE2_KEYS: dict[str, _Key] = {
    "name": _Key(_str, required=False),
    "origin": _Key(_address),
    "length": _Key(_positive_int),
    "runs_at": _Key(_address, required=False),
    "note": _Key(_opt_str, required=False),
}
BOOTLOADER_KEYS: dict[str, _Key] = {
    "name": _Key(_str),
    "length": _Key(_positive_int),
    "boards": _Key(_lower_str_list),
    "source": _Key(_str),
}
REGION_KEYS: dict[str, _Key] = {
    "name": _Key(_str),
    "kind": _Key(_one_of(REGION_KINDS)),
    "origin": _Key(_address),
    "length": _Key(_positive_int),
    "note": _Key(_opt_str, required=False),
}


class _Checker:
    """Collects the context (file, chip) that every message carries."""

    def __init__(self, file: str, chip: str) -> None:
        self.file = file
        self.chip = chip

    def fail(self, key: str, problem: str) -> ChipError:
        return ChipError(f"{self.file}: chip {self.chip}: {key}: {problem}")

    def table(self, data: dict[str, Any], keys: dict[str, _Key], prefix: str = "") -> None:
        for key in data:
            if key not in keys:
                known = ", ".join(keys)
                raise self.fail(f"{prefix}{key}", f"unknown key (known keys: {known})")
        for key, spec in keys.items():
            if key not in data:
                if spec.required:
                    raise self.fail(f"{prefix}{key}", "missing required key")
                continue
            problem = spec.check(data[key])
            if problem:
                raise self.fail(f"{prefix}{key}", problem)


def parse_chip(data: Any, file: str, index: int) -> Chip:
    """Validate one `[[chip]]` table and build the `Chip`; raise `ChipError` on the first fault."""
    if not isinstance(data, dict):
        raise ChipError(f"{file}: chip #{index + 1}: expected a table, got {data!r}")
    label = f"'{data['name']}'" if isinstance(data.get("name"), str) else f"#{index + 1}"
    c = _Checker(file, label)
    c.table(data, CHIP_KEYS)
    c.table(data["tinygo"], TINYGO_KEYS, prefix="tinygo.")

    regions: list[MemoryRegion] = []
    for i, raw in enumerate(data["regions"]):
        c.table(raw, REGION_KEYS, prefix=f"regions[{i}].")
        regions.append(MemoryRegion(raw["name"], raw["kind"], raw["origin"], raw["length"],
                                    raw.get("note", "")))

    core, arch = data["core"], data["arch"]
    if CORE_ARCH[core] != arch:
        raise c.fail("arch", f"core {core} belongs to {CORE_ARCH[core]}, not {arch}")
    if arch == "arm" and "nvic_priority_bits" not in data:
        raise c.fail("nvic_priority_bits", "missing required key (every Arm chip has an NVIC)")
    if arch != "arm" and "nvic_priority_bits" in data:
        raise c.fail("nvic_priority_bits", f"only Arm cores have an NVIC, this is {arch}")
    if core.endswith("f") and core.startswith("cortex") and data["fpu"] == "none":
        raise c.fail("fpu", f"core {core} has an FPU but fpu = 'none'")
    if core in ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m0", "cortex-m0plus",
                "cortex-m3") and data["fpu"] != "none":
        raise c.fail("fpu", f"core {core} has no FPU (use {core}f for one with an FPU)")

    _check_regions(c, regions)
    names = [r.name for r in regions]
    link_flash = data.get("link_flash") or _first(regions, "flash", c, "link_flash")
    link_ram = data.get("link_ram") or _first(regions, "sram", c, "link_ram")
    for key, value in (("link_flash", link_flash), ("link_ram", link_ram)):
        if value not in names:
            raise c.fail(key, f"no region named {value!r} (regions: {', '.join(names)})")

    tinygo = data["tinygo"]
    if tinygo["support"] != "unsupported" and not tinygo["targets"]:
        raise c.fail("tinygo.targets", f"support is {tinygo['support']} but no target is named")

    boot = _boot(c, data.get("boot"), regions, link_flash)

    return Chip(
        name=data["name"],
        aliases=tuple(data["aliases"]),
        vendor=data["vendor"],
        core=core,
        arch=arch,
        clock_hz=data["clock_hz"],
        regions=tuple(regions),
        fpu=data["fpu"],
        mpu=data["mpu"],
        nvic_priority_bits=data.get("nvic_priority_bits"),
        tinygo_targets=tuple(tinygo["targets"]),
        tinygo_support=tinygo["support"],
        tinygo_note=tinygo["note"],
        datasheet=data["datasheet"],
        part=data["part"],
        link_flash=link_flash,
        link_ram=link_ram,
        notes=data.get("notes", ""),
        boot=boot,
        source_file=file,
    )


def _boot(c: _Checker, raw: dict[str, Any] | None, regions: list[MemoryRegion],
          link_flash: str) -> BootLayout:
    """The `boot` table: boot stages must sit in flash, the vector table after them."""
    if raw is None:
        return BootLayout()
    c.table(raw, BOOT_KEYS, prefix="boot.")
    flash = next(r for r in regions if r.name == link_flash)
    stage2 = None
    if "stage2" in raw:
        s = raw["stage2"]
        c.table(s, STAGE2_KEYS, prefix="boot.stage2.")
        stage2 = BootStage(s.get("name", "stage2"), s["origin"], s["length"], s.get("runs_at"),
                           s.get("note", ""))
        home = next((r for r in regions if r.contains(stage2.origin)), None)
        if home is None or home.kind != "flash" or stage2.end > home.end:
            raise c.fail("boot.stage2", f"[{stage2.origin:#x}, {stage2.end:#x}) is not inside "
                         "one flash region")
    vector_table = raw.get("vector_table")
    if vector_table is not None:
        if not any(r.contains(vector_table) for r in regions):
            raise c.fail("boot.vector_table", f"{vector_table:#x} is in no region")
        if stage2 is not None and stage2.origin <= vector_table < stage2.end:
            raise c.fail("boot.vector_table", f"{vector_table:#x} is inside boot.stage2")
    loaders: list[Bootloader] = []
    for i, b in enumerate(raw.get("bootloaders", ())):
        c.table(b, BOOTLOADER_KEYS, prefix=f"boot.bootloaders[{i}].")
        if b["length"] >= flash.length:
            raise c.fail(f"boot.bootloaders[{i}].length",
                         f"{b['length']:#x} leaves nothing of {flash.name} ({flash.length:#x})")
        loaders.append(Bootloader(b["name"], b["length"], tuple(b["boards"]), b["source"]))
    return BootLayout(raw["source"], vector_table, stage2, tuple(loaders))


def _first(regions: list[MemoryRegion], kind: str, c: _Checker, key: str) -> str:
    for r in regions:
        if r.kind == kind:
            return r.name
    raise c.fail(key, f"missing (no region of kind {kind!r} to default to)")


def _check_regions(c: _Checker, regions: list[MemoryRegion]) -> None:
    seen: set[str] = set()
    for i, r in enumerate(regions):
        if r.name in seen:
            raise c.fail(f"regions[{i}].name", f"duplicate region name {r.name!r}")
        seen.add(r.name)
        for j, other in enumerate(regions[:i]):
            if r.intersects(other):
                raise c.fail(
                    f"regions[{i}]",
                    f"{r.name} [{r.origin:#x}, {r.end:#x}) overlaps regions[{j}] {other.name} "
                    f"[{other.origin:#x}, {other.end:#x})",
                )
