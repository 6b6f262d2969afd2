"""The shift report: a line's KPIs, states, energy and CO2e for one shift, as HTML and PDF with plots.

Built from :meth:`KpiService.shift_report` (the shift and the one before it, for comparison).
Every report names the grid factor it used (grid, year, kg CO2/kWh, source) and the
market-based factor beside it. Plots are drawn with matplotlib (Agg): OEE factors per
machine, time per state per machine, energy per machine by state.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["render_html", "render_pdf", "summary_lines"]

_STATE_COLOURS = {
    "running": "#2f9e44", "idle": "#868e96", "starved": "#f59f00", "blocked": "#1c7ed6",
    "down": "#e03131", "setup": "#9c36b5", "off": "#343a40",
}  # fmt: skip
_FACTORS = ("availability", "effectiveness", "quality_ratio", "oee")


def _pct(v: Any) -> str:
    return "–" if v is None else f"{100 * float(v):.1f} %"


def _num(v: Any, digits: int = 1) -> str:
    return "–" if v is None else f"{float(v):,.{digits}f}"


def _short(twin: str) -> str:
    return twin.rsplit("/", 1)[-1]


def summary_lines(report: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> list[str]:
    """The report's headline figures as text lines (what the CLI prints)."""
    t, g = report["total"], report["grid_factor"]
    k = t["kpis"]
    sh = report.get("shift") or {}
    lines = [
        f"{report['twin']} — shift {sh.get('label', '')} ({sh.get('start', report['start'])} → "
        f"{sh.get('end', report['end'])}{'' if sh.get('complete', True) else ', under way'})",
        f"OEE {_pct(k['oee'])} = availability {_pct(k['availability'])} × effectiveness "
        f"{_pct(k['effectiveness'])} × quality {_pct(k['quality_ratio'])}",
        f"technical efficiency {_pct(k['technical_efficiency'])}, setup rate {_pct(k['setup_rate'])}, "
        f"scrap ratio {_pct(k['scrap_ratio'])}, MTBF {_num(k['mtbf_s'], 0)} s, MTTR {_num(k['mttr_s'], 0)} s",
        f"good units {_num(t.get('good_units_out', t['gq']), 0)}, energy {_num(t['energy_kwh'], 2)} kWh, "
        f"CO2e {_num(t['co2e_kg'], 2)} kg location-based, {_num(t['co2e_market_kg'], 2)} kg market-based",
        f"per 1,000 good units: {_num(_k(t['kwh_per_good_unit']), 3)} kWh, "
        f"{_num(_k(t['co2e_kg_per_good_unit']), 3)} kg CO2e "
        f"(market-based {_num(_k(t['co2e_market_kg_per_good_unit']), 3)})",
        f"grid factor used: {g['grid']} {g['year']}, {g['kg_per_kwh']} kg CO2/kWh ({g['source']}); "
        f"market-based {report['scope2']['market_kg_per_kwh']:.4f} kg CO2e/kWh",
    ]
    if previous is not None:
        pk = previous["total"]["kpis"]
        lines.append(f"previous shift {(previous.get('shift') or {}).get('label', '')}: OEE {_pct(pk['oee'])}, "
                     f"energy {_num(previous['total']['energy_kwh'], 2)} kWh")  # fmt: skip
    return lines


def _k(v: Any) -> Any:
    return None if v is None else float(v) * 1000


