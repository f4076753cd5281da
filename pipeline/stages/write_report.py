"""Write the planners' review report and the links table for spreadsheets.

Inputs
    ``outputs/<region>/heat_links.gpkg`` (the deliverable, so the report shows exactly
    what analysts see), ``data/interim/<region>/roads.parquet`` for the base map, the
    region file and ``outputs/<region>/logs/`` for provenance.
Outputs
    ``outputs/<region>/report.html``: one self-contained file (maps and chart embedded as
    PNG data URIs, no tile downloads) with an overview map, a map per source, tables per
    source, per sink and of the cheapest links, the designed networks with a map of
    each of the largest, rejections by reason, and the assumptions and config used;
    ``outputs/<region>/links.csv``: every candidate link (viable and rejected) without
    geometry; ``outputs/<region>/networks.csv``: the ``networks`` layer without
    geometry (only the header when there is none).
Config keys
    all sections are listed in the report; none changes what it computes.

Method
    ``build_report`` puts the page together from one function per section, in this
    order: ``summary_section``, ``overview_map_section``, ``sources_section`` (the
    sources table, then ``source_map_and_best_links`` for each source with a
    candidate: a map for the ``MAX_SOURCE_MAPS`` sources sending most heat, the best
    links alone for the rest, named in the report), ``demand_zones_section``,
    ``cheapest_links_section``, ``networks_section`` (the networks table and savings,
    then ``network_map`` for the ``MAX_NETWORK_MAPS`` networks delivering most heat),
    ``rejections_by_reason_section``, ``assumptions_and_config_section`` and
    ``data_sources_section``; ``html_page`` wraps them with the title and style.
    matplotlib is imported only when a map or chart is drawn.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline import __version__
from pipeline.config import RegionFile
from pipeline.engineering.profile import share_pct
from pipeline.io import atomic_path, read_geoparquet
from pipeline.paths import RegionPaths
from pipeline.stages import region_input_files
from pipeline.stages.export_geopackage import layer_fields

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger("heatlink.write_report")

VIABLE, RECOMMENDED, REJECTED = "#1a9850", "#08519c", "#d73027"
PIPE = "#b30000"
MAX_NETWORK_MAPS = 12
"""Networks drawn on a map of their own; the rest are in the networks table only."""
MAX_SOURCE_MAPS = 20
"""Sources drawn on a map of their own; the others' best links are listed without one."""
OVERVIEW_DPI = 110
MAP_WIDTH_PX = 500
"""Width of the figures of the source and network maps in pixels: cropped to what is
drawn, their images are about 400 px wide, as wide as they are shown (380 px); more
pixels only cost time to draw and encode."""
SOURCE_MAP_INCHES, NETWORK_MAP_INCHES = (5.0, 5.0), (6.0, 6.0)

STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "img{max-width:100%}table.t{border-collapse:collapse;font-size:12px;margin:.5em 0}"
    ".t td,.t th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}"
    ".src{display:flex;gap:1em;align-items:flex-start}.src img{width:380px}"
    "pre{font-size:11px;background:#f6f6f6;padding:1em;overflow:auto}"
)

NOTES = (
    "<ul><li>Recovering waste heat does not reduce the data centre's own emissions; "
    "carbon figures count only the displaced boiler heat against the heat-pump and "
    "pumping electricity.</li><li>Annual figures are per year; lifetime figures are "
    "labelled as such.</li><li>Sites marked hypothetical in the inputs are not real "
    "facilities.</li></ul>"
)


