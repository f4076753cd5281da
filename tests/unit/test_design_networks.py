"""The design_networks stage on hand-built streets: layout, sizing, costs and the
point-to-point comparison, against known answers and the link model's own figures."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from pipeline.config import (
    CarbonConfig,
    CostConfig,
    HeatPumpConfig,
    NetworkConfig,
    NetworkDesignConfig,
    PipesConfig,
    ViabilityConfig,
)
from pipeline.data import load_pipe_catalogue, load_twin_casings
from pipeline.errors import InputError
from pipeline.network_roads import RoadEdges
from pipeline.stages.assess_links import AssessmentConfig, assess_links
from pipeline.stages.design_networks import (
    NETWORK_COLUMNS,
    PIPE_COLUMNS,
    DesignConfig,
    Inputs,
    _critical_paths,
    _Segment,
    _shares,
    design_networks,
)

CRS = 27700
SPACING_M = 100.0
HEAT_PUMP = HeatPumpConfig(model="carnot", carnot_efficiency=0.55)


def _street(n_nodes: int) -> gpd.GeoDataFrame:
    """A straight street of n nodes, 100 m apart along y = 0; node i at x = 100·i."""
    return gpd.GeoDataFrame(
        {
            "u": np.arange(n_nodes - 1),
            "v": np.arange(1, n_nodes),
            "length_m": SPACING_M,
            "road_class": "residential",
            "cost_factor": 1.0,
        },
        geometry=[
            LineString([(SPACING_M * i, 0.0), (SPACING_M * (i + 1), 0.0)])
            for i in range(n_nodes - 1)
        ],
        crs=CRS,
    )


def _segments(edges: gpd.GeoDataFrame, paths: dict[str, list[int]]) -> gpd.GeoDataFrame:
    """Route segments of each link along a node path of the street."""
    by_pair = {
        (int(u), int(v)): g for u, v, g in zip(edges["u"], edges["v"], edges.geometry, strict=True)
    }
    rows = []
    for link_id, path in paths.items():
        for a, b in zip(path[:-1], path[1:], strict=True):
            u, v = min(a, b), max(a, b)
            rows.append(
                (link_id, f"{u}-{v}", a, b, SPACING_M, "residential", 1.0, None, by_pair[(u, v)])
            )
    columns = ["link_id", "segment_id", "from_node", "to_node", "length_m", "road_class"]
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=[*columns, "cost_factor", "parent_edge", "geometry"]),
        geometry="geometry",
        crs=CRS,
    )


def _inputs(
    paths: dict[str, list[int]],
    sites: dict[str, str],
    sinks: dict[str, str],
    allocated_mw: dict[str, float],
    n_nodes: int = 6,
    delivered_mwh: dict[str, float] | None = None,
    zone_demand_mwh: float = 30_000.0,
) -> Inputs:
    """Inputs of links along one street: each link's node path, site, sink and allocation."""
    edges = _street(n_nodes)
    ids = list(paths)
    links = gpd.GeoDataFrame(
        {
            "link_id": ids,
            "site_id": [sites[k] for k in ids],
            "sink_id": [sinks[k] for k in ids],
            "sink_kind": "zone",
            "route_length_m": [SPACING_M * (len(paths[k]) - 1) for k in ids],
            "site_spur_m": 0.0,
            "zone_spur_m": 0.0,
            "supply_temp_c": 80.0,
            "return_temp_c": 50.0,
            "distribution_eur_per_mwh": 10.0,
            "reason": None,
        },
        geometry=[LineString([(SPACING_M * n, 0.0) for n in paths[k]]) for k in ids],
        crs=CRS,
    )
    delivered = delivered_mwh or {k: 4000.0 * allocated_mw[k] for k in ids}
    allocation = pd.DataFrame(
        {
            "link_id": ids,
            "allocated_network_heat_mw": [allocated_mw[k] for k in ids],
            "recommended": [allocated_mw[k] > 0 for k in ids],
            "allocated_delivered_heat_mwh": [delivered[k] for k in ids],
        }
    )
    site_ids = sorted(set(sites.values()))
    zone_ids = sorted(set(sinks.values()))
    return Inputs(
        links=links,
        allocation=allocation,
        sources=pd.DataFrame(
            {"site_id": site_ids, "heat_available_mw": 10.0, "source_temp_c": 35.0}
        ),
        zones=pd.DataFrame({"zone_id": zone_ids, "annual_demand_mwh": zone_demand_mwh}),
        heat_networks=pd.DataFrame({"network_id": pd.Series([], dtype=str)}),
        segments=_segments(edges, paths),
        edges=edges,
        catalogue=load_pipe_catalogue(),
        twin_casings=load_twin_casings(),
    )


