"""The report's designed-networks section, its maps and ``networks.csv``."""

from __future__ import annotations

import html
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, MultiLineString, Point, box

from conftest import X0, Y0, grid_roads
from pipeline.config import RegionFile
from pipeline.paths import RegionPaths
from pipeline.report_maps import network_extent
from pipeline.stages import write_report
from pipeline.stages.export_geopackage import layer_fields
from pipeline.stages.write_report import (
    _network_parts,
    build_report,
    network_savings,
    networks_section,
    networks_table,
    run,
)

CRS = 27700


def _config(tmp_path: Path) -> RegionFile:
    return RegionFile.model_validate(
        {
            "region": {
                "name": "tiny",
                "crs": CRS,
                "bbox": [X0 - 100, Y0 - 100, X0 + 500, Y0 + 500],
                "bbox_crs": CRS,
            },
            "sources": {"path": str(tmp_path / "sites.csv")},
            "roads": {"path": str(tmp_path / "roads.gpkg")},
            "heat_demand": {"path": str(tmp_path / "heat.tif"), "units": "MWh/ha/yr"},
            "cost": {"currency": "GBP", "currency_per_eur": 0.87},
        }
    )


def _gdf(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def _sources() -> gpd.GeoDataFrame:
    return _gdf(
        [
            {
                "site_id": sid,
                "name": f"DC {sid}",
                "kind": "data_centre",
                "heat_available_mw": 5.0,
                "geometry": Point(X0 + dx, Y0),
            }
            for sid, dx in (("S1", 0.0), ("S2", 400.0), ("S3", 200.0))
        ]
    )


def _zones() -> gpd.GeoDataFrame:
    return _gdf(
        [
            {
                "zone_id": zid,
                "annual_demand_mwh": 2000.0,
                "peak_demand_mw": 1.0,
                "area_ha": 4.0,
                "geometry": box(X0 + x, Y0 + 300, X0 + x + 100, Y0 + 400),
            }
            for zid, x in (("Z1", 0.0), ("Z2", 300.0), ("Z3", 150.0))
        ]
    )


def _existing() -> gpd.GeoDataFrame:
    return _gdf(
        [
            {
                "network_id": "N0001",
                "n_pipes": 1,
                "length_m": 200.0,
                "geometry": LineString([(X0, Y0 - 200), (X0 + 200, Y0 - 200)]),
            }
        ]
    )


def _link(link_id: str, site: str, sink: str, x0: float, x1: float, rec: bool) -> dict:
    return {
        "link_id": link_id,
        "site_id": site,
        "zone_id": sink if sink.startswith("Z") else None,
        "sink_id": sink,
        "route_length_m": 500.0,
        "dn": 100,
        "design_network_heat_mw": 2.0,
        "allocated_network_heat_mw": 1.0 if rec else 0.0,
        "allocated_source_heat_mw": 0.8 if rec else 0.0,
        "coverage_pct": 50.0,
        "heat_loss_pct": 5.0,
        "lcoh_transmission_gbp_per_mwh": 40.0,
        "lcoh_delivered_gbp_per_mwh": 55.0,
        "recommended": rec,
        "geometry": LineString([(X0 + x0, Y0), (X0 + x1, Y0 + 300)]),
    }


def _links() -> gpd.GeoDataFrame:
    return _gdf(
        [
            _link("L1", "S1", "Z1", 0, 50, True),  # network N001 replaces L1, L2 and L3
            _link("L2", "S1", "Z2", 0, 350, True),
            _link("L3", "S2", "Z2", 400, 350, True),
            _link("L4", "S2", "Z1", 400, 50, False),  # viable, not recommended: not replaced
            _link("L5", "S3", "N0001", 200, 100, True),  # network N002
            _link("L6", "S3", "Z3", 200, 200, False),
        ]
    )


def _networks_layers(n: int = 2) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``n`` networks; the first two are N001 (S1, S2 to Z1, Z2) and N002 (S3 to N0001)."""
    known = [
        ("S1;S2", "Z1;Z2", 3, 600.0, 1000.0, 3.0e6, 4.0e6, 9000.0, [(0, 0), (0, 300), (350, 300)]),
        ("S3", "N0001", 2, 300.0, 500.0, 1.0e6, 1.0e6, 4000.0, [(200, 0), (200, -200)]),
    ]
    networks, pipes = [], []
    for i in range(n):
        sites, sinks, n_links, trench, p2p, capex, p2p_capex, heat, xy = known[min(i, 1)]
        line = LineString([(X0 + x + 10 * i, Y0 + y) for x, y in xy])
        network_id = f"N{i + 1:03d}"
        networks.append(
            {
                "network_id": network_id,
                "site_ids": sites,
                "sink_ids": sinks,
                "n_sinks": len(sinks.split(";")),
                "n_links": n_links,
                "trench_length_m": trench,
                "heat_pump_mw": 2.0,
                "capex_gbp": capex,
                "delivered_heat_mwh": heat - i,  # N001 delivers most, then N002, N003, ...
                "annual_heat_loss_mwh": 300.0,
                "heat_loss_pct": 3.2,
                "max_supply_temp_drop_k": 1.5,
                "pump_electricity_mwh": 20.0,
                "lcoh_transmission_gbp_per_mwh": 35.0,
                "lcoh_delivered_gbp_per_mwh": 48.0,
                "co2_saved_t_per_yr": 1200.0,
                "co2_saved_t_lifetime": 36000.0,
                "p2p_trench_length_m": p2p,
                "p2p_capex_gbp": p2p_capex,
                "trench_saving_pct": 100 * (1 - trench / p2p),
                "capex_saving_pct": 100 * (1 - capex / p2p_capex),
                "method": "milp" if i == 0 else "heuristic",
                "optimality_gap_pct": 0.4 if i == 0 else None,
                "run_id": "0123456789abcdef",  # the export stamps every layer with its run
                "geometry": MultiLineString([line]),
            }
        )
        for k, (a, b) in enumerate(zip(line.coords[:-1], line.coords[1:], strict=True)):
            pipes.append(
                {
                    "network_id": network_id,
                    "site_id": sites.split(";")[0],
                    "site_ids": sites,
                    "segment_id": f"{i}-{k}",
                    "road_class": "residential",
                    "length_m": LineString([a, b]).length,
                    "dn": (150, 65)[k % 2],
                    "design_network_heat_mw": 2.0,
                    "n_consumers": 100,
                    "heat_loss_w_per_m": 30.0,
                    "annual_heat_loss_mwh": 100.0,
                    "capex_gbp": 500_000.0,
                    "geometry": LineString([a, b]),
                }
            )
    return _gdf(networks), _gdf(pipes)


def _layers(n_networks: int | None = 2) -> dict[str, gpd.GeoDataFrame]:
    """A region's layers; ``n_networks=None`` leaves the network layers out."""
    links = _links()
    layers = {
        "sources": _sources(),
        "demand_zones": _zones(),
        "existing_networks": _existing(),
        "links": links,
        "rejected_links": _gdf([{**_link("R1", "S1", "Z3", 0, 150, False), "reason": "too_long"}]),
    }
    if n_networks is not None:  # 0: the layers with their fields and no row
        networks, pipes = _networks_layers(max(n_networks, 1))
        networks = networks.iloc[:n_networks]
        layers["networks"] = networks
        layers["network_pipes"] = pipes[pipes["network_id"].isin(networks["network_id"])]
    return layers


def _section_of(page: str) -> str:
    return re.search(r"<h2>Designed networks</h2>(.*?)(?=<h2>)", page, flags=re.S).group(1)


def _first_table(section: str) -> pd.DataFrame:
    """The section's first HTML table, as text (pandas.read_html needs lxml)."""
    rows = [
        [html.unescape(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", section.split("</table>")[0], flags=re.S)
    ]
    return pd.DataFrame(rows[1:], columns=rows[0])


def _network_maps(page: str) -> list[str]:
    return re.findall(r'<img alt="network (N\d+)" src="data:image/png;base64,', page)


def test_networks_table_lists_each_network_with_the_shared_trench_savings(tmp_path) -> None:
    page = build_report(_layers(), grid_roads(), _config(tmp_path), generated="now")
    section = _section_of(page)
    table = _first_table(section)
    assert table["network_id"].tolist() == ["N001", "N002"]
    assert table.loc[0, "site_ids"] == "S1;S2" and table.loc[1, "sink_ids"] == "N0001"
    assert {"p2p_capex_gbp", "capex_saving_pct", "lcoh_delivered_gbp_per_mwh", "method"} <= set(
        table.columns
    )
    # 900 m of trench against 1500 m, 4.0 M against 5.0 M, for 3 + 2 links
    assert (
        "Against the 5 point-to-point links they replace, each laid alone, the networks save "
        "600 m of trench (40.0 %) and 1,000,000 GBP of capital cost (20.0 %)" in section
    )
    assert "edge of each zone" in section and "own distribution network" in section
    assert _network_maps(page) == ["N001", "N002"]
    assert page.index("<h2>Top links by") < page.index("<h2>Designed networks</h2>")


def test_network_savings_of_known_networks() -> None:
    networks, _ = _networks_layers(2)
    assert network_savings(networks, "gbp") == pytest.approx(
        {
            "trench_saved_m": 600.0,
            "trench_saving_pct": 40.0,
            "capex_saved": 1.0e6,
            "capex_saving_pct": 20.0,
            "n_links": 5,
        }
    )


def test_network_map_shows_its_own_sources_sinks_and_the_recommended_links_it_replaces() -> None:
    layers = _layers()
    first, second = layers["networks"].itertuples()
    parts = _network_parts(first, layers)
    assert parts["sources"]["site_id"].tolist() == ["S1", "S2"]
    assert parts["demand_zones"]["zone_id"].tolist() == ["Z1", "Z2"]
    assert parts["existing_networks"].empty
    assert parts["links"]["link_id"].tolist() == ["L1", "L2", "L3"]  # not L4: not recommended
    assert set(parts["network_pipes"]["network_id"]) == {"N001"}
    parts = _network_parts(second, layers)
    assert parts["existing_networks"]["network_id"].tolist() == ["N0001"]
    assert parts["links"]["link_id"].tolist() == ["L5"]
    # fitted to the network's extent (350 m x 300 m) plus a margin, square
    x0, y0, x1, y1 = network_extent(gpd.GeoSeries([first.geometry]), parts["sources"].geometry)
    assert x1 - x0 == pytest.approx(y1 - y0)
    assert x0 < X0 and x1 > X0 + 350 and y0 < Y0 and y1 > Y0 + 300
    assert x1 - x0 < 1000


def test_network_maps_query_only_the_roads_near_each_network(tmp_path, monkeypatch) -> None:
    roads = grid_roads(n=60)  # 6 km of grid: far more road than any network map shows
    queried = []
    original = type(roads.sindex).query

    def query(self, geometry, *args, **kwargs):
        queried.append(geometry.bounds)
        return original(self, geometry, *args, **kwargs)

    monkeypatch.setattr(type(roads.sindex), "query", query)
    section = networks_section(_layers(), roads)
    assert len(re.findall(r'<img alt="network ', section)) == 2
    assert queried and all(b[2] - b[0] < 1500 for b in queried)


@pytest.mark.parametrize("n_networks", [0, None], ids=["empty layers", "no layers"])
def test_report_builds_without_networks(tmp_path, n_networks) -> None:
    layers = _layers(n_networks)
    page = build_report(layers, grid_roads(), _config(tmp_path), generated="now")
    section = _section_of(page)
    assert "<table" not in section and not _network_maps(page)
    expected = "no link is recommended" if n_networks == 0 else "no <code>networks</code> layer"
    assert expected in section
    assert "<h2>Rejections by reason</h2>" in page


def test_map_count_is_capped_and_the_rest_are_named() -> None:
    n = write_report.MAX_NETWORK_MAPS + 2
    section = networks_section(_layers(n), grid_roads())
    table = _first_table(section)
    assert len(table) == n
    maps = _network_maps(section)
    assert maps == [f"N{i:03d}" for i in range(1, 13)]  # the twelve delivering most heat
    assert "the other 2 (N013, N014) are in the table only" in section


def _write_run(tmp_path: Path, layers: dict[str, gpd.GeoDataFrame]) -> RegionPaths:
    paths = RegionPaths("tiny", root=tmp_path)
    paths.interim.mkdir(parents=True)
    paths.outputs.mkdir(parents=True)
    grid_roads().to_parquet(paths.roads)
    for name, gdf in layers.items():
        gdf.to_file(paths.geopackage, layer=name, driver="GPKG")
    return paths


def test_run_writes_networks_csv(tmp_path, capsys) -> None:
    layers = _layers()
    paths = _write_run(tmp_path, layers)
    run(paths, _config(tmp_path))
    table = pd.read_csv(paths.networks_csv)
    expected = layers["networks"].drop(columns="geometry")
    assert table.columns.tolist() == expected.columns.tolist()
    assert table["network_id"].tolist() == ["N001", "N002"]
    assert table["p2p_capex_gbp"].tolist() == [4.0e6, 1.0e6]
    assert table["optimality_gap_pct"].isna().tolist() == [False, True]
    out = capsys.readouterr().out
    assert f"wrote {paths.networks_csv}" in out and "2 designed networks" in out
    assert not list(paths.outputs.glob("*.tmp*"))


@pytest.mark.parametrize("n_networks", [0, None], ids=["empty layers", "no layers"])
def test_networks_csv_is_a_header_without_networks(tmp_path, n_networks) -> None:
    paths = _write_run(tmp_path, _layers(n_networks))
    run(paths, _config(tmp_path))
    table = pd.read_csv(paths.networks_csv)
    assert table.empty
    assert table.columns.tolist() == layer_fields("GBP")["networks"][1]
    assert (paths.outputs / "report.html").is_file() and paths.links_csv.is_file()


def test_networks_table_drops_the_geometry() -> None:
    table = networks_table(_layers(), "GBP")
    assert "geometry" not in table and len(table) == 2
    assert not isinstance(table, gpd.GeoDataFrame)


def test_source_maps_are_capped_to_the_sources_sending_most_heat(tmp_path, monkeypatch) -> None:
    """Past MAX_SOURCE_MAPS, sources keep their best-links table but get no map, and the
    report names them. S1 sends 1.6 MW into recommended links, S2 and S3 0.8 MW each."""
    monkeypatch.setattr(write_report, "MAX_SOURCE_MAPS", 1)
    page = build_report(_layers(), grid_roads(), _config(tmp_path), generated="now")
    assert re.findall(r'<img alt="map of (S\d)"', page) == ["S1"]
    assert "the other 2 sources with a candidate (S2, S3)" in page
    for site in ("S1", "S2", "S3"):
        assert f"<h3>{site}: DC {site}</h3>" in page
    monkeypatch.setattr(write_report, "MAX_SOURCE_MAPS", 20)
    page = build_report(_layers(), grid_roads(), _config(tmp_path), generated="now")
    assert re.findall(r'<img alt="map of (S\d)"', page) == ["S1", "S2", "S3"]
    assert "without a map" not in page
