"""The heat pump that lifts a source's heat to the network's supply temperature.

The heat pump sits at the source. Its evaporator cools the source water from the source
temperature by ``source_cooling_k``; its condenser heats network return water to the
supply temperature. The refrigerant evaporates an evaporator approach below the source
outlet and condenses a condenser approach above the supply temperature
(:data:`EVAPORATOR_APPROACH_K`, :data:`CONDENSER_APPROACH_K`, 5 K each). Two COP models:

- Lorenz: COP = η_L·T̄_H/(T̄_H - T̄_L), with T̄_H the log-mean temperature of the sink plus
  the condenser approach and T̄_L that of the source stream less the evaporator approach.
  It credits the temperature glides, which suits multistage machines. With the 5 K
  approaches, η_L = 0.65 (:data:`LORENZ_EFFICIENCY_DEA`) reproduces the Danish Energy
  Agency's 10 MW excess-heat heat pump (COP 5.1 at source 25→15 °C, district heating
  35→70 °C); without approaches it was 0.50.
- Carnot on refrigerant temperatures: COP = η_C·T_cond/(T_cond - T_evap), with T_cond the
  supply plus the condenser approach and T_evap the source outlet less the evaporator
  approach, η_C 0.55. Conservative; it suits single-stage machines, and with the
  approaches it matches a simulated single-stage data-centre heat pump (45 °C source to
  60/70/80 °C, Zangeneh and Øi 2022) within 4 %.

Energy balance: output Q_out = Q_src·COP/(COP - 1) and electricity W = Q_out/COP, so
Q_out = Q_src + W. A source at or above the supply temperature needs no heat pump.

Capital cost per MW of heat output falls with size: :func:`heat_pump_capex_eur_per_mw`
interpolates the DEA figures on a log scale of capacity.

References
----------
Danish Energy Agency, *Technology Data: Generation of Electricity and District Heating*,
"Heat pumps, excess heat" (10 MW unit). Jensen, J. K., Ommen, T., Reinholdt, L.,
Markussen, W. B. and Elmegaard, B. (2018), Heat pump COP, part 2: Generalized COP
estimation of heat pump processes, 13th IIR Gustav Lorentzen Conference,
doi:10.18462/iir.gl.2018.1386 (5 K pinch point). Zangeneh, V. and Øi, L. E. (2022),
Economic investigation of heat pumps for heat recovery from data center, SIMS 2022,
Linköping Electronic Conference Proceedings. See ``docs/methodology.md``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from pipeline.engineering.water import FloatOrArray, _nonnegative

KELVIN = 273.15

EVAPORATOR_APPROACH_K = 5.0
"""How far the refrigerant evaporates below the source outlet, K. The 5 K pinch point of
Jensen et al. (2018), the default for district-heating heat pumps in PyPSA-Eur
(``heat_exchanger_pinch_point_temperature_difference: 5``)."""
CONDENSER_APPROACH_K = 5.0
"""How far the refrigerant condenses above the supply temperature, K (the same 5 K pinch
point; conservative, since it ignores the desuperheating that heats the last few kelvin)."""
LORENZ_EFFICIENCY_DEA = 0.65
"""Lorenz efficiency that reproduces the DEA 10 MW excess-heat heat pump with the default
5 K approaches: COP 0.65 × 330.34/42.21 = 5.09 against DEA's 5.1 (η_L = 0.652 exactly)."""
DEA_CAPEX_EUR2015_PER_MW: tuple[tuple[float, float], ...] = (
    (1.0, 1_240_000.0),
    (3.0, 860_000.0),
    (10.0, 670_000.0),
)
"""(heat output capacity in MW, capital cost in 2015 EUR per MW of heat output) of DEA's
excess-heat heat pumps, smallest first."""

MAX_COP = 10.0
"""Highest COP the model gives (assumption). At small lifts the fixed temperature
approaches of the heat exchangers dominate, which a constant efficiency factor does not
capture, and Lorenz and Carnot COPs grow without bound."""


def log_mean_temperature_k(temp_in_c: ArrayLike, temp_out_c: ArrayLike) -> FloatOrArray:
    """Log-mean (entropic mean) temperature of a stream, T̄ = (T_in - T_out)/ln(T_in/T_out).

    Parameters
    ----------
    temp_in_c
        Temperature of the stream entering the heat exchanger.
    temp_out_c
        Temperature of the stream leaving it.

    Returns
    -------
    T̄ in kelvin; the common temperature where in and out are equal.

    Examples
    --------
    District heating heated from 35 to 70 °C: (343.15 - 308.15)/ln(343.15/308.15) K.

    >>> round(float(log_mean_temperature_k(35.0, 70.0)), 2)
    325.34
    >>> float(log_mean_temperature_k(40.0, 40.0))
    313.15
    """
    t_in = np.asarray(temp_in_c, dtype=float) + KELVIN
    t_out = np.asarray(temp_out_c, dtype=float) + KELVIN
    same = np.isclose(t_in, t_out, rtol=0.0, atol=1e-9)
    ratio = np.where(same, np.e, t_in / t_out)  # placeholder where the formula is 0/0
    return np.where(same, (t_in + t_out) / 2.0, (t_in - t_out) / np.log(ratio))[()]