def _subplots(figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """A new figure and axes, without pyplot: its import and figure manager cost more
    than the drawing of a small map, and nothing here is shown on screen."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, facecolor="white")
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


class MapCanvas:
    """One figure and axes that draw map after map of one size, cleared in between:
    making a figure and its axes costs more than drawing a small map on them."""

    def __init__(self, figsize: tuple[float, float]) -> None:
        self.fig, self.ax = _subplots(figsize)

    def clear(self) -> Axes:
        """The axes with every layer, label, legend and title of the last map removed."""
        ax = self.ax
        for artist in (*ax.collections, *ax.images, *ax.lines, *ax.texts, *ax.patches):
            artist.remove()
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.set_title("")
        return ax


def _png(fig: Figure, *, dpi: float = 110) -> str:
    """The figure as a PNG data URI, cropped to what is drawn.

    The figure is drawn once and cropped by :func:`_drawn` (``savefig`` with
    ``bbox_inches="tight"`` lays it out twice), then written as RGB at zlib level 1,
    which encodes about twice as fast as the default level 6 for a few per cent more
    bytes.
    """
    from PIL import Image

    fig.set_dpi(dpi)
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    rgb = np.ascontiguousarray(rgba[_drawn(rgba)][..., :3])
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="png", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _drawn(rgba: np.ndarray, *, pad: int = 4) -> tuple[slice, slice]:
    """The rows and columns of an RGBA image that hold what is drawn on its white
    background, with ``pad`` pixels of margin.

    Examples
    --------
    >>> image = np.full((10, 20, 4), 255, dtype=np.uint8)
    >>> image[3:5, 6:9, :3] = 0
    >>> _drawn(image, pad=1)
    (slice(2, 6, None), slice(5, 10, None))
    """
    ink = rgba.view(np.uint32)[..., 0] != np.uint32(0xFFFFFFFF)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return slice(None), slice(None)
    return (
        slice(max(int(rows[0]) - pad, 0), int(rows[-1]) + pad + 1),
        slice(max(int(cols[0]) - pad, 0), int(cols[-1]) + pad + 1),
    )


def _nice_length(span_m: float) -> float:
    """A round scale-bar length near a fifth of the map width."""
    target = span_m / 5
    base = 10 ** np.floor(np.log10(target))
    return float(max(m * base for m in (1, 2, 5) if m * base <= target))


def _decorate(ax: Axes) -> None:
    """North arrow and scale bar (the map is in a projected CRS in metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    bx, by = x0 + 0.05 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    ax.plot([bx, bx + length], [by, by], color="black", lw=3, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(bx + length / 2, by + 0.015 * (y1 - y0), label, ha="center", va="bottom", fontsize=8)
    ax.annotate(
        "N",
        xy=(0.95, 0.95),
        xytext=(0.95, 0.85),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=10,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 9},
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal")


def _lines(ax: Axes, geoms: np.ndarray, **style: object) -> None:
    """Draw many lines at once (a LineCollection is far faster than GeoDataFrame.plot)."""
    from matplotlib.collections import LineCollection

    xy, idx = shapely.get_coordinates(shapely.get_parts(geoms), return_index=True)
    cuts = np.flatnonzero(np.diff(idx)) + 1
    ax.add_collection(LineCollection(np.split(xy, cuts), **style))


def _polygons(ax: Axes, geoms: np.ndarray, *, color: str, alpha: float, zorder: int) -> None:
    """Fill polygons, holes kept, as one collection."""
    from matplotlib.collections import PathCollection
    from matplotlib.path import Path

    paths = []
    for polygon in shapely.get_parts(geoms):
        rings = [np.asarray(polygon.exterior.coords)] + [
            np.asarray(r.coords) for r in polygon.interiors
        ]
        codes = np.full(sum(len(r) for r in rings), Path.LINETO, dtype=Path.code_type)
        start = 0
        for ring in rings:
            codes[start], codes[start + len(ring) - 1] = Path.MOVETO, Path.CLOSEPOLY
            start += len(ring)
        paths.append(Path(np.concatenate(rings), codes))
    ax.add_collection(
        PathCollection(paths, facecolors=color, edgecolors="none", alpha=alpha, zorder=zorder)
    )


def _plot(ax: Axes, geoms: np.ndarray, *, zorder: int, **style) -> None:
    """Draw an array of geometries of one kind with matplotlib collections:
    GeoDataFrame.plot renders the whole figure again at each call, which costs minutes
    over hundreds of maps."""
    kind = geoms[0].geom_type
    if kind.endswith("Polygon"):
        _polygons(ax, geoms, color=style["color"], alpha=style.get("alpha", 1.0), zorder=zorder)
    elif kind.endswith("Point"):
        xy = shapely.get_coordinates(geoms)
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=style["markersize"],
            marker=style["marker"],
            c=style["color"],
            zorder=zorder,
        )
    else:
        _lines(
            ax,
            geoms,
            colors=style["color"],
            linewidths=style.get("lw", 1.0),
            linestyles=style.get("ls", "solid"),
            alpha=style.get("alpha"),
            zorder=zorder,
        )


def _within(
    gdf: gpd.GeoDataFrame, window: shapely.Geometry | None, keep: np.ndarray | None = None
) -> np.ndarray:
    """The geometries of ``gdf`` (those where ``keep`` is true, if given) that meet
    ``window`` by the layer's STRtree, or all of them without a window; never a missing or
    empty one."""
    geoms = gdf.geometry.to_numpy()
    if window is not None:
        idx = gdf.sindex.query(window) if len(geoms) else np.array([], dtype=np.intp)
    else:
        idx = np.flatnonzero(shapely.is_geometry(geoms) & ~shapely.is_empty(geoms))
    if keep is not None:
        idx = idx[keep[idx]]
    return geoms[idx]


def road_raster(
    lines: np.ndarray,
    extent: tuple[float, float, float, float],
    shape: tuple[int, int],
    *,
    chunk: int = 1 << 17,
) -> np.ndarray:
    """The length of road in each cell of a grid over ``extent``, in cell widths.

    Each segment is sampled at points half a cell apart or closer, and each point adds
    its share of the segment's length to the cell it falls in (points outside the grid
    are dropped), so a road crossing a cell straight adds about 1. Row 0 is the top.
    Segments are taken ``chunk`` at a time, which keeps the work arrays small.

    Examples
    --------
    >>> line = shapely.LineString([(0.0, 30.0), (40.0, 30.0)])  # along the top row
    >>> road_raster(np.array([line]), (0.0, 0.0, 40.0, 40.0), (2, 4)).round(2).tolist()
    [[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
    """
    x0, y0, x1, y1 = extent
    rows, cols = shape
    xy, part = shapely.get_coordinates(shapely.get_parts(lines), return_index=True)
    xy -= (x0, y1)
    xy *= (cols / (x1 - x0), -rows / (y1 - y0))  # now (column, row) in cells
    first = np.flatnonzero(part[1:] == part[:-1])  # a segment joins two vertices of a line
    cells = np.zeros(rows * cols)
    for lo in range(0, len(first), chunk):
        start = xy[first[lo : lo + chunk]]
        step = xy[first[lo : lo + chunk] + 1] - start
        length = np.hypot(step[:, 0], step[:, 1])
        n = np.maximum(np.ceil(2 * length), 1).astype(np.int64)
        seg = np.repeat(np.arange(len(n)), n)
        t = (np.arange(len(seg)) - np.repeat(np.cumsum(n) - n, n) + 0.5) / n[seg]
        col = np.floor(start[seg, 0] + t * step[seg, 0]).astype(np.int64)
        row = np.floor(start[seg, 1] + t * step[seg, 1]).astype(np.int64)
        inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
        cells += np.bincount(
            row[inside] * cols + col[inside],
            weights=(length / n)[seg[inside]],
            minlength=rows * cols,
        )
    return cells.reshape(rows, cols)


ROAD_RGB = (0.74, 0.74, 0.74)  # #bdbdbd, the roads' colour on every map
ROAD_OPACITY_PER_CELL = 0.7
"""Opacity that one cell width of road gives its pixel on the overview (a road of 0.4 pt
drawn as a line covers about 0.6 of a pixel at 110 dpi); more road saturates at 1."""


def _road_image(ax: Axes, roads: gpd.GeoDataFrame, *, dpi: float) -> None:
    """Draw ``roads`` as one image of about a cell per pixel of ``ax`` at ``dpi``: one
    image costs the same at a thousand or a million road edges, where a line per road
    costs seconds to draw."""
    x0, y0, x1, y1 = roads.total_bounds
    box = ax.get_position()
    width_in, height_in = ax.figure.get_size_inches()
    pixels = max(box.width * width_in, box.height * height_in) * dpi
    cell = max(x1 - x0, y1 - y0, 1.0) / max(pixels, 1.0)
    cols, rows = max(int(np.ceil((x1 - x0) / cell)), 1), max(int(np.ceil((y1 - y0) / cell)), 1)
    extent = (x0, y1 - rows * cell, x0 + cols * cell, y1)
    opacity = road_raster(roads.geometry.to_numpy(), extent, (rows, cols))
    rgba = np.empty((rows, cols, 4), dtype=np.uint8)
    rgba[..., :3] = np.round(np.multiply(ROAD_RGB, 255))
    rgba[..., 3] = np.round(np.clip(opacity * ROAD_OPACITY_PER_CELL, 0, 1) * 255)
    ax.imshow(
        rgba,
        extent=(extent[0], extent[2], extent[1], extent[3]),
        origin="upper",
        interpolation="nearest",
        zorder=1,
    )


def _draw(
    ax: Axes,
    roads: gpd.GeoDataFrame,
    layers: dict[str, gpd.GeoDataFrame],
    links: gpd.GeoDataFrame,
    rejected: gpd.GeoDataFrame,
    *,
    extent: tuple[float, float, float, float] | None = None,
) -> None:
    """Roads, zones, networks, links and sources; only what meets ``extent`` if given.
    Without ``extent`` (the whole region) the roads are one image (:func:`_road_image`);
    within it, the roads it meets are lines cut to it (a road runs on for kilometres
    outside a map: uncut, most of what is drawn would fall off the map)."""
    window = None if extent is None else shapely.box(*extent)
    if window is not None:
        near = shapely.clip_by_rect(_within(roads, window), *extent)
        near = near[~shapely.is_empty(near)]
        if len(near):
            _lines(ax, near, colors="#bdbdbd", linewidths=0.4, zorder=1)
    elif len(roads):
        _road_image(ax, roads, dpi=OVERVIEW_DPI)
    rec = (
        links["recommended"].to_numpy(dtype=bool)
        if "recommended" in links
        else np.zeros(len(links), dtype=bool)
    )
    drawn = [
        (layers["demand_zones"], None, {"color": "#fdae61", "alpha": 0.5}),
        (layers.get("existing_networks", roads.iloc[:0]), None, {"color": "#762a83", "lw": 2}),
        (rejected, None, {"color": REJECTED, "lw": 1, "ls": "--"}),
        (links, ~rec, {"color": VIABLE, "lw": 2}),
        (links, rec, {"color": RECOMMENDED, "lw": 3}),
        (layers["sources"], None, {"color": "black", "marker": "s", "markersize": 36}),
    ]
    for z, (gdf, keep, style) in enumerate(drawn, start=2):
        geoms = _within(gdf, window, keep)
        if len(geoms):
            _plot(ax, geoms, zorder=z, **style)
    if extent is None and len(roads):
        extent = tuple(roads.total_bounds)
    if extent is not None:
        ax.set_xlim(extent[0], extent[2])
        ax.set_ylim(extent[1], extent[3])


def _legend(ax: Axes, lines: list[tuple[str, dict]] | None = None) -> None:
    """The map key; ``lines`` (label and line style) replace the entries of the links."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if lines is None:
        lines = [
            ("recommended link", {"color": RECOMMENDED, "lw": 3}),
            ("viable link", {"color": VIABLE, "lw": 2}),
            ("rejected link", {"color": REJECTED, "lw": 1, "ls": "--"}),
        ]
    handles = [
        Line2D([], [], color="#bdbdbd", lw=1, label="road"),
        Patch(color="#fdae61", alpha=0.5, label="demand zone"),
        Line2D([], [], color="#762a83", lw=2, label="existing network"),
        *(Line2D([], [], label=label, **style) for label, style in lines),
        Line2D([], [], color="black", marker="s", lw=0, label="heat source"),
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=7, framealpha=0.9)


def _table(df: pd.DataFrame, floatfmt: str = "{:,.1f}") -> str:
    """``df`` as an HTML table without its index: floats written with ``floatfmt``,
    missing values empty, text escaped. Written out here because ``DataFrame.to_html``
    takes about 2 ms a table, and the report has hundreds of small ones.

    Examples
    --------
    >>> _table(pd.DataFrame({"id": ["a<b", None], "mw": [1234.56, float("nan")], "n": [3, 4]}))
    '<table class="t"><thead><tr><th>id</th><th>mw</th><th>n</th></tr></thead><tbody>\
<tr><td>a&lt;b</td><td>1,234.6</td><td>3</td></tr><tr><td></td><td></td><td>4</td></tr>\
</tbody></table>'
    """
    if df.empty:
        return "<p><em>none</em></p>"
    return _rows_table(list(df.columns), df.to_numpy(dtype=object), floatfmt)


def _rows_table(columns: list, rows: np.ndarray, floatfmt: str = "{:,.1f}") -> str:
    """An HTML table of ``rows`` (an object array, a row per table row) under ``columns``."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v, floatfmt)}</td>" for v in row) + "</tr>" for row in rows
    )
    return f'<table class="t"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(value: object, floatfmt: str) -> str:
    """One table cell: a float with ``floatfmt``, a missing value empty, the rest as text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else floatfmt.format(value)
    return html.escape(str(value))


def _section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n{body}\n"


def _lcoh_column(links: pd.DataFrame) -> str | None:
    """The levelised-cost column (its name carries the currency), if the links have one."""
    return next((c for c in links.columns if c.startswith("lcoh_transmission_")), None)


def _ranking_column(links: pd.DataFrame) -> str:
    """What "best" and "cheapest" sort on: the LCOH, or the heat loss without one."""
    return _lcoh_column(links) or "heat_loss_pct"


def _link_columns(links: pd.DataFrame) -> list[str]:
    """The columns the link tables show, those of them that the links have."""
    shown = (
        "link_id",
        "zone_id",
        "sink_id",
        "route_length_m",
        "dn",
        "design_heat_mw",
        "allocated_heat_mw",
        "coverage_pct",
        "heat_loss_pct",
        _lcoh_column(links),
        *(c for c in links.columns if c.startswith("lcoh_delivered_")),
    )
    return [c for c in shown if c and c in links.columns]


def _rejection_counts(rejected: pd.DataFrame) -> pd.Series:
    """Rejected candidates per reason code; a candidate failing several rules counts in each."""
    if not len(rejected):
        return pd.Series(dtype=int)
    return rejected["reason"].astype(str).str.split(";").explode().value_counts()


def summary_section(layers: dict[str, gpd.GeoDataFrame], cfg: RegionFile) -> str:
    """Counts of sources, zones, networks, viable, recommended and rejected links."""
    links, rejected = layers["links"], layers["rejected_links"]
    n_rec = int(links["recommended"].sum()) if "recommended" in links else 0
    summary = (
        f"<p>{len(layers['sources'])} heat sources, {len(layers['demand_zones'])} demand "
        f"zones, {len(layers.get('existing_networks', []))} existing networks; "
        f"{len(links)} viable links ({n_rec} recommended) and {len(rejected)} rejected "
        f"candidates within {cfg.routing.max_link_length_m:,.0f} m.</p>"
    )
    too_cold = (
        links["summer_too_cold"].fillna(False).astype(bool) if "summer_too_cold" in links else []
    )
    if any(too_cold):
        summary += (
            f"<p>{int(sum(too_cold))} viable links lose so much supply temperature at summer "
            f"flow that the sink gets less than it can use "
            f"({html.escape(', '.join(links.loc[too_cold, 'link_id']))}): see "
            "<code>supply_temp_drop_summer_k</code>.</p>"
        )
    if any(c.startswith("lcoh_delivered_") for c in links.columns):
        summary += (
            "<p>Two costs of heat are given. <code>lcoh_transmission</code> counts what it "
            "takes to bring the heat to the edge of the zone: the heat pump, the pipe, the "
            "stations, their upkeep and electricity. <code>lcoh_delivered</code> adds the "
            "zone's own distribution network to the buildings, estimated from the zone's heat "
            "density (Persson &amp; Werner 2011); it is empty for existing networks.</p>"
        )
    if n_rec and "allocated_delivered_heat_mwh" in links:
        summary += (
            f"<p>Over a typical year, hour by hour, the recommended links deliver "
            f"{links['allocated_delivered_heat_mwh'].sum():,.0f} MWh of heat and save "
            f"{links['allocated_co2_saved_t_per_yr'].sum():,.0f} t CO2e net a year "
            "(links that share a sink are counted together, cheapest first).</p>"
        )
    return _section("Summary", summary)


def overview_map_section(
    layers: dict[str, gpd.GeoDataFrame], roads: gpd.GeoDataFrame, cfg: RegionFile
) -> str:
    """The whole region on one map, links coloured by viability, with a legend."""
    fig, ax = _subplots((9, 9))
    _draw(ax, roads, layers, layers["links"], layers["rejected_links"])
    _decorate(ax)
    _legend(ax)
    ax.set_title(f"{cfg.region.name}: links coloured by viability")
    return _section("Overview map", f'<img alt="overview map" src="{_png(fig, dpi=OVERVIEW_DPI)}">')


def sources_section(
    layers: dict[str, gpd.GeoDataFrame], roads: gpd.GeoDataFrame, cfg: RegionFile
) -> str:
    """The sources table, then the best links of each source with a candidate, with a map
    for the :data:`MAX_SOURCE_MAPS` sources that send most heat (drawing hundreds of maps
    would take minutes)."""
    table = _sources_table(layers)
    ranked = table.assign(
        has_candidate=(table["viable_links"] + table["rejected"]) > 0
    ).sort_values(
        ["has_candidate", "allocated_source_heat_mw", "viable_links"],
        ascending=False,
        kind="stable",
    )
    mapped = set(ranked.loc[ranked["has_candidate"], "site_id"].head(MAX_SOURCE_MAPS))
    unmapped = [s for s in ranked.loc[ranked["has_candidate"], "site_id"] if s not in mapped]
    note = (
        f"<p>Maps follow for the {len(mapped)} sources that send most waste heat into the "
        f"recommended links; the other {len(unmapped)} sources with a candidate "
        f"({html.escape(', '.join(map(str, unmapped)))}) have their best links listed "
        "without a map.</p>"
        if unmapped
        else ""
    )
    candidates = candidates_by_site(layers["links"], layers["rejected_links"])
    canvas = MapCanvas(SOURCE_MAP_INCHES) if mapped else None
    parts = [
        source_map_and_best_links(
            s,
            layers,
            roads,
            reach_m=cfg.routing.max_link_length_m,
            with_map=s.site_id in mapped,
            candidates=candidates[s.site_id],
            canvas=canvas,
        )
        for s in layers["sources"].itertuples()
        if s.site_id in candidates
    ]
    return _section("Sources", _table(table) + note) + "".join(parts)


def _sources_table(layers: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Per source: its waste heat, the part of it allocated, and its candidate counts."""
    links, rejected, sources = layers["links"], layers["rejected_links"], layers["sources"]
    ids = sources["site_id"]
    allocated = links.groupby("site_id")["allocated_source_heat_mw"].sum()
    return pd.DataFrame(
        {
            "site_id": ids.to_numpy(),
            "name": sources["name"].to_numpy(),
            "kind": sources["kind"].to_numpy(),
            "heat_available_mw": sources["heat_available_mw"].to_numpy(),
            "allocated_source_heat_mw": ids.map(allocated).fillna(0.0).to_numpy(float),
            "viable_links": ids.map(links["site_id"].value_counts()).fillna(0).to_numpy(int),
            "rejected": ids.map(rejected["site_id"].value_counts()).fillna(0).to_numpy(int),
        }
    )


