"""Industrial (Hotmaps database) and OSM-tagged heat sources, on fixtures made here."""

from __future__ import annotations

from pathlib import Path

import osmium
import pytest
from pyproj import CRS
from shapely.geometry import box

from conftest import X0, Y0, to_lonlat
from pipeline.config import HotmapsIndustrialConfig, OsmDataCentresConfig, SourcesConfig
from pipeline.errors import InputError
from pipeline.readers.tables import read_hotmaps_industrial
from pipeline.stages.ingest_sources import SiteInput, ingest_sources, read_osm_data_centres

REGION = box(X0 - 100, Y0 - 100, X0 + 500, Y0 + 500)
BNG = CRS.from_epsg(27700)
HEADER = (
    "SiteID;CompanyName;SiteName;geom;Subsector;Excess_Heat_100-200C;"
    "Excess_Heat_200-500C;Excess_Heat_500C;Excess_Heat_Total"
)


def _db(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "Industrial_Database.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _point(x: float, y: float) -> str:
    lon, lat = to_lonlat(x, y)
    return f'"SRID=4326;POINT({lon} {lat})"'


def test_hotmaps_database_rows(tmp_path: Path) -> None:
    path = _db(
        tmp_path,
        f"1;Cement Co;Kiln Works;{_point(X0, Y0)};Cement;0.0;87.6;0.0;87.6",
        "2;Nowhere Ltd;No Location;;Paper;1.0;0;0;1.0",
        f"3;Far Ltd;Far Works;{_point(X0 + 90_000, Y0)};Paper;8.76;0;0;8.76",
    )
    cfg = HotmapsIndustrialConfig(path=path)
    sites = read_hotmaps_industrial(cfg)
    assert sites["site_id"].tolist() == ["HM1", "HM3"]  # the row without location is skipped
    # 87.6 GWh/a is 10 MW as a year-round mean; most of it in the 200-500 C band
    assert sites["heat_output_mw"].iloc[0] == pytest.approx(10.0)
    assert sites["source_temp_c"].tolist() == [350.0, 150.0]
    scfg = SourcesConfig(hotmaps_industrial=cfg)
    out, skipped = ingest_sources(
        [SiteInput(sites, path, strict=False)], cfg=scfg, region=REGION, crs=BNG
    )
    assert out["site_id"].tolist() == ["HM1"] and skipped == ["HM3"]
    row = out.iloc[0]
    assert row["kind"] == "industrial" and row["heat_available_mw"] == pytest.approx(10.0)
    assert not row["heat_assumed"]


def test_hotmaps_bad_wkt_names_the_line(tmp_path: Path) -> None:
    path = _db(
        tmp_path,
        f"1;A;A works;{_point(X0, Y0)};Cement;0;1;0;1",
        '2;B;B works;"SRID=4326;POINT(-0.5, 52.6)";Cement;0;1;0;1',
    )
    with pytest.raises(InputError, match=r"line 3 .*POINT\(-0.5, 52.6\)"):
        read_hotmaps_industrial(HotmapsIndustrialConfig(path=path))


def test_hotmaps_wrong_file(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("site_id,name\n1,a\n")
    with pytest.raises(InputError, match="missing column"):
        read_hotmaps_industrial(HotmapsIndustrialConfig(path=path))


def test_osm_data_centres(tmp_path: Path) -> None:
    path = tmp_path / "dc.osm.pbf"
    lon, lat = to_lonlat(X0 + 50, Y0 + 50)
    d = 0.0005
    with osmium.SimpleWriter(str(path)) as w:
        w.add_node(
            osmium.osm.mutable.Node(
                id=1, location=(lon, lat), tags={"telecom": "data_center", "name": "DC One"}
            )
        )
        corners = [(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d)]
        for i, c in enumerate(corners, start=10):
            w.add_node(osmium.osm.mutable.Node(id=i, location=c, tags={}))
        w.add_node(osmium.osm.mutable.Node(id=20, location=(lon, lat), tags={"amenity": "cafe"}))
        w.add_way(
            osmium.osm.mutable.Way(
                id=5, nodes=[10, 11, 12, 13, 10], tags={"building": "data_center"}
            )
        )
    cfg = OsmDataCentresConfig(path=path, it_load_mw=8.0)
    sites = read_osm_data_centres(cfg)
    assert sorted(sites["site_id"]) == ["OSMn1", "OSMw5"]
    assert sites["it_load_assumed"].all() and (sites["it_load_mw"] == 8.0).all()
    out, _ = ingest_sources(
        [SiteInput(sites, path)], cfg=SourcesConfig(osm_data_centres=cfg), region=REGION, crs=BNG
    )
    assert out["it_load_assumed"].all()
    # 8 MW x 0.7 x 0.8 (air) = 4.48 MW, estimated
    assert out["heat_available_mw"].tolist() == pytest.approx([4.48, 4.48])
    assert out.set_index("site_id").loc["OSMn1", "name"] == "DC One"
