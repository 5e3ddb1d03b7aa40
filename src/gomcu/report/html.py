"""A single static HTML file: no server, no network, every user string escaped (autoescape)."""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

import gomcu
from gomcu.report import fmt, svg
from gomcu.report.details import details_of
from gomcu.report.model import Report


def _fmt(value: object) -> str:
    return fmt.number(value) if isinstance(value, (int, float)) or value is None else str(value)


def render_html(report: Report) -> str:
    env = Environment(loader=PackageLoader("gomcu.report", "templates"), autoescape=select_autoescape(["html", "j2"]))
    p = report.plots
    plots = {
        "ram_map": svg.stacked_bar("RAM", p.ram_map, p.ram_total) if p.ram_map else "",
        "flash_map": svg.stacked_bar("Flash", p.flash_map, p.flash_total) if p.flash_map else "",
        "gc_pauses": svg.histogram("GC pauses", p.gc_pauses_us, "pause (µs)") if p.gc_pauses_us else "",
        "latency": svg.histogram("Interrupt latency", p.latencies_us, "latency (µs)") if p.latencies_us else "",
        "model": svg.scatter("Latency against heap use", p.latency_vs_heap, "heap in use (%)", "latency (µs)",
                             p.latency_model) if p.latency_vs_heap else "",
    }
    template = env.get_template("report.html.j2")
    details = {r.limit: details_of(r) for r in report.limits}
    return template.render(report=report, plots=plots, details=details, fmt=_fmt, figure=fmt.figure, size=fmt.size,
                           where=fmt.location, version=gomcu.__version__)
