"""The default bounds of every emulated run: an instruction budget and a wall-clock limit
(DESIGN: always both), here so that option parsing needs no analysis module."""

DEFAULT_MAX_INSNS = 200_000_000
DEFAULT_TIMEOUT = 60.0
