"""The Makefile front door: help lists targets and regions; unknown regions stop at once."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True
    )


def test_help_is_the_default_goal_and_lists_regions() -> None:
    proc = _make()
    assert proc.returncode == 0
    for word in ("all", "test", "clean", "helsinki", "synthetic"):
        assert word in proc.stdout


def test_unknown_region_stops_with_the_known_ones() -> None:
    proc = _make("all", "REGION=atlantis")
    assert proc.returncode != 0
    assert "Unknown REGION 'atlantis'" in proc.stderr
    assert "helsinki" in proc.stderr and "synthetic" in proc.stderr
    assert not (REPO / "data" / "interim" / "atlantis").exists()
