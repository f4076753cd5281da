"""Export the deliverable GeoPackage of a region.

Inputs
    ``sources.parquet``, ``attachments.parquet``, ``demand_zones.parquet`` and
    ``assessed_links.parquet`` in ``data/interim/<region>/``.
Outputs
    ``outputs/<region>/heat_links.gpkg`` with the layers ``sources``, ``demand_zones``,
    ``links`` (viable links) and ``rejected_links`` (every failed candidate and why), all
    in the region CRS. The fields and units are listed in ``docs/outputs.md``.
Config keys
    ``cost.currency`` (the currency code in the cost field names).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import pyogrio

from pipeline.config import RegionFile
from pipeline.io import atomic_path, read_geoparquet
from pipeline.paths import RegionPaths

log = logging.getLogger("heatlink.export_geopackage")

# Layer name -> (geometry type, fields in order). This is the GeoPackage contract; keep it
# in step with docs/outputs.md (a test checks that they agree). "{cur}" in a field name is
# the lower-case currency code of cost.currency (see layer_fields).
_LAYER_TEMPLATES: dict[str, tuple[str, list[str]]] = {
    "sources": (
        "Point",
        [
            "site_id",
            "name",
            "kind",
            "cooling",
            "it_load_mw",
            "heat_available_mw",
            "heat_assumed",
            "source_temp_c",
            "snap_distance_m",
        ],
    ),
    "demand_zones": (
        "MultiPolygon",
        ["zone_id", "annual_demand_mwh", "peak_demand_mw", "area_ha", "n_cells", "snap_distance_m"],
    ),
    "links": (
        "LineString",
        [
            "link_id",
            "site_id",
            "zone_id",
            "route_length_m",
            "straight_distance_m",
            "detour_ratio",
            "site_spur_m",
            "zone_spur_m",
            "design_heat_mw",
            "dn",
            "pipe_series",
            "pipe_kind",
            "velocity_m_per_s",
            "pressure_gradient_pa_per_m",
            "heat_loss_w_per_m",
            "annual_heat_loss_mwh",
            "heat_loss_pct",
            "heat_sent_mwh",
            "delivered_heat_mwh",
            "supply_temp_drop_k",
            "supply_temp_c",
            "return_temp_c",
            "cop",
            "heat_pump_mw",
            "source_heat_mwh",
            "hp_electricity_mwh",
            "pump_electricity_mwh",
            "linear_heat_density_mwh_per_m",
            "co2_saving_t_per_yr",
            "co2_saving_lifetime_t",
            "pipe_capex_{cur}",
            "heat_pump_capex_{cur}",
            "om_cost_{cur}_per_yr",
            "electricity_cost_{cur}_per_yr",
            "lcoh_{cur}_per_mwh",
        ],
    ),
    "rejected_links": (
        "LineString",
        ["link_id", "site_id", "zone_id", "reason", "route_length_m", "straight_distance_m"],
    ),
}


def layer_fields(currency: str) -> dict[str, tuple[str, list[str]]]:
    """The layers and their fields, with cost fields named for ``currency`` (e.g. GBP).

    Examples
    --------
    >>> layer_fields("GBP")["links"][1][-1]
    'lcoh_gbp_per_mwh'
    """
    cur = currency.lower()
    return {
        name: (geom, [field.format(cur=cur) for field in fields])
        for name, (geom, fields) in _LAYER_TEMPLATES.items()
    }


LAYERS = layer_fields("EUR")
"""The layers of a run in EUR, the default ``cost.currency``."""


def export_layers(
    sources: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    links: gpd.GeoDataFrame,
    attachments: gpd.GeoDataFrame,
    *,
    currency: str = "EUR",
) -> dict[str, gpd.GeoDataFrame]:
    """Shape the stage outputs into the GeoPackage layers of :func:`layer_fields`."""
    snap = attachments.set_index(["kind", "id"])["snap_distance_m"]
    sources = sources.assign(
        snap_distance_m=snap.get("site", snap.iloc[:0]).reindex(sources["site_id"]).to_numpy()
    )
    zones = zones.assign(
        snap_distance_m=snap.get("zone", snap.iloc[:0]).reindex(zones["zone_id"]).to_numpy()
    )
    viable = links["reason"].isna()
    frames = {
        "sources": sources,
        "demand_zones": zones,
        "links": links[viable],
        "rejected_links": links[~viable],
    }
    return {
        name: gpd.GeoDataFrame(
            frames[name][fields].reset_index(drop=True),
            geometry=frames[name].geometry.reset_index(drop=True),
            crs=links.crs or sources.crs,
        )
        for name, (_, fields) in layer_fields(currency).items()
    }


def write_geopackage(layers: dict[str, gpd.GeoDataFrame], path: Path) -> None:
    """Write layers to one GeoPackage atomically (GeoPackage 1.2 for older QGIS)."""
    with atomic_path(path) as tmp:
        for name, gdf in layers.items():
            pyogrio.write_dataframe(
                gdf,
                tmp,
                layer=name,
                driver="GPKG",
                geometry_type=LAYERS[name][0],
                promote_to_multi=LAYERS[name][0].startswith("Multi"),
                dataset_options=None if tmp.exists() else {"VERSION": "1.2"},
            )


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the stage outputs and write outputs/<region>/heat_links.gpkg."""
    layers = export_layers(
        read_geoparquet(paths.sources),
        read_geoparquet(paths.demand_zones),
        read_geoparquet(paths.assessed_links),
        read_geoparquet(paths.attachments),
        currency=cfg.cost.currency,
    )
    write_geopackage(layers, paths.geopackage)
    log.info(
        "wrote %s: %s",
        paths.geopackage,
        ", ".join(f"{name} {len(gdf)}" for name, gdf in layers.items()),
    )
