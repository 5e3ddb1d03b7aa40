"""`gomcu lab` output: the experiments' tables as text, JSON and a static HTML page with plots.
Reporters print; they compute nothing (the experiments made the tables)."""

from __future__ import annotations

from html import escape
from typing import Any

from rich.markup import escape as markup_escape
from rich.table import Table as RichTable

from gomcu.lab.engine import CampaignStats
from gomcu.lab.tables import Cell, ExperimentResult, Table
from gomcu.report import svg
from gomcu.report.console import stdout_console


def cell(value: Cell) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e9:
            return f"{int(value):,}"
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _constant_columns_in_title(table: Table) -> Table:
    """For the terminal: a firmware or chip column with one value in every row moves to the title."""
    from dataclasses import replace

    keep, said = [], []
    for i, column in enumerate(table.columns):
        values = {row[i] for row in table.rows}
        if column.title in ("firmware", "chip") and len(values) == 1 and len(table.rows) > 0:
            said.append(f"{column.title} {cell(next(iter(values)))}")
        else:
            keep.append(i)
    if not said:
        return table
    return replace(table, title=f"{table.title}: {', '.join(said)}", columns=tuple(table.columns[i] for i in keep),
                   rows=tuple(tuple(row[i] for i in keep) for row in table.rows))


def _heading(column: Any) -> str:
    return f"{column.title} ({column.unit})" if column.unit else column.title


def render_text(results: list[ExperimentResult], stats: CampaignStats) -> None:
    console = stdout_console()
    for result in results:
        console.print(f"[bold]{markup_escape(result.experiment)}[/bold]: {markup_escape(result.description)}")
        for table in result.tables:
            table = _constant_columns_in_title(table)
            rich = RichTable(title=f"{markup_escape(table.title)}", title_justify="left")
            for i, column in enumerate(table.columns):
                header = f"{column.title}\n{column.unit}" if column.unit else column.title
                # names fold only past 14 characters; numbers never wrap
                widest = max((len(cell(row[i])) for row in table.rows), default=0)
                rich.add_column(markup_escape(header), justify="left" if not column.unit else "right",
                                overflow="fold", no_wrap=bool(column.unit), min_width=min(max(widest, 4), 14))
            for row in table.rows:
                rich.add_row(*(markup_escape(cell(v)) for v in row))
            if not table.rows:
                console.print(f"{markup_escape(table.title)}: no figures (every run failed: see below)")
            else:
                console.print(rich)
            for note in table.notes:
                console.print(f"  note: {markup_escape(note)}")
        for note in result.notes:
            console.print(f"  {markup_escape(note)}")
        for claim in result.claims:
            console.print(f"  the article claims: \"{markup_escape(claim.text)}\" ({markup_escape(claim.source)}); "
                          "the figures above are this firmware's, measured")
        for run, stop, message in result.failed_runs:
            console.print(f"  [red]run failed[/red] {markup_escape(run)}: {markup_escape(stop)}: {markup_escape(message)}")
        console.print()
    console.print(f"{stats.runs} run(s): {stats.cached} from the cache, {stats.executed} executed in {stats.where}"
                  + (f", {stats.failed} failed" if stats.failed else ""))


def _table_json(table: Table) -> dict[str, Any]:
    return {"title": table.title, "origin": table.origin,
            "columns": [{"title": c.title, "unit": c.unit} for c in table.columns],
            "rows": [list(r) for r in table.rows], "notes": list(table.notes)}


def to_json(results: list[ExperimentResult], stats: CampaignStats) -> dict[str, Any]:
    return {
        "experiments": [{
            "experiment": r.experiment, "description": r.description,
            "tables": [_table_json(t) for t in r.tables],
            "claims": [{"text": c.text, "source": c.source} for c in r.claims],
            "notes": list(r.notes),
            "failed_runs": [{"run": run, "stop": stop, "message": msg} for run, stop, msg in r.failed_runs],
        } for r in results],
        "campaign": {"runs": stats.runs, "cached": stats.cached, "executed": stats.executed,
                     "failed": stats.failed, "where": stats.where},
    }


_STYLE = """body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:1100px}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem;display:block;overflow-x:auto}
th,td{border:1px solid #ccc;padding:.2rem .45rem;text-align:right}th{background:#f2f2f2}
td:first-child,th:first-child{text-align:left}.note{color:#555;font-size:.85rem}
.claim{background:#fff6e0;padding:.3rem .6rem;border-left:3px solid #d0892c}
.failed{color:#b6464a}svg{max-width:100%;height:auto}.plot-title{font-weight:600;font-size:13px}
.tick,.axis{font-size:10px}"""


def render_html(results: list[ExperimentResult], stats: CampaignStats) -> str:
    parts = ["<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>gomcu lab</title>",
             f"<style>{_STYLE}</style></head><body><h1>gomcu lab</h1>"]
    for r in results:
        parts.append(f"<section><h2>{escape(r.experiment)}</h2><p>{escape(r.description)}</p>")
        for c in r.claims:
            parts.append(f'<p class="claim">The article claims “{escape(c.text)}” ({escape(c.source)}). '
                         "The tables are this firmware's figures, measured.</p>")
        for t in r.tables:
            head = "".join(f"<th>{escape(_heading(c))}</th>" for c in t.columns)
            body = "".join("<tr>" + "".join(f"<td>{escape(cell(v))}</td>" for v in row) + "</tr>" for row in t.rows)
            parts.append(f"<h3>{escape(t.title)} <small>({escape(t.origin)})</small></h3>"
                         f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            parts += [f'<p class="note">{escape(n)}</p>' for n in t.notes]
        for s in r.series:
            if s.kind == "bars":
                parts.append(svg.bars(s.title, [(str(x), y) for x, y in s.points], s.y_label))
            else:
                points = [(float(x), y) for x, y in s.points]
                parts.append(svg.scatter(s.title, points, s.x_label, s.y_label, s.line, s.x_unit, s.y_unit))
        parts += [f'<p class="note">{escape(n)}</p>' for n in r.notes]
        parts += [f'<p class="failed">run failed: {escape(run)}: {escape(stop)}: {escape(msg)}</p>'
                  for run, stop, msg in r.failed_runs]
        parts.append("</section>")
    parts.append(f'<p class="note">{stats.runs} run(s): {stats.cached} from the cache, {stats.executed} executed in '
                 f"{escape(stats.where)}</p></body></html>")
    return "".join(parts)
