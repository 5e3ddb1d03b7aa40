"""Issue 18, case 11: the HTML page of `gomcu check` reads on a laptop. Round ticks in their unit
on every plot, log-scale histograms with labelled round bin edges, the text's words in the
tables, stacks with allotted / bound / margin / status / high-water as the text names them, a
linker section with `--ld`, and no sideways scroll on a real-size report (measured in Chromium)."""

from __future__ import annotations

import html as html_lib
import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import FIXTURES, REFMW, REFMW_BUILD, assert_rebuilds_identically, needs_tool, run_gomcu

M3 = str(REFMW_BUILD / "refmw-m3.elf")
WIDE = FIXTURES / "html"
TICK = re.compile(r"^-?\d+(\.\d+)?( µs| ms| s| cyc| B| KiB| MiB|%)?$")


@pytest.fixture(scope="module")
def m3_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The text (with --all) and the HTML page of one emulated check of the reference firmware."""
    page = tmp_path_factory.mktemp("html") / "m3.html"
    result = run_gomcu("check", "--run", M3, "--chip", "lm3s6965", "--all", "--html", str(page), timeout=600)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout, page.read_text()


def _plots(page: str) -> dict[str, str]:
    return {re.search(r"<title>(.*?)</title>", svg).group(1): svg  # type: ignore[union-attr]
            for svg in re.findall(r"<svg.*?</svg>", page, re.S)}


def _text(cell: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", "", cell)).strip()


def _rows(page: str, table_id: str) -> list[list[str]]:
    """The cells of a table's body rows, as text (each cell up to its first <br>)."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert table, f"no table {table_id}"
    return [[_text(c.split("<br>")[0]) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S) if "<td" in row]


def test_plot_axes_have_round_ticks_in_their_units(m3_run: tuple[str, str]) -> None:
    plots = _plots(m3_run[1])
    assert {"RAM", "Flash", "GC pauses", "Interrupt latency", "Latency against heap use"} <= set(plots)
    for title, svg in plots.items():
        ticks = [html_lib.unescape(t) for t in re.findall(r'<text[^>]*class="tick"[^>]*>([^<]*)</text>', svg)]
        labels = [t for t in ticks if ":" not in t]  # legend entries of the memory maps say "name: size"
        assert len(labels) >= 4, (title, labels)
        assert all(TICK.match(t) for t in labels), (title, labels)
        assert any(t[-1].isalpha() or t.endswith("%") for t in labels), f"{title}: no unit on the ticks"


def test_latency_histogram_has_log_bins_with_round_edges(m3_run: tuple[str, str]) -> None:
    svg = _plots(m3_run[1])["Interrupt latency"]
    assert "log scale" in svg
    bins = [(html_lib.unescape(lo), html_lib.unescape(hi), int(n)) for lo, hi, n in
            re.findall(r'<rect class="bar"[^>]*><title>([^<]*) to ([^<]*): (\d+)</title>', svg)]
    samples = int(re.search(r"(\d+) samples:", svg).group(1))  # type: ignore[union-attr]
    assert sum(n for _, _, n in bins) == samples > 100
    # the samples span four decades: most sit within 1 µs, a few near a millisecond (collections)
    assert max(n for _, _, n in bins) < 0.6 * samples, "one bar still holds most samples"
    for edge in {e for lo, hi, _ in bins for e in (lo, hi)}:
        digits = edge.split()[0].replace(".", "").strip("0")
        assert digits in ("1", "2", "3", "5"), edge  # 1-2-3-5 per decade


def test_cells_say_what_the_text_says(m3_run: tuple[str, str]) -> None:
    """Where `gomcu irq` writes 'loops' (no worst-case count: the handler reaches a loop), the
    page writes it too, and says which loop."""
    text = run_gomcu("irq", M3).stdout
    said = {cells[1]: cells[-2] for line in text.splitlines()
            if len(cells := [c.strip() for c in line.split("│")]) > 7 and cells[1].endswith("Handler")}
    assert said.get("UART1_IRQHandler") == "loops", said
    page = m3_run[1]
    shown = {row[0]: row[-1] for row in _rows(page, "interrupt-handlers")}
    assert shown == said
    assert "loop in runtime.findFree" in page.replace("<wbr>", "")


