"""Unit tests of the heat allocation: hand-built cases with known answers, and invariants.

Flows are heat-pump output (the heat a link sends into its pipe, MW); a site's limit is
its waste heat, which a link's flow f takes as f·(COP - 1)/COP.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from pipeline.config import (
    CarbonConfig,
    CostConfig,
    HeatPumpConfig,
    NetworkConfig,
    PipesConfig,
    ViabilityConfig,
)
from pipeline.data import load_pipe_catalogue, load_twin_casings
from pipeline.stages.allocate_heat import allocate_heat, cost_column, sink_capacities_mw
from pipeline.stages.assess_links import AssessmentConfig, assess_links


def _links(*rows: tuple) -> pd.DataFrame:
    """Links from (link_id, site_id, sink_id, design_network_heat_mw, lcoh, cop) rows."""
    return pd.DataFrame(
        rows, columns=["link_id", "site_id", "sink_id", "design_network_heat_mw", "lcoh", "cop"]
    )


def _allocate(links: pd.DataFrame, supply: dict, demand: dict) -> dict[str, tuple]:
    out = allocate_heat(links, supply, demand, cost="lcoh")
    return {
        r.link_id: (r.allocated_network_heat_mw, r.allocated_source_heat_mw, r.recommended)
        for r in out.itertuples()
    }


NO_PUMP = np.nan


def test_competing_sources_share_a_capped_zone_cheapest_first():
    # Two 3 MW sources (no heat pump) reach one zone that takes 4 MW. The cheaper link
    # (S1, 40/MWh) carries all S1 has, 3 MW; the dearer one (S2) the remaining 1 MW.
    links = _links(
        ("L1", "S1", "Z", 3.0, 40.0, NO_PUMP),
        ("L2", "S2", "Z", 3.0, 60.0, NO_PUMP),
    )
    got = _allocate(links, {"S1": 3.0, "S2": 3.0}, {"Z": 4.0})
    assert got == {"L1": (3.0, 3.0, True), "L2": (1.0, 1.0, True)}


def test_a_dearer_link_is_left_out():
    # A 5 MW source reaches two zones of 5 MW each; the cheaper one takes it all.
    links = _links(
        ("L1", "S", "Z1", 5.0, 30.0, NO_PUMP),
        ("L2", "S", "Z2", 5.0, 50.0, NO_PUMP),
    )
    got = _allocate(links, {"S": 5.0}, {"Z1": 5.0, "Z2": 5.0})
    assert got == {"L1": (5.0, 5.0, True), "L2": (0.0, 0.0, False)}


def test_the_largest_flow_comes_before_the_cheapest():
    # The cheap zone takes only 2 MW, so the dear one gets the other 3 MW: heat is not
    # left unused to save cost.
    links = _links(
        ("L1", "S", "Z1", 5.0, 30.0, NO_PUMP),
        ("L2", "S", "Z2", 5.0, 90.0, NO_PUMP),
    )
    got = _allocate(links, {"S": 5.0}, {"Z1": 2.0, "Z2": 5.0})
    assert got == {"L1": (2.0, 2.0, True), "L2": (3.0, 3.0, True)}


def test_a_network_without_demand_cap_takes_what_the_zones_leave():
    # 10 MW of waste heat at COP 3 is 15 MW of output. The zone (cheap) takes its 2 MW
    # peak, which uses 2·2/3 = 1.333 MW of waste heat; the rest, 8.667 MW, becomes
    # 13 MW of output for the network, which has no cap.
    links = _links(
        ("L1", "S", "Z", 2.0, 30.0, 3.0),
        ("L2", "S", "N0001", 15.0, 45.0, 3.0),
    )
    zones = pd.DataFrame({"zone_id": ["Z"], "peak_demand_mw": [2.0]})
    demand = sink_capacities_mw(
        zones, ["N0001"], network_annual_demand_mwh=None, full_load_hours_h=2000.0
    )
    assert demand == {"Z": 2.0, "N0001": None}
    got = _allocate(links, {"S": 10.0}, demand)
    assert got["L1"][0] == 2.0 and got["L2"][0] == 13.0
    assert got["L1"][1] == pytest.approx(4 / 3, abs=1e-12)
    assert got["L2"][1] == pytest.approx(26 / 3, abs=1e-12)
    assert got["L1"][2] and got["L2"][2]


def test_a_network_with_annual_demand_takes_its_average_rate():
    # existing_networks.annual_demand_mwh 10,000 MWh over 2,000 full-load hours: 5 MW.
    links = _links(("L1", "S", "N0001", 15.0, 45.0, 3.0))
    demand = sink_capacities_mw(
        pd.DataFrame({"zone_id": [], "peak_demand_mw": []}),
        ["N0001"],
        network_annual_demand_mwh=10_000.0,
        full_load_hours_h=2000.0,
    )
    assert demand == {"N0001": 5.0}
    assert _allocate(links, {"S": 10.0}, demand) == {
        "L1": (5.0, pytest.approx(10 / 3, abs=1e-12), True)
    }


def test_allocation_counts_heat_pump_output_not_waste_heat():
    # Issue 9: a 3 MW source whose link carries the heat pump's 4.5 MW (COP 3) is
    # allocated the 4.5 MW the sink receives, drawing all 3 MW of waste heat.
    links = _links(("L1", "S", "Z", 4.5, 30.0, 3.0))
    assert _allocate(links, {"S": 3.0}, {"Z": 20.0}) == {"L1": (4.5, 3.0, True)}


def test_a_site_shares_its_waste_heat_between_lifts():
    # 4 MW of waste heat; the zone link's heat pump has COP 3 (1.5 MW out per MW in), the
    # network link's COP 5 (1.25). The zone takes its 3 MW peak from 2 MW of waste heat;
    # the other 2 MW give the network 2.5 MW.
    links = _links(
        ("L1", "S", "Z", 3.0, 30.0, 3.0),
        ("L2", "S", "N0001", 5.0, 45.0, 5.0),
    )
    got = _allocate(links, {"S": 4.0}, {"Z": 3.0, "N0001": None})
    assert got == {"L1": (3.0, 2.0, True), "L2": (2.5, 2.0, True)}


def test_the_assessed_3_mw_source_gets_its_whole_heat_pump_output():
    # A 3 MW, 35 °C source to an 80/50 °C zone at Carnot 0.55 with the default 5 K
    # approaches (evaporating at 35 - 10 - 5 = 20 °C, condensing at 85 °C): COP
    # 0.55·358.15/65 = 3.0305, output 3·3.0305/2.0305 = 9.0915/2.0305 = 4.47747 MW, the
    # link's design heat. It used to be allocated 3.0 MW (the waste heat); now the whole
    # output is, rounded down to the kW: 4.477 MW, which takes 4.477·2.0305/3.0305 =
    # 2.99969 MW of waste heat.
    route = gpd.GeoDataFrame(
        {
            "link_id": ["L00001"],
            "site_id": ["AIR"],
            "zone_id": ["BIG"],
            "sink_id": ["BIG"],
            "reason": [None],
            "route_length_m": [1000.0],
            "site_spur_m": [10.0],
            "zone_spur_m": [0.0],
        },
        geometry=[LineString([(0, 0), (1000, 0)])],
        crs=27700,
    )
    sources = pd.DataFrame(
        {"site_id": ["AIR"], "heat_available_mw": [3.0], "source_temp_c": [35.0]}
    )
    zones = pd.DataFrame(
        {"zone_id": ["BIG"], "annual_demand_mwh": [40_000.0], "peak_demand_mw": [20.0]}
    )
    links = assess_links(
        route,
        sources,
        zones,
        load_pipe_catalogue(),
        load_twin_casings(),
        AssessmentConfig(
            network=NetworkConfig(),
            pipes=PipesConfig(),
            heat_pump=HeatPumpConfig(model="carnot", carnot_efficiency=0.55),
            carbon=CarbonConfig(),
            cost=CostConfig(),
            viability=ViabilityConfig(),
        ),
    )
    assert links["design_network_heat_mw"].iloc[0] == pytest.approx(4.47747, abs=1e-5)
    assert cost_column(links) == "lcoh_transmission_eur_per_mwh"
    out = allocate_heat(
        links, {"AIR": 3.0}, {"BIG": 20.0}, cost="lcoh_transmission_eur_per_mwh"
    ).iloc[0]
    assert out["allocated_network_heat_mw"] == 4.477
    assert out["allocated_source_heat_mw"] == pytest.approx(2.99969, abs=1e-5)
    assert out["allocated_source_heat_mw"] <= 3.0
    assert out["recommended"]


def test_unknown_sites_and_sinks_take_nothing_and_costs_default():
    links = _links(
        ("L1", "GHOST", "Z", 5.0, 30.0, NO_PUMP),
        ("L2", "S", "NOWHERE", 5.0, 30.0, NO_PUMP),
        ("L3", "S", "Z", 5.0, np.nan, NO_PUMP),  # no cost: counted as the dearest
    )
    got = _allocate(links, {"S": 4.0}, {"Z": 6.0})
    assert got == {"L1": (0.0, 0.0, False), "L2": (0.0, 0.0, False), "L3": (4.0, 4.0, True)}
    assert cost_column(links.drop(columns="lcoh").assign(heat_loss_pct=1.0)) == "heat_loss_pct"
    empty = allocate_heat(links.iloc[:0], {}, {}, cost="lcoh")
    assert list(empty.columns) == [
        "link_id",
        "allocated_network_heat_mw",
        "allocated_source_heat_mw",
        "recommended",
    ]
    assert empty.empty


# ------------------------------------------------------------------------ invariants


@st.composite
def _networks(draw):
    """Random sites, sinks and links with capacities in whole kW and integer costs."""
    n_sites = draw(st.integers(1, 4))
    n_sinks = draw(st.integers(1, 4))
    kw = st.integers(0, 5000)
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n_sites - 1), st.integers(0, n_sinks - 1)),
            min_size=1,
            max_size=10,
            unique=True,
        )
    )
    links = pd.DataFrame(
        {
            "link_id": [f"L{i}" for i in range(len(pairs))],
            "site_id": [f"S{s}" for s, _ in pairs],
            "sink_id": [f"Z{z}" for _, z in pairs],
            "design_network_heat_mw": [draw(kw) / 1000 for _ in pairs],
            "lcoh": [float(draw(st.integers(0, 200))) for _ in pairs],
        }
    )
    supply = {f"S{s}": draw(kw) / 1000 for s in range(n_sites)}
    demand = {
        f"Z{z}": draw(st.one_of(st.none(), kw.map(lambda k: k / 1000))) for z in range(n_sinks)
    }
    return links, supply, demand


def _min_cost_flow(links, supply, demand) -> tuple[int, int]:
    """Total flow (kW) and its cost by networkx's integer min-cost flow: the oracle."""
    G = nx.DiGraph()
    big = 10**9
    for s, mw in supply.items():
        G.add_edge("src", ("s", s), capacity=round(mw * 1000), weight=0)
    for z, mw in demand.items():
        G.add_edge(("z", z), "sink", capacity=big if mw is None else round(mw * 1000), weight=0)
    for r in links.itertuples():
        G.add_edge(
            ("s", r.site_id), r.link_id, capacity=round(r.design_network_heat_mw * 1000), weight=0
        )
        G.add_edge(r.link_id, ("z", r.sink_id), weight=int(r.lcoh))
    flow = nx.max_flow_min_cost(G, "src", "sink")
    return sum(flow["src"].values()), nx.cost_of_flow(G, flow)


