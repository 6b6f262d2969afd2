"""Parameter sweeps: a grid of scenarios with replications and common random numbers.

Parameters are ``kind.id.attribute`` paths with a list of values::

    station.filler.process_mean=0.9,1.0,1.1
    buffer.b2.capacity=2,5,10

Every scenario of the grid runs with the same seed, so they share random numbers
(see scenario.py). Scenarios run in local worker processes, or on Ray with
``backend="ray"`` (the ``ray`` extra). Results come back as a table, CSV, Parquet and a
self-contained HTML report with plots.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import math
import multiprocessing
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from .engine import RunConfig
from .network import INF, Network
from .results import ScenarioResult
from .scenario import run_scenario

__all__ = [
    "Param", "SweepResult", "apply_calendars", "apply_params", "current_params", "grid", "parse_param", "run_sweep",
]

#: What a sweep can change, per element kind.
SETTABLE = {
    "station": ("process_mean", "servers", "scrap", "rework", "mtbf", "mttr", "ideal_time"),
    "buffer": ("capacity", "initial"),
    "source": ("interarrival_mean", "rate"),
}


@dataclass(frozen=True)
class Param:
    """One swept parameter: ``kind.element.attr`` and its values."""

    kind: str
    element: str
    attr: str
    values: tuple[float, ...]

    @property
    def name(self) -> str:
        return f"{self.kind}.{self.element}.{self.attr}"


def _value(text: str, name: str) -> float:
    t = text.strip()
    if t.lower() in ("inf", "infinity", "∞"):
        return INF
    try:
        return float(t)
    except ValueError:
        raise InputError(f"parameter {name}: {t!r} is not a number") from None


def parse_param(spec: str, net: Network | None = None) -> Param:
    """Parse ``kind.id.attr=v1,v2,…``; with ``net``, check the element and values exist."""
    if "=" not in spec:
        raise InputError(f"parameter {spec!r}: expected kind.id.attr=v1,v2,… (e.g. buffer.b2.capacity=2,5,10)")
    path, _, vals = spec.partition("=")
    parts = path.strip().split(".")
    if len(parts) < 3:
        raise InputError(f"parameter {path!r}: expected kind.id.attr (e.g. station.filler.process_mean)")
    kind, element, attr = parts[0], ".".join(parts[1:-1]), parts[-1]
    if kind not in SETTABLE:
        raise InputError(f"parameter {path!r}: unknown kind {kind!r} (kinds: {', '.join(SETTABLE)})")
    if attr not in SETTABLE[kind]:
        raise InputError(f"parameter {path!r}: cannot set {attr!r} of a {kind} (settable: {', '.join(SETTABLE[kind])})")
    values = tuple(_value(v, path) for v in vals.split(",") if v.strip())
    if not values:
        raise InputError(f"parameter {path!r}: no values given")
    p = Param(kind, element, attr, values)
    if net is not None:
        for v in values:
            apply_params(net, {p.name: v})  # validates element and value
    return p


def grid(params: Sequence[Param]) -> list[dict[str, float]]:
    """Every combination of the parameters' values (the first parameter varies slowest)."""
    return [dict(zip([p.name for p in params], combo, strict=True))
            for combo in itertools.product(*(p.values for p in params))]


def _need(cond: bool, name: str, msg: str) -> None:
    if not cond:
        raise InputError(f"parameter {name}: {msg}")


