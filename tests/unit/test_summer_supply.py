"""A link's supply-temperature drop at summer flow, and the flag when the sink gets too
little."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.config import NetworkConfig, PipesConfig
from pipeline.engineering.water import water_specific_heat_j_per_kgk
from pipeline.stages.assess_links import check_summer_supply


def test_low_summer_flow_on_a_long_low_temperature_link_is_flagged() -> None:
    # 60/30 C network, so a sink needs 55 C by default. Supply loss 20 W/m over 3 km, ground
    # 10 C: 0.4 W/(m K) per kelvin of the supply's 50 K excess. At 5 % of 10 kg/s the water
    # cools by 50 x (1 - exp(-0.4 x 3000 / (0.5 c_p))) = 21.8 K (c_p at 45 C, 4,180 J/kg K);
    # at the full 10 kg/s by 50 x (1 - exp(-0.0287)) = 1.4 K.
    links = pd.DataFrame(
        {
            "supply_temp_c": [60.0, 60.0, 60.0],
            "return_temp_c": [30.0, 30.0, 30.0],
            "mass_flow_kg_per_s": [10.0, 10.0, 10.0],
            "summer_flow_pct": [5.0, 100.0, np.nan],
            "supply_heat_loss_w_per_m": [20.0, 20.0, np.nan],
            "route_length_m": [3000.0, 3000.0, 3000.0],
            "dn": [100.0, 100.0, np.nan],
        }
    )
    network = NetworkConfig(preset="low_temperature")
    out = check_summer_supply(links, PipesConfig(), network)
    c_p = float(water_specific_heat_j_per_kgk(45.0))
    expected = [50.0 * (1 - np.exp(-0.4 * 3000 / (f * c_p))) for f in (0.5, 10.0)]
    assert out["supply_temp_drop_summer_k"].iloc[:2].tolist() == pytest.approx(expected)
    assert expected[0] == pytest.approx(21.8, abs=0.1)
    assert out["summer_too_cold"].tolist() == [True, False, False]
    assert np.isnan(out["supply_temp_drop_summer_k"].iloc[2])


def test_the_lowest_usable_supply_follows_the_network() -> None:
    assert NetworkConfig().min_delivered_c() == 70.0  # 80/50: a legacy network
    assert NetworkConfig(preset="low_temperature").min_delivered_c() == 55.0
    assert NetworkConfig(min_delivered_temp_c=65.0).min_delivered_c() == 65.0
    # never above the supply itself
    assert NetworkConfig().min_delivered_c(np.array([50.0, 90.0])).tolist() == [50.0, 70.0]