@settings(max_examples=60, deadline=None)
@given(_networks())
def test_without_heat_pumps_the_allocation_is_the_min_cost_max_flow(case):
    links, supply, demand = case
    out = allocate_heat(links, supply, demand, cost="lcoh").set_index("link_id")
    kw = np.rint(out["allocated_network_heat_mw"].to_numpy() * 1000).astype(int)
    assert (out["allocated_network_heat_mw"].to_numpy() == kw / 1000).all()  # whole kW
    total_kw, cost = _min_cost_flow(links, supply, demand)
    assert kw.sum() == total_kw
    assert int(kw @ links["lcoh"].to_numpy()) == cost
    assert (out["recommended"] == (kw > 0)).all()


@settings(max_examples=60, deadline=None)
@given(_networks(), st.lists(st.floats(1.5, 8.0) | st.just(np.nan), min_size=10, max_size=10))
def test_limits_hold_with_heat_pumps(case, cops):
    links, supply, demand = case
    links = links.assign(cop=cops[: len(links)])
    out = allocate_heat(links, supply, demand, cost="lcoh")
    alloc = links.assign(
        f=out["allocated_network_heat_mw"].to_numpy(), q=out["allocated_source_heat_mw"].to_numpy()
    )
    # each link within its design, each site within its waste heat, each sink its demand
    # (to the rounding of flows to the kW, 10 mW)
    assert (alloc["f"] <= alloc["design_network_heat_mw"] + 1e-12).all() and (alloc["f"] >= 0).all()
    for site, q in alloc.groupby("site_id")["q"].sum().items():
        assert q <= supply[site] + 1e-8
    for sink, f in alloc.groupby("sink_id")["f"].sum().items():
        assert demand[sink] is None or f <= demand[sink] + 1e-8
    # output = waste heat · COP/(COP - 1), or the waste heat itself without a heat pump
    lift = np.where(np.isnan(alloc["cop"]), 1.0, alloc["cop"] / (alloc["cop"] - 1.0))
    assert np.allclose(alloc["q"] * lift, alloc["f"], rtol=1e-12, atol=0)
    assert (out["recommended"] == (out["allocated_network_heat_mw"] > 0)).all()
