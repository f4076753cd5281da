"""Tables of points: the site list, the Hotmaps industrial database and building demand.

- :func:`read_csv`: any CSV with pandas, one-line errors.
- :func:`read_sites`: the user's site list, a CSV with ``lat``/``lon`` or ``x``/``y``, or
  a point layer GDAL reads; each row keeps a ``row_label`` (``line N`` of a CSV,
  ``feature N`` of a layer) for messages.
- :func:`read_hotmaps_industrial`: the Hotmaps industrial database CSV as sites.
- :func:`read_building_demand`: building-level annual demand, points or polygons.

Numbers are checked at the border: coordinates and required values must be finite
numbers, optional numbers may be empty but never infinite, and each InputError names the
file, the rows and the column. A file with a header but no rows says so.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from pipeline.config import BuildingDemandConfig, HotmapsIndustrialConfig, SourcesConfig
from pipeline.errors import InputError
from pipeline.readers.checks import (
    POINTS,
    POLYGONS,
    Expect,
    check_finite,
    listing,
    require_columns,
    require_file,
)
from pipeline.readers.gdal import read_vector

log = logging.getLogger("heatlink.readers.tables")

CSV_FIX = "save it as comma-separated UTF-8 text with a header row"
SITE_NUMBERS = ("it_load_mw", "heat_output_mw", "source_temp_c")
HOURS_PER_YEAR = 8760.0
HOTMAPS_COLUMNS = ["SiteID", "SiteName", "geom", "Excess_Heat_Total"]
HOTMAPS_BANDS_C = {
    "Excess_Heat_100-200C": 150.0,
    "Excess_Heat_200-500C": 350.0,
    "Excess_Heat_500C": 500.0,
}
HOTMAPS_POINT = r"^(?:SRID=(\d+);)?\s*POINT\s*\(\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)\s*\)$"


def read_csv(path: Path, *, fix: str = CSV_FIX, **kwargs: object) -> pd.DataFrame:
    """Read a CSV with pandas; InputError (naming the file and ``fix``) when it cannot.

    A comma-separated file (the default) whose header is one column holding ``;`` or a
    tab was saved with another separator, and is refused with that said.
    """
    try:
        df = pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            f"not a readable CSV ({str(exc).splitlines()[0]})", where=path, fix=fix
        ) from None
    header = str(df.columns[0]) if len(df.columns) == 1 else ""
    other = next((sep for sep in (";", "\t") if sep in header), None)
    if "sep" not in kwargs and other is not None:
        name = "semicolons" if other == ";" else "tabs"
        raise InputError(
            f"the columns are separated by {name}, not commas (header: {header[:80]!r})",
            where=path,
            fix=fix,
        )
    return df


def require_rows(df: pd.DataFrame, *, file: Path, what: str = "rows") -> None:
    """InputError when a table or layer has no rows."""
    if df.empty:
        raise InputError(
            f"the file has no {what} (only a header, or an empty layer)",
            where=file,
            fix="add at least one row, or remove the key that names the file",
        )


def csv_labels(n: int) -> list[str]:
    """``line N`` of each data row of a CSV with one header line (the first is line 2)."""
    return [f"line {i + 2}" for i in range(n)]


def points_from_columns(
    df: pd.DataFrame, *, file: Path, crs: str | int | None, crs_key: str, labels: list[str]
) -> gpd.GeoDataFrame:
    """Points from ``lat``/``lon`` (EPSG:4326) or ``x``/``y`` (in ``crs``), checked finite.

    The coordinate columns are dropped; the other columns are kept.
    """
    if {"lat", "lon"} <= set(df.columns):
        xcol, ycol, src_crs = "lon", "lat", CRS.from_epsg(4326)
    elif {"x", "y"} <= set(df.columns) and crs is not None:
        xcol, ycol, src_crs = "x", "y", CRS.from_user_input(crs)
    elif {"x", "y"} <= set(df.columns):
        raise InputError(
            "x/y columns but no CRS declared",
            where=file,
            fix=f"set '{crs_key}' in the region file (for example 27700)",
        )
    else:
        raise InputError(
            f"no coordinate columns (columns: {', '.join(map(str, df.columns))})",
            where=file,
            fix=f"add lat and lon columns (EPSG:4326), or x and y with '{crs_key}'",
        )
    check_finite(df, [ycol, xcol], file=file, labels=labels, required=[ycol, xcol])
    x = pd.to_numeric(df[xcol], errors="coerce")
    y = pd.to_numeric(df[ycol], errors="coerce")
    out_of_range = ((y.abs() > 90) | (x.abs() > 180)).to_numpy()
    if xcol == "lon" and out_of_range.any():
        rows = [labels[i] for i in np.flatnonzero(out_of_range)]
        raise InputError(
            f"lat/lon out of range at {listing(rows)}",
            where=file,
            fix="lat must be within +-90 and lon within +-180; are the columns swapped?",
        )
    points = gpd.points_from_xy(x, y)
    return gpd.GeoDataFrame(df.drop(columns=[xcol, ycol]), geometry=points, crs=src_crs)


def read_sites(cfg: SourcesConfig) -> gpd.GeoDataFrame:
    """Read the site file into points in the file's own CRS, with ``row_label``.

    Polygons give a point on their surface. Coordinates and ``it_load_mw``,
    ``heat_output_mw`` and ``source_temp_c`` are checked finite where given.
    """
    path = cfg.path
    require_file(path, key="sources.path")
    if path.suffix.lower() in (".csv", ".txt"):
        df = read_csv(path, dtype={"site_id": str, "name": str}, skipinitialspace=True)
        df.columns = [str(c).strip() for c in df.columns]
        require_rows(df, file=path, what="sites")
        labels = csv_labels(len(df))
        gdf = points_from_columns(df, file=path, crs=cfg.crs, crs_key="sources.crs", labels=labels)
    else:
        gdf = read_vector(
            path, key="sources.path", layer=cfg.layer, expect=Expect(what="sites", on_bad="error")
        )
        require_rows(gdf, file=path, what="sites")
        labels = [f"feature {i + 1}" for i in range(len(gdf))]
        if not gdf.geom_type.isin(list(POINTS)).all():
            kinds = sorted(set(gdf.geom_type) - POINTS)
            log.info("sources: using a point on the surface of %s geometries", "/".join(kinds))
            gdf["geometry"] = gdf.geometry.representative_point()
    check_finite(gdf, SITE_NUMBERS, file=path, labels=labels)
    gdf["row_label"] = labels
    return gdf


def _hotmaps_locations(df: pd.DataFrame, *, file: Path, labels: np.ndarray) -> pd.DataFrame:
    """``x``, ``y`` (lon, lat) of each row from its ``geom``; NaN where it is empty."""
    geom = df["geom"].str.strip()
    located = (geom != "").to_numpy()
    parsed = geom.str.extract(HOTMAPS_POINT)
    bad = located & (parsed[1].isna() | ~parsed[0].fillna("4326").eq("4326")).to_numpy()
    if bad.any():
        raise InputError(
            f"location is not 'SRID=4326;POINT(lon lat)' at {listing(list(labels[bad]))} "
            f"(got {geom[bad].iloc[0]!r})",
            where=file,
            fix="correct the geom value, or leave it empty to skip the row",
        )
    xy = pd.DataFrame({"x": parsed[1], "y": parsed[2]}, index=df.index)
    check_finite(xy[located], ["x", "y"], file=file, labels=list(labels[located]))
    return xy.astype(float)


def _hotmaps_temperature(df: pd.DataFrame, cfg: HotmapsIndustrialConfig) -> np.ndarray:
    """Source temperature: the config's, else the band holding most of a site's heat."""
    present = [c for c in HOTMAPS_BANDS_C if c in df.columns]
    if cfg.source_temp_c is not None or not present:
        default = cfg.source_temp_c if cfg.source_temp_c is not None else 150.0
        return np.full(len(df), default)
    band_heat = df[present].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy()
    return np.array([HOTMAPS_BANDS_C[c] for c in present])[band_heat.argmax(axis=1)]


def read_hotmaps_industrial(cfg: HotmapsIndustrialConfig) -> gpd.GeoDataFrame:
    """Read the Hotmaps industrial database CSV as industrial sites in EPSG:4326.

    Excess heat (GWh/a) becomes ``heat_output_mw`` as a year-round mean, GWh/a x 1000 /
    8760 h. Rows without a location are skipped and counted; a location that is not
    ``SRID=4326;POINT(lon lat)``, or a heat figure that is not a finite number, stops
    the run with its line number.
    """
    path = cfg.path
    require_file(path, key="sources.hotmaps_industrial.path")
    df = read_csv(
        path,
        fix="give the Hotmaps industrial database CSV (';'-separated) as downloaded",
        sep=";",
        dtype=str,
        keep_default_na=False,
    )
    require_columns(
        df.columns,
        HOTMAPS_COLUMNS,
        file=path,
        fix="is this the Hotmaps industrial database? Give the CSV with SiteID, SiteName, "
        "geom and Excess_Heat_Total columns",
    )
    labels = np.array(csv_labels(len(df)), dtype=object)
    xy = _hotmaps_locations(df, file=path, labels=labels)
    heat_text = df["Excess_Heat_Total"].replace("", "0")
    check_finite(
        df.assign(Excess_Heat_Total=heat_text),
        ["Excess_Heat_Total", *HOTMAPS_BANDS_C],
        file=path,
        labels=list(labels),
        required=["Excess_Heat_Total"],
    )
    heat = pd.to_numeric(heat_text)
    located = xy["x"].notna()
    if (~located).any():
        log.info("%s: skipped %d rows without a location", path.name, int((~located).sum()))
    keep = (located & (heat > 0) & (heat >= cfg.min_excess_heat_gwh)).to_numpy()
    df, xy, heat = df[keep], xy[keep], heat[keep]
    company = df.get("CompanyName", pd.Series("", index=df.index))
    out = gpd.GeoDataFrame(
        {
            "site_id": "HM" + df["SiteID"].str.strip(),
            "name": df["SiteName"].where(df["SiteName"] != "", company),
            "kind": "industrial",
            "it_load_mw": np.nan,
            "heat_output_mw": heat.to_numpy() * 1000.0 / HOURS_PER_YEAR,
            "source_temp_c": _hotmaps_temperature(df, cfg),
            "row_label": labels[keep],
        },
        geometry=gpd.points_from_xy(xy["x"], xy["y"]),
        crs=4326,
    )
    log.info("%s: %d located industrial sites with excess heat", path.name, len(out))
    return out


def read_building_demand(cfg: BuildingDemandConfig) -> gpd.GeoDataFrame:
    """Building-level annual demand (points or polygons) in the file's own CRS.

    A CSV gives points from ``lat``/``lon`` or ``x``/``y`` (with
    ``heat_demand.buildings.crs``); any other file is a layer GDAL reads. The demand
    column (``heat_demand.buildings.demand_column``) must be a finite number >= 0 in
    every row; the result has it as ``demand`` (in ``demand_units``).
    """
    key = "heat_demand.buildings.path"
    require_file(cfg.path, key=key)
    if cfg.path.suffix.lower() == ".csv":
        df = read_csv(cfg.path)
        require_rows(df, file=cfg.path, what="buildings")
        labels = csv_labels(len(df))
        gdf = points_from_columns(
            df, file=cfg.path, crs=cfg.crs, crs_key="heat_demand.buildings.crs", labels=labels
        )
    else:
        gdf = read_vector(
            cfg.path, key=key, layer=cfg.layer, expect=Expect(POINTS | POLYGONS, "buildings")
        )
        labels = [f"feature {i + 1}" for i in gdf.index]
    if cfg.demand_column not in gdf.columns:
        cols = ", ".join(c for c in gdf.columns if c != "geometry")
        raise InputError(
            f"no column '{cfg.demand_column}' (columns: {cols})",
            where=cfg.path,
            fix="set heat_demand.buildings.demand_column to the annual demand column",
        )
    check_finite(
        gdf, [cfg.demand_column], file=cfg.path, labels=labels, required=[cfg.demand_column]
    )
    demand = pd.to_numeric(gdf[cfg.demand_column])
    negative = (demand < 0).to_numpy()
    if negative.any():
        rows = listing([labels[i] for i in np.flatnonzero(negative)])
        raise InputError(
            f"{cfg.demand_column} is negative at {rows}",
            where=cfg.path,
            fix="give every building a demand >= 0",
        )
    return gpd.GeoDataFrame(
        {"demand": demand.to_numpy()}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs
    )


def read_profile_column(
    path: Path, *, key: str, column: str | None, rows: tuple[int, ...]
) -> np.ndarray:
    """One column of finite numbers from a profile CSV, with one of the allowed row counts.

    Parameters
    ----------
    path
        The CSV, with a header row.
    key
        The config key naming the file, for messages.
    column
        The column to read; the file's only column when None.
    rows
        Row counts the profile may have (8,760 hours, 365 days).

    Raises
    ------
    InputError
        If the file is missing or unreadable, the column is missing or ambiguous, a value
        is empty, not a number or not finite, or the row count is not one of ``rows``.
    """
    require_file(path, key=key)
    df = read_csv(path)
    if column is None and len(df.columns) != 1:
        raise InputError(
            f"{len(df.columns)} columns ({listing(list(map(str, df.columns)))}) and no "
            "column chosen",
            where=path,
            fix=f"set {key.rsplit('.', 1)[0]}.column to the column to use",
        )
    name = df.columns[0] if column is None else column
    require_columns(df.columns, [name], file=path, fix=f"set {key.rsplit('.', 1)[0]}.column")
    labels = csv_labels(len(df))
    check_finite(df, [name], file=path, labels=labels, required=[name])
    if len(df) not in rows:
        raise InputError(
            f"{len(df)} rows of values; a profile has " + " or ".join(f"{n:,}" for n in rows),
            where=path,
            fix="give one value per hour of a 365-day year (or per day for degree-days)",
        )
    return pd.to_numeric(df[name]).to_numpy(dtype="float64")