def apply_params(net: Network, assignment: Mapping[str, float]) -> Network:
    """A copy of ``net`` with each ``kind.id.attr`` set to its value (validated)."""
    for name, v in assignment.items():
        if "=" in name:
            raise InputError(f"parameter {name!r}: a name has no '=' (e.g. buffer.b2.capacity)")
        parse_param(f"{name}=1")  # the name's shape, kind and attribute
        kind, rest = name.split(".", 1)
        element, attr = rest.rsplit(".", 1)
        if kind == "station":
            ids = [s.id for s in net.stations]
            _need(element in ids, name, f"no station {element!r} (stations: {', '.join(ids)})")
            st = net.station(element)
            if attr == "process_mean":
                _need(0 < v < INF, name, f"a mean must be > 0, got {v}")
                f = v / st.process_mean
                net = net.with_station(element, process={k: d.scaled(d.mean * f) for k, d in st.process.items()})
            elif attr == "servers":
                _need(v >= 1 and v == int(v), name, f"servers must be an integer >= 1, got {v}")
                net = net.with_station(element, servers=int(v))
            elif attr in ("scrap", "rework"):
                _need(0 <= v <= 1, name, f"a probability must be in [0, 1], got {v}")
                other = st.rework if attr == "scrap" else st.scrap
                _need(v + other <= 1, name, f"scrap + rework would exceed 1 ({v + other:g})")
                _need(attr == "scrap" or st.rework_to is not None, name, "the station has no rework target")
                net = net.with_station(element, **{attr: float(v)})
            elif attr in ("mtbf", "mttr"):
                _need(bool(st.failures), name, f"station {element!r} has no failures to change")
                _need(0 < v < INF, name, f"a mean must be > 0, got {v}")
                which = "ttf" if attr == "mtbf" else "ttr"
                f = v / getattr(st.failures[0], which).mean
                modes = tuple(replace(m, **{which: getattr(m, which).scaled(getattr(m, which).mean * f)})
                              for m in st.failures)
                net = net.with_station(element, failures=modes)
            else:  # ideal_time
                _need(0 < v < INF, name, f"ideal_time must be > 0, got {v}")
                net = net.with_station(element, ideal_time=float(v))
        elif kind == "buffer":
            ids = [b.id for b in net.buffers]
            _need(element in ids, name, f"no buffer {element!r} (buffers: {', '.join(ids)})")
            _need(v >= 0 and (v == INF or v == int(v)), name, f"{attr} must be an integer >= 0 (or inf), got {v}")
            if attr == "capacity":
                _need(net.buffer(element).initial <= v, name, f"capacity {v:g} is below the initial level")
                net = net.with_buffer(element, capacity=float(v))
            else:
                _need(v != INF and v <= net.buffer(element).capacity, name, "initial level exceeds the capacity")
                net = net.with_buffer(element, initial=int(v))
        else:
            ids = [s.id for s in net.sources]
            _need(element in ids, name, f"no source {element!r} (sources: {', '.join(ids)})")
            src = net.source(element)
            _need(src.interarrival is not None, name, f"source {element!r} is saturated (no interarrival times)")
            assert src.interarrival is not None
            _need(0 < v < INF, name, f"{attr} must be > 0, got {v}")
            mean = v if attr == "interarrival_mean" else 1 / v
            net = net.with_source(element, interarrival=src.interarrival.scaled(mean))
    return net


def apply_calendars(net: Network, shifts: Mapping[str, tuple[float, Sequence[tuple[float, float]]]]) -> Network:
    """A copy of ``net`` with calendars replaced: id → (period, off intervals), checked as the file's are.

    >>> from twinverse.sim.spec import loads_network
    >>> net = loads_network("{simulation: {calendars: {shift: {period: 100, off: [[40, 50]]}}, "
    ...                     "sources: {a: {interarrival: 2, to: s1}}, "
    ...                     "stations: {s1: {process: 1, to: out, calendar: shift}}, sinks: [out]}}")
    >>> apply_calendars(net, {"shift": (100, [])}).calendars[0].off
    ()
    """
    ids = [c.id for c in net.calendars]
    out = list(net.calendars)
    for cid, (period, off) in shifts.items():
        name = f"calendar {cid!r}"
        if cid not in ids:
            raise InputError(f"{name}: no such calendar (calendars: {', '.join(ids) or 'none'})")
        if not 0 < period < INF:
            raise InputError(f"{name}: the period must be > 0, got {period:g}")
        last = 0.0
        for a, b in off:
            if not 0 <= a < b <= period:
                raise InputError(f"{name}: need 0 <= start < end <= period, got [{a:g}, {b:g}]")
            if a < last:
                raise InputError(f"{name}: off intervals must be sorted and must not overlap")
            last = b
        if sum(b - a for a, b in off) >= period:
            raise InputError(f"{name}: a calendar must leave some working time in each period")
        k = ids.index(cid)
        out[k] = replace(out[k], period=float(period), off=tuple((float(a), float(b)) for a, b in off))
    return replace(net, calendars=tuple(out))


