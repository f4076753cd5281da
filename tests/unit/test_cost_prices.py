"""One price basis, per-component lifetimes and T&D losses (issue 10, parts 4 and 5)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.engineering.carbon import (
    DESNZ_TD_KG_PER_KWH,
    co2_saving_t_per_yr,
    grid_factor_with_losses_kg_per_kwh,
)
from pipeline.engineering.cost import (
    LIFETIME_YEARS,
    annualised_capex_per_yr,
    capital_recovery_factor,
    levelised_cost_of_heat_per_mwh,
)
from pipeline.engineering.prices import (
    EA_HICP_2015_100,
    PRICE_INDICES,
    UK_GDP_DEFLATOR_2024_100,
    exchange_rate,
    inflate,
    price_in_output_basis,
)

EUR_YEARS = st.sampled_from(sorted(EA_HICP_2015_100))
GBP_YEARS = st.sampled_from(sorted(UK_GDP_DEFLATOR_2024_100))
PRICES = st.floats(min_value=0.0, max_value=1e9, allow_nan=False)


# --- price indices -------------------------------------------------------------------


def test_indices_are_at_their_base_years_and_cover_2005_onwards():
    assert EA_HICP_2015_100[2015] == 100.0
    assert UK_GDP_DEFLATOR_2024_100[2024] == 100.0
    for index in PRICE_INDICES.values():
        assert set(range(2005, 2025)) <= set(index)
        assert all(level > 0 for level in index.values())


def test_hicp_matches_published_annual_inflation_rates():
    """Eurostat's euro-area annual average rates: 8.4 % (2022), 5.4 % (2023)."""
    assert EA_HICP_2015_100[2022] / EA_HICP_2015_100[2021] - 1 == pytest.approx(0.084, abs=5e-4)
    assert EA_HICP_2015_100[2023] / EA_HICP_2015_100[2022] - 1 == pytest.approx(0.054, abs=5e-4)


def test_persson_werner_2007_to_2020():
    assert float(
        inflate(398.7, from_year=2007, to_year=2020, index=EA_HICP_2015_100)
    ) == pytest.approx(398.7 * 105.06 / 88.49)


def test_missing_year_is_named():
    with pytest.raises(ValueError, match="2030"):
        inflate(1.0, from_year=2015, to_year=2030, index=UK_GDP_DEFLATOR_2024_100)


@given(value=PRICES, a=EUR_YEARS, b=EUR_YEARS)
def test_inflating_there_and_back_is_identity(value, a, b):
    there = inflate(value, from_year=a, to_year=b, index=EA_HICP_2015_100)
    back = inflate(there, from_year=b, to_year=a, index=EA_HICP_2015_100)
    assert float(back) == pytest.approx(value, rel=1e-12, abs=1e-9)


@given(value=PRICES, a=GBP_YEARS, b=GBP_YEARS, c=GBP_YEARS)
def test_inflation_chains(value, a, b, c):
    via = inflate(
        inflate(value, from_year=a, to_year=b, index=UK_GDP_DEFLATOR_2024_100),
        from_year=b,
        to_year=c,
        index=UK_GDP_DEFLATOR_2024_100,
    )
    direct = inflate(value, from_year=a, to_year=c, index=UK_GDP_DEFLATOR_2024_100)
    assert float(via) == pytest.approx(float(direct), rel=1e-12, abs=1e-9)


# --- currency ------------------------------------------------------------------------


def test_exchange_rate_through_the_euro_and_missing_rate_named():
    rates = {"GBP": {2020: 0.85}, "SEK": {2020: 10.5}}
    assert exchange_rate(from_currency="SEK", to_currency="GBP", year=2020, per_eur=rates) == (
        pytest.approx(0.85 / 10.5)
    )
    assert exchange_rate(from_currency="EUR", to_currency="EUR", year=1900, per_eur={}) == 1.0
    with pytest.raises(ValueError, match="GBP per EUR in 2021"):
        exchange_rate(from_currency="EUR", to_currency="GBP", year=2021, per_eur=rates)


def test_output_basis_inflates_in_source_currency_then_converts_at_output_year():
    rates = {"GBP": {2015: 0.70, 2020: 0.85}}
    got = price_in_output_basis(
        100.0,
        currency="EUR",
        price_year=2015,
        to_currency="GBP",
        to_price_year=2020,
        indices=PRICE_INDICES,
        per_eur=rates,
    )
    # The euro index carries the inflation; the 2020 rate (not the 2015 one) converts.
    assert float(got) == pytest.approx(100.0 * 105.06 / 100.0 * 0.85)


