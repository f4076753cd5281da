"""Unit tests of the link model: heat pump, carbon, cost, viability and assess_links.

Known answers are worked by hand (the arithmetic is in the comments), the engineering
reference's checks are tests, and invariants of the physics are checked with Hypothesis.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from pipeline.config import (
    CarbonConfig,
    CostConfig,
    ExistingNetworksConfig,
    HeatPumpConfig,
    NetworkConfig,
    PipesConfig,
    ViabilityConfig,
)
from pipeline.data import load_pipe_catalogue, load_twin_casings
from pipeline.engineering.carbon import (
    co2_saving_t_per_yr,
    displaced_boiler_co2_t_per_yr,
    lifetime_total,
)
from pipeline.engineering.cost import (
    capital_recovery_factor,
    levelised_cost_of_heat_per_mwh,
    persson_werner_pipe_cost_eur_per_m,
)
from pipeline.engineering.heat_pump import (
    CONDENSER_APPROACH_K,
    EVAPORATOR_APPROACH_K,
    LORENZ_EFFICIENCY_DEA,
    MAX_COP,
    carnot_cop,
    heat_pump_cop,
    heat_pump_output_mw,
    heat_pump_split_mwh,
    log_mean_temperature_k,
)
from pipeline.engineering.profile import YearShapes
from pipeline.engineering.source import link_heat_balance_mwh
from pipeline.engineering.viability import (
    REASON_CODES,
    ViabilityLimits,
    failed_rules,
    join_reasons,
    linear_heat_density_mwh_per_m,
)
from pipeline.engineering.water import water_density_kg_per_m3, water_specific_heat_j_per_kgk
from pipeline.errors import InputError
from pipeline.stages.assess_links import AssessmentConfig, assess_links, cost_field_names
from pipeline.stages.export_geopackage import LAYERS, layer_fields

DESNZ_2024 = {
    "gas_factor_kg_per_kwh": 0.1829,
    "boiler_efficiency": 0.88,
    "grid_factor_kg_per_kwh": 0.20705,
}
APPROACHES = {
    "evaporator_approach_k": EVAPORATOR_APPROACH_K,
    "condenser_approach_k": CONDENSER_APPROACH_K,
}

# ------------------------------------------------------------------------ heat pump


def test_log_mean_temperature_hand_values():
    # (343.15 - 308.15)/ln(343.15/308.15) = 35/0.107577 = 325.35 K; (298.15 - 288.15)/
    # ln(298.15/288.15) = 10/0.034115 = 293.13 K
    assert log_mean_temperature_k(35.0, 70.0) == pytest.approx(325.34, abs=0.01)
    assert log_mean_temperature_k(25.0, 15.0) == pytest.approx(293.13, abs=0.01)
    assert log_mean_temperature_k(40.0, 40.0) == pytest.approx(313.15)


def test_heat_pump_config_defaults_are_the_calibrated_values():
    # The config carries the module's calibration (tests/unit/test_heat_pump.py checks the
    # calibration itself): Lorenz η_L 0.65 with 5 K approaches on the DEA point, Carnot
    # η_C 0.55 on the refrigerant temperatures.
    cfg = HeatPumpConfig()
    assert cfg.lorenz_efficiency == LORENZ_EFFICIENCY_DEA == 0.65
    assert cfg.carnot_efficiency == 0.55
    assert cfg.evaporator_approach_k == EVAPORATOR_APPROACH_K == 5.0
    assert cfg.condenser_approach_k == CONDENSER_APPROACH_K == 5.0


# Carnot η_C 0.55 with 5 K approaches, 35 °C source cooled 10 K, so the refrigerant
# evaporates at 35 - 10 - 5 = 20 °C (293.15 K) and condenses at supply + 5 K:
# COP = 0.55·(supply + 5 + 273.15)/(supply + 5 - 20).
CARNOT_055_35C = [
    (75.0, 3.23721),  # 0.55·353.15/60 = 194.2325/60
    (78.0, 3.10925),  # 0.55·356.15/63 = 195.8825/63
    (80.0, 3.03050),  # 0.55·358.15/65 = 196.9825/65
    (82.0, 2.95646),  # 0.55·360.15/67 = 198.0825/67
    (85.0, 2.85332),  # 0.55·363.15/70 = 199.7325/70
]


@pytest.mark.parametrize(("supply_c", "expected"), CARNOT_055_35C)
def test_carnot_055_against_the_published_band_for_a_35c_source(supply_c, expected):
    # Published projects give COP 3.0-4.5 for a 35 °C source lifted to 75-85 °C. Without
    # approaches Carnot 0.55 was inside that band over the whole range (3.83 at 75 °C to
    # 3.28 at 85 °C). The 5 K approaches, which match a published 45 °C → 80 °C data-centre
    # heat pump (COP 3.5) within 3 % (test_heat_pump.py), lower it by 13-16 %: still inside
    # the band up to 80 °C, but 1.5 % and 4.9 % below its 3.0 floor at 82 and 85 °C. That
    # is an accepted, documented consequence (issue 10), so above 80 °C the check is only
    # that the COP stays within 5 % below the floor.
    cop = heat_pump_cop(
        source_temp_c=35.0,
        supply_temp_c=supply_c,
        return_temp_c=supply_c - 30.0,
        source_cooling_k=10.0,
        model="carnot",
        efficiency=0.55,
        **APPROACHES,
    )
    assert cop == pytest.approx(expected, abs=5e-5)
    if supply_c <= 80.0:
        assert 3.0 <= cop <= 4.5
    else:
        assert 0.95 * 3.0 <= cop < 3.0


def test_carnot_050_and_lorenz_for_a_35c_source_hand_values():
    # 35 °C source cooled 10 K, 5 K approaches.
    def cop(model, eta, supply, ret):
        return float(
            heat_pump_cop(
                source_temp_c=35.0,
                supply_temp_c=supply,
                return_temp_c=ret,
                source_cooling_k=10.0,
                model=model,
                efficiency=eta,
                **APPROACHES,
            )
        )

    # Carnot 0.5: 0.5·358.15/65 = 2.7550; 0.5·363.15/70 = 2.5939 (was 3.21 and 2.98 on
    # the water outlets).
    assert cop("carnot", 0.5, 80.0, 50.0) == pytest.approx(2.7550, abs=5e-5)
    assert cop("carnot", 0.5, 85.0, 55.0) == pytest.approx(2.5939, abs=5e-5)
    # Lorenz 0.65 (DEA-calibrated with the approaches). Source: T̄_L = 10/ln(308.15/298.15)
    # = 10/0.032990 = 303.12 K, less 5 K = 298.12 K. 80/50 °C network: T̄_H =
    # 30/ln(353.15/323.15) = 30/0.088777 = 337.93 K, plus 5 K = 342.93 K, so
    # COP = 0.65·342.93/(342.93 - 298.12) = 222.90/44.81 = 4.975. 85/55 °C: T̄_H =
    # 30/ln(358.15/328.15) = 30/0.087482 = 342.93 K, plus 5 K = 347.93 K, so
    # COP = 0.65·347.93/49.81 = 4.540. Still above the 3.0-4.5 band at 80 °C, as before
    # (4.85 at η_L 0.50 without approaches): Lorenz suits multistage machines.
    assert cop("lorenz", 0.65, 80.0, 50.0) == pytest.approx(4.975, abs=5e-4)
    assert cop("lorenz", 0.65, 85.0, 55.0) == pytest.approx(4.540, abs=5e-4)


def test_no_heat_pump_when_the_source_is_hot_enough_and_cap():
    cop = heat_pump_cop(
        source_temp_c=[80.0, 100.0, 79.0, 75.0],
        supply_temp_c=80.0,
        return_temp_c=50.0,
        source_cooling_k=10.0,
        model="lorenz",
        efficiency=LORENZ_EFFICIENCY_DEA,
        **APPROACHES,
    )
    assert np.isnan(cop[0]) and np.isnan(cop[1])
    # 79 °C and 75 °C sources: T̄_H = 337.93 + 5 = 342.93 K against T̄_L = 347.13 - 5 =
    # 342.13 K and 343.13 - 5 = 338.13 K, lifts of 0.80 and 4.80 K, so Lorenz gives
    # 0.65·342.93/0.80 = 278 and 0.65·342.93/4.80 = 46: the cap of 10 applies
    # (docs/methodology.md).
    assert cop[2] == cop[3] == 10.0
    assert MAX_COP == 10.0
    assert heat_pump_output_mw(2.0, cop[0]) == 2.0


def test_heat_pump_rejects_impossible_lifts_and_bad_options():
    lift = {
        "source_temp_c": 30.0,
        "supply_temp_c": 80.0,
        "return_temp_c": 50.0,
        "source_cooling_k": 10.0,
        "model": "carnot",
        "efficiency": 0.5,
        **APPROACHES,
    }
    # 5 °C to 140 °C at η 0.3: the refrigerant evaporates at 5 - 10 - 5 = -10 °C and
    # condenses at 145 °C, 0.3·418.15/(418.15 - 263.15) = 0.81
    impossible = {"source_temp_c": 5.0, "supply_temp_c": 140.0, "efficiency": 0.3}
    with pytest.raises(ValueError, match="COP of 1 or less"):
        heat_pump_cop(**(lift | impossible))
    with pytest.raises(ValueError, match="unknown heat-pump model"):
        heat_pump_cop(**(lift | {"model": "stirling"}))
    with pytest.raises(ValueError, match="source_cooling_k"):
        heat_pump_cop(**(lift | {"source_cooling_k": 0.0}))


def test_heat_pump_energy_hand_values():
    # 3 MW of source heat at COP 3: output 3·3/2 = 4.5 MW, electricity 1.5 MW.
    assert heat_pump_output_mw(3.0, 3.0) == pytest.approx(4.5)
    src, elec = heat_pump_split_mwh(4.5 * 8760, 3.0)
    assert elec == pytest.approx(1.5 * 8760)
    assert src == pytest.approx(3.0 * 8760)


@given(st.floats(0.0, 100.0), st.floats(1.01, 12.0))
def test_heat_pump_balance_closes(source_mw, cop):
    # Q_out = Q_src + W, W = Q_out/COP, and splitting the output recovers the source heat.
    output = heat_pump_output_mw(source_mw, cop)
    src, elec = heat_pump_split_mwh(output, cop)
    assert output == pytest.approx(src + elec, rel=1e-12, abs=1e-12)
    assert elec == pytest.approx(output / cop, rel=1e-12, abs=1e-12)
    assert src == pytest.approx(source_mw, rel=1e-9, abs=1e-9)


def test_carnot_hand_value():
    # 0.5·353.15/(353.15 - 298.15) = 3.2105
    assert carnot_cop(source_out_c=25.0, sink_out_c=80.0, efficiency=0.5) == pytest.approx(
        3.2105, abs=1e-4
    )


# --------------------------------------------------------------------------- carbon


def test_carbon_check_of_the_engineering_reference():
    # 1 MW delivered for 8,000 h a year with COP 3 at 2024 factors:
    # displaced 8000·0.1829/0.88 = 1662.73 t; electricity 8000/3 = 2666.67 MWh ·
    # 0.20705 = 552.13 t; net 1110.60 t a year, within 1.0-1.4 kt. Ceiling 1.66 kt (~1.7).
    saving = co2_saving_t_per_yr(
        delivered_heat_mwh=8000.0, electricity_mwh=8000.0 / 3, **DESNZ_2024
    )
    assert saving == pytest.approx(1110.60, abs=0.01)
    assert 1000.0 <= saving <= 1400.0
    ceiling = displaced_boiler_co2_t_per_yr(
        8000.0, gas_factor_kg_per_kwh=0.1829, boiler_efficiency=0.88
    )
    assert ceiling == pytest.approx(1662.73, abs=0.01)
    assert ceiling < 1700.0
    # 2025 grid factor: 1662.73 - 2666.67·0.177 = 1190.73 t
    assert co2_saving_t_per_yr(
        delivered_heat_mwh=8000.0,
        electricity_mwh=8000.0 / 3,
        **(DESNZ_2024 | {"grid_factor_kg_per_kwh": 0.177}),
    ) == pytest.approx(1190.73, abs=0.01)
    # The config carries these factors.
    cfg = CarbonConfig()
    assert cfg.grid_factors_kg_per_kwh == {2024: 0.20705, 2025: 0.177}
    assert (cfg.gas_factor_kg_per_kwh, cfg.boiler_efficiency) == (0.1829, 0.88)


def test_the_seed_articles_figure_is_twenty_years_not_one():
    # "33,100 t CO2 a year for a 1 MW heat pump" is about 20 years of gross avoided
    # boiler emissions (20·1662.7 = 33,255 t), 20 times the annual ceiling.
    ceiling = displaced_boiler_co2_t_per_yr(
        8000.0, gas_factor_kg_per_kwh=0.1829, boiler_efficiency=0.88
    )
    assert lifetime_total(ceiling, 20) == pytest.approx(33_100, rel=0.01)


@given(
    st.floats(0.0, 1e6),
    st.floats(0.0, 1e6),
    st.floats(0.05, 0.5),
    st.floats(0.5, 1.0),
    st.integers(1, 60),
)
def test_net_saving_below_ceiling_and_lifetime_exact(delivered, electricity, grid, eff, years):
    factors = {"gas_factor_kg_per_kwh": 0.1829, "boiler_efficiency": eff}
    saving = co2_saving_t_per_yr(
        delivered_heat_mwh=delivered,
        electricity_mwh=electricity,
        grid_factor_kg_per_kwh=grid,
        **factors,
    )
    assert saving <= displaced_boiler_co2_t_per_yr(delivered, **factors)
    assert lifetime_total(saving, years) == saving * years


# ----------------------------------------------------------------------------- cost


def test_cost_hand_values():
    # CRF at 4 % over 30 years: 0.04·1.04³⁰/(1.04³⁰ - 1) = 0.04·3.24340/2.24340 = 0.057830
    assert capital_recovery_factor(0.04, 30) == pytest.approx(0.057830, abs=1e-6)
    # at 4 % over 25 years: 0.04·2.66584/1.66584 = 0.064012
    assert capital_recovery_factor(0.04, 25) == pytest.approx(0.064012, abs=1e-6)
    assert capital_recovery_factor(0.0, 20) == 0.05
    # Persson & Werner, DN100 (d_i 0.1071 m): inner city 286 + 2022·0.1071 = 502.56,
    # park 151 + 1378·0.1071 = 298.58 EUR/m (2007)
    assert persson_werner_pipe_cost_eur_per_m(0.1071, area_type="inner_city") == pytest.approx(
        502.56, abs=0.01
    )
    assert persson_werner_pipe_cost_eur_per_m(0.1071, area_type="park") == pytest.approx(
        298.58, abs=0.01
    )
    with pytest.raises(ValueError, match="area type"):
        persson_werner_pipe_cost_eur_per_m(0.1, area_type="suburb")
    # LCOH: (1.0e6 + 5.0e4 + 4.0e5)/20,000 = 72.5 per MWh; nothing delivered: empty
    lcoh = levelised_cost_of_heat_per_mwh(
        annualised_capex_per_yr=1.0e6,
        om_cost_per_yr=5.0e4,
        electricity_cost_per_yr=4.0e5,
        delivered_heat_mwh=[20_000.0, 0.0],
    )
    assert lcoh[0] == pytest.approx(72.5)
    assert np.isnan(lcoh[1])


money = st.floats(1.0, 1e8)


@given(money, st.floats(0.0, 1e6), st.floats(0.0, 1e7), st.floats(1.0, 1e6), st.floats(1.0, 10))
def test_lcoh_positive_and_falls_with_more_delivered_heat(capex, om, elec, delivered, more):
    costs = {
        "annualised_capex_per_yr": capex,
        "om_cost_per_yr": om,
        "electricity_cost_per_yr": elec,
    }
    lcoh = levelised_cost_of_heat_per_mwh(**costs, delivered_heat_mwh=delivered)
    assert lcoh > 0
    assert levelised_cost_of_heat_per_mwh(**costs, delivered_heat_mwh=delivered * (1 + more)) < lcoh


# ------------------------------------------------------------------------ viability


def test_reasons_are_listed_in_a_fixed_order():
    fails = failed_rules(
        spur_m=[10.0, 300.0, 10.0, 10.0],
        has_pipe=[True, True, False, True],
        heat_loss_pct=[4.0, 12.0, np.nan, 100.0],
        linear_heat_density_mwh_per_m=[2.0, 0.1, np.nan, 0.0],
        delivered_heat_mwh=[5000.0, 100.0, np.nan, 0.0],
        limits=ViabilityLimits(
            max_spur_m=250.0,
            max_heat_loss_pct=10.0,
            min_linear_heat_density_mwh_per_m=0.5,
            min_delivered_heat_mwh=500.0,
        ),
    )
    assert list(fails) == list(REASON_CODES)
    assert join_reasons(fails).tolist() == [
        None,
        "spur_too_long;heat_loss_too_high;linear_density_too_low;too_small",
        "no_pipe_large_enough",
        "heat_loss_too_high;linear_density_too_low;too_small",
    ]
    # Without max_spur_m the spur rule is not checked.
    fails = failed_rules(
        spur_m=[1e6],
        has_pipe=[True],
        heat_loss_pct=[1.0],
        linear_heat_density_mwh_per_m=[1.0],
        delivered_heat_mwh=[1e4],
        limits=ViabilityLimits(
            max_spur_m=None,
            max_heat_loss_pct=10.0,
            min_linear_heat_density_mwh_per_m=0.5,
            min_delivered_heat_mwh=500.0,
        ),
    )
    assert join_reasons(fails).tolist() == [None]


def test_linear_heat_density_hand_values():
    # 13,724.5 MWh over 516.8 m: 26.56 MWh/m a year
    assert linear_heat_density_mwh_per_m(13_724.5, 516.8) == pytest.approx(26.557, abs=1e-3)
    assert np.isinf(linear_heat_density_mwh_per_m(1.0, 0.0))


# ------------------------------------------------------------------- assess_links core

X0, Y0 = 530_000.0, 180_000.0


def _links(*rows: dict) -> gpd.GeoDataFrame:
    """Routed candidates: (site, zone, length) with straight-line geometry."""
    base = {
        "reason": None,
        "network_length_m": np.nan,
        "site_spur_m": 10.0,
        "zone_spur_m": 0.0,
        "straight_distance_m": np.nan,
        "detour_ratio": np.nan,
    }
    records = [
        base | {"link_id": f"L{i:05d}"} | row | {"network_length_m": row["route_length_m"]}
        for i, row in enumerate(rows, start=1)
    ]
    geoms = [LineString([(X0, Y0), (X0 + r["route_length_m"], Y0)]) for r in records]
    return gpd.GeoDataFrame(records, geometry=geoms, crs=27700)


SOURCES = pd.DataFrame(
    {
        "site_id": ["AIR", "HOT", "TINY"],
        "heat_available_mw": [3.0, 2.0, 0.02],
        "source_temp_c": [35.0, 85.0, 35.0],
    }
)
ZONES = pd.DataFrame(
    {
        "zone_id": ["BIG", "SMALL", "HUGE"],
        "annual_demand_mwh": [40_000.0, 300.0, 400_000.0],
        "peak_demand_mw": [20.0, 0.15, 200.0],
    }
)
SECTIONS = {
    "network": NetworkConfig(),
    "pipes": PipesConfig(),
    "heat_pump": HeatPumpConfig(model="carnot", carnot_efficiency=0.55),
    "carbon": CarbonConfig(grid_factor_year=2024),
    "cost": CostConfig(),
    "viability": ViabilityConfig(),
}


def _assess(routes: gpd.GeoDataFrame, sources=SOURCES, **sections) -> gpd.GeoDataFrame:
    return assess_links(
        routes,
        sources,
        ZONES,
        load_pipe_catalogue(),
        load_twin_casings(),
        AssessmentConfig(**(SECTIONS | sections)),
    ).set_index("link_id")


def test_assess_links_energy_carbon_and_cost_hand_values():
    links = _assess(_links({"site_id": "AIR", "zone_id": "BIG", "route_length_m": 1000.0}))
    link = links.loc["L00001"]
    # Carnot 0.55 with 5 K approaches, 35 °C source cooled to 25 °C, 80/50 °C network: the
    # refrigerant evaporates at 20 °C and condenses at 85 °C, COP = 0.55·358.15/65 =
    # 3.03050; output 3·3.0305/2.0305 = 9.0915/2.0305 = 4.47747 MW < peak 20 MW, so
    # design = heat-pump size = 4.47747 MW.
    cop, design = 3.0305, 4.47747
    assert link["cop"] == pytest.approx(cop, abs=1e-5)
    assert link["design_network_heat_mw"] == pytest.approx(design, abs=1e-5)
    assert link["heat_pump_mw"] == link["design_network_heat_mw"]
    # 4.48 MW needs DN200 in series 2 (DN150 carries 4.06 MW at 150 Pa/m). The single
    # pair's EN 13941 coefficients are U_1 = 0.34006, U_2 = 0.01577 W/mK, so supply and
    # return lose (U_1 - U_2)·(80 + 50 - 2·10) = 0.32429·110 = 35.67 W/m together
    # (supply 0.34006·70 - 0.01577·40 = 23.17, return 0.34006·40 - 0.01577·70 = 12.50):
    # 35.67·1000·8760/1e6 = 312.48 MWh a year.
    assert link["dn"] == 200 and not link["twin"]
    assert link["heat_loss_w_per_m"] == pytest.approx(35.67, abs=0.005)
    assert link["supply_heat_loss_w_per_m"] == pytest.approx(23.17, abs=0.005)
    assert link["return_heat_loss_w_per_m"] == pytest.approx(12.50, abs=0.005)
    assert link["annual_heat_loss_mwh"] == pytest.approx(312.48, abs=0.01)
    assert link["annual_heat_loss_mwh"] == pytest.approx(
        link["heat_loss_w_per_m"] * 1000 * 8760 / 1e6
    )
    # A flat year (year=None): each hour the source end has 4.47747 MW, the zone draws
    # 40,000/8760 = 4.5662 MW and the pipe loses 0.03567 MW, so every hour is
    # source-limited, as the year is (36,662 < 40,000 + 312.5 MWh): sent =
    # 4.47747·8760 = 39,222.6 MWh, delivered 39,222.6 - 312.5 = 38,910.1 MWh, 97.28 % of
    # the demand, the whole source output sent, and the summer flow is the design flow.
    sent = design * 8760  # 39,222.6
    assert link["heat_sent_mwh"] == pytest.approx(sent, rel=1e-5)
    assert link["delivered_heat_mwh"] == pytest.approx(38_910.1, abs=0.1)
    assert link["heat_sent_mwh"] == pytest.approx(
        link["delivered_heat_mwh"] + link["annual_heat_loss_mwh"], rel=1e-12
    )
    assert link["coverage_pct"] == pytest.approx(100 * 38_910.1 / 40_000, abs=1e-3)
    assert link["source_utilisation_pct"] == pytest.approx(100.0)
    assert link["summer_flow_pct"] == pytest.approx(100.0)
    # Heat pump split: source heat 3·8760 = 26,280 MWh, electricity 39,222.6/3.0305 =
    # 1.47747·8760 = 12,942.6 MWh.
    assert link["heat_sent_mwh"] == pytest.approx(
        link["source_heat_mwh"] + link["hp_electricity_mwh"], rel=1e-12
    )
    assert link["source_heat_mwh"] == pytest.approx(3.0 * 8760, rel=1e-9)
    assert link["hp_electricity_mwh"] == pytest.approx(12_942.6, abs=0.1)
    # Pumping. Design flow ṁ = 4.47747e6/(c_p·30) at the 65 °C mean (c_p ≈ 4187 J/(kg·K),
    # ρ ≈ 980.5 kg/m³) = 35.64 kg/s, V̇ = 0.03635 m³/s, v = V̇/(π/4·0.2101²) = 1.049 m/s.
    # Friction (Swamee-Jain, Re = 1.049·0.2101/0.442e-6 = 4.98e5, ε/d = 4.76e-4):
    # f = 0.25/log10(1.287e-4 + 5.74/Re^0.9)² = 0.01763, Δp/L = f·ρ·v²/(2d) = 45.2 Pa/m.
    # Δp = 45.2·2·1000 + 100,000 (stations) = 190.4 kPa; P = 190.4e3·0.03635/0.7 =
    # 9.89 kW for sent/design = 8760 full-load hours: 86.6 MWh, 0.7 % of the heat pump's
    # electricity (friction alone 41 MWh, the stations 45 MWh).
    assert link["pressure_gradient_pa_per_m"] == pytest.approx(45.2, rel=2e-3)
    mass_flow = design * 1e6 / (float(water_specific_heat_j_per_kgk(65.0)) * 30.0)
    volume_flow = mass_flow / float(water_density_kg_per_m3(65.0))
    assert mass_flow == pytest.approx(35.64, abs=0.01)
    pump = (link["pressure_gradient_pa_per_m"] * 2000 + 100e3) * volume_flow / 0.7 * 8760 / 1e6
    assert link["pump_electricity_mwh"] == pytest.approx(pump, rel=1e-5)
    assert link["pump_electricity_mwh"] == pytest.approx(86.6, abs=0.1)
    assert 0 < link["pump_electricity_mwh"] < 0.01 * link["hp_electricity_mwh"]
    assert link["linear_heat_density_mwh_per_m"] == pytest.approx(link["delivered_heat_mwh"] / 1000)
    # Carbon at 2024 factors: 38,910.1·0.1829/0.88 - (12,942.6 + 86.6)·0.20705 = 8,087.3 -
    # 2,697.7 = 5,389.6 t a year; lifetime = annual · 30 years exactly.
    electricity = link["hp_electricity_mwh"] + link["pump_electricity_mwh"]
    expected = link["delivered_heat_mwh"] * 0.1829 / 0.88 - electricity * 0.20705
    assert link["co2_saved_t_per_yr"] == pytest.approx(expected, rel=1e-12)
    assert link["co2_saved_t_per_yr"] == pytest.approx(5_389.6, abs=0.5)
    assert link["co2_saved_t_lifetime"] == link["co2_saved_t_per_yr"] * 30
    # Cost in 2020 EUR. DEA prices are 2015 EUR, inflated by the euro-area HICP
    # 105.06/100 = 1.0506; the catalogue is taken as 2020 EUR (factor 1).
    dea = 1.0506
    # Pipe: DN200 catalogue 1355.3 EUR/m · 1000 m = 1,355,300.
    assert link["pipe_capex_eur"] == pytest.approx(1_355_300.0)
    # Heat pump: DEA size curve between 3 and 10 MW, 860,000 - 190,000·ln(4.47747/3)/
    # ln(10/3) = 860,000 - 190,000·0.400446/1.203973 = 860,000 - 63,194.7 = 796,805.3 EUR/MW
    # (2015); 4.47747·796,805.3 = 3,567,671 · 1.0506 = 3,748,195 EUR.
    assert link["heat_pump_capex_eur"] == pytest.approx(3_748_195.0, rel=1e-6)
    # Stations: 4.47747 MW · (100,000 + 90,000) = 850,719 · 1.0506 = 893,765 EUR.
    assert link["station_capex_eur"] == pytest.approx(893_765.4, rel=1e-6)
    assert link["capex_eur"] == pytest.approx(1_355_300.0 + 3_748_195.0 + 893_765.4, rel=1e-6)
    # O&M: pipe 1 % of 1,355,300 = 13,553; heat pump fixed 2,000·4.47747·1.0506 = 9,408.1;
    # variable 1.79·39,222.6·1.0506 = 73,761.0; total 96,722.1 EUR a year.
    assert link["om_cost_eur_per_yr"] == pytest.approx(96_722.1, abs=0.1)
    assert link["om_cost_eur_per_yr"] == pytest.approx(
        0.01 * 1_355_300 + 2000 * link["heat_pump_mw"] * dea + 1.79 * link["heat_sent_mwh"] * dea
    )
    # Electricity at 150 EUR/MWh (2020): 150·13,029.3 = 1,954,390 EUR a year.
    assert link["electricity_cost_eur_per_yr"] == pytest.approx(150 * electricity)
    assert link["electricity_cost_eur_per_yr"] == pytest.approx(1_954_390.0, abs=5.0)
    # LCOH: pipe over 30 years (CRF 0.057830), heat pump and stations over 25 (0.064012):
    # 78,377.6 + 239,929.5 + 57,211.7 = 375,518.8 EUR a year; (375,518.8 + 96,722.1 +
    # 1,954,390.0)/38,910.1 = 62.37 EUR/MWh.
    annual = (
        1_355_300 * capital_recovery_factor(0.04, 30)
        + (link["heat_pump_capex_eur"] + link["station_capex_eur"])
        * capital_recovery_factor(0.04, 25)
        + link["om_cost_eur_per_yr"]
        + link["electricity_cost_eur_per_yr"]
    )
    assert link["lcoh_transmission_eur_per_mwh"] == pytest.approx(
        annual / link["delivered_heat_mwh"]
    )
    assert link["lcoh_transmission_eur_per_mwh"] == pytest.approx(62.37, abs=0.01)
    assert pd.isna(link["reason"])
    # An explicitly flat year gives the same link.
    flat = assess_links(
        _links({"site_id": "AIR", "zone_id": "BIG", "route_length_m": 1000.0}),
        SOURCES,
        ZONES,
        load_pipe_catalogue(),
        load_twin_casings(),
        AssessmentConfig(**SECTIONS),
        YearShapes.flat(),
    ).set_index("link_id")
    pd.testing.assert_frame_equal(flat, links)


def test_assess_links_without_heat_pump_and_with_civils_factor():
    routes = _links({"site_id": "HOT", "zone_id": "BIG", "route_length_m": 500.0})
    plain = _assess(routes).loc["L00001"]
    dear = _assess(routes.assign(civils_factor=[1.4])).loc["L00001"]
    # 85 °C source, 80 °C supply: no heat pump; the pipe carries the source's 2 MW.
    assert np.isnan(plain["cop"]) and plain["heat_pump_mw"] == 0
    assert plain["hp_electricity_mwh"] == 0 and plain["heat_pump_capex_eur"] == 0
    assert plain["design_network_heat_mw"] == 2.0
    assert plain["source_heat_mwh"] == plain["heat_sent_mwh"]
    # The stations are still bought: 2 MW · (100,000 + 90,000) EUR/MW (2015) · 1.0506 =
    # 399,228 EUR. Without a heat pump there is no heat-pump O&M, fixed or variable, so
    # O&M is the pipe's 1 %.
    assert plain["station_capex_eur"] == pytest.approx(399_228.0)
    assert plain["om_cost_eur_per_yr"] == pytest.approx(0.01 * plain["pipe_capex_eur"])
    # The civils factor raises the pipe's cost only, not the stations'.
    assert dear["pipe_capex_eur"] == pytest.approx(1.4 * plain["pipe_capex_eur"])
    assert dear["station_capex_eur"] == plain["station_capex_eur"]
    assert dear["capex_eur"] == pytest.approx(plain["capex_eur"] + 0.4 * plain["pipe_capex_eur"])
    assert dear["lcoh_transmission_eur_per_mwh"] > plain["lcoh_transmission_eur_per_mwh"]


def test_assess_links_rejects_with_every_failed_reason():
    routes = _links(
        # 20 kW of 35 °C heat is 20·3.0305/2.0305 = 29.85 kW after the heat pump (261.5 MWh
        # a year); 1.9 km of DN25 loses 15.3 W/m · 1900 m · 8760 h = 254 MWh: 97 % of it.
        {"site_id": "TINY", "zone_id": "BIG", "route_length_m": 1900.0},
        # 300 MWh zone next door: too small, but otherwise fine.
        {"site_id": "AIR", "zone_id": "SMALL", "route_length_m": 20.0},
        # 3 MW source into a 200 MW zone: fine.
        {"site_id": "AIR", "zone_id": "HUGE", "route_length_m": 20.0},
    )
    links = _assess(routes)
    assert links.loc["L00001", "reason"] == "heat_loss_too_high;linear_density_too_low;too_small"
    assert links.loc["L00002", "reason"] == "too_small"
    assert pd.isna(links.loc["L00003", "reason"])
    # A spur limit adds spur_too_long first.
    strict = _assess(routes, viability=ViabilityConfig(max_spur_m=5.0))
    assert strict.loc["L00002", "reason"] == "spur_too_long;too_small"


def test_source_that_cannot_cover_the_loss_delivers_nothing():
    # 1 kW of 85 °C heat (no heat pump) over 1.5 km of DN20: the pipe loses about
    # 13 W/m · 1500 m = 19 kW, more than the source gives. In every hour of the (flat)
    # year the source end has 0.001 MWh: sent = min(0.001, demand + 0.019) = 0.001,
    # delivered = max(0.001 - 0.019, 0) = 0 and lost = min(0.019, 0.001) = 0.001, so a
    # year sends and loses 0.001·8760 = 8.76 MWh and delivers nothing.
    sources = pd.DataFrame(
        {"site_id": ["DRIP"], "heat_available_mw": [0.001], "source_temp_c": [85.0]}
    )
    link = _assess(
        _links({"site_id": "DRIP", "zone_id": "BIG", "route_length_m": 1500.0}), sources
    ).loc["L00001"]
    assert link["dn"] == 20 and np.isnan(link["cop"])
    assert link["heat_loss_w_per_m"] * 1500 > 10 * 1000  # over ten times the source's 1 kW
    assert link["heat_sent_mwh"] == pytest.approx(0.001 * 8760)  # never more than the source
    assert link["delivered_heat_mwh"] == 0
    assert link["annual_heat_loss_mwh"] == link["heat_sent_mwh"]
    assert link["heat_loss_pct"] == 100
    assert link["reason"].endswith("too_small")
    assert np.isnan(link["lcoh_transmission_eur_per_mwh"])
    # The stations are still costed: 0.001 MW · 190,000 EUR/MW (2015) · 1.0506 = 199.61 EUR.
    assert link["station_capex_eur"] == pytest.approx(199.614)


def test_twin_pipes_up_to_dn200_and_single_beyond():
    routes = _links(
        {"site_id": "AIR", "zone_id": "BIG", "route_length_m": 800.0},
        {"site_id": "AIR", "zone_id": "HUGE", "route_length_m": 800.0},
    )
    big = pd.DataFrame({"site_id": ["AIR"], "heat_available_mw": [12.0], "source_temp_c": [35.0]})
    single = _assess(routes.iloc[:1])
    twin = _assess(routes.iloc[:1], pipes=PipesConfig(kind="twin"))
    assert twin.loc["L00001", "twin"]
    assert twin.loc["L00001", "dn"] == single.loc["L00001", "dn"] == 200
    ratio = twin.loc["L00001", "heat_loss_w_per_m"] / single.loc["L00001", "heat_loss_w_per_m"]
    assert 0.45 < ratio < 0.75
    # 12 MW of 35 °C heat becomes 12·3.0305/2.0305 = 17.9 MW: beyond the twin range.
    fallback = _assess(routes.iloc[1:], big, pipes=PipesConfig(kind="twin")).loc["L00002"]
    assert fallback["dn"] > 200 and not fallback["twin"]
    with pytest.raises(InputError, match="pipes.series"):
        _assess(routes, pipes=PipesConfig(kind="twin", series=3))


def test_links_to_existing_networks_use_their_temperatures_and_demand():
    routes = _links(
        {"site_id": "AIR", "zone_id": None, "route_length_m": 300.0, "sink_kind": "network"},
        {"site_id": "AIR", "zone_id": "BIG", "route_length_m": 300.0, "sink_kind": "zone"},
    )
    nets = ExistingNetworksConfig(
        path="nets.gpkg", supply_temp_c=70.0, return_temp_c=40.0, annual_demand_mwh=10_000.0
    )
    links = _assess(routes, existing_networks=nets)
    net, zone = links.loc["L00001"], links.loc["L00002"]
    assert (net["supply_temp_c"], net["return_temp_c"]) == (70.0, 40.0)
    assert (zone["supply_temp_c"], zone["return_temp_c"]) == (80.0, 50.0)
    assert net["cop"] > zone["cop"]  # a lower supply temperature, a smaller lift
    # The network takes at most 10,000 MWh a year and has no peak limit.
    assert net["delivered_heat_mwh"] == pytest.approx(10_000.0)
    assert net["design_network_heat_mw"] == pytest.approx(heat_pump_output_mw(3.0, net["cop"]))
    # Unlimited demand when unset: it takes all the source gives, less the loss.
    unlimited = _assess(routes, existing_networks=None).loc["L00001"]
    assert unlimited["heat_sent_mwh"] == pytest.approx(unlimited["design_network_heat_mw"] * 8760)


def test_assess_links_keeps_unrouted_pairs_and_names_costs_by_currency():
    routes = pd.concat(
        [
            _links({"site_id": "AIR", "zone_id": "BIG", "route_length_m": 600.0}),
            _links({"site_id": "AIR", "zone_id": "SMALL", "route_length_m": 600.0}).assign(
                link_id="L00009", reason="unreachable", route_length_m=np.nan
            ),
        ],
        ignore_index=True,
    )
    gbp = CostConfig(currency="GBP", currency_per_eur=0.85)
    links = _assess(gpd.GeoDataFrame(routes, crs=27700), cost=gbp)
    eur = _assess(gpd.GeoDataFrame(routes, crs=27700))
    names = cost_field_names("GBP")
    assert set(names.values()) <= set(links.columns)
    assert not any(c.endswith("_eur") or "_eur_" in c for c in links.columns)
    assert links.loc["L00001", "pipe_capex_gbp"] == pytest.approx(
        0.85 * eur.loc["L00001", "pipe_capex_eur"]
    )
    assert links.loc["L00009", "reason"] == "unreachable"
    assert np.isnan(links.loc["L00009", "lcoh_transmission_gbp_per_mwh"])
    # The GeoPackage fields follow the currency, and LAYERS is the EUR contract.
    fields = layer_fields("GBP")["links"][1]
    assert (
        "lcoh_transmission_gbp_per_mwh" in fields and "lcoh_transmission_eur_per_mwh" not in fields
    )
    assert set(names.values()) <= set(fields)
    assert layer_fields("EUR") == LAYERS
    # every links field but those of routing, allocation and export comes from assess_links
    later = {
        "run_id",
        "sink_id",
        "sink_kind",
        "civils_factor",
        "allocated_network_heat_mw",
        "allocated_source_heat_mw",
        "allocated_delivered_heat_mwh",
        "allocated_co2_saved_t_per_yr",
        "recommended",
    }
    assert set(LAYERS["links"][1]) - later <= set(eur.reset_index().columns)


@settings(max_examples=40, deadline=None)
@given(
    st.floats(0.05, 30.0),  # source heat, MW
    st.floats(15.0, 60.0),  # source temperature
    st.floats(5.0, 2000.0),  # length
    st.sampled_from(["single", "twin"]),
    st.sampled_from(["lorenz", "carnot"]),
)
def test_assessed_balances_close(heat_mw, source_c, length, kind, cop_model):
    sources = pd.DataFrame(
        {"site_id": ["S"], "heat_available_mw": [heat_mw], "source_temp_c": [source_c]}
    )
    link = _assess(
        _links({"site_id": "S", "zone_id": "BIG", "route_length_m": length}),
        sources,
        pipes=PipesConfig(kind=kind),
        heat_pump=HeatPumpConfig(model=cop_model),
    ).loc["L00001"]
    if np.isnan(link["dn"]):
        assert link["reason"] == "no_pipe_large_enough"
        return
    sent = link["heat_sent_mwh"]
    # Q_out = delivered + loss, Q_out = Q_src + electricity, Q_src within the source.
    assert sent == pytest.approx(link["delivered_heat_mwh"] + link["annual_heat_loss_mwh"])
    assert sent == pytest.approx(link["source_heat_mwh"] + link["hp_electricity_mwh"])
    assert link["source_heat_mwh"] <= heat_mw * 8760 * (1 + 1e-9)
    assert link["delivered_heat_mwh"] <= ZONES.loc[0, "annual_demand_mwh"] * (1 + 1e-12)
    assert link["co2_saved_t_per_yr"] <= link["delivered_heat_mwh"] * 0.1829 / 0.88
    assert link["co2_saved_t_lifetime"] == link["co2_saved_t_per_yr"] * 30


def test_link_heat_balance_never_sends_more_than_the_source():
    sent, delivered, lost = link_heat_balance_mwh(
        source_heat_mwh=100.0, demand_mwh=1000.0, heat_loss_mwh=400.0
    )
    assert (sent, delivered, lost) == (100.0, 0.0, 100.0)
