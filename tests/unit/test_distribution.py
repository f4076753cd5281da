"""A zone's own distribution network, Persson & Werner as Hotmaps uses it (issue 11, item 6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.engineering.cost import PERSSON_WERNER_EUR2007_PER_M, capital_recovery_factor
from pipeline.engineering.distribution import (
    area_type_for_plot_ratio,
    average_pipe_diameter_m,
    distribution_capex_eur,
    distribution_cost_eur_per_mwh,
    effective_width_m,
    linear_heat_density_gj_per_m,
    plot_ratio,
)

Q_KWH_PER_M2 = 140.0
CRF = capital_recovery_factor(0.04, 30)
AREA_TYPES = st.sampled_from(sorted(PERSSON_WERNER_EUR2007_PER_M))
DEMANDS_MWH = st.floats(min_value=1.0, max_value=1.0e7, allow_nan=False)
AREAS_HA = st.floats(min_value=0.1, max_value=1.0e4, allow_nan=False)
SPECIFIC_DEMANDS = st.floats(min_value=20.0, max_value=400.0, allow_nan=False)


def cost_per_mwh(demand_mwh, area_ha, area_type, q=Q_KWH_PER_M2, crf=CRF):
    return distribution_cost_eur_per_mwh(
        demand_mwh, area_ha, specific_demand_kwh_per_m2=q, area_type=area_type, crf=crf
    )


# --- known answers -----------------------------------------------------------------------


def test_typical_zone_by_hand():
    """40 GWh on 40 ha, outer city, every step worked by hand."""
    e = 40_000.0 * 1000.0 / (40.0 * 10_000.0) / Q_KWH_PER_M2  # kWh per m² land / q
    assert plot_ratio(40_000.0, 40.0, specific_demand_kwh_per_m2=Q_KWH_PER_M2) == pytest.approx(e)
    assert effective_width_m(e) == 60.0
    lhd = 40_000.0 * 3.6 / (40.0 * 10_000.0) * 60.0
    assert lhd == pytest.approx(21.6)
    assert linear_heat_density_gj_per_m(
        40_000.0, 40.0, specific_demand_kwh_per_m2=Q_KWH_PER_M2
    ) == pytest.approx(lhd)
    d = 0.0486 * math.log(lhd) + 0.0007
    assert average_pipe_diameter_m(lhd) == pytest.approx(d)
    per_m = 214.0 + 1725.0 * d
    capex = 400_000.0 / 60.0 * per_m
    got = distribution_capex_eur(
        40_000.0, 40.0, specific_demand_kwh_per_m2=Q_KWH_PER_M2, area_type="outer_city"
    )
    assert got == pytest.approx(capex)
    assert got == pytest.approx(3.152e6, rel=1e-3)
    assert cost_per_mwh(40_000.0, 40.0, "outer_city") == pytest.approx(CRF * capex / 40_000.0)


def test_persson_werner_cost_per_gj_form_agrees_with_capex_over_demand():
    """CRF·(C1 + C2·d_a)/(e·q·w) per GJ, times 3.6, is CRF·capex / MWh."""
    for demand, area, area_type in [
        (196_000.0, 56.0, "inner_city"),
        (5_000.0, 30.0, "park"),
        (40_000.0, 40.0, "outer_city"),
    ]:
        e = plot_ratio(demand, area, specific_demand_kwh_per_m2=Q_KWH_PER_M2)
        q_gj_per_m2 = Q_KWH_PER_M2 * 0.0036
        lhd = e * q_gj_per_m2 * effective_width_m(e)
        c1, c2 = PERSSON_WERNER_EUR2007_PER_M[area_type]
        per_gj = CRF * (c1 + c2 * average_pipe_diameter_m(lhd)) / lhd
        assert cost_per_mwh(demand, area, area_type) == pytest.approx(per_gj * 3.6)


def test_worked_zones_from_dense_to_sparse():
    """Dense city block about 0.5 EUR/GJ, typical zone about 1.3, sparse zone about 8."""
    per_gj = (
        cost_per_mwh(
            [196_000.0, 40_000.0, 5_000.0],
            [56.0, 40.0, 30.0],
            ["inner_city", "outer_city", "park"],
        )
        / 3.6
    )
    assert per_gj == pytest.approx([0.545, 1.266, 8.054], abs=1e-3)


def test_effective_width_meets_at_the_knee_and_never_falls():
    e = np.linspace(0.0, 3.0, 3001)
    w = effective_width_m(e)
    assert effective_width_m(0.0) == 5.0
    assert effective_width_m(0.4) == pytest.approx(60.0)
    assert effective_width_m(0.4 + 1e-12) == 60.0
    assert np.all(np.diff(w) >= 0)


def test_diameter_has_a_floor_and_zero_density_takes_it_without_warnings():
    assert average_pipe_diameter_m(0.0) == 0.02
    assert average_pipe_diameter_m(0.5) == 0.02
    assert average_pipe_diameter_m(0.5, min_diameter_m=0.0) == 0.0
    x = np.linspace(0.0, 200.0, 20_001)
    assert np.all(np.diff(average_pipe_diameter_m(x)) >= 0)


def test_zero_demand_has_no_network_and_no_cost_per_mwh():
    kwargs = {"specific_demand_kwh_per_m2": Q_KWH_PER_M2, "area_type": "park"}
    assert distribution_capex_eur(0.0, 10.0, **kwargs) == 0.0
    assert math.isnan(distribution_cost_eur_per_mwh(0.0, 10.0, crf=CRF, **kwargs))


def test_specific_demand_matters_only_below_plot_ratio_04():
    dense = [cost_per_mwh(196_000.0, 56.0, "inner_city", q=q) for q in (100.0, 140.0, 200.0)]
    assert dense[0] == pytest.approx(dense[1]) == pytest.approx(dense[2])
    sparse = [cost_per_mwh(5_000.0, 30.0, "park", q=q) for q in (100.0, 140.0, 200.0)]
    assert sparse[0] < sparse[1] < sparse[2]  # more floor per heat: sparser, longer trench


def test_area_type_per_zone_and_from_plot_ratio():
    assert area_type_for_plot_ratio(0.29) == "park"
    assert area_type_for_plot_ratio(0.3) == "outer_city"
    assert area_type_for_plot_ratio(0.5) == "inner_city"
    demand, area = np.array([40_000.0, 5_000.0]), np.array([40.0, 30.0])
    types = area_type_for_plot_ratio(
        plot_ratio(demand, area, specific_demand_kwh_per_m2=Q_KWH_PER_M2)
    )
    assert types.tolist() == ["inner_city", "park"]
    both = cost_per_mwh(demand, area, types)
    assert both[0] == pytest.approx(cost_per_mwh(40_000.0, 40.0, "inner_city"))
    assert both[1] == pytest.approx(cost_per_mwh(5_000.0, 30.0, "park"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"area_type": "suburb"}, "unknown area type 'suburb'"),
        ({"area_type": ["park", "suburb"]}, "unknown area type 'suburb'"),
        ({"area_type": "park", "annual_demand_mwh": -1.0}, "annual_demand_mwh"),
        ({"area_type": "park", "area_ha": 0.0}, "area_ha must be positive"),
        ({"area_type": "park", "specific_demand_kwh_per_m2": 0.0}, "specific_demand"),
        ({"area_type": "park", "crf": -0.1}, "crf"),
    ],
)
def test_bad_input_names_what_is_wrong(kwargs, message):
    args = {
        "annual_demand_mwh": [1_000.0, 2_000.0],
        "area_ha": 10.0,
        "specific_demand_kwh_per_m2": Q_KWH_PER_M2,
        "crf": CRF,
    } | kwargs
    with pytest.raises(ValueError, match=message):
        distribution_cost_eur_per_mwh(args.pop("annual_demand_mwh"), args.pop("area_ha"), **args)


# --- properties --------------------------------------------------------------------------


@given(DEMANDS_MWH, AREAS_HA, SPECIFIC_DEMANDS, AREA_TYPES)
def test_capex_is_positive_for_any_demand(demand, area, q, area_type):
    capex = distribution_capex_eur(demand, area, specific_demand_kwh_per_m2=q, area_type=area_type)
    assert capex > 0
    assert math.isfinite(capex)


@given(
    DEMANDS_MWH,
    AREAS_HA,
    SPECIFIC_DEMANDS,
    AREA_TYPES,
    st.floats(min_value=1.01, max_value=100.0),
)
def test_cost_per_mwh_falls_as_heat_density_rises_at_fixed_area(demand, area, q, area_type, factor):
    low = cost_per_mwh(demand, area, area_type, q=q)
    high = cost_per_mwh(demand * factor, area, area_type, q=q)
    assert high < low


@given(
    DEMANDS_MWH,
    AREAS_HA,
    SPECIFIC_DEMANDS,
    AREA_TYPES,
    st.floats(min_value=1e-3, max_value=1e3),
)
def test_scaling_demand_and_area_together_keeps_cost_per_mwh(demand, area, q, area_type, k):
    base = cost_per_mwh(demand, area, area_type, q=q)
    scaled = cost_per_mwh(demand * k, area * k, area_type, q=q)
    assert scaled == pytest.approx(base, rel=1e-9)
    capex = distribution_capex_eur(demand, area, specific_demand_kwh_per_m2=q, area_type=area_type)
    capex_k = distribution_capex_eur(
        demand * k, area * k, specific_demand_kwh_per_m2=q, area_type=area_type
    )
    assert capex_k == pytest.approx(k * capex, rel=1e-9)


@given(DEMANDS_MWH, AREAS_HA, AREA_TYPES, st.floats(min_value=0.01, max_value=0.2))
def test_cost_per_mwh_is_linear_in_the_crf(demand, area, area_type, crf):
    one = cost_per_mwh(demand, area, area_type, crf=1.0)
    assert cost_per_mwh(demand, area, area_type, crf=crf) == pytest.approx(crf * one)
