"""The bad-input corpus: every bad or unusual input a user may give, and what heatlink does.

Each row of :data:`CASES` breaks one thing in the tiny region after a good run of the
stage that reads it, runs that one stage in-process, and expects either

- an error: exit status 2, the last stderr line starts with ``heatlink: error: `` and
  holds the listed words, no traceback, the earlier outputs unchanged and no temp file
  left; or
- a run: exit status 0, and each listed pattern found on a line of the stage log
  ``outputs/<region>/logs/<stage>.log``.

docs/errors.md explains each error to users; keep the two in step.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import traceback
import warnings
import zipfile
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, box

from conftest import REPO, X0, Y0, TinyRegion, grid_roads, to_lonlat, write_raster
from pipeline import cli

RAW = "data/raw/tiny"

# --- running heatlink in-process --------------------------------------------------------


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


def heatlink(root: Path, *args: str) -> Result:
    """Run ``heatlink ARGS --root ROOT`` in this process; an escaped exception is exit 1."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = cli.main([*args, "--root", str(root)])
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 1
        except Exception:
            traceback.print_exc()
            code = 1
    return Result(code, out.getvalue(), err.getvalue())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _outputs(root: Path) -> dict[str, str]:
    files = [*(root / "data/interim/tiny").glob("*.*"), *(root / "outputs/tiny").glob("*.*")]
    return {p.name: _digest(p) for p in files if p.is_file()}


def _temp_files(root: Path) -> list[Path]:
    return sorted(root.rglob(".*tmp-*"))


def assert_one_line_error(res: Result, *words: str, absent: tuple[str, ...] = ()) -> None:
    """Exit 2, one ``heatlink: error:`` line holding ``words``, and no traceback."""
    assert res.returncode == 2, f"exit {res.returncode}: {res.stderr.strip()[-600:]}"
    assert "Traceback" not in res.stderr, res.stderr
    last = res.last_line
    assert last.startswith("heatlink: error: "), last
    for word in words:
        assert word in last, f"{word!r} not in: {last}"
    for word in absent:
        assert word not in last, f"{word!r} in: {last}"


def words(*parts: str) -> str:
    """A pattern matching a line that holds every part (numbers as whole numbers)."""
    return "".join(
        rf"(?=.*(?<![\d.]){p}(?![\d.]))" if p.isdigit() else f"(?=.*{re.escape(p)})" for p in parts
    )


def assert_logged(log: Path, *patterns: str) -> None:
    text = log.read_text(encoding="utf-8") if log.is_file() else ""
    for pattern in patterns:
        assert any(re.search(pattern, line, re.IGNORECASE) for line in text.splitlines()), (
            f"no line of {log.name} matches {pattern!r}:\n{text}"
        )


# --- what a row may do to the tiny region -----------------------------------------------


def config(**changes: dict) -> Callable[[TinyRegion], None]:
    """Change keys of the region file (None deletes a key)."""

    def setup(r: TinyRegion) -> None:
        r.write_config(**changes)

    return setup


def yaml_edit(edit: Callable[[str], str]) -> Callable[[TinyRegion], None]:
    """Edit the region file's text."""

    def setup(r: TinyRegion) -> None:
        r.region_file.write_text(edit(r.region_file.read_text()))

    return setup


def sites_text(text: str, encoding: str = "utf-8") -> Callable[[TinyRegion], None]:
    def setup(r: TinyRegion) -> None:
        (r.root / RAW / "sites.csv").write_bytes(text.encode(encoding))

    return setup


def _site(**changes: object) -> dict:
    lon, lat = to_lonlat(X0 + 10, Y0 + 20)
    row = {"site_id": "S1", "name": "Hypothetical DC", "it_load_mw": 5.0, "lat": lat, "lon": lon}
    return {k: v for k, v in {**row, **changes}.items() if v is not None}


def sites(*rows: dict, drop: tuple[str, ...] = ()) -> Callable[[TinyRegion], None]:
    def setup(r: TinyRegion) -> None:
        df = pd.DataFrame(list(rows))
        df.drop(columns=list(drop)).to_csv(r.root / RAW / "sites.csv", index=False)

    return setup


def both(*setups: Callable[[TinyRegion], None]) -> Callable[[TinyRegion], None]:
    def setup(r: TinyRegion) -> None:
        for s in setups:
            s(r)

    return setup


def roads_file(gdf: gpd.GeoDataFrame, name: str = "roads.gpkg", **kw: object) -> Callable:
    """Write a road layer and point roads.path at it."""

    def setup(r: TinyRegion) -> None:
        path = r.root / RAW / name
        path.unlink(missing_ok=True)
        gdf.to_file(path, **kw)
        r.write_config(roads={"path": f"{RAW}/{name}"})

    return setup


def _bad_geometry_roads() -> gpd.GeoDataFrame:
    good = grid_roads()
    bad = gpd.GeoDataFrame(
        {"highway": ["residential"] * 3},
        geometry=[None, LineString(), LineString([(X0, Y0), (X0, Y0)])],
        crs=27700,
    )
    return pd.concat([good, bad], ignore_index=True)


def _zip_without_shp(r: TinyRegion) -> None:
    parts = r.root / "shp_parts"
    parts.mkdir()
    grid_roads().rename(columns={"highway": "fclass"}).to_file(
        parts / "gis_osm_roads_free_1.shp", driver="ESRI Shapefile"
    )
    with zipfile.ZipFile(r.root / RAW / "county-free.shp.zip", "w") as zf:
        for part in sorted(parts.iterdir()):
            if part.suffix != ".shp":
                zf.write(part, part.name)
    r.write_config(roads={"path": f"{RAW}/county-free.shp.zip"})


