"""Export the deliverable GeoPackage of a region.

Inputs
    ``sources.parquet``, ``demand_zones.parquet``, ``heat_networks.parquet``,
    ``assessed_links.parquet``, ``allocation.parquet``, ``attachments.parquet``,
    ``route_segments.parquet``, ``networks.parquet`` and ``network_pipes.parquet`` in
    ``data/interim/<region>/``; the stage logs and the
    input files (for provenance).
Outputs
    ``outputs/<region>/heat_links.gpkg`` (GeoPackage 1.2) with the layers ``sources``,
    ``demand_zones``, ``existing_networks``, ``sinks``, ``links`` (viable links),
    ``rejected_links`` (every failed candidate and why), ``corridors``,
    ``network_pipes`` and ``networks`` (the designed networks) and ``network_qa``, all
    in the region CRS, each with the ``run_id`` of the run; a default QGIS style per
    layer in ``layer_styles``; field descriptions in ``gpkg_data_columns``; provenance
    in ``run_info``. The fields and units are listed in ``docs/outputs.md``, and in
    ``pipeline/data/fields.csv``, from which the file's descriptions come.
    ``outputs/<region>/heat_links.qgz``: a QGIS project of every layer, styled, in
    groups, in the region CRS, naming the GeoPackage by a relative path
    (:mod:`pipeline.qgis_project`).
Config keys
    all sections (``run_info`` records the whole resolved config); ``cost.currency``
    names the cost fields, ``routing.spur_warning_m`` and ``routing.max_snap_distance_m``
    set the network_qa checks, ``existing_networks.annual_demand_mwh`` and
    ``zones.full_load_hours_h`` give existing networks their demand.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from pipeline import __version__
from pipeline.config import RegionFile, RoutingConfig
from pipeline.data import load_fields, load_style
from pipeline.engineering.profile import share_pct
from pipeline.io import atomic_path, read_geoparquet
from pipeline.paths import RegionPaths
from pipeline.qgis_project import ProjectLayer, write_qgis_project
from pipeline.stages import STAGE_NAMES, region_input_files

log = logging.getLogger("heatlink.export_geopackage")

GEOMETRY_TYPES: dict[str, str] = {
    "sources": "Point",
    "demand_zones": "MultiPolygon",
    "existing_networks": "MultiLineString",
    "sinks": "Point",
    "links": "LineString",
    "rejected_links": "LineString",
    "corridors": "LineString",
    "network_pipes": "LineString",
    "networks": "MultiLineString",
    "network_qa": "Point",
}
STYLE_FILES: dict[str, str] = {
    "sources": "sources.qml",
    "demand_zones": "demand_zones.qml",
    "existing_networks": "existing_networks.qml",
    "links": "links.qml",
    "rejected_links": "rejected_links.qml",
    "corridors": "corridors.qml",
    "network_pipes": "network_pipes.qml",
    "networks": "networks.qml",
}
DESIGNED_LAYERS = ("networks", "network_pipes")
"""The layers of ``design_networks``, in the order of its outputs."""
GEOMETRY_COLUMN = "geom"
RUN_ID = "run_id"
"""The field, last in every layer, that carries the identifier of the run."""
RUN_ID_KEYS = ("config", "crs", "input", "versions")
"""The ``run_info`` keys whose values decide a run's results, and so its ``run_id``."""
_CURRENCY = re.compile(r"_eur(?=_|$)")


def layer_fields(currency: str) -> dict[str, tuple[str, list[str]]]:
    """The layers, their geometry types and fields, with cost fields named for ``currency``.

    Examples
    --------
    >>> [f for f in layer_fields("GBP")["links"][1] if f.startswith("lcoh")][:3]
    ['lcoh_transmission_gbp_per_mwh', 'lcoh_delivered_gbp_per_mwh', 'lcoh_gbp_per_mwh_p10']
    """
    fields = load_fields()
    cur = "_" + currency.lower()
    return {
        name: (geom, [_CURRENCY.sub(cur, f) for f in fields.loc[fields["layer"] == name, "field"]])
        for name, geom in GEOMETRY_TYPES.items()
    }