def current_params(net: Network) -> dict[str, float]:
    """The value in ``net`` of every parameter :func:`apply_params` can set (INF: unbounded).

    ``mtbf`` and ``mttr`` are those of a station's first failure mode (setting them scales
    every mode by the same factor); ``rate`` is left out (it is ``1 / interarrival_mean``).

    >>> from twinverse.sim.spec import loads_network
    >>> net = loads_network("{simulation: {sources: {a: {interarrival: 2, to: s1}}, "
    ...                     "stations: {s1: {process: 1, to: out}}, sinks: [out]}}")
    >>> current_params(net)
    {'station.s1.process_mean': 1.0, 'station.s1.servers': 1.0, 'station.s1.scrap': 0.0, \
'buffer.s1.in.capacity': inf, 'source.a.interarrival_mean': 2.0}
    """
    out: dict[str, float] = {}
    for st in net.stations:
        out[f"station.{st.id}.process_mean"] = float(st.process_mean)
        out[f"station.{st.id}.servers"] = float(st.servers)
        out[f"station.{st.id}.scrap"] = float(st.scrap)
        if st.failures:
            out[f"station.{st.id}.mtbf"] = float(st.failures[0].ttf.mean)
            out[f"station.{st.id}.mttr"] = float(st.failures[0].ttr.mean)
    for b in net.buffers:
        out[f"buffer.{b.id}.capacity"] = float(b.capacity)
    for src in net.sources:
        if src.interarrival is not None:
            out[f"source.{src.id}.interarrival_mean"] = float(src.interarrival.mean)
    return out


@dataclass(frozen=True)
class SweepResult:
    """Every scenario of a sweep, in grid order."""

    params: tuple[str, ...]
    scenarios: tuple[ScenarioResult, ...]
    wall_s: float
    workers: int
    backend: str

    def table(self) -> list[dict[str, Any]]:
        """One flat row per scenario: parameter values, then estimates (mean, ci95)."""
        rows = []
        for sc in self.scenarios:
            bn, share = sc.bottleneck()
            row: dict[str, Any] = {"scenario": sc.name, **{p: sc.params[p] for p in self.params}}
            for key, est in (("throughput", sc.throughput), ("wip", sc.wip), ("lead_time", sc.lead_time),
                             ("energy_kwh", sc.energy_kwh), ("co2e_kg", sc.co2e_kg)):
                row[key] = est.mean
                row[f"{key}_ci95"] = est.half_width
            row["bottleneck"] = bn
            row["bottleneck_share"] = share
            row["reps"] = len(sc.reps)
            rows.append(row)
        return rows

    def to_arrow(self) -> Any:
        import pyarrow as pa

        return pa.Table.from_pylist(self.table())

    def write_csv(self, path: str | Path) -> None:
        import pyarrow.csv as pcsv

        pcsv.write_csv(self.to_arrow(), str(path))

    def write_parquet(self, path: str | Path) -> None:
        import pyarrow.parquet as pq

        pq.write_table(self.to_arrow(), str(path))

    def write_html(self, path: str | Path, title: str = "twinverse sweep") -> None:
        Path(path).write_text(render_html(self, title), encoding="utf-8")


def render_html(res: SweepResult, title: str) -> str:
    """A self-contained report: the table and throughput plots (PNG inlined)."""
    rows = res.table()
    cols = list(rows[0]) if rows else []
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return "" if math.isnan(v) else f"{v:.6g}"
        return html.escape("" if v is None else str(v))

    body = "".join("<tr>" + "".join(f"<td>{cell(r[c])}</td>" for c in cols) + "</tr>" for r in rows)
    plots = "".join(f'<figure><img alt="throughput vs {html.escape(p)}" src="data:image/png;base64,{img}">'
                    f"<figcaption>throughput (mean ± 95 % CI) against {html.escape(p)}</figcaption></figure>"
                    for p, img in _plots(res))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}figure{display:inline-block}</style>"
            f"</head><body><h1>{html.escape(title)}</h1>"
            f"<p>{len(rows)} scenarios × {rows[0]['reps'] if rows else 0} replications, common random numbers; "
            f"{res.backend} backend, {res.workers} worker(s), {res.wall_s:.2f} s.</p>"
            f"{plots}<table><tr>{head}</tr>{body}</table></body></html>")