def _zip_without_road_layer(r: TinyRegion) -> None:
    """A Geofabrik-like .shp.zip holding no gis_osm_roads_free_1 layer."""
    parts = r.root / "zip_parts"
    parts.mkdir()
    for name, geometry in [
        ("gis_osm_railways_free_1", LineString([(X0, Y0), (X0 + 100, Y0)])),
        ("gis_osm_buildings_a_free_1", box(X0, Y0, X0 + 10, Y0 + 10)),
    ]:
        gdf = gpd.GeoDataFrame({"osm_id": ["1"]}, geometry=[geometry], crs=27700)
        gdf.to_file(parts / f"{name}.shp", driver="ESRI Shapefile")
    with zipfile.ZipFile(r.root / RAW / "county-free.shp.zip", "w") as zf:
        for part in sorted(parts.iterdir()):
            zf.write(part, part.name)
    r.write_config(roads={"path": f"{RAW}/county-free.shp.zip"})


def _two_road_layers(r: TinyRegion) -> None:
    path = r.root / RAW / "roads.gpkg"
    path.unlink()
    roads = grid_roads()
    roads.iloc[:5].to_file(path, layer="streets")
    roads.iloc[5:].to_file(path, layer="lanes")


def heat(
    edit: Callable[[np.ndarray], np.ndarray], crs: str | None = "EPSG:27700", **kw
) -> Callable:
    """Rewrite heat.tif: the tiny region's 6 x 6 grid of 100 m cells, edited."""

    def setup(r: TinyRegion) -> None:
        data = np.zeros((6, 6))
        data[1:3, 3:5] = 500.0
        transform = kw.get("transform", Affine(100, 0, X0 - 50, 0, -100, Y0 + 550))
        write_raster(r.root / RAW / "heat.tif", edit(data), transform, crs)
        if kw.get("no_nodata"):  # zeros are data, so only NaN cells are missing values
            with rasterio.open(r.root / RAW / "heat.tif", "r+") as ds:
                ds.nodata = None

    return setup


def _negative_cells(data: np.ndarray) -> np.ndarray:
    data[4:6, :] = -5.0  # 12 negative cells, away from the dense block
    return data


def _nan_cells(data: np.ndarray) -> np.ndarray:
    data[5, 1:6] = np.nan  # 5 NaN cells
    return data


def _truncated_tiff(r: TinyRegion) -> None:
    """A 200 x 200 GeoTIFF over the region, cut off half way (an interrupted download)."""
    path = r.root / RAW / "heat.tif"
    write_raster(
        path, np.full((200, 200), 5.0), Affine(10, 0, X0 - 500, 0, -10, Y0 + 1500), "EPSG:27700"
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _write_raw(name: str, content: bytes | str) -> Callable[[TinyRegion], None]:
    def setup(r: TinyRegion) -> None:
        path = r.root / RAW / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)

    return setup


def networks(
    gdf: gpd.GeoDataFrame | None, name: str = "pipes.gpkg", **section: object
) -> Callable[[TinyRegion], None]:
    """Write an existing-networks layer (if given) and configure existing_networks."""

    def setup(r: TinyRegion) -> None:
        if gdf is not None:
            gdf.to_file(r.root / RAW / name)
        r.write_config(existing_networks={"path": f"{RAW}/{name}", **section})

    return setup


PIPES = gpd.GeoDataFrame(
    {"kind": ["heat", "cold"]},
    geometry=[
        LineString([(X0, Y0 + 300), (X0 + 200, Y0 + 300)]),
        LineString([(X0, Y0), (X0, Y0 + 90)]),
    ],
    crs=27700,
)


def _stale(*names: str) -> Callable[[TinyRegion], None]:
    """Leave temp files behind as a killed run would."""

    def setup(r: TinyRegion) -> None:
        for name in names:
            path = r.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"half-written")

    return setup


def _truncate(name: str) -> Callable[[TinyRegion], None]:
    """Cut a file in half, as a copy or disk filled up half way would."""

    def setup(r: TinyRegion) -> None:
        path = r.root / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    return setup


def _region_file_elsewhere(name: str, region_name: str | None) -> Callable[[TinyRegion], None]:
    """Copy the region file to elsewhere/<name>, with region.name set or removed."""

    def setup(r: TinyRegion) -> None:
        cfg = yaml.safe_load(r.region_file.read_text())
        if region_name is None:
            cfg["region"].pop("name")
        else:
            cfg["region"]["name"] = region_name
        (r.root / "elsewhere").mkdir(exist_ok=True)
        (r.root / "elsewhere" / name).write_text(yaml.safe_dump(cfg, sort_keys=False))

    return setup


def _duplicate_key(text: str) -> str:
    return text.replace(
        "routing:\n", "routing:\n  max_link_length_m: 1500\n  max_link_length_m: 900\n"
    )


def _no_folder(name: str) -> Callable[[TinyRegion], None]:
    def check(r: TinyRegion) -> None:
        assert not (r.root / "outputs" / name).exists()
        assert not (r.root / "data/interim" / name).exists()

    return check


def _made(*names: str) -> Callable[[TinyRegion], None]:
    def check(r: TinyRegion) -> None:
        assert [n for n in names if not (r.root / n).is_file()] == []

    return check


def _gone(*names: str) -> Callable[[TinyRegion], None]:
    def check(r: TinyRegion) -> None:
        assert [n for n in names if (r.root / n).exists()] == []

    return check


