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
