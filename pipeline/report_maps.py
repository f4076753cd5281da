"""The map-drawing layer of the review report (:mod:`pipeline.stages.write_report`).

Pure drawing helpers: they take matplotlib axes and geometries (in the region's projected
CRS, in metres) and draw on them; none of them writes HTML or builds a report section.

- :func:`subplots` and :class:`MapCanvas` make figures without pyplot; a canvas is
  cleared and reused map after map.
- :func:`draw` puts the roads, zones, networks, links and sources on a map, whole or cut
  to an extent; the whole region's roads are one image of :func:`road_rgba`, which
  :mod:`pipeline.report_web` also lays under the interactive map.
- :func:`plot`, :func:`draw_lines` and :func:`draw_pipes` draw arrays of geometries as
  matplotlib collections; :func:`label_features` writes ids beside features.
- :func:`decorate` adds the north arrow and scale bar, :func:`legend` the map key, and
  :func:`network_extent` frames a network's or a source's map to what it shows.
- :func:`png` writes a figure as a PNG data URI, cropped to what is drawn, and
  :func:`png_data_uri` an image array.

matplotlib and PIL are imported inside the functions that use them, so importing this
module (and the stage) does not load them.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import shapely

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

VIABLE, RECOMMENDED, REJECTED = "#1a9850", "#08519c", "#d73027"  # the links' colours
PIPE = "#b30000"  # a designed network's pipes
OVERVIEW_DPI = 110
"""Resolution of the overview map; its road image has about one cell per pixel at it."""


def subplots(figsize: tuple[float, float]) -> tuple[Figure, Axes]:
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
        self.fig, self.ax = subplots(figsize)

    def clear(self) -> Axes:
        """The axes with every layer, label, legend and title of the last map removed."""
        ax = self.ax
        for artist in (*ax.collections, *ax.images, *ax.lines, *ax.texts, *ax.patches):
            artist.remove()
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        ax.set_title("")
        return ax


def png(fig: Figure, *, dpi: float = 110) -> str:
    """The figure as a PNG data URI, cropped to what is drawn.

    The figure is drawn once and cropped by :func:`_drawn` (``savefig`` with
    ``bbox_inches="tight"`` lays it out twice), then written as RGB at zlib level 1,
    which encodes about twice as fast as the default level 6 for a few per cent more
    bytes.
    """
    fig.set_dpi(dpi)
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return png_data_uri(np.ascontiguousarray(rgba[_drawn(rgba)][..., :3]))


def png_data_uri(pixels: np.ndarray) -> str:
    """An image array (rows, columns and 2, 3 or 4 channels of uint8: grey and alpha,
    RGB or RGBA) as a PNG data URI, written at zlib level 1.

    Examples
    --------
    >>> png_data_uri(np.zeros((2, 2, 4), dtype=np.uint8))[:22]
    'data:image/png;base64,'
    """
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="png", compress_level=1)
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


def decorate(ax: Axes) -> None:
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


def draw_lines(ax: Axes, geoms: np.ndarray, **style: object) -> None:
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


def plot(ax: Axes, geoms: np.ndarray, *, zorder: int, **style) -> None:
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
        draw_lines(
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


def road_rgba(
    roads: gpd.GeoDataFrame, pixels: float
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The roads as an RGBA image of square cells, ``pixels`` cells along the longer side
    of their bounds, and the image's extent (``x0, y0, x1, y1``, row 0 at the top): the
    roads' grey, each cell as opaque as :func:`road_raster` finds road in it
    (:data:`ROAD_OPACITY_PER_CELL`).

    Examples
    --------
    >>> roads = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 5), (40, 5)])])
    >>> rgba, extent = road_rgba(roads, 4)
    >>> rgba.shape, extent, rgba[..., 3].max()
    ((1, 4, 4), (0.0, -5.0, 40.0, 5.0), np.uint8(178))
    """
    x0, y0, x1, y1 = (float(v) for v in roads.total_bounds)
    cell = max(x1 - x0, y1 - y0, 1.0) / max(pixels, 1.0)
    cols, rows = max(int(np.ceil((x1 - x0) / cell)), 1), max(int(np.ceil((y1 - y0) / cell)), 1)
    extent = (x0, y1 - rows * cell, x0 + cols * cell, y1)
    opacity = road_raster(roads.geometry.to_numpy(), extent, (rows, cols))
    rgba = np.empty((rows, cols, 4), dtype=np.uint8)
    rgba[..., :3] = np.round(np.multiply(ROAD_RGB, 255))
    rgba[..., 3] = np.round(np.clip(opacity * ROAD_OPACITY_PER_CELL, 0, 1) * 255)
    return rgba, extent


def _road_image(ax: Axes, roads: gpd.GeoDataFrame, *, dpi: float) -> None:
    """Draw ``roads`` as one image of about a cell per pixel of ``ax`` at ``dpi``: one
    image costs the same at a thousand or a million road edges, where a line per road
    costs seconds to draw."""
    box = ax.get_position()
    width_in, height_in = ax.figure.get_size_inches()
    rgba, (x0, y0, x1, y1) = road_rgba(
        roads, max(box.width * width_in, box.height * height_in) * dpi
    )
    ax.imshow(rgba, extent=(x0, x1, y0, y1), origin="upper", interpolation="nearest", zorder=1)


def draw(
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
            draw_lines(ax, near, colors="#bdbdbd", linewidths=0.4, zorder=1)
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
            plot(ax, geoms, zorder=z, **style)
    if extent is None and len(roads):
        extent = tuple(roads.total_bounds)
    if extent is not None:
        ax.set_xlim(extent[0], extent[2])
        ax.set_ylim(extent[1], extent[3])


def legend(ax: Axes, lines: list[tuple[str, dict]] | None = None) -> None:
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


def _dn_width(dn: float) -> float:
    """Line width in points of a pipe of nominal diameter ``dn`` on the network maps.

    Examples
    --------
    >>> [round(_dn_width(dn), 1) for dn in (20, 100, 300, 1000)]
    [0.8, 2.9, 4.3, 5.9]
    """
    return float(max(0.8, 0.8 + 0.9 * np.log2(dn / 20)))


def network_extent(*geometries: gpd.GeoSeries) -> tuple[float, float, float, float] | None:
    """A square around ``geometries`` with a margin of a tenth of its side (200 m at least)."""
    bounds = shapely.total_bounds(np.concatenate([g.to_numpy() for g in geometries]))
    if not np.isfinite(bounds).all():
        return None
    (x0, y0, x1, y1) = bounds
    half = max(x1 - x0, y1 - y0) / 2 * 1.1 + 200.0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - half, cy - half, cx + half, cy + half)


def label_features(ax: Axes, gdf: gpd.GeoDataFrame, column: str, extent: tuple) -> None:
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


def draw_pipes(ax: Axes, pipes: gpd.GeoDataFrame) -> list[tuple[str, dict]]:
    """The pipes, wider for larger DN; returns the legend entries of the DNs drawn."""
    entries = []
    for dn, same in pipes.groupby("dn", sort=True):
        style = {"color": PIPE, "lw": _dn_width(float(dn))}
        draw_lines(
            ax, same.geometry.to_numpy(), colors=style["color"], linewidths=style["lw"], zorder=6
        )
        entries.append((f"pipe DN{int(dn)}", style))
    return entries
