"""The tiny region with an existing heat network, run end to end as a user would.

The network is one 100 m pipe crossing the street y = Y0 at x = X0 + 250, south-east of
the site; the site (5 MW of IT load, 2.8 MW of waste heat) joins the street x = X0 by a
10 m spur at (X0, Y0 + 20), 20 m north of the corner. The demand zone (2,000 MWh a year,
1 MW peak) is the dense block to the north-east.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString

from conftest import X0, Y0, TinyRegion, add_existing_network, make_tiny_region, run_cli

pytestmark = pytest.mark.slow

PIPE = LineString([(X0 + 250, Y0 - 50), (X0 + 250, Y0 + 50)])


@pytest.fixture(scope="module", params=[None, 4000.0], ids=["uncapped", "capped"])
def network_run(request, tmp_path_factory) -> tuple[TinyRegion, float | None]:
    """Run every stage of the tiny region with the network, its demand unset or set."""
    region = make_tiny_region(tmp_path_factory.mktemp("network"))
    settings = {} if request.param is None else {"annual_demand_mwh": request.param}
    add_existing_network(region, [PIPE], **settings)
    # Roads within 40 m of the pipe: only the street that crosses it. With the default
    # 250 m, every junction within 250 m is a target and a straight 250 m "spur" from
    # the site's own road node across the blocks is the shortest link.
    region.config["routing"] = {"max_snap_distance_m": 40.0}
    region.write_config()
    proc = run_cli("all", "--region", "tiny", root=region.root)
    assert proc.returncode == 0, proc.stderr
    return region, request.param


def _layer(root: Path, name: str) -> gpd.GeoDataFrame:
    return gpd.read_file(root / "outputs" / "tiny" / "heat_links.gpkg", layer=name)


def test_the_network_is_a_sink_in_the_geopackage(network_run) -> None:
    region, annual = network_run
    nets = _layer(region.root, "existing_networks")
    assert nets["network_id"].tolist() == ["N0001"]
    assert nets["length_m"].iloc[0] == pytest.approx(100.0)
    sinks = _layer(region.root, "sinks").set_index("sink_id")
    assert sinks["sink_kind"].to_dict() == {"Z0001": "zone", "N0001": "network"}
    assert sinks.loc["N0001", "n_viable_links"] == 1
    if annual is None:
        assert pd.isna(sinks.loc["N0001", "annual_demand_mwh"])
    else:
        assert sinks.loc["N0001", "annual_demand_mwh"] == annual


def test_the_link_to_the_network_ends_at_its_nearest_point(network_run) -> None:
    region, _ = network_run
    links = _layer(region.root, "links").set_index("sink_id")
    link = links.loc["N0001"]
    assert link["sink_kind"] == "network" and pd.isna(link["zone_id"])
    # After the site's 10 m spur: 20 m down the street x = X0 to the corner and 250 m
    # east along y = Y0 to where the street crosses the pipe, so no spur at that end.
    # (The site's lon/lat round trip moves it by under 1 mm.)
    assert link["site_spur_m"] == pytest.approx(10.0, abs=1e-3)
    assert link["zone_spur_m"] == 0.0
    assert link["route_length_m"] == pytest.approx(280.0, abs=1e-3)
    assert link.geometry.coords[-1] == pytest.approx((X0 + 250, Y0))
    assert link.geometry.length == pytest.approx(link["route_length_m"], rel=1e-9)
    # A network takes the source's whole heat-pump output at any moment.
    cop = link["cop"]
    assert link["design_network_heat_mw"] == pytest.approx(2.8 * cop / (cop - 1.0), rel=1e-9)


def test_allocation_treats_the_network_by_its_demand_setting(network_run) -> None:
    region, annual = network_run
    links = _layer(region.root, "links").set_index("sink_id")
    zone, net = links.loc["Z0001"], links.loc["N0001"]
    assert zone["cop"] == net["cop"]  # the same source and network temperatures
    lift = net["cop"] / (net["cop"] - 1.0)  # heat-pump output per MW of waste heat
    whole_kw = math.floor(2.8 * lift * 1000) / 1000  # all 2.8 MW of waste heat, lifted
    if annual is None:
        # No cap: the network can take all the heat-pump output, and since it uses the
        # whole output its heat is cheaper than the zone's; the zone gets nothing.
        assert net["lcoh_transmission_eur_per_mwh"] < zone["lcoh_transmission_eur_per_mwh"]
        expected = {"N0001": (whole_kw, True), "Z0001": (0.0, False)}
    else:
        # annual_demand_mwh 4,000 MWh over 2,000 full-load hours: 2 MW. The zone takes its
        # 1 MW peak; 1.05 MW of output stays unused.
        expected = {"N0001": (2.0, True), "Z0001": (1.0, True)}
    got = {k: (r.allocated_network_heat_mw, r.recommended) for k, r in links.iterrows()}
    assert got == expected
    sinks = _layer(region.root, "sinks").set_index("sink_id")
    assert sinks["allocated_network_heat_mw"].to_dict() == {k: v[0] for k, v in expected.items()}
    # counted on the heat pump's output side; the waste heat used stays within 2.8 MW
    allocation = pd.read_parquet(region.root / "data" / "interim" / "tiny" / "allocation.parquet")
    used = allocation["allocated_source_heat_mw"].sum()
    assert used == pytest.approx(sum(v[0] for v in expected.values()) / lift, rel=1e-12)
    assert used <= 2.8
