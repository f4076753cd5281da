"""Pipe hydraulics and pipe sizing.

Friction is Darcy-Weisbach with the Darcy friction factor from the explicit Swamee-Jain
equation (Colebrook-White is here to check it). A pipe's capacity is the heat it carries
at the lower of two velocities: the one that meets the pressure-gradient limit and a
velocity cap that rises with DN. A link gets the smallest DN whose capacity covers its
design heat flow. Twin pipes use the same media pipes, so they size the same way. Pumping
electricity is Δp·V̇/η_pump over supply and return.

References
----------
Colebrook, C. F. (1939). Turbulent flow in pipes, with particular reference to the
transition region between the smooth and rough pipe laws. *Journal of the Institution of
Civil Engineers* 11(4), 133-156.

Swamee, P. K. and Jain, A. K. (1976). Explicit equations for pipe-flow problems.
*Journal of the Hydraulics Division, ASCE* 102(HY5), 657-664.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from pipeline.engineering.water import (
    FloatOrArray,
    _nonnegative,
    _positive,
    water_density_kg_per_m3,
    water_dynamic_viscosity_pa_s,
    water_specific_heat_j_per_kgk,
)

LAMINAR_REYNOLDS = 2300.0
"""Below this Reynolds number flow is taken as laminar (f = 64/Re)."""

_TOLERANCE = 1e-12
_MAX_ITERATIONS = 200


def reynolds_number(
    velocity_m_per_s: ArrayLike,
    inner_diameter_m: ArrayLike,
    *,
    density_kg_per_m3: ArrayLike,
    viscosity_pa_s: ArrayLike,
) -> FloatOrArray:
    """Reynolds number of pipe flow, Re = ρ·v·d/μ.

    Parameters
    ----------
    velocity_m_per_s
        Mean flow velocity.
    inner_diameter_m
        Inner diameter of the pipe.
    density_kg_per_m3
        Density of the water.
    viscosity_pa_s
        Dynamic viscosity of the water.

    Returns
    -------
    The Reynolds number (dimensionless).

    Examples
    --------
    >>> round(float(reynolds_number(1.0, 0.1, density_kg_per_m3=1000.0, viscosity_pa_s=1e-3)))
    100000
    """
    re = (
        np.asarray(density_kg_per_m3, dtype=float)
        * np.abs(np.asarray(velocity_m_per_s, dtype=float))
        * np.asarray(inner_diameter_m, dtype=float)
        / np.asarray(viscosity_pa_s, dtype=float)
    )
    return re[()]


def swamee_jain_friction_factor(reynolds: ArrayLike, relative_roughness: ArrayLike) -> FloatOrArray:
    """Darcy friction factor from the explicit Swamee-Jain (1976) equation.

    f = 0.25 / log10(ε/(3.7·d) + 5.74/Re^0.9)² for Re ≥ 2300, and the laminar
    f = 64/Re below. Swamee and Jain give the turbulent form for 5000 ≤ Re ≤ 10⁸ and
    10⁻⁶ ≤ ε/d ≤ 10⁻²; between 2300 and 5000 it is used as it is (assumption), which
    errs on the high side of friction.

    Parameters
    ----------
    reynolds
        Reynolds number, > 0.
    relative_roughness
        Absolute roughness over inner diameter, ε/d.

    Returns
    -------
    The Darcy (not Fanning) friction factor.

    Raises
    ------
    ValueError
        If a Reynolds number is not positive or a roughness is negative.

    Examples
    --------
    A DN100 steel pipe (d = 107.1 mm, ε = 0.1 mm) at Re = 200,000:

    >>> round(float(swamee_jain_friction_factor(2e5, 0.1 / 107.1)), 4)
    0.0209
    >>> swamee_jain_friction_factor([1000.0, 1e5], 0.0).round(4)
    array([0.064 , 0.0179])
    """
    re = _positive("reynolds", reynolds)
    rr = _nonnegative("relative_roughness", relative_roughness)
    re_turbulent = np.maximum(re, LAMINAR_REYNOLDS)
    turbulent = 0.25 / np.log10(rr / 3.7 + 5.74 / re_turbulent**0.9) ** 2
    return np.where(re < LAMINAR_REYNOLDS, 64.0 / re, turbulent)[()]


def colebrook_white_friction_factor(
    reynolds: ArrayLike, relative_roughness: ArrayLike
) -> FloatOrArray:
    """Darcy friction factor from the implicit Colebrook-White (1939) equation.

    Solves 1/√f = -2·log10(ε/(3.7·d) + 2.51/(Re·√f)) by fixed-point iteration on 1/√f,
    started from Swamee-Jain, to a relative change below 10⁻¹⁰ (laminar f = 64/Re below
    Re 2300). Used to check :func:`swamee_jain_friction_factor`, which agrees within
    about 2 %.

    Parameters
    ----------
    reynolds
        Reynolds number, > 0.
    relative_roughness
        Absolute roughness over inner diameter, ε/d.

    Returns
    -------
    The Darcy friction factor.

    Raises
    ------
    ValueError
        If a Reynolds number is not positive or a roughness is negative.
    RuntimeError
        If the iteration does not converge (it does for all Re ≥ 2300).

    Examples
    --------
    >>> round(float(colebrook_white_friction_factor(2e5, 0.1 / 107.1)), 4)
    0.0208
    """
    re = _positive("reynolds", reynolds)
    rr = _nonnegative("relative_roughness", relative_roughness)
    re_turbulent = np.maximum(re, LAMINAR_REYNOLDS)
    x = 1.0 / np.sqrt(swamee_jain_friction_factor(re_turbulent, rr))
    for _ in range(_MAX_ITERATIONS):
        x_new = -2.0 * np.log10(rr / 3.7 + 2.51 * x / re_turbulent)
        converged = np.all(np.abs(x_new - x) <= 1e-11 * x_new)
        x = x_new
        if converged:
            break
    else:  # pragma: no cover - the iteration contracts by a factor of ~0.1 per step
        raise RuntimeError("Colebrook-White iteration did not converge")
    return np.where(re < LAMINAR_REYNOLDS, 64.0 / re, 1.0 / x**2)[()]


def pressure_gradient_pa_per_m(
    velocity_m_per_s: ArrayLike,
    inner_diameter_m: ArrayLike,
    *,
    density_kg_per_m3: ArrayLike,
    viscosity_pa_s: ArrayLike,
    roughness_m: ArrayLike,
) -> FloatOrArray:
    """Frictional pressure gradient along a full pipe, by Darcy-Weisbach.

    Δp/L = f·ρ·v²/(2·d), with f from :func:`swamee_jain_friction_factor`; in laminar
    flow (Re < 2300) this is Hagen-Poiseuille, Δp/L = 32·μ·v/d².

    Parameters
    ----------
    velocity_m_per_s
        Mean flow velocity, ≥ 0.
    inner_diameter_m
        Inner diameter of the pipe.
    density_kg_per_m3
        Density of the water.
    viscosity_pa_s
        Dynamic viscosity of the water.
    roughness_m
        Absolute roughness of the pipe wall.

    Returns
    -------
    Pressure gradient in Pa per metre of pipe.

    Raises
    ------
    ValueError
        If a velocity or roughness is negative, or a diameter is not positive.

    Examples
    --------
    DN100 (d = 107.1 mm) at 1.5 m/s with water at 65 °C:

    >>> round(float(pressure_gradient_pa_per_m(
    ...     1.5, 0.1071, density_kg_per_m3=980.5, viscosity_pa_s=4.33e-4, roughness_m=1e-4
    ... )), 1)
    209.0
    """
    v = _nonnegative("velocity_m_per_s", velocity_m_per_s)
    d = _positive("inner_diameter_m", inner_diameter_m)
    rho = np.asarray(density_kg_per_m3, dtype=float)
    mu = np.asarray(viscosity_pa_s, dtype=float)
    eps = _nonnegative("roughness_m", roughness_m)
    re = rho * v * d / mu
    f = swamee_jain_friction_factor(np.maximum(re, LAMINAR_REYNOLDS), eps / d)
    turbulent = f * rho * v**2 / (2.0 * d)
    laminar = 32.0 * mu * v / d**2
    return np.where(re < LAMINAR_REYNOLDS, laminar, turbulent)[()]


def velocity_at_pressure_gradient_m_per_s(
    pressure_gradient_pa_per_m: ArrayLike,
    inner_diameter_m: ArrayLike,
    *,
    density_kg_per_m3: ArrayLike,
    viscosity_pa_s: ArrayLike,
    roughness_m: ArrayLike,
) -> FloatOrArray:
    """The velocity at which :func:`pressure_gradient_pa_per_m` equals a given gradient.

    In turbulent flow, v = √(2·d·(Δp/L)/(ρ·f(Re(v)))) is solved by fixed-point iteration
    (it contracts by a factor of about 0.1 per step) to a relative change below 10⁻¹².
    In laminar flow v = (Δp/L)·d²/(32·μ). The friction factor jumps at Re = 2300, so
    a few gradients have no exact velocity; for them the velocity at Re = 2300 is
    returned, the highest whose gradient stays within the limit.

    Parameters
    ----------
    pressure_gradient_pa_per_m
        Pressure gradient to meet, ≥ 0.
    inner_diameter_m
        Inner diameter of the pipe.
    density_kg_per_m3
        Density of the water.
    viscosity_pa_s
        Dynamic viscosity of the water.
    roughness_m
        Absolute roughness of the pipe wall.

    Returns
    -------
    Mean flow velocity in m/s.

    Raises
    ------
    ValueError
        If a gradient or roughness is negative, or a diameter is not positive.
    RuntimeError
        If the iteration does not converge.

    Examples
    --------
    The inverse of the example of :func:`pressure_gradient_pa_per_m`:

    >>> round(float(velocity_at_pressure_gradient_m_per_s(
    ...     209.0, 0.1071, density_kg_per_m3=980.5, viscosity_pa_s=4.33e-4, roughness_m=1e-4
    ... )), 3)
    1.5
    """
    g = _nonnegative("pressure_gradient_pa_per_m", pressure_gradient_pa_per_m)
    d = _positive("inner_diameter_m", inner_diameter_m)
    rho = np.asarray(density_kg_per_m3, dtype=float)
    mu = np.asarray(viscosity_pa_s, dtype=float)
    eps = _nonnegative("roughness_m", roughness_m)
    g, d, rho, mu, eps = np.broadcast_arrays(g, d, rho, mu, eps)

    v_laminar = g * d**2 / (32.0 * mu)
    v_transition = LAMINAR_REYNOLDS * mu / (rho * d)

    # Turbulent branch: f is evaluated at Re >= 2300 so that the iteration stays on it.
    k = 2.0 * d * g / rho
    v = np.sqrt(k / 0.02)
    for _ in range(_MAX_ITERATIONS):
        re = np.maximum(rho * v * d / mu, LAMINAR_REYNOLDS)
        v_new = np.sqrt(k / swamee_jain_friction_factor(re, eps / d))
        converged = np.all(np.abs(v_new - v) <= _TOLERANCE * np.maximum(v_new, 1e-300))
        v = v_new
        if converged:
            break
    else:  # pragma: no cover - the iteration contracts by a factor of ~0.1 per step
        raise RuntimeError("velocity iteration did not converge")

    velocity = np.where(
        v_laminar < v_transition, v_laminar, np.where(v >= v_transition, v, v_transition)
    )
    return velocity[()]


def velocity_cap_m_per_s(dn: ArrayLike, points: Sequence[tuple[float, float]]) -> FloatOrArray:
    """Velocity cap of a pipe size, interpolated linearly in DN.

    Between the points the cap is linear in DN; below the first and above the last point
    it stays flat.

    Parameters
    ----------
    dn
        Nominal diameter(s).
    points
        ``[(dn, velocity_m_per_s), ...]`` in any order, with distinct DNs; the
        project default is ``[(50, 1.0), (100, 2.0), (200, 2.0), (400, 3.0)]``.

    Returns
    -------
    Highest allowed velocity in m/s.

    Raises
    ------
    ValueError
        If there are no points, two share a DN, or a velocity is not positive.

    Examples
    --------
    >>> points = [(50, 1.0), (100, 2.0), (200, 2.0), (400, 3.0)]
    >>> velocity_cap_m_per_s([20, 50, 80, 150, 300, 600], points)
    array([1. , 1. , 1.6, 2. , 2.5, 3. ])
    """
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[0] == 0 or pts.shape[1] != 2:
        raise ValueError("points must be a non-empty list of (dn, velocity_m_per_s) pairs")
    pts = pts[np.argsort(pts[:, 0])]
    if np.any(np.diff(pts[:, 0]) == 0):
        raise ValueError("points must not repeat a DN")
    if np.any(pts[:, 1] <= 0):
        raise ValueError("velocities in points must be positive")
    return np.interp(np.asarray(dn, dtype=float), pts[:, 0], pts[:, 1])[()]


def pipe_capacity_mw(
    inner_diameter_m: ArrayLike,
    velocity_m_per_s: ArrayLike,
    delta_t_k: ArrayLike,
    *,
    density_kg_per_m3: ArrayLike,
    specific_heat_j_per_kgk: ArrayLike,
) -> FloatOrArray:
    """Heat carried by a pipe, P = ρ·c_p·(π·d²/4)·v·ΔT.

    Parameters
    ----------
    inner_diameter_m
        Inner diameter of the pipe.
    velocity_m_per_s
        Mean flow velocity.
    delta_t_k
        Supply minus return temperature.
    density_kg_per_m3
        Density of the water.
    specific_heat_j_per_kgk
        Specific heat capacity of the water.

    Returns
    -------
    Heat flow in MW.

    Examples
    --------
    >>> round(float(pipe_capacity_mw(
    ...     0.1071, 1.5, 30.0, density_kg_per_m3=980.5, specific_heat_j_per_kgk=4187.0
    ... )), 3)
    1.664
    """
    d = np.asarray(inner_diameter_m, dtype=float)
    power_w = (
        np.asarray(density_kg_per_m3, dtype=float)
        * np.asarray(specific_heat_j_per_kgk, dtype=float)
        * (np.pi * d**2 / 4.0)
        * np.asarray(velocity_m_per_s, dtype=float)
        * np.asarray(delta_t_k, dtype=float)
    )
    return (power_w / 1e6)[()]


def size_pipes(
    design_network_heat_mw: ArrayLike,
    catalogue: pd.DataFrame,
    *,
    supply_temp_c: float,
    return_temp_c: float,
    max_pressure_gradient_pa_per_m: float,
    roughness_mm: float,
    velocity_cap_points: Sequence[tuple[float, float]],
) -> pd.DataFrame:
    """Choose the smallest catalogue DN whose capacity covers each design heat flow.

    The capacity of a DN is :func:`pipe_capacity_mw` at the lower of the velocity that
    meets ``max_pressure_gradient_pa_per_m`` and :func:`velocity_cap_m_per_s`, with water
    properties at the mean of supply and return temperature and ΔT = supply - return.

    Parameters
    ----------
    design_network_heat_mw
        Design (peak) heat flow of each link, ≥ 0. A pandas Series keeps its index.
    catalogue
        Pipe catalogue of one series, with columns ``dn`` and ``inner_diameter_mm``
        (see :func:`pipeline.data.load_pipe_catalogue`).
    supply_temp_c
        Design supply temperature.
    return_temp_c
        Design return temperature, below the supply temperature.
    max_pressure_gradient_pa_per_m
        Pressure-gradient limit.
    roughness_mm
        Absolute pipe roughness.
    velocity_cap_points
        ``[(dn, velocity_m_per_s), ...]``, see :func:`velocity_cap_m_per_s`.

    Returns
    -------
    pandas.DataFrame
        One row per design heat flow, in the same order, with columns ``dn`` (nullable
        Int64, <NA> when even the largest DN is too small), ``inner_diameter_mm``,
        ``capacity_mw``, ``velocity_m_per_s`` and ``pressure_gradient_pa_per_m`` (both at
        the design flow) and ``mass_flow_kg_per_s``. Pipe columns are NaN without a DN.

    Raises
    ------
    ValueError
        If return is not below supply, a design heat flow is negative, or the catalogue
        is empty, lacks a column or repeats a DN.

    Examples
    --------
    >>> import pandas as pd
    >>> catalogue = pd.DataFrame({"dn": [50, 100, 150], "inner_diameter_mm": [54.5, 107.1, 160.3]})
    >>> sized = size_pipes(
    ...     [0.1, 1.0, 50.0], catalogue, supply_temp_c=80.0, return_temp_c=50.0,
    ...     max_pressure_gradient_pa_per_m=150.0, roughness_mm=0.1,
    ...     velocity_cap_points=[(50, 1.0), (100, 2.0), (200, 2.0), (400, 3.0)],
    ... )
    >>> sized["dn"].tolist()
    [50, 100, <NA>]
    >>> sized["capacity_mw"].round(2).tolist()
    [0.24, 1.4, nan]
    """
    if not supply_temp_c > return_temp_c:
        raise ValueError("supply_temp_c must be above return_temp_c")
    index = design_network_heat_mw.index if isinstance(design_network_heat_mw, pd.Series) else None
    heat_mw = _nonnegative("design_network_heat_mw", design_network_heat_mw).reshape(-1)
    missing = {"dn", "inner_diameter_mm"} - set(catalogue.columns)
    if missing:
        raise ValueError(f"catalogue lacks column(s) {sorted(missing)}")
    pipes = catalogue.sort_values("dn")
    if pipes.empty:
        raise ValueError("catalogue is empty")
    if pipes["dn"].duplicated().any():
        raise ValueError("catalogue repeats a DN; filter it to one series first")

    mean_temp_c = (supply_temp_c + return_temp_c) / 2.0
    delta_t_k = supply_temp_c - return_temp_c
    rho = water_density_kg_per_m3(mean_temp_c)
    mu = water_dynamic_viscosity_pa_s(mean_temp_c)
    cp = water_specific_heat_j_per_kgk(mean_temp_c)
    roughness_m = roughness_mm / 1000.0

    dn = pipes["dn"].to_numpy(dtype=np.int64)
    d_m = pipes["inner_diameter_mm"].to_numpy(dtype=float) / 1000.0
    v_gradient = velocity_at_pressure_gradient_m_per_s(
        max_pressure_gradient_pa_per_m,
        d_m,
        density_kg_per_m3=rho,
        viscosity_pa_s=mu,
        roughness_m=roughness_m,
    )
    v_max = np.minimum(v_gradient, velocity_cap_m_per_s(dn, velocity_cap_points))
    capacity = np.atleast_1d(
        pipe_capacity_mw(d_m, v_max, delta_t_k, density_kg_per_m3=rho, specific_heat_j_per_kgk=cp)
    )

    # The running maximum makes "first DN with capacity >= heat" a binary search even if a
    # catalogue were not monotone (the shipped one is; a test checks it).
    pick = np.searchsorted(np.maximum.accumulate(capacity), heat_mw, side="left")
    found = pick < len(dn)
    safe = np.where(found, pick, 0)

    mass_flow = heat_mw * 1e6 / (cp * delta_t_k)
    chosen_d_m = np.where(found, d_m[safe], np.nan)
    velocity = mass_flow / (rho * np.pi * chosen_d_m**2 / 4.0)
    gradient = np.full_like(heat_mw, np.nan)
    gradient[found] = pressure_gradient_pa_per_m(
        velocity[found],
        chosen_d_m[found],
        density_kg_per_m3=rho,
        viscosity_pa_s=mu,
        roughness_m=roughness_m,
    )
    return pd.DataFrame(
        {
            "dn": pd.arrays.IntegerArray(np.where(found, dn[safe], 0), mask=~found),
            "inner_diameter_mm": chosen_d_m * 1000.0,
            "capacity_mw": np.where(found, capacity[safe], np.nan),
            "velocity_m_per_s": velocity,
            "pressure_gradient_pa_per_m": gradient,
            "mass_flow_kg_per_s": mass_flow,
        },
        index=index,
    )


def annual_pumping_electricity_mwh(
    *,
    pressure_gradient_pa_per_m: ArrayLike,
    trench_length_m: ArrayLike,
    mass_flow_kg_per_s: ArrayLike,
    density_kg_per_m3: ArrayLike,
    pump_efficiency: ArrayLike,
    full_load_hours_h: ArrayLike,
    station_pressure_drop_pa: ArrayLike = 0.0,
) -> FloatOrArray:
    """Electricity to pump the water around a link in a year, Δp·V̇/η_pump × hours.

    Both pipes are pumped, so the pressure drop is Δp = (Δp/L)·2·L + Δp_stations for a
    trench of length L: pipe friction, plus the heat exchangers and substations at the
    ends (fittings and valves are not counted). The volume flow is V̇ = ṁ/ρ. The power at
    the design flow runs for ``full_load_hours_h``: the annual heat sent divided by the
    design heat flow.

    Parameters
    ----------
    pressure_gradient_pa_per_m
        Friction pressure gradient at the design flow (:func:`size_pipes`), ≥ 0.
    trench_length_m
        Length of the link (each of supply and return).
    mass_flow_kg_per_s
        Design mass flow, ≥ 0.
    density_kg_per_m3
        Density of the water.
    pump_efficiency
        Pump and motor efficiency, 0-1.
    full_load_hours_h
        Hours a year at the design flow that carry the year's heat, ≥ 0.
    station_pressure_drop_pa
        Pressure drop at the design flow of the heat exchangers and substations the
        water passes, ≥ 0 (about 100 kPa; see ``docs/methodology.md``).

    Returns
    -------
    Electricity in MWh per year.

    Raises
    ------
    ValueError
        If the efficiency is not in (0, 1] or a gradient, length, flow or number of hours
        is negative.

    Examples
    --------
    DN100 at 1 MW (7.95 kg/s at 30 K, 975 kg/m³, 60 Pa/m) over 1 km, η = 0.7, 6000 h:
    Δp = 60 × 2000 = 120 kPa, V̇ = 8.154 l/s, P = 1398 W, so 8.39 MWh a year.

    >>> round(float(annual_pumping_electricity_mwh(
    ...     pressure_gradient_pa_per_m=60.0, trench_length_m=1000.0, mass_flow_kg_per_s=7.95,
    ...     density_kg_per_m3=975.0, pump_efficiency=0.7, full_load_hours_h=6000.0,
    ... )), 2)
    8.39

    With 100 kPa at the heat exchanger and substation, Δp = 220 kPa: 15.38 MWh a year.

    >>> round(float(annual_pumping_electricity_mwh(
    ...     pressure_gradient_pa_per_m=60.0, trench_length_m=1000.0, mass_flow_kg_per_s=7.95,
    ...     density_kg_per_m3=975.0, pump_efficiency=0.7, full_load_hours_h=6000.0,
    ...     station_pressure_drop_pa=100_000.0,
    ... )), 2)
    15.38
    """
    eta = np.asarray(pump_efficiency, dtype=float)
    if np.any((eta <= 0) | (eta > 1)):
        raise ValueError("pump_efficiency must be in (0, 1]")
    pressure_drop_pa = _nonnegative("pressure_gradient_pa_per_m", pressure_gradient_pa_per_m) * (
        2.0 * _nonnegative("trench_length_m", trench_length_m)
    ) + _nonnegative("station_pressure_drop_pa", station_pressure_drop_pa)
    volume_flow_m3_per_s = _nonnegative("mass_flow_kg_per_s", mass_flow_kg_per_s) / _positive(
        "density_kg_per_m3", density_kg_per_m3
    )
    power_w = pressure_drop_pa * volume_flow_m3_per_s / eta
    return (power_w * _nonnegative("full_load_hours_h", full_load_hours_h) / 1e6)[()]
