"""What an experiment hands the reporters: tables of typed cells with units and origins, the
article's claim quoted beside them (as a claim), fitted models, and series for plots."""

from __future__ import annotations

from dataclasses import dataclass, field

Cell = int | float | str | None


@dataclass(frozen=True)
class Column:
    title: str
    unit: str = ""  # "B", "cycles", "µs", "%", "instructions", "levels", ""


@dataclass(frozen=True)
class Table:
    title: str
    origin: str  # "static", "emulated", "static + emulated", "datasheet"
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claim:
    """A figure the article behind gomcu asserts, never verified: shown beside the measurement."""

    text: str
    source: str = "the article behind gomcu (unverified)"


@dataclass(frozen=True)
class Series:
    """Points for a plot in the HTML report: a scatter (`kind` "scatter"), with an optional fitted
    line y = intercept + slope * x, or bars ("bars": x are labels)."""

    title: str
    kind: str
    x_label: str
    y_label: str
    points: tuple[tuple[float | str, float], ...]
    line: tuple[float, float] | None = None  # (intercept, slope)
    x_unit: str = ""  # the ticks' units (gomcu.report.fmt.tick): "KiB", "%", "cycles"
    y_unit: str = ""


@dataclass(frozen=True)
class ExperimentResult:
    experiment: str
    description: str
    tables: tuple[Table, ...]
    claims: tuple[Claim, ...] = ()
    series: tuple[Series, ...] = ()
    failed_runs: tuple[tuple[str, str, str], ...] = ()  # (run, stop, message) of runs without figures
    notes: tuple[str, ...] = field(default_factory=tuple)
