"""The docs match the code: every GeoPackage field is described in docs/outputs.md."""

from __future__ import annotations

import re

from conftest import REPO
from pipeline.stages.export_geopackage import LAYERS


def _documented_fields() -> dict[str, list[str]]:
    text = (REPO / "docs" / "outputs.md").read_text()
    sections = re.split(r"^## `([a-z_]+)`.*$", text, flags=re.M)
    out = {}
    for name, body in zip(sections[1::2], sections[2::2], strict=True):
        # field tables have three columns (field, unit, meaning); code tables two
        out[name] = re.findall(r"^\| `([a-z_0-9]+)` \|[^|\n]*\|[^|\n]*\|$", body, flags=re.M)
    return out


def test_outputs_doc_lists_every_layer_and_field_in_order() -> None:
    documented = _documented_fields()
    assert list(documented) == list(LAYERS)
    for name, (_, fields) in LAYERS.items():
        assert documented[name] == fields, name


def test_readme_gives_the_two_commands_first() -> None:
    readme = (REPO / "README.md").read_text()
    first_code = re.search(r"```(?:sh|bash)?\n(.*?)```", readme, flags=re.S).group(1)
    assert "make all" in first_code and "make test" in first_code