def _figures(report: Mapping[str, Any]) -> list[Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    machines = report["machines"]
    names = [_short(m) for m in machines]
    figs = []
    fig, ax = plt.subplots(figsize=(8, 3.2))
    width = 0.2
    for j, f in enumerate(_FACTORS):
        vals = [float(m["kpis"][f] or 0) * 100 for m in machines.values()]
        ax.bar([i + (j - 1.5) * width for i in range(len(names))], vals, width, label=f.replace("_", " "))
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    ax.set_title("OEE factors per machine (ISO 22400-2)")
    ax.legend(fontsize=7, ncol=4, loc="lower right")
    fig.tight_layout()
    figs.append(fig)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    bottom = [0.0] * len(names)
    for st, colour in _STATE_COLOURS.items():
        vals = [float(m["state_s"].get(st, 0.0)) / 60 for m in machines.values()]
        ax.bar(names, vals, bottom=bottom, color=colour, label=st)
        bottom = [a + b for a, b in zip(bottom, vals, strict=True)]
    ax.set_ylabel("minutes of planned time")
    ax.set_title("Time per state")
    ax.tick_params(axis="x", rotation=30)
    ax.legend(fontsize=7, ncol=7, loc="lower right")
    fig.tight_layout()
    figs.append(fig)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    bottom = [0.0] * len(names)
    for st, colour in _STATE_COLOURS.items():
        vals = [float(m["energy_by_state_kwh"].get(st, 0.0)) for m in machines.values()]
        ax.bar(names, vals, bottom=bottom, color=colour, label=st)
        bottom = [a + b for a, b in zip(bottom, vals, strict=True)]
    g = report["grid_factor"]
    ax.set_ylabel("kWh")
    ax.set_title(f"Energy per machine by state (CO2e at {g['kg_per_kwh']} kg/kWh, {g['grid']} {g['year']})")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    figs.append(fig)
    return figs


def _table(report: Mapping[str, Any]) -> str:
    head = ("machine", "OEE", "avail.", "effect.", "quality", "tech. eff.", "setup rate", "good", "failures",
            "MTTR s", "kWh", "kg CO2e", "source")  # fmt: skip
    rows = []
    for twin, m in report["machines"].items():
        k = m["kpis"]
        rows.append((_short(twin), _pct(k["oee"]), _pct(k["availability"]), _pct(k["effectiveness"]),
                     _pct(k["quality_ratio"]), _pct(k["technical_efficiency"]), _pct(k["setup_rate"]),
                     _num(m["gq"], 0), str(m["failures"]), _num(k["mttr_s"], 0), _num(m["energy_kwh"], 2),
                     _num(m["co2e_kg"], 2), m["energy_source"]))  # fmt: skip
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> str:
    """A self-contained HTML page (plots inlined as PNG)."""
    imgs = []
    for fig in _figures(report):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        fig.clf()
        imgs.append(f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">')
    lines = "".join(f"<li>{html.escape(x)}</li>" for x in summary_lines(report, previous))
    title = html.escape(f"Shift report — {report['twin']} — {(report.get('shift') or {}).get('label', '')}")
    g = report["grid_factor"]
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse;font-size:.85em}}
td,th{{border:1px solid #ccc;padding:.2em .5em;text-align:right}}th{{background:#eee}}img{{max-width:100%}}</style>
</head><body><h1>{title}</h1><ul id="summary">{lines}</ul>
<p id="grid-factor">Grid factor used: <b>{html.escape(str(g["grid"]))} {g["year"]}</b>, {g["kg_per_kwh"]} kg CO2/kWh
— {html.escape(str(g["source"]))}. Definitions: docs/kpis.md (ISO 22400-2).</p>
{_table(report)}
{"".join(imgs)}
</body></html>
"""


def render_pdf(report: Mapping[str, Any], path: Path, previous: Mapping[str, Any] | None = None) -> None:
    """A PDF: a page of figures and the table as text, then the plots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as pdf:
        fig = plt.figure(figsize=(8.27, 11.69))
        text = ["Shift report", "", *summary_lines(report, previous), ""]
        for twin, m in report["machines"].items():
            k = m["kpis"]
            text.append(
                f"{_short(twin):12} OEE {_pct(k['oee']):>8}  avail {_pct(k['availability']):>8}  "
                f"eff {_pct(k['effectiveness']):>8}  kWh {_num(m['energy_kwh'], 2):>8}  ({m['energy_source']})"
            )
        fig.text(0.05, 0.95, "\n".join(text), va="top", family="monospace", fontsize=6.5, wrap=True)
        pdf.savefig(fig)
        plt.close(fig)
        for f in _figures(report):
            pdf.savefig(f)
            plt.close(f)
        info = pdf.infodict()
        info["Title"] = f"Shift report {report['twin']} {(report.get('shift') or {}).get('label', '')}"