def _by_site(links: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """The links of each source."""
    return {site: group for site, group in links.groupby("site_id", sort=False)}


class SourceCandidates(NamedTuple):
    """One source's viable and rejected links, and the HTML table of its best links."""

    viable: gpd.GeoDataFrame
    rejected: gpd.GeoDataFrame
    best_table: str


def candidates_by_site(
    links: gpd.GeoDataFrame, rejected: gpd.GeoDataFrame, *, best: int = 5
) -> dict[str, SourceCandidates]:
    """The candidates of each source with one, split and ranked in one pass over the
    links: a filter and a sort per source cost seconds over hundreds of sources."""
    viable, refused = _by_site(links), _by_site(rejected)
    tables = {}
    if len(links):
        columns = _link_columns(links)
        ranked = links.sort_values(_ranking_column(links), kind="stable")
        top = ranked.groupby("site_id", sort=False).head(best)
        rows, sites = top[columns].to_numpy(dtype=object), top["site_id"].to_numpy(dtype=object)
        tables = {site: _rows_table(columns, rows[sites == site]) for site in dict.fromkeys(sites)}
    none = _table(links.iloc[:0])
    return {
        site: SourceCandidates(
            viable.get(site, links.iloc[:0]),
            refused.get(site, rejected.iloc[:0]),
            tables.get(site, none),
        )
        for site in (*viable, *refused)
    }


def source_map_and_best_links(
    source: tuple,
    layers: dict[str, gpd.GeoDataFrame],
    roads: gpd.GeoDataFrame,
    *,
    reach_m: float,
    with_map: bool = True,
    candidates: SourceCandidates | None = None,
    canvas: MapCanvas | None = None,
) -> str:
    """A map of one source's reach (unless ``with_map`` is False) and its five best links;
    empty without a candidate. ``candidates``: the source's, from
    :func:`candidates_by_site` (found here if not given); ``canvas``: where to draw the
    map (a new one if not given)."""
    if candidates is None:
        links, rejected = layers["links"], layers["rejected_links"]
        candidates = candidates_by_site(
            links[links["site_id"] == source.site_id],
            rejected[rejected["site_id"] == source.site_id],
        ).get(source.site_id)
    if candidates is None:
        return ""
    mine, theirs, best = candidates
    site_id = html.escape(str(source.site_id))
    if not with_map:
        return f"<h3>{site_id}: {html.escape(str(source.name))}</h3>{best}"
    canvas = canvas or MapCanvas(SOURCE_MAP_INCHES)
    ax = canvas.clear()
    x, y = source.geometry.x, source.geometry.y
    _draw(
        ax, roads, layers, mine, theirs, extent=(x - reach_m, y - reach_m, x + reach_m, y + reach_m)
    )
    _decorate(ax)
    ax.set_title(f"{source.site_id} {source.name}", fontsize=9)
    return (
        f"<h3>{site_id}: {html.escape(str(source.name))}</h3>"
        f'<div class="src"><img alt="map of {site_id}" '
        f'src="{_png(canvas.fig, dpi=MAP_WIDTH_PX / SOURCE_MAP_INCHES[0])}"><div>{best}</div></div>'
    )


def demand_zones_section(links: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> str:
    """Each zone's demand with the heat its links offer and the heat allocated to it."""
    offered = links.groupby("zone_id")["design_heat_mw"].sum() if len(links) else pd.Series()
    allocated = (
        links.groupby("zone_id")["allocated_heat_mw"].sum()
        if "allocated_heat_mw" in links and len(links)
        else pd.Series(dtype=float)
    )
    table = zones[["zone_id", "annual_demand_mwh", "peak_demand_mw", "area_ha"]].copy()
    table["heat_offered_mw"] = table["zone_id"].map(offered).fillna(0.0)
    table["allocated_heat_mw"] = table["zone_id"].map(allocated).fillna(0.0)
    if "allocated_delivered_heat_mwh" in links and len(links):
        delivered = links.groupby("zone_id")["allocated_delivered_heat_mwh"].sum()
        table["allocated_delivered_heat_mwh"] = table["zone_id"].map(delivered).fillna(0.0)
        table["coverage_pct"] = share_pct(
            table["allocated_delivered_heat_mwh"], table["annual_demand_mwh"]
        )
    return _section("Demand zones", _table(table))


def cheapest_links_section(links: gpd.GeoDataFrame) -> str:
    """The fifteen best viable links across all sources."""
    key = _ranking_column(links)
    top = (
        links.sort_values(key).head(15)[["site_id", *_link_columns(links)]] if len(links) else links
    )
    return _section(f"Top links by {key}", _table(top))


NETWORKS_TITLE = "Designed networks"
NETWORKS_INTRO = (
    "<p>A designed network serves the sinks that the recommended links reach from the "
    "same sources through one trunk that branches to each sink, instead of one pipe per "
    "link: where the links would run along the same roads, they share one trench and a "
    "larger pipe. Each network is set beside the point-to-point links (<code>p2p_</code>) "
    "it replaces. <code>lcoh_transmission</code> is the cost of heat brought to the edge "
    "of each zone; <code>lcoh_delivered</code> also counts the zone's own distribution "
    "network to the buildings (nothing for an existing network, whose distribution is "
    "built). <code>optimality_gap_pct</code> is empty for a heuristic design, which has no "
    "proven bound.</p>"
)


def _ids(joined: object) -> list[str]:
    """The ids of a ``;``-joined field (none when it is empty)."""
    return str(joined).split(";") if isinstance(joined, str) and joined else []


def _network_currency(networks: pd.DataFrame) -> str:
    """The currency the networks' costs are in, from ``capex_<cur>`` (``eur`` without it)."""
    found = (re.fullmatch(r"capex_([a-z]+)", c) for c in networks.columns)
    return next((m.group(1) for m in found if m), "eur")


def _network_columns(networks: pd.DataFrame, cur: str) -> list[str]:
    """The columns the networks table shows, those of them that the layer has."""
    shown = (
        "network_id",
        "site_ids",
        "sink_ids",
        "trench_length_m",
        "p2p_trench_length_m",
        "trench_saving_pct",
        f"capex_{cur}",
        f"p2p_capex_{cur}",
        "capex_saving_pct",
        f"lcoh_transmission_{cur}_per_mwh",
        f"lcoh_delivered_{cur}_per_mwh",
        "delivered_heat_mwh",
        "co2_saved_t_per_yr",
        "method",
        "optimality_gap_pct",
    )
    return [c for c in shown if c in networks.columns]


def network_savings(networks: pd.DataFrame, cur: str) -> dict[str, float]:
    """Trench and capital cost that all networks save against the links they replace.

    Examples
    --------
    >>> t = pd.DataFrame({"trench_length_m": [600.0, 300.0], "p2p_trench_length_m":
    ...     [1000.0, 500.0], "capex_eur": [3.0e6, 1.0e6], "p2p_capex_eur": [4.0e6, 1.0e6],
    ...     "n_links": [3, 2]})
    >>> network_savings(t, "eur")
    {'trench_saved_m': 600.0, 'trench_saving_pct': 40.0, 'capex_saved': 1000000.0, \
'capex_saving_pct': 20.0, 'n_links': 5}
    """
    trench, p2p_trench = networks["trench_length_m"].sum(), networks["p2p_trench_length_m"].sum()
    capex, p2p_capex = networks[f"capex_{cur}"].sum(), networks[f"p2p_capex_{cur}"].sum()
    return {
        "trench_saved_m": float(p2p_trench - trench),
        "trench_saving_pct": float(share_pct(p2p_trench - trench, p2p_trench)),
        "capex_saved": float(p2p_capex - capex),
        "capex_saving_pct": float(share_pct(p2p_capex - capex, p2p_capex)),
        "n_links": int(networks["n_links"].sum()),
    }


def _savings_sentence(networks: pd.DataFrame, cur: str) -> str:
    """The savings of :func:`network_savings` in one sentence (plain text)."""
    s = network_savings(networks, cur)
    links = "link" if s["n_links"] == 1 else "links"
    return (
        f"Against the {s['n_links']} point-to-point {links} they replace, each laid alone, "
        f"the networks save {s['trench_saved_m']:,.0f} m of trench "
        f"({s['trench_saving_pct']:.1f} %) and {s['capex_saved']:,.0f} {cur.upper()} of "
        f"capital cost ({s['capex_saving_pct']:.1f} %): shared trenches and pipes, and one "
        "heat pump and station per source in place of one per link."
    )


def networks_section(layers: dict[str, gpd.GeoDataFrame], roads: gpd.GeoDataFrame) -> str:
    """The networks table and their savings, then a map of each of the largest networks."""
    networks = layers.get("networks")
    if networks is None or "network_pipes" not in layers:
        return _section(
            NETWORKS_TITLE,
            "<p>This GeoPackage has no <code>networks</code> layer: it was written before "
            "heatlink designed networks. Run the pipeline again to design them.</p>",
        )
    if networks.empty:
        return _section(NETWORKS_TITLE, "<p>No network was designed: no link is recommended.</p>")
    cur = _network_currency(networks)
    largest = networks.sort_values("delivered_heat_mwh", ascending=False, kind="stable")
    drawn, rest = largest.iloc[:MAX_NETWORK_MAPS], largest.iloc[MAX_NETWORK_MAPS:]
    body = (
        NETWORKS_INTRO
        + _table(networks[_network_columns(networks, cur)])
        + f"<p>{html.escape(_savings_sentence(networks, cur))}</p>"
    )
    if len(rest):
        body += (
            f"<p>Maps follow for the {len(drawn)} networks that deliver most heat; the other "
            f"{len(rest)} ({html.escape(', '.join(rest['network_id'].astype(str)))}) are in "
            "the table only.</p>"
        )
    canvas = MapCanvas(NETWORK_MAP_INCHES)
    maps = [network_map(n, layers, roads, cur=cur, canvas=canvas) for n in drawn.itertuples()]
    return _section(NETWORKS_TITLE, body) + "".join(maps)


def _dn_width(dn: float) -> float:
    """Line width in points of a pipe of nominal diameter ``dn`` on the network maps.

    Examples
    --------
    >>> [round(_dn_width(dn), 1) for dn in (20, 100, 300, 1000)]
    [0.8, 2.9, 4.3, 5.9]
    """
    return float(max(0.8, 0.8 + 0.9 * np.log2(dn / 20)))


def _network_extent(*geometries: gpd.GeoSeries) -> tuple[float, float, float, float] | None:
    """A square around ``geometries`` with a margin of a tenth of its side (200 m at least)."""
    bounds = shapely.total_bounds(np.concatenate([g.to_numpy() for g in geometries]))
    if not np.isfinite(bounds).all():
        return None
    (x0, y0, x1, y1) = bounds
    half = max(x1 - x0, y1 - y0) / 2 * 1.1 + 200.0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - half, cy - half, cx + half, cy + half)


def _network_parts(
    network: tuple, layers: dict[str, gpd.GeoDataFrame]
) -> dict[str, gpd.GeoDataFrame]:
    """The layers' rows of one network: its pipes, sources, sinks and the links it replaces."""
    site_ids, sink_ids = _ids(network.site_ids), _ids(network.sink_ids)
    pipes, links = layers["network_pipes"], layers["links"]
    rec = links["recommended"].astype(bool) if "recommended" in links else links.index < 0
    parts = {
        "network_pipes": pipes[pipes["network_id"] == network.network_id],
        "sources": layers["sources"][layers["sources"]["site_id"].isin(site_ids)],
        "demand_zones": layers["demand_zones"][layers["demand_zones"]["zone_id"].isin(sink_ids)],
        "links": links[rec & links["site_id"].isin(site_ids) & links["sink_id"].isin(sink_ids)],
    }
    if "existing_networks" in layers:
        nets = layers["existing_networks"]
        parts["existing_networks"] = nets[nets["network_id"].isin(sink_ids)]
    return parts


def _label(ax: Axes, gdf: gpd.GeoDataFrame, column: str, extent: tuple) -> None:
    """Write ``column`` next to each feature, at a point of it inside ``extent``."""
    inside = shapely.intersection(gdf.geometry.to_numpy(), shapely.box(*extent))
    for text, point in zip(gdf[column], shapely.point_on_surface(inside), strict=True):
        if not point.is_empty:
            ax.annotate(
                str(text),
                xy=(point.x, point.y),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7,
                zorder=9,
            )


def _draw_pipes(ax: Axes, pipes: gpd.GeoDataFrame) -> list[tuple[str, dict]]:
    """The pipes, wider for larger DN; returns the legend entries of the DNs drawn."""
    entries = []
    for dn, same in pipes.groupby("dn", sort=True):
        style = {"color": PIPE, "lw": _dn_width(float(dn))}
        _lines(
            ax, same.geometry.to_numpy(), colors=style["color"], linewidths=style["lw"], zorder=6
        )
        entries.append((f"pipe DN{int(dn)}", style))
    return entries


def network_map(
    network: tuple,
    layers: dict[str, gpd.GeoDataFrame],
    roads: gpd.GeoDataFrame,
    *,
    cur: str,
    canvas: MapCanvas | None = None,
) -> str:
    """A map of one network over the links it replaces, with its pipe lengths by DN;
    ``canvas``: where to draw it (a new one if not given)."""
    parts = _network_parts(network, layers)
    pipes, replaced = parts["network_pipes"], parts["links"]
    extent = _network_extent(
        gpd.GeoSeries([network.geometry]), pipes.geometry, parts["sources"].geometry
    )
    if extent is None:
        return ""
    canvas = canvas or MapCanvas(NETWORK_MAP_INCHES)
    ax = canvas.clear()
    _draw(ax, roads, parts, replaced.iloc[:0], replaced.iloc[:0], extent=extent)
    faded = {"color": RECOMMENDED, "lw": 3, "alpha": 0.3}
    if len(replaced):
        _plot(ax, replaced.geometry.to_numpy(), zorder=4, **faded)
    key = [("point-to-point link replaced", faded), *_draw_pipes(ax, pipes)]
    for name, column in (("sources", "site_id"), ("demand_zones", "zone_id")):
        _label(ax, parts[name], column, extent)
    if "existing_networks" in parts:
        _label(ax, parts["existing_networks"], "network_id", extent)
    _decorate(ax)
    _legend(ax, key)
    ax.set_title(f"{network.network_id}: {network.site_ids} to {network.sink_ids}", fontsize=9)
    by_dn = pipes.groupby("dn", as_index=False).agg(
        trench_length_m=("length_m", "sum"),
        **({f"capex_{cur}": (f"capex_{cur}", "sum")} if f"capex_{cur}" in pipes else {}),
    )
    network_id = html.escape(str(network.network_id))
    png = _png(canvas.fig, dpi=MAP_WIDTH_PX / NETWORK_MAP_INCHES[0])
    return (
        f"<h3>{network_id}: {html.escape(str(network.site_ids))} to "
        f"{html.escape(str(network.sink_ids))}</h3>"
        f'<div class="src"><img alt="network {network_id}" src="{png}">'
        f"<div>{_table(by_dn)}</div></div>"
    )


def rejections_by_reason_section(rejected: gpd.GeoDataFrame) -> str:
    """A bar chart and a table of rejected candidates per reason code."""
    reasons = _rejection_counts(rejected)
    if not len(reasons):
        return _section("Rejections by reason", "<p>No candidate was rejected.</p>")
    fig, ax = _subplots((6, 0.4 * len(reasons) + 1))
    ordered = reasons.sort_values()
    ax.barh(ordered.index.astype(str), ordered.to_numpy(), height=0.5, color=REJECTED)
    ax.set_ylabel("reason")
    ax.set_xlabel("rejected candidates (a candidate can fail several rules)")
    fig.tight_layout()  # room for the reason codes left of the bars
    chart = f'<img alt="rejections by reason" src="{_png(fig)}">'
    return _section(
        "Rejections by reason",
        chart + _table(reasons.rename_axis("reason").reset_index(name="count")),
    )


def assumptions_and_config_section(cfg: RegionFile) -> str:
    """What the figures assume, and the whole region file as resolved."""
    config = html.escape(json.dumps(cfg.model_dump(mode="json"), indent=1, default=str))
    return _section(
        "Assumptions and config",
        NOTES + f"<details open><summary>Region file, resolved</summary><pre>{config}</pre>"
        "</details><p>Formulas and sources: docs/methodology.md. Fields and units: "
        "docs/outputs.md.</p>",
    )


def data_sources_section(cfg: RegionFile) -> str:
    """Every input file, under the config key that names it."""
    items = "".join(
        f"<li><code>{html.escape(key)}</code>: {html.escape(str(path))}</li>"
        for key, path in region_input_files(cfg).items()
    )
    return _section("Data sources", f"<ul>{items}</ul>")


def html_page(cfg: RegionFile, *, generated: str, sections: list[str]) -> str:
    """One HTML page: title, style, the version, time and CRS line, then the sections."""
    name = html.escape(cfg.region.name)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>heatlink report: {name}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>Waste-heat links: {name}</h1>"
        f"<p>heatlink {__version__}, {html.escape(generated)}. CRS {html.escape(str(cfg.crs))}."
        "</p>" + "".join(sections) + "</body></html>"
    )


