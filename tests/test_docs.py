"""The docs match the code: docs/outputs.md lists exactly the fields in pipeline/data/fields.csv."""

from __future__ import annotations

import re

from conftest import REPO
from pipeline.data import load_fields
from pipeline.stages.export_geopackage import LAYERS


def _documented() -> dict[str, list[tuple[str, str, str]]]:
    text = (REPO / "docs" / "outputs.md").read_text()
    sections = re.split(r"^## `([a-z_]+)`.*$", text, flags=re.M)
    out = {}
    for name, body in zip(sections[1::2], sections[2::2], strict=True):
        # field tables have three columns (field, unit, meaning); code tables two
        rows = re.findall(r"^\| `([a-z_0-9]+)` \|([^|\n]*)\|([^\n]*)\|$", body, flags=re.M)
        out[name] = [(f, u.strip(), d.strip()) for f, u, d in rows]
    return out


def test_outputs_doc_matches_the_field_table() -> None:
    documented = _documented()
    fields = load_fields()
    assert list(documented) == list(LAYERS)
    for name in LAYERS:
        table = fields[fields["layer"] == name]
        expected = list(zip(table["field"], table["unit"], table["description"], strict=True))
        assert documented[name] == expected, name


def test_readme_gives_the_two_commands_first() -> None:
    readme = (REPO / "README.md").read_text()
    first_code = re.search(r"```(?:sh|bash)?\n(.*?)```", readme, flags=re.S).group(1)
    assert "make all" in first_code and "make test" in first_code
