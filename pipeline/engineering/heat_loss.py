"""Steady-state heat loss of buried pre-insulated pipes.

Single pipes, supply and return side by side in one trench, by the method of EN 13941
(Wallentén 1991; Bøhm 2000): each pipe's insulation and casing resistance, the soil
resistance with the ground-surface resistance folded into an effective depth, and the
thermal interaction of the two pipes.

References
----------
Wallentén, P. (1991). *Steady-state heat loss from insulated pipes*. Licentiate thesis,
Report TVBH-3017, Department of Building Physics, Lund Institute of Technology.

Bøhm, B. (2000). On transient heat losses from buried district heating pipes.
*International Journal of Energy Research* 24(15), 1311-1334.

EN 13941 Design and installation of pre-insulated bonded pipe systems for district heating.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from pipeline.engineering.water import FloatOrArray

GROUND_SURFACE_RESISTANCE_M2K_PER_W = 0.0685
"""R_0, the heat-transfer resistance of the ground surface (EN 13941 method)."""


def single_pair_u_coefficients_w_per_mk(
    *,
    steel_outer_diameter_m: ArrayLike,
    insulation_outer_diameter_m: ArrayLike,
    casing_outer_diameter_m: ArrayLike,
    lambda_insulation_w_per_mk: ArrayLike,
    lambda_casing_w_per_mk: ArrayLike,
    soil_conductivity_w_per_mk: ArrayLike,
    cover_depth_m: ArrayLike,
    casing_clearance_m: ArrayLike,
    surface_resistance_m2k_per_w: ArrayLike = GROUND_SURFACE_RESISTANCE_M2K_PER_W,
) -> tuple[FloatOrArray, FloatOrArray]:
    """Heat-loss coefficients U_1 and U_2 of a pair of single pipes in one trench.

    With depth to the pipe centre Z = cover + D_c/2 and centre spacing C = D_c + clearance:

    - R_i = ln(D_PUR/d_o)/(2π·λ_i) + ln(D_c/D_PUR)/(2π·λ_PE)
    - Z_c = Z + λ_s·R_0
    - R_s = ln(4·Z_c/D_c)/(2π·λ_s)
    - R_h = ln(1 + (2·Z_c/C)²)/(4π·λ_s)
    - U_1 = (R_s + R_i)/((R_s + R_i)² - R_h²), U_2 = R_h/((R_s + R_i)² - R_h²)

    The steel wall's resistance is negligible and left out, as in the method.

    Parameters
    ----------
    steel_outer_diameter_m
        Outer diameter of the steel media pipe, d_o.
    insulation_outer_diameter_m
        Outer diameter of the PUR insulation, D_PUR.
    casing_outer_diameter_m
        Outer diameter of the PE casing, D_c.
    lambda_insulation_w_per_mk
        Conductivity of the insulation (aged PUR 0.027 by default in config).
    lambda_casing_w_per_mk
        Conductivity of the casing (PE, 0.4).
    soil_conductivity_w_per_mk
        Conductivity of the soil, λ_s.
    cover_depth_m
        Soil cover from the ground surface to the top of the casing.
    casing_clearance_m
        Horizontal clearance between the two casings.
    surface_resistance_m2k_per_w
        Ground-surface resistance R_0.

    Returns
    -------
    tuple
        (U_1, U_2) in W/(m·K) per pipe: U_1 couples a pipe to its own temperature,
        U_2 to the other pipe's.

    Raises
    ------
    ValueError
        If the diameters are not increasing from steel to insulation to casing, or a
        conductivity, the cover or the clearance is out of range.

    Examples
    --------
    Logstor series 2 DN100, 0.6 m cover, 0.15 m clearance, soil 1.5 W/(m·K):

    >>> u1, u2 = single_pair_u_coefficients_w_per_mk(
    ...     steel_outer_diameter_m=0.1143, insulation_outer_diameter_m=0.2182,
    ...     casing_outer_diameter_m=0.225, lambda_insulation_w_per_mk=0.027,
    ...     lambda_casing_w_per_mk=0.4, soil_conductivity_w_per_mk=1.5,
    ...     cover_depth_m=0.6, casing_clearance_m=0.15,
    ... )
    >>> round(float(u1), 4), round(float(u2), 4)
    (0.2438, 0.0094)
    """
    d_o = np.asarray(steel_outer_diameter_m, dtype=float)
    d_pur = np.asarray(insulation_outer_diameter_m, dtype=float)
    d_c = np.asarray(casing_outer_diameter_m, dtype=float)
    lam_i = np.asarray(lambda_insulation_w_per_mk, dtype=float)
    lam_pe = np.asarray(lambda_casing_w_per_mk, dtype=float)
    lam_s = np.asarray(soil_conductivity_w_per_mk, dtype=float)
    cover = np.asarray(cover_depth_m, dtype=float)
    clearance = np.asarray(casing_clearance_m, dtype=float)
    r_0 = np.asarray(surface_resistance_m2k_per_w, dtype=float)
    if np.any(d_o <= 0) or np.any(d_pur <= d_o) or np.any(d_c < d_pur):
        raise ValueError(
            "diameters must satisfy 0 < steel outer < insulation outer <= casing outer"
        )
    if np.any(lam_i <= 0) or np.any(lam_pe <= 0) or np.any(lam_s <= 0):
        raise ValueError("conductivities must be positive")
    if np.any(cover < 0) or np.any(clearance < 0) or np.any(r_0 < 0):
        raise ValueError("cover depth, clearance and surface resistance must not be negative")

    depth_m = cover + d_c / 2.0
    spacing_m = d_c + clearance
    r_i = np.log(d_pur / d_o) / (2 * np.pi * lam_i) + np.log(d_c / d_pur) / (2 * np.pi * lam_pe)
    z_c = depth_m + lam_s * r_0
    r_s = np.log(4.0 * z_c / d_c) / (2 * np.pi * lam_s)
    r_h = np.log(1.0 + (2.0 * z_c / spacing_m) ** 2) / (4 * np.pi * lam_s)
    r = r_s + r_i
    denominator = r**2 - r_h**2
    return (r / denominator)[()], (r_h / denominator)[()]


def single_pair_heat_loss_w_per_m(
    u1_w_per_mk: ArrayLike,
    u2_w_per_mk: ArrayLike,
    *,
    supply_temp_c: ArrayLike,
    return_temp_c: ArrayLike,
    ground_temp_c: ArrayLike,
) -> tuple[FloatOrArray, FloatOrArray]:
    """Heat lost by the supply and the return pipe, per metre of trench.

    - q_s = U_1·(T_s - T_g) - U_2·(T_r - T_g)
    - q_r = U_1·(T_r - T_g) - U_2·(T_s - T_g)

    Their sum is (U_1 - U_2)·(T_s + T_r - 2·T_g).

    Parameters
    ----------
    u1_w_per_mk, u2_w_per_mk
        Coefficients from :func:`single_pair_u_coefficients_w_per_mk`.
    supply_temp_c
        Supply water temperature.
    return_temp_c
        Return water temperature.
    ground_temp_c
        Undisturbed ground temperature.

    Returns
    -------
    tuple
        (q_supply, q_return) in W per metre of trench. A pipe colder than its neighbour
        can gain heat (negative q).

    Examples
    --------
    >>> q_s, q_r = single_pair_heat_loss_w_per_m(
    ...     0.2438, 0.0094, supply_temp_c=80.0, return_temp_c=50.0, ground_temp_c=10.0
    ... )
    >>> round(float(q_s), 2), round(float(q_r), 2), round(float(q_s + q_r), 2)
    (16.69, 9.09, 25.78)
    """
    u1 = np.asarray(u1_w_per_mk, dtype=float)
    u2 = np.asarray(u2_w_per_mk, dtype=float)
    ground = np.asarray(ground_temp_c, dtype=float)
    excess_supply_k = np.asarray(supply_temp_c, dtype=float) - ground
    excess_return_k = np.asarray(return_temp_c, dtype=float) - ground
    q_supply = u1 * excess_supply_k - u2 * excess_return_k
    q_return = u1 * excess_return_k - u2 * excess_supply_k
    return q_supply[()], q_return[()]


def annual_heat_loss_mwh(
    heat_loss_w_per_m: ArrayLike, length_m: ArrayLike, hours_h: ArrayLike
) -> FloatOrArray:
    """Heat lost along a link in a year, q·L·hours.

    Parameters
    ----------
    heat_loss_w_per_m
        Heat loss per metre of trench (both pipes, for the link's total).
    length_m
        Trench length of the link.
    hours_h
        Hours a year the pipes are warm; 8,760 only for a link in service all year.

    Returns
    -------
    Heat lost in MWh per year.

    Examples
    --------
    >>> round(float(annual_heat_loss_mwh(25.8, 1500.0, 8760.0)), 1)
    339.0
    """
    energy_wh = (
        np.asarray(heat_loss_w_per_m, dtype=float)
        * np.asarray(length_m, dtype=float)
        * np.asarray(hours_h, dtype=float)
    )
    return (energy_wh / 1e6)[()]


def supply_temp_drop_k(
    supply_heat_loss_w_per_m: ArrayLike,
    length_m: ArrayLike,
    mass_flow_kg_per_s: ArrayLike,
    specific_heat_j_per_kgk: ArrayLike,
) -> FloatOrArray:
    """Fall of the supply temperature along a link, ΔT = q_s·L/(ṁ·c_p).

    The loss per metre is taken at the inlet temperature, which slightly overstates the
    drop on long links at low flow.

    Parameters
    ----------
    supply_heat_loss_w_per_m
        Heat loss of the supply pipe per metre.
    length_m
        Length of the link.
    mass_flow_kg_per_s
        Mass flow in the supply pipe, ≥ 0.
    specific_heat_j_per_kgk
        Specific heat capacity of the water.

    Returns
    -------
    Temperature drop in K; infinite where the mass flow is zero.

    Raises
    ------
    ValueError
        If a mass flow is negative.

    Examples
    --------
    A DN100 supply pipe losing 16.7 W/m over 1.5 km at 8 kg/s (1 MW at ΔT 30 K):

    >>> round(float(supply_temp_drop_k(16.7, 1500.0, 8.0, 4190.0)), 3)
    0.747
    """
    m_dot = np.asarray(mass_flow_kg_per_s, dtype=float)
    if np.any(m_dot < 0):
        raise ValueError("mass_flow_kg_per_s must not be negative")
    loss_w = np.asarray(supply_heat_loss_w_per_m, dtype=float) * np.asarray(length_m, dtype=float)
    with np.errstate(divide="ignore"):
        drop = loss_w / (m_dot * np.asarray(specific_heat_j_per_kgk, dtype=float))
    return drop[()]
