"""Seeded synthetic regions: roads, a heat-demand raster and hypothetical sites.

The region lies in the English Midlands (EPSG:27700, south-west corner at
x 437000, y 297000). Streets form a jittered grid with about 100 m spacing; every street is
one LineString through its junction vertices, and crossing streets share those vertices
exactly. Short service spurs and diagonal footways sit inside some blocks. One motorway
crosses the streets without shared vertices (a flyover) and so joins nothing.

The south-west 6 km x 6 km holds a fixed layout (positions do not depend on the seed; the
seed only jitters them by metres) that gives every outcome of link routing with the
default routing settings (``max_link_length_m`` 2000, ``max_snap_distance_m`` 250) and zone
thresholds of 150 MWh/ha and 5000 MWh:

- viable links: sites S01-S05 and S09, each within about 1.5 km by road of a zone
  (S01-G1, S02-N, S03-G3, S04-G2, S05-I, S09-P);
- ``beyond_max_length``: S06 sits on the south bank of a river that only one bridge, 4.7 km
  east, crosses; zone N is 0.5 km away in a straight line on the north bank;
- ``unreachable``: S07 sits on a road island (a block of streets joined to nothing); zone I
  is 0.9 km away on the main network;
- ``no_road_nearby``: S08 sits in a park with no road within 480 m; zone P is 0.9 km away;
- a small blob (D) whose zone is dropped for having less than 5000 MWh a year.

Other site-zone pairs within 2 km give further viable or ``beyond_max_length`` rows; their
road lengths stay at least 150 m away from 2000 m however a zone is joined to the roads.

Larger sizes extend the grid, add random demand blobs and sites outside that corner, and add
a bridge every 10 km along the river.

Outputs (:func:`write_region`)
------------------------------
roads.gpkg
    Layer ``roads``, EPSG:27700, LineStrings with columns ``road_id`` and ``highway``.
heat_demand.tif
    EPSG:3035, 100 m cells, float32 MWh/ha/yr, nodata 0, LZW, tiled when large (like the
    Hotmaps heat-density map).
sites.csv
    ``site_id,name,it_load_mw,heat_output_mw,source_temp_c,cooling,kind,lat,lon,note`` in
    EPSG:4326; every site is hypothetical.

Usage::

    python -m pipeline.datasets.synthetic --out data/raw/synthetic [--size small] [--seed 0]
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer

log = logging.getLogger(__name__)

ROADS_CRS = CRS.from_epsg(27700)
DEMAND_CRS = CRS.from_epsg(3035)
SITES_CRS = CRS.from_epsg(4326)

ORIGIN_X_M = 437_000.0
"""Easting of grid node (0, 0) in EPSG:27700."""
ORIGIN_Y_M = 297_000.0
"""Northing of grid node (0, 0) in EPSG:27700."""
SPACING_M = 100.0
JITTER_M = 15.0
"""Largest shift of a junction from its grid position, in each axis."""
BEND_M = 5.0
"""Largest sideways offset of the bend vertex in the middle of each street segment."""
CELL_M = 100.0

# Fixed layout, in metres from the origin (u east, v north) and in grid indices.
RIVER_ROWS = (40, 41)
"""Grid rows under the river (v 4000 and 4100 m): no junctions there except on bridges."""
RIVER_V_M = (3950.0, 4150.0)
"""The river's banks; no heat demand between them."""
BRIDGE_COL = 55
"""Grid column of the only bridge in the small region (u 5500 m)."""
BRIDGE_EVERY_COLS = 100
"""Larger regions get another bridge every 10 km east of the first."""
PARK_COLS = (41, 49)
PARK_ROWS = (11, 19)
"""Junctions removed for the park (inclusive index ranges); its centre is at (4500, 1500)."""
ISLAND_CLEAR = (10, 16)
"""Columns and rows of junctions removed around the road island (inclusive)."""
ISLAND_CENTRE_M = (1300.0, 1300.0)
ISLAND_NODES = 5
ISLAND_SPACING_M = 80.0
SPECIAL_BOX_M = 6300.0
"""Random blobs of larger sizes keep their centres out of [0, 6300) x [0, 6300)."""
MOTORWAY_STEP_M = 1500.0
MOTORWAY_V_M = (2450.0, 2550.0, 2650.0, 2550.0)
"""Motorway vertices lie between grid lines, so they can never coincide with a junction."""
FOOTWAY_SHARE = 0.02
SPUR_SHARE = 0.03
"""Shares of full blocks that hold a diagonal footway or a service spur."""
GPKG_TIMESTAMP = "2000-01-01T00:00:00.000Z"
DEMAND_FLOOR_MWH_PER_HA = 1.0
"""Cells below this density are left at 0 (nodata)."""