def _cop(hot_k: FloatOrArray, cold_k: FloatOrArray, efficiency: ArrayLike) -> FloatOrArray:
    """η·T_hot/(T_hot - T_cold); infinite where there is no lift."""
    lift = np.asarray(hot_k - cold_k, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cop = np.asarray(efficiency, dtype=float) * hot_k / lift
    return np.where(lift > 0, cop, np.inf)[()]


def lorenz_cop(
    *,
    source_in_c: ArrayLike,
    source_out_c: ArrayLike,
    sink_in_c: ArrayLike,
    sink_out_c: ArrayLike,
    efficiency: ArrayLike,
    evaporator_approach_k: ArrayLike = 0.0,
    condenser_approach_k: ArrayLike = 0.0,
) -> FloatOrArray:
    """COP of a heat pump by the Lorenz model, η_L·T̄_H/(T̄_H - T̄_L).

    T̄_H is the log-mean temperature of the sink plus the condenser approach, and T̄_L
    that of the source stream less the evaporator approach.

    Parameters
    ----------
    source_in_c, source_out_c
        Source water entering and leaving the evaporator.
    sink_in_c, sink_out_c
        Network water entering (return) and leaving (supply) the condenser.
    efficiency
        Lorenz efficiency η_L, 0-1.
    evaporator_approach_k, condenser_approach_k
        Temperature approaches of the evaporator and condenser, ≥ 0 (default 0: the
        ideal process on the water temperatures).

    Returns
    -------
    The COP (heat out per unit of electricity); infinite where T̄_H ≤ T̄_L.

    Examples
    --------
    The DEA calibration point, source 25→15 °C and district heating 35→70 °C: T̄_H =
    325.34 K and T̄_L = 293.13 K, so without approaches COP = 0.5 × 325.34/32.21 = 5.05
    (DEA: 5.1). With 5 K approaches T̄_H = 330.34 K and T̄_L = 288.13 K, and η_L = 0.65
    gives 0.65 × 330.34/42.21 = 5.09.

    >>> dea = {"source_in_c": 25.0, "source_out_c": 15.0, "sink_in_c": 35.0, "sink_out_c": 70.0}
    >>> round(float(lorenz_cop(**dea, efficiency=0.5)), 2)
    5.05
    >>> round(float(lorenz_cop(
    ...     **dea, efficiency=0.65, evaporator_approach_k=5.0, condenser_approach_k=5.0
    ... )), 2)
    5.09
    """
    return _cop(
        log_mean_temperature_k(sink_in_c, sink_out_c) + np.asarray(condenser_approach_k, float),
        log_mean_temperature_k(source_in_c, source_out_c)
        - np.asarray(evaporator_approach_k, float),
        efficiency,
    )


def carnot_cop(
    *,
    source_out_c: ArrayLike,
    sink_out_c: ArrayLike,
    efficiency: ArrayLike,
    evaporator_approach_k: ArrayLike = 0.0,
    condenser_approach_k: ArrayLike = 0.0,
) -> FloatOrArray:
    """COP of a heat pump as a fraction of Carnot on the refrigerant temperatures.

    COP = η_C·T_cond/(T_cond - T_evap), in kelvin, with the refrigerant condensing at
    T_cond = sink outlet + condenser approach and evaporating at T_evap = source outlet -
    evaporator approach.

    Parameters
    ----------
    source_out_c
        Source water leaving the evaporator (its coldest point).
    sink_out_c
        Network water leaving the condenser (the supply temperature).
    efficiency
        Carnot efficiency η_C, 0-1.
    evaporator_approach_k, condenser_approach_k
        Temperature approaches of the evaporator and condenser, ≥ 0 (default 0: Carnot on
        the water outlet temperatures).

    Returns
    -------
    The COP; infinite where T_cond is not above T_evap.

    Examples
    --------
    A 35 °C source cooled to 25 °C, supplying 80 °C, η_C = 0.5: 0.5 × 353.15/55 = 3.21
    on the water outlets; with 5 K approaches 0.5 × 358.15/65 = 2.755.

    >>> round(float(carnot_cop(source_out_c=25.0, sink_out_c=80.0, efficiency=0.5)), 2)
    3.21
    >>> round(float(carnot_cop(
    ...     source_out_c=25.0, sink_out_c=80.0, efficiency=0.5,
    ...     evaporator_approach_k=5.0, condenser_approach_k=5.0,
    ... )), 3)
    2.755
    """
    return _cop(
        np.asarray(sink_out_c, dtype=float) + KELVIN + np.asarray(condenser_approach_k, float),
        np.asarray(source_out_c, dtype=float) + KELVIN - np.asarray(evaporator_approach_k, float),
        efficiency,
    )


def heat_pump_cop(
    *,
    source_temp_c: ArrayLike,
    supply_temp_c: ArrayLike,
    return_temp_c: ArrayLike,
    source_cooling_k: float,
    model: Literal["lorenz", "carnot"],
    efficiency: float,
    evaporator_approach_k: float,
    condenser_approach_k: float,
) -> FloatOrArray:
    """COP of the heat pump of each link, or NaN where the source needs none.

    The evaporator cools the source from ``source_temp_c`` by ``source_cooling_k``; the
    condenser heats the network from ``return_temp_c`` to ``supply_temp_c``. The
    refrigerant evaporates ``evaporator_approach_k`` below the source outlet and condenses
    ``condenser_approach_k`` above the supply (Carnot), or the log-mean temperatures
    shift by the same approaches (Lorenz). A source at or above the supply temperature
    needs no heat pump (NaN). The COP is capped at :data:`MAX_COP`.

    Parameters
    ----------
    source_temp_c
        Temperature of the recovered heat.
    supply_temp_c, return_temp_c
        Network design temperatures.
    source_cooling_k
        How far the heat pump cools the source water, > 0.
    model
        ``lorenz`` (:func:`lorenz_cop`) or ``carnot`` (:func:`carnot_cop`).
    efficiency
        The model's efficiency, 0-1 (:data:`LORENZ_EFFICIENCY_DEA` for Lorenz with 5 K
        approaches; 0.55 for Carnot).
    evaporator_approach_k, condenser_approach_k
        Temperature approaches of the evaporator and condenser, ≥ 0
        (:data:`EVAPORATOR_APPROACH_K`, :data:`CONDENSER_APPROACH_K`).

    Returns
    -------
    The COP, > 1, or NaN where no heat pump is needed.

    Raises
    ------
    ValueError
        For an unknown model, a cooling that is not positive, a negative approach, or a
        COP of 1 or less (the lift is too large for the efficiency).

    Examples
    --------
    A 35 °C and a 30 °C source lifted to an 80/50 °C network with 5 K approaches, and a
    90 °C source that needs no heat pump: 0.55 × 358.15/65 = 3.03 and 0.55 × 358.15/70 =
    2.81.

    >>> approaches = {"evaporator_approach_k": 5.0, "condenser_approach_k": 5.0}
    >>> heat_pump_cop(
    ...     source_temp_c=[35.0, 30.0, 90.0], supply_temp_c=80.0, return_temp_c=50.0,
    ...     source_cooling_k=10.0, model="carnot", efficiency=0.55, **approaches,
    ... ).round(2)
    array([3.03, 2.81,  nan])

    A 45 °C liquid-cooling source cooled to 35 °C, lifted to 80/50 °C. Carnot: the
    refrigerant evaporates at 30 °C (303.15 K) and condenses at 85 °C (358.15 K), so
    COP = 0.55 × 358.15/55 = 3.58 (without the approaches 0.55 × 353.15/45 = 4.32).
    Lorenz: T̄_H = 337.93 + 5 = 342.93 K and T̄_L = 313.12 - 5 = 308.12 K, so COP =
    0.65 × 342.93/34.81 = 6.40.

    >>> lift = {"source_temp_c": 45.0, "supply_temp_c": 80.0, "return_temp_c": 50.0}
    >>> round(float(heat_pump_cop(
    ...     **lift, source_cooling_k=10.0, model="carnot", efficiency=0.55, **approaches
    ... )), 2)
    3.58
    >>> round(float(heat_pump_cop(
    ...     **lift, source_cooling_k=10.0, model="lorenz", efficiency=0.65, **approaches
    ... )), 2)
    6.4
    """
    if source_cooling_k <= 0:
        raise ValueError("source_cooling_k must be positive")
    if evaporator_approach_k < 0 or condenser_approach_k < 0:
        raise ValueError("evaporator_approach_k and condenser_approach_k must be 0 or more")
    source = np.asarray(source_temp_c, dtype=float)
    source_out = source - source_cooling_k
    approaches = {
        "evaporator_approach_k": evaporator_approach_k,
        "condenser_approach_k": condenser_approach_k,
    }
    if model == "lorenz":
        cop = lorenz_cop(
            source_in_c=source,
            source_out_c=source_out,
            sink_in_c=return_temp_c,
            sink_out_c=supply_temp_c,
            efficiency=efficiency,
            **approaches,
        )
    elif model == "carnot":
        cop = carnot_cop(
            source_out_c=source_out, sink_out_c=supply_temp_c, efficiency=efficiency, **approaches
        )
    else:
        raise ValueError(f"unknown heat-pump model {model!r}; use 'lorenz' or 'carnot'")
    needed = source < np.asarray(supply_temp_c, dtype=float)
    cop = np.where(needed, np.minimum(cop, MAX_COP), np.nan)
    if np.any(cop <= 1.0):
        raise ValueError(
            "heat-pump COP of 1 or less: the lift from the source to the supply temperature "
            "is too large for the efficiency; check the temperatures and heat_pump settings"
        )
    return cop[()]


def heat_pump_capex_eur_per_mw(
    capacity_mw: ArrayLike, *, points: tuple[tuple[float, float], ...] = DEA_CAPEX_EUR2015_PER_MW
) -> FloatOrArray:
    """Capital cost per MW of heat output of a heat pump of a given size.

    Linear in ln(capacity) between the points: for P_i ≤ P ≤ P_i+1,
    c(P) = c_i + (c_i+1 - c_i)·ln(P/P_i)/ln(P_i+1/P_i). Below the smallest point and above
    the largest the cost is held at the end value (clamped, **assumption**: no
    extrapolation beyond the DEA sizes).

    Parameters
    ----------
    capacity_mw
        Heat output capacity, > 0.
    points
        (capacity in MW, cost per MW) pairs, capacities strictly increasing; default the
        DEA excess-heat heat pumps in 2015 EUR (:data:`DEA_CAPEX_EUR2015_PER_MW`).

    Returns
    -------
    Cost per MW of heat output, in the points' currency and price year (2015 EUR by
    default).

    Raises
    ------
    ValueError
        For a capacity that is not positive, or points whose capacities are not positive
        and strictly increasing.

    Examples
    --------
    The DEA points themselves, 5 MW between 3 and 10 MW (0.86 M + (0.67 M - 0.86 M) ×
    ln(5/3)/ln(10/3) = 0.86 M - 0.19 M × 0.4243 = 779,386 EUR/MW), and the clamped ends:

    >>> heat_pump_capex_eur_per_mw([1.0, 3.0, 5.0, 10.0]).round(0)
    array([1240000.,  860000.,  779386.,  670000.])
    >>> heat_pump_capex_eur_per_mw([0.5, 20.0]).tolist()
    [1240000.0, 670000.0]
    """
    capacity = np.asarray(capacity_mw, dtype=float)
    if np.any(capacity <= 0):
        raise ValueError("capacity_mw must be positive")
    sizes = np.array([size for size, _ in points], dtype=float)
    costs = np.array([cost for _, cost in points], dtype=float)
    if sizes.size == 0 or np.any(sizes <= 0) or np.any(np.diff(sizes) <= 0):
        raise ValueError("points need positive, strictly increasing capacities")
    return np.interp(np.log(capacity), np.log(sizes), costs)[()]


def heat_pump_output_mw(source_heat_mw: ArrayLike, cop: ArrayLike) -> FloatOrArray:
    """Heat-pump output from the source heat it takes, Q_out = Q_src·COP/(COP - 1).

    Parameters
    ----------
    source_heat_mw
        Waste heat the evaporator takes from the source, ≥ 0.
    cop
        COP from :func:`heat_pump_cop`; NaN means no heat pump (output = source heat).

    Returns
    -------
    Heat delivered into the network at supply temperature, MW.

    Examples
    --------
    3 MW of 35 °C heat at COP 3 gives 4.5 MW (with 1.5 MW of electricity):

    >>> heat_pump_output_mw([3.0, 3.0], [3.0, float("nan")]).tolist()
    [4.5, 3.0]
    """
    source = _nonnegative("source_heat_mw", source_heat_mw)
    c = np.asarray(cop, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(c), source, source * c / (c - 1.0))[()]


def heat_pump_split_mwh(output_mwh: ArrayLike, cop: ArrayLike) -> tuple[FloatOrArray, FloatOrArray]:
    """Split a heat pump's annual output into source heat and electricity.

    Electricity W = Q_out/COP and source heat Q_src = Q_out - W, so Q_out = Q_src + W.

    Parameters
    ----------
    output_mwh
        Heat the heat pump gives a year, ≥ 0.
    cop
        COP; NaN means no heat pump (all of the output is source heat).

    Returns
    -------
    tuple
        (source_heat_mwh, electricity_mwh) per year.

    Examples
    --------
    >>> src, elec = heat_pump_split_mwh([9000.0, 9000.0], [3.0, float("nan")])
    >>> src.tolist(), elec.tolist()
    ([6000.0, 9000.0], [3000.0, 0.0])
    """
    output = _nonnegative("output_mwh", output_mwh)
    c = np.asarray(cop, dtype=float)
    electricity = np.where(np.isnan(c), 0.0, output / np.where(np.isnan(c), 1.0, c))
    return (output - electricity)[()], electricity[()]