def test_output_basis_needs_an_index_for_the_source_currency():
    with pytest.raises(ValueError, match="no price index for SEK"):
        price_in_output_basis(
            1.0,
            currency="SEK",
            price_year=2015,
            to_currency="EUR",
            to_price_year=2020,
            indices=PRICE_INDICES,
            per_eur={},
        )


# --- lifetimes -----------------------------------------------------------------------


@given(
    # CRF tends to the rate as the lifetime grows; within these bounds the step between
    # consecutive lifetimes stays well above float precision.
    rate=st.floats(min_value=0.0, max_value=0.2, allow_nan=False),
    years=st.integers(min_value=1, max_value=59),
)
def test_crf_decreases_with_lifetime_and_exceeds_straight_line(rate, years):
    shorter = capital_recovery_factor(rate, years)
    longer = capital_recovery_factor(rate, years + 1)
    assert longer < shorter
    assert shorter >= 1.0 / years - 1e-15
    assert shorter >= rate


def test_annualised_capex_uses_each_lifetime():
    got = annualised_capex_per_yr(
        {"pipe": 1.0e6, "heat_exchanger_station": 1.0e5},
        LIFETIME_YEARS,
        discount_rate=0.04,
    )
    expected = 1.0e6 * capital_recovery_factor(0.04, 30) + 1.0e5 * capital_recovery_factor(0.04, 25)
    assert float(got) == pytest.approx(expected)


def test_annualised_capex_names_a_component_without_lifetime():
    with pytest.raises(ValueError, match="'boiler'"):
        annualised_capex_per_yr({"boiler": 1.0}, LIFETIME_YEARS, discount_rate=0.04)


def test_lcoh_keeps_its_old_form_and_adds_variable_om():
    old = levelised_cost_of_heat_per_mwh(
        annualised_capex_per_yr=1.0e6,
        om_cost_per_yr=5.0e4,
        electricity_cost_per_yr=4.0e5,
        delivered_heat_mwh=20_000.0,
    )
    new = levelised_cost_of_heat_per_mwh(
        annualised_capex_per_yr=1.0e6,
        om_cost_per_yr=5.0e4,
        electricity_cost_per_yr=4.0e5,
        delivered_heat_mwh=20_000.0,
        variable_om_cost_per_yr=2.0e4,
    )
    assert float(old) == 72.5
    assert float(new) == pytest.approx(73.5)
    assert math.isnan(
        float(
            levelised_cost_of_heat_per_mwh(
                annualised_capex_per_yr=1.0,
                om_cost_per_yr=0.0,
                electricity_cost_per_yr=0.0,
                delivered_heat_mwh=0.0,
                variable_om_cost_per_yr=1.0,
            )
        )
    )


# --- transmission and distribution --------------------------------------------------


def test_desnz_2025_td_factor():
    assert float(grid_factor_with_losses_kg_per_kwh(0.177, DESNZ_TD_KG_PER_KWH[2025])) == (
        pytest.approx(0.19553)
    )


FACTORS = st.floats(min_value=0.0, max_value=2.0, allow_nan=False)


@given(generation=FACTORS, td=FACTORS)
def test_td_inclusive_factor_is_at_least_the_generation_factor(generation, td):
    assert float(grid_factor_with_losses_kg_per_kwh(generation, td)) >= generation


@given(td=st.floats(min_value=0.0, max_value=0.1, allow_nan=False))
def test_counting_losses_never_raises_the_saving(td):
    kwargs = dict(
        delivered_heat_mwh=8000.0,
        electricity_mwh=8000.0 / 3,
        gas_factor_kg_per_kwh=0.1829,
        boiler_efficiency=0.88,
    )
    without = co2_saving_t_per_yr(**kwargs, grid_factor_kg_per_kwh=0.177)
    with_losses = co2_saving_t_per_yr(
        **kwargs, grid_factor_kg_per_kwh=float(grid_factor_with_losses_kg_per_kwh(0.177, td))
    )
    assert float(with_losses) <= float(without)


def test_negative_td_factor_is_refused():
    with pytest.raises(ValueError, match="td_kg_per_kwh"):
        grid_factor_with_losses_kg_per_kwh(0.177, -0.01)
