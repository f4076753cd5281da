"""Ingest the heat sources: data-centre sites and other waste-heat sites.

Inputs
    ``sources.path``: CSV with ``lat``/``lon`` (EPSG:4326) or ``x``/``y`` (in
    ``sources.crs``), or a GeoJSON/GeoPackage point layer. Required columns ``site_id``,
    ``name``, ``it_load_mw``; optional ``heat_output_mw``, ``source_temp_c``,
    ``cooling`` (air|liquid), ``kind`` (data_centre|industrial|other).
Outputs
    ``data/interim/<region>/sources.parquet``: one point per site inside the region, in
    the region CRS, with ``heat_available_mw`` and ``source_temp_c`` filled in.
Config keys
    ``region.crs``, ``region.bbox``, ``region.bbox_crs``, ``sources.*``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry import Polygon

from pipeline.config import RegionFile, SourcesConfig
from pipeline.engineering.source import heat_available_mw
from pipeline.errors import InputError
from pipeline.geo import region_polygon
from pipeline.io import read_vector, require_file, write_geoparquet
from pipeline.paths import RegionPaths

log = logging.getLogger("heatlink.ingest_sources")

REQUIRED = ("site_id", "name", "it_load_mw")
COOLING = ("air", "liquid")
KINDS = ("data_centre", "industrial", "other")
OUTPUT_COLUMNS = [
    "site_id",
    "name",
    "kind",
    "cooling",
    "it_load_mw",
    "heat_output_mw",
    "heat_available_mw",
    "heat_assumed",
    "source_temp_c",
    "geometry",
]


def read_sites(cfg: SourcesConfig) -> gpd.GeoDataFrame:
    """Read the site file into points in the file's own CRS.

    Rows keep a ``row_label`` (``line N`` of a CSV, ``feature N`` otherwise) for messages.
    """
    path = cfg.path
    require_file(path, key="sources.path")
    if path.suffix.lower() in (".csv", ".txt"):
        return _read_csv_sites(path, cfg.crs)
    gdf = read_vector(path, key="sources.path", layer=cfg.layer)
    if gdf.crs is None:
        raise InputError(
            "the layer has no CRS", where=path, fix="assign one in QGIS or ogr2ogr -a_srs"
        )
    if not gdf.geom_type.isin(["Point"]).all():
        kinds = sorted(set(gdf.geom_type.dropna()) - {"Point"})
        log.info("sources: using a point on the surface of %s geometries", "/".join(kinds))
        gdf["geometry"] = gdf.geometry.representative_point()
    gdf["row_label"] = [f"feature {i + 1}" for i in range(len(gdf))]
    return gdf


def _read_csv_sites(path: Path, crs: str | int | None) -> gpd.GeoDataFrame:
    try:
        df = pd.read_csv(path, dtype={"site_id": str, "name": str}, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            f"not a readable CSV ({str(exc).splitlines()[0]})",
            where=path,
            fix="save it as comma-separated UTF-8 text with a header row",
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    if {"lat", "lon"} <= set(df.columns):
        xcol, ycol, src_crs = "lon", "lat", CRS.from_epsg(4326)
    elif {"x", "y"} <= set(df.columns):
        if crs is None:
            raise InputError(
                "x/y columns but no CRS declared",
                where=path,
                fix="set 'sources.crs' in the region file (for example 27700)",
            )
        xcol, ycol, src_crs = "x", "y", CRS.from_user_input(crs)
    else:
        raise InputError(
            f"no coordinate columns (columns: {', '.join(df.columns)})",
            where=path,
            fix="add lat and lon columns (EPSG:4326), or x and y with 'sources.crs'",
        )
    x = pd.to_numeric(df[xcol], errors="coerce")
    y = pd.to_numeric(df[ycol], errors="coerce")
    labels = [f"line {i + 2}" for i in range(len(df))]
    bad = [labels[i] for i in np.flatnonzero(x.isna() | y.isna())]
    if bad:
        raise InputError(
            f"missing or non-numeric {ycol}/{xcol} at {_listing(bad)}",
            where=path,
            fix="give every site numeric coordinates",
        )
    if xcol == "lon" and ((y.abs() > 90) | (x.abs() > 180)).any():
        rows = [labels[i] for i in np.flatnonzero((y.abs() > 90) | (x.abs() > 180))]
        raise InputError(
            f"lat/lon out of range at {_listing(rows)}",
            where=path,
            fix="lat must be within +-90 and lon within +-180; are the columns swapped?",
        )
    gdf = gpd.GeoDataFrame(
        df.drop(columns=[xcol, ycol]),
        geometry=gpd.points_from_xy(x, y),
        crs=src_crs,
    )
    gdf["row_label"] = labels
    return gdf


def _listing(items: list[str], most: int = 5) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def validate_sites(sites: gpd.GeoDataFrame, *, file: Path) -> None:
    """Check columns and values; raise one InputError listing every problem."""
    missing = [c for c in REQUIRED if c not in sites.columns]
    if missing:
        cols = ", ".join(c for c in sites.columns if c not in ("geometry", "row_label"))
        raise InputError(
            f"missing required column(s) {', '.join(missing)} (columns: {cols})",
            where=file,
            fix="add them; required are site_id, name and it_load_mw",
        )
    problems: list[str] = []

    def rows(mask: pd.Series) -> str:
        return _listing(sites.loc[mask.to_numpy(), "row_label"].tolist())

    ids = sites["site_id"].astype("string").str.strip()
    if ids.isna().any() or (ids == "").any():
        problems.append(f"empty site_id at {rows(ids.isna() | (ids == ''))}")
    dup = ids.duplicated(keep=False) & ids.notna()
    if dup.any():
        problems.append(f"duplicate site_id {sorted(set(ids[dup]))[:5]} at {rows(dup)}")
    for col, low in (("it_load_mw", 0.0), ("heat_output_mw", 0.0), ("source_temp_c", None)):
        if col not in sites.columns:
            continue
        raw = sites[col]
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna() & (raw.astype("string").str.strip() != "")
        if col == "it_load_mw":
            bad |= num.isna()
        if low is not None:
            bad |= num < low
        if bad.any():
            what = "a number >= 0" if low is not None else "a number"
            problems.append(f"{col} must be {what} at {rows(bad)}")
    for col, allowed in (("cooling", COOLING), ("kind", KINDS)):
        if col in sites.columns:
            v = sites[col].astype("string").str.strip().str.lower()
            bad = v.notna() & (v != "") & ~v.isin(allowed)
            if bad.any():
                problems.append(f"{col} must be one of {', '.join(allowed)} at {rows(bad)}")
    if problems:
        raise InputError("; ".join(problems), where=file, fix="correct those rows")


def ingest_sources(
    sites: gpd.GeoDataFrame,
    *,
    file: Path,
    cfg: SourcesConfig,
    region: Polygon,
    crs: CRS,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Validate sites, keep those inside the region and fill in their heat.

    Parameters
    ----------
    sites
        Points as read by :func:`read_sites`, in any CRS.
    file
        The site file, for messages.
    cfg
        The ``sources`` section.
    region
        The region polygon in ``crs``.
    crs
        The region's projected CRS.

    Returns
    -------
    The sites inside the region in ``crs`` (columns ``OUTPUT_COLUMNS``), and the ids of
    the sites that were outside and skipped.

    Raises
    ------
    InputError
        On bad columns or values, when every site is outside the region, or when sites
        fall inside only with their two coordinates swapped.
    """
    validate_sites(sites, file=file)
    pts = sites.to_crs(crs)
    inside = pts.geometry.within(region).to_numpy()
    if not inside.all():
        swapped = sites.geometry.map(
            lambda p: shapely.Point(p.y, p.x) if p is not None and not p.is_empty else p
        )
        swapped_in = (
            gpd.GeoSeries(swapped, crs=sites.crs).to_crs(crs).within(region).to_numpy() & ~inside
        )
        if swapped_in.any():
            labels = sites.loc[swapped_in, "row_label"].tolist()
            raise InputError(
                f"site(s) at {_listing(labels)} fall inside the region only with their "
                "coordinates swapped",
                where=file,
                fix="swap the two coordinate values (lat is north-south, lon east-west)",
            )
        if not inside.any():
            raise InputError(
                f"all {len(sites)} sites are outside the region bbox {cfg_bbox_hint(region)}",
                where=file,
                fix="check the coordinates and their CRS, or widen 'region.bbox'",
            )
    skipped = sites.loc[~inside, "site_id"].astype(str).tolist()
    out = pts.loc[inside].copy()
    out["site_id"] = out["site_id"].astype(str).str.strip()
    out["name"] = out["name"].astype("string").fillna("")
    for col, default in (("kind", "data_centre"), ("cooling", "air")):
        vals = out[col] if col in out.columns else pd.Series(pd.NA, index=out.index)
        out[col] = vals.astype("string").str.strip().str.lower().replace("", pd.NA)
        out[col] = out[col].fillna(default)
    for col in ("it_load_mw", "heat_output_mw", "source_temp_c"):
        vals = out[col] if col in out.columns else pd.Series(np.nan, index=out.index)
        out[col] = pd.to_numeric(vals, errors="coerce").astype("float64")
    liquid = (out["cooling"] == "liquid").to_numpy()
    capture = np.where(liquid, cfg.capture_fraction_liquid, cfg.capture_fraction_air)
    estimated = heat_available_mw(
        out["it_load_mw"].to_numpy(), utilisation=cfg.utilisation, capture_fraction=capture
    )
    out["heat_assumed"] = out["heat_output_mw"].isna()
    out["heat_available_mw"] = out["heat_output_mw"].fillna(pd.Series(estimated, index=out.index))
    default_temp = np.where(liquid, cfg.source_temp_liquid_c, cfg.source_temp_air_c)
    out["source_temp_c"] = out["source_temp_c"].fillna(pd.Series(default_temp, index=out.index))
    return gpd.GeoDataFrame(out[OUTPUT_COLUMNS].reset_index(drop=True), crs=crs), skipped


def cfg_bbox_hint(region: Polygon) -> str:
    xmin, ymin, xmax, ymax = region.bounds
    return f"({xmin:.0f}, {ymin:.0f}, {xmax:.0f}, {ymax:.0f} in the region CRS)"


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the site file, ingest it and write sources.parquet."""
    raw = read_sites(cfg.sources)
    log.info("read %d sites from %s", len(raw), cfg.sources.path)
    sites, skipped = ingest_sources(
        raw,
        file=cfg.sources.path,
        cfg=cfg.sources,
        region=region_polygon(cfg.region, cfg.crs),
        crs=cfg.crs,
    )
    if skipped:
        log.info("skipped %d sites outside the region: %s", len(skipped), _listing(skipped, 20))
    n_assumed = int(sites["heat_assumed"].sum())
    log.info(
        "%d sites inside the region, %.1f MW heat available (%d estimated from IT load)",
        len(sites),
        sites["heat_available_mw"].sum(),
        n_assumed,
    )
    write_geoparquet(sites, paths.sources)
    log.info("wrote %s", paths.sources)
