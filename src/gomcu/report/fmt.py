"""One way to write numbers, sizes, times, locations and figures, for every reporter.

Sizes: `404 B`, `22.4 KiB`, `1.25 MiB` (exact bytes below 10 KiB, where a margin of a few bytes
matters: `4520 B`). Times: `14 µs`, `1.99 ms`, `5000 cyc`. Counts: plain integers. A bound says
so (`≤ 404 B`), and a figure from a run that stopped early says `partial`.
"""

from __future__ import annotations

from gomcu.findings import Figure, Location

KIB = 1024
MIB = 1024 * 1024
_QUALIFIER = {"at most": "≤ ", "at least": "≥ "}


def size(n: int | float | None) -> str:
    """Bytes for people: exact below 10 KiB, then KiB / MiB with three significant digits."""
    if n is None:
        return "?"
    if abs(n) < 10 * KIB:
        return f"{int(n)} B"
    if abs(n) < 10 * MIB:
        return f"{n / KIB:.1f} KiB"
    return f"{n / MIB:.2f} MiB"


def number(v: float | int | None) -> str:
    """A count or a measured value: integers as they are, others to three significant digits."""
    if v is None:
        return "?"
    if isinstance(v, int) or float(v).is_integer():
        return str(int(v))
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def grouped(v: float | int | None, digits: int = 0) -> str:
    """A large count with thousands separators (`59,619` cycles, `1,234.5` µs); '-' when not measured."""
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def micros(us: float | None) -> str:
    """A time in µs written in the unit that reads best: `14 µs`, `1.99 ms`, `1.2 s`."""
    if us is None:
        return "?"
    if abs(us) >= 1e6:
        return f"{us / 1e6:.3g} s"
    if abs(us) >= 1000:
        return f"{us / 1000:.3g} ms"
    return f"{us:.3g} µs"


def value(v: float | int | None, unit: str) -> str:
    """A value in its unit: bytes as sizes, µs as times, cycles as `cyc`, unitless as numbers."""
    if unit == "bytes":
        return size(v)
    if unit in ("µs", "us"):
        return micros(v)
    if unit == "cycles":
        return f"{number(v)} cyc"
    if unit in ("", "count", "ratio", "sites", "calls", "collections"):
        return number(v)  # the figure's name says what is counted
    return f"{number(v)} {unit}"


def figure(f: Figure, partial_detail: bool = False) -> str:
    """'smallest stack margin (main.recurse$gowrapper): ≤ 404 B (static)'. The partial note's
    detail (where the run stopped) is left to the finding that says so unless asked for."""
    origin = f.origin.value
    if f.partial:
        origin += f", {f.partial}" if partial_detail else ", partial"
    return f"{f.name}: {_QUALIFIER.get(f.qualifier, '')}{value(f.value, f.unit)} ({origin})"


def location(loc: Location | None) -> str:
    """`main.recurse (main.c:42)`, `main.recurse`, `main.c:42` or `0x00001234`; '' when unknown."""
    if loc is None:
        return ""
    place = f"{loc.file}:{loc.line}" if loc.file and loc.line else (loc.file or "")
    if loc.function and place:
        return f"{loc.function} ({place})"
    if loc.function or place:
        return loc.function or place
    return f"0x{loc.address:08x}" if loc.address is not None else ""


def round_number(v: float) -> str:
    """A round value (an axis tick, a bin edge) with no more decimals than it has: `0.25`, `1500`."""
    for digits in range(7):
        if abs(round(v, digits) - v) <= 1e-9 * max(1.0, abs(v)):
            return f"{v:.{digits}f}"
    return f"{v:.3g}"


def tick(v: float, unit: str) -> str:
    """An axis label in its unit: `0.2 µs`, `1.5 ms`, `1200 cyc`, `32 KiB`, `40%`. Ticks are round
    values, so they are written exactly (no rounding to three digits as `value` does)."""
    if unit in ("µs", "us"):
        for scale, name in ((1e6, "s"), (1e3, "ms")):
            if abs(v) >= scale:
                return f"{round_number(v / scale)} {name}"
        return f"{round_number(v)} µs"
    if unit == "bytes":
        for scale, name in ((MIB, "MiB"), (KIB, "KiB")):
            if abs(v) >= scale and v % (scale // 4) == 0:
                return f"{round_number(v / scale)} {name}"
        return f"{round_number(v)} B"
    if unit == "%":
        return f"{round_number(v)}%"
    if unit == "cycles":
        return f"{round_number(v)} cyc"
    return round_number(v) if not unit or unit == "count" else f"{round_number(v)} {unit}"


def percent(part: int, whole: int | None) -> str:
    if not whole:
        return ""
    return f"{100.0 * part / whole:.1f}%"