def test_stacks_table_is_complete_with_the_texts_names(m3_run: tuple[str, str]) -> None:
    text, page = m3_run
    rows = {row[0]: row for row in _rows(page, "stack-table")}
    name, margin = re.search(r"smallest stack margin \((\S+)\): (≤ \d+ B)", text).groups()  # type: ignore[union-attr]
    assert rows[name][4] == margin and rows[name][3].startswith("≥ "), "an unbounded root: ≥ bound, ≤ margin"
    system = rows["system stack"]
    assert system[2] == "2048 B" and system[5] in ("pass", "warn", "fail")
    used = re.search(r"system stack high-water: (\d+ B)", text).group(1)  # type: ignore[union-attr]
    assert system[6] == f"{used} of 2048 B"
    fullest, size = re.search(r"fullest goroutine stack \((\S+), (\d+) B\): (\d+ B)", text).group(1, 3)  # type: ignore[union-attr]
    assert rows[fullest][6] == f"{size} of 1024 B"
    assert all(len(row) == 7 and all(row[1:5]) for row in rows.values())


def test_linker_section_has_the_layout_and_findings(tmp_path: Path) -> None:
    page = tmp_path / "ld.html"
    result = run_gomcu("check", M3, "--ld", str(REFMW / "refmw-m3-stack-top.ld"), "-L", str(REFMW),
                       "--format", "json", "--html", str(page))
    assert result.returncode in (0, 1), result.stderr
    linker = next(r for r in json.loads(result.stdout)["limits"] if r["limit"] == "linker")
    html = page.read_text()
    from gomcu.report.fmt import size

    regions = {row[0]: row for row in _rows(html, "linker-regions")}
    assert {r["name"]: (size(r["length"]), size(r["used"])) for r in linker["details"]["regions"]} == \
        {name: (row[2], row[3]) for name, row in regions.items()}
    sections = {row[0]: row for row in _rows(html, "linker-sections")}
    for s in linker["details"]["sections"]:
        assert sections[s["name"]][1:4] == [f"0x{s['vma']:08x}", f"0x{s['lma']:08x}", size(s["size"])]
    rules = [row[0] for row in _rows(html, "linker-findings")]
    assert rules == [f["rule"] for f in linker["findings"]] and "ld.stack-top" in rules


@needs_tool("chromium")
def test_no_sideways_scroll_on_a_real_size_report(tmp_path: Path) -> None:
    """Dozens of findings, Go names a module path long, source paths from the module cache, every
    section of the page: the page fits the window (no horizontal overflow) from a laptop's 1024
    pixels down to 600, with every collapsed part opened, and loads nothing from outside."""
    page = tmp_path / "wide.html"
    result = run_gomcu("check", str(WIDE / "wide.elf"), "--runtime", "refmw", "--ld", str(WIDE / "wide.ld"),
                       "--html", str(page))
    assert result.returncode == 1, result.stderr
    text = page.read_text()
    assert text.replace("<wbr>", "").count("github.com/example-organisation") > 50 and 'id="linker-regions"' in text
    assert not re.search(r"<script|<link|<img|@import|url\(|(src|href)=\"http", text), "the page is self-contained"
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("<details", "<details open").replace(
        "</body>", "<script>document.body.setAttribute('data-overflow', String(document.documentElement.scrollWidth"
                   " - document.documentElement.clientWidth));</script></body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"]
    for width in (1024, 600):
        dom = subprocess.run(["chromium", *flags, f"--window-size={width},768",
                              f"--user-data-dir={tmp_path / f'profile{width}'}", "--dump-dom",
                              probe.resolve().as_uri()], capture_output=True, text=True, timeout=180)
        assert 'data-overflow="0"' in dom.stdout, (width, re.findall(r'data-overflow="[^"]*"', dom.stdout))


@needs_tool("arm-none-eabi-gcc")
def test_wide_fixture_rebuilds_bit_identical(tmp_path: Path) -> None:
    assert_rebuilds_identically(WIDE, tmp_path, ("wide.c", "wide.ld", "Makefile"), ("wide.elf",))