@cache
def _eur_layers() -> dict[str, tuple[str, list[str]]]:
    """The layers of a run in EUR, the default ``cost.currency`` (read once, when used)."""
    return layer_fields("EUR")


def _data_fields(fields: list[str]) -> list[str]:
    """The fields a layer's rows carry; ``run_id`` is added by :func:`with_run_id`."""
    return [f for f in fields if f != RUN_ID]


def __getattr__(name: str) -> object:
    """``LAYERS``: the layers of a run in EUR, read from ``fields.csv`` when first used
    rather than when a stage module is imported."""
    if name == "LAYERS":
        return _eur_layers()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _corridors(links: gpd.GeoDataFrame, segments: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Road segments used by at least one viable link, with what they carry."""
    if segments.empty or links.empty:  # nothing routed: empty tables carry no dtypes to join
        used = segments.iloc[:0]
    else:
        used = segments.merge(
            links[["link_id", "site_id", "sink_id", "design_network_heat_mw", "dn", "recommended"]],
            on="link_id",
        )
    if used.empty:
        return gpd.GeoDataFrame(
            columns=[*_data_fields(_eur_layers()["corridors"][1]), "geometry"],
            geometry="geometry",
            crs=links.crs,
        )

    def ids(values: pd.Series) -> str:
        return ";".join(sorted(set(map(str, values))))

    grouped = used.groupby("segment_id", sort=True)
    out = grouped.agg(
        n_links=("link_id", "nunique"),
        n_recommended=("recommended", "sum"),
        total_design_network_heat_mw=("design_network_heat_mw", "sum"),
        max_dn=("dn", "max"),
        site_ids=("site_id", ids),
        sink_ids=("sink_id", ids),
    ).reset_index()
    geom = grouped["geometry"].first().reindex(out["segment_id"]).to_numpy()
    out["length_m"] = shapely.length(geom)
    return gpd.GeoDataFrame(out, geometry=geom, crs=links.crs)


def _network_qa(
    attachments: gpd.GeoDataFrame,
    subjects: gpd.GeoDataFrame,
    links: pd.DataFrame,
    routing: RoutingConfig,
) -> gpd.GeoDataFrame:
    """What could make the results wrong: small road components, long spurs, no road,
    and sites or sinks with no viable link."""
    att = attachments.set_index(["kind", "id"])
    reached = set(links["site_id"]) | set(links["sink_id"])
    rows = []
    for s in subjects.itertuples():
        key = (s.kind, s.id)
        a = att.loc[key] if key in att.index else None
        where = s.geometry

        def add(check: str, detail: str, value: float) -> None:
            rows.append((check, s.kind, s.id, detail, value, where))  # noqa: B023

        if a is None or pd.isna(a["snap_distance_m"]):
            add(
                "no_road_nearby",
                f"no allowed road within {routing.max_snap_distance_m:g} m",
                np.nan,
            )
        else:
            if a["component"] != 0:
                add(
                    "small_road_component",
                    f"joins road component {a['component']} of {a['component_nodes']} nodes, "
                    "not the main network; check for a missing road or junction",
                    float(a["component_nodes"]),
                )
            if a["snap_distance_m"] > routing.spur_warning_m:
                add(
                    "long_spur",
                    f"spur of {a['snap_distance_m']:.0f} m to the nearest allowed road",
                    float(a["snap_distance_m"]),
                )
        if s.id not in reached:
            add("reaches_nothing", "no viable link", np.nan)
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=[*_data_fields(_eur_layers()["network_qa"][1]), "geometry"]),
        geometry="geometry",
        crs=attachments.crs,
    )


def _sinks(zones: pd.DataFrame, networks: pd.DataFrame, viable: pd.DataFrame) -> pd.DataFrame:
    """Every zone and existing network as a sink, with what its viable links offer and
    what the allocation delivers to it over a year."""
    per_sink = viable.groupby("sink_id").agg(
        n_viable_links=("link_id", "size"),
        allocated_network_heat_mw=("allocated_network_heat_mw", "sum"),
        allocated_delivered_heat_mwh=("allocated_delivered_heat_mwh", "sum"),
    )
    sinks = pd.concat(
        [
            pd.DataFrame(
                {
                    "sink_id": zones["zone_id"],
                    "sink_kind": "zone",
                    "annual_demand_mwh": zones["annual_demand_mwh"],
                    "peak_demand_mw": zones["peak_demand_mw"],
                    "geometry": zones.geometry.representative_point(),
                }
            ),
            pd.DataFrame(
                {
                    "sink_id": networks["network_id"],
                    "sink_kind": "network",
                    "annual_demand_mwh": networks.get("annual_demand_mwh", np.nan),
                    "peak_demand_mw": networks.get("peak_demand_mw", np.nan),
                    "geometry": networks.geometry.representative_point(),
                }
            ),
        ],
        ignore_index=True,
    )
    sinks = sinks.join(per_sink, on="sink_id")
    sinks["n_viable_links"] = sinks["n_viable_links"].fillna(0).astype(int)
    sinks["allocated_network_heat_mw"] = sinks["allocated_network_heat_mw"].fillna(0.0)
    sinks["allocated_delivered_heat_mwh"] = sinks["allocated_delivered_heat_mwh"].fillna(0.0)
    sinks["coverage_pct"] = share_pct(
        sinks["allocated_delivered_heat_mwh"], sinks["annual_demand_mwh"]
    )
    return sinks


def with_allocation(links: gpd.GeoDataFrame, allocation: pd.DataFrame) -> gpd.GeoDataFrame:
    """The assessed links with their allocation; ``recommended`` is False where none."""
    links = links.merge(allocation, on="link_id", how="left")
    links["recommended"] = links["recommended"].fillna(False).astype(bool)
    return links


def export_layers(
    sources: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    networks: gpd.GeoDataFrame,
    links: gpd.GeoDataFrame,
    attachments: gpd.GeoDataFrame,
    segments: gpd.GeoDataFrame,
    *,
    currency: str = "EUR",
    routing: RoutingConfig | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Shape the stage outputs into the GeoPackage layers of :func:`layer_fields`.

    ``links`` are the assessed links with their allocation (:func:`with_allocation`).
    The layers of the designed networks are empty here (:func:`designed_layers` fills
    them).
    """
    routing = routing or RoutingConfig()
    crs = sources.crs
    snap = attachments.set_index(["kind", "id"])["snap_distance_m"]

    def snapped(kind: str, ids: pd.Series) -> np.ndarray:
        return snap.reindex(pd.MultiIndex.from_arrays([[kind] * len(ids), ids])).to_numpy()

    sources = sources.assign(snap_distance_m=snapped("site", sources["site_id"]))
    zones = zones.assign(snap_distance_m=snapped("zone", zones["zone_id"]))
    networks = networks.assign(snap_distance_m=snapped("network", networks["network_id"]))
    viable = links[links["reason"].isna()]

    sinks = _sinks(zones, networks, viable)
    networks = networks.assign(
        geometry=[
            shapely.boundary(g) if g.geom_type.endswith("Polygon") else g for g in networks.geometry
        ]
    )
    subjects = gpd.GeoDataFrame(
        {
            "kind": ["site"] * len(sources) + list(sinks["sink_kind"]),
            "id": list(sources["site_id"]) + list(sinks["sink_id"]),
        },
        geometry=list(sources.geometry) + list(sinks["geometry"]),
        crs=crs,
    )
    frames = {
        "sources": sources,
        "demand_zones": zones,
        "existing_networks": networks,
        "sinks": gpd.GeoDataFrame(sinks, geometry="geometry", crs=crs),
        "links": viable,
        "rejected_links": links[links["reason"].notna()],
        "corridors": _corridors(viable, segments),
        "network_qa": _network_qa(attachments, subjects, viable, routing),
    }
    for name in DESIGNED_LAYERS:
        frames[name] = gpd.GeoDataFrame(
            columns=[*_data_fields(layer_fields(currency)[name][1]), "geometry"],
            geometry="geometry",
            crs=crs,
        )
    return {
        name: gpd.GeoDataFrame(
            frames[name][_data_fields(fields)].reset_index(drop=True),
            geometry=gpd.GeoSeries(frames[name].geometry.to_numpy(), crs=crs),
            crs=crs,
        )
        for name, (_, fields) in layer_fields(currency).items()
    }


def designed_layers(
    networks: gpd.GeoDataFrame, pipes: gpd.GeoDataFrame, currency: str
) -> dict[str, gpd.GeoDataFrame]:
    """The ``networks`` and ``network_pipes`` layers of the ``design_networks`` outputs."""
    fields = layer_fields(currency)
    return {
        name: gpd.GeoDataFrame(
            frame[_data_fields(fields[name][1])].reset_index(drop=True),
            geometry=gpd.GeoSeries(frame.geometry.to_numpy(), crs=frame.crs),
            crs=frame.crs,
        )
        for name, frame in zip(DESIGNED_LAYERS, (networks, pipes), strict=True)
    }


def with_run_id(
    layers: dict[str, gpd.GeoDataFrame], run_id: str, currency: str
) -> dict[str, gpd.GeoDataFrame]:
    """The layers with ``run_id`` in the field of that name, where ``fields.csv`` puts it."""
    fields = layer_fields(currency)
    out = {}
    for name, gdf in layers.items():
        stamped = gdf.assign(**{RUN_ID: pd.Series(run_id, index=gdf.index, dtype=object)})
        out[name] = stamped[[*fields[name][1], stamped.geometry.name]]
    return out


def run_identity(rows: list[tuple[str, str]]) -> str:
    """The ``run_id`` of a run: 16 hex digits of the SHA-256 of its ``run_info`` rows
    that decide the results (:data:`RUN_ID_KEYS`: the resolved config, the CRS, each input
    file with its checksum, the software versions), in order; times are left out.

    Runs that differ in any of these get different identifiers; runs that agree in all of
    them write the same results (the pipeline is deterministic), and the same identifier.

    Examples
    --------
    >>> rows = [("config", "{}"), ("crs", "EPSG:27700"), ("run_end", "2026-01-01")]
    >>> run_identity(rows) == run_identity(rows[:2] + [("run_end", "2027-06-30")])
    True
    >>> run_identity(rows) == run_identity([("config", "{}"), ("crs", "EPSG:3067")])
    False
    >>> len(run_identity(rows))
    16
    """
    decided = [[key, value] for key, value in rows if key in RUN_ID_KEYS]
    return hashlib.sha256(json.dumps(decided).encode("utf-8")).hexdigest()[:16]


def field_descriptions(currency: str) -> pd.DataFrame:
    """``layer``, ``field``, ``title`` and ``description`` of every field, for ``currency``."""
    fields = load_fields()
    cur = currency.lower()
    return pd.DataFrame(
        {
            "layer": fields["layer"],
            "field": [_CURRENCY.sub("_" + cur, f) for f in fields["field"]],
            "title": [
                f"{f} ({u})" if u else f
                for f, u in zip(fields["field"], fields["unit"].fillna(""), strict=True)
            ],
            "description": fields["description"].str.replace("EUR", currency.upper()),
        }
    )


def style_rows(layers: dict[str, gpd.GeoDataFrame], currency: str) -> pd.DataFrame:
    """The ``layer_styles`` rows: one default QGIS style per styled layer."""
    rows = []
    lcoh = f"lcoh_transmission_{currency.lower()}_per_mwh"
    for name, file in STYLE_FILES.items():
        qml = load_style(file)
        if name == "links":
            if lcoh in layers["links"].columns and layers["links"][lcoh].notna().any():
                qml = qml.replace('attr="lcoh_transmission_eur_per_mwh"', f'attr="{lcoh}"')
            else:
                qml = load_style("links_heat_loss.qml")
        rows.append(
            {
                "f_table_catalog": "",
                "f_table_schema": "",
                "f_table_name": name,
                "f_geometry_column": GEOMETRY_COLUMN,
                "styleName": f"heatlink {name}",
                "styleQML": qml,
                "styleSLD": "",
                "useAsDefault": True,
                "description": f"heatlink default style for {name}",
                "owner": "",
                "ui": "",
                "update_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            }
        )
    return pd.DataFrame(rows)


def write_geopackage(
    layers: dict[str, gpd.GeoDataFrame],
    path: Path,
    *,
    descriptions: pd.DataFrame,
    styles: pd.DataFrame,
    run_info: pd.DataFrame,
) -> None:
    """Write layers, styles, provenance and field descriptions to one GeoPackage, atomically.

    GeoPackage 1.2 is requested so that QGIS 3.22 and later open it without a warning.
    """
    import pyogrio

    with atomic_path(path) as tmp:
        for name, gdf in layers.items():
            geom = GEOMETRY_TYPES[name]
            pyogrio.write_dataframe(
                gdf,
                tmp,
                layer=name,
                driver="GPKG",
                geometry_type=geom,
                promote_to_multi=geom.startswith("Multi"),
                dataset_options=None if tmp.exists() else {"VERSION": "1.2"},
                layer_options={"GEOMETRY_NAME": GEOMETRY_COLUMN},
            )
        pyogrio.write_dataframe(
            styles, tmp, layer="layer_styles", driver="GPKG", layer_options={"FID": "id"}
        )
        pyogrio.write_dataframe(run_info, tmp, layer="run_info", driver="GPKG")
        _write_data_columns(tmp, descriptions)


def _write_data_columns(path: Path, descriptions: pd.DataFrame) -> None:
    """Store field descriptions with the GeoPackage schema extension."""
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
            "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, "
            "CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, "
            "column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT, "
            "mime_type TEXT, constraint_name TEXT, "
            "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), "
            "CONSTRAINT gdc_tn UNIQUE (table_name, name))"
        )
        db.execute(
            "INSERT OR IGNORE INTO gpkg_extensions VALUES ('gpkg_data_columns', NULL, "
            "'gpkg_schema', 'http://www.geopackage.org/spec/#extension_schema', 'read-write')"
        )
        db.executemany(
            "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title, "
            "description) VALUES (?, ?, ?, ?, ?)",
            [
                (r.layer, r.field, r.field, r.title, r.description)
                for r in descriptions.itertuples()
            ],
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _osm_timestamp(path: Path) -> str:
    """The replication timestamp in an OSM file's header, else its timestamp, else ''."""
    import osmium

    try:
        reader = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            header = reader.header()
            return header.get("osmosis_replication_timestamp") or header.get("timestamp") or ""
        finally:
            reader.close()
    except RuntimeError:
        return ""


def provenance(paths: RegionPaths, cfg: RegionFile) -> pd.DataFrame:
    """``run_info`` rows (key, value): config, inputs, versions, ``run_id`` (see
    :func:`run_identity`) and times of the run."""
    import pyogrio

    from pipeline.readers.osm import is_osm_file

    rows: list[tuple[str, str]] = [
        ("config", json.dumps(cfg.model_dump(mode="json"), sort_keys=True)),
        ("crs", cfg.crs.to_string()),
    ]
    for key, p in region_input_files(cfg).items():
        info = {"key": key, "name": p.name, "path": str(p)}
        if p.is_file():
            info |= {"size_bytes": p.stat().st_size, "sha256": _sha256(p)}
            if is_osm_file(p):
                info["osm_timestamp"] = _osm_timestamp(p)
        rows.append(("input", json.dumps(info)))
    packages = {"heatlink": __version__}
    for pkg in (
        "geopandas",
        "shapely",
        "pyproj",
        "networkx",
        "osmnx",
        "rasterio",
        "pyogrio",
        "osmium",
        "numpy",
        "pandas",
        "scipy",
    ):
        try:
            packages[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    packages["GDAL"] = pyogrio.__gdal_version_string__
    rows.append(("versions", json.dumps(packages)))
    rows.append(("run_id", run_identity(rows)))
    times = []
    # the stages up to this one: a later stage's log is from an earlier run
    for stage in STAGE_NAMES[: STAGE_NAMES.index("export_geopackage") + 1]:
        log_file = paths.logs / f"{stage}.log"
        if log_file.is_file():
            lines = log_file.read_text(encoding="utf-8").splitlines()
            if lines:
                times.append((stage, lines[0][:23], lines[-1][:23]))
    for stage, start, end in times:
        rows.append((f"stage:{stage}", json.dumps({"start": start, "end": end})))
    if times:
        rows.append(("run_start", min(t[1] for t in times)))
    rows.append(("run_end", datetime.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:23]))
    return pd.DataFrame(rows, columns=["key", "value"])


def project_layers(layers: dict[str, gpd.GeoDataFrame], styles: pd.DataFrame) -> list[ProjectLayer]:
    """The GeoPackage's layers for the QGIS project, each with its stored style."""
    qml = dict(zip(styles["f_table_name"], styles["styleQML"], strict=True))
    return [ProjectLayer(name, GEOMETRY_TYPES[name], qml.get(name)) for name in layers]


def layers_extent(
    layers: dict[str, gpd.GeoDataFrame], crs: CRS
) -> tuple[float, float, float, float]:
    """The bounds of every feature of the layers; the CRS's area of use if there is none."""
    bounds = np.array([gdf.total_bounds for gdf in layers.values() if not gdf.empty])
    bounds = bounds[~np.isnan(bounds).any(axis=1)] if len(bounds) else bounds
    if len(bounds):
        return (*bounds[:, :2].min(axis=0).tolist(), *bounds[:, 2:].max(axis=0).tolist())
    area = crs.area_of_use
    to_crs = Transformer.from_crs(4326, crs, always_xy=True)
    return to_crs.transform_bounds(area.west, area.south, area.east, area.north)


def run(paths: RegionPaths, cfg: RegionFile) -> None:
    """Read the stage outputs and write outputs/<region>/heat_links.gpkg and its QGIS
    project, heat_links.qgz."""
    currency = cfg.cost.currency
    networks = read_geoparquet(paths.heat_networks)
    ncfg = cfg.existing_networks
    if ncfg is not None and ncfg.annual_demand_mwh is not None:
        networks["annual_demand_mwh"] = ncfg.annual_demand_mwh
        networks["peak_demand_mw"] = ncfg.annual_demand_mwh / cfg.zones.full_load_hours_h
    layers = export_layers(
        read_geoparquet(paths.sources),
        read_geoparquet(paths.demand_zones),
        networks,
        with_allocation(read_geoparquet(paths.assessed_links), pd.read_parquet(paths.allocation)),
        read_geoparquet(paths.attachments),
        read_geoparquet(paths.route_segments),
        currency=currency,
        routing=cfg.routing,
    ) | designed_layers(
        read_geoparquet(paths.networks), read_geoparquet(paths.network_pipes), currency
    )
    run_info = provenance(paths, cfg)
    run_id = run_info.loc[run_info["key"] == RUN_ID, "value"].item()
    layers = with_run_id(layers, run_id, currency)
    styles = style_rows(layers, currency)
    write_geopackage(
        layers,
        paths.geopackage,
        descriptions=field_descriptions(currency),
        styles=styles,
        run_info=run_info,
    )
    log.info(
        "wrote %s (run %s): %s",
        paths.geopackage,
        run_id,
        ", ".join(f"{name} {len(gdf)}" for name, gdf in layers.items()),
    )
    write_qgis_project(
        paths.qgis_project,
        project_layers(layers, styles),
        gpkg=paths.geopackage,
        crs=cfg.crs,
        extent=layers_extent(layers, cfg.crs),
        title=f"heatlink {paths.region}",
    )
    log.info("wrote %s", paths.qgis_project)