def build_report(
    layers: dict[str, gpd.GeoDataFrame],
    roads: gpd.GeoDataFrame,
    cfg: RegionFile,
    *,
    generated: str,
) -> str:
    """The report as one HTML string with its images embedded."""
    sections = [
        summary_section(layers, cfg),
        overview_map_section(layers, roads, cfg),
        sources_section(layers, roads, cfg),
        demand_zones_section(layers["links"], layers["demand_zones"]),
        cheapest_links_section(layers["links"]),
        networks_section(layers, roads),
        rejections_by_reason_section(layers["rejected_links"]),
        assumptions_and_config_section(cfg),
        data_sources_section(cfg),
    ]
    return html_page(cfg, generated=generated, sections=sections)


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the GeoPackage and write report.html and links.csv."""
    import pyogrio

    layers = {
        name: gpd.read_file(paths.geopackage, layer=name)
        for name, _ in pyogrio.list_layers(paths.geopackage)
        if name not in ("layer_styles", "run_info")
    }
    roads = read_geoparquet(paths.roads)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = build_report(layers, roads, cfg, generated=generated)
    with atomic_path(paths.report) as tmp:
        tmp.write_text(page, encoding="utf-8")
    links, networks = links_table(layers), networks_table(layers, cfg.cost.currency)
    for table, csv in ((links, paths.links_csv), (networks, paths.networks_csv)):
        with atomic_path(csv) as tmp:
            table.to_csv(tmp, index=False)
    log.info(
        "wrote %s (%.0f kB), %s (%d rows) and %s (%d rows)",
        *(paths.report, len(page) / 1000, paths.links_csv, len(links)),
        *(paths.networks_csv, len(networks)),
    )
    written = [paths.geopackage, paths.report, paths.links_csv, paths.networks_csv]
    print(summary_text(layers, written))


def links_table(layers: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Every candidate link, viable and rejected, without geometry."""
    return pd.concat(
        [
            layers["links"].drop(columns="geometry").assign(viable=True),
            layers["rejected_links"].drop(columns="geometry").assign(viable=False),
        ],
        ignore_index=True,
    )