# --- the corpus ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad or unusual input and what heatlink must do with it.

    ``error``: words of the one-line error (exit 2). ``logs``: patterns that lines of
    the stage log must match (exit 0). Exactly one of them is given.
    """

    category: str
    stage: str
    setup: Callable[[TinyRegion], None]
    error: tuple[str, ...] = ()
    logs: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    baseline: str | None = None  # the good run first (default: the stage itself)
    region: str = "tiny"  # run with --region <region> ...
    config_file: str | None = None  # ... or with --config <root>/<config_file>
    log_region: str = "tiny"
    check: Callable[[TinyRegion], None] | None = None


_STALE_GPKG = (
    "outputs/tiny/.heat_links.tmp-99999999.gpkg",
    "outputs/tiny/.heat_links.tmp-99999999.gpkg-journal",
)
_BBOX_M = [X0 - 100, Y0 - 100, X0 + 500, Y0 + 500]
_FAR = to_lonlat(X0 + 90_000, Y0)
_NEAR = to_lonlat(X0 + 10, Y0 + 20)

CASES: dict[str, Case] = {
    # --- configuration -----------------------------------------------------------------
    "unknown_key": Case(
        "configuration",
        "ingest_sources",
        config(routing={"max_link_lenght_m": 1500}),
        error=("routing.max_link_lenght_m", "max_link_length_m"),
    ),
    "out_of_range": Case(
        "configuration",
        "ingest_sources",
        config(routing={"max_link_length_m": -5}),
        error=("routing.max_link_length_m", "greater than 0"),
    ),
    "not_a_number": Case(
        "configuration",
        "ingest_sources",
        config(routing={"max_link_length_m": "two km"}),
        error=("routing.max_link_length_m",),
    ),
    "nan_in_config": Case(
        "configuration",
        "ingest_sources",
        config(sources={"source_temp_air_c": float("nan")}),
        error=("sources.source_temp_air_c",),
    ),
    "inf_resolution": Case(
        "configuration",
        "ingest_sources",
        config(heat_demand={"resolution_m": float("inf")}),
        error=("heat_demand.resolution_m",),
    ),
    "inf_ground_temp": Case(
        "configuration",
        "ingest_sources",
        config(pipes={"ground_temp_c": float("inf")}),
        error=("pipes.ground_temp_c",),
    ),
    "minus_inf_in_bbox": Case(
        "configuration",
        "ingest_sources",
        config(region={"bbox": [float("-inf"), Y0 - 100, X0 + 500, Y0 + 500]}),
        error=("region.bbox",),
    ),
    "duplicate_key": Case(
        "configuration",
        "ingest_sources",
        both(config(routing={"spur_warning_m": 100}), yaml_edit(_duplicate_key)),
        error=("max_link_length_m", "line "),  # the line is checked in test_duplicate_key_line
    ),
    "duplicate_section": Case(
        "configuration",
        "ingest_sources",
        both(
            config(routing={"max_link_length_m": 1500}),
            yaml_edit(lambda t: t + "routing:\n  max_link_length_m: 900\n"),
        ),
        error=("routing", "line "),
    ),
    "yaml_syntax": Case(
        "configuration",
        "ingest_sources",
        yaml_edit(lambda t: t + "zones: {min_cell_density_mwh_per_ha: 100\n"),
        error=("tiny.yml", "line"),
    ),
    "not_a_mapping": Case(
        "configuration",
        "ingest_sources",
        yaml_edit(lambda t: "- region\n- sources\n"),
        error=("tiny.yml",),
    ),
    "missing_section": Case(
        "configuration",
        "ingest_sources",
        yaml_edit(
            lambda t: yaml.safe_dump(
                {k: v for k, v in yaml.safe_load(t).items() if k != "heat_demand"}
            )
        ),
        error=("heat_demand",),
    ),
    "region_name_mismatch": Case(
        "configuration",
        "ingest_sources",
        config(region={"name": "other"}),
        error=("region.name", "tiny"),
        check=_no_folder("other"),
    ),
    "region_name_omitted": Case(
        "configuration",
        "ingest_sources",
        config(region={"name": None}),
        logs=(words("region tiny"),),
    ),
    "config_elsewhere_name_mismatch": Case(
        "configuration",
        "ingest_sources",
        _region_file_elsewhere("my_region.yml", "tiny"),
        error=("region.name", "my_region"),
        config_file="elsewhere/my_region.yml",
    ),
    "config_elsewhere_name_omitted": Case(
        "configuration",
        "ingest_sources",
        _region_file_elsewhere("my_region.yml", None),
        logs=(words("region my_region"),),
        config_file="elsewhere/my_region.yml",
        log_region="my_region",
        check=_made("data/interim/my_region/sources.parquet"),
    ),
    "unknown_region": Case(
        "configuration",
        "ingest_sources",
        lambda r: None,
        error=("atlantis", "tiny"),
        region="atlantis",
    ),
    "bbox_in_metres_as_lonlat": Case(
        "configuration",
        "ingest_sources",
        config(region={"bbox": _BBOX_M, "bbox_crs": None}),
        error=("region.bbox", "bbox_crs"),
        absent=("inf",),
    ),
    "bbox_reversed": Case(
        "configuration",
        "ingest_sources",
        config(region={"bbox": [X0 + 500, Y0 - 100, X0 - 100, Y0 + 500]}),
        error=("region.bbox", "xmin"),
    ),
    "bbox_omitted": Case(
        "configuration",
        "ingest_roads",
        config(region={"bbox": None, "bbox_crs": None}),
        logs=("lon/lat|longitude", r"51\.\d"),
    ),
    "geographic_region_crs": Case(
        "configuration",
        "ingest_sources",
        config(region={"crs": 4326}),
        error=("region.crs", "not a projected CRS"),
    ),
    "unknown_crs_code": Case(
        "configuration",
        "ingest_sources",
        config(region={"crs": 999999}),
        error=("region.crs", "999999"),
    ),
    "road_class_unknown_key": Case(
        "configuration",
        "ingest_sources",
        config(roads={"classes": {"residential": {"foo": 1}}}),
        error=("roads.classes.residential.foo", "follow", "cost_factor"),
    ),
    "unknown_road_class": Case(
        "configuration",
        "ingest_sources",
        config(roads={"classes": {"highway": {"follow": True}}}),
        error=("highway", "residential"),
    ),
    "bad_default_class": Case(
        "configuration",
        "ingest_sources",
        config(roads={"default_class": "lane"}),
        error=("roads.default_class", "unclassified"),
    ),
    "two_road_sources": Case(
        "configuration",
        "ingest_sources",
        config(roads={"overpass_place": "Camden, London"}),
        error=("roads.path", "roads.overpass_place"),
    ),
    "missing_units": Case(
        "configuration",
        "ingest_sources",
        config(heat_demand={"units": None}),
        error=("heat_demand.units",),
    ),
    "bad_units": Case(
        "configuration",
        "ingest_sources",
        config(heat_demand={"units": "MW"}),
        error=("heat_demand.units", "MWh/ha/yr"),
    ),
    "supply_below_return": Case(
        "configuration",
        "ingest_sources",
        config(network={"supply_temp_c": 40, "return_temp_c": 50}),
        error=("supply_temp_c",),
    ),
    "grid_factor_year_unknown": Case(
        "configuration",
        "ingest_sources",
        config(carbon={"grid_factor_year": 2031}),
        error=("grid_factor_year", "2025"),
    ),
    # --- sites -------------------------------------------------------------------------
    "sites_file_missing": Case(
        "sites",
        "ingest_sources",
        config(sources={"path": f"{RAW}/nope.csv"}),
        error=("nope.csv", "sources.path"),
    ),
    "sites_header_only": Case(
        "sites",
        "ingest_sources",
        sites_text("site_id,name,it_load_mw,lat,lon\n"),
        error=("sites.csv", "no sites"),
        absent=("outside",),
    ),
    "sites_empty_file": Case("sites", "ingest_sources", sites_text(""), error=("sites.csv",)),
    "sites_semicolons": Case(
        "sites",
        "ingest_sources",
        sites_text("site_id;name;it_load_mw;lat;lon\nS1;DC;5;{1};{0}\n".format(*_NEAR)),
        error=("sites.csv", "comma"),
    ),
    "sites_not_utf8": Case(
        "sites",
        "ingest_sources",
        sites_text(
            "site_id,name,it_load_mw,lat,lon\nS1,Düsseldorf Süd,5,{1},{0}\n".format(*_NEAR),
            "latin-1",
        ),
        error=("sites.csv", "UTF-8"),
    ),
    "sites_utf8_bom": Case(
        "sites",
        "ingest_sources",
        sites_text(
            "site_id,name,it_load_mw,lat,lon\nS1,Malmö,5,{1},{0}\n".format(*_NEAR), "utf-8-sig"
        ),
        logs=(words("1 sites inside the region"),),
    ),
    "sites_missing_column": Case(
        "sites",
        "ingest_sources",
        sites(_site(), drop=("it_load_mw",)),
        error=("sites.csv", "it_load_mw"),
    ),
    "sites_no_coordinates": Case(
        "sites",
        "ingest_sources",
        sites(_site(), drop=("lat", "lon")),
        error=("sites.csv", "lat", "lon"),
    ),
    "sites_xy_without_crs": Case(
        "sites",
        "ingest_sources",
        sites({**_site(lat=None, lon=None), "x": X0 + 10, "y": Y0 + 20}),
        error=("sites.csv", "sources.crs"),
    ),
    "sites_latlon_swapped": Case(
        "sites",
        "ingest_sources",
        sites(_site(lat=_NEAR[0], lon=_NEAR[1])),
        error=("sites.csv", "line 2", "swapped"),
    ),
    "sites_lat_out_of_range": Case(
        "sites", "ingest_sources", sites(_site(lat=95.0)), error=("sites.csv", "line 2", "lat")
    ),
    "sites_lat_not_numeric": Case(
        "sites", "ingest_sources", sites(_site(lat="51,5")), error=("sites.csv", "line 2")
    ),
    "sites_all_outside": Case(
        "sites",
        "ingest_sources",
        sites(_site(lat=_FAR[1], lon=_FAR[0])),
        error=("sites.csv", "outside the region"),
    ),
    "sites_duplicate_id": Case(
        "sites",
        "ingest_sources",
        sites(_site(), _site(name="second")),
        error=("sites.csv", "duplicate site_id", "line 3"),
    ),
    "sites_empty_id": Case(
        "sites",
        "ingest_sources",
        sites(_site(site_id="")),
        error=("sites.csv", "site_id", "line 2"),
    ),
    "sites_negative_it_load": Case(
        "sites",
        "ingest_sources",
        sites(_site(it_load_mw=-5)),
        error=("sites.csv", "it_load_mw", "line 2"),
    ),
    "sites_it_load_inf": Case(
        "sites",
        "ingest_sources",
        sites(_site(it_load_mw="inf")),
        error=("sites.csv", "it_load_mw", "line 2"),
    ),
    "sites_it_load_text": Case(
        "sites",
        "ingest_sources",
        sites(_site(it_load_mw="five")),
        error=("sites.csv", "it_load_mw", "line 2"),
    ),
    "sites_heat_output_inf": Case(
        "sites",
        "ingest_sources",
        sites(_site(heat_output_mw="inf")),
        error=("sites.csv", "heat_output_mw", "line 2"),
    ),
    "sites_source_temp_inf": Case(
        "sites",
        "ingest_sources",
        sites(_site(source_temp_c="-inf")),
        error=("sites.csv", "source_temp_c", "line 2"),
    ),
    "sites_bad_cooling": Case(
        "sites",
        "ingest_sources",
        sites(_site(cooling="water")),
        error=("sites.csv", "cooling", "air, liquid"),
    ),
    "sites_one_outside": Case(
        "sites",
        "ingest_sources",
        sites(_site(), _site(site_id="FAR", lat=_FAR[1], lon=_FAR[0])),
        logs=(words("skipped 1 sites outside the region", "FAR"),),
    ),
    "sites_as_polygons": Case(
        "sites",
        "ingest_sources",
        both(
            lambda r: gpd.GeoDataFrame(
                {"site_id": ["S1"], "name": ["DC"], "it_load_mw": [5.0]},
                geometry=[box(X0, Y0, X0 + 30, Y0 + 30)],
                crs=27700,
            ).to_file(r.root / RAW / "sites.gpkg"),
            config(sources={"path": f"{RAW}/sites.gpkg"}),
        ),
        logs=(words("point on the surface"),),
    ),
    # --- roads -------------------------------------------------------------------------
    "roads_file_missing": Case(
        "roads",
        "ingest_roads",
        config(roads={"path": f"{RAW}/nope.gpkg"}),
        error=("nope.gpkg", "roads.path"),
    ),
    "roads_pbf_corrupt": Case(
        "roads",
        "ingest_roads",
        both(
            _write_raw("roads.osm.pbf", b"\x00\x00\x00\x0dnot a pbf at all"),
            config(roads={"path": f"{RAW}/roads.osm.pbf"}),
        ),
        error=("roads.osm.pbf",),
    ),
    "roads_not_a_vector": Case(
        "roads", "ingest_roads", _write_raw("roads.gpkg", b"\x00garbage"), error=("roads.gpkg",)
    ),
    "roads_no_such_layer": Case(
        "roads",
        "ingest_roads",
        config(roads={"layer": "road_link"}),
        error=("roads.gpkg", "no layer 'road_link'", "roads.layer"),
    ),
    "roads_two_layers": Case(
        "roads", "ingest_roads", _two_road_layers, error=("roads.gpkg", "roads.layer")
    ),
    "roads_unknown_class_column": Case(
        "roads",
        "ingest_roads",
        config(roads={"class_column": "fclass"}),
        error=("roads.gpkg", "fclass"),
    ),
    "roads_no_class_column": Case(
        "roads",
        "ingest_roads",
        roads_file(grid_roads().drop(columns="highway").assign(osm_id=range(10)), layer="roads"),
        logs=(words("WARNING", "roads.default_class"), words("unclassified")),
    ),
    "roads_none_followed": Case(
        "roads",
        "ingest_roads",
        config(roads={"classes": {"residential": {"follow": False}}}),
        error=("roads.gpkg", "no roads inside the region"),
    ),
    "roads_unmapped_classes": Case(
        "roads",
        "ingest_roads",
        roads_file(grid_roads().assign(highway=["residential"] * 9 + ["cart_way"]), layer="roads"),
        logs=(words("WARNING", "cart_way", "roads.class_map"),),
    ),
    "roads_bad_geometries": Case(
        "roads",
        "ingest_roads",
        roads_file(_bad_geometry_roads(), layer="roads"),
        logs=(words("dropped", "1 null", "1 zero-length"),),
    ),
    "roads_empty_layer": Case(
        "roads",
        "ingest_roads",
        roads_file(
            gpd.GeoDataFrame({"highway": []}, geometry=gpd.GeoSeries([], crs=27700)), layer="roads"
        ),
        error=("roads.gpkg", "no roads"),
    ),
    "roads_points": Case(
        "roads",
        "ingest_roads",
        roads_file(
            gpd.GeoDataFrame({"highway": ["residential"]}, geometry=[Point(X0, Y0)], crs=27700),
            layer="roads",
        ),
        error=("roads.gpkg", "Point", "not road lines"),
    ),
    "roads_no_crs": Case(
        "roads",
        "ingest_roads",
        roads_file(grid_roads().set_crs(None, allow_override=True), name="roads.shp"),
        error=("roads.shp", "no CRS"),
    ),
    "roads_wrong_crs": Case(
        "roads",
        "ingest_roads",
        roads_file(grid_roads().set_crs(3857, allow_override=True), layer="roads"),
        error=("roads.gpkg", "no roads inside the region"),
    ),
    "roads_zip_without_road_layer": Case(
        "roads",
        "ingest_roads",
        _zip_without_road_layer,
        error=(
            "county-free.shp.zip",
            "no road layer",
            "gis_osm_railways_free_1",
            "gis_osm_buildings_a_free_1",
            "roads.layer",
        ),
    ),
    "roads_zip_without_shp": Case(
        "roads",
        "ingest_roads",
        _zip_without_shp,
        error=("county-free.shp.zip", ".shp "),
        absent=("CRS",),
    ),
    # --- heat rasters ------------------------------------------------------------------
    "heat_file_missing": Case(
        "heat rasters",
        "ingest_heat_demand",
        config(heat_demand={"path": f"{RAW}/nope.tif"}),
        error=("nope.tif", "heat_demand.path"),
    ),
    "heat_not_a_tiff": Case(
        "heat rasters",
        "ingest_heat_demand",
        _write_raw("heat.tif", "not a tiff"),
        error=("heat.tif",),
    ),
    "heat_truncated": Case(
        "heat rasters",
        "ingest_heat_demand",
        _truncated_tiff,
        error=("heat.tif",),
        absent=("report",),
    ),
    "heat_no_crs": Case(
        "heat rasters",
        "ingest_heat_demand",
        heat(lambda d: d, crs=None),
        error=("heat.tif", "no CRS"),
    ),
    "heat_outside_region": Case(
        "heat rasters",
        "ingest_heat_demand",
        heat(lambda d: d, transform=Affine(100, 0, X0 + 50_000, 0, -100, Y0 + 550)),
        error=("heat.tif", "does not cover the region"),
    ),
    "heat_wrong_crs": Case(
        "heat rasters",
        "ingest_heat_demand",
        heat(lambda d: d, crs="EPSG:3035"),
        error=("heat.tif", "region"),
    ),
    "heat_all_zero": Case(
        "heat rasters",
        "ingest_heat_demand",
        heat(np.zeros_like),
        error=("heat.tif", "no heat demand inside the region"),
    ),
    "heat_negative_cells": Case(
        "heat rasters",
        "ingest_heat_demand",
        heat(_negative_cells),
        logs=(words("WARNING", "12", "negative"), words("2000 MWh/yr inside the region")),
    ),
    "heat_nan_cells": Case(
        "heat rasters",
        "ingest_heat_demand",
        heat(_nan_cells, no_nodata=True),
        logs=(words("5") + "(?=.*(nan|nodata))", words("2000 MWh/yr inside the region")),
    ),
    # --- existing networks -------------------------------------------------------------
    "networks_file_missing": Case(
        "existing networks",
        "ingest_heat_networks",
        networks(None, "nope.gpkg"),
        error=("nope.gpkg", "existing_networks.path"),
    ),
    "networks_wrong_where": Case(
        "existing networks",
        "ingest_heat_networks",
        networks(PIPES, where="colour = 'red'"),
        error=("pipes.gpkg", "filter", "colour"),
    ),
    "networks_points": Case(
        "existing networks",
        "ingest_heat_networks",
        networks(gpd.GeoDataFrame(geometry=[Point(X0, Y0)], crs=27700)),
        error=("pipes.gpkg", "Point", "network lines"),
    ),
    "networks_no_crs": Case(
        "existing networks",
        "ingest_heat_networks",
        networks(PIPES.set_crs(None, allow_override=True), "pipes.shp"),
        error=("pipes.shp", "no CRS"),
    ),
    "networks_unknown_key": Case(
        "existing networks",
        "ingest_heat_networks",
        networks(PIPES, join_m=20),
        error=("existing_networks.join_m", "join_within_m"),
    ),
    "networks_filtered": Case(
        "existing networks",
        "ingest_heat_networks",
        networks(PIPES, where="kind = 'heat'"),
        logs=(words("read 1 pipes", "1 networks in the region"),),
    ),
    "networks_outside_region": Case(
        "existing networks",
        "ingest_heat_networks",
        networks(PIPES.assign(geometry=PIPES.translate(xoff=50_000))),
        logs=(words("0 networks in the region"),),
    ),
    # --- interrupted runs --------------------------------------------------------------
    # --- the year's demand profile -----------------------------------------------------
    "profile_wrong_length": Case(
        "demand profile",
        "assess_links",
        both(
            _write_raw("profile.csv", "demand\n" + "1.0\n" * 100),
            config(demand_profile={"path": f"{RAW}/profile.csv"}),
        ),
        error=("profile.csv", "100 rows", "8,760"),
        baseline="all",
    ),
    "profile_negative_value": Case(
        "demand profile",
        "assess_links",
        both(
            _write_raw("profile.csv", "demand\n-1.0\n" + "1.0\n" * 8759),
            config(demand_profile={"path": f"{RAW}/profile.csv"}),
        ),
        error=("demand_profile.path", "negative"),
        baseline="all",
    ),
    "profile_text_value": Case(
        "demand profile",
        "assess_links",
        both(
            _write_raw("profile.csv", "demand\nlots\n" + "1.0\n" * 8759),
            config(demand_profile={"path": f"{RAW}/profile.csv"}),
        ),
        error=("profile.csv", "line 2", "demand"),
        baseline="all",
    ),
    "profile_two_columns": Case(
        "demand profile",
        "assess_links",
        both(
            _write_raw("profile.csv", "hour,demand\n" + "0,1.0\n" * 8760),
            config(demand_profile={"path": f"{RAW}/profile.csv"}),
        ),
        error=("profile.csv", "hour, demand", "demand_profile.column"),
        baseline="all",
    ),
    "profile_missing_file": Case(
        "demand profile",
        "assess_links",
        config(demand_profile={"path": f"{RAW}/nowhere.csv"}),
        error=("nowhere.csv", "demand_profile.path"),
        baseline="all",
    ),
    "profile_never_cold": Case(
        "demand profile",
        "assess_links",
        both(
            _write_raw("temps.csv", "t\n" + "30.0\n" * 8760),
            config(demand_profile={"path": f"{RAW}/temps.csv", "values": "temperature_c"}),
        ),
        error=("demand_profile.base_temp_c", "no hour"),
        baseline="all",
    ),
    "profile_degree_days": Case(
        "demand profile",
        "assess_links",
        both(
            _write_raw("dd.csv", "hdd\n" + "10.0\n" * 90 + "0.0\n" * 185 + "10.0\n" * 90),
            config(demand_profile={"path": f"{RAW}/dd.csv", "values": "degree_days"}),
        ),
        logs=(r"demand profile: daily degree-days from .*dd\.csv, hot water 20%",),
        baseline="all",
    ),
    # --- network design (configuration) ------------------------------------------------
    "milp_network_too_large": Case(
        "configuration",
        "design_networks",
        config(network_design={"method": "milp", "max_milp_edges": 2}),
        error=("network_design.max_milp_edges", "N001", "more than", "method: heuristic"),
        baseline="all",
    ),
    "network_design_unknown_method": Case(
        "configuration",
        "ingest_sources",
        config(network_design={"method": "exact"}),
        error=("network_design.method", "heuristic", "milp"),
    ),
    "profile_unknown_climate": Case(
        "demand profile",
        "assess_links",
        config(demand_profile={"climate": "XX-nowhere"}),
        error=("demand_profile.climate", "XX-nowhere", "GB-london"),
        baseline="all",
    ),
    "profile_default_climate": Case(
        "demand profile",
        "assess_links",
        config(),
        logs=(r"demand profile: climate GB-london \(nearest shipped series",),
        baseline="all",
    ),
    "currency_without_rate": Case(
        "configuration",
        "assess_links",
        config(cost={"currency": "GBP"}),
        error=("cost", "currency_per_eur"),
        baseline="all",
    ),
    "stale_geopackage_temp": Case(
        "interrupted runs",
        "export_geopackage",
        _stale(*_STALE_GPKG),
        logs=(words("wrote"),),
        baseline="all",
        check=_gone(*_STALE_GPKG),
    ),
    "stale_sources_temp": Case(
        "interrupted runs",
        "ingest_sources",
        _stale("data/interim/tiny/.sources.tmp-99999999.parquet"),
        logs=(words("wrote"),),
        check=_gone("data/interim/tiny/.sources.tmp-99999999.parquet"),
    ),
    "stale_heat_temp": Case(
        "interrupted runs",
        "ingest_heat_demand",
        _stale("data/interim/tiny/.heat_demand_mwh_per_cell.tmp-99999999.tif"),
        logs=(words("wrote"),),
        check=_gone("data/interim/tiny/.heat_demand_mwh_per_cell.tmp-99999999.tif"),
    ),
    "stale_roads_temp_of_a_dead_run": Case(
        "interrupted runs",
        "ingest_roads",
        _stale("data/interim/tiny/.roads.tmp-99999999.parquet"),
        logs=(words("wrote"),),
        check=_gone("data/interim/tiny/.roads.tmp-99999999.parquet"),
    ),
    "truncated_intermediate": Case(
        "interrupted runs",
        "build_road_graph",
        _truncate("data/interim/tiny/roads.parquet"),
        error=("roads.parquet", "ingest_roads"),
        baseline="ingest_roads",
    ),
    "stage_before_its_inputs": Case(
        "interrupted runs",
        "build_road_graph",
        lambda r: None,
        error=("roads.parquet", "make all"),
        baseline="ingest_sources",
    ),
}


def _argv(case: Case, root: Path) -> list[str]:
    if case.config_file is None:
        return [case.stage, "--region", case.region]
    return [case.stage, "--config", str(root / case.config_file)]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(tiny_region: TinyRegion, name: str) -> None:
    case = CASES[name]
    root = tiny_region.root
    good = heatlink(root, case.baseline or case.stage, "--region", "tiny")
    assert good.returncode == 0, good.stderr[-2000:]
    with warnings.catch_warnings():  # writing layers without a CRS warns, on purpose
        warnings.simplefilter("ignore")
        case.setup(tiny_region)
    before = _outputs(root)
    res = heatlink(root, *_argv(case, root))
    if case.error:
        assert_one_line_error(res, *case.error, absent=case.absent)
        assert _outputs(root) == before, "earlier outputs changed"
    else:
        assert res.returncode == 0, f"exit {res.returncode}: {res.stderr.strip()[-800:]}"
        assert_logged(root / "outputs" / case.log_region / "logs" / f"{case.stage}.log", *case.logs)
    assert _temp_files(root) == []
    if case.check is not None:
        case.check(tiny_region)


def test_corpus_size() -> None:
    """Issue 9 asks for at least 45 cases over six categories; issue 10 adds the demand
    profile."""
    categories = {c.category for c in CASES.values()}
    assert len(CASES) >= 45
    assert categories == {
        "configuration",
        "sites",
        "roads",
        "heat rasters",
        "existing networks",
        "demand profile",
        "interrupted runs",
    }


def test_duplicate_key_line(tiny_region: TinyRegion) -> None:
    """The duplicate-key error names the line of the second occurrence."""
    tiny_region.write_config(routing={"spur_warning_m": 100})
    text = _duplicate_key(tiny_region.region_file.read_text())
    tiny_region.region_file.write_text(text)
    line = text.splitlines().index("  max_link_length_m: 900") + 1
    res = heatlink(tiny_region.root, "ingest_sources", "--region", "tiny")
    assert_one_line_error(res, "max_link_length_m", f"line {line}")


def test_unknown_executor_from_make(tiny_region: TinyRegion, monkeypatch) -> None:
    """`make all EXECUTOR=threads` (the HEATLINK_EXECUTOR it exports) is a one-line error."""
    monkeypatch.setenv("HEATLINK_EXECUTOR", "threads")
    res = heatlink(tiny_region.root, "route_links", "--region", "tiny")
    assert_one_line_error(res, "unknown executor 'threads'", "EXECUTOR", "local, dask")


def test_unreachable_dask_scheduler(tiny_region: TinyRegion, monkeypatch) -> None:
    """A scheduler address where none listens is a one-line error, outputs untouched."""
    pytest.importorskip("distributed")
    good = heatlink(tiny_region.root, "all", "--region", "tiny")
    assert good.returncode == 0, good.stderr[-2000:]
    before = _outputs(tiny_region.root)
    monkeypatch.setenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT", "1s")
    import dask.config

    dask.config.refresh()
    try:
        res = heatlink(
            tiny_region.root,
            "route_links",
            "--region",
            "tiny",
            "--executor",
            "dask",
            "--scheduler",
            "tcp://127.0.0.1:9",
        )
    finally:
        monkeypatch.delenv("DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT")
        dask.config.refresh()
    assert_one_line_error(res, "cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert _outputs(tiny_region.root) == before


def test_config_outside_repo(tiny_region: TinyRegion, tmp_path_factory) -> None:
    """`--config FILE` runs a region file kept anywhere, into the folders of its name."""
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "tiny.yml"
    elsewhere.write_text(tiny_region.region_file.read_text())
    res = heatlink(tiny_region.root, "all", "--config", str(elsewhere))
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tiny_region.root / "outputs/tiny/heat_links.gpkg").is_file()
    assert (tiny_region.root / "outputs/tiny/logs/route_links.log").read_text().count("wrote") == 1


# --- malformed site tables, generated ---------------------------------------------------

_LON, _LAT = _NEAR
COLUMNS = ("site_id", "name", "it_load_mw", "lat", "lon", "heat_output_mw", "cooling")
_GOOD = {
    "name": st.sampled_from(["DC", "Süd", ""]),
    "it_load_mw": st.floats(0, 200).map(repr),
    "lat": st.floats(_LAT - 0.0005, _LAT + 0.0005).map(repr),
    "lon": st.floats(_LON - 0.0005, _LON + 0.0005).map(repr),
    "heat_output_mw": st.one_of(st.just(""), st.floats(0, 50).map(repr)),
    "cooling": st.sampled_from(["air", "liquid", ""]),
}
_ANY_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "nan", "NaN", "inf", "-inf", "1e400", "five", "5,0", " 3 ", "-1"]),
)
_BAD = {
    "site_id": st.sampled_from(["S1", "", " "]),  # S1 repeats the first row's id
    "name": st.sampled_from(['"a, b"', '"unclosed', "x;y"]),
    "it_load_mw": _ANY_NUMBER,
    "lat": st.one_of(st.just(repr(_LON)), st.just("95"), _ANY_NUMBER),
    "lon": st.one_of(st.just(repr(_LAT)), st.just("-200"), _ANY_NUMBER),
    "heat_output_mw": _ANY_NUMBER,
    "cooling": st.sampled_from(["water", "AIR", " liquid"]),
}


@st.composite
def site_tables(draw: st.DrawFn) -> str:
    """CSV text of a site table, mostly good, with random columns missing and random bad
    cells (about one in eight of each), or an empty file."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["", "\n", "site_id\n"]))
    columns = [c for c in COLUMNS if draw(st.integers(0, 7)) > 0]
    columns = draw(st.permutations(columns))
    lines = [",".join(columns)]
    for i in range(draw(st.integers(0, 4))):
        good = {**_GOOD, "site_id": st.just(f"S{i + 1}")}
        cells = [draw(_BAD[c] if draw(st.integers(0, 7)) == 0 else good[c]) for c in columns]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(table=site_tables())
