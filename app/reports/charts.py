"""Charts drawn on the server as SVG with pygal: no JavaScript chart framework on the page."""
from __future__ import annotations

import pygal
from pygal.style import Style

STYLE = Style(background="white", plot_background="white", foreground="#222", foreground_strong="#111",
              foreground_subtle="#666", font_family="sans-serif",
              colors=("#b71c1c", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037"))


def _chart(kind, title: str, labels: list[str]):
    chart = kind(style=STYLE, width=800, height=360, title=title, x_label_rotation=0, legend_at_bottom=True,
                 show_y_guides=True, disable_xml_declaration=True, js=[])
    chart.x_labels = labels
    return chart


def activity(weeks: list[str], series: dict[str, list[int]], title: str) -> bytes:
    """Journals per week, one line per village."""
    chart = _chart(pygal.Line, title, weeks)
    for name, values in series.items():
        chart.add(name, values)
    return chart.render()


def opened_vs_resolved(weeks: list[str], opened: list[int], resolved: list[int], title: str,
                       opened_label: str, resolved_label: str) -> bytes:
    chart = _chart(pygal.Bar, title, weeks)
    chart.add(opened_label, opened)
    chart.add(resolved_label, resolved)
    return chart.render()