def _plots(res: SweepResult) -> list[tuple[str, str]]:
    from matplotlib.figure import Figure

    rows = res.table()
    out = []
    for p in res.params:
        others = [q for q in res.params if q != p]
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(tuple(r[q] for q in others), []).append(r)
        fig = Figure(figsize=(5, 3.2))
        ax = fig.subplots()
        for key, grp in list(groups.items())[:12]:
            grp.sort(key=lambda r: r[p])
            label = ", ".join(f"{q.split('.')[-2]}.{q.split('.')[-1]}={v:g}" for q, v in zip(others, key,
                                                                                            strict=True))
            ax.errorbar([r[p] for r in grp], [r["throughput"] for r in grp],
                        yerr=[r["throughput_ci95"] or 0.0 for r in grp], marker="o", capsize=3, label=label or None)
        ax.set_xlabel(p)
        ax.set_ylabel("throughput")
        if others and len(groups) <= 12:
            ax.legend(fontsize=6)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        out.append((p, base64.b64encode(buf.getvalue()).decode()))
    return out


def _task(net: Network, assignment: dict[str, float], cfg: RunConfig, name: str) -> ScenarioResult:
    return run_scenario(apply_params(net, assignment), cfg, name=name, params=assignment)


Progress = Callable[[int, int], None]


def run_sweep(
    net: Network,
    params: Sequence[Param],
    config: RunConfig,
    *,
    workers: int = 0,
    backend: str = "local",
    progress: Progress | None = None,
    ray_address: str | None = None,
) -> SweepResult:
    """Run every scenario of the grid; ``workers=0`` runs in this process.

    ``backend="local"`` uses ``workers`` spawned processes; ``backend="ray"`` submits one
    Ray task per scenario to ``ray_address`` (or a local Ray started with ``workers`` CPUs).
    """
    points = grid(params)
    for pt in points:
        apply_params(net, pt)  # fail fast, before any worker starts
    names = [f"s{i}" for i in range(len(points))]
    t0 = time.perf_counter()
    done = 0
    results: list[ScenarioResult | None] = [None] * len(points)
    if backend == "ray":
        results = _run_ray(net, points, names, config, workers, ray_address, progress)
    elif backend != "local":
        raise InputError(f"unknown backend {backend!r} (local or ray)")
    elif workers <= 0:
        for i, pt in enumerate(points):
            results[i] = _task(net, pt, config, names[i])
            done += 1
            if progress:
                progress(done, len(points))
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futs = {pool.submit(_task, net, pt, config, names[i]): i for i, pt in enumerate(points)}
            pending = set(futs)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    results[futs[f]] = f.result()
                    done += 1
                    if progress:
                        progress(done, len(points))
    final = tuple(r for r in results if r is not None)
    return SweepResult(tuple(p.name for p in params), final, time.perf_counter() - t0, max(workers, 1), backend)


def _run_ray(net: Network, points: list[dict[str, float]], names: list[str], config: RunConfig, workers: int,
             address: str | None, progress: Progress | None) -> list[ScenarioResult | None]:
    try:
        import ray
    except ImportError as exc:
        raise InputError("backend 'ray' needs the ray extra: pip install 'twinverse[ray]'") from exc
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address:
            kwargs["address"] = address
        elif workers > 0:
            kwargs["num_cpus"] = workers
        ray.init(**kwargs)
        started = True
    try:
        remote = ray.remote(_task)
        net_ref = ray.put(net)
        refs = [remote.remote(net_ref, pt, config, names[i]) for i, pt in enumerate(points)]
        index = {r: i for i, r in enumerate(refs)}
        out: list[ScenarioResult | None] = [None] * len(points)
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for r in ready:
                out[index[r]] = ray.get(r)
            if progress:
                progress(len(points) - len(pending), len(points))
        return out
    finally:
        if started:
            ray.shutdown()
