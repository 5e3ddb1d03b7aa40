"""The chip database: memory maps, cores, clocks and TinyGo support, as validated TOML data.

    from gomcu.chips import load_chips, find_chip, rank_fits
    find_chip("pico").ram_bytes        # RP2040: 270336

Data lives in `data/*.toml` (one file per family), checked by `schema.py`; each entry names the
datasheet its figures come from.
"""

from gomcu.chips.fit import Fit, isa_runs_on, rank_fits
from gomcu.chips.loader import DATA_DIR, filter_chips, find_chip, load_chips
from gomcu.chips.model import Chip, MemoryRegion

__all__ = [
    "Chip",
    "DATA_DIR",
    "Fit",
    "MemoryRegion",
    "filter_chips",
    "find_chip",
    "isa_runs_on",
    "load_chips",
    "rank_fits",
]
