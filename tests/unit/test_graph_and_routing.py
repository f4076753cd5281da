"""Unit tests of zones, the road graph and routing on hand-built cases."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from pyproj import CRS
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import substring

from conftest import grid_roads
from pipeline.config import RoutingConfig, ZonesConfig
from pipeline.stages.build_demand_zones import build_demand_zones
from pipeline.stages.build_road_graph import build_road_graph, graph_from_tables
from pipeline.stages.ingest_heat_demand import Grid
from pipeline.stages.route_links import route_links, substrings


def _graph(lines: list[LineString], classes: list[str] | None = None) -> nx.Graph:
    roads = gpd.GeoDataFrame(
        {"road_class": classes or ["residential"] * len(lines)}, geometry=lines, crs=27700
    )
    return graph_from_tables(*build_road_graph(roads))


def _tables(lines: list[LineString]) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    roads = gpd.GeoDataFrame(
        {"road_class": ["residential"] * len(lines)}, geometry=lines, crs=27700
    )
    return build_road_graph(roads)


def _reason(value: object) -> str | None:
    return None if pd.isna(value) else str(value)


def _points(**xy: tuple[float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": list(xy)}, geometry=[Point(p) for p in xy.values()], crs=27700
    )


def _zones(**boxes: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"zone_id": list(boxes)},
        geometry=gpd.GeoSeries([box(*b) for b in boxes.values()]),
        crs=27700,
    )


class TestZones:
    def test_gap_of_one_cell_is_closed(self) -> None:
        a = np.zeros((3, 7))
        a[1, 1:3] = 400
        a[1, 4:6] = 400  # a one-cell gap at column 3
        g = Grid(a, Affine(100, 0, 0, 0, -100, 300), CRS(27700))
        closed = build_demand_zones(
            g, ZonesConfig(min_cell_density_mwh_per_ha=300, min_zone_demand_mwh=0)
        )
        open_ = build_demand_zones(
            g, ZonesConfig(min_cell_density_mwh_per_ha=300, min_zone_demand_mwh=0, close_gaps=False)
        )
        assert len(closed) == 1 and closed["n_cells"].iloc[0] == 5
        assert closed["annual_demand_mwh"].iloc[0] == 1600
        assert len(open_) == 2

    def test_known_count_total_and_peak(self) -> None:
        a = np.zeros((10, 10))
        a[0:2, 0:2] = 500  # 2000 MWh
        a[6:9, 6:9] = 200  # 1800 MWh
        a[5, 0] = 900  # 900 MWh, one cell
        g = Grid(a, Affine(100, 0, 0, 0, -100, 1000), CRS(27700))
        z = build_demand_zones(
            g,
            ZonesConfig(
                min_cell_density_mwh_per_ha=150, min_zone_demand_mwh=1000, full_load_hours_h=2000
            ),
        )
        assert z["annual_demand_mwh"].tolist() == [2000, 1800]
        assert z["peak_demand_mw"].tolist() == [1.0, 0.9]
        assert z["area_ha"].tolist() == [4.0, 9.0]
        assert z.geometry.area.tolist() == [40_000, 90_000]


class TestGraph:
    def test_crossing_without_shared_vertex_is_a_bridge(self) -> None:
        G = _graph([LineString([(0, 0), (200, 0)]), LineString([(100, -100), (100, 100)])])
        assert G.number_of_edges() == 2
        assert nx.number_connected_components(G) == 2
        comps = {G.nodes[n]["component"] for n in G}
        assert comps == {0, 1}

    def test_shortest_parallel_edge_is_kept_and_loops_dropped(self) -> None:
        G = _graph(
            [
                LineString([(0, 0), (100, 0)]),
                LineString([(0, 0), (50, 50), (100, 0)]),
                LineString([(100, 0), (150, 10), (150, -10), (100, 0)]),
            ]
        )
        assert G.number_of_edges() == 1
        ((u, v, length),) = G.edges(data="length_m")
        assert length == 100

    def test_grid_counts(self) -> None:
        G = graph_from_tables(
            *build_road_graph(grid_roads().rename(columns={"highway": "road_class"}))
        )
        assert (G.number_of_nodes(), G.number_of_edges()) == (25, 40)
        assert G.graph["crs"].to_epsg() == 27700


class TestRouting:
    def test_three_edge_road_by_hand(self) -> None:
        # an L-shaped road 0 -> (300, 0) -> (300, 400) split in three edges
        T = _tables(
            [
                LineString([(0, 0), (100, 0)]),
                LineString([(100, 0), (300, 0)]),
                LineString([(300, 0), (300, 400)]),
            ]
        )
        sites = _points(S=(40, -30))  # 30 m spur onto the first edge at x = 40
        zones = _zones(Z=(280, 300, 320, 340))  # road enters the zone at y = 300
        r = route_links(*T, sites, zones, RoutingConfig()).routes.iloc[0]
        # spur 30 + (300 - 40) + 300 = 590 m; the zone holds no graph node, so the link
        # ends at the zone's attachment point on the road, where it crosses the zone
        assert _reason(r["reason"]) is None
        assert r["site_spur_m"] == pytest.approx(30)
        assert r["route_length_m"] == pytest.approx(590)
        assert r.geometry.length == pytest.approx(590)
        assert r["straight_distance_m"] == pytest.approx(np.hypot(240, 330))

    def test_split_point_not_nearest_node(self) -> None:
        # the site is beside the middle of a 1 km edge: snapping to a node would add 500 m
        T = _tables([LineString([(0, 0), (1000, 0)]), LineString([(1000, 0), (1000, 500)])])
        sites = _points(S=(500, 20))
        zones = _zones(Z=(950, 450, 1050, 550))
        r = route_links(*T, sites, zones, RoutingConfig()).routes.iloc[0]
        assert r["route_length_m"] == pytest.approx(20 + 500 + 450)

    def test_reasons(self) -> None:
        T = _tables(
            [
                LineString([(0, 0), (3000, 0)]),  # main road
                LineString([(0, 500), (400, 500)]),  # an island road
            ]
        )
        sites = _points(
            NEAR=(100, 10),  # 10 m from the main road
            ISLAND=(200, 510),  # on the island
            FIELD=(1500, 800),  # 300 m from any road
        )
        zones = _zones(
            ZA=(2000, -50, 2100, 50),  # on the main road 1.9 km from NEAR
            ZB=(2900, -50, 3000, 50),  # 2.8 km by road from NEAR
        )
        cfg = RoutingConfig(max_link_length_m=2000, max_snap_distance_m=250)
        routes = route_links(*T, sites, zones, cfg).routes
        got = {(r.site_id, r.zone_id): _reason(r.reason) for r in routes.itertuples()}
        assert got == {
            ("NEAR", "ZA"): None,
            ("ISLAND", "ZA"): "unreachable",
            ("FIELD", "ZA"): "no_road_nearby",
            ("FIELD", "ZB"): "no_road_nearby",
        }
        # ZB is 2.8 km from NEAR in a straight line too, so it is not a candidate;
        # with a larger straight-line reach it is routed and rejected as too long
        cfg = RoutingConfig(max_link_length_m=2000, max_snap_distance_m=250)
        sites2 = _points(BEND=(2950, 1900))  # 1.85 km straight from ZB, 2.9 km by road
        T2 = _tables(
            [
                LineString([(0, 0), (3000, 0)]),
                LineString([(0, 0), (0, 1900)]),
                LineString([(0, 1900), (2950, 1900)]),
            ]
        )
        r2 = route_links(*T2, sites2, zones, cfg).routes.set_index("zone_id")
        assert r2.loc["ZB", "reason"] == "beyond_max_length"

    @pytest.mark.parametrize(
        ("max_link_length_m", "reason"),
        [(640.0, None), (639.0, "beyond_max_length"), (639.99, "beyond_max_length")],
    )
    def test_the_zone_spur_counts_against_the_maximum_length(
        self, max_link_length_m: float, reason: str | None
    ) -> None:
        # A 10 m site spur, 600 m of road, and a 30 m spur from the road up to the tip of a
        # diamond-shaped zone that no road enters: 640 m. The road alone (610 m with the
        # site spur) is within every limit; only the zone's spur takes it over 639 m.
        T = _tables([LineString([(0, 0), (1000, 0)])])
        zones = gpd.GeoDataFrame(
            {"zone_id": ["Z"]},
            geometry=[Polygon([(600, 30), (620, 50), (600, 70), (580, 50)])],
            crs=27700,
        )
        cfg = RoutingConfig(max_link_length_m=max_link_length_m, max_snap_distance_m=250)
        r = route_links(*T, _points(S=(0, 10)), zones, cfg).routes.iloc[0]
        assert _reason(r["reason"]) == reason
        assert (r["site_spur_m"], r["network_length_m"], r["zone_spur_m"]) == (10, 600, 30)
        assert r["route_length_m"] == 640.0

    def test_the_search_budget_leaves_out_the_site_spur(self) -> None:
        # A 100 m site spur and a zone 950 m along the road: 1050 m in all, over the
        # 1000 m limit. The search from the road has only 1000 - 100 = 900 m to spend,
        # so it never reaches the zone and no route is drawn; with the spur at 40 m
        # (990 m in all) it does.
        T = _tables([LineString([(0, 0), (2000, 0)])])
        zones = _zones(Z=(950, -50, 1050, 50))
        cfg = RoutingConfig(max_link_length_m=1000, max_snap_distance_m=250)
        far = route_links(*T, _points(S=(0, 100)), zones, cfg).routes.iloc[0]
        assert _reason(far["reason"]) == "beyond_max_length"
        assert np.isnan(far["route_length_m"]) and far.geometry is None
        near = route_links(*T, _points(S=(0, 40)), zones, cfg).routes.iloc[0]
        assert _reason(near["reason"]) is None
        assert near["route_length_m"] == pytest.approx(990.0)

    @settings(max_examples=25, deadline=None)
    @given(
        seed=st.integers(0, 10_000),
        sx=st.floats(0, 400),
        sy=st.floats(0, 400),
    )
    # sites within a centimetre of a junction join at the junction node, and their spur
    # runs to it (found by make mutate's runs)
    @example(seed=43, sx=0.0078125, sy=0.0078125)
    @example(seed=255, sx=55.0, sy=400.0)  # a site on a road inside the zone: length 0
    @example(seed=10, sx=0.0625, sy=0.0078125)
    def test_dijkstra_matches_pairwise_shortest_path(self, seed: int, sx: float, sy: float):
        """Route lengths equal networkx.shortest_path_length on the split graph."""
        rng = np.random.default_rng(seed)
        roads = grid_roads().rename(columns={"highway": "road_class"})
        roads = roads.iloc[rng.permutation(len(roads))[:7]]  # drop some streets
        T = build_road_graph(roads)
        x0, y0 = roads.total_bounds[:2]
        sites = _points(S=(x0 + sx, y0 + sy))
        zx, zy = rng.uniform(0, 400, 2)
        zones = _zones(Z=(x0 + zx, y0 + zy, x0 + zx + 30, y0 + zy + 30))
        cfg = RoutingConfig(max_link_length_m=5000, max_snap_distance_m=500)
        res = route_links(*T, sites, zones, cfg)
        r = res.routes.iloc[0]
        if _reason(r["reason"]) is not None:
            return
        # rebuild the pair's path length independently with networkx's shortest_path
        from pipeline.stages.route_links import attach, graph_tables, sinks_table

        att = attach(*graph_tables(*T), sites, sinks_table(zones, None), cfg.max_snap_distance_m)
        H = graph_from_tables(att.nodes, att.edges)
        (sa,), (za,) = att.site_att, att.sink_att
        inside = [
            n
            for n in H
            if zones.geometry.iloc[0].intersects(Point(H.nodes[n]["x"], H.nodes[n]["y"]))
        ]
        best = min(
            [
                nx.shortest_path_length(H, sa.node, t, weight="length_m")
                for t in inside
                if nx.has_path(H, sa.node, t)
            ]
            + [nx.shortest_path_length(H, sa.node, za.node, weight="length_m") + za.spur_m]
        )
        assert r["route_length_m"] == pytest.approx(sa.spur_m + best)
        if r["route_length_m"] == 0:  # the site is on a road inside the zone: nothing to draw
            assert r.geometry is None
        else:
            assert r.geometry.length == pytest.approx(r["route_length_m"], rel=1e-6)


class TestNetworkSinks:
    def test_link_ends_at_the_networks_nearest_point(self) -> None:
        # a network pipe 30 m beside the road between x = 600 and 800: the link runs
        # 10 m of spur, 600 m of road and a 30 m spur to the pipe's nearest point
        T = _tables([LineString([(0, 0), (1000, 0)])])
        sites = _points(S=(0, 10))
        zones = _zones()
        nets = gpd.GeoDataFrame(
            {"network_id": ["N0001"]}, geometry=[LineString([(600, 30), (800, 30)])], crs=27700
        )
        r = route_links(*T, sites, zones, RoutingConfig(), networks=nets).routes.iloc[0]
        assert (r["sink_id"], r["sink_kind"]) == ("N0001", "network")
        assert pd.isna(r["zone_id"])
        assert r["route_length_m"] == pytest.approx(640)
        assert r["zone_spur_m"] == pytest.approx(30)
        assert r.geometry.coords[-1] == pytest.approx((600, 30))

    def test_road_crossing_the_network_ends_there(self) -> None:
        T = _tables([LineString([(0, 0), (1000, 0)])])
        nets = gpd.GeoDataFrame(
            {"network_id": ["N0001"]}, geometry=[LineString([(400, -300), (400, 300)])], crs=27700
        )
        r = route_links(*T, _points(S=(0, 0)), _zones(), RoutingConfig(), networks=nets).routes
        assert r["route_length_m"].iloc[0] == pytest.approx(400)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-50, 50), st.integers(-50, 50)), min_size=2, max_size=8, unique=True
    ),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
)
def test_substrings_match_shapely_substring(points, a, b):
    """The vectorised cut that split_edges uses gives shapely.ops.substring's pieces."""
    line = shapely.LineString(points)
    lo, hi = sorted((a * line.length, b * line.length))
    assume(hi - lo > 1e-6)
    got = substrings(np.array([line, line]), np.array([lo, 0.0]), np.array([hi, line.length]))
    for piece, (d0, d1) in zip(got, ((lo, hi), (0.0, line.length)), strict=True):
        want = substring(line, d0, d1)
        assert piece.length == pytest.approx(want.length, abs=1e-9)
        assert piece.equals_exact(want, 1e-9) or shapely.equals(piece, want)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(1e5, 1e7),
    st.lists(st.tuples(st.floats(0.1, 100.0), st.floats(0.1, 100.0)), min_size=3, max_size=6),
    st.integers(1, 4),
)
def test_substrings_cut_at_a_vertex_behind_a_long_line_repeats_no_vertex(long_m, steps, k):
    """A cut exactly at a vertex gives that vertex once, as shapely.ops.substring does, even
    when a long line before it in the batch makes the running distances round."""
    xy = np.cumsum(np.array(steps), axis=0)
    short = shapely.LineString(xy)
    at = float(short.project(shapely.Point(xy[min(k, len(xy) - 2)])))
    long = shapely.LineString([(0.0, 0.0), (long_m, 0.0)])
    got = substrings(
        np.array([long, short]), np.array([0.0, at]), np.array([long.length, short.length])
    )[1]
    want = shapely.get_coordinates(substring(short, at, short.length))
    distinct = np.r_[True, np.any(np.diff(want, axis=0) != 0, axis=1)]
    np.testing.assert_array_equal(shapely.get_coordinates(got), want[distinct])
