"""Baseline for ``make bench``: the routing job done the way a user with osmnx would.

Given the same roads, sites and demand zones as the pipeline, it

1. reads the road lines (``roads.gpkg``), drops the classes the pipeline does not follow
   by default (motorway, motorway_link), splits every line at its ends and at each vertex
   it shares with another line (a Python loop over the lines, coordinates rounded to
   1 mm), and builds an osmnx ``MultiDiGraph`` with :func:`osmnx.convert.graph_from_gdfs`
   from node and edge GeoDataFrames; each road piece becomes two directed edges (both
   directions, as osmnx does for two-way streets) with its ``length`` in metres and its
   geometry;
2. snaps each site, and each zone's representative point (a point inside the polygon),
   to its nearest graph node with :func:`osmnx.distance.nearest_nodes`;
3. makes one :func:`networkx.shortest_path` call (weight ``length``) per site-zone pair
   whose straight-line distance (site to zone polygon) is within ``--max-distance-m``,
   and sums the path's edge lengths with :func:`networkx.path_weight`.

There is no maximum snap distance, no splitting of edges at the closest point, and no
bound on the search: that is the difference from the pipeline's method (see
``benchmarks/README.md``). The zones are the pipeline's own
(``data/interim/<region>/demand_zones.parquet``), so both route the same pairs.

Outputs
    ``--out``: one row per pair: ``site_id``, ``zone_id``, ``straight_distance_m``,
    ``site_node``, ``zone_node``, ``site_snap_m`` and ``zone_snap_m`` (straight distance
    from the site / the zone's representative point to its node), ``network_length_m``
    (empty when there is no path), ``route_length_m`` (snaps plus network length).
    The last line of stdout is a JSON object of timings (seconds per phase, peak RSS).
    ``--check-routes`` (not timed, run separately by the harness on small regions): for
    each pair, exact road distances on this graph between the pipeline's end points and
    the baseline's, used to compare route lengths (see :func:`check_against_pipeline`).

Usage::

    python benchmarks/baseline_osmnx.py --roads R/data/raw/synthetic/roads.gpkg \\
        --sites R/data/raw/synthetic/sites.csv \\
        --zones R/data/interim/synthetic/demand_zones.parquet --out baseline.csv
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import shapely
from shapely.geometry import LineString

EXCLUDED_CLASSES = ("motorway", "motorway_link")
"""Road classes the pipeline's default class table does not follow."""
ROUND_DECIMALS = 3
"""Vertices are matched after rounding to 1 mm, as the pipeline does."""


