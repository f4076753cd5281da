"""The report's interactive map (issue 13): Leaflet and the data embedded, nothing fetched,
every layer with its features and units, the roads as one image whatever their number."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
import shapely
from PIL import Image
from test_report_networks import _config, _layers

from conftest import X0, Y0, grid_roads
from pipeline import report_web
from pipeline.report_web import map_data, map_html
from pipeline.stages.write_report import build_report


def _data(page: str) -> dict:
    """The map's data as the page's script reads it."""
    found = re.search(
        r'<script type="application/json" id="heatlink-map-data">(.*?)</script>', page
    )
    return json.loads(found.group(1))


def _layer(data: dict, key: str) -> dict:
    return next(layer for layer in data["layers"] if layer["key"] == key)


def test_the_page_fetches_nothing() -> None:
    """Leaflet's script and style are in the page, with the style's images as data URIs:
    no ``src``, ``href`` or ``url()`` of a file or a server that a browser would load."""
    page = map_html(_layers(), grid_roads(), currency="GBP")
    assert not re.search(r'(src|href)="https?://', page)
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert re.findall(r"url\((?!data:|#default#VML)[^)]*\)", page) == []
    assert page.count("<script") == 3  # Leaflet, the data, the map's script
    assert "L.CRS.Simple" in page and "Leaflet 1.9.4" in page
    assert "</script" not in _data(page)["layers"][0]["title"]


def test_every_layer_holds_its_features_with_their_main_fields_and_units() -> None:
    layers = _layers()
    data = map_data(layers, grid_roads(), currency="GBP")
    keys = [layer["key"] for layer in data["layers"]]
    assert keys == [
        "demand_zones",
        "existing_networks",
        "network_pipes",
        "recommended",
        "viable",
        "rejected",
        "sources",
    ]
    rec = layers["links"]["recommended"]
    assert len(_layer(data, "recommended")["features"]) == rec.sum() > 0
    assert len(_layer(data, "viable")["features"]) == (~rec).sum() > 0
    assert len(_layer(data, "sources")["features"]) == len(layers["sources"])
    assert len(_layer(data, "network_pipes")["features"]) == len(layers["network_pipes"])
    link = _layer(data, "recommended")
    first = link["features"][0]["properties"]
    assert first["link_id"] == "L1" and first["route_length_m"] == 500.0
    assert "lcoh_transmission_gbp_per_mwh" in first and "coverage_pct" not in first
    # the uncertainty bands, where the layer has them (issue 13)
    bands = _layers()
    bands["links"] = bands["links"].assign(
        lcoh_gbp_per_mwh_p10=40.0, lcoh_gbp_per_mwh_p90=90.0, prob_viable=0.8
    )
    banded = _layer(map_data(bands, grid_roads(), currency="GBP"), "recommended")
    props = banded["features"][0]["properties"]
    assert (props["lcoh_gbp_per_mwh_p10"], props["lcoh_gbp_per_mwh_p90"]) == (40.0, 90.0)
    assert props["prob_viable"] == 0.8
    assert banded["units"]["lcoh_gbp_per_mwh_p10"] == "GBP/MWh"
    assert link["units"]["route_length_m"] == "m"
    assert link["units"]["lcoh_transmission_gbp_per_mwh"] == "GBP/MWh"
    assert "link_id" not in link["units"]


def test_coordinates_are_in_the_regions_crs_rounded_to_a_metre() -> None:
    layers = _layers()
    data = map_data(layers, grid_roads(), currency="GBP")
    xy = np.array(_layer(data, "recommended")["features"][0]["geometry"]["coordinates"])
    expected = shapely.get_coordinates(layers["links"].geometry.iloc[0])
    np.testing.assert_array_equal(xy, np.round(expected))
    assert xy.dtype.kind == "i"  # written as integers: no ".0" in the page
    x0, y0, x1, y1 = data["extent"]
    assert x0 <= X0 <= x1 and y0 <= Y0 <= y1


def test_rejected_links_are_coloured_by_reason_and_those_without_a_route_left_out() -> None:
    layers = _layers()
    rejected = layers["rejected_links"]
    extra = rejected.assign(link_id="R2", reason="heat_loss_too_high;too_small")
    gone = rejected.assign(link_id="R3", reason="beyond_max_length", geometry=None)
    layers["rejected_links"] = rejected._constructor(
        [*rejected.to_dict("records"), *extra.to_dict("records"), *gone.to_dict("records")],
        geometry="geometry",
        crs=rejected.crs,
    )
    layer = _layer(map_data(layers, grid_roads(), currency="GBP"), "rejected")
    assert [f["properties"]["link_id"] for f in layer["features"]] == ["R1", "R2"]
    labels = [c["label"] for c in layer["classes"]]
    assert sorted(labels) == ["rejected: heat_loss_too_high", "rejected: too_long"]
    colours = {layer["classes"][f["properties"]["_k"]]["color"] for f in layer["features"]}
    assert len(colours) == 2


def test_network_pipes_are_classed_by_dn_smallest_first() -> None:
    layers = _layers()
    pipes = layers["network_pipes"]
    layers["network_pipes"] = pipes.assign(dn=np.where(np.arange(len(pipes)) % 2, 200, 50))
    layer = _layer(map_data(layers, grid_roads(), currency="GBP"), "network_pipes")
    assert [c["label"] for c in layer["classes"]] == ["pipe DN50", "pipe DN200"]
    assert layer["classes"][0]["weight"] < layer["classes"][1]["weight"]
    for f in layer["features"]:
        assert layer["classes"][f["properties"]["_k"]]["label"] == f"pipe DN{f['properties']['dn']}"


def _road_image(data: dict) -> np.ndarray:
    png = base64.b64decode(data["roads"]["url"].split("base64,", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)))


@pytest.mark.parametrize("n", [10, 60])
def test_roads_are_one_image_of_bounded_size(n, monkeypatch) -> None:
    """The roads are not vectors in the page: one image, no wider than ROAD_IMAGE_PX,
    that shows them; the other layers' data is the same whatever the roads."""
    monkeypatch.setattr(report_web, "ROAD_IMAGE_PX", 256)
    roads = grid_roads(n=n, spacing=400.0 / n)
    data = map_data(_layers(), roads, currency="GBP")
    image = _road_image(data)
    assert max(image.shape[:2]) <= 256 and (image[..., -1] > 0).mean() > 0.05
    x0, y0, x1, y1 = roads.total_bounds
    e = data["roads"]["extent"]
    assert e[0] <= x0 + 0.1 and e[1] <= y0 + 0.1 and e[2] >= x1 - 0.1 and e[3] >= y1 - 0.1
    sparse = map_data(_layers(), grid_roads(n=4, spacing=100.0), currency="GBP")
    assert json.dumps(sparse["layers"]) == json.dumps(data["layers"])


def test_the_report_has_the_interactive_map_before_the_static_overview(tmp_path) -> None:
    page = build_report(_layers(), grid_roads(), _config(tmp_path), generated="now")
    assert page.index("<h2>Interactive map</h2>") < page.index('id="heatlink-map"')
    assert page.index('id="heatlink-map"') < page.index("<h2>Overview map</h2>")
    assert "@media print{#heatlink-map{display:none}}" in page
