"""The year of an allocation: links that share a sink meet its demand hour by hour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import CarbonConfig, PipesConfig
from pipeline.data import load_climate_series
from pipeline.engineering.carbon import co2_saving_t_per_yr
from pipeline.engineering.profile import (
    HOURS_PER_YEAR,
    YearShapes,
    annual_heat_balance_mwh,
    demand_shape,
    heating_degree_hours_k,
    merit_order_balance_mwh,
)
from pipeline.stages.allocate_heat import year_of_allocation

FLAT = np.full(HOURS_PER_YEAR, 1.0 / HOURS_PER_YEAR)
SHAPE = demand_shape(
    heating_degree_hours_k(load_climate_series("GB-london"), base_temp_c=15.5),
    hot_water_share=0.2,
)


@given(
    sizes_mw=st.lists(st.floats(0.0, 20.0), min_size=1, max_size=4),
    demand_mwh=st.floats(1.0, 200_000.0),
    loss_mw=st.floats(0.0, 0.5),
)
def test_links_sharing_a_sink_never_deliver_more_than_it_draws(
    sizes_mw: list[float], demand_mwh: float, loss_mw: float
) -> None:
    n = len(sizes_mw)
    sizes = np.asarray(sizes_mw)
    sent, delivered, lost = merit_order_balance_mwh(
        source_mwh=sizes * HOURS_PER_YEAR,
        source_shape=FLAT,
        capacity_mw=sizes,
        heat_loss_mw=np.full(n, loss_mw),
        demand_mwh=demand_mwh,
        demand_shape=SHAPE,
    )
    tol = 1e-6 * demand_mwh
    assert delivered.sum() <= demand_mwh + tol
    np.testing.assert_allclose(sent, delivered + lost, atol=tol)
    # together they deliver what one link of their combined size (and loss) would
    # deliver, at most
    alone = annual_heat_balance_mwh(
        source_mwh=sizes * HOURS_PER_YEAR,
        source_shape=FLAT,
        capacity_mw=sizes,
        demand_mwh=demand_mwh,
        demand_shape=SHAPE,
        heat_loss_mw=loss_mw,
    )
    # each link delivers no more than it would alone; the first exactly that
    assert np.all(delivered <= np.asarray(alone.delivered_mwh) + tol)
    assert delivered[0] == pytest.approx(float(np.atleast_1d(alone.delivered_mwh)[0]), abs=tol)


def test_the_cheaper_link_comes_first_and_the_rest_is_left_to_the_other() -> None:
    # Two 5 MW links into a 40 GWh zone on the default profile, no loss: together they
    # cover what a single 10 MW source would; the cheaper one what 5 MW alone covers.
    links = pd.DataFrame(
        {
            "link_id": ["DEAR", "CHEAP", "UNUSED"],
            "sink_id": ["Z", "Z", "Z"],
            "cop": [3.0, 3.0, 3.0],
            "heat_loss_w_per_m": [0.0, 0.0, 0.0],
            "route_length_m": [100.0, 100.0, 100.0],
            "heat_sent_mwh": [43_800.0, 43_800.0, 43_800.0],
            "pump_electricity_mwh": [43.8, 43.8, 43.8],
            "lcoh_transmission_eur_per_mwh": [60.0, 40.0, 10.0],
        }
    )
    allocation = pd.DataFrame(
        {"link_id": ["DEAR", "CHEAP", "UNUSED"], "allocated_network_heat_mw": [5.0, 5.0, 0.0]}
    )
    year = YearShapes(demand=SHAPE, source=FLAT, summer=FLAT > 0, described="test")
    carbon = CarbonConfig()
    got = year_of_allocation(
        links, allocation, {"Z": 40_000.0}, year, pipes=PipesConfig(), carbon=carbon
    ).set_index("link_id")
    five = np.minimum(40_000.0 * SHAPE, 5.0).sum()
    ten = np.minimum(40_000.0 * SHAPE, 10.0).sum()
    assert got.loc["CHEAP", "allocated_delivered_heat_mwh"] == pytest.approx(five)
    assert got.loc["DEAR", "allocated_delivered_heat_mwh"] == pytest.approx(ten - five)
    assert got.loc["UNUSED", "allocated_delivered_heat_mwh"] == 0.0
    assert got.loc["UNUSED", "allocated_co2_saved_t_per_yr"] == 0.0
    # CO2: the heat delivered (no loss, so sent = delivered) less its heat-pump
    # electricity (sent/COP) and its share of the pumping (43.8 MWh per 43,800 sent)
    expected = co2_saving_t_per_yr(
        delivered_heat_mwh=five,
        electricity_mwh=five / 3.0 + 43.8 * five / 43_800.0,
        gas_factor_kg_per_kwh=carbon.gas_factor_kg_per_kwh,
        boiler_efficiency=carbon.boiler_efficiency,
        grid_factor_kg_per_kwh=carbon.grid_factor_kg_per_kwh,
    )
    assert got.loc["CHEAP", "allocated_co2_saved_t_per_yr"] == pytest.approx(float(expected))
    # the output keeps the allocation's order
    assert list(got.index) == ["DEAR", "CHEAP", "UNUSED"]


def test_an_unlimited_network_takes_every_allocated_megawatt() -> None:
    links = pd.DataFrame(
        {
            "link_id": ["L1", "L2"],
            "sink_id": ["N", "N"],
            "cop": [np.nan, np.nan],
            "heat_loss_w_per_m": [10.0, 10.0],
            "route_length_m": [1000.0, 1000.0],
            "heat_sent_mwh": [8760.0, 17_520.0],
            "pump_electricity_mwh": [0.0, 0.0],
            "lcoh_transmission_eur_per_mwh": [30.0, 40.0],
        }
    )
    allocation = pd.DataFrame({"link_id": ["L1", "L2"], "allocated_network_heat_mw": [1.0, 2.0]})
    got = year_of_allocation(
        links,
        allocation,
        {"N": None},
        YearShapes.flat(),
        pipes=PipesConfig(),
        carbon=CarbonConfig(),
    )
    # 10 W/m over 1 km is 10 kW, 87.6 MWh a year, lost on each link
    assert got["allocated_delivered_heat_mwh"].tolist() == pytest.approx(
        [8760.0 - 87.6, 17_520.0 - 87.6]
    )


def test_a_recommended_link_whose_sink_is_already_full_only_keeps_its_pipe_warm() -> None:
    # A 1,000 MWh/yr flat zone (0.114 MW) that the cheaper 5 MW link fills alone; the other
    # link sends only its pipe loss, 10 W/m over 1 km = 10 kW, 87.6 MWh a year, all lost,
    # with 87.6/3 = 29.2 MWh of heat-pump electricity: a net CO2 cost.
    links = pd.DataFrame(
        {
            "link_id": ["FIRST", "SECOND"],
            "sink_id": ["Z", "Z"],
            "cop": [3.0, 3.0],
            "heat_loss_w_per_m": [0.0, 10.0],
            "route_length_m": [1000.0, 1000.0],
            "heat_sent_mwh": [1000.0, 1000.0],
            "pump_electricity_mwh": [0.0, 0.0],
            "lcoh_transmission_eur_per_mwh": [40.0, 50.0],
        }
    )
    allocation = pd.DataFrame(
        {"link_id": ["FIRST", "SECOND"], "allocated_network_heat_mw": [5.0, 5.0]}
    )
    carbon = CarbonConfig()
    got = year_of_allocation(
        links, allocation, {"Z": 1000.0}, YearShapes.flat(), pipes=PipesConfig(), carbon=carbon
    ).set_index("link_id")
    assert got.loc["FIRST", "allocated_delivered_heat_mwh"] == pytest.approx(1000.0)
    assert got.loc["SECOND", "allocated_delivered_heat_mwh"] == pytest.approx(0.0, abs=1e-9)
    expected = -87.6 / 3.0 * carbon.grid_factor_kg_per_kwh
    assert got.loc["SECOND", "allocated_co2_saved_t_per_yr"] == pytest.approx(expected)