def _design(data: Inputs, **sections) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return design_networks(data, DesignConfig(heat_pump=HEAT_PUMP, **sections))


# Source S1 at node 0 serves Z1 at node 2 and Z2 at node 5 along the same street.
BRANCH = dict(
    paths={"L1": [0, 1, 2], "L2": [0, 1, 2, 3, 4, 5]},
    sites={"L1": "S1", "L2": "S1"},
    sinks={"L1": "Z1", "L2": "Z2"},
    allocated_mw={"L1": 3.0, "L2": 1.0},
    zone_demand_mwh=750.0,  # 50 consumers of 15 MWh a year each
)


def test_one_source_two_zones_along_one_street_share_the_trench():
    networks, pipes = _design(_inputs(**BRANCH))
    net = networks.iloc[0]
    # One trench of 5 × 100 m against 200 + 500 m of point-to-point trench.
    assert (net["n_sinks"], net["n_links"]) == (2, 2)
    assert net["trench_length_m"] == pytest.approx(500.0)
    assert net["p2p_trench_length_m"] == pytest.approx(700.0)
    assert net["trench_saving_pct"] == pytest.approx(100 * (1 - 500 / 700))
    assert net["capex_eur"] < net["p2p_capex_eur"]
    assert net["capex_saving_pct"] == pytest.approx(
        100 * (1 - net["capex_eur"] / net["p2p_capex_eur"])
    )
    # The trunk to Z1 carries both zones of 50 consumers at the simultaneity of 100:
    # GLF(100)/GLF(50)·(3 + 1) = 0.58825/0.74326·4 = 3.1658 MW; the branch beyond it
    # only Z2's 1 MW.
    load = pipes.set_index("segment_id")["design_network_heat_mw"]
    assert load[["0-1", "1-2"]].tolist() == pytest.approx([3.1658, 3.1658], abs=1e-4)
    assert pipes.set_index("segment_id").loc["0-1", "n_consumers"] == 100
    assert load[["2-3", "3-4", "4-5"]].tolist() == pytest.approx([1.0, 1.0, 1.0])
    dn = pipes.set_index("segment_id")["dn"]
    assert dn["0-1"] > dn["4-5"]
    assert pipes["length_m"].sum() == pytest.approx(net["trench_length_m"])
    assert net["delivered_heat_mwh"] == pytest.approx(16_000.0)
    assert net["annual_heat_loss_mwh"] == pytest.approx(pipes["annual_heat_loss_mwh"].sum())
    assert net["lcoh_delivered_eur_per_mwh"] == pytest.approx(
        net["lcoh_transmission_eur_per_mwh"] + 10.0
    )
    assert net["geometry"].length == pytest.approx(500.0)
    assert net["method"] == "heuristic" and np.isnan(net["optimality_gap_pct"])


def test_columns_are_the_layers_fields():
    networks, pipes = _design(_inputs(**BRANCH))
    assert list(networks.columns) == [*NETWORK_COLUMNS, "geometry"]
    assert list(pipes.columns) == [*PIPE_COLUMNS, "geometry"]
    data = _inputs(**BRANCH)
    data.links = data.links.rename(columns={"distribution_eur_per_mwh": "distribution_gbp_per_mwh"})
    gbp = _design(data, cost=CostConfig(currency="GBP", currency_per_eur=0.85))[0]
    assert "capex_gbp" in gbp and "p2p_capex_gbp" in gbp and "capex_eur" not in gbp


def test_sources_that_serve_one_sink_share_one_network_and_its_trench():
    # S1 at node 0 and S2 at node 1 both feed Z1 at node 4: segments 1-2 to 3-4 carry
    # both sources' heat in one trench.
    data = _inputs(
        paths={"L1": [0, 1, 2, 3, 4], "L2": [1, 2, 3, 4]},
        sites={"L1": "S1", "L2": "S2"},
        sinks={"L1": "Z1", "L2": "Z1"},
        allocated_mw={"L1": 2.0, "L2": 1.5},
    )
    networks, pipes = _design(data)
    assert len(networks) == 1
    net = networks.iloc[0]
    assert (net["site_ids"], net["sink_ids"]) == ("S1;S2", "Z1")
    assert net["trench_length_m"] == pytest.approx(400.0)
    assert net["p2p_trench_length_m"] == pytest.approx(700.0)
    by_id = pipes.set_index("segment_id")
    assert by_id.loc["0-1", "site_id"] == "S1"
    assert pd.isna(by_id.loc["2-3", "site_id"]) and by_id.loc["2-3", "site_ids"] == "S1;S2"
    assert by_id.loc["2-3", "design_network_heat_mw"] == pytest.approx(3.5)


