"""The region file's strictness, the region's name and extent, the stage declarations
and the files ``heatlink configure`` writes for Make, and atomic writes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyproj import Transformer

from conftest import X0, Y0, TinyRegion
from pipeline.cli import configure, stage_rules
from pipeline.config import ConfigError, RegionFile, load_region_file
from pipeline.io import atomic_path, remove_stale_temps
from pipeline.paths import RegionPaths
from pipeline.readers.extent import with_region_extent
from pipeline.stages import STAGES, region_input_files

BASE = """\
region:
  crs: 27700
  bbox: [530000, 180000, 531000, 181000]
  bbox_crs: 27700
sources: {path: sites.csv}
roads: {path: roads.gpkg}
heat_demand: {path: heat.tif, units: MWh/ha/yr}
"""


def _load(tmp_path: Path, text: str, name: str = "r") -> object:
    path = tmp_path / f"{name}.yml"
    path.write_text(text, encoding="utf-8")
    return load_region_file(path, root=tmp_path)


def _error(tmp_path: Path, text: str, name: str = "r") -> str:
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, text, name)
    return exc.value.one_line()


def test_a_duplicate_key_names_the_key_and_both_lines(tmp_path: Path) -> None:
    msg = _error(tmp_path, BASE + "routing:\n  max_link_length_m: 10\n  max_link_length_m: 20\n")
    assert "'max_link_length_m' is given twice (lines 9 and 10)" in msg
    assert "r.yml, line 10" in msg


def test_the_same_key_in_two_sections_is_not_a_duplicate(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path, BASE + "routing: {max_snap_distance_m: 50}\nviability: {max_spur_m: 40}\n"
    )
    assert cfg.routing.max_snap_distance_m == 50 and cfg.viability.max_spur_m == 40


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("sources: {path: sites.csv, source_temp_air_c: .nan}", "sources.source_temp_air_c"),
        ("routing: {max_link_length_m: .inf}", "routing.max_link_length_m"),
        ("pipes: {ground_temp_c: -.inf}", "pipes.ground_temp_c"),
        ("carbon: {grid_factors_kg_per_kwh: {2025: .nan}}", "carbon.grid_factors_kg_per_kwh.2025"),
    ],
)
def test_nan_and_infinity_are_refused_naming_the_key(tmp_path: Path, extra: str, key: str) -> None:
    text = BASE.replace("sources: {path: sites.csv}\n", "") if "sources" in extra else BASE
    msg = _error(tmp_path, text + extra + "\n")
    assert f"'{key}': must be a finite number" in msg


def test_the_region_name_is_the_file_name(tmp_path: Path) -> None:
    assert _load(tmp_path, BASE, name="my-region").region.name == "my-region"
    same = BASE.replace("region:\n", "region:\n  name: r\n")
    assert _load(tmp_path, same).region.name == "r"


def test_a_region_name_that_differs_from_the_file_name_is_refused(tmp_path: Path) -> None:
    msg = _error(tmp_path, BASE.replace("region:\n", "region:\n  name: b\n"), name="a")
    assert "region.name 'b' differs from the file name 'a'" in msg
    assert "rename the file to b.yml" in msg


def test_a_bbox_in_metres_with_a_lonlat_bbox_crs_names_bbox_crs(tmp_path: Path) -> None:
    msg = _error(tmp_path, BASE.replace("  bbox_crs: 27700\n", ""))
    assert "region.bbox [530000.0, 180000.0, 531000.0, 181000.0] is not longitude/latitude" in msg
    assert "set region.bbox_crs to its projected CRS" in msg
    assert "inf" not in msg


def test_an_unknown_key_under_a_road_class_lists_the_valid_keys(tmp_path: Path) -> None:
    text = BASE.replace(
        "roads: {path: roads.gpkg}", "roads: {path: roads.gpkg, classes: {residential: {foo: 1}}}"
    )
    msg = _error(tmp_path, text)
    assert (
        "unknown key 'roads.classes.residential.foo' (valid keys here: follow, cost_factor)" in msg
    )


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = BASE + "routing: {max_link_lenght_m: 1}\ncost: {discount_rate: 2}\n"
    msg = _error(tmp_path, text)
    assert "routing.max_link_lenght_m" in msg and "cost.discount_rate" in msg


def test_without_a_bbox_the_region_is_the_extent_of_the_roads(tiny_region: TinyRegion) -> None:
    tiny_region.write_config(region={"bbox": None, "bbox_crs": None})
    cfg = load_region_file(tiny_region.region_file, root=tiny_region.root)
    assert cfg.region.bbox is None
    resolved, note = with_region_extent(cfg)
    # the grid's extent, 400 m square, in lon/lat
    expected = Transformer.from_crs(27700, 4326, always_xy=True).transform_bounds(
        X0, Y0, X0 + 400, Y0 + 400
    )
    assert resolved.region.bbox == pytest.approx(expected, abs=1e-7)
    assert resolved.region.bbox_crs == "EPSG:4326"
    assert note is not None and "extent of roads.path" in note and "(lon/lat)" in note
    # with a bbox given, nothing changes and there is no note
    assert (
        with_region_extent(load_region_file(_with_bbox(tiny_region), root=tiny_region.root))[1]
        is None
    )


def _with_bbox(region: TinyRegion) -> Path:
    return region.write_config(region=region.config["region"])


def test_input_files_are_keyed_by_the_config_key(tiny_region: TinyRegion) -> None:
    cfg = load_region_file(tiny_region.region_file, root=tiny_region.root)
    files = region_input_files(cfg)
    assert list(files) == ["sources.path", "roads.path", "heat_demand.path"]
    assert files["roads.path"] == tiny_region.root / "data/raw/tiny/roads.gpkg"


def test_every_stage_writes_what_a_later_stage_reads() -> None:
    written: set[str] = set()
    for stage in STAGES:
        assert set(stage.reads) <= written, stage.name
        assert Path(stage.module_file).name == f"{stage.name}.py"
        written |= set(stage.writes)
    assert "region" in next(s for s in STAGES if s.name == "build_demand_zones").config


def _configure(region: TinyRegion) -> RegionPaths:
    cfg, note = with_region_extent(load_region_file(region.region_file, root=region.root))
    paths = RegionPaths(cfg.region.name, region.root)
    configure(paths, cfg, region.region_file, extent_from_inputs=note is not None)
    return paths


def test_configure_links_inputs_by_key_and_writes_one_rule_per_stage(
    tiny_region: TinyRegion,
) -> None:
    paths = _configure(tiny_region)
    links = sorted(p.name for p in paths.input_links.iterdir())
    assert links == ["heat_demand.path", "roads.path", "sources.path"]
    assert (paths.input_links / "roads.path").resolve() == (
        tiny_region.root / "data/raw/tiny/roads.gpkg"
    ).resolve()
    rules = paths.stages_mk.read_text()
    assert rules.count("$(HEATLINK) ") == len(STAGES)
    assert (
        "data/interim/tiny/routes.parquet data/interim/tiny/attachments.parquet "
        "data/interim/tiny/route_segments.parquet &: data/interim/tiny/sources.parquet" in rules
    )
    assert "data/interim/tiny/inputs/roads.path" in rules
    # a changed section rewrites its slice only, and a dropped input loses its link
    before = {p.name: p.stat().st_mtime_ns for p in paths.config_slices.iterdir()}
    time.sleep(0.01)
    tiny_region.write_config(routing={"max_link_length_m": 900})
    _configure(tiny_region)
    after = {p.name: p.stat().st_mtime_ns for p in paths.config_slices.iterdir()}
    assert [k for k in before if before[k] != after[k]] == ["routing.json"]


def test_configure_makes_paths_with_spaces_safe_for_make(tiny_region: TinyRegion) -> None:
    odd = tiny_region.root / "data" / "raw" / "tiny" / "my inputs ü"
    odd.mkdir()
    os.replace(tiny_region.root / "data/raw/tiny/sites.csv", odd / "sites ä ö.csv")
    tiny_region.write_config(sources={"path": "data/raw/tiny/my inputs ü/sites ä ö.csv"})
    paths = _configure(tiny_region)
    rules = paths.stages_mk.read_text(encoding="utf-8")
    assert "ü" not in rules and " ä" not in rules
    assert (paths.input_links / "sources.path").resolve() == (odd / "sites ä ö.csv").resolve()


def test_the_rules_follow_the_declaration(tiny_region: TinyRegion) -> None:
    cfg = load_region_file(tiny_region.region_file, root=tiny_region.root)
    paths = RegionPaths("tiny", tiny_region.root)
    rules = stage_rules(paths, cfg, region_file=tiny_region.region_file)
    zones_rule = next(
        line for line in rules.splitlines() if line.startswith("data/interim/tiny/demand_zones")
    )
    # build_demand_zones reads region.crs, so it depends on the region slice
    assert "data/interim/tiny/config/region.json" in zones_rule
    assert "data/interim/tiny/heat_demand_mwh_per_cell.tif" in zones_rule


def test_atomic_path_removes_temp_files_of_dead_runs_only(tmp_path: Path) -> None:
    final = tmp_path / "heat_links.gpkg"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    stale = [
        tmp_path / f".heat_links.tmp-{dead_pid}.gpkg",
        tmp_path / f".heat_links.tmp-{dead_pid}.gpkg-journal",
    ]
    live = tmp_path / f".heat_links.tmp-{os.getppid()}.gpkg"
    other = tmp_path / f".heat_linksX.tmp-{dead_pid}.gpkg"
    for p in (*stale, live, other):
        p.write_text("x")
    with atomic_path(final) as tmp:
        tmp.write_text("new")
    assert final.read_text() == "new"
    assert not any(p.exists() for p in stale)
    assert live.exists() and other.exists()
    assert remove_stale_temps(final) == []


def test_atomic_path_keeps_the_old_output_when_the_writer_fails(tmp_path: Path) -> None:
    final = tmp_path / "out.parquet"
    final.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(final) as tmp:
        tmp.write_text("half")
        Path(f"{tmp}-journal").write_text("j")
        raise RuntimeError("killed")
    assert final.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]


def _docstring_part(doc: str, heading: str) -> str:
    """The paragraph under ``heading`` (Inputs, Outputs, Config keys) of a stage docstring."""
    lines = doc.splitlines()
    start = lines.index(heading) + 1
    body = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break
        body.append(line)
    return " ".join(body)


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_each_stage_docstring_agrees_with_its_declaration(stage: object) -> None:
    import importlib

    doc = importlib.import_module(f"pipeline.stages.{stage.name}").__doc__
    paths = RegionPaths("r")
    inputs, outputs = _docstring_part(doc, "Inputs"), _docstring_part(doc, "Outputs")
    keys = _docstring_part(doc, "Config keys")
    for name in stage.reads:
        assert getattr(paths, name).name in inputs, (stage.name, name)
    for name in stage.writes:
        assert getattr(paths, name).name in outputs, (stage.name, name)
    if stage.config == tuple(RegionFile.model_fields):
        assert "all sections" in keys, stage.name
    else:
        for section in stage.config:
            assert f"``{section}." in keys, (stage.name, section)
        for section in set(RegionFile.model_fields) - set(stage.config):
            assert f"``{section}." not in keys, (stage.name, section)


def test_with_roads_from_overpass_the_region_is_the_sites_and_heat_map(
    tiny_region: TinyRegion,
) -> None:
    """The tiny heat raster covers 600 m x 600 m from (X0 - 50, Y0 - 50); the one site
    lies inside it, so the extent is the raster's."""
    tiny_region.write_config(
        region={"bbox": None, "bbox_crs": None},
        roads={"path": None, "overpass_place": "Nowhere, UK"},
    )
    cfg = load_region_file(tiny_region.region_file, root=tiny_region.root)
    resolved, note = with_region_extent(cfg)
    expected = Transformer.from_crs(27700, 4326, always_xy=True).transform_bounds(
        X0 - 50, Y0 - 50, X0 + 550, Y0 + 550
    )
    assert resolved.region.bbox == pytest.approx(expected, abs=1e-7)
    assert note is not None and "sources.path, heat_demand.path" in note
