"""The project's packaging: environment.yml and pyproject.toml list the same packages."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import REPO

# conda-forge names that differ from PyPI names
CONDA_NAMES = {"osmium": "pyosmium"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_matches_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pypi = {_name(r) for r in project["dependencies"]}
    pypi |= {_name(r) for r in project["optional-dependencies"]["test"]}
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python"}
    assert {CONDA_NAMES.get(n, n) for n in pypi} == conda


def test_python_version_agrees() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert f"python{project['requires-python']}" in env["dependencies"]
