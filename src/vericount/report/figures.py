"""The report's two figures, drawn with matplotlib as SVG text (inline in the HTML, vector in the PDF):
the timeline (items posted and filmed, claims and the tally over time) and the map of geolocated items
over Natural Earth's country borders (``data/ne_50m_countries.topojson.json``, public domain, vendored;
see ``data/BORDERS.LICENSE.txt``). Nothing is fetched: no tile server, no font download."""

from __future__ import annotations

import functools
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

BORDERS = "ne_50m_countries.topojson.json"
INK, MUTED, ACCENT, WARN, LAND = "#1d2430", "#6b7280", "#1f5fa8", "#b4461d", "#eef0f2"


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float
    label: str
    verified: bool


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.family": "DejaVu Sans", "font.size": 8,
                         "svg.hashsalt": "vericount", "axes.edgecolor": MUTED,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


def _svg(fig: Any, prefix: str) -> str:
    """The figure as inline SVG (no XML prologue or DOCTYPE), its element ids prefixed so that two figures
    in one page never share one (matplotlib numbers them from 1 in every file; clip paths refer to them)."""
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    text = out.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    return re.sub(r'(url\(#|href="#)([^)"]+)', rf"\1{prefix}-\2", text)


def timeline(posted: list[datetime], filmed: list[tuple[datetime, datetime]],
             claims: list[tuple[datetime, float, str]], tallies: list[tuple[datetime, int | None, int, int]]
             ) -> str | None:
    """Items as marks along the time axis (posted: dots; filmed: the date range as a bar), claims as points
    at their publication time, the tally (at least N as a step line, the estimate and upper bound dashed)
    at each time it was computed. None when there is nothing dated to draw."""
    if not (posted or filmed or claims or tallies):
        return None
    plt = _pyplot()
    import matplotlib.dates as mdates

    fig, (ax, rug) = plt.subplots(2, 1, figsize=(7.2, 3.4), sharex=True,
                                  gridspec_kw={"height_ratios": [4, 1], "hspace": 0.08})
    if tallies:
        at = [t[0] for t in tallies]
        ax.step(at, [t[1] if t[1] is not None else float("nan") for t in tallies], where="post",
                color=ACCENT, lw=2, label="at least N (certified)")
        ax.step(at, [t[2] for t in tallies], where="post", color=ACCENT, lw=1, ls="--", label="estimate")
        ax.step(at, [t[3] for t in tallies], where="post", color=MUTED, lw=1, ls=":", label="upper bound")
    if claims:
        ax.scatter([c[0] for c in claims], [c[1] for c in claims], marker="D", s=22, color=WARN, zorder=3,
                   label="claimed (people)")
        for when, value, label in claims[:12]:
            ax.annotate(_plain(label), (when, value), xytext=(4, 3), textcoords="offset points", fontsize=6.5,
                        color=WARN)
    ax.set_ylabel("people")
    values = [c[1] for c in claims] + [v for t in tallies for v in t[1:] if v]
    if values and max(values) > 50 * max(1.0, min(values)):  # "1,200 captured" beside a count of 4
        ax.set_yscale("symlog", linthresh=10)
        ax.set_ylabel("people (log scale above 10)")
    ax.set_ylim(bottom=0)
    if tallies or claims:
        ax.legend(loc="upper left", frameon=False, fontsize=7)
    else:
        ax.text(0.5, 0.5, "no tally or claims dated yet", transform=ax.transAxes, ha="center", color=MUTED)
    for start, end in filmed:
        rug.plot([start, end], [1, 1], color=MUTED, lw=4, solid_capstyle="butt")
    if filmed:
        rug.plot([filmed[0][0]], [1], color=MUTED, lw=4, label="filmed (date range)")
    if posted:
        rug.scatter(posted, [0] * len(posted), marker="|", s=60, color=ACCENT, label="posted")
    rug.set_yticks([0, 1], ["posted", "filmed"])
    rug.set_ylim(-0.6, 1.6)
    rug.spines["left"].set_visible(False)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    rug.xaxis.set_major_locator(locator)
    rug.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    return _svg(fig, "timeline")


