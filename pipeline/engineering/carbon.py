"""Carbon saved by a link: displaced gas-boiler heat against the electricity it uses.

Net saving = delivered heat × gas factor / boiler efficiency
             - (heat-pump + pumping electricity) × grid factor.

Delivered heat in MWh times a factor in kg CO2e/kWh gives tonnes (1 MWh = 1000 kWh and
1 t = 1000 kg). Annual and lifetime figures are separate functions and separate fields;
a lifetime figure is never reported as annual. Recovering the heat does not reduce the
data centre's own emissions: the saving is only the boiler heat the link displaces, less
the electricity it uses.

The grid factor DESNZ publishes for "electricity generated" leaves out the energy lost in
transmission and distribution (T&D); DESNZ publishes that separately ("Transmission and
distribution", activity "T&D- UK electricity"), per kWh consumed. Electricity drawn from
the grid at a consumer's meter carries both: :func:`grid_factor_with_losses_kg_per_kwh`.

References
----------
UK Department for Energy Security and Net Zero (DESNZ), *Greenhouse gas reporting:
conversion factors* 2024 and 2025 (grid electricity; natural gas, gross calorific value;
transmission and distribution, T&D- UK electricity).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from pipeline.engineering.water import FloatOrArray, _nonnegative

DESNZ_TD_KG_PER_KWH: dict[int, float] = {2025: 0.01853}
"""DESNZ "T&D- UK electricity" factor by edition, kg CO2e per kWh. 2025: 0.01853, taken
from a secondary extraction of the DESNZ 2025 flat file (not checked against the
gov.uk workbook). The 2024 value was not found and is left out: supply it by config."""


def displaced_boiler_co2_t_per_yr(
    delivered_heat_mwh: ArrayLike, *, gas_factor_kg_per_kwh: float, boiler_efficiency: float
) -> FloatOrArray:
    """Emissions of the gas boilers whose heat a link replaces, in a year.

    This is also the ceiling of the net saving: what the link would save with
    zero-carbon electricity.

    Parameters
    ----------
    delivered_heat_mwh
        Heat the link delivers a year, ≥ 0.
    gas_factor_kg_per_kwh
        Emissions per kWh of gas burnt (gross calorific value).
    boiler_efficiency
        Seasonal efficiency of the displaced boilers (gross), 0-1.

    Returns
    -------
    Tonnes of CO2e per year.

    Raises
    ------
    ValueError
        If the heat is negative or the efficiency is outside (0, 1].

    Examples
    --------
    8,000 MWh at DESNZ 2024 gas (0.1829 kg/kWh) and an 88 % boiler:
    8000 × 0.1829/0.88 = 1662.7 t a year.

    >>> round(float(displaced_boiler_co2_t_per_yr(
    ...     8000.0, gas_factor_kg_per_kwh=0.1829, boiler_efficiency=0.88
    ... )), 1)
    1662.7
    """
    if not 0 < boiler_efficiency <= 1:
        raise ValueError("boiler_efficiency must be in (0, 1]")
    heat = _nonnegative("delivered_heat_mwh", delivered_heat_mwh)
    return (heat * gas_factor_kg_per_kwh / boiler_efficiency)[()]


def co2_saving_t_per_yr(
    *,
    delivered_heat_mwh: ArrayLike,
    electricity_mwh: ArrayLike,
    gas_factor_kg_per_kwh: float,
    boiler_efficiency: float,
    grid_factor_kg_per_kwh: float,
) -> FloatOrArray:
    """Net annual CO2e saving of a link.

    saving = delivered × gas factor / boiler efficiency - electricity × grid factor.

    Parameters
    ----------
    delivered_heat_mwh
        Heat the link delivers a year, ≥ 0.
    electricity_mwh
        Electricity the link uses a year (heat pump plus pumps), ≥ 0.
    gas_factor_kg_per_kwh
        Emissions per kWh of gas (gross calorific value).
    boiler_efficiency
        Seasonal efficiency of the displaced boilers (gross), 0-1.
    grid_factor_kg_per_kwh
        Emissions per kWh of grid electricity.

    Returns
    -------
    Tonnes of CO2e saved per year (negative if the link emits more than it saves).

    Examples
    --------
    The engineering reference's check: 1 MW delivered for 8,000 h with a COP of 3 uses
    2,666.7 MWh of electricity; at DESNZ 2024 factors the saving is
    1662.7 - 2666.7 × 0.20705 = 1662.7 - 552.1 = 1110.6 t a year.

    >>> round(float(co2_saving_t_per_yr(
    ...     delivered_heat_mwh=8000.0, electricity_mwh=8000.0 / 3,
    ...     gas_factor_kg_per_kwh=0.1829, boiler_efficiency=0.88,
    ...     grid_factor_kg_per_kwh=0.20705,
    ... )), 1)
    1110.6
    """
    displaced = displaced_boiler_co2_t_per_yr(
        delivered_heat_mwh,
        gas_factor_kg_per_kwh=gas_factor_kg_per_kwh,
        boiler_efficiency=boiler_efficiency,
    )
    used = _nonnegative("electricity_mwh", electricity_mwh) * grid_factor_kg_per_kwh
    return (displaced - used)[()]


def grid_factor_with_losses_kg_per_kwh(
    generation_kg_per_kwh: ArrayLike, td_kg_per_kwh: ArrayLike
) -> FloatOrArray:
    """Grid factor per kWh consumed, including transmission and distribution losses.

    factor = generation factor + T&D factor (DESNZ publishes the T&D factor per kWh
    consumed, so the two add).

    Parameters
    ----------
    generation_kg_per_kwh
        DESNZ "electricity generated" factor, ≥ 0.
    td_kg_per_kwh
        DESNZ "T&D- UK electricity" factor for the same year, ≥ 0.

    Returns
    -------
    kg CO2e per kWh drawn from the grid.

    Raises
    ------
    ValueError
        If either factor is negative.

    Examples
    --------
    DESNZ 2025: 0.17700 + 0.01853 = 0.19553 kg/kWh, which lowers the reference check's
    2025 saving (1 MW for 8,000 h, COP 3) from 1,190.7 to 1,141.3 t a year.

    >>> round(float(grid_factor_with_losses_kg_per_kwh(0.17700, 0.01853)), 5)
    0.19553
    >>> round(float(co2_saving_t_per_yr(
    ...     delivered_heat_mwh=8000.0, electricity_mwh=8000.0 / 3,
    ...     gas_factor_kg_per_kwh=0.1829, boiler_efficiency=0.88,
    ...     grid_factor_kg_per_kwh=0.19553,
    ... )), 1)
    1141.3
    """
    generation = _nonnegative("generation_kg_per_kwh", generation_kg_per_kwh)
    return (generation + _nonnegative("td_kg_per_kwh", td_kg_per_kwh))[()]


def lifetime_total(annual_per_yr: ArrayLike, lifetime_years: int) -> FloatOrArray:
    """A constant annual figure summed over a lifetime, annual × years (undiscounted).

    Parameters
    ----------
    annual_per_yr
        The figure for one year, for example :func:`co2_saving_t_per_yr`.
    lifetime_years
        Years of operation, > 0.

    Returns
    -------
    The lifetime total, in the annual figure's unit without "per year".

    Raises
    ------
    ValueError
        If the lifetime is not positive.

    Examples
    --------
    1110.6 t a year over 30 years is 33,318 t in all, never 33,318 t a year:

    >>> round(float(lifetime_total(1110.6, 30)))
    33318
    """
    if lifetime_years <= 0:
        raise ValueError("lifetime_years must be positive")
    return (np.asarray(annual_per_yr, dtype=float) * lifetime_years)[()]