def test_malformed_site_tables(tiny_region: TinyRegion, table: str) -> None:
    """Any site table either ingests or ends with exit 2 and one line naming the file."""
    (tiny_region.root / RAW / "sites.csv").write_text(table, encoding="utf-8")
    res = heatlink(tiny_region.root, "ingest_sources", "--region", "tiny")
    assert res.returncode in (0, 2), f"exit {res.returncode} for\n{table}\n{res.stderr[-1500:]}"
    assert "Traceback" not in res.stderr
    if res.returncode == 2:
        assert res.last_line.startswith("heatlink: error: "), res.last_line
        assert "sites.csv" in res.last_line, res.last_line
    else:
        assert (tiny_region.root / "data/interim/tiny/sources.parquet").is_file()


# --- paths with spaces and non-ASCII letters, under make ---------------------------------


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def project_copy(region: TinyRegion) -> Callable[..., subprocess.CompletedProcess]:
    """Put the Makefile and package next to the tiny region; return a `make` runner.

    The runner uses this checkout's venv, never installs into it, and runs the copied
    package.
    """
    root = region.root
    shutil.copy2(REPO / "Makefile", root / "Makefile")
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(
        REPO / "pipeline", root / "pipeline", ignore=shutil.ignore_patterns("__pycache__")
    )
    stamp = root / "venv.stamp"
    stamp.touch()
    venv = [f"PY={REPO / '.venv' / 'bin' / 'python'}", f"VENV_OK={stamp.name}"]
    env = {**os.environ, "PYTHONPATH": str(root)}

    def make(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["make", "--no-print-directory", *args, "REGION=tiny", *venv],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    return make


INGESTED = [
    f"data/interim/tiny/{n}"
    for n in ("sources.parquet", "roads.parquet", "heat_demand_mwh_per_cell.tif")
]


@needs_make
def test_make_with_spaces_and_non_ascii_paths(tiny_region: TinyRegion) -> None:
    """`make` builds the ingest outputs from inputs in 'my inputs ü/' named 'sites ä ö.csv',
    and rebuilds when such an input changes."""
    root = tiny_region.root
    make = project_copy(tiny_region)
    odd = root / RAW / "my inputs ü"
    odd.mkdir()
    for src, dst in [
        ("sites.csv", "sites ä ö.csv"),
        ("roads.gpkg", "roads ß.gpkg"),
        ("heat.tif", "heat é.tif"),
    ]:
        (root / RAW / src).rename(odd / dst)
    rel = f"{RAW}/my inputs ü"
    tiny_region.write_config(
        sources={"path": f"{rel}/sites ä ö.csv"},
        roads={"path": f"{rel}/roads ß.gpkg"},
        heat_demand={"path": f"{rel}/heat é.tif"},
    )
    proc = make(*INGESTED)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert all((root / t).is_file() for t in INGESTED)
    again = make("-q", *INGESTED)
    assert again.returncode == 0, "a second make would rebuild: " + again.stdout + again.stderr
    later = (root / INGESTED[0]).stat().st_mtime + 60
    os.utime(odd / "sites ä ö.csv", (later, later))
    stale = make("-q", INGESTED[0])
    assert stale.returncode == 1, "make does not see that 'sites ä ö.csv' changed"


@needs_make
def test_make_missing_input_names_the_key(tiny_region: TinyRegion) -> None:
    """Under make, a missing input file ends with heatlink's line naming the config key,
    not make's `No rule to make target`."""
    make = project_copy(tiny_region)
    tiny_region.write_config(sources={"path": f"{RAW}/nope.csv"})
    proc = make(INGESTED[0])
    assert proc.returncode != 0
    assert "No rule to make target" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("heatlink: error: ")]
    assert len(errors) == 1, proc.stderr
    assert "nope.csv" in errors[0] and "sources.path" in errors[0], errors[0]