def test_separate_groups_are_separate_networks():
    data = _inputs(
        paths={"L1": [0, 1], "L2": [5, 4]},
        sites={"L1": "S1", "L2": "S2"},
        sinks={"L1": "Z1", "L2": "Z2"},
        allocated_mw={"L1": 1.0, "L2": 1.0},
    )
    networks, pipes = _design(data)
    assert networks["network_id"].tolist() == ["N001", "N002"]
    assert networks["site_ids"].tolist() == ["S1", "S2"]
    assert (networks["trench_saving_pct"] == 0).all()
    assert sorted(pipes["network_id"]) == ["N001", "N002"]


def test_a_single_link_network_costs_what_the_link_model_says():
    """With its allocated heat at the link's design heat, a one-link network is the link."""
    routes = gpd.GeoDataFrame(
        {
            "link_id": ["L1"],
            "site_id": ["S1"],
            "sink_id": ["Z1"],
            "zone_id": ["Z1"],
            "sink_kind": ["zone"],
            "reason": [None],
            "route_length_m": [400.0],
            "site_spur_m": [0.0],
            "zone_spur_m": [0.0],
            "civils_factor": [1.0],
        },
        geometry=[LineString([(0, 0), (400, 0)])],
        crs=CRS,
    )
    sources = pd.DataFrame({"site_id": ["S1"], "heat_available_mw": [2.0], "source_temp_c": [35.0]})
    zones = pd.DataFrame(
        {"zone_id": ["Z1"], "annual_demand_mwh": [30_000.0], "peak_demand_mw": [15.0]}
    )
    link = assess_links(
        routes,
        sources,
        zones,
        load_pipe_catalogue(),
        load_twin_casings(),
        _assessment_config(),
    ).iloc[0]
    data = _inputs(
        paths={"L1": [0, 1, 2, 3, 4]},
        sites={"L1": "S1"},
        sinks={"L1": "Z1"},
        allocated_mw={"L1": float(link["design_network_heat_mw"])},
        delivered_mwh={"L1": float(link["delivered_heat_mwh"])},
    )
    data.sources = sources
    net = _design(data)[0].iloc[0]
    assert net["capex_eur"] == pytest.approx(link["capex_eur"], rel=1e-9)
    assert net["p2p_capex_eur"] == pytest.approx(link["capex_eur"], rel=1e-9)
    assert net["heat_pump_mw"] == pytest.approx(link["heat_pump_mw"])
    assert net["annual_heat_loss_mwh"] == pytest.approx(link["annual_heat_loss_mwh"], rel=1e-3)
    assert net["pump_electricity_mwh"] == pytest.approx(link["pump_electricity_mwh"], rel=1e-3)
    assert net["co2_saved_t_per_yr"] == pytest.approx(link["co2_saved_t_per_yr"], rel=1e-3)
    assert net["lcoh_transmission_eur_per_mwh"] == pytest.approx(
        link["lcoh_transmission_eur_per_mwh"], rel=1e-3
    )


def _assessment_config() -> AssessmentConfig:
    return AssessmentConfig(
        network=NetworkConfig(),
        pipes=PipesConfig(),
        heat_pump=HEAT_PUMP,
        carbon=CarbonConfig(),
        cost=CostConfig(),
        viability=ViabilityConfig(),
    )


def test_milp_method_matches_the_heuristic_on_a_street_and_reports_its_gap():
    heuristic = _design(_inputs(**BRANCH))[0].iloc[0]
    exact = _design(_inputs(**BRANCH), network_design=NetworkDesignConfig(method="milp"))[0].iloc[0]
    assert exact["method"] == "milp"
    assert exact["optimality_gap_pct"] == pytest.approx(0.0, abs=1e-6)
    # on a tree-shaped street the two lay the same pipes
    assert exact["trench_length_m"] == pytest.approx(heuristic["trench_length_m"])
    assert exact["capex_eur"] == pytest.approx(heuristic["capex_eur"])


def test_milp_refuses_a_network_beyond_its_edge_limit():
    with pytest.raises(InputError, match=r"N001.*max_milp_edges.*heuristic"):
        _design(
            _inputs(**BRANCH),
            network_design=NetworkDesignConfig(method="milp", max_milp_edges=3),
        )


