"""The shipped QGIS styles are valid XML and name fields that the layers have."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from pipeline.data import load_style
from pipeline.stages.export_geopackage import LAYERS, STYLE_FILES


@pytest.mark.parametrize("layer", sorted(STYLE_FILES))
def test_style_parses_and_names_existing_fields(layer: str) -> None:
    root = ET.fromstring(load_style(STYLE_FILES[layer]))
    assert root.tag == "qgis"
    renderer = root.find("renderer-v2")
    assert renderer is not None
    fields = LAYERS[layer][1]
    attr = renderer.get("attr")
    if attr is not None:
        assert attr in fields
    for option in root.iter("Option"):  # data-defined expressions name fields in quotes
        if option.get("name") == "expression":
            for name in re.findall(r'"([a-z_0-9]+)"', option.get("value", "")):
                assert name in fields
    symbols = {s.get("name") for s in renderer.iter("symbol")}
    for item in [*renderer.iter("range"), *renderer.iter("category")]:
        assert item.get("symbol") in symbols


def test_links_fallback_style_uses_heat_loss() -> None:
    root = ET.fromstring(load_style("links_heat_loss.qml"))
    assert root.find("renderer-v2").get("attr") == "heat_loss_pct"


def test_network_pipes_widen_with_dn_above_the_network_outline() -> None:
    pipes = ET.fromstring(load_style(STYLE_FILES["network_pipes"])).find("renderer-v2")
    assert pipes.get("attr") == "dn"
    widths = {
        s.get("name"): float(o.get("value"))
        for s in pipes.iter("symbol")
        for o in s.iter("Option")
        if o.get("name") == "line_width"
    }
    ranges = sorted(pipes.iter("range"), key=lambda r: float(r.get("lower")))
    assert float(ranges[0].get("upper")) == 50 and float(ranges[-1].get("lower")) < 300
    by_dn = [widths[r.get("symbol")] for r in ranges]
    assert by_dn == sorted(by_dn) and len(set(by_dn)) == len(by_dn)
    outline = ET.fromstring(load_style(STYLE_FILES["networks"])).find("renderer-v2/symbols/symbol")
    assert float(outline.get("alpha")) < 1  # semi-transparent, the pipes show through
    width = next(o for o in outline.iter("Option") if o.get("name") == "line_width")
    assert float(width.get("value")) > max(by_dn)
