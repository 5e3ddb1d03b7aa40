"""Reading the chip database: every `data/*.toml` file, validated, plus lookup by name.

Each file holds one family as an array of `[[chip]]` tables (see `schema.py` for the keys).
The default database is read once and cached; a directory given explicitly (tests, a user's own
chips) is read afresh each time.
"""

from __future__ import annotations

import difflib
import functools
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

from gomcu.chips.model import Chip
from gomcu.chips.schema import parse_chip
from gomcu.errors import ChipError

DATA_DIR = Path(__file__).with_name("data")


def load_chips(directory: str | Path | None = None) -> tuple[Chip, ...]:
    """Every chip in `directory` (default: the bundled database), sorted by name.

    Raises `ChipError` naming the file, chip and key of the first invalid entry.
    """
    if directory is None:
        return _load_default()
    return _load_dir(Path(directory))


@functools.lru_cache(maxsize=1)
def _load_default() -> tuple[Chip, ...]:
    return _load_dir(DATA_DIR)


def _load_dir(directory: Path) -> tuple[Chip, ...]:
    if not directory.is_dir():
        raise ChipError(f"{directory}: no such chip database directory")
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise ChipError(f"{directory}: no *.toml chip files")
    chips: list[Chip] = []
    for path in files:
        chips.extend(_load_file(path))
    _check_unique(chips)
    return tuple(sorted(chips, key=lambda c: c.name.lower()))


def _load_file(path: Path) -> list[Chip]:
    try:
        with path.open("rb") as fh:
            document = tomllib.load(fh)
    except tomllib.TOMLDecodeError as error:
        raise ChipError(f"{path.name}: TOML syntax error: {error}") from None
    except OSError as error:
        raise ChipError(f"{path.name}: cannot read: {error.strerror}") from None
    extra = set(document) - {"chip"}
    if extra:
        raise ChipError(f"{path.name}: unknown top-level key(s): {', '.join(sorted(extra))} "
                        "(a file holds only [[chip]] tables)")
    entries = document.get("chip")
    if not isinstance(entries, list) or not entries:
        raise ChipError(f"{path.name}: chip: expected at least one [[chip]] table")
    return [parse_chip(entry, path.name, i) for i, entry in enumerate(entries)]


def _check_unique(chips: Iterable[Chip]) -> None:
    """No two chips may answer to the same name or alias (case-insensitive)."""
    owner: dict[str, Chip] = {}
    for chip in chips:
        for key in {chip.name.lower(), *chip.aliases}:
            other = owner.get(key)
            if other is not None and other is not chip:
                raise ChipError(f"{chip.source_file}: chip '{chip.name}': aliases: {key!r} is "
                                f"already used by chip '{other.name}' ({other.source_file})")
            owner[key] = chip


def _index(chips: tuple[Chip, ...]) -> dict[str, Chip]:
    table: dict[str, Chip] = {}
    for chip in chips:
        table[chip.name.lower()] = chip
        for alias in chip.aliases:
            table[alias] = chip
    return table


def find_chip(name: str, chips: tuple[Chip, ...] | None = None) -> Chip:
    """The chip called `name` (case-insensitive; name or alias).

    Raises `ChipError("unknown chip 'x'; did you mean: a, b, c?")` otherwise.
    """
    pool = load_chips() if chips is None else chips
    table = _index(pool)
    key = name.strip().lower()
    if key in table:
        return table[key]
    raise ChipError(f"unknown chip {name!r}{did_you_mean(key, table)}")


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """'; did you mean: a, b, c?' for the closest candidates, or '' when nothing is close."""
    matches = difflib.get_close_matches(word.lower(), list(candidates), n=3, cutoff=0.5)
    return f"; did you mean: {', '.join(matches)}?" if matches else ""


def filter_chips(chips: Sequence[Chip], text: str | None) -> list[Chip]:
    """Chips whose name, part, an alias, core, architecture or vendor contains `text`."""
    if not text:
        return list(chips)
    needle = text.lower()
    out = []
    for chip in chips:
        haystack = [chip.name, chip.part, chip.core, chip.arch, chip.vendor, *chip.aliases]
        if any(needle in field.lower() for field in haystack):
            out.append(chip)
    return out
