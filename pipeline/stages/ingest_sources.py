"""Ingest the heat sources: data-centre sites and other waste-heat sites.

Inputs
    ``sources.path``: CSV with ``lat``/``lon`` (EPSG:4326) or ``x``/``y`` (in
    ``sources.crs``), or a GeoJSON/GeoPackage point layer. Required columns ``site_id``,
    ``name``, ``it_load_mw``; optional ``heat_output_mw``, ``source_temp_c``,
    ``cooling`` (air|liquid), ``kind`` (data_centre|industrial|other).
    ``sources.hotmaps_industrial.path``: the Hotmaps industrial database CSV (optional).
    ``sources.osm_data_centres.path``: an OSM file whose ``telecom=data_center`` and
    ``building=data_center`` features are read (optional).
    The files are read by :mod:`pipeline.readers.tables` and :mod:`pipeline.readers.osm`,
    which refuse infinite numbers, missing coordinates and empty files.
Outputs
    ``data/interim/<region>/sources.parquet``: one point per site inside the region, in
    the region CRS, with ``heat_available_mw`` and ``source_temp_c`` filled in.
Config keys
    ``region.crs``, ``region.bbox``, ``region.bbox_crs``, ``sources.*``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.geometry import Polygon

from pipeline.config import OsmDataCentresConfig, RegionFile, SourcesConfig
from pipeline.engineering.source import heat_available_mw
from pipeline.errors import InputError
from pipeline.geo import region_polygon
from pipeline.io import write_geoparquet
from pipeline.paths import RegionPaths
from pipeline.readers.checks import listing as _listing
from pipeline.readers.tables import read_hotmaps_industrial, read_sites

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
    "it_load_assumed",
    "heat_output_mw",
    "heat_available_mw",
    "heat_assumed",
    "source_temp_c",
    "geometry",
]


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


@dataclass(frozen=True)
class SiteInput:
    """Sites read from one file, ready for :func:`ingest_sources`.

    ``strict`` inputs (the user's own list) stop the run on swapped coordinates; others
    (third-party databases) log and skip such rows.
    """

    sites: gpd.GeoDataFrame
    file: Path
    strict: bool = True


def read_osm_data_centres(cfg: OsmDataCentresConfig) -> gpd.GeoDataFrame:
    """Data centres tagged in OSM as sites: they carry no IT load, so ``it_load_mw`` is
    the config value and ``it_load_assumed`` is true."""
    from pipeline.readers.osm import read_osm_data_centres as read_osm_data_centre_points

    out = read_osm_data_centre_points(cfg.path, key="sources.osm_data_centres.path")
    out["it_load_mw"] = cfg.it_load_mw
    out["it_load_assumed"] = True
    out["cooling"] = cfg.cooling
    out["kind"] = "data_centre"
    out["row_label"] = out["site_id"]
    log.info("%s: %d data centres tagged in OSM", cfg.path.name, len(out))
    return out


def ingest_sources(
    inputs: list[SiteInput], *, cfg: SourcesConfig, region: Polygon, crs: CRS
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Validate sites, keep those inside the region and fill in their heat.

    Parameters
    ----------
    inputs
        Sites read from each file, in any CRS.
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
        of a strict input fall inside only with their two coordinates swapped.
    """
    kept: list[gpd.GeoDataFrame] = []
    skipped: list[str] = []
    for item in inputs:
        if item.strict:
            validate_sites(item.sites, file=item.file)
        inside, swapped = _inside_region(item.sites, region, crs)
        if swapped.any():
            labels = item.sites.loc[swapped, "row_label"].tolist()
            what = (
                f"site(s) at {_listing(labels)} fall inside the region only with their "
                "coordinates swapped"
            )
            if item.strict:
                raise InputError(
                    what,
                    where=item.file,
                    fix="swap the two coordinate values (lat is north-south, lon east-west)",
                )
            log.warning("%s: %s; skipped", item.file, what)
        skipped += item.sites.loc[~inside, "site_id"].astype(str).tolist()
        kept.append(item.sites.loc[inside].to_crs(crs))
    if not any(len(k) for k in kept):
        n = sum(len(i.sites) for i in inputs)
        raise InputError(
            f"all {n} sites are outside the region bbox {_bbox_hint(region)}",
            where=", ".join(str(i.file) for i in inputs),
            fix="check the coordinates and their CRS, or widen 'region.bbox'",
        )
    out = pd.concat([k for k in kept if len(k)], ignore_index=True)
    out["site_id"] = out["site_id"].astype(str).str.strip()
    dup = out["site_id"].duplicated(keep=False)
    if dup.any():
        raise InputError(
            f"site_id {sorted(set(out.loc[dup, 'site_id']))[:5]} occurs in more than one input",
            where=", ".join(str(i.file) for i in inputs),
            fix="make the ids unique across the site files",
        )
    out = fill_site_values(out, cfg)
    return gpd.GeoDataFrame(out[OUTPUT_COLUMNS], geometry="geometry", crs=crs), skipped


def fill_site_values(sites: pd.DataFrame, cfg: SourcesConfig) -> pd.DataFrame:
    """Defaults for kind and cooling, numbers as floats, and the heat of each site:
    ``heat_output_mw`` where given, else estimated from the IT load (``heat_assumed``).
    """
    out = sites.copy()
    out["name"] = out["name"].astype("string").fillna("")
    for col, default in (("kind", "data_centre"), ("cooling", "air")):
        vals = out[col] if col in out.columns else pd.Series(pd.NA, index=out.index)
        out[col] = vals.astype("string").str.strip().str.lower().replace("", pd.NA)
        out[col] = out[col].fillna(default)
    out.loc[out["kind"] == "industrial", "cooling"] = pd.NA
    for col in ("it_load_mw", "heat_output_mw", "source_temp_c"):
        vals = out[col] if col in out.columns else pd.Series(np.nan, index=out.index)
        out[col] = pd.to_numeric(vals, errors="coerce").astype("float64")
    assumed = out["it_load_assumed"] if "it_load_assumed" in out.columns else False
    out["it_load_assumed"] = pd.Series(assumed, index=out.index).fillna(False).astype(bool)
    liquid = (out["cooling"] == "liquid").fillna(False).to_numpy()
    capture = np.where(liquid, cfg.capture_fraction_liquid, cfg.capture_fraction_air)
    estimated = heat_available_mw(
        out["it_load_mw"].fillna(0).to_numpy(),
        utilisation=cfg.utilisation,
        capture_fraction=capture,
    )
    out["heat_assumed"] = out["heat_output_mw"].isna()
    out["heat_available_mw"] = out["heat_output_mw"].fillna(pd.Series(estimated, index=out.index))
    default_temp = np.where(liquid, cfg.source_temp_liquid_c, cfg.source_temp_air_c)
    out["source_temp_c"] = out["source_temp_c"].fillna(pd.Series(default_temp, index=out.index))
    return out


def _inside_region(
    sites: gpd.GeoDataFrame, region: Polygon, crs: CRS
) -> tuple[np.ndarray, np.ndarray]:
    """Which sites are inside the region, and which are inside only when swapped."""
    inside = sites.to_crs(crs).geometry.within(region).to_numpy()
    xy = shapely.get_coordinates(sites.geometry.to_numpy())
    if inside.all() or len(xy) != len(sites):
        return inside, np.zeros(len(sites), dtype=bool)
    swapped = gpd.GeoSeries(gpd.points_from_xy(xy[:, 1], xy[:, 0]), crs=sites.crs)
    return inside, swapped.to_crs(crs).within(region).to_numpy() & ~inside


def _bbox_hint(region: Polygon) -> str:
    xmin, ymin, xmax, ymax = region.bounds
    return f"({xmin:.0f}, {ymin:.0f}, {xmax:.0f}, {ymax:.0f} in the region CRS)"


def read_inputs(cfg: SourcesConfig) -> list[SiteInput]:
    """Read every site input the ``sources`` section names."""
    inputs = []
    if cfg.path is not None:
        inputs.append(SiteInput(read_sites(cfg), cfg.path))
    if cfg.hotmaps_industrial is not None:
        inputs.append(
            SiteInput(
                read_hotmaps_industrial(cfg.hotmaps_industrial),
                cfg.hotmaps_industrial.path,
                strict=False,
            )
        )
    if cfg.osm_data_centres is not None:
        inputs.append(
            SiteInput(read_osm_data_centres(cfg.osm_data_centres), cfg.osm_data_centres.path)
        )
    return inputs


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the site inputs, ingest them and write sources.parquet."""
    inputs = read_inputs(cfg.sources)
    for item in inputs:
        log.info("read %d sites from %s", len(item.sites), item.file)
    sites, skipped = ingest_sources(
        inputs, cfg=cfg.sources, region=region_polygon(cfg.region, cfg.crs), crs=cfg.crs
    )
    if skipped:
        log.info("skipped %d sites outside the region: %s", len(skipped), _listing(skipped, 20))
    log.info(
        "%d sites inside the region (%s), %.1f MW heat available (%d estimated from IT "
        "load, %d with an assumed IT load)",
        len(sites),
        ", ".join(f"{k} {v}" for k, v in sites["kind"].value_counts().items()),
        sites["heat_available_mw"].sum(),
        int(sites["heat_assumed"].sum()),
        int(sites["it_load_assumed"].sum()),
    )
    write_geoparquet(sites, paths.sources)
    log.info("wrote %s", paths.sources)
