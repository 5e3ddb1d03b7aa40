"""Argument types checked at parse time, so nonsense never reaches an analysis: a count must be
a positive integer, a time a positive duration. argparse turns the ValueError into one usage
line and exit status 2.

Durations follow one convention across commands: a number with a unit (`10us`, `2ms`, `1.5s`)
or `cyc` for clock cycles (`5000cyc`); a bare number is in the option's default unit.
"""

from __future__ import annotations

import argparse
import re

from gomcu.limits.run_limits import DEFAULT_MAX_INSNS, DEFAULT_TIMEOUT

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(us|µs|ms|s|cyc)?\s*$")
_TO_SECONDS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


def positive_int(text: str) -> int:
    """An integer >= 1 (decimal, 0x hex, or with _ separators)."""
    try:
        value = int(text.replace("_", ""), 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def duration(text: str, default_unit: str) -> tuple[float, str]:
    """`10us` -> (10.0, 'us'); a bare number takes `default_unit`. Positive only."""
    m = _DURATION.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 10us, 2ms, 1.5s, 5000cyc)")
    value, unit = float(m.group(1)), (m.group(2) or default_unit)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than zero")
    return value, "us" if unit == "µs" else unit


def seconds(text: str) -> float:
    """A positive wall-clock time; a bare number is seconds."""
    value, unit = duration(text, "s")
    if unit == "cyc":
        raise argparse.ArgumentTypeError(f"{text!r}: a wall-clock limit is a time, not cycles")
    return value * _TO_SECONDS[unit]


def chip_name(text: str) -> str:
    """A chip the database knows (by name or alias); the error suggests close names."""
    from gomcu.chips import find_chip
    from gomcu.errors import ChipError

    if not text.strip():
        raise argparse.ArgumentTypeError("an empty chip name (leave --chip out for no chip)")
    try:
        find_chip(text)
    except ChipError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def injection(text: str) -> tuple[int, float, str]:
    """`IRQ:PERIOD` -> (irq, period, unit): `5:20000` (cycles), `5:10us`, `5:2ms`, `5:5000cyc`."""
    irq, sep, period = text.partition(":")
    try:
        number = int(irq, 0)
    except ValueError:
        number = -1
    if not sep or number < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected IRQ:PERIOD, e.g. 5:20000 (cycles) or 5:10us")
    value, unit = duration(period, "cyc")
    return number, value, unit


def to_cycles(value: float, unit: str, clock_hz: int) -> int:
    """A duration from `duration` in clock cycles (at least 1)."""
    if unit == "cyc":
        return max(1, round(value))
    return max(1, round(value * _TO_SECONDS[unit] * clock_hz))


def to_micros(value: float, unit: str, clock_hz: int) -> float:
    """A duration from `duration` in µs (cycles at `clock_hz`)."""
    if unit == "cyc":
        return value * 1e6 / clock_hz
    return value * _TO_SECONDS[unit] * 1e6


def add_run_limits(parser: argparse.ArgumentParser) -> None:
    """`--max-insns` and `--timeout`: every emulated run is bounded (DESIGN: always both)."""
    parser.add_argument("--max-insns", type=positive_int, default=DEFAULT_MAX_INSNS, metavar="N",
                        help=f"instruction budget of each emulated run (default {DEFAULT_MAX_INSNS:,})")
    parser.add_argument("--timeout", type=seconds, default=DEFAULT_TIMEOUT, metavar="TIME",
                        help=f"wall-clock limit of each emulated run, e.g. 30s or 500ms "
                             f"(default {DEFAULT_TIMEOUT:g}s)")