# name, u, v, peak density (MWh/ha/yr), sigma (m)
FIXED_BLOBS: tuple[tuple[str, float, float, float, float], ...] = (
    ("N", 900.0, 4700.0, 450.0, 220.0),
    ("I", 2500.0, 800.0, 500.0, 250.0),
    ("P", 4500.0, 2800.0, 500.0, 250.0),
    ("G1", 3300.0, 3000.0, 600.0, 300.0),
    ("G2", 3300.0, 5300.0, 400.0, 250.0),
    ("G3", 4600.0, 5100.0, 650.0, 300.0),
    ("D", 5300.0, 3300.0, 250.0, 150.0),
)


class _FixedSite(NamedTuple):
    """A site of the fixed layout: beside grid junction ``node`` (i, j), or at ``point``."""

    site_id: str
    node: tuple[int, int] | None
    point: tuple[float, float] | None
    it_load_mw: float
    cooling: str
    heat_output_mw: float
    source_temp_c: float
    outcome: str
    zone: str


NAN = float("nan")
FIXED_SITES: tuple[_FixedSite, ...] = (
    _FixedSite("S01", (36, 27), None, 12.0, "air", NAN, NAN, "viable", "G1"),
    _FixedSite("S02", (11, 46), None, 8.0, "liquid", 6.5, NAN, "viable", "N"),
    _FixedSite("S03", (44, 48), None, 30.0, "air", NAN, NAN, "viable", "G3"),
    _FixedSite("S04", (33, 56), None, 4.0, "air", 2.4, NAN, "viable", "G2"),
    _FixedSite("S05", (27, 5), None, 18.0, "liquid", NAN, 55.0, "viable", "I"),
    _FixedSite("S06", None, (800.0, 3840.0), 20.0, "liquid", NAN, NAN, "beyond_max_length", "N"),
    _FixedSite("S07", None, (1320.0, 1325.0), 5.0, "air", NAN, NAN, "unreachable", "I"),
    _FixedSite("S08", None, (4500.0, 1500.0), 15.0, "liquid", NAN, NAN, "no_road_nearby", "P"),
    _FixedSite("S09", (54, 21), None, 36.0, "air", 22.0, NAN, "viable", "P"),
    _FixedSite("S10", (51, 27), None, 10.0, "liquid", 9.0, NAN, "viable", "P"),
)
SITE_OFFSET_M = (25.0, 30.0)
"""A site beside a grid node stands this far (east, north) from the junction."""


@dataclass(frozen=True)
class SizeSpec:
    """How big a synthetic region is.

    Parameters
    ----------
    grid_n
        Junctions per side of the street grid.
    n_sites
        Sites in total (the nine fixed ones included).
    n_blobs
        Demand blobs in total (the seven fixed ones included).
    target_edges
        Road-graph edges (between junctions) the size aims at.
    """

    grid_n: int
    n_sites: int
    n_blobs: int
    target_edges: int


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(grid_n=60, n_sites=10, n_blobs=7, target_edges=6_500),
    "10k": SizeSpec(grid_n=73, n_sites=12, n_blobs=9, target_edges=10_000),
    "100k": SizeSpec(grid_n=225, n_sites=40, n_blobs=55, target_edges=100_000),
    "1m": SizeSpec(grid_n=708, n_sites=200, n_blobs=500, target_edges=1_000_000),
    # Great Britain's order (make bench-national): about 200 km square
    "national": SizeSpec(grid_n=2003, n_sites=2000, n_blobs=4000, target_edges=8_000_000),
}


@dataclass(frozen=True)
class Feature:
    """A special place of the fixed layout, for tests and for reading the outputs.

    Parameters
    ----------
    name
        Short name: river, bridge, island, park, motorway, or ``blob <name>``.
    geometry
        Its outline or line in EPSG:27700.
    note
        What it is for.
    """

    name: str
    geometry: shapely.Geometry
    note: str