@functools.cache
def _countries() -> list[tuple[str, list[list[tuple[float, float]]]]]:
    """Every country's name and rings of (lon, lat), decoded from the bundled TopoJSON."""
    topo = json.loads(resources.files("vericount.report").joinpath("data", BORDERS).read_text("utf-8"))
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs: list[list[tuple[float, float]]] = []
    for arc in topo["arcs"]:  # delta-encoded, quantised
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)

    def ring(indices: list[int]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for i in indices:
            part = arcs[i] if i >= 0 else arcs[~i][::-1]
            out.extend(part if not out else part[1:])
        return out

    shapes = []
    for geometry in topo["objects"]["countries"]["geometries"]:
        polygons = ([geometry["arcs"]] if geometry["type"] == "Polygon"
                    else geometry["arcs"] if geometry["type"] == "MultiPolygon" else [])
        shapes.append((str(geometry.get("properties", {}).get("name", "")),
                       [ring(r) for polygon in polygons for r in polygon]))
    return shapes


def map_svg(points: list[Point]) -> str | None:
    """The geolocated items over country borders, framed around them (at least 4 degrees across).
    Equirectangular, with longitude scaled by cos(latitude) at the centre so shapes are not stretched."""
    if not points:
        return None
    import math

    plt = _pyplot()
    import numpy as np
    from matplotlib.collections import PolyCollection
    from matplotlib.path import Path

    lats, lons = [p.lat for p in points], [p.lon for p in points]
    half = max(2.0, (max(lats) - min(lats)) * 0.6, (max(lons) - min(lons)) * 0.6)
    clat, clon = (max(lats) + min(lats)) / 2, (max(lons) + min(lons)) / 2
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    x0, x1, y0, y1 = clon - half * 1.5, clon + half * 1.5, clat - half, clat + half
    gx, gy = np.meshgrid(np.linspace(x0, x1, 40), np.linspace(y0, y1, 30))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    rings = []
    for name, shape in _countries():
        seen = [r for r in shape if len(r) > 2 and _meets(r, x0, x1, y0, y1)]
        rings.extend(seen)
        inside = grid[np.any([Path(r).contains_points(grid) for r in seen], axis=0)] if seen else grid[:0]
        if name and len(inside) > 0.04 * len(grid):  # named at the middle of its visible part
            ax.text(*inside.mean(axis=0), name, ha="center", va="center", fontsize=9, color=MUTED)
    ax.add_collection(PolyCollection(rings, facecolor=LAND, edgecolor=MUTED, linewidths=0.5))
    for verified in (False, True):
        chosen = [p for p in points if p.verified == verified]
        if chosen:
            ax.scatter([p.lon for p in chosen], [p.lat for p in chosen], s=28, zorder=3,
                       color=ACCENT if verified else "white", edgecolors=ACCENT, linewidths=1.2,
                       label="verified" if verified else "not verified")
    for p in points[:40]:
        ax.annotate(_plain(p.label), (p.lon, p.lat), xytext=(5, 4), textcoords="offset points", fontsize=6.5,
                    color=INK)
    ax.set_xlim(x0, x1)
    ax.set_ylim(max(-90.0, y0), min(90.0, y1))
    ax.set_aspect(1 / max(0.2, math.cos(math.radians(clat))))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.legend(loc="lower left", fontsize=7)
    ax.text(1.0, -0.16, "Borders: Natural Earth 1:50m (public domain)", transform=ax.transAxes, ha="right",
            fontsize=6, color=MUTED)
    return _svg(fig, "map")


def _plain(label: str) -> str:
    """A label drawn as written: matplotlib reads text between two $ as TeX (and fails on bad TeX)."""
    return label.replace("$", r"\$")


def _meets(ring: list[tuple[float, float]], x0: float, x1: float, y0: float, y1: float) -> bool:
    """Whether the ring's bounding box meets the view (only those are drawn: the SVG stays small)."""
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return min(xs) <= x1 and max(xs) >= x0 and min(ys) <= y1 and max(ys) >= y0