def networks_table(layers: dict[str, gpd.GeoDataFrame], currency: str) -> pd.DataFrame:
    """The ``networks`` layer without geometry; only its header when the GeoPackage has none.

    Examples
    --------
    >>> list(networks_table({}, "GBP").columns[5:8])
    ['trench_length_m', 'heat_pump_mw', 'capex_gbp']
    """
    networks = layers.get("networks")
    if networks is None:
        return pd.DataFrame(columns=layer_fields(currency)["networks"][1])
    return pd.DataFrame(networks.drop(columns=networks.geometry.name))


def summary_text(layers: dict[str, gpd.GeoDataFrame], written: list) -> str:
    """The short summary printed at the end of a run: counts, best links, paths."""
    links = layers["links"]
    lcoh = _ranking_column(links)
    reasons = _rejection_counts(layers["rejected_links"])
    lines = [
        f"{len(layers['sources'])} sources, {len(layers['demand_zones'])} zones, "
        f"{len(layers.get('existing_networks', []))} existing networks: {len(links)} viable "
        f"links ({int(links['recommended'].sum())} recommended), "
        f"{len(layers['rejected_links'])} rejected"
        + (" (" + ", ".join(f"{k} {v}" for k, v in reasons.items()) + ")" if len(reasons) else ""),
    ]
    for r in links.sort_values(lcoh).head(3).itertuples():
        lines.append(
            f"  {r.link_id} {r.site_id} -> {r.sink_id}: {r.route_length_m:,.0f} m, DN{r.dn}, "
            f"{r.design_heat_mw:.1f} MW, {lcoh} {getattr(r, lcoh):,.1f}"
        )
    networks = layers.get("networks")
    if networks is not None and len(networks):
        cur = _network_currency(networks)
        lines.append(f"{len(networks)} designed networks: {_savings_sentence(networks, cur)}")
    lines += [f"wrote {p}" for p in written]
    return "\n".join(lines)
