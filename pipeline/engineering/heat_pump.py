"""The heat pump that lifts a source's heat to the network's supply temperature.

The heat pump sits at the source. Its evaporator cools the source water from the source
temperature by ``source_cooling_k``; its condenser heats network return water to the
supply temperature. Two COP models:

- Lorenz: COP = η_L·T̄_H/(T̄_H - T̄_L), with T̄ the log-mean (entropic mean) temperature
  of the sink and the source stream. It credits the temperature glides, which suits
  multistage machines; η_L ≈ 0.50 reproduces the Danish Energy Agency's 10 MW excess-heat
  heat pump (COP 5.1 at source 25→15 °C, district heating 35→70 °C).
- Carnot on outlet temperatures: COP = η_C·T_H,out/(T_H,out - T_L,out), η_C 0.50-0.55.
  Conservative; it suits single-stage machines.

Energy balance: output Q_out = Q_src·COP/(COP - 1) and electricity W = Q_out/COP, so
Q_out = Q_src + W. A source at or above the supply temperature needs no heat pump.

References
----------
Danish Energy Agency, *Technology Data: Generation of Electricity and District Heating*,
"Heat pumps, excess heat" (10 MW unit). See ``docs/methodology.md``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from pipeline.engineering.water import FloatOrArray, _nonnegative

KELVIN = 273.15
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
) -> FloatOrArray:
    """COP of a heat pump by the Lorenz model, η_L·T̄_H/(T̄_H - T̄_L).

    Parameters
    ----------
    source_in_c, source_out_c
        Source water entering and leaving the evaporator.
    sink_in_c, sink_out_c
        Network water entering (return) and leaving (supply) the condenser.
    efficiency
        Lorenz efficiency η_L, 0-1.

    Returns
    -------
    The COP (heat out per unit of electricity); infinite where T̄_H ≤ T̄_L.

    Examples
    --------
    The DEA calibration point, source 25→15 °C and district heating 35→70 °C: T̄_H =
    325.34 K and T̄_L = 293.13 K, so COP = 0.5 × 325.34/32.21 = 5.05 (DEA: 5.1).

    >>> round(float(lorenz_cop(
    ...     source_in_c=25.0, source_out_c=15.0, sink_in_c=35.0, sink_out_c=70.0, efficiency=0.5
    ... )), 2)
    5.05
    """
    return _cop(
        log_mean_temperature_k(sink_in_c, sink_out_c),
        log_mean_temperature_k(source_in_c, source_out_c),
        efficiency,
    )


def carnot_cop(
    *, source_out_c: ArrayLike, sink_out_c: ArrayLike, efficiency: ArrayLike
) -> FloatOrArray:
    """COP of a heat pump as a fraction of Carnot on the outlet temperatures.

    COP = η_C·T_H,out/(T_H,out - T_L,out), temperatures in kelvin.

    Parameters
    ----------
    source_out_c
        Source water leaving the evaporator (its coldest point).
    sink_out_c
        Network water leaving the condenser (the supply temperature).
    efficiency
        Carnot efficiency η_C, 0-1.

    Returns
    -------
    The COP; infinite where the sink outlet is not above the source outlet.

    Examples
    --------
    A 35 °C source cooled to 25 °C, supplying 80 °C, η_C = 0.5: 0.5 × 353.15/55 = 3.21.

    >>> round(float(carnot_cop(source_out_c=25.0, sink_out_c=80.0, efficiency=0.5)), 2)
    3.21
    """
    return _cop(
        np.asarray(sink_out_c, dtype=float) + KELVIN,
        np.asarray(source_out_c, dtype=float) + KELVIN,
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
    max_cop: float = MAX_COP,
) -> FloatOrArray:
    """COP of the heat pump of each link, or NaN where the source needs none.

    The evaporator cools the source from ``source_temp_c`` by ``source_cooling_k``; the
    condenser heats the network from ``return_temp_c`` to ``supply_temp_c``. A source at
    or above the supply temperature needs no heat pump (NaN). The COP is capped at
    ``max_cop``.

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
        The model's efficiency, 0-1.
    max_cop
        Cap on the COP (:data:`MAX_COP`).

    Returns
    -------
    The COP, > 1, or NaN where no heat pump is needed.

    Raises
    ------
    ValueError
        For an unknown model, a cooling that is not positive, or a COP of 1 or less (the
        lift is too large for the efficiency).

    Examples
    --------
    A 35 °C and a 30 °C source lifted to an 80/50 °C network, and a 90 °C source that
    needs no heat pump:

    >>> heat_pump_cop(
    ...     source_temp_c=[35.0, 30.0, 90.0], supply_temp_c=80.0, return_temp_c=50.0,
    ...     source_cooling_k=10.0, model="carnot", efficiency=0.55,
    ... ).round(2)
    array([3.53, 3.24,  nan])
    """
    if source_cooling_k <= 0:
        raise ValueError("source_cooling_k must be positive")
    source = np.asarray(source_temp_c, dtype=float)
    source_out = source - source_cooling_k
    if model == "lorenz":
        cop = lorenz_cop(
            source_in_c=source,
            source_out_c=source_out,
            sink_in_c=return_temp_c,
            sink_out_c=supply_temp_c,
            efficiency=efficiency,
        )
    elif model == "carnot":
        cop = carnot_cop(source_out_c=source_out, sink_out_c=supply_temp_c, efficiency=efficiency)
    else:
        raise ValueError(f"unknown heat-pump model {model!r}; use 'lorenz' or 'carnot'")
    needed = source < np.asarray(supply_temp_c, dtype=float)
    cop = np.where(needed, np.minimum(cop, max_cop), np.nan)
    if np.any(cop <= 1.0):
        raise ValueError(
            "heat-pump COP of 1 or less: the lift from the source to the supply temperature "
            "is too large for the efficiency; check the temperatures and heat_pump settings"
        )
    return cop[()]


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