def test_no_recommended_link_gives_empty_layers():
    data = _inputs(**{**BRANCH, "allocated_mw": {"L1": 0.0, "L2": 0.0}})
    networks, pipes = _design(data)
    assert networks.empty and pipes.empty
    assert list(networks.columns) == [*NETWORK_COLUMNS, "geometry"]
    assert list(pipes.columns) == [*PIPE_COLUMNS, "geometry"]


def test_critical_path_is_the_largest_pressure_drop_and_the_hottest_drop_is_the_largest():
    """Pumping follows the sink with the largest pressure drop, not the longest path."""
    pipes = pd.DataFrame(
        {
            "key": [("N", "a"), ("N", "b"), ("N", "c")],
            "route_length_m": [100.0, 300.0, 200.0],
            "pressure_gradient_pa_per_m": [100.0, 50.0, 120.0],
            "supply_temp_drop_k": [0.1, 0.4, 0.2],
        }
    )
    # path a-b: 100·100 + 300·50 = 25,000 Pa over 400 m; path a-c: 10,000 + 24,000 =
    # 34,000 Pa over 300 m, the critical one; the largest temperature drop is a-b's 0.5 K.
    paths = [[[("N", "a"), ("N", "b")], [("N", "a"), ("N", "c")]]]
    got = _critical_paths(paths, pipes).iloc[0]
    assert got["length_m"] == pytest.approx(300.0)
    assert got["pressure_gradient_pa_per_m"] == pytest.approx(34_000 / 300)
    assert got["drop_k"] == pytest.approx(0.5)


def test_shared_trench_is_split_between_sources_by_their_loads():
    seg = _Segment("1-2", "residential", 100.0, 1.0, LineString([(0, 0), (100, 0)]))
    seg.load_by_feed = {0: 3.0, 1: 1.0}
    alone = _Segment("2-3", "residential", 100.0, 1.0, LineString([(100, 0), (200, 0)]))
    alone.load_by_feed = {1: 2.0}
    shares = _shares({("N", "1-2"): seg, ("N", "2-3"): alone}, 2).toarray()
    np.testing.assert_allclose(shares, [[0.75, 0.0], [0.25, 1.0]])


def test_network_lcoh_is_its_sources_lcoh_weighted_by_the_heat_they_deliver():
    """Two sources feed one zone from opposite ends of a street (no shared trench): the
    network is the two single-link networks, its LCOH their delivered-weighted mean."""
    both = dict(
        paths={"L1": [0, 1, 2], "L2": [4, 3, 2]},
        sites={"L1": "S1", "L2": "S2"},
        sinks={"L1": "Z1", "L2": "Z1"},
        allocated_mw={"L1": 3.0, "L2": 1.0},
        delivered_mwh={"L1": 12_000.0, "L2": 2_000.0},
    )
    net = _design(_inputs(**both))[0].iloc[0]
    alone = [
        _design(_inputs(**{k: {link: v[link]} for k, v in both.items()}))[0].iloc[0]
        for link in ("L1", "L2")
    ]
    lcoh = "lcoh_transmission_eur_per_mwh"
    assert alone[0][lcoh] != pytest.approx(alone[1][lcoh], rel=1e-3)
    assert net[lcoh] == pytest.approx((alone[0][lcoh] * 12_000 + alone[1][lcoh] * 2_000) / 14_000)
    assert net["capex_eur"] == pytest.approx(alone[0]["capex_eur"] + alone[1]["capex_eur"])
    assert net["trench_saving_pct"] == pytest.approx(0.0)


def test_a_run_reads_only_the_edges_near_its_networks_and_designs_the_same(tmp_path):
    """From the parquet files, only edges with a node in a network's search area are
    read; the design is the one made from the whole edge table."""
    data = _inputs(**BRANCH, n_nodes=40)  # a 3.9 km street; the networks span 500 m
    edges_path, nodes_path = tmp_path / "graph_edges.parquet", tmp_path / "graph_nodes.parquet"
    data.edges.to_parquet(edges_path)
    pd.DataFrame(
        {"node_id": np.arange(40), "x": SPACING_M * np.arange(40), "y": np.zeros(40)}
    ).to_parquet(nodes_path)
    from_table = _design(data)
    roads = RoadEdges.from_files(
        edges_path, nodes_path, np.array([[-500.0, -500.0, 1000.0, 500.0]])
    )
    assert sorted(roads.u.tolist()) == list(range(11))  # nodes 0-10 lie within x <= 1000
    data.edges = (edges_path, nodes_path)
    from_files = _design(data)
    for a, b in zip(from_table, from_files, strict=True):
        pd.testing.assert_frame_equal(
            pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
        )