@dataclass
class SyntheticRegion:
    """A generated region, before it is written.

    Parameters
    ----------
    size, seed
        What it was generated from.
    roads
        LineStrings in EPSG:27700 with columns ``road_id`` and ``highway``.
    demand
        Heat density in MWh/ha/yr, float32, 0 where there is none; row 0 is the north.
    transform
        Affine transform of ``demand`` (100 m cells in ``demand_crs``).
    demand_crs
        EPSG:3035.
    sites
        The sites table as written to ``sites.csv`` (lat/lon in EPSG:4326), plus ``x`` and
        ``y`` in EPSG:27700.
    bbox
        Region extent ``(xmin, ymin, xmax, ymax)`` in EPSG:27700.
    expected_outcome
        Site id to the outcome its fixed position is meant to give.
    features
        River, bridges, island, park, motorway and the fixed demand blobs' centres, in
        EPSG:27700.
    crs
        EPSG:27700, the CRS of ``roads``, ``bbox`` and the sites' ``x`` and ``y``.
    """

    size: str
    seed: int
    roads: gpd.GeoDataFrame
    demand: np.ndarray
    transform: Affine
    demand_crs: CRS
    sites: pd.DataFrame
    bbox: tuple[float, float, float, float]
    expected_outcome: dict[str, str] = field(default_factory=dict)
    features: list[Feature] = field(default_factory=list)
    crs: CRS = ROADS_CRS


def generate(size: str = "small", seed: int = 0) -> SyntheticRegion:
    """Generate a synthetic region.

    Parameters
    ----------
    size
        One of ``small`` (about 6 500 road edges), ``10k``, ``100k`` and ``1m``.
    seed
        Seed of every random draw; the same size and seed give identical output.

    Returns
    -------
    SyntheticRegion
        Roads, demand raster and sites, not yet written.

    Examples
    --------
    >>> region = generate("small", seed=1)
    >>> region.roads.crs.to_epsg(), region.demand_crs.to_epsg()
    (27700, 3035)
    >>> sorted(set(region.expected_outcome.values()))[:2]
    ['beyond_max_length', 'no_road_nearby']
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    spec = SIZES[size]
    n = spec.grid_n
    extent = (n - 1) * SPACING_M
    node_u, node_v, present = _grid_nodes(n, np.random.default_rng([seed, 1]))
    roads = _roads(node_u, node_v, present, np.random.default_rng([seed, 2]))
    blobs = _blobs(spec, extent, np.random.default_rng([seed, 3]))
    bbox = (
        ORIGIN_X_M - SPACING_M,
        ORIGIN_Y_M - SPACING_M,
        ORIGIN_X_M + extent + SPACING_M,
        ORIGIN_Y_M + extent + SPACING_M,
    )
    demand, transform = _demand(blobs, bbox, extent, np.random.default_rng([seed, 4]))
    sites = _sites(spec, blobs, node_u, node_v, present, np.random.default_rng([seed, 5]))
    return SyntheticRegion(
        size=size,
        seed=seed,
        roads=roads,
        demand=demand,
        transform=transform,
        demand_crs=DEMAND_CRS,
        sites=sites,
        bbox=bbox,
        expected_outcome={f.site_id: f.outcome for f in FIXED_SITES},
        features=_features(extent),
    )


# --- roads -------------------------------------------------------------------------------


def _grid_nodes(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Jittered junction positions (local metres) and which junctions exist, indexed [j, i]."""
    base = np.arange(n) * SPACING_M
    u = base[None, :] + rng.uniform(-JITTER_M, JITTER_M, (n, n))
    v = base[:, None] + rng.uniform(-JITTER_M, JITTER_M, (n, n))
    present = np.ones((n, n), dtype=bool)
    river = np.zeros(n, dtype=bool)
    river[list(RIVER_ROWS)] = True
    bridges = np.zeros(n, dtype=bool)
    bridges[BRIDGE_COL::BRIDGE_EVERY_COLS] = True
    present[np.ix_(river, ~bridges)] = False
    present[PARK_ROWS[0] : PARK_ROWS[1] + 1, PARK_COLS[0] : PARK_COLS[1] + 1] = False
    a, b = ISLAND_CLEAR
    present[a : b + 1, a : b + 1] = False
    return np.round(u, 2), np.round(v, 2), present