def node_lines(
    roads: gpd.GeoDataFrame, class_column: str
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Split road lines at their ends and at vertices shared with another line.

    The plain-Python way: count in how many lines each (rounded) vertex occurs, then walk
    each line and cut it at every vertex that occurs in another line.

    Returns
    -------
    nodes, edges
        ``nodes`` indexed by ``osmid`` with ``x``, ``y``; ``edges`` multi-indexed by
        ``(u, v, key)`` with ``length``, ``highway`` and geometry, one row per direction.
        ``key`` numbers parallel pieces between the same two nodes; a piece and its
        reverse share their key.
    """

    def key(xy: tuple[float, ...]) -> tuple[float, float]:
        return (round(xy[0], ROUND_DECIMALS), round(xy[1], ROUND_DECIMALS))

    lines = [list(g.coords) for g in roads.geometry]
    in_lines: Counter = Counter()
    for coords in lines:
        in_lines.update({key(c) for c in coords})

    node_of: dict[tuple[float, float], int] = {}
    xs: list[float] = []
    ys: list[float] = []

    def node(xy: tuple[float, ...]) -> int:
        k = key(xy)
        if k not in node_of:
            node_of[k] = len(node_of)
            xs.append(xy[0])
            ys.append(xy[1])
        return node_of[k]

    us: list[int] = []
    vs: list[int] = []
    geoms: list[LineString] = []
    classes: list[str] = []
    for coords, cls in zip(lines, roads[class_column], strict=True):
        start = 0
        for i in range(1, len(coords)):
            if i == len(coords) - 1 or in_lines[key(coords[i])] >= 2:
                piece = coords[start : i + 1]
                u, v = node(piece[0]), node(piece[-1])
                if u != v:  # drop self-loops
                    us.append(u)
                    vs.append(v)
                    geoms.append(LineString(piece))
                    classes.append(cls)
                start = i

    nodes = gpd.GeoDataFrame(
        {"x": xs, "y": ys},
        geometry=gpd.points_from_xy(xs, ys),
        index=pd.Index(np.arange(len(xs)), name="osmid"),
        crs=roads.crs,
    )
    one_way = pd.DataFrame({"u": us, "v": vs, "highway": classes})
    one_way["length"] = shapely.length(np.array(geoms, dtype=object))
    pair = pd.DataFrame({"a": np.minimum(us, vs), "b": np.maximum(us, vs)})
    one_way["key"] = pair.groupby(["a", "b"]).cumcount().to_numpy()
    forward = gpd.GeoDataFrame(one_way, geometry=geoms, crs=roads.crs)
    backward = forward.rename(columns={"u": "v", "v": "u"})
    backward = backward.set_geometry(shapely.reverse(forward.geometry.to_numpy()))
    edges = pd.concat([forward, backward], ignore_index=True)
    edges = gpd.GeoDataFrame(edges, geometry="geometry", crs=roads.crs)
    return nodes, edges.set_index(["u", "v", "key"])


def read_inputs(
    roads_path: Path,
    sites_path: Path,
    zones_path: Path,
    *,
    layer: str | None,
    class_column: str,
    crs: int | str,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Roads (followable classes only), sites and zones, all in ``crs``."""
    roads = gpd.read_file(roads_path, layer=layer).to_crs(crs)
    roads = roads[~roads[class_column].isin(EXCLUDED_CLASSES)].reset_index(drop=True)
    table = pd.read_csv(sites_path)
    sites = gpd.GeoDataFrame(
        table[["site_id"]],
        geometry=gpd.points_from_xy(table["lon"], table["lat"]),
        crs=4326,
    ).to_crs(crs)
    zones = gpd.read_parquet(zones_path).to_crs(crs)
    return roads, sites, zones


def route_pairs(
    G: nx.MultiDiGraph,
    sites: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    max_distance_m: float,
    timings: dict[str, float],
) -> pd.DataFrame:
    """Snap sites and zone representative points to nodes; one shortest path per pair."""
    t = time.perf_counter()
    site_xy = shapely.get_coordinates(sites.geometry.to_numpy())
    site_node, site_snap = ox.distance.nearest_nodes(
        G, site_xy[:, 0], site_xy[:, 1], return_dist=True
    )
    rep = zones.geometry.representative_point()
    zone_xy = shapely.get_coordinates(rep.to_numpy())
    zone_node, zone_snap = ox.distance.nearest_nodes(
        G, zone_xy[:, 0], zone_xy[:, 1], return_dist=True
    )
    timings["snap_s"] = time.perf_counter() - t

    t = time.perf_counter()
    site_i, zone_i = zones.sindex.query(
        sites.geometry, predicate="dwithin", distance=max_distance_m
    )
    rows = []
    for s, z in zip(site_i, zone_i, strict=True):
        try:
            path = nx.shortest_path(G, site_node[s], zone_node[z], weight="length")
            network = nx.path_weight(G, path, weight="length")
        except nx.NetworkXNoPath:
            network = np.nan
        rows.append(
            {
                "site_id": sites["site_id"].iat[s],
                "zone_id": zones["zone_id"].iat[z],
                "straight_distance_m": float(sites.geometry.iat[s].distance(zones.geometry.iat[z])),
                "site_node": int(site_node[s]),
                "zone_node": int(zone_node[z]),
                "site_snap_m": float(site_snap[s]),
                "zone_snap_m": float(zone_snap[z]),
                "network_length_m": network,
                "route_length_m": float(site_snap[s]) + network + float(zone_snap[z]),
            }
        )
    timings["route_s"] = time.perf_counter() - t
    return pd.DataFrame(rows)


class _Locator:
    """Exact road distances on ``G`` between points lying on its edges.

    A point on an edge is reached through either end of that edge, so the distance
    between two such points is the least of the four end-to-end combinations (plus the
    offsets along the edges), or the direct distance along the edge when both lie on it.
    """

    def __init__(self, G: nx.MultiDiGraph) -> None:
        self.G = G
        self._sssp: dict[int, dict[int, float]] = {}

    def locate(self, points: Sequence[shapely.Point]) -> list[dict]:
        """Where each point lies: its edge, and its offset along it to each end."""
        xy = shapely.get_coordinates(np.array(points, dtype=object))
        hits = ox.distance.nearest_edges(self.G, xy[:, 0], xy[:, 1])
        return [self.on_edge(u, v, k, p) for p, (u, v, k) in zip(points, hits, strict=True)]

    def on_edge(self, u: int, v: int, k: int, p: shapely.Point) -> dict:
        """A point's place on edge (u, v, k): offsets along it to each end."""
        geom = self.G.edges[u, v, k]["geometry"]
        pos = float(geom.project(p))
        return {
            "edge": (min(u, v), max(u, v), k),
            "pos_from_low": pos if u < v else geom.length - pos,
            "ends": {int(u): pos, int(v): geom.length - pos},
            "off_edge_m": float(geom.distance(p)),
        }

    @staticmethod
    def at_node(node: int) -> dict:
        return {"edge": None, "ends": {int(node): 0.0}, "off_edge_m": 0.0}

    def _from(self, node: int) -> dict[int, float]:
        if node not in self._sssp:
            self._sssp[node] = nx.single_source_dijkstra_path_length(self.G, node, weight="length")
        return self._sssp[node]

    def distance(self, a: dict, b: dict) -> float:
        best = np.inf
        if a["edge"] is not None and a["edge"] == b["edge"]:
            best = abs(a["pos_from_low"] - b["pos_from_low"])
        for na, oa in a["ends"].items():
            d = self._from(na)
            for nb, ob in b["ends"].items():
                if nb in d:
                    best = min(best, oa + d[nb] + ob)
        return float(best)


def check_against_pipeline(
    G: nx.MultiDiGraph,
    pairs: pd.DataFrame,
    zones: gpd.GeoDataFrame,
    routes: gpd.GeoDataFrame,
    attachments: gpd.GeoDataFrame,
) -> pd.DataFrame:
    """Road distances on the baseline graph between the pipeline's and the baseline's ends.

    For each pair the pipeline routed, ``A`` is the pipeline's site attachment (the
    closest point on the nearest road, the route's point at ``site_spur_m``) and ``T``
    the zone's first node where the route stops (the point at ``site_spur_m +
    network_length_m``). With ``n_s`` and ``n_z`` the baseline's site and zone nodes:

    - ``recomputed_network_m`` = d(A, T): the pipeline's network length recomputed
      independently on this graph; it must equal ``network_length_m``;
    - ``site_end_net_m`` = d(A, n_s) and ``zone_end_net_m`` = d(T, n_z): the snapping
      difference along the roads; by the triangle inequality the two network lengths
      differ by at most their sum;
    - ``site_end_straight_m`` = |A n_s| and ``zone_end_straight_m`` = |T n_z|, the same
      in a straight line;
    - ``zone_node_inside``: whether n_z lies in the zone, in which case the pipeline's
      route (which stops at the zone's nearest node) can be no longer than
      ``site_spur_m`` + d(A, n_z) (``via_zone_node_m``);
    - ``to_zone_m``: the road distance from A to the zone, recomputed independently:
      0 when A is in the zone, else the least d(A, p) over the graph's nodes inside the
      zone and the points where its edges cross the zone's boundary (empty when no road
      meets the zone). It must equal
      the pipeline's ``network_length_m`` where the pipeline's route ends in the zone
      (``zone_spur_m`` 0), and exceed the budget for ``beyond_max_length`` pairs.

    For every site with an attachment, ``site_end_net_m`` is also given for pairs the
    pipeline did not route (used to check ``beyond_max_length`` rows).
    """
    loc = _Locator(G)
    site_att = attachments[(attachments["kind"] == "site") & attachments.geometry.notna()]
    a_of = dict(
        zip(
            site_att["id"].astype(str),
            loc.locate(list(site_att.geometry)),
            strict=True,
        )
    )
    zone_geom = dict(zip(zones["zone_id"].astype(str), zones.geometry, strict=True))
    entries = _zone_entries(G, loc, zones)
    pipe = routes.set_index(["site_id", "zone_id"])
    rows = []
    for r in pairs.itertuples(index=False):
        key = (str(r.site_id), str(r.zone_id))
        a = a_of.get(key[0])
        row: dict = {"site_id": r.site_id, "zone_id": r.zone_id}
        n_s, n_z = loc.at_node(r.site_node), loc.at_node(r.zone_node)
        if a is not None:
            row["site_end_net_m"] = loc.distance(a, n_s)
            row["site_end_straight_m"] = float(
                shapely.Point(G.nodes[r.site_node]["x"], G.nodes[r.site_node]["y"]).distance(
                    _point_of(site_att, key[0])
                )
            )
            row["via_zone_node_m"] = loc.distance(a, n_z)
            a_pt = _point_of(site_att, key[0])
            row["to_zone_m"] = (
                0.0
                if zone_geom[key[1]].covers(a_pt)
                else min((loc.distance(a, e) for e in entries.get(key[1], [])), default=np.nan)
            )
        zone_pt = shapely.Point(G.nodes[r.zone_node]["x"], G.nodes[r.zone_node]["y"])
        row["zone_node_inside"] = bool(zone_geom[key[1]].covers(zone_pt))
        if key in pipe.index:
            p = pipe.loc[key]
            if isinstance(p, pd.DataFrame):
                p = p.iloc[0]
            if p.geometry is not None and not pd.isna(p["network_length_m"]):
                line = p.geometry
                t_pt = line.interpolate(p["site_spur_m"] + p["network_length_m"])
                t = loc.locate([t_pt])[0]
                row["recomputed_network_m"] = loc.distance(a, t) if a is not None else np.nan
                row["zone_end_net_m"] = loc.distance(t, n_z)
                row["zone_end_straight_m"] = float(t_pt.distance(zone_pt))
                row["end_off_edge_m"] = t["off_edge_m"]
        rows.append(row)
    return pd.DataFrame(rows)


def _zone_entries(G: nx.MultiDiGraph, loc: _Locator, zones: gpd.GeoDataFrame) -> dict:
    """Per zone, the places a route can first reach it: nodes inside and boundary crossings."""
    node_ids = np.array(list(G.nodes))
    pts = shapely.points([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in node_ids])
    zi, ni = shapely.STRtree(pts).query(zones.geometry.to_numpy(), predicate="intersects")
    out: dict[str, list[dict]] = {}
    ids = zones["zone_id"].astype(str).to_numpy()
    for z, n in zip(zi, ni, strict=True):
        out.setdefault(ids[z], []).append(loc.at_node(int(node_ids[n])))
    edges = [(u, v, k, g) for u, v, k, g in G.edges(keys=True, data="geometry") if u < v]
    geoms = np.array([e[3] for e in edges], dtype=object)
    bounds = shapely.boundary(zones.geometry.to_numpy())
    zi, ei = shapely.STRtree(geoms).query(bounds, predicate="intersects")
    for z, e in zip(zi, ei, strict=True):
        u, v, k, _ = edges[e]
        for p in shapely.points(shapely.get_coordinates(geoms[e].intersection(bounds[z]))):
            out.setdefault(ids[z], []).append(loc.on_edge(u, v, k, p))
    return out


def _point_of(att: gpd.GeoDataFrame, site_id: str) -> shapely.Point:
    return att.geometry[att["id"].astype(str) == site_id].iloc[0]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--roads", type=Path, required=True)
    p.add_argument("--layer", default="roads")
    p.add_argument("--class-column", default="highway")
    p.add_argument("--sites", type=Path, required=True, help="CSV with site_id, lat, lon")
    p.add_argument("--zones", type=Path, required=True, help="the pipeline's demand_zones")
    p.add_argument("--crs", default="EPSG:27700")
    p.add_argument("--max-distance-m", type=float, default=2000.0)
    p.add_argument("--out", type=Path, required=True, help="per-pair CSV")
    p.add_argument("--check-routes", type=Path, help="the pipeline's routes.parquet")
    p.add_argument("--check-attachments", type=Path, help="the pipeline's attachments.parquet")
    p.add_argument("--check-out", type=Path, help="CSV of the comparison distances")
    args = p.parse_args(argv)

    timings: dict[str, float] = {}
    t0 = t = time.perf_counter()
    roads, sites, zones = read_inputs(
        args.roads,
        args.sites,
        args.zones,
        layer=args.layer,
        class_column=args.class_column,
        crs=args.crs,
    )
    timings["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    nodes, edges = node_lines(roads, args.class_column)
    timings["node_lines_s"] = time.perf_counter() - t
    t = time.perf_counter()
    G = ox.convert.graph_from_gdfs(nodes, edges)
    timings["graph_from_gdfs_s"] = time.perf_counter() - t
    pairs = route_pairs(G, sites, zones, args.max_distance_m, timings)
    timings["total_s"] = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pairs.to_csv(args.out, index=False)
    info = {
        **{k: round(v, 3) for k, v in timings.items()},
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "nodes": G.number_of_nodes(),
        "edges": G.number_of_edges() // 2,
        "pairs": len(pairs),
        "reached": int(pairs["network_length_m"].notna().sum()) if len(pairs) else 0,
    }
    if args.check_routes is not None:
        check = check_against_pipeline(
            G,
            pairs,
            zones,
            gpd.read_parquet(args.check_routes),
            gpd.read_parquet(args.check_attachments),
        )
        check.to_csv(args.check_out, index=False)
    print(json.dumps(info))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