def _street_class(k: np.ndarray) -> np.ndarray:
    """Class of the k-th street of the grid: primary and secondary every 2 km, tertiary 1 km."""
    cls = np.full(k.shape, "residential", dtype=object)
    cls[k % 10 == 5] = "tertiary"
    cls[k % 20 == 0] = "secondary"
    cls[k % 20 == 10] = "primary"
    return cls


def _bend(
    ua: np.ndarray, va: np.ndarray, ub: np.ndarray, vb: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints of segments a-b moved sideways by ``offset`` metres."""
    du, dv = ub - ua, vb - va
    length = np.hypot(du, dv)
    return (
        np.round((ua + ub) / 2 - offset * dv / length, 2),
        np.round((va + vb) / 2 + offset * du / length, 2),
    )


def _polylines(
    u: np.ndarray, v: np.ndarray, seg: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One LineString per run of present segments along each row of a node grid.

    Parameters
    ----------
    u, v
        Node positions, shape (rows, n).
    seg
        Whether the segment from node c to node c + 1 exists, shape (rows, n - 1).
    offset
        Sideways offset of each segment's bend vertex, shape (rows, n - 1).

    Returns
    -------
    lines
        The LineStrings (local metres), ordered by row then position.
    row
        Grid row each line lies along.
    """
    rows, n = u.shape
    padded = np.zeros((rows, n), dtype=bool)
    padded[:, :-1] = seg
    flat = padded.ravel()
    before = np.concatenate([[False], flat[:-1]])
    after = np.concatenate([flat[1:], [False]])
    piece = np.cumsum(flat & ~before) - 1
    k = np.flatnonzero(flat)  # segment k runs from flat node k to flat node k + 1
    e = np.flatnonzero(flat & ~after)  # last segment of each run
    uf, vf = u.ravel(), v.ravel()
    mu, mv = _bend(uf[k], vf[k], uf[k + 1], vf[k + 1], np.pad(offset, ((0, 0), (0, 1))).ravel()[k])
    keys = np.concatenate([2 * k, 2 * k + 1, 2 * e + 2])
    order = np.argsort(keys, kind="stable")
    coords = np.column_stack(
        [
            np.concatenate([uf[k], mu, uf[e + 1]])[order],
            np.concatenate([vf[k], mv, vf[e + 1]])[order],
        ]
    )
    ids = np.concatenate([piece[k], piece[k], piece[e]])[order]
    lines = shapely.linestrings(coords, indices=ids)
    starts = np.flatnonzero(flat & ~before)
    return lines, starts // n


def _roads(
    u: np.ndarray, v: np.ndarray, present: np.ndarray, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """All road lines in EPSG:27700: grid streets, island, footways, spurs, motorway."""
    n = u.shape[0]
    horiz = present[:, :-1] & present[:, 1:]
    vert = present[:-1, :] & present[1:, :]
    bend_h = rng.uniform(-BEND_M, BEND_M, horiz.shape)
    bend_v = rng.uniform(-BEND_M, BEND_M, vert.shape)
    h_lines, h_row = _polylines(u, v, horiz, bend_h)
    v_lines, v_col = _polylines(u.T, v.T, vert.T, bend_v.T)
    parts: list[tuple[np.ndarray, np.ndarray]] = [
        (h_lines, _street_class(h_row)),
        (v_lines, _street_class(v_col)),
    ]

    # The island: a small grid of its own in the cleared square, joined to nothing.
    m = ISLAND_NODES
    base = (np.arange(m) - (m - 1) / 2) * ISLAND_SPACING_M
    iu = np.round(ISLAND_CENTRE_M[0] + base[None, :] + rng.uniform(-6, 6, (m, m)), 2)
    iv = np.round(ISLAND_CENTRE_M[1] + base[:, None] + rng.uniform(-6, 6, (m, m)), 2)
    ih, _ = _polylines(iu, iv, np.ones((m, m - 1), bool), rng.uniform(-3, 3, (m, m - 1)))
    iw, _ = _polylines(iu.T, iv.T, np.ones((m, m - 1), bool), rng.uniform(-3, 3, (m, m - 1)))
    island = np.concatenate([ih, iw])
    island_cls = np.where(np.arange(island.size) % m == m // 2, "service", "residential")
    parts.append((island, island_cls))

    # Blocks whose four sides all exist get, at random, a diagonal footway or a service spur.
    full = horiz[:-1, :] & horiz[1:, :] & vert[:, :-1] & vert[:, 1:]
    draw = rng.random(full.shape)
    jj, ii = np.nonzero(full & (draw < FOOTWAY_SHARE))
    foot = shapely.linestrings(
        np.stack(
            [
                np.column_stack([u[jj, ii], v[jj, ii]]),
                np.column_stack([u[jj + 1, ii + 1], v[jj + 1, ii + 1]]),
            ],
            axis=1,
        )
    )
    parts.append((foot, np.full(foot.size, "footway", dtype=object)))
    jj, ii = np.nonzero(full & (draw >= FOOTWAY_SHARE) & (draw < FOOTWAY_SHARE + SPUR_SHARE))
    cu = (u[jj, ii] + u[jj + 1, ii] + u[jj, ii + 1] + u[jj + 1, ii + 1]) / 4
    cv = (v[jj, ii] + v[jj + 1, ii] + v[jj, ii + 1] + v[jj + 1, ii + 1]) / 4
    spur = shapely.linestrings(
        np.stack(
            [
                np.column_stack([u[jj, ii], v[jj, ii]]),
                np.round(
                    np.column_stack(
                        [u[jj, ii] + 0.6 * (cu - u[jj, ii]), v[jj, ii] + 0.6 * (cv - v[jj, ii])]
                    ),
                    2,
                ),
            ],
            axis=1,
        )
    )
    parts.append((spur, np.full(spur.size, "service", dtype=object)))
    parts.append((np.array([_motorway((n - 1) * SPACING_M)]), np.array(["motorway"], object)))

    geoms = np.concatenate([p[0] for p in parts])
    geoms = shapely.transform(geoms, lambda xy: xy + (ORIGIN_X_M, ORIGIN_Y_M))
    return gpd.GeoDataFrame(
        {
            "road_id": np.arange(1, geoms.size + 1, dtype=np.int64),
            "highway": np.concatenate([p[1] for p in parts]).astype(str),
        },
        geometry=geoms,
        crs=ROADS_CRS,
    )


def _motorway(extent: float) -> shapely.LineString:
    """The motorway, west to east across the whole region, in local metres."""
    u = np.arange(SPACING_M / 2, extent, MOTORWAY_STEP_M)
    u = np.append(u[u < extent - SPACING_M], extent - SPACING_M / 2)
    v = np.resize(np.array(MOTORWAY_V_M), u.size)
    return shapely.linestrings(np.column_stack([u, v]))


def _features(extent: float) -> list[Feature]:
    """Geometry of the fixed layout in EPSG:27700."""

    def box(u0: float, v0: float, u1: float, v1: float) -> shapely.Polygon:
        return shapely.box(ORIGIN_X_M + u0, ORIGIN_Y_M + v0, ORIGIN_X_M + u1, ORIGIN_Y_M + v1)

    s = SPACING_M
    cols = np.arange(BRIDGE_COL, round(extent / s) + 1, BRIDGE_EVERY_COLS) * s
    half = (ISLAND_NODES - 1) / 2 * ISLAND_SPACING_M + 20.0  # island streets, jitter included
    motorway = shapely.transform(_motorway(extent), lambda xy: xy + (ORIGIN_X_M, ORIGIN_Y_M))
    return [
        Feature("river", box(0, RIVER_V_M[0], extent, RIVER_V_M[1]), "crossed only by bridges"),
        Feature(
            "bridge",
            shapely.multipoints(
                np.column_stack([ORIGIN_X_M + cols, np.full(cols.size, ORIGIN_Y_M + 4050.0)])
            ),
            "the only river crossings",
        ),
        Feature(
            "island",
            box(
                ISLAND_CENTRE_M[0] - half,
                ISLAND_CENTRE_M[1] - half,
                ISLAND_CENTRE_M[0] + half,
                ISLAND_CENTRE_M[1] + half,
            ),
            "streets joined to nothing; site S07",
        ),
        Feature(
            "park",
            box(
                PARK_COLS[0] * s - 50,
                PARK_ROWS[0] * s - 50,
                PARK_COLS[1] * s + 50,
                PARK_ROWS[1] * s + 50,
            ),
            "no road within 480 m of its centre; site S08",
        ),
        Feature("motorway", motorway, "crosses streets without shared vertices"),
    ] + [
        Feature(
            f"blob {name}",
            shapely.Point(ORIGIN_X_M + u, ORIGIN_Y_M + v),
            f"demand peak {peak:.0f} MWh/ha/yr, sigma {sigma:.0f} m",
        )
        for name, u, v, peak, sigma in FIXED_BLOBS
    ]


# --- heat demand -------------------------------------------------------------------------


def _blobs(spec: SizeSpec, extent: float, rng: np.random.Generator) -> np.ndarray:
    """Demand blobs as rows (u, v, peak MWh/ha/yr, sigma m): the fixed ones, then random."""
    fixed = np.array([b[1:] for b in FIXED_BLOBS], dtype=float)
    extra = spec.n_blobs - len(fixed)
    if extra <= 0:
        return fixed
    centres = _draw_outside_special_box(extra, extent, rng, margin=300.0, river_gap=700.0)
    peak = rng.uniform(250.0, 700.0, extra)
    sigma = rng.uniform(150.0, 400.0, extra)
    return np.vstack([fixed, np.column_stack([centres, peak, sigma])])


def _draw_outside_special_box(
    count: int, extent: float, rng: np.random.Generator, *, margin: float, river_gap: float
) -> np.ndarray:
    """Uniform points in the region, away from the fixed layout and the river."""
    found: list[np.ndarray] = []
    total = 0
    while total < count:
        p = rng.uniform(margin, extent - margin, (4 * count + 16, 2))
        ok = ((p[:, 0] >= SPECIAL_BOX_M) | (p[:, 1] >= SPECIAL_BOX_M)) & (
            np.abs(p[:, 1] - sum(RIVER_V_M) / 2) >= river_gap
        )
        found.append(p[ok])
        total += int(ok.sum())
    return np.vstack(found)[:count]


def _demand(
    blobs: np.ndarray,
    bbox: tuple[float, float, float, float],
    extent: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, Affine]:
    """Rasterise the blobs on a 100 m EPSG:3035 grid covering ``bbox`` (EPSG:27700)."""
    to_laea = Transformer.from_crs(ROADS_CRS, DEMAND_CRS, always_xy=True)
    to_bng = Transformer.from_crs(DEMAND_CRS, ROADS_CRS, always_xy=True)
    xmin, ymin, xmax, ymax = to_laea.transform_bounds(*bbox, densify_pts=21)
    x0, y1 = np.floor(xmin / CELL_M) * CELL_M, np.ceil(ymax / CELL_M) * CELL_M
    width = int(np.ceil((xmax - x0) / CELL_M))
    height = int(np.ceil((y1 - ymin) / CELL_M))
    transform = Affine(CELL_M, 0.0, x0, 0.0, -CELL_M, y1)
    cx = x0 + CELL_M * (np.arange(width) + 0.5)
    cy = y1 - CELL_M * (np.arange(height) + 0.5)
    gx, gy = np.meshgrid(cx, cy)
    bx, by = to_bng.transform(gx, gy)
    cu, cv = bx - ORIGIN_X_M, by - ORIGIN_Y_M  # cell centres in local metres
    del gx, gy, bx, by

    density = np.zeros((height, width), dtype=np.float64)
    lx, ly = to_laea.transform(blobs[:, 0] + ORIGIN_X_M, blobs[:, 1] + ORIGIN_Y_M)
    for (bu, bv, peak, sigma), px, py in zip(blobs, lx, ly, strict=True):
        reach = 3.0 * sigma
        pad = reach * 1.01 + CELL_M
        c0 = max(int((px - pad - x0) // CELL_M), 0)
        c1 = min(int((px + pad - x0) // CELL_M) + 1, width)
        r0 = max(int((y1 - py - pad) // CELL_M), 0)
        r1 = min(int((y1 - py + pad) // CELL_M) + 1, height)
        d2 = (cu[r0:r1, c0:c1] - bu) ** 2 + (cv[r0:r1, c0:c1] - bv) ** 2
        density[r0:r1, c0:c1] += np.where(d2 <= reach**2, peak * np.exp(-d2 / (2 * sigma**2)), 0.0)
    density *= rng.lognormal(0.0, 0.08, density.shape)
    # No buildings in the river, in the park or outside the street grid.
    empty = (cv > RIVER_V_M[0]) & (cv < RIVER_V_M[1])
    empty |= (
        (cu > PARK_COLS[0] * SPACING_M - 50)
        & (cu < PARK_COLS[1] * SPACING_M + 50)
        & (cv > PARK_ROWS[0] * SPACING_M - 50)
        & (cv < PARK_ROWS[1] * SPACING_M + 50)
    )
    empty |= (cu < 0) | (cv < 0) | (cu > extent) | (cv > extent)
    density[empty | (density < DEMAND_FLOOR_MWH_PER_HA)] = 0.0
    return density.astype(np.float32), transform


# --- sites -------------------------------------------------------------------------------


SITE_FIELDS = ["site_id", "u", "v", "it_load_mw", "heat_output_mw", "source_temp_c", "cooling"]


def _fixed_sites(node_u: np.ndarray, node_v: np.ndarray) -> pd.DataFrame:
    """The fixed sites, each placed for one link outcome, in grid coordinates u, v."""
    du, dv = SITE_OFFSET_M
    rows = []
    for f in FIXED_SITES:
        if f.node is None:
            u, v = f.point
        else:
            i, j = f.node
            u, v = node_u[j, i] + du, node_v[j, i] + dv
        note = _note(f"{f.outcome} (zone {f.zone})")
        rows.append(
            (f.site_id, u, v, f.it_load_mw, f.heat_output_mw, f.source_temp_c, f.cooling, note)
        )
    return pd.DataFrame(rows, columns=[*SITE_FIELDS, "note"])


def _random_sites(
    n_sites: int,
    first: int,
    blobs: np.ndarray,
    grid: tuple[np.ndarray, np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """``n_sites`` random sites 300-900 m from the random blobs, numbered from ``first``;
    ``grid`` is the junctions' u, v and whether each is present."""
    node_u, node_v, present = grid
    du, dv = SITE_OFFSET_M
    n = node_u.shape[0]
    random_blobs = blobs[len(FIXED_BLOBS) :]
    pick = random_blobs[rng.integers(0, len(random_blobs), n_sites)]
    angle = rng.uniform(0, 2 * np.pi, n_sites)
    dist = rng.uniform(300.0, 900.0, n_sites)
    i = np.clip(np.rint((pick[:, 0] + dist * np.cos(angle)) / SPACING_M), 1, n - 2)
    j = np.clip(np.rint((pick[:, 1] + dist * np.sin(angle)) / SPACING_M), 1, n - 2)
    i, j = i.astype(int), j.astype(int)
    # Off the river: move to the nearer bank.
    j = np.where(j == RIVER_ROWS[0], RIVER_ROWS[0] - 1, j)
    j = np.where(j == RIVER_ROWS[1], RIVER_ROWS[1] + 1, j)
    if not present[j, i].all():
        raise RuntimeError("a random site landed on a missing junction")
    load = np.round(rng.uniform(2.0, 40.0, n_sites) * 2) / 2
    liquid = rng.random(n_sites) < 0.45
    heat = np.where(
        rng.random(n_sites) < 0.3, np.round(load * rng.uniform(0.55, 0.8, n_sites), 1), np.nan
    )
    temp = np.where(liquid & (rng.random(n_sites) < 0.3), 50.0, np.nan)
    return pd.DataFrame(
        {
            "site_id": [f"S{k:02d}" for k in range(first, first + n_sites)],
            "u": node_u[j, i] + du,
            "v": node_v[j, i] + dv,
            "it_load_mw": load,
            "heat_output_mw": heat,
            "source_temp_c": temp,
            "cooling": np.where(liquid, "liquid", "air"),
            "note": _note(""),
        }
    )


def _sites(
    spec: SizeSpec,
    blobs: np.ndarray,
    node_u: np.ndarray,
    node_v: np.ndarray,
    present: np.ndarray,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The sites table: fixed sites, then random ones near the random blobs, located in
    the roads' CRS (x, y) and in lon/lat."""
    frames = [_fixed_sites(node_u, node_v)]
    extra = spec.n_sites - len(frames[0])
    if extra > 0:
        frames.append(
            _random_sites(extra, len(frames[0]) + 1, blobs, (node_u, node_v, present), rng)
        )
    sites = pd.concat(frames, ignore_index=True)
    sites["x"] = np.round(sites.pop("u") + ORIGIN_X_M, 2)
    sites["y"] = np.round(sites.pop("v") + ORIGIN_Y_M, 2)
    lon, lat = Transformer.from_crs(ROADS_CRS, SITES_CRS, always_xy=True).transform(
        sites["x"].to_numpy(), sites["y"].to_numpy()
    )
    sites["lat"] = np.round(lat, 7)
    sites["lon"] = np.round(lon, 7)
    sites["name"] = "Hypothetical data centre " + sites["site_id"] + " (synthetic)"
    sites["kind"] = "data_centre"
    return sites[
        [
            "site_id",
            "name",
            "it_load_mw",
            "heat_output_mw",
            "source_temp_c",
            "cooling",
            "kind",
            "lat",
            "lon",
            "note",
            "x",
            "y",
        ]
    ]


def _note(outcome: str) -> str:
    note = "hypothetical site of a synthetic region, not a real facility"
    return f"{note}; placed to give: {outcome}" if outcome else note


# --- writing -----------------------------------------------------------------------------


def write_region(region: SyntheticRegion, out_dir: str | Path) -> dict[str, Path]:
    """Write ``roads.gpkg``, ``heat_demand.tif`` and ``sites.csv`` into ``out_dir``.

    Each file is written under a temporary name and then renamed into place.

    Parameters
    ----------
    region
        What :func:`generate` returned.
    out_dir
        Directory to write into; created if missing.

    Returns
    -------
    dict
        File role (``roads``, ``heat_demand``, ``sites``) to path written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "roads": out / "roads.gpkg",
        "heat_demand": out / "heat_demand.tif",
        "sites": out / "sites.csv",
    }

    tmp = paths["roads"].with_name("roads.tmp.gpkg")
    tmp.unlink(missing_ok=True)
    # A fixed timestamp in gpkg_contents keeps the file byte-for-byte reproducible.
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_TIMESTAMP})
    try:
        region.roads.to_file(tmp, layer="roads", driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
    os.replace(tmp, paths["roads"])

    tmp = paths["heat_demand"].with_name("heat_demand.tmp.tif")
    write_geotiff(tmp, region.demand, region.transform, region.demand_crs)
    os.replace(tmp, paths["heat_demand"])

    tmp = paths["sites"].with_name("sites.tmp.csv")
    region.sites.drop(columns=["x", "y"]).to_csv(tmp, index=False)
    os.replace(tmp, paths["sites"])
    return paths


def write_geotiff(path: str | Path, array: np.ndarray, transform: Affine, crs: CRS) -> None:
    """Write a float32 raster the way the Hotmaps heat-density map is stored.

    LZW-compressed, nodata 0, and tiled (256 x 256) when either side exceeds 512 cells.
    The file holds no timestamp, so the same array gives the same bytes.

    Parameters
    ----------
    path
        GeoTIFF to write.
    array
        2-D array; row 0 is the north edge.
    transform
        Affine transform of the array.
    crs
        Its CRS.
    """
    height, width = array.shape
    profile = {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": 1,
        "dtype": "float32",
        "crs": crs,
        "transform": transform,
        "nodata": 0.0,
        "compress": "lzw",
    }
    if max(height, width) > 512:
        profile |= {"tiled": True, "blockxsize": 256, "blockysize": 256}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array.astype(np.float32), 1)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: generate a region and write it. Returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.datasets.synthetic", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", required=True, type=Path, help="directory to write into")
    parser.add_argument("--size", default="small", choices=list(SIZES), help="default: small")
    parser.add_argument("--seed", default=0, type=int, help="random seed (default 0)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    region = generate(args.size, args.seed)
    t1 = time.perf_counter()
    paths = write_region(region, args.out)
    t2 = time.perf_counter()
    demand = region.demand.astype(np.float64)
    log.info(
        "size %s seed %d: %d road lines (%d vertices), %d sites, %d demand cells "
        "(%.0f MWh/yr); generated in %.1f s, written in %.1f s",
        args.size,
        args.seed,
        len(region.roads),
        shapely.get_num_coordinates(region.roads.geometry.values).sum(),
        len(region.sites),
        np.count_nonzero(demand),
        demand.sum() * (CELL_M * CELL_M / 10_000),
        t1 - t0,
        t2 - t1,
    )
    for role, path in paths.items():
        log.info("wrote %s: %s", role, path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
